package io.moeplan.planner.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ErrorStatsTest {
  private static ErrorStats of(double[] predicted, double[] measured) {
    ErrorStats stats = new ErrorStats();
    for (int i = 0; i < predicted.length; i++) {
      stats.add(predicted[i], measured[i]);
    }
    return stats;
  }

  @Test
  void anEmptyAccumulatorHasNoStatistics() {
    ErrorStats stats = new ErrorStats();

    assertThat(stats.count()).isZero();
    assertThat(stats.mape()).isNaN();
    assertThat(stats.pearson()).isNaN();
    assertThat(stats.meanPredicted()).isNaN();
    assertThat(stats.meanMeasured()).isNaN();
  }

  @Test
  void mapeIsTheMeanRelativeErrorOverPositiveMeasurements() {
    // |1.1 - 1| / 1 = 0.1, |1.5 - 2| / 2 = 0.25, measured 0 counts for the means only
    ErrorStats stats = of(new double[] {1.1, 1.5, 3}, new double[] {1, 2, 0});

    assertThat(stats.count()).isEqualTo(3);
    assertThat(stats.percentCount).isEqualTo(2);
    assertThat(stats.mape()).isCloseTo(0.175, within(1e-12));
    assertThat(stats.meanPredicted()).isCloseTo(5.6 / 3, within(1e-12));
    assertThat(stats.meanMeasured()).isCloseTo(1, within(1e-12));
  }

  @Test
  void pearsonOfHandComputedPairs() {
    assertThat(of(new double[] {1, 2, 3}, new double[] {2, 4, 6}).pearson())
        .isCloseTo(1, within(1e-12));
    assertThat(of(new double[] {1, 2, 3}, new double[] {6, 4, 2}).pearson())
        .isCloseTo(-1, within(1e-12));
    // p = 1, 2, 3, 4 and m = 1, 3, 2, 4: deviations from 2.5 give 4 / sqrt(5 * 5) = 0.8
    assertThat(of(new double[] {1, 2, 3, 4}, new double[] {1, 3, 2, 4}).pearson())
        .isCloseTo(0.8, within(1e-12));
  }

  @Test
  void pearsonIsUndefinedForFewerThanTwoPairsOrAConstantSide() {
    assertThat(of(new double[] {1}, new double[] {2}).pearson()).isNaN();
    assertThat(of(new double[] {0.1, 0.1, 0.1}, new double[] {1, 2, 3}).pearson()).isNaN();
    assertThat(of(new double[] {1, 2, 3}, new double[] {0.3, 0.3, 0.3}).pearson()).isNaN();
    // a spread lost to rounding against a large offset counts as constant
    assertThat(of(new double[] {1e6, 1e6 + 1e-7, 1e6 + 2e-7}, new double[] {1, 2, 3}).pearson())
        .isNaN();
    // a large offset with a resolvable spread stays within [-1, 1]
    double r = of(new double[] {1e4 + 0.1, 1e4 + 0.2, 1e4 + 0.3}, new double[] {1, 2, 3}).pearson();
    assertThat(r).isBetween(-1.0, 1.0).isCloseTo(1, within(1e-3));
  }

  @Test
  void nonFiniteValuesAreIgnored() {
    ErrorStats stats = of(new double[] {1, Double.NaN, 2}, new double[] {1, 1, Double.NaN});

    assertThat(stats.count()).isEqualTo(1);
    assertThat(stats.mape()).isZero();
  }

  @Test
  void mergingEqualsAddingEverything() {
    Random random = new Random(5);
    ErrorStats all = new ErrorStats();
    ErrorStats left = new ErrorStats();
    ErrorStats right = new ErrorStats();
    for (int i = 0; i < 50; i++) {
      double m = random.nextDouble();
      double p = m * (1 + 0.2 * random.nextGaussian());
      all.add(p, m);
      (i % 3 == 0 ? left : right).add(p, m);
    }

    left.merge(right);

    assertThat(left.count()).isEqualTo(all.count());
    assertThat(left.percentCount).isEqualTo(all.percentCount);
    assertThat(left.mape()).isCloseTo(all.mape(), within(1e-12));
    assertThat(left.pearson()).isCloseTo(all.pearson(), within(1e-12));
    assertThat(left.meanPredicted()).isCloseTo(all.meanPredicted(), within(1e-12));
    assertThat(left.meanMeasured()).isCloseTo(all.meanMeasured(), within(1e-12));
  }
}
