package io.moeplan.planner.model;

import java.util.List;

/**
 * Fits the compute constants (fixed seconds per replica, seconds per token) and the communication
 * scale of a {@link PerformanceModel} from measured layer times by least squares ({@link #fit}),
 * and the compute constants and migration throughput from per-worker executor measurements,
 * rejecting outliers ({@link #fitCompute}, {@link #fitMigration}).
 *
 * <p>Each sample pairs the model's terms for an executed (placement, load) with the measured
 * seconds. The fit treats the measured time as {@code fixed * R + perToken * N + commScale * M},
 * where {@code R} and {@code N} are the replicas and tokens of the worker the model finds critical
 * for compute and {@code M} is the unscaled all-to-all plus sync time.
 */
public final class Calibration {
  /** Rejection threshold of the per-worker fits, in scaled median absolute deviations. */
  static final double REJECT_MADS = 4;

  /** Most rejection rounds of the per-worker compute fit. */
  static final int ROUNDS = 3;

  private Calibration() {}

  /** One observation: the model's terms for an executed layer and the measured seconds. */
  public record Sample(LayerCost predicted, double measuredSeconds) {
    /** Validates the measured time. */
    public Sample {
      if (!(measuredSeconds >= 0) || Double.isInfinite(measuredSeconds)) {
        throw new IllegalArgumentException(
            "measuredSeconds must be finite and >= 0, got " + measuredSeconds);
      }
    }
  }

  /**
   * The calibrated model and how well it fits.
   *
   * @param model the model with fitted constants
   * @param rmsErrorSeconds root mean square of (fitted - measured)
   * @param meanRelativeError mean of |fitted - measured| / measured over samples with measured > 0
   */
  public record Result(PerformanceModel model, double rmsErrorSeconds, double meanRelativeError) {}

  /**
   * Fits fixed, perToken and commScale to the samples (at least three, not all alike); a
   * coefficient whose feature never varies keeps the model's value. Negative fits are clamped to 0.
   */
  public static Result fit(PerformanceModel model, List<Sample> samples) {
    if (samples.size() < 3) {
      throw new IllegalArgumentException(
          "calibration needs at least 3 samples, got " + samples.size());
    }
    int n = samples.size();
    double[][] x = new double[n][3];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      LayerCost c = samples.get(i).predicted();
      int w = c.computeCriticalWorker();
      x[i][0] = c.workerReplicas(w);
      x[i][1] = c.workerTokens(w);
      double scale = model.commScale() == 0 ? 1 : model.commScale();
      x[i][2] = (c.maxAllToAllSeconds() + c.syncSeconds()) / scale;
      y[i] = samples.get(i).measuredSeconds();
    }
    double[] prior = {model.fixedSeconds(), model.perTokenSeconds(), model.commScale()};
    double[] beta = RobustFit.leastSquares(x, y, prior);
    PerformanceModel fitted =
        model.withConstants(Math.max(0, beta[0]), Math.max(0, beta[1]), Math.max(0, beta[2]));
    double sq = 0;
    double rel = 0;
    int relCount = 0;
    for (int i = 0; i < n; i++) {
      double f =
          Math.max(0, beta[0]) * x[i][0]
              + Math.max(0, beta[1]) * x[i][1]
              + Math.max(0, beta[2]) * x[i][2];
      sq += (f - y[i]) * (f - y[i]);
      if (y[i] > 0) {
        rel += Math.abs(f - y[i]) / y[i];
        relCount++;
      }
    }
    return new Result(fitted, Math.sqrt(sq / n), relCount == 0 ? 0 : rel / relCount);
  }

  /**
   * Per-worker compute constants fitted from executor measurements.
   *
   * @param fixedSeconds seconds per active replica
   * @param perTokenSeconds seconds per token
   * @param kept samples the final fit used
   * @param rejected samples rejected as outliers
   */
  public record ComputeFit(double fixedSeconds, double perTokenSeconds, int kept, int rejected) {}

  /**
   * Fits {@code seconds ~ fixed * activeSlots + perToken * tokens} to per-worker samples (the first
   * {@code n} of each array) with {@link RobustFit} (rejection at 4 scaled MADs, at most 3 rounds),
   * in two passes: an ordinary fit, then a fit of every sample relative to the first fit's
   * prediction for it. Measured compute scatters in proportion to its size, so the second pass
   * weighs every sample alike relative to its size and judges outliers by their relative error, the
   * error the model is measured by. A constant whose feature never varies keeps the value of {@code
   * prior}; with {@code n == 0} the result is the prior's constants with nothing kept.
   *
   * @throws IllegalArgumentException for a negative {@code n}, arrays shorter than {@code n} or
   *     non-finite values
   */
  public static ComputeFit fitCompute(
      double[] activeSlots, double[] tokens, double[] seconds, int n, PerformanceModel prior) {
    if (n == 0) {
      return new ComputeFit(prior.fixedSeconds(), prior.perTokenSeconds(), 0, 0);
    }
    if (n < 0 || activeSlots.length < n || tokens.length < n) {
      throw new IllegalArgumentException(
          "compute fit of n = "
              + n
              + " samples, but activeSlots has "
              + activeSlots.length
              + " and tokens has "
              + tokens.length);
    }
    double[][] x = new double[n][];
    for (int i = 0; i < n; i++) {
      x[i] = new double[] {activeSlots[i], tokens[i]};
    }
    RobustFit.Result first =
        RobustFit.fit(
            x,
            seconds,
            n,
            new double[] {prior.fixedSeconds(), prior.perTokenSeconds()},
            REJECT_MADS,
            ROUNDS);
    // compute time varies in proportion to its size, so a sample's error is judged and weighed
    // relative to its prediction: refit with every row divided by the first fit's prediction
    double[] b = first.coefficients();
    double[] predicted = new double[n];
    double meanPredicted = 0;
    for (int i = 0; i < n; i++) {
      predicted[i] = b[0] * x[i][0] + b[1] * x[i][1];
      meanPredicted += predicted[i] / n;
    }
    if (!(meanPredicted > 0)) {
      return new ComputeFit(b[0], b[1], first.kept(), first.rejected());
    }
    double[][] scaled = new double[n][];
    double[] relative = new double[n];
    for (int i = 0; i < n; i++) {
      double scale = predicted[i] > 1e-6 * meanPredicted ? predicted[i] : meanPredicted;
      scaled[i] = new double[] {x[i][0] / scale, x[i][1] / scale};
      relative[i] = seconds[i] / scale;
    }
    RobustFit.Result fit = RobustFit.fit(scaled, relative, n, b, REJECT_MADS, ROUNDS);
    return new ComputeFit(fit.coefficients()[0], fit.coefficients()[1], fit.kept(), fit.rejected());
  }

  /**
   * A migration throughput fitted from executor measurements.
   *
   * @param bytesPerSecond the fitted throughput (the prior when {@code kept} is 0)
   * @param kept samples the fit used
   * @param rejected samples rejected as outliers
   */
  public record MigrationFit(double bytesPerSecond, int kept, int rejected) {}

  /**
   * Fits {@code seconds ~ bytes / bytesPerSecond} (through the origin) to per-worker samples of
   * bytes received and seconds spent receiving them (the first {@code n} of each array). Samples
   * with {@code bytes <= 0} or negative seconds are not used (neither kept nor rejected). Of the
   * others, those whose seconds per byte lie further than 4 scaled MADs from the median seconds per
   * byte are rejected (a MAD of 0 rejects nothing); the throughput is then the kept bytes over the
   * kept seconds. When no sample is usable, or the kept seconds add up to 0, the result is {@code
   * priorBytesPerSecond} with nothing kept.
   *
   * @throws IllegalArgumentException for a negative {@code n}, arrays shorter than {@code n} or
   *     non-finite values
   */
  public static MigrationFit fitMigration(
      double[] bytes, double[] seconds, int n, double priorBytesPerSecond) {
    if (n < 0 || bytes.length < n || seconds.length < n) {
      throw new IllegalArgumentException(
          "migration fit of n = "
              + n
              + " samples, but bytes has "
              + bytes.length
              + " and seconds has "
              + seconds.length);
    }
    double[] ratio = new double[n];
    int usable = 0;
    for (int i = 0; i < n; i++) {
      if (!Double.isFinite(bytes[i]) || !Double.isFinite(seconds[i])) {
        throw new IllegalArgumentException(
            "migration sample " + i + " is not finite: " + bytes[i] + " B, " + seconds[i] + " s");
      }
      if (bytes[i] > 0 && seconds[i] >= 0) {
        ratio[usable++] = seconds[i] / bytes[i];
      }
    }
    if (usable == 0) {
      return new MigrationFit(priorBytesPerSecond, 0, 0);
    }
    double[] sorted = java.util.Arrays.copyOf(ratio, usable);
    double median = RobustFit.median(sorted);
    double[] deviations = new double[usable];
    for (int i = 0; i < usable; i++) {
      deviations[i] = Math.abs(ratio[i] - median);
    }
    double mad = RobustFit.median(deviations.clone());
    double limit = mad > 0 ? REJECT_MADS * RobustFit.MAD_TO_SIGMA * mad : Double.POSITIVE_INFINITY;
    double keptBytes = 0;
    double keptSeconds = 0;
    int kept = 0;
    for (int i = 0, u = 0; i < n; i++) {
      if (bytes[i] > 0 && seconds[i] >= 0) {
        if (deviations[u++] <= limit) {
          keptBytes += bytes[i];
          keptSeconds += seconds[i];
          kept++;
        }
      }
    }
    if (!(keptSeconds > 0) || !Double.isFinite(keptBytes / keptSeconds)) {
      return new MigrationFit(priorBytesPerSecond, 0, usable - kept);
    }
    return new MigrationFit(keptBytes / keptSeconds, kept, usable - kept);
  }
}
