package io.moeplan.executor.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.executor.backend.SlotState;
import io.moeplan.planner.placement.Placement;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerKey;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.WorkerTime;
import io.moeplan.schemas.WorkerTimes;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

class ExecutorTest {

  private static final String JOB = "job";
  private static final ExecutorSettings SETTINGS =
      ExecutorSettings.defaults(JOB, 4)
          .withDims(new ExecutorSettings.DimOverrides(32, 48, 16))
          .withWindow(4, 2, Duration.ofSeconds(5))
          .withIterations(0, 12)
          .withSeed(3);
  private static final Placement LAYER1_START = placement(3, 0, 1, 2);
  private static final Placement LAYER1_NEXT = placement(1, 2, 3, 0);

  private final ConcurrentLinkedQueue<PlanDecision> queue = new ConcurrentLinkedQueue<>();
  private final TestingSink sink = new TestingSink();
  private final ByteArrayOutputStream console = new ByteArrayOutputStream();

  @Test
  void everyRankSwitchesAtTheEffectiveIterationAndSlotsHoldTheirNewExperts() throws Exception {
    queue.addAll(
        List.of(
            keep(0, 0, SampleRecords.planPool(JOB).getPlans().get(0), 0),
            decision(1, 0, DecisionAction.SWITCH, LAYER1_NEXT, 1),
            keep(0, 1, SampleRecords.planPool(JOB).getPlans().get(0), 0),
            decision(1, 1, DecisionAction.KEEP, LAYER1_NEXT, 1)));
    try (Executor executor = executor(SETTINGS)) {
      List<IterationReport> reports = new ArrayList<>();
      assertThat(executor.run(reports::add)).isEqualTo(12);

      assertThat(sink.loads).hasSize(4 * 12);
      for (ExpertLoad load : sink.loads) {
        assertThat(load.getPlanVersion())
            .as("rank %d at iteration %d", load.getRank(), load.getIteration())
            .isEqualTo(load.getIteration() < 5 ? 0 : 1);
        long assignments =
            load.getLayers().get(0).getExpertCounts().stream().mapToLong(Long::longValue).sum();
        assertThat(assignments).isEqualTo(16 * 2);
      }
      assertThat(reports.get(5).applied())
          .singleElement()
          .satisfies(
              applied -> {
                assertThat(applied.change().layer()).isEqualTo(1);
                assertThat(applied.migration().bytes()).isEqualTo(4 * 12L * 2 * 32 * 48);
              });
      assertThat(reports).filteredOn(r -> !r.applied().isEmpty()).hasSize(1);
      IterationReport switched = reports.get(5);
      double paid = switched.applied().get(0).migration().paidMillis();
      assertThat(paid).isPositive();
      assertThat(switched.migrationPaidMillis()).isEqualTo(paid);
      assertThat(switched.stepMillis()).isEqualTo(switched.maxWorkerMillis() + paid);
      assertThat(reports.get(6).migrationPaidMillis()).isZero();
      assertThat(reports.get(6).stepMillis()).isEqualTo(reports.get(6).maxWorkerMillis());
      for (WorkerTimes times : sink.times) {
        if (times.getLayer() == 1) {
          assertThat(times.getPlanVersion()).isEqualTo(times.getIteration() < 5 ? 0 : 1);
          assertThat(times.getMigratedBytes() > 0).isEqualTo(times.getIteration() == 5);
          // every worker got two new experts at iteration 5, and reports its own share
          assertThat(times.getWorkers())
              .allSatisfy(
                  w -> {
                    assertThat(w.getMigratedBytes())
                        .isEqualTo(times.getIteration() == 5 ? 2 * 12L * 2 * 32 * 48 : 0);
                    assertThat(w.getMigrationSeconds() > 0).isEqualTo(times.getIteration() == 5);
                  });
        }
        assertThat(times.getWorkers()).hasSize(2);
        assertThat(times.getWorkers().stream().mapToLong(WorkerTime::getTokens).sum())
            .isEqualTo(4 * 16 * 2);
        assertThat(times.getWorkers())
            .allSatisfy(w -> assertThat(w.getComputeSeconds()).isPositive());
      }
      for (int slot = 0; slot < 4; slot++) {
        SlotState expected = executor.initialState(1, LAYER1_NEXT.expertAt(slot));
        assertThat(executor.backend(1).readSlot(slot).master()).isEqualTo(expected.master());
        assertThat(executor.backend(1).readSlot(slot).adamV()).isEqualTo(expected.adamV());
      }
      assertThat(console.toString(StandardCharsets.UTF_8))
          .contains("applied job/1/0 at iteration 5 on ranks 0-3: layer 1 -> v1, 4 slots");
    }
  }

  @Test
  void aLayerWhoseDecisionTimesOutKeepsItsPlacementAndRanksReportTheVersionRun() throws Exception {
    Placement layer0Next = placement(1, 0, 3, 2);
    queue.add(decision(0, 0, DecisionAction.SWITCH, layer0Next, 1));
    try (Executor executor =
        executor(SETTINGS.withWindow(4, 2, Duration.ofMillis(50)).withIterations(0, 8))) {
      executor.run(report -> {});

      assertThat(executor.follower().placement(0)).isEqualTo(layer0Next);
      assertThat(executor.follower().placement(1)).isEqualTo(LAYER1_START);
      assertThat(executor.follower().timeouts()).isEqualTo(1);
      assertThat(sink.loads)
          .filteredOn(load -> load.getIteration() >= 5)
          .allSatisfy(load -> assertThat(load.getPlanVersion()).isEqualTo(1));
      assertThat(sink.times)
          .filteredOn(t -> t.getLayer() == 1)
          .allSatisfy(t -> assertThat(t.getPlanVersion()).isZero());
      assertThat(console.toString(StandardCharsets.UTF_8))
          .contains("decision for window 0 of layer 1 did not arrive within 50 ms: placement v0");
    }
  }

  @Test
  void decisionsOfAJobWithAnotherWindowAreNotAppliedAndTheErrorIsPrintedOnce() throws Exception {
    // the job decides on windows of 8 with lead 2: its window 0 takes effect at 9, which this
    // executor (windows of 4) would take for its window 1
    for (int layer = 0; layer < 2; layer++) {
      queue.add(
          PlanDecision.newBuilder(decision(layer, 0, DecisionAction.SWITCH, LAYER1_NEXT, 1))
              .setWindowFirstIteration(0)
              .setWindowLastIteration(7)
              .setEffectiveIteration(9)
              .setWorkers(2)
              .setSlotsPerWorker(2)
              .setWindowIterations(8)
              .setLeadIterations(2)
              .build());
    }
    try (Executor executor = executor(SETTINGS.withIterations(0, 12))) {
      executor.run(report -> {});

      assertThat(executor.follower().timingMismatches()).isEqualTo(2);
      assertThat(executor.follower().switchesApplied()).isZero();
      assertThat(executor.follower().placement(1)).isEqualTo(LAYER1_START);
      assertThat(sink.loads).allSatisfy(load -> assertThat(load.getPlanVersion()).isZero());
      String printed = console.toString(StandardCharsets.UTF_8);
      String error =
          "ERROR: decisions not applied: decisions of job 'job' take effect with"
              + " --window-iterations 8 --lead-iterations 2, this executor runs 4 and 2: restart"
              + " it with the job's settings";
      assertThat(printed).contains(error);
      assertThat(printed.indexOf(error)).isEqualTo(printed.lastIndexOf(error));
    }
  }

  @Test
  void aRestartedExecutorResumesOnThePlacementOfTheLatestDecisions() throws Exception {
    queue.addAll(
        List.of(
            keep(0, 0, SampleRecords.planPool(JOB).getPlans().get(0), 0),
            decision(1, 0, DecisionAction.SWITCH, LAYER1_NEXT, 1)));
    try (Executor executor = executor(SETTINGS.withIterations(7, 1))) {
      executor.run(report -> {});

      assertThat(executor.follower().placement(1)).isEqualTo(LAYER1_NEXT);
      assertThat(sink.loads).allSatisfy(load -> assertThat(load.getPlanVersion()).isEqualTo(1));
      for (int slot = 0; slot < 4; slot++) {
        assertThat(executor.backend(1).readSlot(slot).master())
            .isEqualTo(executor.initialState(1, LAYER1_NEXT.expertAt(slot)).master());
      }
    }
  }

  @Test
  void theSyntheticGateSkewsEachRanksRoutingAndTheSameSeedRepeatsIt() throws Exception {
    List<ExpertLoad> first;
    try (Executor executor = executor(SETTINGS.withWindow(100, 2, Duration.ZERO))) {
      executor.run(report -> {});
      first = List.copyOf(sink.loads);
    }
    sink.loads.clear();
    try (Executor executor = executor(SETTINGS.withWindow(100, 2, Duration.ZERO))) {
      executor.run(report -> {});
    }
    assertThat(sink.loads)
        .extracting(ExpertLoad::getLayers)
        .isEqualTo(first.stream().map(ExpertLoad::getLayers).toList());
    long[] counts =
        first.get(0).getLayers().get(0).getExpertCounts().stream()
            .mapToLong(Long::longValue)
            .toArray();
    long max = Arrays.stream(counts).max().orElseThrow();
    assertThat(max).as("the favourite expert's share of 32 assignments").isGreaterThan(32 / 4);
  }

  @Test
  void withPipelineStagesEachRankReportsTheLayersOfItsStage() throws Exception {
    // two stages over the job's 4 ranks: ranks 0-1 report layer 0, ranks 2-3 layer 1
    PlanPool pool = SampleRecords.planPool(JOB);
    pool.getPlans().get(0).getParallel().setPp(2);
    pool.getPlans().get(0).getParallel().setDp(2);
    try (Executor executor = executor(SETTINGS.withIterations(0, 3), pool)) {
      executor.run(report -> {});
    }

    assertThat(sink.loads).hasSize(4 * 3);
    assertThat(sink.loads)
        .allSatisfy(
            load ->
                assertThat(load.getLayers())
                    .extracting(LayerLoad::getLayer)
                    .as("layers of rank %d", load.getRank())
                    .containsExactly(load.getRank() < 2 ? 0 : 1));
  }

  @Test
  void refusesAJobWhoseRanksDoNotSplitIntoThePoolsStages() {
    PlanPool pool = SampleRecords.planPool(JOB);
    pool.getPlans().get(0).getParallel().setPp(3);

    assertThatThrownBy(() -> executor(SETTINGS, pool))
        .hasMessage("a job of 4 ranks cannot run 3 pipeline stages");
  }

  private Executor executor(ExecutorSettings settings) throws Exception {
    return executor(settings, SampleRecords.planPool(JOB));
  }

  private Executor executor(ExecutorSettings settings, PlanPool pool) throws Exception {
    ExecutorModel model = ExecutorModel.of(pool, settings.dims());
    return new Executor(
        settings,
        model,
        maxWait -> {
          List<PlanDecision> out = new ArrayList<>();
          for (PlanDecision d = queue.poll(); d != null; d = queue.poll()) {
            out.add(d);
          }
          return out;
        },
        sink,
        new PrintStream(console, true, StandardCharsets.UTF_8));
  }

  private static PlanDecision keep(int layer, long window, io.moeplan.schemas.Plan plan, long v) {
    int[] slots =
        plan.getLayers().get(layer).getSlotToExpert().stream()
            .mapToInt(Integer::intValue)
            .toArray();
    return decision(layer, window, DecisionAction.KEEP, placement(slots), v);
  }

  private static PlanDecision decision(
      int layer, long window, DecisionAction action, Placement placement, long version) {
    return PlanDecision.newBuilder()
        .setDecisionId(new LayerKey(JOB, layer).decisionId(window))
        .setJobId(JOB)
        .setLayer(layer)
        .setWindow(window)
        .setWindowFirstIteration(DecisionWindows.firstIteration(window, 4))
        .setWindowLastIteration(DecisionWindows.lastIteration(window, 4))
        .setEffectiveIteration(DecisionWindows.effectiveIteration(window, 4, 2))
        .setAction(action)
        .setSlotToExpert(Arrays.stream(placement.slotToExpert()).boxed().toList())
        .setPlanVersion(version)
        .setPoolVersion(3)
        .setPredictedCurrentSeconds(0)
        .setPredictedNewSeconds(0)
        .setMigrationBytes(0)
        .setMigrationSeconds(0)
        .setRanksReported(4)
        .setReason("test")
        .build();
  }

  /** A placement on the sample pool's 2 workers x 2 slots of 4 experts. */
  private static Placement placement(int... slotToExpert) {
    return Placement.of(slotToExpert, 2, 2, 4);
  }

  /** Collects what an executor publishes. */
  private static final class TestingSink implements ExecutorSink {
    final List<ExpertLoad> loads = new ArrayList<>();
    final List<WorkerTimes> times = new ArrayList<>();

    @Override
    public void expertLoad(ExpertLoad load) {
      loads.add(load);
    }

    @Override
    public void workerTimes(WorkerTimes t) {
      times.add(t);
    }

    @Override
    public void flush() {}
  }
}
