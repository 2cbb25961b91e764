package io.moeplan.planner.model;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;

/**
 * The performance model (docs/performance-model.md) for one MoE layer and iteration. Worker {@code
 * w} sits on node {@code w / gpusPerNode}; source rank {@code s} of a {@link LoadMatrix} runs on
 * worker {@code s}.
 *
 * <ul>
 *   <li>Expert compute: every replica costs {@code fixed + perToken * tokens}; tokens of an expert
 *       are split evenly among its replicas (no locality rule).
 *   <li>All-to-all: per exchange a worker moves {@code max(send, receive)} intra-node bytes over
 *       the intra-node bandwidth plus {@code max(send, receive)} inter-node bytes over the
 *       inter-node bandwidth (links are full duplex, so sending and receiving overlap), plus the
 *       latency; four exchanges per iteration (dispatch and combine, forward and backward). Tokens
 *       that stay on their worker cost nothing.
 *   <li>Replica sync: each expert with {@code r > 1} replicas all-reduces {@code 2 (r-1)/r *
 *       expertParams * bytesPerElement} bytes, over the inter-node bandwidth when its replicas span
 *       nodes; the all-reduces of different experts run one after another.
 *   <li>Layer time: {@code max all-to-all + max compute + sync} (no overlap).
 *   <li>Switch cost: a worker that gets an expert it did not hold receives its parameters and
 *       optimizer state from the cheapest existing replica (one on its own node if there is one,
 *       else one on another node); the time is the largest per-worker receive time. With a measured
 *       migration bandwidth ({@link #withMigrationBandwidth}) every received replica costs {@code
 *       migrationBytesPerExpert / migrationBandwidth}, wherever its source is.
 * </ul>
 *
 * <p>{@code commScale} multiplies the all-to-all and sync terms; it is 1 until {@link Calibration}
 * fits it from measured step times.
 */
public final class PerformanceModel {
  private final int gpusPerNode;
  private final double fixedSeconds;
  private final double perTokenSeconds;
  private final double bytesPerToken;
  private final double intraNodeBandwidth;
  private final double interNodeBandwidth;
  private final double latencySeconds;
  private final double syncBytesPerExpert;
  private final long migrationBytesPerExpert;
  private final double commScale;
  private final double migrationBandwidth;

  /** A model with every constant given explicitly (tests and calibration use this). */
  public PerformanceModel(
      int gpusPerNode,
      double fixedSeconds,
      double perTokenSeconds,
      double bytesPerToken,
      double intraNodeBandwidth,
      double interNodeBandwidth,
      double latencySeconds,
      double syncBytesPerExpert,
      long migrationBytesPerExpert,
      double commScale) {
    this(
        gpusPerNode,
        fixedSeconds,
        perTokenSeconds,
        bytesPerToken,
        intraNodeBandwidth,
        interNodeBandwidth,
        latencySeconds,
        syncBytesPerExpert,
        migrationBytesPerExpert,
        commScale,
        0);
  }

  private PerformanceModel(
      int gpusPerNode,
      double fixedSeconds,
      double perTokenSeconds,
      double bytesPerToken,
      double intraNodeBandwidth,
      double interNodeBandwidth,
      double latencySeconds,
      double syncBytesPerExpert,
      long migrationBytesPerExpert,
      double commScale,
      double migrationBandwidth) {
    if (gpusPerNode < 1) {
      throw new IllegalArgumentException("gpusPerNode must be >= 1, got " + gpusPerNode);
    }
    requireNonNegative("fixedSeconds", fixedSeconds);
    requireNonNegative("perTokenSeconds", perTokenSeconds);
    requireNonNegative("bytesPerToken", bytesPerToken);
    requirePositive("intraNodeBandwidth", intraNodeBandwidth);
    requirePositive("interNodeBandwidth", interNodeBandwidth);
    requireNonNegative("latencySeconds", latencySeconds);
    requireNonNegative("syncBytesPerExpert", syncBytesPerExpert);
    requireNonNegative("commScale", commScale);
    requireNonNegative("migrationBandwidth", migrationBandwidth);
    if (migrationBytesPerExpert < 0) {
      throw new IllegalArgumentException("migrationBytesPerExpert must be >= 0");
    }
    this.gpusPerNode = gpusPerNode;
    this.fixedSeconds = fixedSeconds;
    this.perTokenSeconds = perTokenSeconds;
    this.bytesPerToken = bytesPerToken;
    this.intraNodeBandwidth = intraNodeBandwidth;
    this.interNodeBandwidth = interNodeBandwidth;
    this.latencySeconds = latencySeconds;
    this.syncBytesPerExpert = syncBytesPerExpert;
    this.migrationBytesPerExpert = migrationBytesPerExpert;
    this.commScale = commScale;
    this.migrationBandwidth = migrationBandwidth;
  }

  private static void requireNonNegative(String name, double v) {
    if (!(v >= 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException(name + " must be finite and >= 0, got " + v);
    }
  }

  private static void requirePositive(String name, double v) {
    if (!(v > 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException(name + " must be finite and > 0, got " + v);
    }
  }

  /**
   * The model for a cluster, a model and a parallel config: {@code perToken = 12 * hidden *
   * ffnHidden / tp / gpuFlops}, {@code fixed = expertFixedSeconds}, expert parameters {@code 2 *
   * hidden * ffnHidden / tp}.
   */
  public static PerformanceModel of(ClusterSpec cluster, ModelSpec model, ParallelConfig config) {
    long params = model.expertParams(config.tp());
    return new PerformanceModel(
        cluster.gpusPerNode(),
        cluster.expertFixedSeconds(),
        model.flopsPerToken(config.tp()) / cluster.gpuFlops(),
        model.bytesPerToken(),
        cluster.intraNodeBandwidth(),
        cluster.interNodeBandwidth(),
        cluster.latencySeconds(),
        (double) params * model.bytesPerElement(),
        params * (model.bytesPerElement() + model.optimizerBytesPerParam()),
        1.0);
  }

  /**
   * The same model with fitted compute constants and communication scale; a measured migration
   * bandwidth is kept.
   */
  public PerformanceModel withConstants(
      double newFixedSeconds, double newPerTokenSeconds, double newCommScale) {
    return new PerformanceModel(
        gpusPerNode,
        newFixedSeconds,
        newPerTokenSeconds,
        bytesPerToken,
        intraNodeBandwidth,
        interNodeBandwidth,
        latencySeconds,
        syncBytesPerExpert,
        migrationBytesPerExpert,
        newCommScale,
        migrationBandwidth);
  }

  /**
   * The same model where every migrated replica costs {@code migrationBytesPerExpert /
   * bytesPerSecond} seconds on the receiving worker, whether its source is on the same node or not
   * (a measured throughput does not say where the bytes came from). {@code 0} means not calibrated:
   * migrations go over the intra- and inter-node bandwidths again.
   */
  public PerformanceModel withMigrationBandwidth(double bytesPerSecond) {
    return new PerformanceModel(
        gpusPerNode,
        fixedSeconds,
        perTokenSeconds,
        bytesPerToken,
        intraNodeBandwidth,
        interNodeBandwidth,
        latencySeconds,
        syncBytesPerExpert,
        migrationBytesPerExpert,
        commScale,
        bytesPerSecond);
  }

  /** Node of {@code worker}. */
  public int nodeOf(int worker) {
    return worker / gpusPerNode;
  }

  /** GPUs (workers) per node. */
  public int gpusPerNode() {
    return gpusPerNode;
  }

  /** Fixed compute seconds per expert replica and iteration. */
  public double fixedSeconds() {
    return fixedSeconds;
  }

  /** Compute seconds per token through one replica. */
  public double perTokenSeconds() {
    return perTokenSeconds;
  }

  /** Wire bytes of one token: hidden * bytesPerElement. */
  public double bytesPerToken() {
    return bytesPerToken;
  }

  /** Intra-node bandwidth in bytes/s. */
  public double intraNodeBandwidth() {
    return intraNodeBandwidth;
  }

  /** Inter-node bandwidth in bytes/s. */
  public double interNodeBandwidth() {
    return interNodeBandwidth;
  }

  /** Latency of one all-to-all exchange in seconds. */
  public double latencySeconds() {
    return latencySeconds;
  }

  /** Gradient bytes of one expert replica (parameters * bytesPerElement). */
  public double syncBytesPerExpert() {
    return syncBytesPerExpert;
  }

  /** Bytes moved per migrated replica: parameters * (bytesPerElement + optimizer bytes). */
  public long migrationBytesPerExpert() {
    return migrationBytesPerExpert;
  }

  /** Multiplier on all-to-all and sync terms (1 before calibration). */
  public double commScale() {
    return commScale;
  }

  /** Measured migration throughput in bytes/s, or 0 when not calibrated. */
  public double migrationBandwidth() {
    return migrationBandwidth;
  }

  /**
   * Seconds a worker spends receiving one replica (parameters and optimizer state): over the
   * measured migration bandwidth when there is one, else over the intra-node bandwidth when the
   * source is on the same node and the inter-node bandwidth when not.
   */
  public double replicaMigrationSeconds(boolean sameNode) {
    double bandwidth =
        migrationBandwidth > 0
            ? migrationBandwidth
            : sameNode ? intraNodeBandwidth : interNodeBandwidth;
    return migrationBytesPerExpert / bandwidth;
  }

  /** Compute seconds of a worker with {@code slots} replicas processing {@code tokens} tokens. */
  public double computeSeconds(double slots, double tokens) {
    return slots * fixedSeconds + tokens * perTokenSeconds;
  }

  /** Modelled all-to-all time of a worker from its per-exchange bytes. */
  public double allToAllSeconds(
      double sendIntra, double sendInter, double recvIntra, double recvInter) {
    return commScale
        * 4
        * (latencySeconds
            + Math.max(sendIntra, recvIntra) / intraNodeBandwidth
            + Math.max(sendInter, recvInter) / interNodeBandwidth);
  }

  /** Sync time of one expert with {@code replicas} replicas, spanning nodes or not. */
  public double syncSeconds(int replicas, boolean spansNodes) {
    if (replicas <= 1) {
      return 0;
    }
    double bytes = 2.0 * (replicas - 1) / replicas * syncBytesPerExpert;
    return commScale * bytes / (spansNodes ? interNodeBandwidth : intraNodeBandwidth);
  }

  /** Evaluates every term for a placement under a load (sources must not exceed workers). */
  public LayerCost evaluate(Placement placement, LoadMatrix load) {
    int workers = placement.workerCount();
    int experts = placement.expertCount();
    int spw = placement.slotsPerWorker();
    checkLoad(placement, load);
    int nodes = (workers + gpusPerNode - 1) / gpusPerNode;
    int[] replicas = placement.replicaCounts();
    // replicas of each expert per worker and per node
    int[][] perNode = new int[nodes][experts];
    double[] tokens = new double[workers];
    int[] workerReplicas = new int[workers];
    double[] recvIntra = new double[workers];
    double[] recvInter = new double[workers];
    double[] sendIntra = new double[workers];
    double[] sendInter = new double[workers];
    for (int slot = 0; slot < placement.slotCount(); slot++) {
      perNode[nodeOf(slot / spw)][placement.expertAt(slot)]++;
    }
    for (int slot = 0; slot < placement.slotCount(); slot++) {
      int w = slot / spw;
      int e = placement.expertAt(slot);
      double share = 1.0 / replicas[e];
      tokens[w] += load.expertTotal(e) * share;
      workerReplicas[w]++;
      int node = nodeOf(w);
      for (int s = 0; s < load.sources(); s++) {
        double t = load.tokens(s, e) * share;
        if (t == 0 || s == w) {
          continue;
        }
        double bytes = t * bytesPerToken;
        if (nodeOf(s) == node) {
          recvIntra[w] += bytes;
          sendIntra[s] += bytes;
        } else {
          recvInter[w] += bytes;
          sendInter[s] += bytes;
        }
      }
    }
    double[] compute = new double[workers];
    double[] allToAll = new double[workers];
    for (int w = 0; w < workers; w++) {
      compute[w] = computeSeconds(workerReplicas[w], tokens[w]);
      allToAll[w] = allToAllSeconds(sendIntra[w], sendInter[w], recvIntra[w], recvInter[w]);
    }
    double sync = 0;
    for (int e = 0; e < experts; e++) {
      if (replicas[e] > 1) {
        int used = 0;
        for (int n = 0; n < nodes; n++) {
          if (perNode[n][e] > 0) {
            used++;
          }
        }
        sync += syncSeconds(replicas[e], used > 1);
      }
    }
    return new LayerCost(
        tokens,
        workerReplicas,
        compute,
        allToAll,
        sendIntra,
        sendInter,
        recvIntra,
        recvInter,
        sync);
  }

  /** Modelled layer time per iteration (the total of {@link #evaluate}). */
  public double layerSeconds(Placement placement, LoadMatrix load) {
    return evaluate(placement, load).totalSeconds();
  }

  /** Cost of switching from {@code from} to {@code to} (same shape), as documented on the class. */
  public SwitchCost switchCost(Placement from, Placement to) {
    if (from.workerCount() != to.workerCount()
        || from.slotsPerWorker() != to.slotsPerWorker()
        || from.expertCount() != to.expertCount()) {
      throw new IllegalArgumentException("placements of different shapes: " + from + " -> " + to);
    }
    int workers = to.workerCount();
    int spw = to.slotsPerWorker();
    int experts = to.expertCount();
    int nodes = (workers + gpusPerNode - 1) / gpusPerNode;
    boolean[] onNode = new boolean[nodes * experts];
    for (int slot = 0; slot < from.slotCount(); slot++) {
      onNode[nodeOf(slot / spw) * experts + from.expertAt(slot)] = true;
    }
    long bytes = 0;
    int moved = 0;
    double worst = 0;
    int[] seen = new int[experts];
    java.util.Arrays.fill(seen, -1);
    for (int w = 0; w < workers; w++) {
      double seconds = 0;
      for (int i = 0; i < spw; i++) {
        int e = to.expertAt(w * spw + i);
        if (seen[e] == w || from.workerHolds(w, e)) {
          continue;
        }
        seen[e] = w;
        moved++;
        bytes += migrationBytesPerExpert;
        seconds += replicaMigrationSeconds(onNode[nodeOf(w) * experts + e]);
      }
      worst = Math.max(worst, seconds);
    }
    return moved == 0 ? SwitchCost.NONE : new SwitchCost(bytes, worst, moved);
  }

  private static void checkLoad(Placement placement, LoadMatrix load) {
    if (load.experts() != placement.expertCount()) {
      throw new IllegalArgumentException(
          "load has " + load.experts() + " experts, placement has " + placement.expertCount());
    }
    if (load.sources() > placement.workerCount()) {
      throw new IllegalArgumentException(
          "load has "
              + load.sources()
              + " sources, more than the "
              + placement.workerCount()
              + " workers");
    }
  }

  @Override
  public String toString() {
    return String.format(
        java.util.Locale.ROOT,
        "PerformanceModel[fixed=%.3gs perToken=%.3gs bytesPerToken=%.0f intra=%.3gB/s"
            + " inter=%.3gB/s latency=%.3gs commScale=%.3g migration=%s gpusPerNode=%d]",
        fixedSeconds,
        perTokenSeconds,
        bytesPerToken,
        intraNodeBandwidth,
        interNodeBandwidth,
        latencySeconds,
        commScale,
        migrationBandwidth > 0
            ? String.format(java.util.Locale.ROOT, "%.3gB/s", migrationBandwidth)
            : "uncalibrated",
        gpusPerNode);
  }
}
