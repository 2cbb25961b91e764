package io.moeplan.flink.layer;

import io.moeplan.flink.calibration.JobCalibration;
import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.selector.LoadEstimator;
import io.moeplan.planner.selector.OnlineSelector;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.PlanPool;
import java.util.ArrayList;
import java.util.List;

/**
 * What the selector needs of one job's pool, derived once per pool version from the record as
 * {@link PoolRecords} reads it: the performance model of the pool's cluster and model, the pool
 * placements of every layer under the parallel config of the pool's starting plan, and the selector
 * itself. {@link #withFit} swaps in the job's calibrated model.
 */
public final class JobPlanning {

  private final long poolVersion;
  private final long modelVersion;
  private final ParallelConfig parallel;
  private final PerformanceModel prior;
  private final PerformanceModel model;
  private final OnlineSelector selector;
  private final LoadEstimator estimator;
  private final List<Placement> starting;
  private final List<List<Placement>> poolByLayer;

  private JobPlanning(Pool pool, SelectorOptions options) {
    this.poolVersion = pool.poolVersion();
    this.modelVersion = 0;
    this.parallel = pool.startingPlan().parallel();
    this.prior = PerformanceModel.of(pool.cluster(), pool.model(), parallel);
    this.model = prior;
    this.selector = new OnlineSelector(model, options);
    this.estimator = new LoadEstimator(options.emaAlpha());
    int layers = pool.model().moeLayers();
    List<Placement> startingByLayer = new ArrayList<>(layers);
    List<List<Placement>> byLayer = new ArrayList<>(layers);
    for (int layer = 0; layer < layers; layer++) {
      startingByLayer.add(pool.startingPlacement(layer));
      byLayer.add(pool.placements(parallel, layer));
    }
    this.starting = List.copyOf(startingByLayer);
    this.poolByLayer = List.copyOf(byLayer);
  }

  /**
   * The planning of a pool record, scoring with the given selector options.
   *
   * @throws IllegalArgumentException when the record is not a valid pool (see {@link
   *     PoolRecords#fromRecord})
   */
  public static JobPlanning of(PlanPool pool, SelectorOptions options) {
    return new JobPlanning(PoolRecords.fromRecord(pool), options);
  }

  private JobPlanning(
      JobPlanning base, PerformanceModel model, long modelVersion, SelectorOptions options) {
    this.poolVersion = base.poolVersion;
    this.modelVersion = modelVersion;
    this.parallel = base.parallel;
    this.prior = base.prior;
    this.model = model;
    this.selector = new OnlineSelector(model, options);
    this.estimator = base.estimator;
    this.starting = base.starting;
    this.poolByLayer = base.poolByLayer;
  }

  /**
   * This planning scoring with the pool's model calibrated by {@code fit} ({@link
   * JobCalibration#withFit}); a null fit gives the pool's own model at model version 0.
   */
  public JobPlanning withFit(ModelFit fit, SelectorOptions options) {
    return new JobPlanning(
        this, JobCalibration.withFit(prior, fit), fit == null ? 0 : fit.getModelVersion(), options);
  }

  /** Version of the pool this was derived from. */
  public long poolVersion() {
    return poolVersion;
  }

  /** Version of the calibrated model the selector scores with; 0 for the pool's constants. */
  public long modelVersion() {
    return modelVersion;
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

  /** Pool placements of a layer, in pool order (empty for a layer outside the model). */
  public List<Placement> poolPlacements(int layer) {
    return layer >= 0 && layer < poolByLayer.size() ? poolByLayer.get(layer) : List.of();
  }

  /** The placement a job starts on: the layer's placement in the pool's starting plan. */
  public Placement initialPlacement(int layer) {
    return starting.get(layer);
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
}
