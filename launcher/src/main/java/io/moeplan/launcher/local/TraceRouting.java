package io.moeplan.launcher.local;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Replays a load trace (the CSV format of shared/traces) as the ranks' routing: each trace sample
 * stands for the {@code sampleIterations} iterations that follow it (the trace's sampling
 * interval), trace rank r is folded onto rank {@code r mod ranks}, and at the end of the file the
 * trace starts over.
 */
final class TraceRouting implements Routing {

  private final Path file;
  private final int ranks;
  private final int layers;
  private final int sampleIterations;
  private TraceReader reader;
  private TraceSample sample;
  private long iteration = -1;

  TraceRouting(Path file, int ranks, int layers, int sampleIterations) throws IOException {
    if (sampleIterations < 1) {
      throw new IllegalArgumentException(
          "iterations per trace sample must be >= 1, got " + sampleIterations);
    }
    this.file = file;
    this.ranks = ranks;
    this.layers = layers;
    this.sampleIterations = sampleIterations;
    this.reader = TraceReader.open(file, ranks, 0, layers - 1);
  }

  /** Experts per layer in the trace. */
  int experts() {
    return reader.experts();
  }

  @Override
  public long advance() {
    iteration++;
    if (iteration % sampleIterations == 0) {
      try {
        sample = reader.next();
        if (sample == null) {
          reader.close();
          reader = TraceReader.open(file, ranks, 0, layers - 1);
          sample = reader.next();
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read trace " + file, e);
      }
      if (sample == null || sample.layerCount() < layers) {
        throw new IllegalArgumentException(
            file + " has fewer than " + layers + " layers of data; pass --layers");
      }
    }
    return iteration;
  }

  @Override
  public long[][] counts(int rank) {
    long[][] counts = new long[layers][];
    for (int layer = 0; layer < layers; layer++) {
      LoadMatrix load = sample.loads().get(layer);
      long[] row = new long[load.experts()];
      for (int e = 0; e < row.length; e++) {
        row[e] = Math.round(load.tokens(rank, e));
      }
      counts[layer] = row;
    }
    return counts;
  }

  @Override
  public String describe() {
    return "trace " + file.getFileName() + " (each sample for " + sampleIterations + " iterations)";
  }
}
