package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.launcher.Moeplan;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.ParallelConfig;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.RankKey;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code moeplan local --external} end to end, through the command line: this test is the outside
 * training job. Once the ready line is printed it reads the pool (searched for the fixed parallel
 * config and start layout it was given), publishes every rank's expert loads for a few windows with
 * a plain producer, gets a decision for every layer and window at its effective iteration, and sees
 * the command print the dead letter of a record it cannot decode, with the reason.
 */
class ExternalModeITCase {

  private static final String JOB = "ext-it";
  private static final int RANKS = 4;
  private static final int LAYERS = 2;
  private static final int EXPERTS = 8;
  private static final int WINDOW = 2;
  private static final int LEAD = 1;
  private static final int WINDOWS = 3;
  private static final Duration BOUND = Duration.ofSeconds(60);
  private static final Pattern READY =
      Pattern.compile("ready: bootstrap-servers=(\\S+) job=(\\S+)");

  @TempDir Path directory;

  private final StringWriter printed = new StringWriter();

  @Test
  void servesAnOutsideJobItsPoolAndDecisionsAndReportsItsRefusedRecords() throws Exception {
    Path cluster =
        Files.writeString(
            directory.resolve("cluster.yaml"),
            """
            nodes: 1
            gpusPerNode: 4
            gpuFlops: 7.1e14
            intraNodeBandwidth: 3.0e11
            interNodeBandwidth: 4.0e10
            latencySeconds: 30.0e-6
            gpuMemoryBytes: 80000000000
            expertFixedSeconds: 0.6e-3
            """);
    Path model =
        Files.writeString(
            directory.resolve("model.yaml"),
            """
            moeLayers: 2
            expertCount: 8
            topK: 2
            hidden: 256
            ffnHidden: 1024
            bytesPerElement: 2
            optimizerBytesPerParam: 12
            tokensPerRank: 4096
            """);
    Path layout = Files.writeString(directory.resolve("layout.txt"), "7 6 5 4 3 2 1 0\n");
    AtomicInteger exitCode = new AtomicInteger(-1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread command =
        new Thread(
            () -> {
              try {
                var commandLine = Moeplan.commandLine();
                commandLine.setOut(new PrintWriter(printed, true));
                exitCode.set(
                    commandLine.execute(
                        "local",
                        "--external",
                        "--cluster",
                        cluster.toString(),
                        "--model",
                        model.toString(),
                        "--job",
                        JOB,
                        "--parallel",
                        "tp=1,pp=1,dp=4,ep=4,slots=2",
                        "--start-layout",
                        layout.toString(),
                        "--window-iterations",
                        Integer.toString(WINDOW),
                        "--lead-iterations",
                        Integer.toString(LEAD),
                        "--ui-port",
                        Integer.toString(freePort()),
                        "--duration",
                        "5m"));
              } catch (Throwable e) {
                failure.set(e);
              }
            },
            "moeplan-local-external");
    command.start();
    try {
      Matcher ready = awaitPrinted(command, READY);
      String bootstrap = ready.group(1);
      assertThat(ready.group(2)).isEqualTo(JOB);
      assertThat(printed.toString())
          .contains(
              "world size 4 (tp=1 pp=1 dp=4), 2 MoE layers x 8 experts, ep 4 x 2 slots per"
                  + " worker")
          .contains(
              "/usr/bin/python3 clients/python/examples/train_moe.py --bootstrap-servers "
                  + bootstrap
                  + " --job ext-it --window-iterations 2 --lead-iterations 1 --ranks 4"
                  + " --layers 2 --experts 8");

      PlanPool pool =
          read(bootstrap, Topics.PLAN_POOL.name(), Topics.PLAN_POOL, List::isEmpty).get(0);
      assertThat(pool.getJobId()).isEqualTo(JOB);
      assertThat(pool.getPlans())
          .isNotEmpty()
          .allSatisfy(
              plan -> assertThat(plan.getParallel()).isEqualTo(new ParallelConfig(1, 1, 4, 4, 2)));
      assertThat(pool.getStartLayout())
          .containsExactly(List.of(7, 6, 5, 4, 3, 2, 1, 0), List.of(7, 6, 5, 4, 3, 2, 1, 0));
      assertThat(pool.getStartLayoutSource()).isEqualTo("layout.txt");

      try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
        for (int iteration = 0; iteration < WINDOWS * WINDOW; iteration++) {
          for (int rank = 0; rank < RANKS; rank++) {
            producer.send(
                new ProducerRecord<>(
                    Topics.EXPERT_LOAD.name(),
                    Topics.EXPERT_LOAD.keyCodec().encode(RankKey.format(JOB, rank)),
                    Topics.EXPERT_LOAD.valueCodec().encode(load(rank, iteration))));
          }
        }
        producer.flush();
        Map<String, PlanDecision> decisions = new HashMap<>();
        for (PlanDecision decision :
            read(
                bootstrap,
                Topics.PLAN_DECISIONS.name(),
                Topics.PLAN_DECISIONS,
                seen ->
                    seen.stream().map(d -> d.getLayer() + "/" + d.getWindow()).distinct().count()
                        < LAYERS * WINDOWS)) {
          decisions.put(decision.getLayer() + "/" + decision.getWindow(), decision);
        }
        for (int layer = 0; layer < LAYERS; layer++) {
          for (long window = 0; window < WINDOWS; window++) {
            PlanDecision decision = decisions.get(layer + "/" + window);
            assertThat(decision).as("layer %d window %d", layer, window).isNotNull();
            assertThat(decision.getJobId()).isEqualTo(JOB);
            assertThat(decision.getEffectiveIteration())
                .isEqualTo(DecisionWindows.effectiveIteration(window, WINDOW, LEAD));
          }
        }

        producer.send(
            new ProducerRecord<>(
                Topics.EXPERT_LOAD.name(),
                RankKey.format(JOB, 0).getBytes(StandardCharsets.UTF_8),
                "not an expert load".getBytes(StandardCharsets.UTF_8)));
        producer.flush();
      }
      awaitPrinted(
          command,
          Pattern.compile("dead letter UNDECODABLE at moe\\.expert-load/\\d+/\\d+: \\S.*"));
    } finally {
      command.interrupt();
      command.join(BOUND.toMillis());
    }
    assertThat(failure.get()).isNull();
    assertThat(command.isAlive()).as("stopped on interrupt").isFalse();
    assertThat(exitCode.get()).as(printed.toString()).isZero();
    assertThat(printed.toString())
        .containsPattern("stopped: decisions \\d+ \\(switches \\d+\\), dead letters 1");
  }

  private static ExpertLoad load(int rank, int iteration) {
    List<LayerLoad> layers = new ArrayList<>();
    for (int layer = 0; layer < LAYERS; layer++) {
      List<Long> counts = new ArrayList<>();
      for (int expert = 0; expert < EXPERTS; expert++) {
        // a skew that moves with the iteration, so some windows are worth a switch
        counts.add(expert == (iteration / WINDOW + layer) % EXPERTS ? 900L : 20L + rank);
      }
      layers.add(LayerLoad.newBuilder().setLayer(layer).setExpertCounts(counts).build());
    }
    return ExpertLoad.newBuilder()
        .setJobId(JOB)
        .setRank(rank)
        .setWorldSize(RANKS)
        .setIteration(iteration)
        .setPlanVersion(0)
        .setLayers(layers)
        .setProducedAt(Instant.now())
        .build();
  }

  /** Waits (bounded) until the command printed a line matching {@code pattern}. */
  private Matcher awaitPrinted(Thread command, Pattern pattern) throws InterruptedException {
    long deadline = System.nanoTime() + BOUND.toNanos();
    while (System.nanoTime() < deadline && command.isAlive()) {
      Matcher matcher = pattern.matcher(printed.toString());
      if (matcher.find()) {
        return matcher;
      }
      Thread.sleep(100);
    }
    Matcher matcher = pattern.matcher(printed.toString());
    if (matcher.find()) {
      return matcher;
    }
    throw new AssertionError("never printed /" + pattern + "/; printed:\n" + printed);
  }

  /** Reads the topic from its start while {@code more} holds of what was read, bounded. */
  private static <V> List<V> read(
      String bootstrap,
      String topic,
      io.moeplan.schemas.Topic<String, V> codecs,
      Predicate<List<V>> more) {
    Properties properties = new Properties();
    properties.put("bootstrap.servers", bootstrap);
    List<V> values = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      KafkaIo.assignFromStart(consumer, topic);
      long deadline = System.nanoTime() + BOUND.toNanos();
      while (more.test(values) && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          values.add(codecs.valueCodec().decode(record.value()));
        }
      }
    }
    assertThat(more.test(values)).as("read enough of %s within %s", topic, BOUND).isFalse();
    return values;
  }

  private static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
