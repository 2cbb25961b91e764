package io.moeplan.planner.pool;

import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Vocabulary of the pool tests: small clusters, tiny models and trace slices. */
final class PoolFixtures {
  static final Path TRACE = Path.of("shared", "traces", "smartmoe-ae-gpt", "layers-00-11.csv.gz");

  private PoolFixtures() {}

  /** H100 constants with another shape and memory. */
  static ClusterSpec cluster(int nodes, int gpusPerNode, long gpuMemoryBytes) {
    ClusterSpec h = ClusterSpec.h100(nodes, gpusPerNode);
    return new ClusterSpec(
        nodes,
        gpusPerNode,
        h.gpuFlops(),
        h.intraNodeBandwidth(),
        h.interNodeBandwidth(),
        h.latencySeconds(),
        gpuMemoryBytes,
        h.expertFixedSeconds());
  }

  /**
   * A model whose expert shard has {@code 2 * 8 * 16 / tp} parameters: 4096 bytes per slot and
   * layer at tp 1 (weight 2 + gradient 2 + optimizer 12 bytes per parameter).
   */
  static ModelSpec tinyModel(int layers, int experts) {
    return new ModelSpec(layers, experts, 2, 8, 16, 2, 12, 4096);
  }

  /** The trace file, found by walking up from the working directory, if present. */
  static Optional<Path> trace() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      Path candidate = dir.resolve(TRACE);
      if (Files.isRegularFile(candidate)) {
        return Optional.of(candidate);
      }
      dir = dir.getParent();
    }
    return Optional.empty();
  }

  /** The first {@code iterations} samples of layers {@code first..last}, all 16 ranks kept. */
  static List<TraceSample> traceSlice(Path file, int first, int last, int iterations)
      throws IOException {
    List<TraceSample> out = new ArrayList<>();
    try (TraceReader reader = TraceReader.open(file, 16, first, last)) {
      TraceSample s;
      while (out.size() < iterations && (s = reader.next()) != null) {
        out.add(s);
      }
    }
    return out;
  }
}
