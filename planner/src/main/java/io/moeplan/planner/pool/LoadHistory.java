package io.moeplan.planner.pool;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.trace.TraceSample;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Historical (or synthetic) expert loads the pool is built for: for every layer the same number of
 * samples, sample {@code i} of every layer taken at the same iteration, all of one shape {@code
 * [sources][experts]}.
 *
 * @param layers {@code layers.get(layer).get(sample)}
 * @param source where the loads come from (a trace file name or the synthetic model), written into
 *     the pool
 */
public record LoadHistory(List<List<LoadMatrix>> layers, String source) {

  /** Validates the shape; messages name the first layer or sample that does not fit. */
  public LoadHistory {
    Objects.requireNonNull(source, "source");
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("a load history needs at least one layer");
    }
    List<List<LoadMatrix>> copy = new ArrayList<>(layers.size());
    int samples = layers.get(0).size();
    if (samples == 0) {
      throw new IllegalArgumentException("layer 0 of the load history has no sample");
    }
    LoadMatrix first = layers.get(0).get(0);
    for (int l = 0; l < layers.size(); l++) {
      List<LoadMatrix> layer = layers.get(l);
      if (layer.size() != samples) {
        throw new IllegalArgumentException(
            "layer " + l + " has " + layer.size() + " samples, layer 0 has " + samples);
      }
      for (int i = 0; i < samples; i++) {
        LoadMatrix m = layer.get(i);
        if (m.sources() != first.sources() || m.experts() != first.experts()) {
          throw new IllegalArgumentException(
              "sample "
                  + i
                  + " of layer "
                  + l
                  + " is "
                  + m.sources()
                  + "x"
                  + m.experts()
                  + ", expected "
                  + first.sources()
                  + "x"
                  + first.experts());
        }
      }
      copy.add(List.copyOf(layer));
    }
    layers = List.copyOf(copy);
  }

  /**
   * A history from trace samples (iteration-major, as {@link io.moeplan.planner.trace.TraceReader}
   * yields them). Rows beyond the ranks the trace has (a reader opened with more workers than ranks
   * leaves them empty) are dropped, so read with as many workers as the trace has ranks to keep
   * every rank's routing.
   */
  public static LoadHistory fromSamples(List<TraceSample> samples, String source) {
    if (samples.isEmpty()) {
      throw new IllegalArgumentException("a load history needs at least one trace sample");
    }
    int layers = samples.get(0).layerCount();
    int ranks = Integer.MAX_VALUE;
    for (TraceSample t : samples) {
      ranks = Math.min(ranks, t.ranks());
    }
    List<List<LoadMatrix>> byLayer = new ArrayList<>(layers);
    for (int l = 0; l < layers; l++) {
      List<LoadMatrix> layer = new ArrayList<>(samples.size());
      for (TraceSample t : samples) {
        if (t.layerCount() != layers) {
          throw new IllegalArgumentException(
              "trace sample of iteration "
                  + t.iteration()
                  + " has "
                  + t.layerCount()
                  + " layers, the first has "
                  + layers);
        }
        LoadMatrix m = t.loads().get(l);
        int rows = Math.max(1, Math.min(ranks, m.sources()));
        layer.add(
            rows == m.sources()
                ? m
                : LoadMatrix.ofFlat(
                    rows,
                    m.experts(),
                    java.util.Arrays.copyOf(m.toFlatArray(), rows * m.experts())));
      }
      byLayer.add(layer);
    }
    return new LoadHistory(byLayer, source);
  }

  /** Number of layers. */
  public int layerCount() {
    return layers.size();
  }

  /** Samples per layer. */
  public int sampleCount() {
    return layers.get(0).size();
  }

  /** Source ranks of every sample. */
  public int sources() {
    return layers.get(0).get(0).sources();
  }

  /** Experts of every sample. */
  public int experts() {
    return layers.get(0).get(0).experts();
  }

  /** Sample {@code sample} of layer {@code layer}. */
  public LoadMatrix sample(int layer, int sample) {
    return layers.get(layer).get(sample);
  }
}
