package io.moeplan.planner.pool;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.spec.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A seeded synthetic skew model of expert loads, for pool searches without a trace. It mimics what
 * the GPT-MoE trace shows: each rank sends most of its tokens to a few experts of its own,
 * different ranks prefer different experts, the sum over ranks is much flatter, and popularity
 * drifts slowly.
 *
 * <p>Per layer (with its own stream of {@link Random}, seeded from the seed and the layer):
 *
 * <ul>
 *   <li>every expert gets a log-popularity {@code g_e ~ N(0, 0.5^2)}; before each sample every
 *       {@code g_e} takes a random-walk step {@code N(0, 0.1^2)}; popularity {@code p_e} is {@code
 *       exp(g_e)} normalised over the experts;
 *   <li>every rank draws {@value #HOT_EXPERTS} distinct hot experts (fewer when there are fewer
 *       experts), fixed for the whole history;
 *   <li>a rank routes {@code tokensPerRank} tokens per sample: {@value #HOT_SHARE} of them to its
 *       hot experts in proportion to their popularity, the rest to all experts in proportion to
 *       popularity.
 * </ul>
 */
public final class SyntheticLoads {
  /** Hot experts per rank. */
  public static final int HOT_EXPERTS = 4;

  /** Share of a rank's tokens that goes to its hot experts. */
  public static final double HOT_SHARE = 0.6;

  /** Standard deviation of the initial log-popularity. */
  public static final double POPULARITY_SIGMA = 0.5;

  /** Standard deviation of the log-popularity random-walk step between samples. */
  public static final double DRIFT_SIGMA = 0.1;

  /** Largest number of values (layers x samples x ranks x experts) generated. */
  public static final long MAX_VALUES = 1L << 24;

  private SyntheticLoads() {}

  /** {@code samples} samples per MoE layer of {@code model}, each {@code [ranks][experts]}. */
  public static LoadHistory generate(ModelSpec model, int ranks, int samples, long seed) {
    int experts = model.expertCount();
    int layers = model.moeLayers();
    if (ranks < 1 || samples < 1) {
      throw new IllegalArgumentException(
          "ranks and samples must be >= 1, got " + ranks + " and " + samples);
    }
    long values = (long) layers * samples * ranks * experts;
    if (values > MAX_VALUES) {
      throw new IllegalArgumentException(
          "synthetic history of "
              + layers
              + " layers x "
              + samples
              + " samples x "
              + ranks
              + " ranks x "
              + experts
              + " experts exceeds "
              + MAX_VALUES
              + " values; use fewer samples");
    }
    double tokens = model.tokensPerRank();
    int hot = Math.min(HOT_EXPERTS, experts);
    List<List<LoadMatrix>> history = new ArrayList<>(layers);
    for (int l = 0; l < layers; l++) {
      Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + l);
      double[] g = new double[experts];
      for (int e = 0; e < experts; e++) {
        g[e] = POPULARITY_SIGMA * rnd.nextGaussian();
      }
      int[][] hotOf = new int[ranks][hot];
      int[] perm = new int[experts];
      for (int r = 0; r < ranks; r++) {
        for (int e = 0; e < experts; e++) {
          perm[e] = e;
        }
        for (int i = 0; i < hot; i++) {
          int j = i + rnd.nextInt(experts - i);
          int t = perm[i];
          perm[i] = perm[j];
          perm[j] = t;
          hotOf[r][i] = perm[i];
        }
      }
      List<LoadMatrix> layer = new ArrayList<>(samples);
      double[] p = new double[experts];
      for (int t = 0; t < samples; t++) {
        double sum = 0;
        for (int e = 0; e < experts; e++) {
          g[e] += DRIFT_SIGMA * rnd.nextGaussian();
          p[e] = Math.exp(g[e]);
          sum += p[e];
        }
        for (int e = 0; e < experts; e++) {
          p[e] /= sum;
        }
        double[] flat = new double[ranks * experts];
        for (int r = 0; r < ranks; r++) {
          int base = r * experts;
          for (int e = 0; e < experts; e++) {
            flat[base + e] = tokens * (1 - HOT_SHARE) * p[e];
          }
          double hotSum = 0;
          for (int e : hotOf[r]) {
            hotSum += p[e];
          }
          for (int e : hotOf[r]) {
            flat[base + e] += tokens * HOT_SHARE * p[e] / hotSum;
          }
        }
        layer.add(LoadMatrix.ofFlat(ranks, experts, flat));
      }
      history.add(layer);
    }
    return new LoadHistory(history, describe(ranks, samples, seed));
  }

  /** The load source text of a synthetic history. */
  public static String describe(int ranks, int samples, long seed) {
    return String.format(
        Locale.ROOT, "synthetic(ranks=%d, samples=%d, seed=%d)", ranks, samples, seed);
  }
}
