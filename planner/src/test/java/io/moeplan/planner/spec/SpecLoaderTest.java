package io.moeplan.planner.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpecLoaderTest {
  private static final String CLUSTER =
      """
      nodes: 2
      gpusPerNode: 4
      gpuFlops: 7.0e14
      intraNodeBandwidth: 3.0e11
      interNodeBandwidth: 4.0e10
      latencySeconds: 3.0e-5
      gpuMemoryBytes: 80000000000
      expertFixedSeconds: 6.0e-4
      """;

  @TempDir Path dir;

  private Path write(String name, String content) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, content, StandardCharsets.UTF_8);
    return file;
  }

  @Test
  void shippedExamplesLoadFromTheClasspath() {
    ClusterSpec cluster = SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class);
    ModelSpec model = SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class);
    ParallelConfig parallel = SpecLoader.loadExample("parallel-ep8-s4.yaml", ParallelConfig.class);

    assertThat(cluster).isEqualTo(ClusterSpec.h100(2, 4));
    assertThat(model).isEqualTo(ModelSpec.gptMoe());
    assertThat(parallel).isEqualTo(ParallelConfig.expertParallel(8, 4));
  }

  @Test
  void loadsYamlAndJsonAlike() throws IOException {
    ClusterSpec yaml = SpecLoader.loadCluster(write("cluster.yaml", CLUSTER));
    ClusterSpec json =
        SpecLoader.loadCluster(
            write(
                "cluster.json",
                """
                {"nodes": 2, "gpusPerNode": 4, "gpuFlops": 7.0e14, "intraNodeBandwidth": 3.0e11,
                 "interNodeBandwidth": 4.0e10, "latencySeconds": 3.0e-5,
                 "gpuMemoryBytes": 80000000000, "expertFixedSeconds": 6.0e-4}
                """));

    assertThat(yaml).isEqualTo(json);
    assertThat(yaml.gpus()).isEqualTo(8);
  }

  @Test
  void outOfRangeValueNamesFileAndField() throws IOException {
    Path file = write("cluster.yaml", CLUSTER.replace("gpusPerNode: 4", "gpusPerNode: 0"));

    assertThatThrownBy(() -> SpecLoader.loadCluster(file))
        .isInstanceOf(SpecException.class)
        .hasMessage("cluster.yaml: field 'gpusPerNode' must be >= 1, got 0");
  }

  @Test
  void unknownFieldIsRefused() throws IOException {
    Path file = write("cluster.yaml", CLUSTER + "gpuCount: 8\n");

    assertThatThrownBy(() -> SpecLoader.loadCluster(file))
        .hasMessageStartingWith("cluster.yaml: unknown field 'gpuCount'");
  }

  @Test
  void missingFieldIsNamed() throws IOException {
    Path file = write("cluster.yaml", CLUSTER.replace("gpuFlops: 7.0e14\n", ""));

    assertThatThrownBy(() -> SpecLoader.loadCluster(file))
        .hasMessage("cluster.yaml: missing field 'gpuFlops'");
  }

  @Test
  void expertFixedSecondsDefaultsToZeroLikeTheAvroRecord() throws IOException {
    Path file = write("cluster.yaml", CLUSTER.replace("expertFixedSeconds: 6.0e-4\n", ""));

    assertThat(SpecLoader.loadCluster(file).expertFixedSeconds()).isZero();
  }

  @Test
  void wrongTypeIsNamed() throws IOException {
    Path file = write("cluster.yaml", CLUSTER.replace("nodes: 2", "nodes: two"));

    assertThatThrownBy(() -> SpecLoader.loadCluster(file))
        .hasMessage("cluster.yaml: field 'nodes' must be an integer, got \"two\"");
  }

  @Test
  void absurdSizesAreRefusedBeforeAnyAllocation() throws IOException {
    Path model =
        write(
            "model.yaml",
            """
            moeLayers: 24
            expertCount: 1000000
            topK: 2
            hidden: 2560
            ffnHidden: 10240
            bytesPerElement: 2
            optimizerBytesPerParam: 12
            tokensPerRank: 16384
            """);
    Path cluster = write("big.yaml", CLUSTER.replace("nodes: 2", "nodes: 500000"));
    Path parallel =
        write("parallel.yaml", "tp: 1\npp: 1\ndp: 1\nep: 1000000\nslotsPerWorker: 64\n");

    assertThatThrownBy(() -> SpecLoader.loadModel(model))
        .hasMessage("model.yaml: field 'expertCount' must be <= 65536, got 1000000");
    assertThatThrownBy(() -> SpecLoader.loadCluster(cluster))
        .hasMessageContaining("'nodes' times 'gpusPerNode' must be <= 1000000");
    assertThatThrownBy(() -> SpecLoader.loadParallelConfig(parallel))
        .hasMessageContaining("'ep' times 'slotsPerWorker' must be <= 16777216");
  }

  @Test
  void malformedYamlReportsTheFile() throws IOException {
    Path file = write("cluster.yaml", "nodes: [2\n");

    assertThatThrownBy(() -> SpecLoader.loadCluster(file))
        .hasMessageStartingWith("cluster.yaml: not valid YAML");
  }

  @Test
  void gptMoeDerivedSizesMatchTheTrace() {
    ModelSpec model = ModelSpec.gptMoe();

    assertThat(model.expertParams(1)).isEqualTo(2L * 2560 * 10240);
    assertThat(model.flopsPerToken(1)).isEqualTo(12.0 * 2560 * 10240);
    assertThat(model.bytesPerToken()).isEqualTo(5120);
    assertThat(ClusterSpec.H100_GPU_FLOPS)
        .isCloseTo(7.149e14, org.assertj.core.data.Offset.offset(1e11));
  }
}
