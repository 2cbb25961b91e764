package io.moeplan.planner.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.spec.ModelSpec;
import java.util.Arrays;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class SyntheticLoadsTest {
  private static final ModelSpec MODEL = ModelSpec.gptMoe().withExpertCount(32);

  @Test
  void theSameSeedDrawsTheSameLoadsAndAnotherSeedOthers() {
    LoadHistory a = SyntheticLoads.generate(MODEL, 8, 3, 7);
    LoadHistory b = SyntheticLoads.generate(MODEL, 8, 3, 7);
    LoadHistory c = SyntheticLoads.generate(MODEL, 8, 3, 8);

    assertThat(b.layers()).isEqualTo(a.layers());
    assertThat(c.sample(0, 0)).isNotEqualTo(a.sample(0, 0));
    assertThat(a.source()).isEqualTo("synthetic(ranks=8, samples=3, seed=7)");
    assertThat(a.layerCount()).isEqualTo(24);
  }

  @Test
  void everyRankRoutesItsTokensMostlyToAFewExpertsAndTheSumIsFlatter() {
    LoadMatrix load = SyntheticLoads.generate(MODEL, 16, 1, 3).sample(0, 0);

    double rankTopShare = 0;
    for (int r = 0; r < 16; r++) {
      assertThat(load.sourceTotal(r)).isCloseTo(16384.0, Offset.offset(1e-6));
      double[] row = new double[32];
      for (int e = 0; e < 32; e++) {
        row[e] = load.tokens(r, e);
      }
      rankTopShare += topFourShare(row) / 16;
    }
    double sumTopShare = topFourShare(load.expertTotals());
    assertThat(rankTopShare).isGreaterThan(0.6);
    assertThat(sumTopShare).isLessThan(rankTopShare - 0.2);
  }

  private static double topFourShare(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    double total = Arrays.stream(sorted).sum();
    double top = 0;
    for (int i = 0; i < 4; i++) {
      top += sorted[sorted.length - 1 - i];
    }
    return top / total;
  }

  @Test
  void popularityDriftsSlowlyBetweenSamples() {
    LoadHistory h = SyntheticLoads.generate(MODEL, 8, 2, 11);

    double cosine = cosine(h.sample(0, 0).expertTotals(), h.sample(0, 1).expertTotals());

    assertThat(cosine).isBetween(0.95, 0.99999);
  }

  private static double cosine(double[] a, double[] b) {
    double ab = 0;
    double aa = 0;
    double bb = 0;
    for (int i = 0; i < a.length; i++) {
      ab += a[i] * b[i];
      aa += a[i] * a[i];
      bb += b[i] * b[i];
    }
    return ab / Math.sqrt(aa * bb);
  }

  @Test
  void refusesAHistoryTooLargeToHold() {
    assertThatThrownBy(() -> SyntheticLoads.generate(MODEL, 1024, 1024, 1))
        .hasMessageContaining("use fewer samples");
  }
}
