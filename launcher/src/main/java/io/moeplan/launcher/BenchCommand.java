package io.moeplan.launcher;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.launcher.bench.PipelineBenchmark;
import io.moeplan.schemas.DecisionWindows;
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
    subcommands = {BenchCommand.Pipeline.class})
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
}
