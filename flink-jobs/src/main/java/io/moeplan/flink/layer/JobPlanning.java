package io.moeplan.flink.layer;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.selector.LoadEstimator;
import io.moeplan.planner.selector.OnlineSelector;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.schemas.LayerPlacement;
import io.moeplan.schemas.Plan;
import io.moeplan.schemas.PlanPool;
import java.util.ArrayList;
import java.util.List;

/**
 * What the selector needs of one job's pool, derived once per pool version: the performance model
 * of the pool's cluster and model, the pool placements of every layer under the parallel config of
 * the pool's first plan (the plan a job starts on), and the selector itself.
 */
public final class JobPlanning {

  private final long poolVersion;
  private final ParallelConfig parallel;
  private final PerformanceModel model;
  private final OnlineSelector selector;
  private final LoadEstimator estimator;
  private final List<List<Placement>> poolByLayer;

  private JobPlanning(PlanPool pool, SelectorOptions options) {
    if (pool.getPlans().isEmpty()) {
      throw new IllegalArgumentException("pool of job '" + pool.getJobId() + "' has no plans");
    }
    this.poolVersion = pool.getPoolVersion();
    this.parallel = parallel(pool.getPlans().get(0));
    ModelSpec modelSpec = modelSpec(pool);
    this.model = PerformanceModel.of(clusterSpec(pool), modelSpec, parallel);
    this.selector = new OnlineSelector(model, options);
    this.estimator = new LoadEstimator(options.emaAlpha());
    int layers = modelSpec.moeLayers();
    List<List<Placement>> byLayer = new ArrayList<>(layers);
    for (int layer = 0; layer < layers; layer++) {
      byLayer.add(new ArrayList<>());
    }
    for (Plan plan : pool.getPlans()) {
      if (!parallel(plan).equals(parallel)) {
        continue;
      }
      for (LayerPlacement layerPlacement : plan.getLayers()) {
        if (layerPlacement.getLayer() >= 0 && layerPlacement.getLayer() < layers) {
          byLayer
              .get(layerPlacement.getLayer())
              .add(placement(layerPlacement.getSlotToExpert(), modelSpec.expertCount()));
        }
      }
    }
    this.poolByLayer = byLayer.stream().map(List::copyOf).toList();
  }

  /** The planning of a pool, scoring with the given selector options. */
  public static JobPlanning of(PlanPool pool, SelectorOptions options) {
    return new JobPlanning(pool, options);
  }

  /** Version of the pool this was derived from. */
  public long poolVersion() {
    return poolVersion;
  }

  /** Workers a placement spans (the expert-parallel group). */
  public int workers() {
    return parallel.ep();
  }

  /** The selector. */
  public OnlineSelector selector() {
    return selector;
  }

  /** The load estimator. */
  public LoadEstimator estimator() {
    return estimator;
  }

  /** The performance model. */
  public PerformanceModel model() {
    return model;
  }

  /** Pool placements of a layer, in pool order (empty if the pool has none for it). */
  public List<Placement> poolPlacements(int layer) {
    return layer < poolByLayer.size() ? poolByLayer.get(layer) : List.of();
  }

  /** The placement a job starts on: the first plan's, or the static layout if it has none. */
  public Placement initialPlacement(int layer, int experts) {
    List<Placement> placements = poolPlacements(layer);
    return placements.isEmpty()
        ? Placement.staticLayout(parallel.ep(), parallel.slotsPerWorker(), experts)
        : placements.get(0);
  }

  /** A placement of this pool's shape from a slot -> expert list. */
  public Placement placement(List<Integer> slotToExpert, int experts) {
    int[] slots = new int[slotToExpert.size()];
    for (int i = 0; i < slots.length; i++) {
      slots[i] = slotToExpert.get(i);
    }
    return placement(slots, experts);
  }

  /** A placement of this pool's shape from a slot -> expert array. */
  public Placement placement(int[] slotToExpert, int experts) {
    return Placement.of(slotToExpert, parallel.ep(), parallel.slotsPerWorker(), experts);
  }

  private static ParallelConfig parallel(Plan plan) {
    var p = plan.getParallel();
    return new ParallelConfig(p.getTp(), p.getPp(), p.getDp(), p.getEp(), p.getSlotsPerWorker());
  }

  private static ClusterSpec clusterSpec(PlanPool pool) {
    var c = pool.getCluster();
    return new ClusterSpec(
        c.getNodes(),
        c.getGpusPerNode(),
        c.getGpuFlops(),
        c.getIntraNodeBandwidth(),
        c.getInterNodeBandwidth(),
        c.getLatencySeconds(),
        c.getGpuMemoryBytes(),
        c.getExpertFixedSeconds());
  }

  private static ModelSpec modelSpec(PlanPool pool) {
    var m = pool.getModel();
    return new ModelSpec(
        m.getMoeLayers(),
        m.getExpertCount(),
        m.getTopK(),
        m.getHidden(),
        m.getFfnHidden(),
        m.getBytesPerElement(),
        m.getOptimizerBytesPerParam(),
        m.getTokensPerRank());
  }
}
