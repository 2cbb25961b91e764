package io.moeplan.planner.testing;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Finds the shared GPT-MoE trace next to the project and reads small slices of it. */
public final class SharedTrace {
  private static final Path RELATIVE =
      Path.of("shared", "traces", "smartmoe-ae-gpt", "layers-00-11.csv.gz");

  private SharedTrace() {}

  /** The trace, found by walking up from the working directory, if it is there. */
  public static Optional<Path> file() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      Path candidate = dir.resolve(RELATIVE);
      if (Files.isRegularFile(candidate)) {
        return Optional.of(candidate);
      }
      dir = dir.getParent();
    }
    return Optional.empty();
  }

  /** The loads of one layer over the first {@code samples} samples, ranks folded on workers. */
  public static List<LoadMatrix> layer(Path file, int layer, int workers, int samples)
      throws IOException {
    List<LoadMatrix> out = new ArrayList<>();
    try (TraceReader reader = TraceReader.open(file, workers, layer, layer)) {
      TraceSample sample;
      while (out.size() < samples && (sample = reader.next()) != null) {
        out.add(sample.layer(layer));
      }
    }
    return out;
  }
}
