package io.moeplan.launcher.bench;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Statistics of a sample of doubles: mean, percentiles, and how well predictions match. */
public final class Stats {

  private Stats() {}

  /** The mean, or NaN for no values. */
  public static double mean(double[] values) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double sum = 0;
    for (double v : values) {
      sum += v;
    }
    return sum / values.length;
  }

  /**
   * The {@code q} quantile by nearest rank (the smallest value with at least {@code q} of the
   * values at or below it), or NaN for no values.
   */
  public static double percentile(double[] values, double q) {
    if (values.length == 0) {
      return Double.NaN;
    }
    if (!(q >= 0 && q <= 1)) {
      throw new IllegalArgumentException("quantile must be in [0, 1], got " + q);
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank))];
  }

  /**
   * Mean absolute percentage error of {@code predicted} against {@code measured}, as a fraction,
   * over the pairs whose measured value is positive; NaN when there is none.
   */
  public static double mape(double[] predicted, double[] measured) {
    requireSameLength(predicted, measured);
    double sum = 0;
    int n = 0;
    for (int i = 0; i < measured.length; i++) {
      if (measured[i] > 0) {
        sum += Math.abs(predicted[i] - measured[i]) / measured[i];
        n++;
      }
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  /** Pearson correlation of two samples; NaN when either does not vary. */
  public static double pearson(double[] x, double[] y) {
    requireSameLength(x, y);
    double mx = mean(x);
    double my = mean(y);
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < x.length; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Double.NaN;
  }

  /**
   * A {@code confidence} interval of {@code sum(a) / sum(b)} for paired samples (pair {@code i} is
   * {@code a[i]} and {@code b[i]}: the same iteration of two runs) by the percentile bootstrap:
   * {@code resamples} times, draw as many pairs with replacement and take the ratio of the sums;
   * the interval spans the middle {@code confidence} of those ratios. Seeded, so the same samples
   * give the same interval. NaN bounds for no pairs.
   */
  public static double[] pairedRatioInterval(
      double[] a, double[] b, double confidence, int resamples, long seed) {
    requireSameLength(a, b);
    if (a.length == 0) {
      return new double[] {Double.NaN, Double.NaN};
    }
    if (!(confidence > 0 && confidence < 1) || resamples < 1) {
      throw new IllegalArgumentException(
          "confidence must be in (0, 1) and resamples >= 1, got " + confidence + ", " + resamples);
    }
    SplittableRandom random = new SplittableRandom(seed);
    double[] ratios = new double[resamples];
    for (int r = 0; r < resamples; r++) {
      double sumA = 0;
      double sumB = 0;
      for (int i = 0; i < a.length; i++) {
        int pick = random.nextInt(a.length);
        sumA += a[pick];
        sumB += b[pick];
      }
      ratios[r] = sumA / sumB;
    }
    double tail = (1 - confidence) / 2;
    return new double[] {percentile(ratios, tail), percentile(ratios, 1 - tail)};
  }

  private static void requireSameLength(double[] a, double[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(
          "samples differ in length: " + a.length + " vs " + b.length);
    }
  }
}
