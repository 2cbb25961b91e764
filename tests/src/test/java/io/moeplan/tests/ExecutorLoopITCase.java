package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.executor.decisions.LayerSwitch;
import io.moeplan.executor.process.CpuWorkers;
import io.moeplan.executor.process.Executor;
import io.moeplan.executor.process.ExecutorModel;
import io.moeplan.executor.process.ExecutorSettings;
import io.moeplan.executor.process.ExecutorSettings.DimOverrides;
import io.moeplan.executor.process.ExecutorSettings.TopicNames;
import io.moeplan.executor.process.KafkaExecutorIo;
import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTimes;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole loop with a real executor: the plan-selector job on a MiniCluster at parallelism 2, a
 * cpu executor at tiny dimensions hosting every rank (or two hosting half each), all on a real
 * broker. Every rank switches at each decision's effective iteration, and an executor closed
 * mid-run and started again resumes on the latest decisions without any rank diverging.
 */
class ExecutorLoopITCase {

  private static final int PARALLELISM = 2;
  private static final int WINDOW = 4;
  private static final int LEAD = 2;
  private static final int RANKS = 4;
  private static final int LAYERS = 2;
  private static final int ITERATIONS = 40;

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
  void everyRankAppliesEachSwitchAtItsEffectiveIteration(@TempDir Path checkpoints)
      throws Exception {
    Loop loop = Loop.start("exec-loop", checkpoints);
    try {
      long ran;
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      try (KafkaExecutorIo io = new KafkaExecutorIo(broker.clientProperties(), loop.names);
          Executor executor = loop.executor(io, 0, ITERATIONS, console)) {
        ran = executor.run(report -> {});
        assertThat(executor.follower().timeouts()).isZero();
        assertThat(executor.follower().switchesApplied()).isPositive();
        assertThat(executor.migratedBytes()).isPositive();
      }
      assertThat(ran).isEqualTo(ITERATIONS);
      loop.assertConsistent(ITERATIONS);
      assertThat(console.toString(StandardCharsets.UTF_8)).contains("applied exec-job/");
    } finally {
      loop.stop();
    }
  }

  @Test
  void aRestartedExecutorResumesFromTheLatestDecisionsWithNoRankDiverging(@TempDir Path checkpoints)
      throws Exception {
    Loop loop = Loop.start("exec-restart", checkpoints);
    try {
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      long restartAt;
      try (KafkaExecutorIo io = new KafkaExecutorIo(broker.clientProperties(), loop.names);
          Executor first = loop.executor(io, 0, ITERATIONS - WINDOW, console)) {
        // closed right after the first switch: the restart must resume on a switched placement
        restartAt =
            first.run(
                report -> {
                  if (!report.applied().isEmpty()) {
                    first.stop();
                  }
                });
        assertThat(first.follower().switchesApplied()).isPositive();
      }
      assertThat(restartAt).isLessThan(ITERATIONS - WINDOW);
      try (KafkaExecutorIo io = new KafkaExecutorIo(broker.clientProperties(), loop.names);
          Executor second = loop.executor(io, restartAt, ITERATIONS - restartAt, console)) {
        List<LayerSwitch> resumed = second.resume();
        assertThat(resumed).isNotEmpty();
        Map<String, PlanDecision> decisions = loop.decisions((int) restartAt);
        for (LayerSwitch adopted : resumed) {
          PlanDecision last = InForce.decision(decisions.values(), adopted.layer(), restartAt - 1);
          assertThat(adopted.to().slotToExpert())
              .containsExactly(last.getSlotToExpert().stream().mapToInt(i -> i).toArray());
          for (int slot = 0; slot < adopted.to().slotCount(); slot++) {
            assertThat(second.backend(adopted.layer()).readSlot(slot).master())
                .isEqualTo(
                    second.initialState(adopted.layer(), adopted.to().expertAt(slot)).master());
          }
        }
        assertThat(second.run(report -> {})).isEqualTo(ITERATIONS - restartAt);
        assertThat(second.follower().timeouts()).isZero();
      }
      assertThat(console.toString(StandardCharsets.UTF_8))
          .contains("resumed at iteration " + restartAt);
      loop.assertConsistent(ITERATIONS);
    } finally {
      loop.stop();
    }
  }

  @Test
  void twoExecutorsHostingHalfTheRanksEachSwitchAtTheSameIterations(@TempDir Path checkpoints)
      throws Exception {
    Loop loop = Loop.start("exec-pair", checkpoints);
    try {
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      try (KafkaExecutorIo lowIo = new KafkaExecutorIo(broker.clientProperties(), loop.names);
          KafkaExecutorIo highIo = new KafkaExecutorIo(broker.clientProperties(), loop.names);
          Executor low = loop.executor(lowIo, 0, RANKS / 2, 0, ITERATIONS, console);
          Executor high = loop.executor(highIo, RANKS / 2, RANKS / 2, 0, ITERATIONS, console)) {
        CompletableFuture<Long> lowRan =
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return low.run(report -> {});
                  } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                  }
                });
        assertThat(high.run(report -> {})).isEqualTo(ITERATIONS);
        assertThat(lowRan.get(3, TimeUnit.MINUTES)).isEqualTo(ITERATIONS);
        assertThat(low.follower().timeouts()).isZero();
        assertThat(high.follower().timeouts()).isZero();
        assertThat(low.follower().switchesApplied())
            .isPositive()
            .isEqualTo(high.follower().switchesApplied());
        for (int layer = 0; layer < LAYERS; layer++) {
          assertThat(low.follower().placement(layer)).isEqualTo(high.follower().placement(layer));
        }
      }
      loop.assertConsistent(ITERATIONS, 2);
    } finally {
      loop.stop();
    }
  }

  /** One job's topics, pool and running plan-selector job. */
  private record Loop(
      String jobId, TestTopics topics, TopicNames names, PlanPool pool, JobClient job) {

    static Loop start(String prefix, Path checkpoints) throws Exception {
      TestTopics topics = TestTopics.create(broker, prefix);
      TopicNames names = TopicNames.DEFAULT.prefixed(prefix);
      String jobId = prefix.replace("exec-loop", "exec-job");
      PlanPool pool =
          PoolRecords.toRecord(
              new PoolSearch(
                      CpuWorkers.cluster(1, RANKS),
                      CpuWorkers.model(LAYERS, 8, 2, 16, 32, 16),
                      PoolOptions.defaults()
                          .withSynthetic(PoolOptions.DEFAULT_SYNTHETIC_SAMPLES, 5))
                  .search(ProgressListener.NONE),
              jobId,
              Instant.now(),
              "executor it");
      new KafkaIo(broker).send(topics.pools(), Topics.PLAN_POOL, Topics.planPoolKey(jobId), pool);
      PlanSelectorConfig config = topics.jobConfig(broker, WINDOW, PARALLELISM, checkpoints);
      assertThat(config.leadIterations()).isEqualTo(LEAD);
      JobClient job = PlanSelectorJobITCase.submit(config);
      return new Loop(jobId, topics, names, pool, job);
    }

    /** Cancels the job and waits until it has ended. */
    void stop() throws Exception {
      PlanSelectorJobITCase.cancelAndAwait(job);
    }

    Executor executor(KafkaExecutorIo io, long start, long count, ByteArrayOutputStream console)
        throws Exception {
      return executor(io, 0, RANKS, start, count, console);
    }

    Executor executor(
        KafkaExecutorIo io,
        int firstRank,
        int hosted,
        long start,
        long count,
        ByteArrayOutputStream console)
        throws Exception {
      ExecutorSettings settings =
          ExecutorSettings.defaults(jobId, hosted)
              .withRanks(firstRank, RANKS)
              .withTopics(names)
              .withDims(new DimOverrides(16, 32, 16))
              .withWindow(WINDOW, LEAD, Duration.ofSeconds(60))
              .withIterations(start, count)
              .withSeed(11);
      PlanPool read = io.readPool(jobId, Duration.ofSeconds(60));
      return new Executor(
          settings,
          ExecutorModel.of(read, settings.dims()),
          io,
          io,
          new PrintStream(console, true, StandardCharsets.UTF_8));
    }

    Map<String, PlanDecision> decisions(int iterations) {
      int expected = iterations / WINDOW * LAYERS;
      return PlanSelectorJobITCase.byId(
          new KafkaIo(broker).readAtLeast(topics.decisions(), Topics.PLAN_DECISIONS, expected));
    }

    /**
     * Checks, against the decisions on the topic, that at every iteration every rank reported the
     * plan version of the placements in force (all ranks equal, switching exactly at effective
     * iterations), and that each layer's worker times ran and migrated exactly then.
     */
    void assertConsistent(int iterations) {
      assertConsistent(iterations, 1);
    }

    /** As {@link #assertConsistent(int)}, for ranks spread over {@code executors} processes. */
    void assertConsistent(int iterations, int executors) {
      Map<String, PlanDecision> decisions = decisions(iterations);
      assertThat(decisions).hasSizeGreaterThanOrEqualTo(iterations / WINDOW * LAYERS);
      assertThat(decisions.values())
          .anySatisfy(d -> assertThat(d.getAction()).isEqualTo(DecisionAction.SWITCH));
      KafkaIo io = new KafkaIo(broker);
      List<ExpertLoad> loads =
          io.readAtLeast(topics.loads(), Topics.EXPERT_LOAD, iterations * RANKS);
      Map<Long, List<ExpertLoad>> byIteration =
          loads.stream()
              .collect(
                  Collectors.groupingBy(
                      ExpertLoad::getIteration, TreeMap::new, Collectors.toList()));
      assertThat(byIteration).hasSize(iterations);
      for (Map.Entry<Long, List<ExpertLoad>> entry : byIteration.entrySet()) {
        long iteration = entry.getKey();
        long expected = 0;
        for (int layer = 0; layer < LAYERS; layer++) {
          expected += InForce.planVersion(decisions.values(), layer, iteration);
        }
        assertThat(entry.getValue())
            .extracting(ExpertLoad::getRank)
            .containsExactlyInAnyOrder(0, 1, 2, 3);
        long version = expected;
        assertThat(entry.getValue())
            .as("plan version of every rank at iteration %d", iteration)
            .allSatisfy(load -> assertThat(load.getPlanVersion()).isEqualTo(version));
      }
      String timesTopic = TopicNames.DEFAULT.prefixed(prefixOf(topics)).workerTimes();
      List<WorkerTimes> times =
          io.readAtLeast(timesTopic, Topics.WORKER_TIMES, iterations * LAYERS * executors);
      assertThat(times).hasSize(iterations * LAYERS * executors);
      for (WorkerTimes t : times) {
        long inForce = InForce.planVersion(decisions.values(), t.getLayer(), t.getIteration());
        assertThat(t.getPlanVersion())
            .as("layer %d at iteration %d", t.getLayer(), t.getIteration())
            .isEqualTo(inForce);
        boolean switchedHere =
            decisions.values().stream()
                .anyMatch(
                    d ->
                        d.getLayer() == t.getLayer()
                            && d.getEffectiveIteration() == t.getIteration()
                            && d.getAction() == DecisionAction.SWITCH);
        assertThat(t.getMigratedBytes() > 0)
            .as("migration of layer %d at iteration %d", t.getLayer(), t.getIteration())
            .isEqualTo(switchedHere);
        assertThat(t.getWorkers()).allSatisfy(w -> assertThat(w.getComputeSeconds()).isPositive());
      }
    }

    private static String prefixOf(TestTopics topics) {
      return topics
          .loads()
          .substring(0, topics.loads().length() - Topics.EXPERT_LOAD.name().length() - 1);
    }
  }
}
