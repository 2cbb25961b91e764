package io.moeplan.launcher.local;

import java.util.Random;

/**
 * A seeded synthetic token router that behaves like real MoE routing, one iteration at a time.
 *
 * <p>Per layer, every expert has a log-popularity that takes a small random-walk step each
 * iteration (popularity drifts slowly). Every rank has {@value #FAVOURITES} favourite experts of
 * its own and sends {@value #FAVOURITE_SHARE} of its tokens to them (in proportion to their
 * popularity), the rest to all experts by popularity: each rank is strongly skewed, the sum over
 * ranks much flatter, as in the GPT-MoE trace. With probability {@value #SHIFT_PROBABILITY} per
 * rank, layer and iteration a rank swaps one favourite for another expert (an occasional shift).
 * Counts per rank and layer sum to exactly {@code tokensPerRank} (largest-remainder rounding). The
 * same seed gives the same stream.
 */
public final class SyntheticRouting implements Routing {

  /** Favourite experts per rank. */
  public static final int FAVOURITES = 4;

  /** Share of a rank's tokens that goes to its favourites. */
  public static final double FAVOURITE_SHARE = 0.6;

  /** Standard deviation of an expert's initial log-popularity. */
  public static final double POPULARITY_SIGMA = 0.5;

  /** Standard deviation of the per-iteration log-popularity step. */
  public static final double DRIFT_SIGMA = 0.02;

  /** Chance per rank, layer and iteration that a rank changes one favourite. */
  public static final double SHIFT_PROBABILITY = 0.002;

  private final int ranks;
  private final int layers;
  private final int experts;
  private final long tokensPerRank;
  private final Random random;
  private final double[][] logPopularity;
  private final int[][][] favourites;
  private long iteration = -1;

  /** A router for {@code ranks} ranks and {@code layers} layers of {@code experts} experts. */
  public SyntheticRouting(int ranks, int layers, int experts, long tokensPerRank, long seed) {
    if (ranks < 1 || layers < 1 || experts < 1 || tokensPerRank < 0) {
      throw new IllegalArgumentException(
          "ranks, layers and experts must be >= 1 and tokensPerRank >= 0, got "
              + ranks
              + ", "
              + layers
              + ", "
              + experts
              + ", "
              + tokensPerRank);
    }
    this.ranks = ranks;
    this.layers = layers;
    this.experts = experts;
    this.tokensPerRank = tokensPerRank;
    this.random = new Random(seed);
    this.logPopularity = new double[layers][experts];
    this.favourites = new int[layers][ranks][Math.min(FAVOURITES, experts)];
    for (int l = 0; l < layers; l++) {
      for (int e = 0; e < experts; e++) {
        logPopularity[l][e] = POPULARITY_SIGMA * random.nextGaussian();
      }
      for (int r = 0; r < ranks; r++) {
        pickDistinct(favourites[l][r]);
      }
    }
  }

  @Override
  public long advance() {
    iteration++;
    if (iteration > 0) {
      for (int l = 0; l < layers; l++) {
        for (int e = 0; e < experts; e++) {
          logPopularity[l][e] += DRIFT_SIGMA * random.nextGaussian();
        }
        for (int r = 0; r < ranks; r++) {
          if (random.nextDouble() < SHIFT_PROBABILITY) {
            shift(favourites[l][r]);
          }
        }
      }
    }
    return iteration;
  }

  @Override
  public long[][] counts(int rank) {
    if (iteration < 0) {
      throw new IllegalStateException("call advance() first");
    }
    long[][] counts = new long[layers][];
    for (int l = 0; l < layers; l++) {
      counts[l] = layerCounts(l, rank);
    }
    return counts;
  }

  @Override
  public String describe() {
    return "synthetic routing";
  }

  private long[] layerCounts(int layer, int rank) {
    double[] popularity = new double[experts];
    double total = 0;
    for (int e = 0; e < experts; e++) {
      popularity[e] = Math.exp(logPopularity[layer][e]);
      total += popularity[e];
    }
    int[] favourite = favourites[layer][rank];
    double favouriteTotal = 0;
    for (int e : favourite) {
      favouriteTotal += popularity[e];
    }
    double[] share = new double[experts];
    for (int e = 0; e < experts; e++) {
      share[e] = (1 - FAVOURITE_SHARE) * popularity[e] / total;
    }
    for (int e : favourite) {
      share[e] += FAVOURITE_SHARE * popularity[e] / favouriteTotal;
    }
    return round(share);
  }

  /** Largest-remainder rounding of {@code share * tokensPerRank}; ties to the lower expert. */
  private long[] round(double[] share) {
    long[] counts = new long[experts];
    double[] remainder = new double[experts];
    long assigned = 0;
    for (int e = 0; e < experts; e++) {
      double exact = share[e] * tokensPerRank;
      counts[e] = (long) Math.floor(exact);
      remainder[e] = exact - counts[e];
      assigned += counts[e];
    }
    for (long left = tokensPerRank - assigned; left > 0; left--) {
      int best = 0;
      for (int e = 1; e < experts; e++) {
        if (remainder[e] > remainder[best]) {
          best = e;
        }
      }
      counts[best]++;
      remainder[best] = -1;
    }
    return counts;
  }

  private void pickDistinct(int[] chosen) {
    for (int i = 0; i < chosen.length; i++) {
      int candidate;
      do {
        candidate = random.nextInt(experts);
      } while (contains(chosen, i, candidate));
      chosen[i] = candidate;
    }
  }

  private void shift(int[] chosen) {
    if (chosen.length == experts) {
      return;
    }
    int slot = random.nextInt(chosen.length);
    int candidate;
    do {
      candidate = random.nextInt(experts);
    } while (contains(chosen, chosen.length, candidate));
    chosen[slot] = candidate;
  }

  private static boolean contains(int[] values, int length, int value) {
    for (int i = 0; i < length; i++) {
      if (values[i] == value) {
        return true;
      }
    }
    return false;
  }
}
