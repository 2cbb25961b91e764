package io.moeplan.launcher;

import io.moeplan.executor.process.ExecutorSettings.BackendKind;
import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.launcher.bench.LoopBenchmark;
import io.moeplan.launcher.bench.PipelineBenchmark;
import io.moeplan.schemas.DecisionWindows;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code moeplan bench}: benchmarks that compare moeplan with a baseline measured in the same run.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Benchmarks, each with its baseline measured in the same run.",
    subcommands = {BenchCommand.Pipeline.class, BenchCommand.Loop.class})
final class BenchCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code moeplan bench pipeline}. */
  @Command(
      name = "pipeline",
      mixinStandardHelpOptions = true,
      description = {
        "On the embedded broker: (a) sustained ExpertLoad records/s through Kafka, the"
            + " plan-selector job (MiniCluster) and out as decisions, against Kafka's raw"
            + " produce+consume rate of the same records; (b) the control-loop latency (last"
            + " load of a window published -> its decision received) at a moderate rate, against"
            + " Kafka's one-hop latency at the same record rate. Prints a table with the ratios."
      })
  static final class Pipeline implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
        names = "--ranks",
        defaultValue = "8",
        description = "Ranks. Default: ${DEFAULT-VALUE}.")
    int ranks;

    @Option(
        names = "--layers",
        defaultValue = "12",
        description = "MoE layers per record. Default: ${DEFAULT-VALUE}.")
    int layers;

    @Option(
        names = "--experts",
        defaultValue = "32",
        description = "Experts per layer. Default: ${DEFAULT-VALUE}.")
    int experts;

    @Option(
        names = "--iterations",
        defaultValue = "8000",
        description =
            "Iterations produced as fast as possible in the throughput phase. Default: ${DEFAULT-VALUE}.")
    int iterations;

    @Option(
        names = "--warmup-iterations",
        defaultValue = "6000",
        description =
            "Iterations sent through Kafka alone and through the job before each is measured"
                + " (0: none). Default: ${DEFAULT-VALUE}.")
    int warmupIterations;

    @Option(
        names = "--latency-rate",
        defaultValue = "20",
        description = "Iterations per second in the latency phase. Default: ${DEFAULT-VALUE}.")
    double latencyRate;

    @Option(
        names = "--latency-seconds",
        defaultValue = "20",
        description = "Duration of each latency phase. Default: ${DEFAULT-VALUE}.")
    int latencySeconds;

    @Option(
        names = "--latency-warmup-seconds",
        defaultValue = "3",
        description =
            "Time at the latency rate before each latency phase is measured, through Kafka alone"
                + " and through the job, so a new job's first windows (new keys, state loads)"
                + " and the aftermath of the throughput phase are not measured. Default:"
                + " ${DEFAULT-VALUE}.")
    int latencyWarmupSeconds;

    @Mixin DecisionWindowOptions windows;

    @Option(
        names = "--parallelism",
        defaultValue = "2",
        description = "The job's parallelism. Default: ${DEFAULT-VALUE}.")
    int parallelism;

    @Option(
        names = "--job",
        paramLabel = "--KEY=VALUE",
        description =
            "A further option of the plan-selector job (as its command line takes it, e.g."
                + " --job=--buffer-timeout=1ms); repeatable. The broker address, window, lead,"
                + " parallelism and checkpoint directory are the benchmark's.")
    List<String> jobOptions = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
      for (String option : jobOptions) {
        if (!option.startsWith("--") || !option.contains("=")) {
          throw new ParameterException(
              spec.commandLine(), "--job takes --KEY=VALUE, got '" + option + "'");
        }
      }
      try {
        // refused here, before the benchmark starts, rather than after its Kafka phases
        List<String> check = new ArrayList<>(List.of("--bootstrap-servers", "localhost:9092"));
        check.addAll(jobOptions);
        PlanSelectorConfig.fromArgs(check.toArray(String[]::new));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--job: " + e.getMessage());
      }
      int windowIterations = windows.windowIterations(spec);
      int leadIterations = windows.leadIterations(spec);
      if (ranks < 1 || layers < 1 || experts < 1 || iterations < windowIterations) {
        throw new ParameterException(
            spec.commandLine(),
            "--ranks, --layers and --experts must be >= 1 and --iterations >= "
                + DecisionWindows.WINDOW_ITERATIONS_FLAG);
      }
      if (warmupIterations < 0) {
        throw new ParameterException(spec.commandLine(), "--warmup-iterations must be >= 0");
      }
      if (latencyRate <= 0 || latencySeconds < 1 || parallelism < 1 || latencyWarmupSeconds < 0) {
        throw new ParameterException(
            spec.commandLine(),
            "--latency-rate must be > 0, --latency-seconds and --parallelism >= 1,"
                + " --latency-warmup-seconds >= 0");
      }
      PipelineBenchmark.Result result =
          new PipelineBenchmark(
                  new PipelineBenchmark.Settings(
                      ranks,
                      layers,
                      experts,
                      iterations,
                      warmupIterations,
                      latencyRate,
                      latencySeconds,
                      latencyWarmupSeconds,
                      windowIterations,
                      leadIterations,
                      parallelism,
                      jobOptions),
                  System.out)
              .run();
      PipelineBenchmark.print(result, System.out);
      return 0;
    }
  }

  /** {@code moeplan bench loop}. */
  @Command(
      name = "loop",
      mixinStandardHelpOptions = true,
      description = {
        "A measured A/B of moeplan against static placement. The same seeded workload runs twice"
            + " on the in-process executor (one rank per expert-parallel worker, 32 experts top-2,"
            + " one replica of every expert plus a spare slot per worker), iterations as fast as"
            + " they compute; each run on a fresh embedded broker, Flink MiniCluster and"
            + " plan-selector job, one after the other. Run A (static) starts the job with"
            + " --static true, so every decision keeps the start layout; run B (moeplan) lets the"
            + " job decide, calibrating its model online from the measured times. At each"
            + " effective iteration the executor waits (bounded) for its window's decisions.",
        "Measured step time of an iteration: per layer the slowest worker's expert compute plus"
            + " the slowest worker's share of a switch applied before it, summed over layers (each"
            + " worker is timed on its own, as if on its own device). The modelled step time"
            + " counts the same terms with the run's last published model (fixed * active slots +"
            + " per-token * tokens per worker; bytes received / migration throughput), or the"
            + " pool's constants when no fit arrived.",
        "Warm-up: before the first run the executor alone (no broker, no job) runs"
            + " --warmup-iterations iterations, so the JIT has compiled the layer before either"
            + " run; each run then starts with --warmup-iterations iterations that are excluded"
            + " from its statistics (run B's first decisions take effect during them).",
        "Prints a progress line every 5 s, then both runs side by side (step time mean, p50,"
            + " p90, migration paid, switches, decisions, modelled step time), the measured and"
            + " modelled speedups, each run's model and its published error, the model's"
            + " in-sample error, and whether both runs routed the identical workload."
      })
  static final class Loop implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Mixin TraceOptions traceOptions;

    @Option(
        names = "--iterations",
        defaultValue = "150",
        description = "Measured iterations of each run. Default: ${DEFAULT-VALUE}.")
    int iterations;

    @Option(
        names = "--warmup-iterations",
        defaultValue = "20",
        description =
            "Iterations of the JIT warm-up before the first run, and at the start of each run"
                + " before it is measured (see above). Default: ${DEFAULT-VALUE}.")
    int warmupIterations;

    @Option(
        names = "--layers",
        defaultValue = "4",
        description = "MoE layers. Default: ${DEFAULT-VALUE}.")
    int layers;

    @Option(
        names = "--hidden",
        defaultValue = "128",
        description = "Model width the executor runs. Default: ${DEFAULT-VALUE}.")
    int hidden;

    @Option(
        names = "--ffn",
        defaultValue = "512",
        description = "Expert FFN width. Default: ${DEFAULT-VALUE}.")
    int ffn;

    @Option(
        names = "--tokens-per-rank",
        defaultValue = "96",
        description =
            "Tokens each rank routes per layer and iteration (a trace's counts are scaled to it)."
                + " Default: ${DEFAULT-VALUE}.")
    int tokensPerRank;

    @Option(
        names = "--ranks",
        defaultValue = "8",
        description = "Ranks, one expert-parallel worker each. Default: ${DEFAULT-VALUE}.")
    int ranks;

    @Mixin DecisionWindowOptions windows;

    @Option(
        names = "--seed",
        defaultValue = "1",
        description =
            "Seed of the routing, the expert weights and the pool's synthetic loads."
                + " Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(
        names = "--backend",
        defaultValue = "cpu",
        description =
            "cpu (float32 reference) or cuda (JCuda kernels; refused where no CUDA device is"
                + " usable). Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(
        names = "--decision-timeout",
        defaultValue = "10s",
        description =
            "How long the executor waits at an effective iteration for its window's decisions"
                + " before keeping the placement. Default: ${DEFAULT-VALUE}.")
    String decisionTimeout;

    @Option(
        names = "--json",
        paramLabel = "FILE",
        description = "Also write the results to this file as JSON.")
    Path json;

    @Override
    public Integer call() throws Exception {
      BackendKind kind = ExecutorCommand.backendKind(spec, backend);
      Path trace = traceOptions.checkedTrace(spec);
      LoopBenchmark.Settings settings;
      try {
        settings =
            new LoopBenchmark.Settings(
                trace,
                traceOptions.sampleIterations,
                iterations,
                warmupIterations,
                layers,
                hidden,
                ffn,
                tokensPerRank,
                ranks,
                windows.windowIterations(spec),
                windows.leadIterations(spec),
                seed,
                kind,
                ExecutorCommand.parseDuration(spec, "--decision-timeout", decisionTimeout));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage(), e);
      }
      LoopBenchmark.Result result = new LoopBenchmark(settings, System.out).run();
      LoopBenchmark.print(result, System.out);
      if (json != null) {
        Files.writeString(json, LoopBenchmark.json(result));
        System.out.println("results written to " + json);
      }
      return 0;
    }
  }
}
