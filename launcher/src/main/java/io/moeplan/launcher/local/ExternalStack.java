package io.moeplan.launcher.local;

import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.StartLayout;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * moeplan's services for a training job outside moeplan ({@code moeplan local --external}): the
 * {@link SelectorStack} with the job's pool published and no executor. It prints what the job needs
 * to connect (the bootstrap address, the job id, the pool's shape, the topics and the command that
 * starts the Python example against it), then a {@linkplain #READY ready line}, then watches the
 * job's output: a line per switch decision, a line per dead-lettered load with its reason (so the
 * training job's author sees why a record was refused), and a progress line every few seconds,
 * until {@link #stop()} is called, the thread is interrupted or the duration passes.
 */
public final class ExternalStack {

  /**
   * The line printed once the plan-selector job runs and the pool is published, with the address
   * and the job id: {@code ready: bootstrap-servers=HOST:PORT job=JOB}.
   */
  public static final String READY = "ready: bootstrap-servers=%s job=%s";

  /** The Python example a training job can start from, relative to the repository root. */
  public static final String PYTHON_EXAMPLE = "clients/python/examples/train_moe.py";

  /**
   * What to run.
   *
   * @param ports the broker's and dashboard's ports and the job's window and lead
   * @param duration how long to watch before stopping; zero watches until stopped
   * @param progressInterval time between progress lines
   * @param access whether the broker is secured, and the training job's topic prefix
   * @param jobArguments further options of the plan-selector job
   */
  public record Settings(
      SelectorStack.Ports ports,
      Duration duration,
      Duration progressInterval,
      SelectorStack.Access access,
      List<String> jobArguments) {
    /** Copies the job's arguments. */
    public Settings {
      jobArguments = List.copyOf(jobArguments);
    }
  }

  private static final Duration POLL = Duration.ofMillis(200);

  private final Settings settings;
  private final PlanPool pool;
  private final PrintWriter out;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final Set<String> decisionIds = new HashSet<>();
  private long switches;
  private long deadLetters;
  private long lastWindow = -1;

  /** A stack publishing {@code pool} (a record whose job id is the job's), reporting to out. */
  public ExternalStack(Settings settings, PlanPool pool, PrintWriter out) {
    this.settings = settings;
    this.pool = pool;
    this.out = out;
  }

  /** Asks a running stack to stop watching and shut down. */
  public void stop() {
    stopping.set(true);
  }

  /**
   * Runs until {@link #stop()}, an interrupt of the calling thread, or the duration; shuts the
   * services down either way. An interrupt is kept set on return.
   */
  public void run() throws Exception {
    Pool shape = PoolRecords.fromRecord(pool);
    boolean interrupted;
    try (SelectorStack stack =
        SelectorStack.start(settings.ports(), settings.access(), pool, settings.jobArguments())) {
      describe(stack, shape);
      interrupted = watch(stack.clientProperties());
      line(
          String.format(
              Locale.ROOT,
              "stopped: decisions %d (switches %d), dead letters %d",
              decisionIds.size(),
              switches,
              deadLetters));
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void describe(SelectorStack stack, Pool shape) {
    String bootstrap = stack.bootstrapServers();
    String job = pool.getJobId().toString();
    ParallelConfig parallel = shape.startingPlan().parallel();
    long worldSize = parallel.worldSize();
    int layers = shape.model().moeLayers();
    int experts = shape.model().expertCount();
    StartLayout start = shape.startLayout();
    SelectorStack.Ports ports = settings.ports();
    line("Kafka broker on " + bootstrap);
    SelectorStack.Access access = settings.access();
    String clientOption = "";
    if (access.secure()) {
      line(
          "secured: SASL_SSL with SCRAM-SHA-512 users and ACLs; the training job connects with "
              + stack.tenantClientFile()
              + " (keys and every principal's client file in "
              + stack.securityDirectory()
              + ")");
      clientOption = " --kafka-config " + stack.tenantClientFile();
    }
    if (!access.topicPrefix().isEmpty()) {
      clientOption += " --topic-prefix " + access.topicPrefix();
    }
    line("Flink dashboard on " + stack.dashboardUrl() + " (job " + stack.flinkJobId() + ")");
    line(
        String.format(
            Locale.ROOT,
            "pool v%d for job %s: world size %d (tp=%d pp=%d dp=%d), %d MoE layers x %d experts,"
                + " ep %d x %d slots per worker, %d plans, starts on the %s layout",
            shape.poolVersion(),
            job,
            worldSize,
            parallel.tp(),
            parallel.pp(),
            parallel.dp(),
            layers,
            experts,
            parallel.ep(),
            parallel.slotsPerWorker(),
            shape.plans().size(),
            start == null ? "starting plan's" : start.source()));
    line(
        String.format(
            "topics: publish loads to %s (key %s/RANK), read decisions from %s (key %s/LAYER),"
                + " the pool from %s, refused loads from %s",
            access.topic(Topics.EXPERT_LOAD.name()),
            job,
            access.topic(Topics.PLAN_DECISIONS.name()),
            job,
            access.topic(Topics.PLAN_POOL.name()),
            access.topic(Topics.EXPERT_LOAD_DLQ.name())));
    line("start the Python example against it:");
    line(
        String.format(
            Locale.ROOT,
            "  /usr/bin/python3 %s --bootstrap-servers %s%s --job %s --window-iterations %d"
                + " --lead-iterations %d --ranks %d --layers %d --experts %d",
            PYTHON_EXAMPLE,
            bootstrap,
            clientOption,
            job,
            ports.windowIterations(),
            ports.leadIterations(),
            worldSize,
            layers,
            experts));
    line(String.format(READY, bootstrap, job));
  }

  /** Prints the decisions and dead letters as they arrive; true when interrupted. */
  private boolean watch(Properties client) {
    long started = System.nanoTime();
    long deadline =
        settings.duration().isZero() ? Long.MAX_VALUE : started + settings.duration().toNanos();
    long nextProgress = started + settings.progressInterval().toNanos();
    String job = pool.getJobId().toString();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(client, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      String decisions = settings.access().topic(Topics.PLAN_DECISIONS.name());
      for (String topic :
          List.of(decisions, settings.access().topic(Topics.EXPERT_LOAD_DLQ.name()))) {
        consumer
            .partitionsFor(topic)
            .forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      while (!stopping.get() && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
          if (record.topic().equals(decisions)) {
            onDecision(record, job);
          } else {
            onDeadLetter(record);
          }
        }
        if (Thread.interrupted()) {
          return true;
        }
        long now = System.nanoTime();
        if (now >= nextProgress) {
          progress(Duration.ofNanos(now - started));
          nextProgress = now + settings.progressInterval().toNanos();
        }
      }
      progress(Duration.ofNanos(System.nanoTime() - started));
      return false;
    } catch (InterruptException e) {
      Thread.interrupted(); // the consumer set it again; the services still have to shut down
      return true;
    }
  }

  private void onDecision(ConsumerRecord<byte[], byte[]> record, String job) {
    PlanDecision decision;
    try {
      decision = Topics.PLAN_DECISIONS.valueCodec().decode(record.value());
    } catch (RuntimeException e) {
      line("skipped an unreadable decision at offset " + record.offset() + ": " + e.getMessage());
      return;
    }
    if (!decision.getJobId().toString().equals(job)
        || !decisionIds.add(decision.getDecisionId().toString())) {
      return;
    }
    lastWindow = Math.max(lastWindow, decision.getWindow());
    if (decision.getAction() == DecisionAction.SWITCH) {
      switches++;
      line(DecisionLines.switchLine(decision));
    }
  }

  private void onDeadLetter(ConsumerRecord<byte[], byte[]> record) {
    DeadLetter letter;
    try {
      letter = Topics.EXPERT_LOAD_DLQ.valueCodec().decode(record.value());
    } catch (RuntimeException e) {
      line("skipped an unreadable dead letter at offset " + record.offset() + ": " + e);
      return;
    }
    deadLetters++;
    line(DecisionLines.deadLetterLine(letter));
  }

  private void progress(Duration elapsed) {
    line(
        String.format(
            Locale.ROOT,
            "[progress] %d s: decisions %d (%s), switches %d, dead letters %d",
            elapsed.toSeconds(),
            decisionIds.size(),
            lastWindow < 0 ? "no window yet" : "windows up to " + lastWindow,
            switches,
            deadLetters));
  }

  private void line(String text) {
    out.println(text);
    out.flush();
  }
}
