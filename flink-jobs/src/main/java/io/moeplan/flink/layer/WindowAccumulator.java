package io.moeplan.flink.layer;

/**
 * The progress of one open window of one (job, layer): its shape, how many ranks reported every
 * iteration, and its timestamps. The token sums live beside it, one row per reporting rank, so a
 * sample rewrites only its own rank's row.
 */
public class WindowAccumulator {

  /** Ranks of the job when the window opened. */
  public int worldSize;

  /**
   * Ranks that report this layer: its pipeline stage's ranks, or every rank without pipeline stages
   * (0 in state written before pipeline stages: every rank).
   */
  public int hostingRanks;

  /** Experts of the layer. */
  public int experts;

  /** Ranks that reported every iteration of the window. */
  public int completeRanks;

  /** Ranks that reported at least one iteration. */
  public int ranksReported;

  /** Latest producer timestamp of any sample (metrics only). */
  public long latestProducedAtMillis;

  /** Processing time the window's first sample arrived (drives the timeout only). */
  public long openedAtMillis;

  /** For Flink's POJO serializer. */
  public WindowAccumulator() {}

  /**
   * An empty window for a layer of {@code experts} that {@code hostingRanks} of the job's {@code
   * worldSize} ranks report.
   */
  public static WindowAccumulator open(
      int worldSize, int hostingRanks, int experts, long openedAtMillis) {
    WindowAccumulator window = new WindowAccumulator();
    window.worldSize = worldSize;
    window.hostingRanks = hostingRanks;
    window.experts = experts;
    window.openedAtMillis = openedAtMillis;
    return window;
  }

  /** Whether a sample has this window's shape. */
  public boolean fits(LayerSample sample) {
    return sample.worldSize == worldSize
        && sample.hostingRanks == hostingRanks
        && sample.counts.length == experts
        && sample.rank >= 0
        && sample.rank < worldSize;
  }

  /**
   * Adds one sample to its rank's row ({@code experts} token sums, then the iterations reported);
   * {@code row} is null for the rank's first sample. Returns the updated row, or null (and changes
   * nothing) when the sample would take the rank past every iteration of the window.
   */
  public long[] add(LayerSample sample, long[] row, int windowIterations) {
    long[] updated = row == null ? new long[experts + 1] : row;
    if (sample.iterations < 1 || updated[experts] + sample.iterations > windowIterations) {
      return null;
    }
    if (row == null) {
      ranksReported++;
    }
    for (int e = 0; e < experts; e++) {
      updated[e] += sample.counts[e];
    }
    updated[experts] += sample.iterations;
    if (updated[experts] == windowIterations) {
      completeRanks++;
    }
    latestProducedAtMillis = Math.max(latestProducedAtMillis, sample.producedAtMillis);
    return updated;
  }

  /** Whether every rank that hosts the layer reported every iteration. */
  public boolean isComplete() {
    return completeRanks == expectedRanks();
  }

  /** The ranks that report this layer. */
  public int expectedRanks() {
    return hostingRanks > 0 ? hostingRanks : worldSize;
  }

  /**
   * Adds a rank's row to the token sums from each worker's ranks to each expert, {@code
   * sums[worker][expert]}, folding rank r onto worker {@code r mod workers}.
   */
  public void addToSums(long[][] sums, int rank, long[] row) {
    long[] target = sums[rank % sums.length];
    for (int e = 0; e < experts; e++) {
      target[e] += row[e];
    }
  }

  /** Mean tokens per iteration from summed counts: integer sums first, one division each. */
  public static double[][] mean(long[][] sums, int windowIterations) {
    double[][] mean = new double[sums.length][];
    for (int w = 0; w < sums.length; w++) {
      mean[w] = new double[sums[w].length];
      for (int e = 0; e < sums[w].length; e++) {
        mean[w][e] = (double) sums[w][e] / windowIterations;
      }
    }
    return mean;
  }
}
