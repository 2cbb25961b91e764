package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job id re-run from iteration 0 under a new run id, and a run resumed from a checkpoint a few
 * windows back as its next attempt, on a real broker and a MiniCluster at parallelism 2: each gets
 * a decision for every one of its windows, under ids of its own, and the decisions before it stay
 * as they were.
 */
class RunsAndRestartsITCase {

  private static final int PARALLELISM = 2;
  private static final int WINDOW = 2;
  private static final int RANKS = 4;
  private static final int LAYERS = 2;

  /** The test's training rate: one iteration (every rank's load) every this many ms. */
  private static final long ITERATION_MILLIS = 100;

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(PARALLELISM)
              .build());

  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    broker = SharedBroker.get();
  }

  @Test
  void aJobIdReRunFromIterationZeroIsDecidedAgainUnderIdsOfItsOwn(@TempDir Path checkpoints)
      throws Exception {
    TestTopics topics = TestTopics.create(broker, "rerun");
    PlanSelectorConfig config = topics.jobConfig(broker, WINDOW, PARALLELISM, checkpoints);
    JobClient job = PlanSelectorJobITCase.submit(config);
    try (Loads loads = new Loads(topics.loads())) {
      new KafkaIo(broker)
          .send(topics.pools(), Topics.PLAN_POOL, "job", SampleRecords.planPool("job"));
      int firstRunWindows = 4;
      loads.send("run-1", 0, 0, firstRunWindows * WINDOW);
      Map<String, Arrival> firstRun =
          await(topics.decisions(), seen -> seen.size() >= LAYERS * firstRunWindows);

      // the re-run: iteration 0 again, after the first run went past window 0
      loads.send("run-2", 0, 0, WINDOW);
      long lastLoadOfWindow0 = System.nanoTime();
      Map<String, Arrival> all =
          await(topics.decisions(), seen -> seen.keySet().containsAll(ids(0, 0, "run-2", 0)));

      long firstDecisionNanos =
          ids(0, 0, "run-2", 0).stream().mapToLong(id -> all.get(id).nanos).min().orElseThrow();
      long latencyMillis = Duration.ofNanos(firstDecisionNanos - lastLoadOfWindow0).toMillis();
      System.out.printf(
          "re-run: first decision %d ms after the last load of its first window%n", latencyMillis);
      assertThat(firstRun.keySet()).containsExactlyInAnyOrderElementsOf(ids(0, 3, "run-1", 0));
      for (String id : ids(0, 0, "run-2", 0)) {
        PlanDecision decision = all.get(id).decision;
        assertThat(decision.getRunId()).isEqualTo("run-2");
        assertThat(decision.getWindow()).isZero();
        assertThat(decision.getRanksReported()).isEqualTo(RANKS);
        assertThat(firstRun).doesNotContainKey(id);
      }
      assertThat(latencyMillis)
          .as("within one window's worth of iterations plus 1 s")
          .isLessThanOrEqualTo(WINDOW * ITERATION_MILLIS + 1_000);
    } finally {
      PlanSelectorJobITCase.cancelAndAwait(job);
    }
  }

  @Test
  void aRunResumedAFewWindowsBackIsDecidedAgainFromThereAndTheFirstAttemptStays(
      @TempDir Path checkpoints) throws Exception {
    TestTopics topics = TestTopics.create(broker, "resume");
    PlanSelectorConfig config = topics.jobConfig(broker, WINDOW, PARALLELISM, checkpoints);
    JobClient job = PlanSelectorJobITCase.submit(config);
    try (Loads loads = new Loads(topics.loads())) {
      new KafkaIo(broker)
          .send(topics.pools(), Topics.PLAN_POOL, "job", SampleRecords.planPool("job"));
      int windows = 6;
      loads.send("run-a", 0, 0, windows * WINDOW);
      Map<String, Arrival> firstAttempt =
          await(topics.decisions(), seen -> seen.size() >= LAYERS * windows);
      assertThat(firstAttempt.keySet())
          .containsExactlyInAnyOrderElementsOf(ids(0, windows - 1, "run-a", 0));

      // attempt 1 resumes from a checkpoint at iteration 4 (window 2) and trains on from there
      int resumedWindow = 2;
      loads.send("run-a", 1, resumedWindow * WINDOW, windows * WINDOW);
      List<String> resumedIds = ids(resumedWindow, windows - 1, "run-a", 1);
      Map<String, Arrival> all =
          await(topics.decisions(), seen -> seen.size() >= firstAttempt.size() + resumedIds.size());

      assertThat(all.keySet())
          .as("every window from the resumed one, once, under ids of attempt 1")
          .containsExactlyInAnyOrderElementsOf(union(firstAttempt.keySet(), resumedIds));
      for (String id : resumedIds) {
        PlanDecision decision = all.get(id).decision;
        assertThat(decision.getAttempt()).isEqualTo(1);
        assertThat(decision.getRunId()).isEqualTo("run-a");
        assertThat(decision.getRanksReported()).isEqualTo(RANKS);
      }
      for (Map.Entry<String, Arrival> first : firstAttempt.entrySet()) {
        assertThat(all.get(first.getKey()).decision)
            .as("attempt 0's decision %s is untouched", first.getKey())
            .isEqualTo(first.getValue().decision);
      }
    } finally {
      PlanSelectorJobITCase.cancelAndAwait(job);
    }
  }

  /** The decision ids of both layers for windows {@code from..to} of one epoch. */
  private static List<String> ids(long from, long to, String runId, int attempt) {
    List<String> ids = new ArrayList<>();
    for (int layer = 0; layer < LAYERS; layer++) {
      for (long window = from; window <= to; window++) {
        ids.add(Topics.decisionId("job", layer, window, runId, attempt));
      }
    }
    return ids;
  }

  private static Set<String> union(Set<String> a, List<String> b) {
    Set<String> union = new HashSet<>(a);
    union.addAll(b);
    return union;
  }

  /** A decision and when this test read it. */
  private record Arrival(PlanDecision decision, long nanos) {}

  /**
   * Reads the decisions topic from the start until {@code done} holds for the decisions by id
   * (bounded); a redelivered id must carry the same decision.
   */
  private static Map<String, Arrival> await(String topic, Predicate<Map<String, Arrival>> done) {
    Properties properties = broker.clientProperties();
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    Map<String, Arrival> byId = new TreeMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      KafkaIo.assignFromStart(consumer, topic);
      long deadline = System.nanoTime() + KafkaIo.READ_BOUND.toNanos();
      while (!done.test(byId) && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(20))) {
          long now = System.nanoTime();
          PlanDecision decision = Topics.PLAN_DECISIONS.valueCodec().decode(record.value());
          Arrival earlier = byId.putIfAbsent(decision.getDecisionId(), new Arrival(decision, now));
          assertThat(earlier == null || earlier.decision.equals(decision))
              .as("redelivered decision %s is identical", decision.getDecisionId())
              .isTrue();
        }
      }
    }
    assertThat(done.test(byId)).as("decisions read within the bound: %s", byId.keySet()).isTrue();
    return byId;
  }

  /** Every rank's loads of one epoch, an iteration every {@link #ITERATION_MILLIS}. */
  private static final class Loads implements AutoCloseable {
    private final String topic;
    private final KafkaProducer<byte[], byte[]> producer;

    Loads(String topic) {
      this.topic = topic;
      Properties properties = broker.clientProperties();
      properties.put(ProducerConfig.ACKS_CONFIG, "all");
      properties.put(ProducerConfig.LINGER_MS_CONFIG, "0");
      this.producer =
          new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Iterations {@code [from, to)} of run {@code runId}'s attempt {@code attempt}. */
    void send(String runId, int attempt, long from, long to) throws InterruptedException {
      for (long iteration = from; iteration < to; iteration++) {
        long started = System.nanoTime();
        for (int rank = 0; rank < RANKS; rank++) {
          ExpertLoad load = load(rank, iteration, runId, attempt);
          producer.send(
              new ProducerRecord<>(
                  topic,
                  Topics.expertLoadKey("job", rank).getBytes(StandardCharsets.UTF_8),
                  Topics.EXPERT_LOAD.valueCodec().encode(load)));
        }
        producer.flush();
        long spent = Duration.ofNanos(System.nanoTime() - started).toMillis();
        if (iteration + 1 < to && spent < ITERATION_MILLIS) {
          Thread.sleep(ITERATION_MILLIS - spent);
        }
      }
    }

    @Override
    public void close() {
      producer.close();
    }
  }

  /** Layer 1 of the sample pool places experts 3 and 0 on worker 0: make them hot there. */
  private static ExpertLoad load(int rank, long iteration, String runId, int attempt) {
    List<LayerLoad> layers = new ArrayList<>();
    layers.add(new LayerLoad(0, new ArrayList<>(List.of(4096L, 4096L, 4096L, 4096L))));
    layers.add(new LayerLoad(1, new ArrayList<>(List.of(60_000L, 512L, 512L, 60_000L))));
    return ExpertLoad.newBuilder(SampleRecords.expertLoad("job", rank, iteration))
        .setLayers(layers)
        .setRunId(runId)
        .setAttempt(attempt)
        .build();
  }
}
