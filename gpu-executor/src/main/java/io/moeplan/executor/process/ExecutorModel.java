package io.moeplan.executor.process;

import io.moeplan.executor.backend.LayerShape;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.planner.placement.Placement;
import io.moeplan.schemas.LayerPlacement;
import io.moeplan.schemas.ModelSpec;
import io.moeplan.schemas.ParallelConfig;
import io.moeplan.schemas.Plan;
import io.moeplan.schemas.PlanPool;

/**
 * What an executor runs, read from the job's pool: the layer shape (the pool's model, or the
 * overridden small dimensions), the slot layout of the pool's first plan (ep workers x slots per
 * worker) and each layer's placement in that plan, which is the placement a job starts on.
 *
 * <p>The pool's {@code tokensPerRank} counts top-k assignments; a rank routes {@code tokensPerRank
 * / topK} tokens per layer and iteration.
 */
public record ExecutorModel(
    int layers, LayerShape shape, SlotLayout layout, int tokensPerRank, Placement[] initial) {

  /** The model of {@code pool} with {@code dims} overriding its dimensions. */
  public static ExecutorModel of(PlanPool pool, ExecutorSettings.DimOverrides dims) {
    if (pool.getPlans().isEmpty()) {
      throw new IllegalArgumentException("pool of job '" + pool.getJobId() + "' has no plans");
    }
    ModelSpec model = pool.getModel();
    Plan first = pool.getPlans().get(0);
    ParallelConfig parallel = first.getParallel();
    int hidden = dims.hidden() > 0 ? dims.hidden() : model.getHidden();
    int ffn = dims.ffn() > 0 ? dims.ffn() : model.getFfnHidden();
    int tokens =
        dims.tokensPerRank() > 0
            ? dims.tokensPerRank()
            : Math.toIntExact(Math.max(1, model.getTokensPerRank() / model.getTopK()));
    LayerShape shape = new LayerShape(hidden, ffn, model.getExpertCount(), model.getTopK());
    SlotLayout layout = new SlotLayout(parallel.getEp(), parallel.getSlotsPerWorker());
    Placement[] initial = new Placement[model.getMoeLayers()];
    for (int layer = 0; layer < initial.length; layer++) {
      initial[layer] = layout.staticPlacement(shape.experts());
    }
    for (LayerPlacement placement : first.getLayers()) {
      int layer = placement.getLayer();
      if (layer >= 0 && layer < initial.length) {
        int[] slots = placement.getSlotToExpert().stream().mapToInt(Integer::intValue).toArray();
        initial[layer] = layout.placement(slots, shape.experts());
      }
    }
    return new ExecutorModel(model.getMoeLayers(), shape, layout, tokens, initial);
  }

  /** Bytes of expert weights and Adam state the CPU backend holds per slot (12 per parameter). */
  public long slotBytes() {
    return 12L * shape.paramsPerExpert();
  }
}
