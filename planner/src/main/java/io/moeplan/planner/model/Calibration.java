package io.moeplan.planner.model;

import java.util.List;

/**
 * Fits the compute constants (fixed seconds per replica, seconds per token) and the communication
 * scale of a {@link PerformanceModel} from measured layer times by least squares.
 *
 * <p>Each sample pairs the model's terms for an executed (placement, load) with the measured
 * seconds. The fit treats the measured time as {@code fixed * R + perToken * N + commScale * M},
 * where {@code R} and {@code N} are the replicas and tokens of the worker the model finds critical
 * for compute and {@code M} is the unscaled all-to-all plus sync time.
 */
public final class Calibration {
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
    double[] beta = leastSquares(x, y, prior);
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
   * Ordinary least squares by the normal equations with a tiny ridge towards {@code prior}, which
   * only matters for a feature that does not vary.
   */
  static double[] leastSquares(double[][] x, double[] y, double[] prior) {
    int k = prior.length;
    double[] norm = new double[k];
    for (double[] row : x) {
      for (int j = 0; j < k; j++) {
        norm[j] = Math.max(norm[j], Math.abs(row[j]));
      }
    }
    for (int j = 0; j < k; j++) {
      norm[j] = norm[j] == 0 ? 1 : norm[j];
    }
    double[][] a = new double[k][k + 1];
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < k; j++) {
        double xj = x[i][j] / norm[j];
        for (int l = 0; l < k; l++) {
          a[j][l] += xj * x[i][l] / norm[l];
        }
        a[j][k] += xj * y[i];
      }
    }
    double ridge = 1e-9 * Math.max(1e-300, trace(a, k));
    for (int j = 0; j < k; j++) {
      a[j][j] += ridge;
      a[j][k] += ridge * prior[j] * norm[j];
    }
    double[] scaled = solve(a, k);
    double[] beta = new double[k];
    for (int j = 0; j < k; j++) {
      beta[j] = scaled[j] / norm[j];
    }
    return beta;
  }

  private static double trace(double[][] a, int k) {
    double t = 0;
    for (int j = 0; j < k; j++) {
      t += a[j][j];
    }
    return t / k;
  }

  private static double[] solve(double[][] a, int k) {
    for (int col = 0; col < k; col++) {
      int pivot = col;
      for (int r = col + 1; r < k; r++) {
        if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
          pivot = r;
        }
      }
      double[] tmp = a[col];
      a[col] = a[pivot];
      a[pivot] = tmp;
      if (a[col][col] == 0) {
        throw new IllegalArgumentException("calibration samples do not determine the constants");
      }
      for (int r = 0; r < k; r++) {
        if (r != col) {
          double f = a[r][col] / a[col][col];
          for (int c = col; c <= k; c++) {
            a[r][c] -= f * a[col][c];
          }
        }
      }
    }
    double[] out = new double[k];
    for (int j = 0; j < k; j++) {
      out[j] = a[j][k] / a[j][j];
    }
    return out;
  }
}
