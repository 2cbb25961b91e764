package io.moeplan.launcher.fit;

import io.moeplan.schemas.ModelFit;
import java.util.Locale;

/**
 * ModelFit records in words: a short summary for progress lines, a block for {@code moeplan fit}.
 */
public final class ModelFitText {

  private ModelFitText() {}

  /**
   * The model and its published error in one phrase, e.g. {@code model v2 calibrated: compute MAPE
   * 4.1%, r 0.981, step MAPE 3.0%}; {@code model: not calibrated yet} without a calibrated fit.
   */
  public static String summary(ModelFit fit) {
    if (fit == null || !fit.getCalibrated()) {
      return "model: not calibrated yet";
    }
    return String.format(
        Locale.ROOT,
        "model v%d calibrated: compute MAPE %s (%s at the step's speed), r %s, step MAPE %s",
        fit.getModelVersion(),
        percent(fit.getComputeMape()),
        percent(fit.getComputeRelativeMape()),
        decimal(fit.getComputePearson()),
        percent(fit.getStepMape()));
  }

  /** One job's fit as a block of lines (no trailing newline). */
  public static String block(ModelFit fit) {
    StringBuilder text = new StringBuilder();
    text.append(
        String.format(
            Locale.ROOT,
            "job %s (%s workers, pool v%d): model v%d, %s, last iteration %d, updated %s%n",
            fit.getJobId(),
            fit.getWorkerClass(),
            fit.getPoolVersion(),
            fit.getModelVersion(),
            fit.getCalibrated() ? "calibrated" : "not calibrated yet (the pool's constants)",
            fit.getLastIteration(),
            fit.getUpdatedAt()));
    text.append(
        String.format(
            Locale.ROOT,
            "  compute:   fixed %s per active slot (pool %s), per token %s (pool %s);"
                + " %d samples kept, %d outliers%n",
            seconds(fit.getFixedSeconds()),
            seconds(fit.getPoolFixedSeconds()),
            seconds(fit.getPerTokenSeconds()),
            seconds(fit.getPoolPerTokenSeconds()),
            fit.getComputeSamples(),
            fit.getComputeOutliers()));
    text.append(
        String.format(
            Locale.ROOT,
            "  migration: %s per receiving worker (pool %s), %s; %d samples%n",
            bandwidth(fit.getMigrationBytesPerSecond()),
            bandwidth(fit.getPoolMigrationBytesPerSecond()),
            fit.getMigrationCalibrated() ? "measured" : "not calibrated yet",
            fit.getMigrationSamples()));
    text.append(
        String.format(
            Locale.ROOT,
            "  error over the last %d windows (%d samples, each predicted before it joined the"
                + " fit): compute MAPE %s, r %s; at each step's measured speed, compute MAPE %s;"
                + " step MAPE %s (predicted %s, measured %s per layer); migration MAPE %s",
            fit.getErrorWindows(),
            fit.getErrorSamples(),
            percent(fit.getComputeMape()),
            decimal(fit.getComputePearson()),
            percent(fit.getComputeRelativeMape()),
            percent(fit.getStepMape()),
            millis(fit.getPredictedStepSeconds()),
            millis(fit.getMeasuredStepSeconds()),
            percent(fit.getMigrationMape())));
    return text.toString();
  }

  /** A fraction as a percentage with one decimal, or {@code -}. */
  public static String percent(Double fraction) {
    return fraction == null || fraction.isNaN()
        ? "-"
        : String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
  }

  /** A value with three decimals, or {@code -}. */
  public static String decimal(Double value) {
    return value == null || value.isNaN() ? "-" : String.format(Locale.ROOT, "%.3f", value);
  }

  /** Seconds in the unit that reads best (s, ms, us or ns). */
  public static String seconds(double value) {
    double abs = Math.abs(value);
    if (abs == 0) {
      return "0 s";
    } else if (abs >= 1) {
      return String.format(Locale.ROOT, "%.3g s", value);
    } else if (abs >= 1e-3) {
      return String.format(Locale.ROOT, "%.3g ms", value * 1e3);
    } else if (abs >= 1e-6) {
      return String.format(Locale.ROOT, "%.3g us", value * 1e6);
    }
    return String.format(Locale.ROOT, "%.3g ns", value * 1e9);
  }

  /** Bytes per second in GB/s (or MB/s below 1 GB/s). */
  public static String bandwidth(double bytesPerSecond) {
    return bytesPerSecond >= 1e9
        ? String.format(Locale.ROOT, "%.2f GB/s", bytesPerSecond / 1e9)
        : String.format(Locale.ROOT, "%.1f MB/s", bytesPerSecond / 1e6);
  }

  private static String millis(Double seconds) {
    return seconds == null || seconds.isNaN()
        ? "-"
        : String.format(Locale.ROOT, "%.3f ms", seconds * 1e3);
  }
}
