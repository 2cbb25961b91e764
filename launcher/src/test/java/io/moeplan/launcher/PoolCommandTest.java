package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.poolloader.PoolFiles;
import io.moeplan.schemas.PlanPool;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PoolCommandTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @TempDir Path directory;

  private int run(String... args) {
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  private Path smallCluster() throws Exception {
    return Files.writeString(
        directory.resolve("cluster.yaml"),
        """
        nodes: 1
        gpusPerNode: 4
        gpuFlops: 7.1e14
        intraNodeBandwidth: 3.0e11
        interNodeBandwidth: 4.0e10
        latencySeconds: 30.0e-6
        gpuMemoryBytes: 80000000000
        expertFixedSeconds: 0.6e-3
        """);
  }

  private Path smallModel() throws Exception {
    return Files.writeString(
        directory.resolve("model.yaml"),
        """
        moeLayers: 2
        expertCount: 8
        topK: 2
        hidden: 256
        ffnHidden: 1024
        bytesPerElement: 2
        optimizerBytesPerParam: 12
        tokensPerRank: 4096
        """);
  }

  @Test
  void buildWritesAPoolAndSummarisesItsPlans() throws Exception {
    Path pool = directory.resolve("out/job.pool");

    int code =
        run(
            "pool", "build",
            "--cluster", smallCluster().toString(),
            "--model", smallModel().toString(),
            "--job", "job-3",
            "--out", pool.toString());

    assertThat(code).as(err.toString()).isZero();
    PlanPool written = PoolFiles.read(pool);
    assertThat(written.getJobId()).isEqualTo("job-3");
    assertThat(written.getPlans()).isNotEmpty();
    assertThat(out.toString()).contains("ms/iteration").contains("wrote " + pool);
    assertThat(err.toString()).contains("pool search: plans");
  }

  @Test
  void buildNamesTheBadFieldOfASpec() throws Exception {
    Path model = Files.writeString(directory.resolve("bad.yaml"), "moeLayers: 0\n");

    int code =
        run(
            "pool", "build",
            "--cluster", smallCluster().toString(),
            "--model", model.toString(),
            "--out", directory.resolve("x.pool").toString());

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("bad.yaml");
  }

  @Test
  void publishRefusesAFileThatIsNotAPool() throws Exception {
    Path garbage = Files.writeString(directory.resolve("garbage.pool"), "hello");

    int code =
        run("pool", "publish", "--pool", garbage.toString(), "--bootstrap-servers", "localhost:1");

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("garbage.pool: not a plan pool");
  }
}
