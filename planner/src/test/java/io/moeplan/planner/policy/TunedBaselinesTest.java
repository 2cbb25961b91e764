package io.moeplan.planner.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The knobs of the baselines: EPLB's interval and window, the thresholds of SmartMoE, FlexMoE. */
class TunedBaselinesTest {
  private static final PerformanceModel MODEL =
      PerformanceModel.of(
          ClusterSpec.h100(1, 2),
          ModelSpec.gptMoe().withExpertCount(4),
          ParallelConfig.expertParallel(2, 2));

  private static final PerformanceModel MODEL_4X2 =
      PerformanceModel.of(
          ClusterSpec.h100(1, 4),
          ModelSpec.gptMoe().withExpertCount(8),
          ParallelConfig.expertParallel(4, 2));

  /** Experts 0 and 1 (both on worker 0 in the static layout) are hot. */
  private static final LoadMatrix SKEWED =
      LoadMatrix.of(new long[][] {{4000, 3000, 100, 200}, {3000, 4000, 200, 100}});

  private static LoadMatrix oneRank(long... tokens) {
    return LoadMatrix.of(new long[][] {tokens});
  }

  @Test
  void eplbRebalancesExactlyEveryIntervalFromTheWindowsMeanLoad() {
    // 8 experts on 4 workers x 2 slots; every window has a different hot pair
    List<LoadMatrix> loads = new ArrayList<>();
    for (int w = 0; w < 6; w++) {
      long[] t = new long[8];
      for (int e = 0; e < 8; e++) {
        t[e] = 100 + 10L * e;
      }
      t[w % 8] = 5000 + 700L * w;
      t[(3 * w + 1) % 8] += 3000;
      loads.add(oneRank(t));
    }
    EplbPolicy policy = new EplbPolicy(MODEL_4X2, 3, 2);
    Placement current = Placement.staticLayout(4, 2, 8);
    for (int w = 0; w < 6; w++) {
      Decision d = policy.decide(current, loads.get(w));
      boolean rebalances = (w + 1) % 3 == 0;
      if (!rebalances) {
        assertThat(d.action()).as("window %d", w).isEqualTo(DecisionAction.KEEP);
        assertThat(d.placement()).isEqualTo(current);
        assertThat(d.reason()).contains("next EPLB rebalance in " + (3 - (w + 1) % 3));
        continue;
      }
      double[] mean = new double[8];
      for (int e = 0; e < 8; e++) {
        mean[e] = (loads.get(w - 1).expertTotal(e) + loads.get(w).expertTotal(e)) / 2;
      }
      Placement expected = EplbPolicy.rebalance(current, mean, MODEL_4X2.gpusPerNode());
      Placement fromLatest =
          EplbPolicy.rebalance(current, loads.get(w).expertTotals(), MODEL_4X2.gpusPerNode());
      assertThat(expected.sameWorkerSets(fromLatest))
          .as("the test needs distinct layouts")
          .isFalse();
      assertThat(d.action()).as("window %d", w).isEqualTo(DecisionAction.SWITCH);
      assertThat(d.placement()).isEqualTo(expected);
      current = d.placement();
    }
  }

  @Test
  void eplbWithIntervalAndWindowOneIsTheEveryWindowPolicy() {
    Placement start = Placement.staticLayout(2, 2, 4);
    Decision plain = new EplbPolicy(MODEL).decide(start, SKEWED);
    Decision tuned = new EplbPolicy(MODEL, 1, 1).decide(start, SKEWED);

    assertThat(tuned).isEqualTo(plain);
    assertThat(plain.action()).isEqualTo(DecisionAction.SWITCH);
  }

  @Test
  void eplbRejectsAnEmptyIntervalOrWindow() {
    assertThatThrownBy(() -> new EplbPolicy(MODEL, 0, 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new EplbPolicy(MODEL, 1, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void smartMoeThresholdZeroSwitchesAndAHugeOneNever() {
    Placement start = Placement.staticLayout(2, 2, 4);

    Decision zero = new SmartMoePolicy(MODEL, 0).decide(start, SKEWED);
    Decision huge = new SmartMoePolicy(MODEL, 1e9).decide(start, SKEWED);

    assertThat(zero).isEqualTo(new SmartMoePolicy(MODEL).decide(start, SKEWED));
    assertThat(zero.action()).isEqualTo(DecisionAction.SWITCH);
    assertThat(huge.action()).isEqualTo(DecisionAction.KEEP);
    assertThat(huge.placement()).isEqualTo(start);
  }

  @Test
  void smartMoeThresholdIsTheRelativeDropOfTheLargestWorkerCount() {
    Placement start = Placement.staticLayout(2, 2, 4);
    double[] loads = SKEWED.expertTotals();
    double currentMax = GreedyPlacement.maxWorkerTokens(start, loads);
    double greedyMax = GreedyPlacement.maxWorkerTokens(GreedyPlacement.place(loads, start), loads);
    double drop = currentMax / greedyMax - 1;

    assertThat(new SmartMoePolicy(MODEL, drop * 0.99).decide(start, SKEWED).action())
        .isEqualTo(DecisionAction.SWITCH);
    assertThat(new SmartMoePolicy(MODEL, drop * 1.01).decide(start, SKEWED).action())
        .isEqualTo(DecisionAction.KEEP);
  }

  @Test
  void flexMoeDoesNothingAtOrBelowItsThreshold() {
    Placement start = Placement.staticLayout(2, 2, 4);
    double ratio = FlexMoePolicy.balanceRatio(start, SKEWED.expertTotals());
    // worker 0 holds 14000 tokens, worker 1 600: max / mean = 14000 / 7300
    assertThat(ratio).isCloseTo(14000.0 / 7300.0, org.assertj.core.data.Offset.offset(1e-12));

    Decision d = new FlexMoePolicy(MODEL, ratio).decide(start, SKEWED);

    assertThat(d.action()).isEqualTo(DecisionAction.KEEP);
    assertThat(d.placement()).isEqualTo(start);
    assertThat(d.reason()).contains("not above the threshold");
  }

  @Test
  void flexMoeAboveItsThresholdSwapsAHotExpertToTheLeastLoadedWorker() {
    Placement start = Placement.staticLayout(2, 2, 4);

    Decision d = new FlexMoePolicy(MODEL, 1.5).decide(start, SKEWED);

    assertThat(d.action()).isEqualTo(DecisionAction.SWITCH);
    // one swap: the hot experts 0 and 1 end up on different workers
    assertThat(d.placement().workerHolds(0, 0)).isNotEqualTo(d.placement().workerHolds(0, 1));
    assertThat(d.migrationBytes()).isEqualTo(2 * MODEL.migrationBytesPerExpert());
    assertThat(FlexMoePolicy.balanceRatio(d.placement(), SKEWED.expertTotals())).isLessThan(1.5);
  }

  @Test
  void flexMoeReplicatesAHotExpertIntoASpareSlot() {
    // 2 workers x 3 slots, 4 experts: experts 0 and 1 have 2 replicas each, expert 3 is hot
    Placement start = Placement.of(new int[] {0, 1, 3, 0, 2, 1}, 2, 3, 4);
    LoadMatrix hot = LoadMatrix.of(new long[][] {{300, 300, 300, 9000}});
    // worker 0: 150 + 150 + 9000, worker 1: 150 + 300 + 150; no swap lowers the peak, but giving
    // expert 0's replica on worker 1 to expert 3 halves it

    Decision d = new FlexMoePolicy(MODEL, 1.1).decide(start, hot);

    assertThat(d.action()).isEqualTo(DecisionAction.SWITCH);
    assertThat(d.placement().replicaCount(3)).isEqualTo(2);
    assertThat(d.placement().replicaCount(0)).isEqualTo(1);
    assertThat(d.placement().workerHolds(1, 3)).isTrue();
  }

  @Test
  void flexMoeRejectsANegativeThreshold() {
    assertThatThrownBy(() -> new FlexMoePolicy(MODEL, -1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SmartMoePolicy(MODEL, Double.NaN))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
