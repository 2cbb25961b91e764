package io.moeplan.poolloader;

import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.pool.LayerPlan;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.schemas.LayerPlacement;
import io.moeplan.schemas.Plan;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.PoolBuild;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Turns the planner's pool value into the {@code PlanPool} record of the wire. */
public final class PoolRecords {

  private PoolRecords() {}

  /** The record of {@code pool} for job {@code jobId}, stamped with build time and builder. */
  public static PlanPool toRecord(Pool pool, String jobId, Instant builtAt, String builder) {
    if (jobId == null || jobId.isBlank() || jobId.indexOf('/') >= 0) {
      throw new IllegalArgumentException(
          "job id must be non-blank without '/', got '" + jobId + "'");
    }
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
        .build();
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
