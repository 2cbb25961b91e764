package io.moeplan.planner.placement;

import io.moeplan.planner.spec.Limits;
import java.util.Arrays;

/**
 * Tokens routed from each source rank to each expert in one iteration of one layer: {@code
 * tokens(source, expert)}, {@code [sources][experts]}. Source rank {@code s} runs on worker {@code
 * s}. Immutable; per-expert and per-source totals are computed once.
 */
public final class LoadMatrix {
  private final int sources;
  private final int experts;
  private final double[] tokens;
  private final double[] expertTotals;
  private final double[] sourceTotals;
  private final double total;

  private LoadMatrix(int sources, int experts, double[] tokens) {
    this.sources = sources;
    this.experts = experts;
    this.tokens = tokens;
    this.expertTotals = new double[experts];
    this.sourceTotals = new double[sources];
    double sum = 0;
    for (int s = 0; s < sources; s++) {
      double row = 0;
      for (int e = 0; e < experts; e++) {
        double v = tokens[s * experts + e];
        if (!(v >= 0) || Double.isInfinite(v)) {
          throw new IllegalArgumentException(
              "load of source " + s + " for expert " + e + " must be finite and >= 0, got " + v);
        }
        row += v;
        expertTotals[e] += v;
      }
      sourceTotals[s] = row;
      sum += row;
    }
    this.total = sum;
  }

  /** A load matrix from rows {@code [sources][experts]} (copied; rows must have equal length). */
  public static LoadMatrix of(double[][] rows) {
    checkShape(rows.length, rows.length == 0 ? 0 : rows[0].length);
    int experts = rows[0].length;
    double[] flat = new double[rows.length * experts];
    for (int s = 0; s < rows.length; s++) {
      if (rows[s].length != experts) {
        throw new IllegalArgumentException(
            "load row " + s + " has " + rows[s].length + " experts, row 0 has " + experts);
      }
      System.arraycopy(rows[s], 0, flat, s * experts, experts);
    }
    return new LoadMatrix(rows.length, experts, flat);
  }

  /** A load matrix from integer counts {@code [sources][experts]}. */
  public static LoadMatrix of(long[][] rows) {
    checkShape(rows.length, rows.length == 0 ? 0 : rows[0].length);
    int experts = rows[0].length;
    double[] flat = new double[rows.length * experts];
    for (int s = 0; s < rows.length; s++) {
      if (rows[s].length != experts) {
        throw new IllegalArgumentException(
            "load row " + s + " has " + rows[s].length + " experts, row 0 has " + experts);
      }
      for (int e = 0; e < experts; e++) {
        flat[s * experts + e] = rows[s][e];
      }
    }
    return new LoadMatrix(rows.length, experts, flat);
  }

  /** A load matrix from a row-major array of {@code sources * experts} values (copied). */
  public static LoadMatrix ofFlat(int sources, int experts, double[] rowMajor) {
    checkShape(sources, experts);
    if (rowMajor.length != sources * experts) {
      throw new IllegalArgumentException(
          "expected " + sources * experts + " values, got " + rowMajor.length);
    }
    return new LoadMatrix(sources, experts, rowMajor.clone());
  }

  /** Builds from an array the caller hands over and never touches again. */
  static LoadMatrix wrap(int sources, int experts, double[] rowMajor) {
    return new LoadMatrix(sources, experts, rowMajor);
  }

  private static void checkShape(int sources, int experts) {
    if (sources < 1 || sources > Limits.MAX_WORKERS) {
      throw new IllegalArgumentException(
          "sources must be in [1, " + Limits.MAX_WORKERS + "], got " + sources);
    }
    if (experts < 1 || experts > Limits.MAX_EXPERTS) {
      throw new IllegalArgumentException(
          "experts must be in [1, " + Limits.MAX_EXPERTS + "], got " + experts);
    }
    if ((long) sources * experts > Limits.MAX_SLOTS * 4) {
      throw new IllegalArgumentException(
          "sources * experts too large: " + (long) sources * experts);
    }
  }

  /** Number of source ranks (rows). */
  public int sources() {
    return sources;
  }

  /** Number of experts (columns). */
  public int experts() {
    return experts;
  }

  /** Tokens from {@code source} to {@code expert}. */
  public double tokens(int source, int expert) {
    return tokens[source * experts + expert];
  }

  /** Tokens routed to {@code expert} from all sources. */
  public double expertTotal(int expert) {
    return expertTotals[expert];
  }

  /** Tokens routed by {@code source} to all experts. */
  public double sourceTotal(int source) {
    return sourceTotals[source];
  }

  /** All tokens of the layer. */
  public double total() {
    return total;
  }

  /** Per-expert totals (a copy). */
  public double[] expertTotals() {
    return expertTotals.clone();
  }

  /**
   * Per-expert totals over consecutive groups of sources: {@code [group * experts + expert]} is the
   * sum over sources {@code group * groupSize .. (group + 1) * groupSize - 1} (a node's ranks when
   * {@code groupSize} is GPUs per node), for {@code groups} groups.
   */
  public double[] groupedExpertTotals(int groupSize, int groups) {
    double[] out = new double[Math.max(0, groups) * experts];
    groupedExpertTotals(groupSize, groups, out);
    return out;
  }

  /**
   * {@link #groupedExpertTotals(int, int)} written into {@code out} (of at least {@code groups *
   * experts} values), for callers that reuse their arrays.
   */
  public void groupedExpertTotals(int groupSize, int groups, double[] out) {
    if (groupSize < 1 || groups < 1 || (long) groups * groupSize < sources) {
      throw new IllegalArgumentException(
          groups + " groups of " + groupSize + " do not cover " + sources + " sources");
    }
    if (out.length < groups * experts) {
      throw new IllegalArgumentException(
          "out holds " + out.length + " values, " + groups * experts + " needed");
    }
    Arrays.fill(out, 0, groups * experts, 0.0);
    for (int s = 0; s < sources; s++) {
      int base = (s / groupSize) * experts;
      int row = s * experts;
      for (int e = 0; e < experts; e++) {
        out[base + e] += tokens[row + e];
      }
    }
  }

  /** Copies the per-expert totals into {@code out} (of at least {@link #experts} values). */
  public void copyExpertTotals(double[] out) {
    System.arraycopy(expertTotals, 0, out, 0, experts);
  }

  /** The row-major values (a copy). */
  public double[] toFlatArray() {
    return tokens.clone();
  }

  /** Element-wise {@code a * this + b * other}; both must have the same shape. */
  public LoadMatrix blend(double a, LoadMatrix other, double b) {
    if (other.sources != sources || other.experts != experts) {
      throw new IllegalArgumentException(
          "cannot blend a "
              + sources
              + "x"
              + experts
              + " load with a "
              + other.sources
              + "x"
              + other.experts
              + " load");
    }
    double[] out = new double[tokens.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = a * tokens[i] + b * other.tokens[i];
    }
    return new LoadMatrix(sources, experts, out);
  }

  /** The same matrix with every value multiplied by {@code factor}. */
  public LoadMatrix scaled(double factor) {
    double[] out = new double[tokens.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = tokens[i] * factor;
    }
    return new LoadMatrix(sources, experts, out);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LoadMatrix m
        && m.sources == sources
        && m.experts == experts
        && Arrays.equals(m.tokens, tokens);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(tokens) * 31 + sources;
  }

  @Override
  public String toString() {
    return "LoadMatrix[" + sources + " sources x " + experts + " experts, " + total + " tokens]";
  }
}
