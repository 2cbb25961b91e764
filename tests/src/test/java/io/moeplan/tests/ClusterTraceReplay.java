package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.launcher.cluster.ClusterSettings;
import io.moeplan.launcher.cluster.FlinkRest;
import io.moeplan.launcher.cluster.LocalCluster;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.planner.testing.TraceSlice;
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
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What the failure tests on the multi-process cluster share: the cluster ({@link LocalCluster}: a
 * Kafka broker process, a standalone JobManager and two TaskManagers), the committed slice of the
 * GPT-MoE trace as ExpertLoad records, its pool, and runs of the plan-selector job on topics of
 * their own, each run collecting its decisions by id.
 */
final class ClusterTraceReplay implements AutoCloseable {

  static final String JOB = "trace";
  static final int RANKS = 8;
  static final int LAYERS = 4;
  static final int WINDOW = 4;
  static final int ITERATIONS = 80;
  static final int DECISIONS = ITERATIONS / WINDOW * LAYERS;
  static final Duration BOUND = Duration.ofSeconds(120);

  private final LocalCluster cluster;
  private final ClusterSettings settings;
  private final FlinkRest rest;

  private ClusterTraceReplay(LocalCluster cluster, ClusterSettings settings) {
    this.cluster = cluster;
    this.settings = settings;
    this.rest = new FlinkRest(settings.restPort());
  }

  /**
   * Starts the cluster in {@code state}, without a job; skips the calling test when the project's
   * build is not there.
   */
  static ClusterTraceReplay start(Path state) throws IOException {
    ClusterSettings settings =
        ClusterProcesses.settings(state)
            .taskManagers(2)
            .slotsPerTaskManager(2)
            .parallelism(2)
            .submitJob(false)
            .pool(null)
            .build();
    LocalCluster cluster = new LocalCluster(state);
    cluster.up(settings, System.out);
    return new ClusterTraceReplay(cluster, settings);
  }

  @Override
  public void close() throws IOException {
    cluster.down();
  }

  LocalCluster cluster() {
    return cluster;
  }

  ClusterSettings settings() {
    return settings;
  }

  FlinkRest rest() {
    return rest;
  }

  String bootstrap() {
    return "localhost:" + settings.kafkaPort();
  }

  /**
   * The first ITERATIONS samples of the committed trace slice, one iteration each, ranks folded
   * onto RANKS; each rank reports the layers it hosts under the pool's parallel config (all of
   * them, or its pipeline stage's).
   */
  static List<ExpertLoad> traceLoads(PlanPool pool) throws IOException {
    var p = pool.getPlans().get(0).getParallel();
    ParallelConfig parallel =
        new ParallelConfig(p.getTp(), p.getPp(), p.getDp(), p.getEp(), p.getSlotsPerWorker());
    List<ExpertLoad> loads = new ArrayList<>();
    List<TraceSample> samples = TraceSlice.samples(RANKS, 0, LAYERS - 1, ITERATIONS);
    for (int iteration = 0; iteration < ITERATIONS; iteration++) {
      TraceSample sample = samples.get(iteration);
      for (int rank = 0; rank < RANKS; rank++) {
        List<LayerLoad> layers = new ArrayList<>();
        for (int layer = 0; layer < LAYERS; layer++) {
          if (parallel.stageOfLayer(layer, LAYERS) != parallel.stageOfRank(rank, RANKS)) {
            continue;
          }
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
    return loads;
  }

  /** A pool for the trace's model (32 experts, LAYERS layers) on 2 nodes x 4 GPUs. */
  static PlanPool pool(String builtBy) {
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
    return PoolRecords.toRecord(pool, JOB, Instant.ofEpochSecond(1_700_000_000L), builtBy);
  }

  /**
   * Creates the topics of a run, every moeplan topic with {@code prefix.} before its name, submits
   * the job on them (window WINDOW, checkpoints every second), waits until it runs and publishes
   * {@code pool}. Close the run to cancel the job.
   */
  Run submit(String prefix, PlanPool pool) throws Exception {
    List<Topic<?, ?>> topics = new ArrayList<>();
    for (Topic<?, ?> topic : Topics.ALL) {
      topics.add(
          new Topic<>(
              prefix + "." + topic.name(),
              topic.keyCodec(),
              topic.valueCodec(),
              topic.compacted()));
    }
    LocalCluster.createTopics(bootstrap(), topics);
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
                prefix + "." + Topics.PLAN_DECISIONS.name(),
                "--dead-letter-topic",
                prefix + "." + Topics.EXPERT_LOAD_DLQ.name(),
                "--window-iterations",
                Integer.toString(WINDOW),
                "--window-timeout",
                "10min",
                "--checkpoint-interval",
                "1s"));
    Run run = new Run(prefix, jobId);
    try {
      awaitTrue(() -> "RUNNING".equals(run.state()), "job " + jobId + " running");
      try (KafkaProducer<byte[], byte[]> producer = producer(new Properties())) {
        producer
            .send(
                new ProducerRecord<>(
                    prefix + "." + Topics.PLAN_POOL.name(),
                    Topics.PLAN_POOL.keyCodec().encode(JOB),
                    Topics.PLAN_POOL.valueCodec().encode(pool)))
            .get();
      }
      run.consumer = consumer();
      KafkaIo.assignFromStart(run.consumer, run.decisionsTopic());
      return run;
    } catch (Exception | AssertionError e) {
      run.close();
      throw e;
    }
  }

  /** A producer (acks=all) with {@code extra} settings on top. */
  KafkaProducer<byte[], byte[]> producer(Properties extra) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    properties.putAll(extra);
    return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /** Hands the loads to the producer without waiting for their acknowledgement. */
  static void send(KafkaProducer<byte[], byte[]> producer, String topic, List<ExpertLoad> loads) {
    for (ExpertLoad load : loads) {
      producer.send(
          new ProducerRecord<>(
              topic,
              Topics.EXPERT_LOAD.keyCodec().encode(Topics.expertLoadKey(JOB, load.getRank())),
              Topics.EXPERT_LOAD.valueCodec().encode(load)));
    }
  }

  /**
   * The disturbed run emitted exactly the undisturbed run's DECISIONS decisions: the same ids, each
   * with the same contents ({@code disturbance} names what happened, for the messages).
   */
  static void assertSameDecisions(
      Map<String, PlanDecision> undisturbed,
      Map<String, PlanDecision> disturbed,
      String disturbance) {
    assertThat(undisturbed).hasSize(DECISIONS);
    assertThat(disturbed.keySet()).containsExactlyInAnyOrderElementsOf(undisturbed.keySet());
    for (Map.Entry<String, PlanDecision> decision : undisturbed.entrySet()) {
      assertThat(disturbed.get(decision.getKey()))
          .as("decision %s after %s", decision.getKey(), disturbance)
          .isEqualTo(decision.getValue());
    }
  }

  static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
    ClusterProcesses.awaitTrue(condition, BOUND, what);
  }

  private KafkaConsumer<byte[], byte[]> consumer() {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return new KafkaConsumer<>(
        properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /** One submitted job on its own topics, and the decisions read from its decisions topic. */
  final class Run implements AutoCloseable {
    private final String prefix;
    private final String jobId;
    private final Map<String, PlanDecision> decisions = new TreeMap<>();
    private KafkaConsumer<byte[], byte[]> consumer;
    private int received;

    private Run(String prefix, String jobId) {
      this.prefix = prefix;
      this.jobId = jobId;
    }

    String jobId() {
      return jobId;
    }

    String loadsTopic() {
      return prefix + "." + Topics.EXPERT_LOAD.name();
    }

    String decisionsTopic() {
      return prefix + "." + Topics.PLAN_DECISIONS.name();
    }

    /** The decisions read so far, by id. */
    Map<String, PlanDecision> decisions() {
      return decisions;
    }

    /** Decision records read so far, redeliveries included. */
    int received() {
      return received;
    }

    /** Waits until at least {@code count} distinct decisions were read. */
    void awaitDecisions(int count, String what) throws InterruptedException {
      awaitTrue(() -> poll() >= count, what);
    }

    /**
     * Reads what is there; keeps decisions by id, checking that a redelivery is identical. Returns
     * the number of distinct decisions.
     */
    int poll() {
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
        received++;
        PlanDecision decision = Topics.PLAN_DECISIONS.valueCodec().decode(record.value());
        PlanDecision earlier = decisions.putIfAbsent(decision.getDecisionId(), decision);
        assertThat(earlier == null || earlier.equals(decision))
            .as("redelivered decision %s is identical to the first", decision.getDecisionId())
            .isTrue();
      }
      return decisions.size();
    }

    /** Checkpoints the job completed, -1 while the REST API does not answer. */
    long completedCheckpoints() {
      try {
        return rest.completedCheckpoints(jobId);
      } catch (IOException e) {
        return -1;
      }
    }

    /** Waits for a checkpoint completed after the ones completed now. */
    long awaitNextCheckpoint(String what) throws Exception {
      long checkpoints = rest.completedCheckpoints(jobId);
      awaitTrue(() -> completedCheckpoints() > checkpoints, what);
      return checkpoints + 1;
    }

    String state() {
      try {
        return rest.jobState(jobId);
      } catch (IOException e) {
        return "unreachable";
      }
    }

    /** Cancels the job and waits until it is canceled. */
    @Override
    public void close() throws Exception {
      try {
        if (consumer != null) {
          consumer.close();
        }
      } finally {
        rest.cancel(jobId);
        awaitTrue(() -> "CANCELED".equals(state()), "job " + jobId + " canceled");
      }
    }
  }
}
