package io.moeplan.poolloader;

import io.moeplan.planner.pool.LoadHistory;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads a load trace into the history a pool search is built from. */
public final class TraceHistory {

  /** Ranks a trace may have: rows are read unfolded, one per trace rank. */
  static final int MAX_TRACE_RANKS = 4096;

  private TraceHistory() {}

  /**
   * The first {@code maxSamples} samples of the first {@code layers} layers of a trace in file
   * order (model layer {@code l} is the file's {@code l}-th layer, so a file of layers 12-23 serves
   * a 12-layer model), every rank's routing kept (no folding).
   *
   * @throws IllegalArgumentException naming the file when it lacks samples
   * @throws io.moeplan.planner.trace.TraceFormatException naming the file's layers when it holds
   *     fewer than {@code layers}
   */
  public static LoadHistory read(Path trace, int layers, int maxSamples) throws IOException {
    if (maxSamples < 1) {
      throw new IllegalArgumentException("trace samples must be >= 1, got " + maxSamples);
    }
    int ranks;
    try (TraceReader probe = TraceReader.openModelLayers(trace, MAX_TRACE_RANKS, layers)) {
      TraceSample first = probe.next();
      if (first == null) {
        throw new IllegalArgumentException(trace + " holds no sample");
      }
      ranks = first.ranks();
    }
    List<TraceSample> samples = new ArrayList<>();
    try (TraceReader reader = TraceReader.openModelLayers(trace, ranks, layers)) {
      for (TraceSample sample = reader.next();
          sample != null && samples.size() < maxSamples;
          sample = reader.next()) {
        if (sample.layerCount() < layers) {
          throw new IllegalArgumentException(
              trace
                  + ": iteration "
                  + sample.iteration()
                  + " has "
                  + sample.layerCount()
                  + " layer(s) of data from layer "
                  + sample.firstLayer()
                  + ", the model "
                  + layers);
        }
        samples.add(sample);
      }
    }
    if (samples.isEmpty()) {
      throw new IllegalArgumentException(trace + " holds no sample");
    }
    return LoadHistory.fromSamples(samples, trace.getFileName().toString());
  }
}
