package io.moeplan.poolloader;

import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.pool.LayerPlan;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.StartLayout;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.schemas.JobIds;
import io.moeplan.schemas.LayerPlacement;
import io.moeplan.schemas.Plan;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.PoolBuild;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The one mapping between the planner's {@link Pool} and the {@code PlanPool} record of the wire,
 * both ways. Everything that reads a pool record (the plan-selector job, executors, the launcher)
 * decodes it here, so the record's meaning (which plan a job starts on, which placements the
 * selector may pick from) is defined once.
 */
public final class PoolRecords {

  private PoolRecords() {}

  /** The record of {@code pool} for job {@code jobId}, stamped with build time and builder. */
  public static PlanPool toRecord(Pool pool, String jobId, Instant builtAt, String builder) {
    JobIds.requireValid(jobId);
    List<Plan> plans = new ArrayList<>(pool.plans().size());
    for (io.moeplan.planner.pool.Plan plan : pool.plans()) {
      List<LayerPlacement> layers = new ArrayList<>(plan.layers().size());
      for (LayerPlan layer : plan.layers()) {
        layers.add(
            LayerPlacement.newBuilder()
                .setLayer(layer.layer())
                .setSlotToExpert(slots(layer.placement()))
                .setPredictedSeconds(layer.predictedSeconds())
                .build());
      }
      plans.add(
          Plan.newBuilder()
              .setPlanId(plan.planId())
              .setParallel(parallel(plan.parallel()))
              .setLayers(layers)
              .setPredictedIterationSeconds(plan.predictedIterationSeconds())
              .build());
    }
    return PlanPool.newBuilder()
        .setJobId(jobId)
        .setPoolVersion(pool.poolVersion())
        .setCluster(cluster(pool.cluster()))
        .setModel(model(pool.model()))
        .setPlans(plans)
        .setBuild(
            PoolBuild.newBuilder()
                .setBuiltAt(builtAt)
                .setSearchMillis(pool.searchMillis())
                .setLoadSource(pool.loadSource())
                .setBuilder(builder)
                .build())
        .setStartLayout(startLayout(pool.startLayout()))
        .setStartLayoutSource(pool.startLayout() == null ? null : pool.startLayout().source())
        .build();
  }

  private static List<List<Integer>> startLayout(StartLayout layout) {
    if (layout == null) {
      return null;
    }
    List<List<Integer>> layers = new ArrayList<>(layout.placements().size());
    for (Placement placement : layout.placements()) {
      layers.add(slots(placement));
    }
    return layers;
  }

  /**
   * A pool of one plan, the static layout (expert e in slot e, spare slots round-robin) for every
   * layer under {@code parallel}: what a job runs before any placement search, and a fixed starting
   * point for benchmarks and tests.
   */
  public static PlanPool staticPool(
      String jobId,
      ClusterSpec cluster,
      ModelSpec model,
      ParallelConfig parallel,
      Instant builtAt) {
    Placement placement =
        Placement.staticLayout(parallel.ep(), parallel.slotsPerWorker(), model.expertCount());
    List<LayerPlacement> layers = new ArrayList<>(model.moeLayers());
    for (int layer = 0; layer < model.moeLayers(); layer++) {
      layers.add(new LayerPlacement(layer, slots(placement), 0.0));
    }
    return PlanPool.newBuilder()
        .setJobId(jobId)
        .setPoolVersion(1)
        .setCluster(cluster(cluster))
        .setModel(model(model))
        .setPlans(List.of(new Plan(0, parallel(parallel), layers, 0.0)))
        .setBuild(new PoolBuild(builtAt, 0L, "static layout", "moeplan"))
        .build();
  }

  /**
   * The planner's pool of a record: specs, plans and placements, each validated (every plan holds
   * one placement per MoE layer of the model, over its own parallel config). The record's job id,
   * build time and builder are not part of the planner's value; the ranking of configs is not on
   * the wire and comes back empty.
   *
   * @throws IllegalArgumentException naming the plan, layer or field that is not valid
   */
  public static Pool fromRecord(PlanPool record) {
    String job = record.getJobId();
    if (record.getPlans().isEmpty()) {
      throw new IllegalArgumentException("pool of job '" + job + "' has no plans");
    }
    ClusterSpec cluster;
    ModelSpec model;
    try {
      cluster = clusterSpec(record.getCluster());
      model = modelSpec(record.getModel());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("pool of job '" + job + "': " + e.getMessage(), e);
    }
    List<io.moeplan.planner.pool.Plan> plans = new ArrayList<>(record.getPlans().size());
    for (Plan plan : record.getPlans()) {
      plans.add(plan(job, plan, model));
    }
    StartLayout start = startLayout(job, record, plans.get(0).parallel(), model);
    try {
      return new Pool(
          record.getPoolVersion(),
          cluster,
          model,
          plans,
          record.getBuild().getSearchMillis(),
          record.getBuild().getLoadSource(),
          List.of(),
          start);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("pool of job '" + job + "': " + e.getMessage(), e);
    }
  }

  /** The record's start layout, or null when it has none (written before start layouts). */
  private static StartLayout startLayout(
      String job, PlanPool record, ParallelConfig parallel, ModelSpec model) {
    List<List<Integer>> layers = record.getStartLayout();
    if (layers == null) {
      return null;
    }
    String source = record.getStartLayoutSource() == null ? "pool" : record.getStartLayoutSource();
    if (layers.size() != model.moeLayers()) {
      throw new IllegalArgumentException(
          "pool of job '"
              + job
              + "': startLayout has "
              + layers.size()
              + " layers, the model "
              + model.moeLayers());
    }
    List<Placement> placements = new ArrayList<>(layers.size());
    for (int layer = 0; layer < layers.size(); layer++) {
      int[] slots = layers.get(layer).stream().mapToInt(Integer::intValue).toArray();
      try {
        placements.add(
            Placement.of(slots, parallel.ep(), parallel.slotsPerWorker(), model.expertCount()));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "pool of job '" + job + "': startLayout[" + layer + "] " + e.getMessage(), e);
      }
    }
    return new StartLayout(source, placements);
  }

  private static io.moeplan.planner.pool.Plan plan(String job, Plan plan, ModelSpec model) {
    String where = "pool of job '" + job + "', plan " + plan.getPlanId();
    ParallelConfig parallel;
    try {
      parallel = parallelConfig(plan.getParallel());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": parallel " + e.getMessage(), e);
    }
    LayerPlan[] layers = new LayerPlan[model.moeLayers()];
    for (LayerPlacement entry : plan.getLayers()) {
      int layer = entry.getLayer();
      if (layer < 0 || layer >= layers.length) {
        throw new IllegalArgumentException(
            where + ": layer " + layer + " is outside the model's 0.." + (layers.length - 1));
      }
      if (layers[layer] != null) {
        throw new IllegalArgumentException(where + ": layer " + layer + " is placed twice");
      }
      int[] slots = entry.getSlotToExpert().stream().mapToInt(Integer::intValue).toArray();
      Placement placement;
      try {
        placement =
            Placement.of(slots, parallel.ep(), parallel.slotsPerWorker(), model.expertCount());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            where + ", layer " + layer + ": slotToExpert " + e.getMessage(), e);
      }
      layers[layer] = new LayerPlan(layer, placement, entry.getPredictedSeconds());
    }
    for (int layer = 0; layer < layers.length; layer++) {
      if (layers[layer] == null) {
        throw new IllegalArgumentException(where + ": layer " + layer + " has no placement");
      }
    }
    return new io.moeplan.planner.pool.Plan(
        plan.getPlanId(), parallel, List.of(layers), plan.getPredictedIterationSeconds(), 0.0);
  }

  /**
   * The parallel config a job of {@code record} runs under: its first plan's, validated.
   *
   * @throws IllegalArgumentException naming the field when it is not valid
   */
  public static ParallelConfig startingParallel(PlanPool record) {
    return parallelConfig(record.getPlans().get(0).getParallel());
  }

  private static ParallelConfig parallelConfig(io.moeplan.schemas.ParallelConfig p) {
    return new ParallelConfig(p.getTp(), p.getPp(), p.getDp(), p.getEp(), p.getSlotsPerWorker());
  }

  private static ClusterSpec clusterSpec(io.moeplan.schemas.ClusterSpec c) {
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

  private static ModelSpec modelSpec(io.moeplan.schemas.ModelSpec m) {
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

  private static List<Integer> slots(Placement placement) {
    List<Integer> slots = new ArrayList<>(placement.slotCount());
    for (int expert : placement.slotToExpert()) {
      slots.add(expert);
    }
    return slots;
  }

  private static io.moeplan.schemas.ParallelConfig parallel(ParallelConfig config) {
    return io.moeplan.schemas.ParallelConfig.newBuilder()
        .setTp(config.tp())
        .setPp(config.pp())
        .setDp(config.dp())
        .setEp(config.ep())
        .setSlotsPerWorker(config.slotsPerWorker())
        .build();
  }

  private static io.moeplan.schemas.ClusterSpec cluster(ClusterSpec spec) {
    return io.moeplan.schemas.ClusterSpec.newBuilder()
        .setNodes(spec.nodes())
        .setGpusPerNode(spec.gpusPerNode())
        .setGpuFlops(spec.gpuFlops())
        .setIntraNodeBandwidth(spec.intraNodeBandwidth())
        .setInterNodeBandwidth(spec.interNodeBandwidth())
        .setLatencySeconds(spec.latencySeconds())
        .setGpuMemoryBytes(spec.gpuMemoryBytes())
        .setExpertFixedSeconds(spec.expertFixedSeconds())
        .build();
  }

  private static io.moeplan.schemas.ModelSpec model(ModelSpec spec) {
    return io.moeplan.schemas.ModelSpec.newBuilder()
        .setMoeLayers(spec.moeLayers())
        .setExpertCount(spec.expertCount())
        .setTopK(spec.topK())
        .setHidden(spec.hidden())
        .setFfnHidden(spec.ffnHidden())
        .setBytesPerElement(spec.bytesPerElement())
        .setOptimizerBytesPerParam(spec.optimizerBytesPerParam())
        .setTokensPerRank(spec.tokensPerRank())
        .build();
  }
}
