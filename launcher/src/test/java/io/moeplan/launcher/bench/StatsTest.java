package io.moeplan.launcher.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class StatsTest {

  @Test
  void percentilesAreNearestRank() {
    double[] values = {5, 1, 4, 2, 3, 10, 9, 8, 7, 6};
    assertThat(Stats.percentile(values, 0.5)).isEqualTo(5);
    assertThat(Stats.percentile(values, 0.9)).isEqualTo(9);
    assertThat(Stats.percentile(values, 0.91)).isEqualTo(10);
    assertThat(Stats.percentile(values, 0)).isEqualTo(1);
    assertThat(Stats.percentile(values, 1)).isEqualTo(10);
    assertThat(Stats.percentile(new double[] {7}, 0.9)).isEqualTo(7);
    assertThat(Stats.percentile(new double[0], 0.5)).isNaN();
    assertThat(values[0]).as("the input is not sorted in place").isEqualTo(5);
  }

  @Test
  void meanOfNothingIsNaN() {
    assertThat(Stats.mean(new double[] {1, 2, 6})).isEqualTo(3);
    assertThat(Stats.mean(new double[0])).isNaN();
  }

  @Test
  void mapeSkipsMeasuredZeros() {
    double[] predicted = {1.1, 1.8, 5};
    double[] measured = {1.0, 2.0, 0};
    assertThat(Stats.mape(predicted, measured)).isCloseTo(0.1, within(1e-12));
    assertThat(Stats.mape(new double[] {1}, new double[] {0})).isNaN();
  }

  @Test
  void pearsonOfLinearlyRelatedSamplesIsOne() {
    double[] x = {1, 2, 3, 4};
    assertThat(Stats.pearson(x, new double[] {3, 5, 7, 9})).isCloseTo(1, within(1e-12));
    assertThat(Stats.pearson(x, new double[] {4, 3, 2, 1})).isCloseTo(-1, within(1e-12));
    assertThat(Stats.pearson(x, new double[] {2, 2, 2, 2})).isNaN();
  }

  @Test
  void thePairedBootstrapIntervalHoldsTheRatioAndNarrowsWithSteadierPairs() {
    java.util.SplittableRandom random = new java.util.SplittableRandom(3);
    double[] a = new double[200];
    double[] steady = new double[200];
    double[] noisy = new double[200];
    for (int i = 0; i < a.length; i++) {
      a[i] = 100 + 50 * random.nextDouble();
      steady[i] = a[i] / 2 * (1 + 0.01 * random.nextGaussian());
      noisy[i] = a[i] / 2 * (1 + 0.3 * random.nextGaussian());
    }
    double[] tight = Stats.pairedRatioInterval(a, steady, 0.95, 2000, 7);
    double[] wide = Stats.pairedRatioInterval(a, noisy, 0.95, 2000, 7);

    double point = Arrays.stream(a).sum() / Arrays.stream(steady).sum();
    assertThat(tight[0]).isLessThan(point).isGreaterThan(1.98);
    assertThat(tight[1]).isGreaterThan(point).isLessThan(2.02);
    assertThat(wide[1] - wide[0]).isGreaterThan(5 * (tight[1] - tight[0]));
    assertThat(Stats.pairedRatioInterval(a, steady, 0.95, 2000, 7)).containsExactly(tight);
    assertThat(Stats.pairedRatioInterval(a, a, 0.95, 100, 1)).containsExactly(1.0, 1.0);
    assertThat(Stats.pairedRatioInterval(new double[0], new double[0], 0.95, 10, 1))
        .containsExactly(Double.NaN, Double.NaN);
  }
}
