package io.moeplan.planner.model;

import java.util.Arrays;

/**
 * Least squares with outlier rejection: an ordinary least-squares fit of {@code y ~ x . b} (no
 * intercept unless the caller adds a column of ones), then rounds that drop the rows whose residual
 * lies more than {@code rejectMads} scaled median absolute deviations from the median residual and
 * refit on the rest.
 *
 * <p>Every solve carries a tiny ridge towards a prior, which only matters for a feature that does
 * not vary among the rows (it keeps its prior value) or when there are fewer rows than coefficients
 * (the system stays solvable). Coefficients are clamped to {@code >= 0}.
 */
public final class RobustFit {
  /** Scales a median absolute deviation to the standard deviation of normal data. */
  static final double MAD_TO_SIGMA = 1.4826;

  private RobustFit() {}

  /**
   * The fitted coefficients (each {@code >= 0}), the rows the last fit used and the rows it left
   * out; {@code kept + rejected} is the number of rows fitted.
   */
  public record Result(double[] coefficients, int kept, int rejected) {}

  /**
   * Fits {@code y ~ x . b} on the first {@code n} rows of {@code x} and {@code y}, then up to
   * {@code rounds} times rejects the rows whose residual is further than {@code rejectMads * 1.4826
   * * MAD} from the median residual (residuals and MAD over all {@code n} rows, so a row rejected
   * earlier may come back; a MAD of 0 rejects nothing) and refits on the others, stopping early
   * when the kept rows do not change.
   *
   * @param x rows of features, each as long as {@code prior}
   * @param y measured values
   * @param n rows to use ({@code 1 <= n <= x.length, y.length})
   * @param prior the coefficients a feature keeps when the rows do not determine it
   * @param rejectMads the rejection threshold in scaled MADs ({@code >= 0})
   * @param rounds the most rejection rounds ({@code >= 0}; 0 is plain least squares)
   * @throws IllegalArgumentException for {@code n < 1}, lengths that do not match or non-finite
   *     values
   */
  public static Result fit(
      double[][] x, double[] y, int n, double[] prior, double rejectMads, int rounds) {
    validate(x, y, n, prior, rejectMads, rounds);
    int k = prior.length;
    boolean[] keep = new boolean[n];
    Arrays.fill(keep, true);
    int kept = n;
    double[] beta = clamp(leastSquares(x, y, n, keep, prior));
    double[] residuals = new double[n];
    double[] deviations = new double[n];
    boolean[] next = new boolean[n];
    for (int round = 0; round < rounds; round++) {
      for (int i = 0; i < n; i++) {
        double f = 0;
        for (int j = 0; j < k; j++) {
          f += beta[j] * x[i][j];
        }
        residuals[i] = y[i] - f;
      }
      double median = median(residuals.clone());
      for (int i = 0; i < n; i++) {
        deviations[i] = Math.abs(residuals[i] - median);
      }
      double mad = median(deviations.clone());
      if (!(mad > 0) || Double.isInfinite(mad)) {
        Arrays.fill(next, true);
      } else {
        double limit = rejectMads * MAD_TO_SIGMA * mad;
        for (int i = 0; i < n; i++) {
          next[i] = deviations[i] <= limit;
        }
      }
      int nextKept = 0;
      for (boolean b : next) {
        nextKept += b ? 1 : 0;
      }
      if (nextKept == 0 || Arrays.equals(next, keep)) {
        break;
      }
      System.arraycopy(next, 0, keep, 0, n);
      kept = nextKept;
      beta = clamp(leastSquares(x, y, n, keep, prior));
    }
    return new Result(beta, kept, n - kept);
  }

  private static void validate(
      double[][] x, double[] y, int n, double[] prior, double rejectMads, int rounds) {
    if (n < 1) {
      throw new IllegalArgumentException("robust fit needs n >= 1 rows, got " + n);
    }
    if (x == null || y == null || prior == null) {
      throw new IllegalArgumentException("robust fit needs x, y and prior, got a null");
    }
    if (x.length < n || y.length < n) {
      throw new IllegalArgumentException(
          "robust fit of n = "
              + n
              + " rows, but x has "
              + x.length
              + " rows and y has "
              + y.length
              + " values");
    }
    if (prior.length < 1) {
      throw new IllegalArgumentException("robust fit needs at least one coefficient in prior");
    }
    for (int j = 0; j < prior.length; j++) {
      if (!Double.isFinite(prior[j])) {
        throw new IllegalArgumentException("prior[" + j + "] is not finite: " + prior[j]);
      }
    }
    if (!(rejectMads >= 0) || Double.isInfinite(rejectMads)) {
      throw new IllegalArgumentException("rejectMads must be finite and >= 0, got " + rejectMads);
    }
    if (rounds < 0) {
      throw new IllegalArgumentException("rounds must be >= 0, got " + rounds);
    }
    for (int i = 0; i < n; i++) {
      if (x[i] == null || x[i].length != prior.length) {
        throw new IllegalArgumentException(
            "x["
                + i
                + "] has "
                + (x[i] == null ? "no" : String.valueOf(x[i].length))
                + " features, prior has "
                + prior.length);
      }
      for (int j = 0; j < prior.length; j++) {
        if (!Double.isFinite(x[i][j])) {
          throw new IllegalArgumentException("x[" + i + "][" + j + "] is not finite: " + x[i][j]);
        }
      }
      if (!Double.isFinite(y[i])) {
        throw new IllegalArgumentException("y[" + i + "] is not finite: " + y[i]);
      }
    }
  }

  private static double[] clamp(double[] beta) {
    for (int j = 0; j < beta.length; j++) {
      beta[j] = Math.max(0, beta[j]);
    }
    return beta;
  }

  /** Median of {@code v} (sorts it in place). */
  static double median(double[] v) {
    Arrays.sort(v);
    int m = v.length / 2;
    return v.length % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
  }

  /** Ordinary least squares over all rows of {@code x}, with the ridge towards {@code prior}. */
  static double[] leastSquares(double[][] x, double[] y, double[] prior) {
    boolean[] keep = new boolean[x.length];
    Arrays.fill(keep, true);
    return leastSquares(x, y, x.length, keep, prior);
  }

  /**
   * Ordinary least squares by the normal equations over the first {@code n} rows that {@code keep}
   * marks, with a tiny ridge towards {@code prior}, which only matters for a feature that does not
   * vary. Features are scaled to at most 1 in magnitude before solving.
   */
  static double[] leastSquares(double[][] x, double[] y, int n, boolean[] keep, double[] prior) {
    int k = prior.length;
    double[] norm = new double[k];
    for (int i = 0; i < n; i++) {
      if (keep[i]) {
        for (int j = 0; j < k; j++) {
          norm[j] = Math.max(norm[j], Math.abs(x[i][j]));
        }
      }
    }
    for (int j = 0; j < k; j++) {
      norm[j] = norm[j] == 0 ? 1 : norm[j];
    }
    double[][] a = new double[k][k + 1];
    for (int i = 0; i < n; i++) {
      if (!keep[i]) {
        continue;
      }
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
