package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.flink.job.PlanSelectorJob;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTime;
import io.moeplan.schemas.WorkerTimes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plan-selector job on a real broker and a MiniCluster at parallelism 2: loads and a pool in,
 * one decision per window and layer out, bad records dead-lettered, RocksDB checkpoints taken.
 */
class PlanSelectorJobITCase {

  private static final int PARALLELISM = 2;
  private static final int WINDOW = 2;
  private static final int RANKS = 4;

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
  void decidesEveryWindowOfEveryLayerAndDeadLettersBadRecords(@TempDir Path checkpoints)
      throws Exception {
    TestTopics topics = TestTopics.create(broker, "basic");
    PlanSelectorConfig config = topics.jobConfig(broker, WINDOW, PARALLELISM, checkpoints);
    JobClient job = submit(config);
    try {
      KafkaIo io = new KafkaIo(broker);
      io.send(topics.pools(), Topics.PLAN_POOL, "job", SampleRecords.planPool("job"));
      int windows = 3;
      for (long iteration = 0; iteration < windows * WINDOW; iteration++) {
        for (int rank = 0; rank < RANKS; rank++) {
          io.send(
              topics.loads(),
              Topics.EXPERT_LOAD,
              Topics.expertLoadKey("job", rank),
              load(rank, iteration));
        }
      }
      io.sendRaw(topics.loads(), "job/0", new byte[] {1, 2, 3});
      ExpertLoad negative = load(1, 0);
      negative.getLayers().get(0).getExpertCounts().set(2, -5L);
      io.send(topics.loads(), Topics.EXPERT_LOAD, "job/1", negative);

      Map<String, PlanDecision> decisions =
          byId(io.readAtLeast(topics.decisions(), Topics.PLAN_DECISIONS, 2 * windows));
      List<DeadLetter> deadLetters =
          io.readAtLeast(topics.deadLetters(), Topics.EXPERT_LOAD_DLQ, 2);

      assertThat(decisions.keySet())
          .containsExactlyInAnyOrder(
              "job/0/0", "job/0/1", "job/0/2", "job/1/0", "job/1/1", "job/1/2");
      for (PlanDecision decision : decisions.values()) {
        assertThat(decision.getEffectiveIteration())
            .isEqualTo(decision.getWindowLastIteration() + config.leadIterations());
        assertThat(decision.getRanksReported()).isEqualTo(RANKS);
        assertThat(decision.getSlotToExpert()).hasSize(4);
      }
      assertThat(decisions.get("job/1/0").getAction()).isEqualTo(DecisionAction.SWITCH);
      assertThat(deadLetters)
          .extracting(DeadLetter::getReason)
          .containsExactlyInAnyOrder(DeadLetterReason.UNDECODABLE, DeadLetterReason.INVALID_FIELD);
      assertThat(deadLetters)
          .extracting(DeadLetter::getDetail)
          .anySatisfy(detail -> assertThat(detail).contains("expertCounts[2] is negative: -5"));
      assertThat(awaitCompletedCheckpoint(checkpoints)).isTrue();
    } finally {
      cancelAndAwait(job);
    }
  }

  @Test
  void aJobWhoseExecutorsMeasureSlowMigrationsStopsSwitching(@TempDir Path checkpoints)
      throws Exception {
    TestTopics topics = TestTopics.create(broker, "calibration");
    PlanSelectorConfig config =
        topics.jobConfig(
            broker, WINDOW, PARALLELISM, checkpoints, "--calibration-min-migrations", "4");
    JobClient job = submit(config);
    try {
      KafkaIo io = new KafkaIo(broker);
      // two jobs on the same pool and loads; the executors of "slow" measured their migrations
      // at about 1 MB/s, three hundred thousand times slower than the pool's model says
      for (String jobId : List.of("slow", "control")) {
        io.send(topics.pools(), Topics.PLAN_POOL, jobId, SampleRecords.planPool(jobId));
      }
      for (long iteration = 0; iteration <= 2 * WINDOW; iteration++) {
        io.send(
            topics.workerTimes(),
            Topics.WORKER_TIMES,
            Topics.workerTimesKey("slow", 1),
            slowMigrations(iteration));
      }
      WorkerTimes negative = slowMigrations(2 * WINDOW + 1);
      negative.getWorkers().get(1).setTokens(-3L);
      io.send(topics.workerTimes(), Topics.WORKER_TIMES, "slow/1", negative);
      io.sendRaw(topics.workerTimes(), "slow/1", new byte[] {9, 9});
      // the fit made when the last record's window started: the one the selector scores with
      ModelFit fit = awaitFit(io, topics, "slow", f -> f.getLastIteration() == 2 * WINDOW);
      assertThat(fit.getMigrationCalibrated()).isTrue();
      assertThat(fit.getMigrationBytesPerSecond()).isCloseTo(1e6, within(1e3));
      assertThat(fit.getModelVersion()).isPositive();
      assertThat(fit.getCalibrated()).as("too few compute samples yet").isFalse();

      for (String jobId : List.of("slow", "control")) {
        for (long iteration = 0; iteration < WINDOW; iteration++) {
          for (int rank = 0; rank < RANKS; rank++) {
            io.send(
                topics.loads(),
                Topics.EXPERT_LOAD,
                Topics.expertLoadKey(jobId, rank),
                ExpertLoad.newBuilder(load(rank, iteration)).setJobId(jobId).build());
          }
        }
      }
      Map<String, PlanDecision> decisions =
          byId(io.readAtLeast(topics.decisions(), Topics.PLAN_DECISIONS, 4));
      List<DeadLetter> deadLetters =
          io.readAtLeast(topics.deadLetters(), Topics.EXPERT_LOAD_DLQ, 2);

      assertThat(decisions.get("control/1/0").getAction()).isEqualTo(DecisionAction.SWITCH);
      assertThat(decisions.get("control/1/0").getModelVersion()).isZero();
      PlanDecision slow = decisions.get("slow/1/0");
      assertThat(slow.getAction()).isEqualTo(DecisionAction.KEEP);
      assertThat(slow.getModelVersion()).isEqualTo(fit.getModelVersion());
      assertThat(deadLetters)
          .allSatisfy(
              letter -> assertThat(letter.getSourceTopic()).isEqualTo(topics.workerTimes()));
      assertThat(deadLetters)
          .extracting(DeadLetter::getReason)
          .containsExactlyInAnyOrder(DeadLetterReason.UNDECODABLE, DeadLetterReason.INVALID_FIELD);
      assertThat(deadLetters)
          .extracting(DeadLetter::getDetail)
          .anySatisfy(
              detail -> assertThat(detail).contains("workers[1].tokens must be >= 0, got -3"));
    } finally {
      cancelAndAwait(job);
    }
  }

  /** Polls (bounded) the model-fit topic for a fit of {@code jobId} that passes {@code test}. */
  private static ModelFit awaitFit(
      KafkaIo io, TestTopics topics, String jobId, Predicate<ModelFit> test) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    List<ModelFit> seen = List.of();
    while (System.nanoTime() < deadline) {
      seen = io.readAtLeast(topics.modelFits(), Topics.MODEL_FIT, 1);
      for (ModelFit fit : seen) {
        if (fit.getJobId().equals(jobId) && test.test(fit)) {
          return fit;
        }
      }
    }
    throw new AssertionError("no fit of " + jobId + " as expected within 60 s; saw " + seen);
  }

  /**
   * Measurements of layer 1 of job "slow": two workers with tokens, and from iteration 1 on each
   * received one replica (734 MB with Adam state at the sample pool's dimensions) in 734 s.
   */
  private static WorkerTimes slowMigrations(long iteration) {
    long bytes = iteration == 0 ? 0 : 734_003_200L;
    return WorkerTimes.newBuilder()
        .setJobId("slow")
        .setExecutorId("host-a/0")
        .setIteration(iteration)
        .setLayer(1)
        .setPlanVersion(0)
        .setBackend("cuda")
        .setWorkers(
            new ArrayList<>(
                List.of(
                    new WorkerTime(0, 40_000L, 2, 0.02, bytes, bytes / 1e6),
                    new WorkerTime(1, 20_000L, 2, 0.01, bytes, bytes / 1e6))))
        .setMigratedBytes(2 * bytes)
        .setMigrationSeconds(bytes / 1e6)
        .setProducedAt(SampleRecords.AT)
        .build();
  }

  /** Layer 1 of the sample pool places experts 3 and 0 on worker 0: make them hot there. */
  private static ExpertLoad load(int rank, long iteration) {
    List<LayerLoad> layers = new ArrayList<>();
    layers.add(new LayerLoad(0, new ArrayList<>(List.of(4096L, 4096L, 4096L, 4096L))));
    layers.add(new LayerLoad(1, new ArrayList<>(List.of(60_000L, 512L, 512L, 60_000L))));
    return ExpertLoad.newBuilder(SampleRecords.expertLoad("job", rank, iteration))
        .setLayers(layers)
        .build();
  }

  /** Decisions by id; a redelivered decision must equal the first one with its id. */
  static Map<String, PlanDecision> byId(List<PlanDecision> decisions) {
    Map<String, PlanDecision> byId = new java.util.TreeMap<>();
    for (PlanDecision decision : decisions) {
      PlanDecision earlier = byId.putIfAbsent(decision.getDecisionId(), decision);
      assertThat(earlier == null || earlier.equals(decision))
          .as("redelivered decision %s is identical", decision.getDecisionId())
          .isTrue();
    }
    return byId;
  }

  /**
   * Cancels a job and polls (bounded) until it is terminal, so no checkpoint is still being written
   * when a test deletes its temporary directory.
   */
  static void cancelAndAwait(JobClient job) throws Exception {
    job.cancel().get();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (job.getJobStatus().get().isGloballyTerminalState()) {
          return;
        }
      } catch (java.util.concurrent.ExecutionException e) {
        return; // the cluster no longer knows the job: it has ended
      }
      Thread.sleep(50);
    }
    throw new AssertionError("job " + job.getJobID() + " did not end within 60 s of its cancel");
  }

  static JobClient submit(PlanSelectorConfig config) throws Exception {
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(
            PlanSelectorJob.flinkConfiguration(config));
    PlanSelectorJob.attachKafka(env, config);
    return env.executeAsync(PlanSelectorJob.JOB_NAME);
  }

  /** Polls (bounded) for a completed checkpoint: a chk-N folder with its metadata file. */
  static boolean awaitCompletedCheckpoint(Path checkpoints) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      try (Stream<Path> files = Files.walk(checkpoints)) {
        if (files.anyMatch(
            path ->
                path.getFileName().toString().equals("_metadata")
                    && path.getParent().getFileName().toString().startsWith("chk-"))) {
          return true;
        }
      }
      Thread.sleep(100);
    }
    return false;
  }
}
