package io.moeplan.launcher.bench;

import java.util.Arrays;

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

  private static void requireSameLength(double[] a, double[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(
          "samples differ in length: " + a.length + " vs " + b.length);
    }
  }
}
