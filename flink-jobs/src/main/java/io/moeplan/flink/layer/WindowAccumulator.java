package io.moeplan.flink.layer;

/**
 * What one window of one (job, layer) has received so far: token sums per reporting rank and
 * expert, and how many of the window's iterations each rank has reported.
 */
public class WindowAccumulator {

  /** Ranks of the job when the window opened. */
  public int worldSize;

  /** Experts of the layer. */
  public int experts;

  /** Token sums, {@code [rank * experts + expert]}. */
  public long[] sums;

  /** Iterations reported per rank. */
  public int[] iterations;

  /** Ranks that reported every iteration of the window. */
  public int completeRanks;

  /** Latest producer timestamp of any sample (metrics only). */
  public long latestProducedAtMillis;

  /** Processing time the window's first sample arrived (drives the timeout only). */
  public long openedAtMillis;

  /** For Flink's POJO serializer. */
  public WindowAccumulator() {}

  /** An empty window for a job of {@code worldSize} ranks and a layer of {@code experts}. */
  public static WindowAccumulator open(int worldSize, int experts, long openedAtMillis) {
    WindowAccumulator window = new WindowAccumulator();
    window.worldSize = worldSize;
    window.experts = experts;
    window.sums = new long[Math.multiplyExact(worldSize, experts)];
    window.iterations = new int[worldSize];
    window.openedAtMillis = openedAtMillis;
    return window;
  }

  /**
   * Adds one sample; returns false (and changes nothing) when it does not fit this window's shape
   * or the rank already reported {@code windowIterations} iterations.
   */
  public boolean add(LayerSample sample, int windowIterations) {
    if (sample.worldSize != worldSize
        || sample.counts.length != experts
        || iterations[sample.rank] >= windowIterations) {
      return false;
    }
    int base = sample.rank * experts;
    for (int e = 0; e < experts; e++) {
      sums[base + e] += sample.counts[e];
    }
    iterations[sample.rank]++;
    if (iterations[sample.rank] == windowIterations) {
      completeRanks++;
    }
    latestProducedAtMillis = Math.max(latestProducedAtMillis, sample.producedAtMillis);
    return true;
  }

  /** Whether every rank reported every iteration. */
  public boolean isComplete() {
    return completeRanks == worldSize;
  }

  /** Ranks that reported at least one iteration. */
  public int ranksReported() {
    int count = 0;
    for (int reported : iterations) {
      if (reported > 0) {
        count++;
      }
    }
    return count;
  }

  /**
   * Mean tokens per iteration from each worker's ranks to each expert, {@code [worker][expert]},
   * folding rank r onto worker {@code r mod workers}.
   */
  public double[][] meanPerWorker(int workers, int windowIterations) {
    double[][] mean = new double[workers][experts];
    for (int rank = 0; rank < worldSize; rank++) {
      double[] row = mean[rank % workers];
      int base = rank * experts;
      for (int e = 0; e < experts; e++) {
        row[e] += sums[base + e];
      }
    }
    for (double[] row : mean) {
      for (int e = 0; e < experts; e++) {
        row[e] /= windowIterations;
      }
    }
    return mean;
  }
}
