package io.moeplan.planner.model;

/**
 * A mergeable accumulator of prediction error: pairs of (predicted, measured) values give the mean
 * absolute percentage error and the Pearson correlation. Its state is public fields with a no-arg
 * constructor, so a stream processor can keep it as a plain value.
 */
public final class ErrorStats {
  /** Pairs added. */
  public long count;

  /** Sum of {@code |predicted - measured| / measured} over pairs with {@code measured > 0}. */
  public double sumAbsPercent;

  /** Pairs with {@code measured > 0}. */
  public long percentCount;

  /** Sum of predicted values. */
  public double sumP;

  /** Sum of measured values. */
  public double sumM;

  /** Sum of squared predicted values. */
  public double sumPP;

  /** Sum of squared measured values. */
  public double sumMM;

  /** Sum of predicted times measured. */
  public double sumPM;

  /** An empty accumulator. */
  public ErrorStats() {}

  /** Adds one pair; a pair with a non-finite value is ignored. */
  public void add(double predicted, double measured) {
    if (!Double.isFinite(predicted) || !Double.isFinite(measured)) {
      return;
    }
    count++;
    if (measured > 0) {
      sumAbsPercent += Math.abs(predicted - measured) / measured;
      percentCount++;
    }
    sumP += predicted;
    sumM += measured;
    sumPP += predicted * predicted;
    sumMM += measured * measured;
    sumPM += predicted * measured;
  }

  /** Adds everything {@code other} holds, as if its pairs had been added here. */
  public void merge(ErrorStats other) {
    count += other.count;
    sumAbsPercent += other.sumAbsPercent;
    percentCount += other.percentCount;
    sumP += other.sumP;
    sumM += other.sumM;
    sumPP += other.sumPP;
    sumMM += other.sumMM;
    sumPM += other.sumPM;
  }

  /** Pairs added. */
  public long count() {
    return count;
  }

  /**
   * Mean absolute percentage error as a fraction (0.05 is 5%) over the pairs with {@code measured >
   * 0}; NaN when there are none.
   */
  public double mape() {
    return percentCount == 0 ? Double.NaN : sumAbsPercent / percentCount;
  }

  /**
   * Pearson correlation of predicted and measured values in {@code [-1, 1]}; NaN with fewer than
   * two pairs or when either side does not vary (up to rounding).
   */
  public double pearson() {
    if (count < 2) {
      return Double.NaN;
    }
    double n = count;
    double varP = n * sumPP - sumP * sumP;
    double varM = n * sumMM - sumM * sumM;
    // the differences cancel for a side that does not vary; treat what rounding leaves as zero
    double eps = 1e-12;
    if (!(varP > eps * n * sumPP) || !(varM > eps * n * sumMM)) {
      return Double.NaN;
    }
    double r = (n * sumPM - sumP * sumM) / (Math.sqrt(varP) * Math.sqrt(varM));
    if (Double.isNaN(r)) {
      return Double.NaN;
    }
    return Math.max(-1, Math.min(1, r));
  }

  /** Mean of the predicted values; NaN when empty. */
  public double meanPredicted() {
    return count == 0 ? Double.NaN : sumP / count;
  }

  /** Mean of the measured values; NaN when empty. */
  public double meanMeasured() {
    return count == 0 ? Double.NaN : sumM / count;
  }

  @Override
  public String toString() {
    return String.format(
        java.util.Locale.ROOT,
        "ErrorStats[count=%d mape=%.4g pearson=%.4g]",
        count,
        mape(),
        pearson());
  }
}
