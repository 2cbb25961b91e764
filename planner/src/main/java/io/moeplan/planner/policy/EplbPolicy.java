package io.moeplan.planner.policy;

import io.moeplan.planner.eplb.EplbRebalancer;
import io.moeplan.planner.eplb.EplbResult;
import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.model.SwitchCost;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import java.util.Locale;

/**
 * DeepSeek EPLB's rebalance every window ({@link EplbRebalancer}) on the loads summed over ranks,
 * with one physical expert per slot: {@code replicas = workers * slotsPerWorker}, {@code gpus =
 * workers}. It runs the hierarchical policy with one group per expert when the experts divide
 * evenly over the nodes (so groups are packed onto nodes by load), else the global policy. The new
 * layout replaces the current one whenever it puts different experts on some worker; the switch
 * cost is paid, as EPLB does not weigh it.
 */
public final class EplbPolicy implements PlacementPolicy {
  /** The policy's name. */
  public static final String NAME = "eplb";

  private final PerformanceModel model;

  /** An EPLB policy that reports modelled times and migration with {@code model}. */
  public EplbPolicy(PerformanceModel model) {
    this.model = model;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Decision decide(Placement current, LoadMatrix observed) {
    Placement next = rebalance(current, observed.expertTotals(), model.gpusPerNode());
    double currentSeconds = model.layerSeconds(current, observed);
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
