package io.moeplan.planner.trace;

import io.moeplan.planner.placement.LoadMatrix;
import java.util.List;

/**
 * The loads of one sampled iteration: one {@link LoadMatrix} per layer of the read range, with
 * trace ranks folded onto workers.
 *
 * @param iteration the training iteration of the sample
 * @param firstLayer the first layer of the range; {@code loads.get(i)} is layer {@code firstLayer +
 *     i}
 * @param loads per layer load, {@code [workers][experts]}
 * @param ranks distinct trace ranks seen in this iteration
 */
public record TraceSample(long iteration, int firstLayer, List<LoadMatrix> loads, int ranks) {
  /** Copies the list. */
  public TraceSample {
    loads = List.copyOf(loads);
  }

  /** The load of {@code layer} (an absolute layer index inside the range). */
  public LoadMatrix layer(int layer) {
    return loads.get(layer - firstLayer);
  }

  /** Number of layers in the sample. */
  public int layerCount() {
    return loads.size();
  }
}
