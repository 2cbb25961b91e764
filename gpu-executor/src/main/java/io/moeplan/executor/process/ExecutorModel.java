package io.moeplan.executor.process;

import io.moeplan.executor.backend.LayerShape;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.PlanPool;

/**
 * What an executor runs, read from the job's pool: the layer shape (the pool's model, or the
 * overridden small dimensions), the slot layout of the pool's {@linkplain Pool#startingPlan()
 * starting plan} (ep workers x slots per worker) and each layer's {@linkplain
 * Pool#startingPlacement(int) starting placement}.
 *
 * <p>The pool's {@code tokensPerRank} counts top-k assignments; a rank routes {@code tokensPerRank
 * / topK} tokens per layer and iteration.
 */
public record ExecutorModel(
    int layers,
    LayerShape shape,
    SlotLayout layout,
    int tokensPerRank,
    Placement[] initial,
    ParallelConfig parallel) {

  /**
   * The model of {@code record} with {@code dims} overriding its dimensions.
   *
   * @throws IllegalArgumentException naming the plan, layer or field of a pool that is not valid
   */
  public static ExecutorModel of(PlanPool record, ExecutorSettings.DimOverrides dims) {
    Pool pool = PoolRecords.fromRecord(record);
    ModelSpec model = pool.model();
    ParallelConfig parallel = pool.startingPlan().parallel();
    int hidden = dims.hidden() > 0 ? dims.hidden() : model.hidden();
    int ffn = dims.ffn() > 0 ? dims.ffn() : model.ffnHidden();
    int tokens =
        dims.tokensPerRank() > 0
            ? dims.tokensPerRank()
            : Math.toIntExact(Math.max(1, model.tokensPerRank() / model.topK()));
    LayerShape shape = new LayerShape(hidden, ffn, model.expertCount(), model.topK());
    SlotLayout layout = new SlotLayout(parallel.ep(), parallel.slotsPerWorker());
    Placement[] initial = new Placement[model.moeLayers()];
    for (int layer = 0; layer < initial.length; layer++) {
      initial[layer] = pool.startingPlacement(layer);
    }
    return new ExecutorModel(model.moeLayers(), shape, layout, tokens, initial, parallel);
  }

  /**
   * Whether rank {@code rank} of a job of {@code worldSize} ranks reports {@code layer}: every
   * layer without pipeline stages, else the layers of its stage.
   */
  public boolean reports(int rank, int worldSize, int layer) {
    return parallel.stageOfLayer(layer, layers) == parallel.stageOfRank(rank, worldSize);
  }

  /** Bytes of expert weights and Adam state the CPU backend holds per slot (12 per parameter). */
  public long slotBytes() {
    return 12L * shape.paramsPerExpert();
  }
}
