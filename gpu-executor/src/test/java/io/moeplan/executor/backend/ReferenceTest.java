package io.moeplan.executor.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ReferenceTest {

  @Test
  void gateLogitsMultiplyTokensByGateMatrix() {
    float[] x = {1, 2, 3, -1};
    float[] gate = {1, 0, 2, 0, 1, -1};

    float[] logits = Reference.gateLogits(x, 2, 2, gate, 3);

    assertThat(logits).containsExactly(1, 2, 0, 3, -1, 7);
  }

  @Test
  void softmaxTopKPicksTheMostProbableExpertsAndRenormalisesTheirWeights() {
    Routing r = Reference.softmaxTopK(new float[] {1, 3, 2}, 1, 3, 2);

    assertThat(r.experts()).containsExactly(1, 2);
    double e = Math.exp(-1);
    assertThat(r.weights()[0]).isCloseTo((float) (1 / (1 + e)), within(1e-6f));
    assertThat(r.weights()[1]).isCloseTo((float) (e / (1 + e)), within(1e-6f));
  }

  @Test
  void softmaxTopKBreaksTiesTowardsTheLowerExpertId() {
    Routing r = Reference.softmaxTopK(new float[] {1, 2, 2}, 1, 3, 1);

    assertThat(r.experts()).containsExactly(1);
    assertThat(r.weights()).containsExactly(1f);
  }

  @Test
  void rankCountsAttributeEachTokenToTheRankOwningIt() {
    Routing r = new Routing(4, 1, new int[] {0, 1, 1, 1}, new float[] {1, 1, 1, 1});

    ExpertCounts c = Reference.rankCounts(r, 2, 2, 2);

    assertThat(c).isEqualTo(new ExpertCounts(2, 2, new int[] {1, 1, 0, 2}));
    assertThat(c.totals()).containsExactly(1, 3);
  }

  @Test
  void geluFollowsTheTanhFormula() {
    assertThat(Reference.gelu(1f)).isCloseTo(0.841192f, within(1e-6f));
    assertThat(Reference.gelu(-1f)).isCloseTo(-0.158808f, within(1e-6f));
    assertThat(Reference.gelu(0f)).isZero();
  }

  @Test
  void expertFfnAppliesGeluBetweenTheTwoProjections() {
    LayerShape shape = new LayerShape(1, 2, 1, 1);
    float[] params = {1, -1, 2, 3};
    float[] x = {1};

    float[] y = Reference.expertFfn(x, params, shape);

    assertThat(y[0]).isCloseTo(2 * 0.841192f + 3 * -0.158808f, within(1e-5f));
  }

  @Test
  void matmulMultipliesRowMajorMatricesFromAnOffset() {
    float[] a = {1, 2, 3, 4};
    float[] b = {9, 9, 1, 0, 0, 1};

    float[] c = Reference.matmul(a, b, 2, new Reference.GemmDims(2, 2, 2));

    assertThat(c).containsExactly(1, 2, 3, 4);
  }

  @Test
  void combineSumsTheWeightedOutputsOfEachTokensExperts() {
    Routing r = new Routing(1, 2, new int[] {0, 1}, new float[] {0.75f, 0.25f});
    DispatchPlan plan = DispatchPlan.of(r, MoeFixtures.slots(0, 1));
    float[] y = {4, 8, 100, 200};

    float[] out = Reference.combine(y, 2, r, plan);

    assertThat(out).containsExactly(28, 56);
  }

  @Test
  void permuteCopiesEachAssignmentsTokenToItsSlotRow() {
    Routing r = MoeFixtures.topOne(1, 0);
    DispatchPlan plan = DispatchPlan.of(r, MoeFixtures.slots(0, 1));

    float[] xd = Reference.permute(new float[] {1, 2, 3, 4}, 2, r, plan);

    assertThat(xd).containsExactly(3, 4, 1, 2);
  }

  @Test
  void toBf16RoundsToNearestWithTiesToEven() {
    float ulp = (float) Math.pow(2, -7);
    assertThat(Reference.toBf16(1 + ulp / 2)).isEqualTo(1f);
    assertThat(Reference.toBf16(1 + 1.5f * ulp)).isEqualTo(1 + 2 * ulp);
    assertThat(Reference.toBf16(1 + 0.6f * ulp)).isEqualTo(1 + ulp);
  }

  @Test
  void relativeErrorIsNaNWhenTheOutputHoldsNaN() {
    assertThat(Reference.relativeError(new float[] {Float.NaN, 1}, new float[] {1, 1})).isNaN();
    assertThat(Reference.relativeError(new float[] {3, 4}, new float[] {3, 4})).isZero();
  }
}
