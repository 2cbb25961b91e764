package io.moeplan.launcher.local;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.PlanDecision;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The modelled side of the local stack's report: follows the decisions as the executor does
 * (dropping redeliveries by id, each switch from its effective iteration) and accounts the modelled
 * time of each iteration's measured loads on the placements in force against the static layout. It
 * starts, as the job and the executor do, on the pool's starting plan, and models with the pool's
 * cluster and model under that plan's parallel config. The executor itself applies the switches;
 * this only counts and models. Not thread-safe: the caller serialises access.
 */
final class PlacementTracker {

  private final PerformanceModel model;
  private final ParallelConfig parallel;
  private final int experts;
  private final Placement[] current;
  private final Placement staticLayout;
  private final Set<String> seenDecisions = new HashSet<>();
  private final PriorityQueue<PlanDecision> pending =
      new PriorityQueue<>(
          (a, b) -> Long.compare(a.getEffectiveIteration(), b.getEffectiveIteration()));
  private long switchesApplied;
  private long lateSwitches;
  private long decisions;
  private double modelledSeconds;
  private double staticSeconds;

  /**
   * A tracker of the job whose pool is {@code pool}, as {@code PoolRecords.fromRecord} reads it.
   */
  PlacementTracker(Pool pool) {
    this.parallel = pool.startingPlan().parallel();
    this.model = PerformanceModel.of(pool.cluster(), pool.model(), parallel);
    this.experts = pool.model().expertCount();
    this.current = new Placement[pool.model().moeLayers()];
    for (int layer = 0; layer < current.length; layer++) {
      current[layer] = pool.startingPlacement(layer);
    }
    this.staticLayout =
        Placement.staticLayout(current[0].workerCount(), current[0].slotsPerWorker(), experts);
  }

  /** Takes a decision; returns false for a redelivery of one already taken. */
  boolean offer(PlanDecision decision) {
    if (!seenDecisions.add(decision.getDecisionId())) {
      return false;
    }
    decisions++;
    if (decision.getAction() == DecisionAction.SWITCH) {
      pending.add(decision);
    }
    return true;
  }

  /** Applies the switches due at {@code iteration}; returns them. */
  List<PlanDecision> applyDue(long iteration) {
    List<PlanDecision> applied = new ArrayList<>();
    while (!pending.isEmpty() && pending.peek().getEffectiveIteration() <= iteration) {
      PlanDecision decision = pending.poll();
      if (decision.getEffectiveIteration() < iteration) {
        lateSwitches++;
      }
      current[decision.getLayer()] = placement(decision.getSlotToExpert());
      modelledSeconds += decision.getMigrationSeconds();
      switchesApplied++;
      applied.add(decision);
    }
    return applied;
  }

  /** The placement of a decision's slot -> expert list, in the starting plan's layout. */
  private Placement placement(List<Integer> slotToExpert) {
    int[] slots = slotToExpert.stream().mapToInt(Integer::intValue).toArray();
    return Placement.of(slots, parallel.ep(), parallel.slotsPerWorker(), experts);
  }

  /** Accounts one iteration's loads, {@code counts[rank][layer][expert]}. */
  void account(long[][][] counts) {
    int workers = staticLayout.workerCount();
    for (int layer = 0; layer < current.length; layer++) {
      double[][] perWorker = new double[workers][experts];
      for (int rank = 0; rank < counts.length; rank++) {
        long[] row = counts[rank][layer];
        double[] target = perWorker[rank % workers];
        for (int e = 0; e < experts; e++) {
          target[e] += row[e];
        }
      }
      LoadMatrix load = LoadMatrix.of(perWorker);
      modelledSeconds += model.layerSeconds(current[layer], load);
      staticSeconds += model.layerSeconds(staticLayout, load);
    }
  }

  /** Switches applied so far; ranks report it as the plan version they run. */
  long planVersion() {
    return switchesApplied;
  }

  /** Decisions taken (not counting redeliveries). */
  long decisions() {
    return decisions;
  }

  /** Switches applied after their effective iteration (they arrived late). */
  long lateSwitches() {
    return lateSwitches;
  }

  /**
   * Modelled MoE time on the static layout over the modelled time on the placements used, the
   * migrations paid included.
   */
  double speedupOverStatic() {
    return modelledSeconds == 0 ? 1 : staticSeconds / modelledSeconds;
  }
}
