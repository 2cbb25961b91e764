package io.moeplan.planner.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import org.junit.jupiter.api.Test;

class BaselinePoliciesTest {
  private static final PerformanceModel MODEL =
      PerformanceModel.of(
          ClusterSpec.h100(1, 2),
          ModelSpec.gptMoe().withExpertCount(4),
          ParallelConfig.expertParallel(2, 2));

  /** Experts 0 and 1 (both on worker 0 in the static layout) are hot. */
  private static final LoadMatrix SKEWED =
      LoadMatrix.of(new long[][] {{4000, 3000, 100, 200}, {3000, 4000, 200, 100}});

  @Test
  void staticNeverSwitches() {
    Decision d = new StaticPolicy(MODEL).decide(Placement.staticLayout(2, 2, 4), SKEWED);

    assertThat(d.action()).isEqualTo(DecisionAction.KEEP);
    assertThat(d.placement()).isEqualTo(Placement.staticLayout(2, 2, 4));
  }

  @Test
  void smartMoeSwitchesWhenTheMaximumTokenCountStrictlyDrops() {
    Decision d = new SmartMoePolicy(MODEL).decide(Placement.staticLayout(2, 2, 4), SKEWED);

    assertThat(d.action()).isEqualTo(DecisionAction.SWITCH);
    assertThat(d.placement().workerHolds(0, 0)).isNotEqualTo(d.placement().workerHolds(0, 1));
    assertThat(d.migrationBytes()).isEqualTo(2 * MODEL.migrationBytesPerExpert());
    assertThat(d.predictedNewSeconds()).isLessThan(d.predictedCurrentSeconds());
  }

  @Test
  void smartMoeKeepsABalancedPlacement() {
    Placement balanced = Placement.of(new int[] {0, 2, 1, 3}, 2, 2, 4);

    Decision d = new SmartMoePolicy(MODEL).decide(balanced, SKEWED);

    assertThat(d.action()).isEqualTo(DecisionAction.KEEP);
    assertThat(d.migrationBytes()).isZero();
  }

  @Test
  void eplbReplicatesTheHotExpertIntoSpareSlots() {
    Placement start = Placement.staticLayout(2, 3, 4);
    LoadMatrix hot = LoadMatrix.of(new long[][] {{9000, 100, 100, 100}, {9000, 100, 100, 100}});

    Decision d = new EplbPolicy(MODEL).decide(start, hot);

    // both spare slots go to expert 0: 18000 / 2 replicas still beats 200 tokens
    assertThat(d.placement().replicaCount(0)).isEqualTo(3);
    assertThat(d.placement().workerHolds(0, 0)).isTrue();
    assertThat(d.placement().workerHolds(1, 0)).isTrue();
  }
}
