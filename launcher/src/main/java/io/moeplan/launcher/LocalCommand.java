package io.moeplan.launcher;

import io.moeplan.launcher.local.LocalStack;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.schemas.JobIds;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moeplan local}: the whole loop on this machine. */
@Command(
    name = "local",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the whole loop on this machine: an embedded Kafka broker, a Flink MiniCluster with"
          + " its dashboard running the plan-selector job, a plan pool built and published for"
          + " the job, and an in-process executor on the cpu backend hosting one rank per GPU of"
          + " the cluster: a real gate routes a synthetic token stream (or --trace replays a"
          + " trace), the experts run at small dimensions (--hidden, --ffn, --tokens-per-rank),"
          + " and the job's switches are applied at their effective iteration, moving expert"
          + " weights and Adam state. The pool describes this CPU computation (the cluster's"
          + " shape, CPU workers' constants, the model's layers and experts at the small"
          + " dimensions).",
      "Prints a line for every switch decision and every applied switch, a progress line every"
          + " 2 s with the measured per-worker compute, and a summary; Ctrl-C stops it cleanly."
    })
final class LocalCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--iterations",
      defaultValue = "0",
      description =
          "Iterations to produce, then stop (0 runs until Ctrl-C). Default: ${DEFAULT-VALUE}.")
  long iterations;

  @Option(
      names = "--rate",
      defaultValue = "5",
      description = "Training iterations per second the ranks produce. Default: ${DEFAULT-VALUE}.")
  double rate;

  @Option(
      names = "--cluster",
      description =
          "Cluster spec (YAML or JSON); its GPUs are the ranks. Default: the built-in"
              + " cluster-h100-2node.yaml (2 nodes x 4 GPUs).")
  Path cluster;

  @Option(
      names = "--model",
      description = "Model spec (YAML or JSON). Default: the built-in model-gpt-moe.yaml.")
  Path model;

  @Option(
      names = "--layers",
      description =
          "MoE layers to simulate, overriding the model's (the default model's 24 layers do not"
              + " fit the default cluster's memory; 12 do). Default: 12 with the built-in model.")
  Integer layers;

  @Mixin DecisionWindowOptions windows;

  @Option(
      names = "--job",
      defaultValue = "local",
      description = "Job id. Default: ${DEFAULT-VALUE}.")
  String job;

  @Option(
      names = "--ui-port",
      defaultValue = "8081",
      description = "Port of the Flink dashboard. Default: ${DEFAULT-VALUE}.")
  int uiPort;

  @Option(
      names = "--kafka-port",
      defaultValue = "0",
      description = "Port of the Kafka broker (0 picks a free one). Default: ${DEFAULT-VALUE}.")
  int kafkaPort;

  @Option(
      names = "--trace",
      description =
          "Replay this expert-load trace (CSV iteration,rank,layer,e0,...; .gz streamed) as the"
              + " ranks' routing instead of the synthetic generator; trace rank r runs on rank r"
              + " mod ranks, and the trace starts over at its end.")
  Path trace;

  @Option(
      names = "--trace-sample-iterations",
      defaultValue = "10",
      description = "Iterations each trace sample stands for. Default: ${DEFAULT-VALUE}.")
  int traceSampleIterations;

  @Option(
      names = "--hidden",
      defaultValue = "" + CpuExecutorPool.DEFAULT_HIDDEN,
      description = "Model width the cpu executor runs. Default: ${DEFAULT-VALUE}.")
  int hidden;

  @Option(
      names = "--ffn",
      defaultValue = "" + CpuExecutorPool.DEFAULT_FFN,
      description = "Expert FFN width the cpu executor runs. Default: ${DEFAULT-VALUE}.")
  int ffn;

  @Option(
      names = "--tokens-per-rank",
      defaultValue = "" + CpuExecutorPool.DEFAULT_TOKENS_PER_RANK,
      description =
          "Tokens each rank routes per layer and iteration (a trace's counts are scaled to it)."
              + " Default: ${DEFAULT-VALUE}.")
  int tokensPerRank;

  @Option(
      names = "--decision-timeout",
      defaultValue = "10s",
      description =
          "How long the executor waits at an effective iteration for its window's decisions"
              + " before keeping the placement (e.g. 500ms, 10s). Default: ${DEFAULT-VALUE}.")
  String decisionTimeout;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of the synthetic routing and pool loads. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Override
  public Integer call() throws Exception {
    if (rate <= 0 || !Double.isFinite(rate)) {
      throw new ParameterException(spec.commandLine(), "--rate must be > 0, got " + rate);
    }
    if (trace != null && !java.nio.file.Files.isReadable(trace)) {
      throw new ParameterException(spec.commandLine(), "--trace " + trace + ": no such file");
    }
    if (hidden < 1 || ffn < 1 || tokensPerRank < 1) {
      throw new ParameterException(
          spec.commandLine(),
          "--hidden, --ffn and --tokens-per-rank must be >= 1, got "
              + hidden
              + ", "
              + ffn
              + ", "
              + tokensPerRank);
    }
    java.time.Duration timeout =
        ExecutorCommand.parseDuration(spec, "--decision-timeout", decisionTimeout);
    if (iterations < 0) {
      throw new ParameterException(
          spec.commandLine(), "--iterations must be >= 0, got " + iterations);
    }
    String jobProblem = JobIds.problem(job);
    if (jobProblem != null) {
      throw new ParameterException(spec.commandLine(), "--job: " + jobProblem);
    }
    int windowIterations = windows.windowIterations(spec);
    int leadIterations = windows.leadIterations(spec);
    ClusterSpec clusterSpec =
        cluster == null
            ? SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class)
            : SpecLoader.loadCluster(cluster);
    ModelSpec modelSpec =
        model == null
            ? SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class)
            : SpecLoader.loadModel(model);
    Integer moeLayers = layers != null ? layers : model == null ? Integer.valueOf(12) : null;
    if (moeLayers != null) {
      if (moeLayers < 1) {
        throw new ParameterException(spec.commandLine(), "--layers must be >= 1, got " + moeLayers);
      }
      modelSpec = modelSpec.withMoeLayers(moeLayers);
    }
    LocalStack stack =
        new LocalStack(
            LocalStack.Settings.builder(clusterSpec, modelSpec)
                .jobId(job)
                .iterations(iterations)
                .iterationsPerSecond(rate)
                .windowIterations(windowIterations)
                .leadIterations(leadIterations)
                .uiPort(uiPort)
                .kafkaPort(kafkaPort)
                .seed(seed)
                .trace(trace, traceSampleIterations)
                .executorDims(hidden, ffn, tokensPerRank)
                .decisionTimeout(timeout)
                .build(),
            System.out);
    try (StopOnExit exit = StopOnExit.on("moeplan-local-stop", stack::stop)) {
      stack.run();
    }
    return 0;
  }
}
