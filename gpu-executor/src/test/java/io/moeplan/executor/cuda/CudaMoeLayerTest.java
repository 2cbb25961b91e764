package io.moeplan.executor.cuda;

import static io.moeplan.executor.backend.MoeFixtures.loadExperts;
import static io.moeplan.executor.backend.MoeFixtures.randomGate;
import static io.moeplan.executor.backend.MoeFixtures.slots;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.moeplan.executor.backend.CpuMoeLayer;
import io.moeplan.executor.backend.LayerShape;
import io.moeplan.executor.backend.LayerStep;
import io.moeplan.executor.backend.Reference;
import io.moeplan.executor.backend.Routing;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.executor.backend.SlotState;
import io.moeplan.executor.backend.TokenBatch;
import io.moeplan.planner.placement.Placement;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The CUDA backend against the CPU reference; skipped where no CUDA device is usable. */
class CudaMoeLayerTest {

  private static final LayerShape SHAPE = new LayerShape(256, 512, 8, 2);
  private static final SlotLayout LAYOUT = new SlotLayout(4, 3);
  private static final Placement PLACEMENT = slots(LAYOUT, 8, 0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 3, 5);

  /** bf16 operands with fp32 accumulation land 1e-3 to 1e-2 from a higher-precision result. */
  private static final double BF16_TOLERANCE = 1e-2;

  @BeforeEach
  void requireDevice() {
    assumeTrue(CudaAvailability.available(), CudaAvailability.reason());
  }

  @Test
  void routingMatchesTheReferenceGate() {
    TokenBatch batch = TokenBatch.random(4, 101, SHAPE.hidden(), 1);
    try (CpuMoeLayer cpu = cpu(2);
        CudaMoeLayer gpu = gpu(2)) {
      Routing expected = cpu.route(batch);
      Routing actual = gpu.route(batch);

      assertThat(Reference.relativeError(actual.weights(), expected.weights())).isLessThan(1e-4);
      assertThat(agreement(actual.experts(), expected.experts())).isGreaterThan(0.99);
    }
  }

  @Test
  void forwardMatchesTheReferenceWithinBf16Tolerance() {
    TokenBatch batch = TokenBatch.random(4, 333, SHAPE.hidden(), 3);
    try (CpuMoeLayer cpu = cpu(4);
        CudaMoeLayer gpu = gpu(4)) {
      Routing routing = cpu.route(batch);

      LayerStep expected = cpu.forward(batch, routing, PLACEMENT);
      LayerStep actual = gpu.forward(batch, routing, PLACEMENT);

      assertThat(actual.counts().counts()).containsExactly(expected.counts().counts());
      assertThat(actual.slotTokens()).containsExactly(expected.slotTokens());
      assertThat(Reference.relativeError(actual.output(), expected.output()))
          .isLessThan(BF16_TOLERANCE);
      assertThat(actual.workerMillis()).hasSize(4);
      assertThat(java.util.Arrays.stream(actual.workerMillis()).min().orElseThrow()).isPositive();
    }
  }

  @Test
  void everyGemmVariantComputesTheSameLayer() {
    TokenBatch batch = TokenBatch.random(4, 97, SHAPE.hidden(), 6);
    try (CpuMoeLayer cpu = cpu(6);
        CudaMoeLayer gpu = gpu(6)) {
      Routing routing = cpu.route(batch);
      LayerStep expected = cpu.forward(batch, routing, PLACEMENT);

      for (GemmVariant variant : GemmVariant.values()) {
        gpu.useGemm(variant);
        LayerStep actual = gpu.forward(batch, routing, PLACEMENT);
        assertThat(Reference.relativeError(actual.output(), expected.output()))
            .as("%s", variant)
            .isLessThan(BF16_TOLERANCE);
      }
    }
  }

  @Test
  void copySlotMovesWeightsAndOptimizerStateOnTheDevice() {
    try (CudaMoeLayer gpu = gpu(5)) {
      SlotState source = gpu.readSlot(2);

      long bytes = gpu.copySlot(2, 9).bytes();

      SlotState copied = gpu.readSlot(9);
      assertThat(copied.master()).containsExactly(source.master());
      assertThat(copied.adamM()).containsExactly(source.adamM());
      assertThat(copied.adamV()).containsExactly(source.adamV());
      assertThat(bytes).isEqualTo(14L * SHAPE.paramsPerExpert());
    }
  }

  private static double agreement(int[] a, int[] b) {
    int same = 0;
    for (int i = 0; i < a.length; i++) {
      same += a[i] == b[i] ? 1 : 0;
    }
    return (double) same / a.length;
  }

  private static CpuMoeLayer cpu(long seed) {
    CpuMoeLayer layer = new CpuMoeLayer(SHAPE, LAYOUT);
    layer.loadGate(randomGate(SHAPE, seed));
    loadExperts(layer, PLACEMENT, seed);
    return layer;
  }

  private static CudaMoeLayer gpu(long seed) {
    CudaMoeLayer layer = new CudaMoeLayer(SHAPE, LAYOUT);
    layer.loadGate(randomGate(SHAPE, seed));
    loadExperts(layer, PLACEMENT, seed);
    return layer;
  }
}
