package io.moeplan.planner.policy;

import io.moeplan.planner.eplb.EplbRebalancer;
import io.moeplan.planner.eplb.EplbResult;
import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.model.SwitchCost;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import java.util.Locale;

/**
 * DeepSeek EPLB run periodically ({@link EplbRebalancer}) on the loads summed over ranks, with one
 * physical expert per slot: {@code replicas = workers * slotsPerWorker}, {@code gpus = workers}. It
 * runs the hierarchical policy with one group per expert when the experts divide evenly over the
 * nodes (so groups are packed onto nodes by load), else the global policy. The new layout replaces
 * the current one whenever it puts different experts on some worker; the switch cost is paid, as
 * EPLB does not weigh it.
 *
 * <p>Its knobs are those of the inference engines that run EPLB: the layout is recomputed every
 * {@code intervalWindows} decisions (windows) from the mean load of the last {@code loadWindows}
 * windows (fewer at the start of a run); between rebalances the placement is kept and nothing
 * migrates. {@link #EplbPolicy(PerformanceModel)} rebalances every window from that window's load
 * alone.
 */
public final class EplbPolicy implements PlacementPolicy {
  /** The policy's name. */
  public static final String NAME = "eplb";

  private final PerformanceModel model;
  private final int intervalWindows;
  private final int loadWindows;
  private double[][] recent;
  private int seen;

  /** EPLB every window from the latest window's load, reporting with {@code model}. */
  public EplbPolicy(PerformanceModel model) {
    this(model, 1, 1);
  }

  /**
   * EPLB every {@code intervalWindows} windows from the mean load of the last {@code loadWindows}
   * windows.
   */
  public EplbPolicy(PerformanceModel model, int intervalWindows, int loadWindows) {
    if (intervalWindows < 1) {
      throw new IllegalArgumentException("intervalWindows must be >= 1, got " + intervalWindows);
    }
    if (loadWindows < 1) {
      throw new IllegalArgumentException("loadWindows must be >= 1, got " + loadWindows);
    }
    this.model = model;
    this.intervalWindows = intervalWindows;
    this.loadWindows = loadWindows;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Decision decide(Placement current, LoadMatrix observed) {
    if (recent == null) {
      recent = new double[loadWindows][];
    }
    recent[seen % loadWindows] = observed.expertTotals();
    seen++;
    double currentSeconds = model.layerSeconds(current, observed);
    if (seen % intervalWindows != 0) {
      return Decision.keep(
          current,
          currentSeconds,
          "next EPLB rebalance in " + (intervalWindows - seen % intervalWindows) + " window(s)");
    }
    Placement next = rebalance(current, meanLoad(observed.experts()), model.gpusPerNode());
    if (next.sameWorkerSets(current)) {
      return Decision.keep(current, currentSeconds, "EPLB layout unchanged");
    }
    double nextSeconds = model.layerSeconds(next, observed);
    SwitchCost cost = model.switchCost(current, next);
    return Decision.switchTo(
        next,
        currentSeconds,
        nextSeconds,
        cost,
        String.format(Locale.ROOT, "EPLB rebalance moves %d replicas", cost.replicasMoved()));
  }

  /** Mean expert totals over the windows kept (the last {@code loadWindows}, or all seen). */
  private double[] meanLoad(int experts) {
    int kept = Math.min(seen, loadWindows);
    double[] mean = new double[experts];
    for (int i = 0; i < kept; i++) {
      double[] loads = recent[i];
      for (int e = 0; e < experts; e++) {
        mean[e] += loads[e];
      }
    }
    for (int e = 0; e < experts; e++) {
      mean[e] /= kept;
    }
    return mean;
  }

  /** The EPLB layout of {@code expertLoads} in the shape of {@code shape}. */
  public static Placement rebalance(Placement shape, double[] expertLoads, int gpusPerNode) {
    int workers = shape.workerCount();
    int experts = shape.expertCount();
    int nodes = workers % gpusPerNode == 0 ? workers / gpusPerNode : 1;
    int groups = experts % nodes == 0 ? experts : 1;
    if (groups == 1) {
      nodes = 1;
    }
    EplbResult result =
        EplbRebalancer.rebalance(
            new double[][] {expertLoads.clone()}, shape.slotCount(), groups, nodes, workers);
    int[][] onWorker = new int[workers][shape.slotsPerWorker()];
    int[] phy2log = result.phy2log()[0];
    for (int p = 0; p < phy2log.length; p++) {
      onWorker[p / shape.slotsPerWorker()][p % shape.slotsPerWorker()] = phy2log[p];
    }
    return GreedyPlacement.arrange(onWorker, workers, shape.slotsPerWorker(), experts, shape);
  }
}
