package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.testing.GeneratedTrace;
import io.moeplan.poolloader.PoolFiles;
import io.moeplan.schemas.PlanPool;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
  void buildStartsJobsOnTheContiguousLayoutUnlessToldOtherwise() throws Exception {
    Path pool = directory.resolve("contiguous.pool");

    int code = build(pool);

    assertThat(code).as(err.toString()).isZero();
    PlanPool written = PoolFiles.read(pool);
    assertThat(written.getStartLayoutSource()).isEqualTo("contiguous");
    var parallel = written.getPlans().get(0).getParallel();
    int slots = parallel.getEp() * parallel.getSlotsPerWorker();
    for (List<Integer> layer : written.getStartLayout()) {
      assertThat(layer).hasSize(slots);
      for (int slot = 0; slot < slots; slot++) {
        assertThat(layer.get(slot)).isEqualTo(slot % 8);
      }
    }
    assertThat(out.toString()).contains("jobs start on the contiguous layout");
  }

  @Test
  void buildTakesTheStartLayoutFromAFile() throws Exception {
    Path first = directory.resolve("first.pool");
    assertThat(build(first)).as(err.toString()).isZero();
    var parallel = PoolFiles.read(first).getPlans().get(0).getParallel();
    int slots = parallel.getEp() * parallel.getSlotsPerWorker();
    StringBuilder reversed = new StringBuilder("# the job's own layout\n");
    for (int slot = 0; slot < slots; slot++) {
      reversed.append(slot == 0 ? "" : " ").append((slots - 1 - slot) % 8);
    }
    Path layout = Files.writeString(directory.resolve("layout.txt"), reversed + "\n");
    Path pool = directory.resolve("own.pool");

    int code = build(pool, "--start-layout", layout.toString());

    assertThat(code).as(err.toString()).isZero();
    PlanPool written = PoolFiles.read(pool);
    assertThat(written.getStartLayoutSource()).isEqualTo("layout.txt");
    assertThat(written.getStartLayout()).hasSize(2);
    assertThat(written.getStartLayout().get(1).get(0)).isEqualTo((slots - 1) % 8);
  }

  @Test
  void buildRefusesALayoutFileThatDoesNotFitNamingTheLine() throws Exception {
    Path layout = Files.writeString(directory.resolve("layout.txt"), "0,1\n");

    int code = build(directory.resolve("x.pool"), "--start-layout", layout.toString());

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--start-layout layout.txt line 1: 2 experts");
  }

  @Test
  void buildSearchesOnTheTraceItIsGiven() throws Exception {
    StringBuilder csv = new StringBuilder("iteration,rank,layer,e0,e1,e2,e3,e4,e5,e6,e7\n");
    for (int iteration = 0; iteration < 20; iteration++) {
      for (int rank = 0; rank < 4; rank++) {
        for (int layer = 0; layer < 2; layer++) {
          csv.append(iteration).append(',').append(rank).append(',').append(layer);
          for (int expert = 0; expert < 8; expert++) {
            csv.append(',').append(expert == rank ? 900 : 30 + iteration);
          }
          csv.append('\n');
        }
      }
    }
    Path trace = Files.writeString(directory.resolve("skewed.csv"), csv);
    Path pool = directory.resolve("traced.pool");

    int code = build(pool, "--trace", trace.toString());

    assertThat(code).as(err.toString()).isZero();
    assertThat(PoolFiles.read(pool).getBuild().getLoadSource()).contains("skewed.csv");
  }

  @Test
  void buildTakesATraceWhoseLayersStartAboveZeroInFileOrder() throws Exception {
    Path trace = GeneratedTrace.write(directory.resolve("layers-5-7.csv.gz"), 5, 7, 12, 4, 8);
    Path pool = directory.resolve("upper.pool");

    int code = build(pool, "--trace", trace.toString());

    assertThat(code).as(err.toString()).isZero();
    assertThat(PoolFiles.read(pool).getBuild().getLoadSource()).contains("layers-5-7.csv.gz");
  }

  @Test
  void buildNamesTheTracesLayersWhenItHoldsTooFew() throws Exception {
    Path trace = GeneratedTrace.write(directory.resolve("layer-5.csv.gz"), 5, 5, 4, 4, 8);

    int code = build(directory.resolve("x.pool"), "--trace", trace.toString());

    assertThat(code).isEqualTo(2);
    assertThat(err.toString())
        .contains("layer-5.csv.gz")
        .contains("holds 1 layer(s) (5), fewer than the 2 the model needs");
  }

  @Test
  void buildNamesAMissingTrace() throws Exception {
    int code = build(directory.resolve("x.pool"), "--trace", "no-such.csv");

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--trace").contains("no-such.csv");
  }

  private int build(Path pool, String... more) throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "pool", "build",
                "--cluster", smallCluster().toString(),
                "--model", smallModel().toString(),
                "--out", pool.toString()));
    args.addAll(List.of(more));
    return run(args.toArray(String[]::new));
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

  @Test
  void buildWithAFixedParallelConfigKeepsOnlyThatConfig() throws Exception {
    Path pool = directory.resolve("fixed.pool");

    int code =
        run(
            "pool",
            "build",
            "--cluster",
            smallCluster().toString(),
            "--model",
            smallModel().toString(),
            "--parallel",
            "slots=2,ep=4,dp=4,pp=1,tp=1",
            "--plans-per-config",
            "2",
            "--out",
            pool.toString());

    assertThat(code).as(err.toString()).isZero();
    PlanPool written = PoolFiles.read(pool);
    assertThat(written.getPlans())
        .hasSize(2)
        .allSatisfy(
            plan -> {
              assertThat(plan.getParallel().getTp()).isEqualTo(1);
              assertThat(plan.getParallel().getPp()).isEqualTo(1);
              assertThat(plan.getParallel().getDp()).isEqualTo(4);
              assertThat(plan.getParallel().getEp()).isEqualTo(4);
              assertThat(plan.getParallel().getSlotsPerWorker()).isEqualTo(2);
            });
    assertThat(out.toString()).contains("1,1,4,4,2");
  }

  @Test
  void aParallelConfigTheClusterRefusesExitsNamingTheRule() throws Exception {
    int code =
        run(
            "pool", "build",
            "--cluster", smallCluster().toString(),
            "--model", smallModel().toString(),
            "--parallel", "tp=1,pp=1,dp=4,ep=3,slots=3",
            "--out", directory.resolve("never.pool").toString());

    assertThat(code).isEqualTo(2);
    assertThat(err.toString())
        .contains("--parallel tp=1,pp=1,dp=4,ep=3,slots=3 is refused (EXPERT_GROUP_SPLITS_DATA)")
        .contains("ep 3 does not divide dp 4");
    assertThat(directory.resolve("never.pool")).doesNotExist();
  }

  @Test
  void aParallelConfigNotOnTheClustersGpusExitsSayingSo() throws Exception {
    int code =
        run(
            "pool", "build",
            "--cluster", smallCluster().toString(),
            "--model", smallModel().toString(),
            "--parallel", "tp=1,pp=1,dp=8,ep=8,slots=1",
            "--out", directory.resolve("never.pool").toString());

    assertThat(code).isEqualTo(2);
    assertThat(err.toString())
        .contains("(NOT_THE_CLUSTERS_GPUS)")
        .contains("not a divisor triple of the cluster's 4 GPUs");
  }

  @Test
  void aMalformedParallelConfigNamesTheBadPart() throws Exception {
    int code =
        run(
            "pool", "build",
            "--cluster", smallCluster().toString(),
            "--model", smallModel().toString(),
            "--parallel", "tp=1,pp=1,dp=four,ep=4,slots=2",
            "--out", directory.resolve("never.pool").toString());

    assertThat(code).isEqualTo(2);
    assertThat(err.toString())
        .contains("--parallel")
        .contains("'dp=four': 'four' is not a whole number");

    err.getBuffer().setLength(0);
    assertThat(
            run(
                "pool", "build",
                "--parallel", "tp=1,pp=1,dp=4,ep=4",
                "--out", directory.resolve("never.pool").toString()))
        .isEqualTo(2);
    assertThat(err.toString()).contains("missing slots");
  }
}
