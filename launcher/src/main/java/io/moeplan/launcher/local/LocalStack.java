package io.moeplan.launcher.local;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.flink.job.PlanSelectorJob;
import io.moeplan.flink.layer.JobPlanning;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.planner.pool.LoadHistory;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.poolloader.PoolPublisher;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.poolloader.TraceHistory;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The whole loop on one machine: an embedded Kafka broker, a Flink MiniCluster with its dashboard
 * running {@link PlanSelectorJob}, a pool built and published for the job, and ranks producing
 * synthetic expert loads at a fixed iteration rate while applying the decisions they receive.
 */
public final class LocalStack {

  /**
   * What to run.
   *
   * @param cluster the cluster the pool is built for; its GPUs are the job's ranks
   * @param model the MoE model
   * @param jobId the job id
   * @param iterations iterations to produce; 0 runs until stopped
   * @param iterationsPerSecond production rate
   * @param windowIterations replan interval F
   * @param leadIterations lead of a decision's effective iteration
   * @param uiPort Flink dashboard port
   * @param kafkaPort Kafka port (0 picks a free one)
   * @param seed seed of the synthetic routing and of the pool's synthetic loads
   * @param trace a load trace to replay instead of the synthetic routing, or null
   * @param traceSampleIterations iterations each trace sample stands for
   */
  public record Settings(
      ClusterSpec cluster,
      ModelSpec model,
      String jobId,
      long iterations,
      double iterationsPerSecond,
      int windowIterations,
      int leadIterations,
      int uiPort,
      int kafkaPort,
      long seed,
      Path trace,
      int traceSampleIterations) {

    /** Settings with the defaults of {@code moeplan local} for a cluster and model. */
    public static Builder builder(ClusterSpec cluster, ModelSpec model) {
      return new Builder(cluster, model);
    }

    /** Builds {@link Settings}; every value but the specs has a default. */
    public static final class Builder {
      private final ClusterSpec cluster;
      private final ModelSpec model;
      private String jobId = "local";
      private long iterations;
      private double iterationsPerSecond = 5;
      private int windowIterations = 10;
      private int leadIterations = 2;
      private int uiPort = 8081;
      private int kafkaPort;
      private long seed = 1;
      private Path trace;
      private int traceSampleIterations = 10;

      private Builder(ClusterSpec cluster, ModelSpec model) {
        this.cluster = cluster;
        this.model = model;
      }

      /** The job id (default {@code local}). */
      public Builder jobId(String value) {
        jobId = value;
        return this;
      }

      /** Iterations to produce; 0 (the default) runs until stopped. */
      public Builder iterations(long value) {
        iterations = value;
        return this;
      }

      /** Production rate (default 5 iterations per second). */
      public Builder iterationsPerSecond(double value) {
        iterationsPerSecond = value;
        return this;
      }

      /** Replan interval F (default 10). */
      public Builder windowIterations(int value) {
        windowIterations = value;
        return this;
      }

      /** Lead of a decision's effective iteration (default 2). */
      public Builder leadIterations(int value) {
        leadIterations = value;
        return this;
      }

      /** Flink dashboard port (default 8081). */
      public Builder uiPort(int value) {
        uiPort = value;
        return this;
      }

      /** Kafka port (default 0: a free one). */
      public Builder kafkaPort(int value) {
        kafkaPort = value;
        return this;
      }

      /** Seed of the synthetic routing and the pool's synthetic loads (default 1). */
      public Builder seed(long value) {
        seed = value;
        return this;
      }

      /** Replays this trace instead of the synthetic routing, each sample for some iterations. */
      public Builder trace(Path file, int sampleIterations) {
        trace = file;
        traceSampleIterations = sampleIterations;
        return this;
      }

      /** The settings. */
      public Settings build() {
        return new Settings(
            cluster,
            model,
            jobId,
            iterations,
            iterationsPerSecond,
            windowIterations,
            leadIterations,
            uiPort,
            kafkaPort,
            seed,
            trace,
            traceSampleIterations);
      }
    }
  }

  private final Settings settings;
  private final PrintStream out;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final List<Long> loopLatenciesMillis = new ArrayList<>();
  private final ConcurrentHashMap<Long, Long> windowEndNanos = new ConcurrentHashMap<>();

  /** A stack for these settings, reporting to {@code out}. */
  public LocalStack(Settings settings, PrintStream out) {
    this.settings = settings;
    this.out = out;
  }

  /** Asks a running stack to stop after the current iteration. */
  public void stop() {
    stopping.set(true);
  }

  /** Runs until the iterations are produced or {@link #stop()} is called; cleans up either way. */
  public void run() throws Exception {
    Path workDirectory = Files.createTempDirectory("moeplan-local-");
    try (EmbeddedKafkaBroker broker =
        EmbeddedKafkaBroker.builder().port(settings.kafkaPort()).build().start()) {
      out.printf("Kafka broker on %s%n", broker.bootstrapServers());
      PlanPool pool = buildPool();
      Properties client = broker.clientProperties();
      PoolPublisher.publish(pool, Topics.PLAN_POOL.name(), client);
      PlanSelectorConfig config =
          PlanSelectorConfig.fromArgs(
              "--bootstrap-servers", broker.bootstrapServers(),
              "--window-iterations", Integer.toString(settings.windowIterations()),
              "--lead-iterations", Integer.toString(settings.leadIterations()),
              "--checkpoint-dir", workDirectory.resolve("checkpoints").toUri().toString());
      JobClient job = submit(config, workDirectory);
      awaitRunning(job);
      out.printf(
          "Flink dashboard on http://localhost:%d (job %s)%n", settings.uiPort(), job.getJobID());
      try {
        drive(broker, pool);
        out.printf(
            "checkpoints: %.1f KiB on disk (RocksDB, incremental) after the run%n",
            directorySize(workDirectory.resolve("checkpoints")) / 1024.0);
      } finally {
        job.cancel().get();
      }
    } finally {
      deleteRecursively(workDirectory);
    }
  }

  private PlanPool buildPool() throws IOException {
    long started = System.nanoTime();
    PoolOptions options =
        PoolOptions.defaults()
            .withSynthetic(PoolOptions.DEFAULT_SYNTHETIC_SAMPLES, settings.seed());
    LoadHistory history =
        settings.trace() == null
            ? null
            : TraceHistory.read(settings.trace(), settings.model().moeLayers(), 1000);
    Pool pool =
        new PoolSearch(settings.cluster(), settings.model(), options)
            .search(history, ProgressListener.NONE);
    var best = pool.plans().get(0).parallel();
    out.printf(
        "pool built in %d ms: %d plans, first config tp=%d pp=%d dp=%d ep=%d slots=%d%n",
        Duration.ofNanos(System.nanoTime() - started).toMillis(),
        pool.plans().size(),
        best.tp(),
        best.pp(),
        best.dp(),
        best.ep(),
        best.slotsPerWorker());
    return PoolRecords.toRecord(pool, settings.jobId(), Instant.now(), "moeplan local");
  }

  private JobClient submit(PlanSelectorConfig config, Path workDirectory) throws Exception {
    Configuration flink = PlanSelectorJob.flinkConfiguration(config);
    flink.setString("rest.port", Integer.toString(settings.uiPort()));
    flink.setString("rest.bind-address", "localhost");
    flink.setString("taskmanager.numberOfTaskSlots", Integer.toString(config.parallelism()));
    // the dashboard refreshes metrics every second instead of every ten
    flink.set(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL, Duration.ofSeconds(1));
    flink.setString("state.backend.rocksdb.localdir", workDirectory.resolve("rocksdb").toString());
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(flink);
    PlanSelectorJob.attachKafka(env, config);
    return env.executeAsync(PlanSelectorJob.JOB_NAME);
  }

  /** Waits (bounded) until every task of the job runs, so the first windows are not stalled. */
  private static void awaitRunning(JobClient job) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (job.getJobStatus().get() != JobStatus.RUNNING) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the plan-selector job did not start within 60 s");
      }
      Thread.sleep(50);
    }
  }

  private void drive(EmbeddedKafkaBroker broker, PlanPool pool) throws Exception {
    ModelSpec model = settings.model();
    int ranks = settings.cluster().nodes() * settings.cluster().gpusPerNode();
    int layers = model.moeLayers();
    int experts = model.expertCount();
    JobPlanning planning = JobPlanning.of(pool, SelectorOptions.defaults(1));
    PlacementTracker tracker = new PlacementTracker(planning, layers, experts);
    Routing routing = routing(ranks, layers, experts);
    out.printf(
        "producing %s iterations of %d ranks x %d layers x %d experts at %.1f iterations/s from"
            + " %s (Ctrl-C stops)%n",
        settings.iterations() == 0 ? "unbounded" : Long.toString(settings.iterations()),
        ranks,
        layers,
        experts,
        settings.iterationsPerSecond(),
        routing.describe());

    Properties producerProperties = broker.clientProperties();
    producerProperties.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    Properties consumerProperties = broker.clientProperties();
    consumerProperties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    long periodNanos = (long) (1e9 / settings.iterationsPerSecond());
    long startedNanos = System.nanoTime();
    long lastProgress = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                producerProperties, new ByteArraySerializer(), new ByteArraySerializer());
        KafkaConsumer<byte[], byte[]> decisions =
            new KafkaConsumer<>(
                consumerProperties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      decisions
          .partitionsFor(Topics.PLAN_DECISIONS.name())
          .forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
      decisions.assign(partitions);
      decisions.seekToBeginning(partitions);

      long next = System.nanoTime();
      long iteration = 0;
      for (; settings.iterations() == 0 || iteration < settings.iterations(); iteration++) {
        if (stopping.get()) {
          break;
        }
        routing.advance();
        tracker.applyDue(iteration);
        long[][][] counts = new long[ranks][][];
        for (int rank = 0; rank < ranks; rank++) {
          counts[rank] = routing.counts(rank);
          ExpertLoad load = load(rank, ranks, iteration, tracker.planVersion(), counts[rank]);
          producer.send(
              new ProducerRecord<>(
                  Topics.EXPERT_LOAD.name(),
                  Topics.EXPERT_LOAD
                      .keyCodec()
                      .encode(Topics.expertLoadKey(settings.jobId(), rank)),
                  Topics.EXPERT_LOAD.valueCodec().encode(load)));
        }
        producer.flush();
        if ((iteration + 1) % settings.windowIterations() == 0) {
          windowEndNanos.put(iteration / settings.windowIterations(), System.nanoTime());
        }
        tracker.account(counts);
        if (System.nanoTime() - lastProgress > 2_000_000_000L) {
          progress(iteration + 1, tracker);
          lastProgress = System.nanoTime();
        }
        next += periodNanos;
        // pace the producer to the iteration rate, taking decisions as they arrive meanwhile
        for (long wait = next - System.nanoTime(); wait > 0; wait = next - System.nanoTime()) {
          receive(decisions, tracker, Duration.ofNanos(wait));
        }
      }
      long windows = iteration / settings.windowIterations();
      long expected = windows * layers;
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (tracker.decisions() < expected && System.nanoTime() < deadline) {
        receive(decisions, tracker, Duration.ofMillis(200));
      }
      progress(iteration, tracker);
      summary(iteration, expected, tracker, (System.nanoTime() - startedNanos) / 1e9);
    }
  }

  private Routing routing(int ranks, int layers, int experts) throws IOException {
    if (settings.trace() == null) {
      return new SyntheticRouting(
          ranks, layers, experts, settings.model().tokensPerRank(), settings.seed());
    }
    TraceRouting trace =
        new TraceRouting(settings.trace(), ranks, layers, settings.traceSampleIterations());
    if (trace.experts() != experts) {
      throw new IllegalArgumentException(
          settings.trace()
              + " has "
              + trace.experts()
              + " experts per layer but the model has "
              + experts);
    }
    return trace;
  }

  private ExpertLoad load(int rank, int ranks, long iteration, long planVersion, long[][] counts) {
    List<LayerLoad> layers = new ArrayList<>(counts.length);
    for (int layer = 0; layer < counts.length; layer++) {
      layers.add(new LayerLoad(layer, Arrays.stream(counts[layer]).boxed().toList()));
    }
    return ExpertLoad.newBuilder()
        .setJobId(settings.jobId())
        .setRank(rank)
        .setWorldSize(ranks)
        .setIteration(iteration)
        .setPlanVersion(planVersion)
        .setLayers(layers)
        .setProducedAt(Instant.now())
        .build();
  }

  private void receive(
      KafkaConsumer<byte[], byte[]> consumer, PlacementTracker tracker, Duration wait) {
    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(wait)) {
      PlanDecision decision = Topics.PLAN_DECISIONS.valueCodec().decode(record.value());
      if (!decision.getJobId().equals(settings.jobId()) || !tracker.offer(decision)) {
        continue;
      }
      Long windowEnd = windowEndNanos.get(decision.getWindow());
      if (windowEnd != null && decision.getLayer() == 0) {
        loopLatenciesMillis.add(Duration.ofNanos(System.nanoTime() - windowEnd).toMillis());
      }
      if (decision.getAction() == DecisionAction.SWITCH) {
        out.printf(
            "decision %s: SWITCH to v%d at iteration %d, predicted %.3f -> %.3f ms, moves %.2f GB"
                + " (%s)%n",
            decision.getDecisionId(),
            decision.getPlanVersion(),
            decision.getEffectiveIteration(),
            decision.getPredictedCurrentSeconds() * 1e3,
            decision.getPredictedNewSeconds() * 1e3,
            decision.getMigrationBytes() / 1e9,
            decision.getReason());
      }
    }
  }

  private void progress(long iterations, PlacementTracker tracker) {
    out.printf(
        "[progress] iterations %d, decisions %d, switches applied %d, predicted speedup vs"
            + " static %.3fx, loop latency p50 %s ms%n",
        iterations,
        tracker.decisions(),
        tracker.planVersion(),
        tracker.speedupOverStatic(),
        percentile(0.5));
  }

  private void summary(
      long iterations, long expectedDecisions, PlacementTracker tracker, double seconds) {
    out.printf(
        "summary: %d iterations, %d of %d decisions received (%.1f/s), %d switches applied (%d"
            + " late), modelled MoE time %.3fx faster than static, loop latency p50 %s ms p99 %s"
            + " ms%n",
        iterations,
        tracker.decisions(),
        expectedDecisions,
        tracker.decisions() / seconds,
        tracker.planVersion(),
        tracker.lateSwitches(),
        tracker.speedupOverStatic(),
        percentile(0.5),
        percentile(0.99));
  }

  private String percentile(double quantile) {
    if (loopLatenciesMillis.isEmpty()) {
      return "-";
    }
    List<Long> sorted = new ArrayList<>(loopLatenciesMillis);
    sorted.sort(Comparator.naturalOrder());
    int index = (int) Math.min(sorted.size() - 1, Math.ceil(quantile * sorted.size()) - 1);
    return Long.toString(sorted.get(Math.max(0, index)));
  }

  private static long directorySize(Path root) throws IOException {
    if (!Files.exists(root)) {
      return 0;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      long total = 0;
      for (Path path : paths.filter(Files::isRegularFile).toList()) {
        total += Files.size(path);
      }
      return total;
    }
  }

  private static void deleteRecursively(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + root, e);
    }
  }
}
