package io.moeplan.executor.backend;

import static io.moeplan.executor.backend.MoeFixtures.loadExperts;
import static io.moeplan.executor.backend.MoeFixtures.randomGate;
import static io.moeplan.executor.backend.MoeFixtures.shape;
import static io.moeplan.executor.backend.MoeFixtures.slots;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.planner.placement.Placement;
import java.util.Arrays;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

class CpuMoeLayerTest {

  private static final LayerShape SHAPE = shape(16, 32, 4, 2);
  private static final SlotLayout LAYOUT = new SlotLayout(3, 2);

  @RepeatedTest(5)
  void forwardEqualsTheWeightedSumOfEachTokensExpertFfns(RepetitionInfo repetition) {
    long seed = 100L * repetition.getCurrentRepetition();
    Placement placement = slots(LAYOUT, 4, 0, 1, 2, 3, 0, 0);
    try (CpuMoeLayer layer = layer(placement, seed)) {
      TokenBatch batch = TokenBatch.random(3, 7, SHAPE.hidden(), seed + 1);
      Routing routing = layer.route(batch);

      LayerStep step = layer.forward(batch, routing, placement);

      float[] expected = new float[batch.tokens() * SHAPE.hidden()];
      for (int t = 0; t < batch.tokens(); t++) {
        float[] xt = Arrays.copyOfRange(batch.embeddings(), t * 16, t * 16 + 16);
        for (int j = 0; j < SHAPE.topK(); j++) {
          int e = routing.experts()[t * 2 + j];
          float[] y = Reference.expertFfn(xt, SlotState.random(SHAPE, seed + e).master(), SHAPE);
          for (int h = 0; h < 16; h++) {
            expected[t * 16 + h] += routing.weights()[t * 2 + j] * y[h];
          }
        }
      }
      assertThat(Reference.relativeError(step.output(), expected)).isLessThan(1e-6);
      assertThat(step.output()).doesNotContain(0f);
    }
  }

  @Test
  void outputDoesNotDependOnWhichReplicaServesAToken() {
    Placement single = slots(LAYOUT, 4, 0, 1, 2, 3, 1, 2);
    Placement replicated = slots(LAYOUT, 4, 0, 0, 1, 2, 3, 0);
    TokenBatch batch = TokenBatch.random(3, 11, SHAPE.hidden(), 5);
    try (CpuMoeLayer a = layer(single, 9);
        CpuMoeLayer b = layer(replicated, 9)) {
      Routing routing = a.route(batch);

      LayerStep one = a.forward(batch, routing, single);
      LayerStep many = b.forward(batch, routing, replicated);

      assertThat(many.output()).containsExactly(one.output());
      int expert0 = Arrays.stream(routing.experts()).map(e -> e == 0 ? 1 : 0).sum();
      assertThat(many.slotTokens()[0] + many.slotTokens()[1] + many.slotTokens()[5])
          .isEqualTo(expert0);
    }
  }

  @RepeatedTest(5)
  void routingChoosesDistinctExpertsWhoseWeightsSumToOne(RepetitionInfo repetition) {
    try (CpuMoeLayer layer = layer(LAYOUT.staticPlacement(4), repetition.getCurrentRepetition())) {
      Routing routing = layer.route(TokenBatch.random(2, 9, 16, repetition.getCurrentRepetition()));

      for (int t = 0; t < routing.tokens(); t++) {
        assertThat(routing.experts()[2 * t]).isNotEqualTo(routing.experts()[2 * t + 1]);
        assertThat(routing.weights()[2 * t]).isGreaterThanOrEqualTo(routing.weights()[2 * t + 1]);
        assertThat(routing.weights()[2 * t] + routing.weights()[2 * t + 1])
            .isCloseTo(1f, within(1e-6f));
      }
    }
  }

  @Test
  void countsGiveEachRankTopKAssignmentsPerToken() {
    Placement placement = LAYOUT.staticPlacement(4);
    try (CpuMoeLayer layer = layer(placement, 3)) {
      TokenBatch batch = TokenBatch.random(3, 5, 16, 4);

      LayerStep step = layer.forward(batch, layer.route(batch), placement);

      for (int r = 0; r < 3; r++) {
        int sum = 0;
        for (int e = 0; e < 4; e++) {
          sum += step.counts().count(r, e);
        }
        assertThat(sum).isEqualTo(5 * 2);
      }
      assertThat(step.workerMillis()).hasSize(3);
      assertThat(java.util.Arrays.stream(step.workerMillis()).min().orElseThrow()).isNotNegative();
    }
  }

  @Test
  void copySlotMovesWeightsAndBothAdamMoments() {
    Placement placement = LAYOUT.staticPlacement(4);
    try (CpuMoeLayer layer = layer(placement, 21)) {
      SlotState source = layer.readSlot(1);

      CopyReport report = layer.copySlot(1, 4);

      SlotState copied = layer.readSlot(4);
      assertThat(copied.master()).containsExactly(source.master());
      assertThat(copied.adamM()).containsExactly(source.adamM());
      assertThat(copied.adamV()).containsExactly(source.adamV());
      assertThat(report.bytes()).isEqualTo(12L * SHAPE.paramsPerExpert());
    }
  }

  @Test
  void copyingASlotOntoItselfMovesNothing() {
    try (CpuMoeLayer layer = layer(LAYOUT.staticPlacement(4), 1)) {
      assertThat(layer.copySlot(2, 2).bytes()).isZero();
    }
  }

  @Test
  void forwardRejectsAPlacementOfOtherSlotsOrExperts() {
    try (CpuMoeLayer layer = layer(LAYOUT.staticPlacement(4), 1)) {
      TokenBatch batch = TokenBatch.random(3, 2, 16, 1);
      Routing routing = layer.route(batch);

      assertThatThrownBy(() -> layer.forward(batch, routing, slots(0, 1, 2, 3, 0, 1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("on 1 workers x 6 slots does not fit")
          .hasMessageContaining("on 3 workers x 2 slots");
      assertThatThrownBy(
              () -> layer.forward(batch, routing, slots(new SlotLayout(3, 2), 5, 0, 1, 2, 3, 4, 0)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("placement of 5 experts");
    }
  }

  private static CpuMoeLayer layer(Placement placement, long seed) {
    CpuMoeLayer layer = new CpuMoeLayer(SHAPE, LAYOUT);
    layer.loadGate(randomGate(SHAPE, seed + 77));
    loadExperts(layer, placement, seed);
    return layer;
  }
}
