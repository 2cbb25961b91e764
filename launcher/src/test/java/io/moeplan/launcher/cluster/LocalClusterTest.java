package io.moeplan.launcher.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.launcher.local.LocalStack;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalClusterTest {

  @Test
  void flinkProcessesGetFlinkButNotTheJarsTheJobJarBundles() {
    List<Path> launcher =
        List.of(
            Path.of("/lib/flink-runtime-2.2.1.jar"),
            Path.of("/lib/flink-statebackend-rocksdb-2.2.1.jar"),
            Path.of("/lib/flink-connector-base-2.2.1.jar"),
            Path.of("/lib/frocksdbjni-8.10.0-ververica-1.0.jar"),
            Path.of("/lib/log4j-core-2.25.3.jar"),
            Path.of("/lib/flink-connector-kafka-5.0.0-2.2.jar"),
            Path.of("/lib/flink-avro-2.2.1.jar"),
            Path.of("/lib/kafka-clients-4.2.0.jar"),
            Path.of("/lib/avro-1.12.1.jar"),
            Path.of("/lib/moeplan-schemas-0.1.0-SNAPSHOT.jar"),
            Path.of("/target/moeplan-launcher.jar"));

    assertThat(ClusterConfiguration.flinkClasspath(launcher))
        .extracting(path -> path.getFileName().toString())
        .containsExactly(
            "flink-runtime-2.2.1.jar",
            "flink-statebackend-rocksdb-2.2.1.jar",
            "flink-connector-base-2.2.1.jar",
            "frocksdbjni-8.10.0-ververica-1.0.jar",
            "log4j-core-2.25.3.jar");
  }

  @Test
  void executorsShareTheRanksAtTheDimensionsOfLocalAndOfThePool(@TempDir Path state) {
    ClusterSettings settings =
        ClusterSettings.builder(state, List.of(), state.resolve("job.jar")).executors(2).build();

    String second = String.join(" ", new ClusterConfiguration(settings).executorOptions(2));

    assertThat(second)
        .contains("--workers 4 --first-rank 4 --world-size 8")
        .contains("--hidden 32 --ffn 64 --tokens-per-rank 32");
    LocalStack.Settings local =
        LocalStack.Settings.builder(
                SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class),
                SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class))
            .build();
    assertThat(PoolBootstrap.cpuPool(12).dims()).isEqualTo(local.executorDims());
    assertThat(PoolBootstrap.cpuPool(12).model().hidden()).isEqualTo(32);
  }

  @Test
  void flinkReadsBackTheConfigurationFileAsWritten(@TempDir Path state) throws Exception {
    ClusterSettings settings =
        ClusterSettings.builder(state, List.of(), state.resolve("job.jar"))
            .restPort(18081)
            .heartbeatTimeout(Duration.ofSeconds(7))
            .taskManagerMemory("1536m")
            .build();
    ClusterConfiguration configuration = new ClusterConfiguration(settings);
    Files.createDirectories(state.resolve("conf"));

    configuration.writeFlinkConfig();

    Configuration read = GlobalConfiguration.loadConfiguration(state.resolve("conf").toString());
    assertThat(read.toMap()).isEqualTo(configuration.flinkConfiguration().toMap());
    assertThat(read.get(RestOptions.PORT)).isEqualTo(18081);
    assertThat(read.get(HeartbeatManagerOptions.HEARTBEAT_TIMEOUT))
        .isEqualTo(Duration.ofSeconds(7));
    assertThat(read.get(TaskManagerOptions.TOTAL_PROCESS_MEMORY))
        .isEqualTo(MemorySize.parse("1536m"));
    assertThat(read.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY))
        .isEqualTo(state.toAbsolutePath().resolve("checkpoints").toUri().toString());
    assertThat(read.get(CoreOptions.FLINK_JVM_OPTIONS))
        .contains("--add-opens=java.base/java.util=");
  }

  @Test
  void executorsFollowTheDecisionWindowOfTheJobArguments(@TempDir Path state) {
    ClusterSettings defaults =
        ClusterSettings.builder(state, List.of(), state.resolve("job.jar")).executors(1).build();
    ClusterSettings custom =
        ClusterSettings.builder(state, List.of(), state.resolve("job.jar"))
            .executors(1)
            .jobArguments(List.of("--window-iterations", "20", "--lead-iterations=3"))
            .build();

    assertThat(String.join(" ", new ClusterConfiguration(defaults).executorOptions(1)))
        .endsWith("--window-iterations 10 --lead-iterations 2");
    assertThat(String.join(" ", new ClusterConfiguration(custom).executorOptions(1)))
        .endsWith("--window-iterations 20 --lead-iterations 3");
  }

  @Test
  void refusesAJobArgumentTheJobWouldRefuse(@TempDir Path state) {
    assertThatThrownBy(
            () ->
                ClusterSettings.builder(state, List.of(), state.resolve("job.jar"))
                    .jobArguments(List.of("--window-iterations", "0"))
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("job arguments [--window-iterations, 0]")
        .hasMessageContaining("window-iterations");
  }

  @Test
  void refusesAParallelismTheSlotsCannotRun(@TempDir Path state) {
    assertThatThrownBy(
            () ->
                ClusterSettings.builder(state, List.of(), state.resolve("job.jar"))
                    .taskManagers(2)
                    .slotsPerTaskManager(1)
                    .parallelism(3)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("parallelism 3 needs more slots than 2 task managers x 1 slots");
  }

  @Test
  void refusesExecutorsWithoutAPool(@TempDir Path state) {
    assertThatThrownBy(
            () ->
                ClusterSettings.builder(state, List.of(), state.resolve("job.jar"))
                    .pool(null)
                    .executors(1)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("executors need the pool");
  }

  @Test
  void downAndStatusOnADirectoryWithoutClusterDoNothing(@TempDir Path state) throws Exception {
    LocalCluster cluster = new LocalCluster(state.resolve("never-started"));

    assertThat(cluster.down()).isEmpty();
    assertThat(cluster.down()).isEmpty();
    ClusterStatus status = cluster.status();
    assertThat(status.anyRunning()).isFalse();
    assertThat(status.processes()).isEmpty();
    assertThat(status.job()).isEqualTo("none");
  }

  @Test
  void upRefusesAMissingJobJarBeforeStartingAnything(@TempDir Path state) {
    ClusterSettings settings =
        ClusterSettings.builder(state, List.of(), state.resolve("missing-job.jar"))
            .heartbeatTimeout(Duration.ofSeconds(5))
            .build();

    assertThatThrownBy(() -> new LocalCluster(state).up(settings, System.out))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("missing-job.jar not found: build it with 'mvn -B -DskipTests");
    assertThat(new LocalCluster(state).status().processes()).isEmpty();
  }

  @Test
  void clusterInfoSurvivesTheStateFile(@TempDir Path state) {
    ClusterInfo info = new ClusterInfo("localhost:9092", 8081, 2, Optional.empty()).withJob("abc");

    info.store(state);

    assertThat(ClusterInfo.load(state)).contains(info);
  }
}
