package io.moeplan.planner.model;

/**
 * Every term of the modelled time of one MoE layer for one iteration (docs/performance-model.md):
 * per-worker expert compute, per-worker all-to-all (with the bytes behind it), replica gradient
 * sync, and the layer time {@code max all-to-all + max compute + sync}. Immutable.
 */
public final class LayerCost {
  private final double[] workerTokens;
  private final int[] workerReplicas;
  private final double[] computeSeconds;
  private final double[] allToAllSeconds;
  private final double[] sendIntraBytes;
  private final double[] sendInterBytes;
  private final double[] recvIntraBytes;
  private final double[] recvInterBytes;
  private final double syncSeconds;
  private final double maxComputeSeconds;
  private final double maxAllToAllSeconds;
  private final int computeCriticalWorker;

  LayerCost(
      double[] workerTokens,
      int[] workerReplicas,
      double[] computeSeconds,
      double[] allToAllSeconds,
      double[] sendIntraBytes,
      double[] sendInterBytes,
      double[] recvIntraBytes,
      double[] recvInterBytes,
      double syncSeconds) {
    this.workerTokens = workerTokens;
    this.workerReplicas = workerReplicas;
    this.computeSeconds = computeSeconds;
    this.allToAllSeconds = allToAllSeconds;
    this.sendIntraBytes = sendIntraBytes;
    this.sendInterBytes = sendInterBytes;
    this.recvIntraBytes = recvIntraBytes;
    this.recvInterBytes = recvInterBytes;
    this.syncSeconds = syncSeconds;
    double maxC = 0;
    int critical = 0;
    for (int w = 0; w < computeSeconds.length; w++) {
      if (computeSeconds[w] > maxC) {
        maxC = computeSeconds[w];
        critical = w;
      }
    }
    double maxA = 0;
    for (double a : allToAllSeconds) {
      maxA = Math.max(maxA, a);
    }
    this.maxComputeSeconds = maxC;
    this.maxAllToAllSeconds = maxA;
    this.computeCriticalWorker = critical;
  }

  /** Number of workers. */
  public int workerCount() {
    return computeSeconds.length;
  }

  /** Tokens computed by {@code worker} (over all its replicas). */
  public double workerTokens(int worker) {
    return workerTokens[worker];
  }

  /** Replicas (occupied slots) on {@code worker}, each paying the fixed cost. */
  public int workerReplicas(int worker) {
    return workerReplicas[worker];
  }

  /** Expert compute of {@code worker}: replicas * fixed + tokens * perToken. */
  public double computeSeconds(int worker) {
    return computeSeconds[worker];
  }

  /** All-to-all time of {@code worker} over the four exchanges of an iteration. */
  public double allToAllSeconds(int worker) {
    return allToAllSeconds[worker];
  }

  /** Bytes {@code worker} sends to other workers of its node in one exchange. */
  public double sendIntraBytes(int worker) {
    return sendIntraBytes[worker];
  }

  /** Bytes {@code worker} sends to workers of other nodes in one exchange. */
  public double sendInterBytes(int worker) {
    return sendInterBytes[worker];
  }

  /** Bytes {@code worker} receives from other workers of its node in one exchange. */
  public double recvIntraBytes(int worker) {
    return recvIntraBytes[worker];
  }

  /** Bytes {@code worker} receives from workers of other nodes in one exchange. */
  public double recvInterBytes(int worker) {
    return recvInterBytes[worker];
  }

  /** Gradient all-reduce time of all replicated experts. */
  public double syncSeconds() {
    return syncSeconds;
  }

  /** The slowest worker's expert compute. */
  public double maxComputeSeconds() {
    return maxComputeSeconds;
  }

  /** The worker whose compute is the largest (lowest index on ties). */
  public int computeCriticalWorker() {
    return computeCriticalWorker;
  }

  /** The slowest worker's all-to-all. */
  public double maxAllToAllSeconds() {
    return maxAllToAllSeconds;
  }

  /** Layer time per iteration: max all-to-all + max compute + sync. */
  public double totalSeconds() {
    return maxAllToAllSeconds + maxComputeSeconds + syncSeconds;
  }

  @Override
  public String toString() {
    return String.format(
        java.util.Locale.ROOT,
        "LayerCost[total=%.6fs compute=%.6fs allToAll=%.6fs sync=%.6fs]",
        totalSeconds(),
        maxComputeSeconds,
        maxAllToAllSeconds,
        syncSeconds);
  }
}
