package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.moeplan.launcher.cluster.ClusterSettings;
import io.moeplan.launcher.cluster.FlinkRest;
import io.moeplan.launcher.cluster.LocalCluster;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the multi-process cluster ({@link LocalCluster}: a Kafka broker process, a standalone
 * JobManager and two TaskManagers), a slice of the shared GPT-MoE trace is replayed as ExpertLoad
 * records twice: once undisturbed, once with a TaskManager running the job killed with SIGKILL in
 * the middle. The second job must restore from its RocksDB checkpoint and emit the same set of
 * decisions (by id, with identical contents) as the first.
 */
class ClusterFailoverITCase {

  private static final Path TRACE = Path.of("shared", "traces", "smartmoe-ae-gpt");
  private static final String JOB = "trace";
  private static final int RANKS = 8;
  private static final int LAYERS = 4;
  private static final int WINDOW = 4;
  private static final int ITERATIONS = 80;
  private static final int DECISIONS = ITERATIONS / WINDOW * LAYERS;
  private static final Duration BOUND = Duration.ofSeconds(120);

  @TempDir static Path state;

  private static LocalCluster cluster;
  private static ClusterSettings settings;
  private static FlinkRest rest;
  private static int received;

  @BeforeAll
  static void startCluster() throws IOException {
    assumeTrue(trace().isPresent(), "shared trace " + TRACE + "/layers-00-11.csv.gz not found");
    settings =
        ClusterProcesses.settings(state)
            .taskManagers(2)
            .slotsPerTaskManager(2)
            .parallelism(2)
            .submitJob(false)
            .pool(null)
            .build();
    cluster = new LocalCluster(state);
    cluster.up(settings, System.out);
    rest = new FlinkRest(settings.restPort());
  }

  @AfterAll
  static void stopCluster() throws IOException {
    if (cluster != null) {
      cluster.down();
    }
  }

  @Test
  void restoresFromCheckpointAfterTaskManagerKillWithIdenticalDecisions() throws Exception {
    List<ExpertLoad> loads = traceLoads(trace().orElseThrow());
    PlanPool pool = pool();

    Map<String, PlanDecision> undisturbed = run("undisturbed", loads, pool, false);
    Map<String, PlanDecision> recovered = run("killed", loads, pool, true);

    assertThat(undisturbed).hasSize(DECISIONS);
    assertThat(recovered.keySet()).containsExactlyInAnyOrderElementsOf(undisturbed.keySet());
    for (Map.Entry<String, PlanDecision> decision : undisturbed.entrySet()) {
      assertThat(recovered.get(decision.getKey()))
          .as("decision %s after the failure", decision.getKey())
          .isEqualTo(decision.getValue());
    }
  }

  /**
   * Runs the job on its own topics over the loads; with {@code kill}, SIGKILLs a TaskManager that
   * runs it after a checkpoint completed, half-way through the loads. Returns the decisions by id.
   */
  private Map<String, PlanDecision> run(
      String prefix, List<ExpertLoad> loads, PlanPool pool, boolean kill) throws Exception {
    List<Topic<?, ?>> topics = new ArrayList<>();
    for (Topic<?, ?> topic : Topics.ALL) {
      topics.add(rename(topic, prefix + "." + topic.name()));
    }
    LocalCluster.createTopics(bootstrap(), topics);
    String decisionsTopic = prefix + "." + Topics.PLAN_DECISIONS.name();
    String jobId =
        cluster.submit(
            settings,
            List.of(
                "--group-id",
                "it-" + prefix,
                "--expert-load-topic",
                prefix + "." + Topics.EXPERT_LOAD.name(),
                "--plan-pool-topic",
                prefix + "." + Topics.PLAN_POOL.name(),
                "--plan-decisions-topic",
                decisionsTopic,
                "--dead-letter-topic",
                prefix + "." + Topics.EXPERT_LOAD_DLQ.name(),
                "--window-iterations",
                Integer.toString(WINDOW),
                "--window-timeout",
                "10min",
                "--checkpoint-interval",
                "1s"));
    try (KafkaProducer<byte[], byte[]> producer = producer();
        KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      awaitTrue(() -> "RUNNING".equals(state(jobId)), "job " + jobId + " running");
      send(
          producer,
          prefix + "." + Topics.PLAN_POOL.name(),
          Topics.PLAN_POOL.keyCodec().encode(JOB),
          Topics.PLAN_POOL.valueCodec().encode(pool));
      Map<String, PlanDecision> decisions = new TreeMap<>();
      received = 0;
      assign(consumer, decisionsTopic);
      int half = ITERATIONS / 2 * RANKS;
      produce(producer, prefix, loads.subList(0, half));
      if (kill) {
        // state worth restoring: the first half's windows decided and a checkpoint after that
        awaitTrue(
            () -> poll(consumer, decisions) >= DECISIONS / 2,
            "decisions of the first half before the kill");
        long checkpoints = rest.completedCheckpoints(jobId);
        awaitTrue(
            () -> completedCheckpoints(jobId) > checkpoints, "a checkpoint after the first half");
        // records the next checkpoint has not covered yet: replayed after the restore
        produce(producer, prefix, loads.subList(half, half + RANKS * WINDOW));
        String victim = rest.busyTaskManagers().get(0);
        System.out.printf("%s: SIGKILL %s after checkpoint %d%n", prefix, victim, checkpoints + 1);
        cluster.killTaskManager(Integer.parseInt(victim.substring(victim.lastIndexOf('-') + 1)));
        produce(producer, prefix, loads.subList(half + RANKS * WINDOW, loads.size()));
      } else {
        produce(producer, prefix, loads.subList(half, loads.size()));
      }
      awaitTrue(() -> poll(consumer, decisions) >= DECISIONS, DECISIONS + " decisions");
      // drain what is already there, so late duplicates are compared as well
      poll(consumer, decisions);
      if (kill) {
        Optional<Long> restored = rest.restoredCheckpoint(jobId);
        assertThat(restored)
            .as("the job restored from a checkpoint after the TaskManager died")
            .isPresent();
        assertThat(rest.jobState(jobId)).isEqualTo("RUNNING");
        System.out.printf(
            "%s: restored from checkpoint %d; %d decision records, %d distinct%n",
            prefix, restored.get(), received, decisions.size());
      }
      return decisions;
    } finally {
      rest.cancel(jobId);
      awaitTrue(() -> "CANCELED".equals(state(jobId)), "job " + jobId + " canceled");
    }
  }

  /** The first ITERATIONS samples of the trace, one iteration each, ranks folded onto RANKS. */
  private static List<ExpertLoad> traceLoads(Path trace) throws IOException {
    List<ExpertLoad> loads = new ArrayList<>();
    try (TraceReader reader = TraceReader.open(trace, RANKS, 0, LAYERS - 1)) {
      for (long iteration = 0; iteration < ITERATIONS; iteration++) {
        TraceSample sample = reader.next();
        assertThat(sample).as("trace sample %d", iteration).isNotNull();
        for (int rank = 0; rank < RANKS; rank++) {
          List<LayerLoad> layers = new ArrayList<>();
          for (int layer = 0; layer < LAYERS; layer++) {
            var matrix = sample.layer(layer);
            List<Long> counts = new ArrayList<>();
            for (int expert = 0; expert < matrix.experts(); expert++) {
              counts.add(Math.round(matrix.tokens(rank, expert)));
            }
            layers.add(new LayerLoad(layer, counts));
          }
          loads.add(
              ExpertLoad.newBuilder()
                  .setJobId(JOB)
                  .setRank(rank)
                  .setWorldSize(RANKS)
                  .setIteration(iteration)
                  .setPlanVersion(0)
                  .setLayers(layers)
                  .setProducedAt(Instant.ofEpochMilli(1_700_000_000_000L + iteration))
                  .build());
        }
      }
    }
    return loads;
  }

  /** A pool for the trace's model (32 experts, LAYERS layers) on 2 nodes x 4 GPUs. */
  private static PlanPool pool() {
    ClusterSpec clusterSpec = SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class);
    ModelSpec example = SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class);
    ModelSpec model =
        new ModelSpec(
            LAYERS,
            example.expertCount(),
            example.topK(),
            example.hidden(),
            example.ffnHidden(),
            example.bytesPerElement(),
            example.optimizerBytesPerParam(),
            example.tokensPerRank());
    Pool pool =
        new PoolSearch(clusterSpec, model, PoolOptions.defaults()).search(ProgressListener.NONE);
    return PoolRecords.toRecord(pool, JOB, Instant.ofEpochSecond(1_700_000_000L), "failover test");
  }

  private static void produce(
      KafkaProducer<byte[], byte[]> producer, String prefix, List<ExpertLoad> loads) {
    for (ExpertLoad load : loads) {
      send(
          producer,
          prefix + "." + Topics.EXPERT_LOAD.name(),
          Topics.EXPERT_LOAD.keyCodec().encode(Topics.expertLoadKey(JOB, load.getRank())),
          Topics.EXPERT_LOAD.valueCodec().encode(load));
    }
    producer.flush();
  }

  private static void send(
      KafkaProducer<byte[], byte[]> producer, String topic, byte[] key, byte[] value) {
    producer.send(new ProducerRecord<>(topic, key, value));
  }

  /** Reads what is there; keeps decisions by id, checking that a redelivery is identical. */
  private static int poll(KafkaConsumer<byte[], byte[]> consumer, Map<String, PlanDecision> byId) {
    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
      received++;
      PlanDecision decision = Topics.PLAN_DECISIONS.valueCodec().decode(record.value());
      PlanDecision earlier = byId.putIfAbsent(decision.getDecisionId(), decision);
      assertThat(earlier == null || earlier.equals(decision))
          .as("redelivered decision %s is identical to the first", decision.getDecisionId())
          .isTrue();
    }
    return byId.size();
  }

  private static void assign(KafkaConsumer<byte[], byte[]> consumer, String topic) {
    List<TopicPartition> partitions = new ArrayList<>();
    consumer
        .partitionsFor(topic)
        .forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
  }

  private static String state(String jobId) {
    try {
      return rest.jobState(jobId);
    } catch (IOException e) {
      return "unreachable";
    }
  }

  private static long completedCheckpoints(String jobId) {
    try {
      return rest.completedCheckpoints(jobId);
    } catch (IOException e) {
      return -1;
    }
  }

  private static void awaitTrue(BooleanSupplier condition, String what)
      throws InterruptedException {
    ClusterProcesses.awaitTrue(condition, BOUND, what);
  }

  private static KafkaProducer<byte[], byte[]> producer() {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static KafkaConsumer<byte[], byte[]> consumer() {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return new KafkaConsumer<>(
        properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private static String bootstrap() {
    return "localhost:" + settings.kafkaPort();
  }

  private static <K, V> Topic<K, V> rename(Topic<K, V> topic, String name) {
    return new Topic<>(name, topic.keyCodec(), topic.valueCodec(), topic.compacted());
  }

  /** The trace, found by walking up from the working directory. */
  private static Optional<Path> trace() {
    return ClusterProcesses.walkUp(TRACE.resolve("layers-00-11.csv.gz"));
  }
}
