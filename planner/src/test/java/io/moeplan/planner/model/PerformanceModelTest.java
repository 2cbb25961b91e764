package io.moeplan.planner.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import org.junit.jupiter.api.Test;

/**
 * Hand-computed cases. The toy model: 2 GPUs per node, fixed 1 s per replica, 0.1 s per token, 1
 * byte per token, intra-node 10 B/s, inter-node 1 B/s, latency 0.5 s, 100 gradient bytes and 1000
 * migration bytes per expert.
 */
class PerformanceModelTest {
  static final PerformanceModel TOY =
      new PerformanceModel(2, 1.0, 0.1, 1.0, 10.0, 1.0, 0.5, 100.0, 1000L, 1.0);

  /** Workers 0,1 on node 0 and 2,3 on node 1; rows are source ranks, columns experts. */
  static final LoadMatrix LOAD =
      LoadMatrix.of(new long[][] {{10, 0, 0, 0}, {0, 0, 4, 0}, {2, 0, 0, 6}, {0, 0, 0, 0}});

  static final Placement STATIC = Placement.staticLayout(4, 1, 4);

  @Test
  void computeIsFixedPerReplicaPlusPerToken() {
    LayerCost cost = TOY.evaluate(STATIC, LOAD);

    // tokens per expert: 12, 0, 4, 6 -> 1 + 0.1 * tokens
    assertThat(cost.computeSeconds(0)).isCloseTo(2.2, within(1e-12));
    assertThat(cost.computeSeconds(1)).isCloseTo(1.0, within(1e-12));
    assertThat(cost.computeSeconds(2)).isCloseTo(1.4, within(1e-12));
    assertThat(cost.computeSeconds(3)).isCloseTo(1.6, within(1e-12));
    assertThat(cost.maxComputeSeconds()).isCloseTo(2.2, within(1e-12));
    assertThat(cost.computeCriticalWorker()).isZero();
  }

  @Test
  void allToAllSplitsIntraAndInterNodeBytesOfBothSides() {
    LayerCost cost = TOY.evaluate(STATIC, LOAD);

    // s0 -> e0 stays local; s1 -> e2 crosses nodes (4); s2 -> e0 crosses nodes (2);
    // s2 -> e3 stays in node 1 (6)
    assertThat(cost.sendInterBytes(1)).isEqualTo(4);
    assertThat(cost.recvInterBytes(2)).isEqualTo(4);
    assertThat(cost.sendInterBytes(2)).isEqualTo(2);
    assertThat(cost.recvInterBytes(0)).isEqualTo(2);
    assertThat(cost.sendIntraBytes(2)).isEqualTo(6);
    assertThat(cost.recvIntraBytes(3)).isEqualTo(6);
    // A = 4 * (latency + max(send, recv) intra / 10 + max(send, recv) inter / 1)
    assertThat(cost.allToAllSeconds(0)).isCloseTo(4 * (0.5 + 2), within(1e-12));
    assertThat(cost.allToAllSeconds(1)).isCloseTo(4 * (0.5 + 4), within(1e-12));
    assertThat(cost.allToAllSeconds(2)).isCloseTo(4 * (0.5 + 0.6 + 4), within(1e-12));
    assertThat(cost.allToAllSeconds(3)).isCloseTo(4 * (0.5 + 0.6), within(1e-12));
  }

  @Test
  void layerTimeIsMaxAllToAllPlusMaxComputePlusSync() {
    LayerCost cost = TOY.evaluate(STATIC, LOAD);

    assertThat(cost.syncSeconds()).isZero();
    assertThat(cost.totalSeconds()).isCloseTo(20.4 + 2.2, within(1e-12));
  }

  @Test
  void replicasSplitTokensEvenlyAndPayGradientSync() {
    LoadMatrix load = LoadMatrix.of(new long[][] {{10, 0, 0}, {0, 0, 0}, {0, 0, 0}, {6, 0, 0}});
    Placement acrossNodes = Placement.of(new int[] {0, 1, 2, 0}, 4, 1, 3);

    LayerCost cost = TOY.evaluate(acrossNodes, load);

    // expert 0 on workers 0 and 3, 8 tokens each
    assertThat(cost.workerTokens(0)).isEqualTo(8);
    assertThat(cost.workerTokens(3)).isEqualTo(8);
    assertThat(cost.computeSeconds(3)).isCloseTo(1.8, within(1e-12));
    // s0 sends 5 to worker 3 and receives 3 from s3, all across nodes
    assertThat(cost.allToAllSeconds(0)).isCloseTo(4 * (0.5 + 5), within(1e-12));
    // 2 (r-1)/r * 100 bytes over the inter-node 1 B/s
    assertThat(cost.syncSeconds()).isCloseTo(100, within(1e-12));
  }

  @Test
  void syncInsideANodeUsesTheIntraNodeBandwidth() {
    LoadMatrix load = LoadMatrix.of(new long[][] {{10, 1, 1}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}});

    LayerCost cost = TOY.evaluate(Placement.of(new int[] {0, 0, 1, 2}, 4, 1, 3), load);

    assertThat(cost.syncSeconds()).isCloseTo(10, within(1e-12));
  }

  @Test
  void switchInsideANodeMovesStateOverTheIntraNodeBandwidth() {
    SwitchCost cost = TOY.switchCost(STATIC, Placement.of(new int[] {1, 0, 2, 3}, 4, 1, 4));

    assertThat(cost.bytes()).isEqualTo(2000);
    assertThat(cost.replicasMoved()).isEqualTo(2);
    assertThat(cost.seconds()).isCloseTo(100, within(1e-12));
  }

  @Test
  void switchAcrossNodesMovesStateOverTheInterNodeBandwidth() {
    SwitchCost cost = TOY.switchCost(STATIC, Placement.of(new int[] {2, 1, 0, 3}, 4, 1, 4));

    assertThat(cost.seconds()).isCloseTo(1000, within(1e-12));
  }

  @Test
  void newReplicaCopiesFromTheCheapestExistingReplica() {
    Placement from = Placement.of(new int[] {0, 1, 2, 0}, 4, 1, 3);
    Placement to = Placement.of(new int[] {0, 1, 2, 2}, 4, 1, 3);

    SwitchCost cost = TOY.switchCost(from, to);

    // worker 3 gets expert 2 from worker 2 on its own node
    assertThat(cost.bytes()).isEqualTo(1000);
    assertThat(cost.seconds()).isCloseTo(100, within(1e-12));
    assertThat(TOY.switchCost(from, from)).isEqualTo(SwitchCost.NONE);
  }

  @Test
  void computeSecondsIsFixedPerSlotPlusPerToken() {
    assertThat(TOY.computeSeconds(3, 20)).isCloseTo(3 * 1.0 + 20 * 0.1, within(1e-12));
    assertThat(TOY.computeSeconds(0, 0)).isZero();
  }

  @Test
  void aMeasuredMigrationBandwidthPricesEveryReplicaAlikeWhereverItComesFrom() {
    Placement from = Placement.staticLayout(4, 2, 8);
    // worker 0 gets experts 4 and 5 from node 1, worker 1 gets 0 and 1 from its own node,
    // worker 2 gets 2 and 3 from node 0
    Placement to = Placement.of(new int[] {4, 5, 0, 1, 2, 3, 6, 7}, 4, 2, 8);

    assertThat(TOY.migrationBandwidth()).isZero();
    assertThat(TOY.switchCost(from, to).seconds()).isCloseTo(2 * 1000 / 1.0, within(1e-9));

    PerformanceModel measured = TOY.withMigrationBandwidth(250);
    SwitchCost cost = measured.switchCost(from, to);
    assertThat(measured.migrationBandwidth()).isEqualTo(250);
    assertThat(cost.seconds()).isCloseTo(2 * 1000 / 250.0, within(1e-12));
    assertThat(cost.bytes()).isEqualTo(6000);
    assertThat(cost.replicasMoved()).isEqualTo(6);
    // a copy inside a node costs the same as one across nodes
    assertThat(measured.replicaMigrationSeconds(true)).isCloseTo(4, within(1e-12));
    assertThat(measured.replicaMigrationSeconds(false)).isCloseTo(4, within(1e-12));
    assertThat(measured.switchCost(STATIC, Placement.of(new int[] {1, 0, 2, 3}, 4, 1, 4)).seconds())
        .isCloseTo(4, within(1e-12));
    assertThat(measured.toString()).contains("migration=250B/s");

    PerformanceModel restored = measured.withMigrationBandwidth(0);
    assertThat(restored.switchCost(from, to).seconds()).isCloseTo(2000, within(1e-9));
    assertThat(restored.replicaMigrationSeconds(true)).isCloseTo(100, within(1e-12));
    assertThat(restored.replicaMigrationSeconds(false)).isCloseTo(1000, within(1e-12));
    assertThat(restored.toString()).contains("migration=uncalibrated");
  }

  @Test
  void refittedConstantsKeepTheMeasuredMigrationBandwidth() {
    PerformanceModel refit = TOY.withMigrationBandwidth(250).withConstants(2.0, 0.2, 1.5);

    assertThat(refit.migrationBandwidth()).isEqualTo(250);
    assertThat(refit.fixedSeconds()).isEqualTo(2.0);
    assertThat(refit.commScale()).isEqualTo(1.5);
  }

  @Test
  void aMigrationBandwidthMustBeFiniteAndNotNegative() {
    assertThatThrownBy(() -> TOY.withMigrationBandwidth(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("migrationBandwidth");
    assertThatThrownBy(() -> TOY.withMigrationBandwidth(Double.POSITIVE_INFINITY))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("migrationBandwidth");
    assertThatThrownBy(() -> TOY.withMigrationBandwidth(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("migrationBandwidth");
  }

  @Test
  void specsGiveTheDocumentedConstants() {
    PerformanceModel model =
        PerformanceModel.of(
            ClusterSpec.h100(2, 4), ModelSpec.gptMoe(), ParallelConfig.expertParallel(8, 4));

    assertThat(model.perTokenSeconds()).isCloseTo(0.44e-6, within(1e-12));
    assertThat(model.fixedSeconds()).isEqualTo(0.6e-3);
    assertThat(model.migrationBytesPerExpert()).isEqualTo(2L * 2560 * 10240 * 14);
    assertThat(model.syncBytesPerExpert()).isEqualTo(2.0 * 2560 * 10240 * 2);
    assertThat(model.nodeOf(3)).isZero();
    assertThat(model.nodeOf(4)).isEqualTo(1);
  }
}
