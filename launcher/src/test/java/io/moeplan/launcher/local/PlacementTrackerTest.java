package io.moeplan.launcher.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.launcher.CpuExecutorPool;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.Topics;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PlacementTrackerTest {

  private static final String JOB = "tracked";

  private final Pool pool =
      CpuExecutorPool.withDefaultDims(
              SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class),
              SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class).withMoeLayers(2))
          .search(PoolOptions.defaults(), null);

  /** The tracker of the pool as its published record reads back. */
  private PlacementTracker tracker() {
    return new PlacementTracker(
        PoolRecords.fromRecord(PoolRecords.toRecord(pool, JOB, Instant.now(), "test")));
  }

  @Test
  void appliesEachSwitchOnceFromItsEffectiveIteration() {
    PlacementTracker tracker = tracker();
    PlanDecision toStatic = decision(1, 0, DecisionAction.SWITCH, 11, staticLayout());
    PlanDecision keep = decision(0, 0, DecisionAction.KEEP, 11, pool.startingPlacement(0));

    assertThat(tracker.offer(toStatic)).isTrue();
    assertThat(tracker.offer(toStatic)).as("a redelivery").isFalse();
    assertThat(tracker.offer(keep)).isTrue();
    assertThat(tracker.applyDue(10)).isEmpty();
    assertThat(tracker.applyDue(11)).containsExactly(toStatic);
    assertThat(tracker.decisions()).isEqualTo(2);
    assertThat(tracker.planVersion()).isEqualTo(1);
    assertThat(tracker.lateSwitches()).isZero();

    PlanDecision late = decision(0, 1, DecisionAction.SWITCH, 21, staticLayout());
    tracker.offer(late);
    assertThat(tracker.applyDue(25)).containsExactly(late);
    assertThat(tracker.lateSwitches()).isEqualTo(1);
  }

  @Test
  void modelsTheStartingPlacementsAgainstTheStaticLayout() {
    PlacementTracker tracker = tracker();
    int ranks = 8;
    int layers = pool.model().moeLayers();
    int experts = pool.model().expertCount();
    long[][][] skewed = new long[ranks][layers][experts];
    for (long[][] rank : skewed) {
      for (long[] layer : rank) {
        Arrays.fill(layer, 1);
        layer[0] = 400;
        layer[1] = 200;
      }
    }

    assertThat(tracker.speedupOverStatic()).isEqualTo(1.0);
    tracker.account(skewed);
    assertThat(tracker.speedupOverStatic()).isGreaterThan(0).isFinite();
  }

  private Placement staticLayout() {
    Placement start = pool.startingPlacement(0);
    return Placement.staticLayout(
        start.workerCount(), start.slotsPerWorker(), pool.model().expertCount());
  }

  private PlanDecision decision(
      int layer, long window, DecisionAction action, long effective, Placement placement) {
    return PlanDecision.newBuilder()
        .setDecisionId(Topics.decisionId(JOB, layer, window))
        .setJobId(JOB)
        .setLayer(layer)
        .setWindow(window)
        .setWindowFirstIteration(window * 10)
        .setWindowLastIteration(window * 10 + 9)
        .setEffectiveIteration(effective)
        .setAction(action)
        .setSlotToExpert(Arrays.stream(placement.slotToExpert()).boxed().toList())
        .setPlanVersion(action == DecisionAction.SWITCH ? 1 : 0)
        .setPoolVersion(pool.poolVersion())
        .setPredictedCurrentSeconds(0)
        .setPredictedNewSeconds(0)
        .setMigrationBytes(0)
        .setMigrationSeconds(0)
        .setRanksReported(8)
        .setReason("test")
        .build();
  }
}
