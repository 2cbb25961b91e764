package io.moeplan.launcher;

import io.moeplan.launcher.local.ExternalStack;
import io.moeplan.launcher.local.LocalStack;
import io.moeplan.launcher.local.SelectorStack;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.poolloader.PoolFiles;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.JobIds;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Tenants;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code moeplan local}: the whole loop on this machine ({@link LocalStack}), or with {@code
 * --external} the services for a training job outside moeplan ({@link ExternalStack}).
 */
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
          + " 2 s with the measured per-worker compute, and a summary; Ctrl-C stops it cleanly.",
      "",
      "With --external it runs the broker, the job and the pool for a training job outside"
          + " moeplan (e.g. PyTorch with moeplan's Python client) and starts no executor. The pool"
          + " is searched for --cluster and --model as given (as 'pool build' does; --parallel"
          + " fixes the job's parallel config, --start-layout its starting expert layout), or"
          + " --pool publishes a file written by 'pool build' (--job renames its job). It prints"
          + " the bootstrap address, the dashboard, the job id, the pool's world size (tp*pp*dp),"
          + " layers, experts, ep and slots per worker, the topics, the command that starts the"
          + " Python example against it, and then the line 'ready: bootstrap-servers=HOST:PORT"
          + " job=JOB'. Then it prints every switch decision, every dead-lettered load with its"
          + " reason, and a progress line every 5 s, until Ctrl-C or --duration. The executor"
          + " options (--iterations, --rate, --trace, --trace-sample-iterations, --hidden, --ffn,"
          + " --tokens-per-rank, --decision-timeout) are refused with --external."
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
      description =
          "Job id; with --topic-prefix P it must start with 'P.' (default then: P.local)."
              + " Default: ${DEFAULT-VALUE}.")
  String job;

  @Option(
      names = "--secure",
      description =
          "Secure the broker: SASL_SSL with SCRAM-SHA-512 users, a CA and the broker's TLS key"
              + " pair generated into the stack's directory, and ACLs giving each principal only"
              + " what its role needs (the plan-selector job, the pool loader, the tenant's"
              + " executors or training job). Every part connects with its own client properties"
              + " file, whose path is printed; passwords are random and only in those files (mode"
              + " 600). See docs/security.md.")
  boolean secure;

  @Option(
      names = "--job-option",
      paramLabel = "KEY=VALUE",
      description =
          "A further option of the plan-selector job (e.g. calibrate=false: decisions from the"
              + " pool's constants alone, the same in every run of a seed, secured or not);"
              + " repeatable.")
  Map<String, String> jobOptions = new LinkedHashMap<>();

  @Option(
      names = "--topic-prefix",
      paramLabel = "PREFIX",
      description =
          "Run as the tenant PREFIX: every topic is PREFIX.moe.expert-load, ..., the job id must"
              + " start with PREFIX. (letters, digits, '_' or '-'), and with --secure the tenant's"
              + " principal may use only topics starting with PREFIX. (prefixed ACLs).")
  String topicPrefix;

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

  @Mixin TraceOptions traceOptions;

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

  @Option(
      names = "--external",
      description =
          "Run the broker, the plan-selector job and the pool for a training job outside"
              + " moeplan, without an executor (see above).")
  boolean external;

  @Option(
      names = "--pool",
      paramLabel = "FILE",
      description =
          "With --external: publish this pool file (written by pool build) instead of searching"
              + " one; --job, when given, publishes it for that job id instead of the file's.")
  Path poolFile;

  @Option(
      names = "--duration",
      defaultValue = "0",
      description =
          "With --external: how long to run, then stop (e.g. 90s, 10m; 0 runs until Ctrl-C)."
              + " Default: ${DEFAULT-VALUE}.")
  String duration;

  @Mixin JobLayoutOptions layout;

  /** Options that only the in-process executor uses. */
  private static final List<String> EXECUTOR_OPTIONS =
      List.of(
          "--iterations",
          "--rate",
          "--trace",
          "--trace-sample-iterations",
          "--hidden",
          "--ffn",
          "--tokens-per-rank",
          "--decision-timeout");

  /** Options that describe the pool searched, which a prebuilt --pool already is. */
  private static final List<String> SEARCH_OPTIONS =
      List.of(
          "--cluster",
          "--model",
          "--layers",
          "--seed",
          JobLayoutOptions.PARALLEL,
          JobLayoutOptions.START_LAYOUT);

  /** Options only external mode uses. */
  private static final List<String> EXTERNAL_OPTIONS =
      List.of("--pool", "--duration", JobLayoutOptions.PARALLEL, JobLayoutOptions.START_LAYOUT);

  @Override
  public Integer call() throws Exception {
    String jobProblem = JobIds.problem(job);
    if (jobProblem != null) {
      throw new ParameterException(spec.commandLine(), "--job: " + jobProblem);
    }
    access = access();
    if (external) {
      return callExternal();
    }
    List<String> externalOnly = given(EXTERNAL_OPTIONS);
    if (!externalOnly.isEmpty()) {
      throw new ParameterException(
          spec.commandLine(), String.join(", ", externalOnly) + ": only with --external");
    }
    if (rate <= 0 || !Double.isFinite(rate)) {
      throw new ParameterException(spec.commandLine(), "--rate must be > 0, got " + rate);
    }
    traceOptions.checkedTrace(spec);
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
    int windowIterations = windows.windowIterations(spec);
    int leadIterations = windows.leadIterations(spec);
    ClusterSpec clusterSpec = clusterSpec();
    ModelSpec modelSpec = modelSpec();
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
                .trace(traceOptions.trace, traceOptions.sampleIterations)
                .executorDims(hidden, ffn, tokensPerRank)
                .decisionTimeout(timeout)
                .access(access)
                .jobArguments(jobArguments())
                .build(),
            System.out);
    try (StopOnExit exit = StopOnExit.on("moeplan-local-stop", stack::stop)) {
      stack.run();
    }
    return 0;
  }

  /** {@code --external}: the services for a training job outside moeplan, and no executor. */
  private int callExternal() throws Exception {
    List<String> executorOnly = given(EXECUTOR_OPTIONS);
    if (!executorOnly.isEmpty()) {
      throw new ParameterException(
          spec.commandLine(),
          String.join(", ", executorOnly)
              + ": only for the in-process executor, which --external does not run");
    }
    java.time.Duration runFor = ExecutorCommand.parseDuration(spec, "--duration", duration);
    int windowIterations = windows.windowIterations(spec);
    int leadIterations = windows.leadIterations(spec);
    PlanPool pool;
    if (poolFile != null) {
      List<String> searchOnly = given(SEARCH_OPTIONS);
      if (!searchOnly.isEmpty()) {
        throw new ParameterException(
            spec.commandLine(),
            String.join(", ", searchOnly)
                + ": describe the pool to search, but --pool "
                + poolFile
                + " is already built");
      }
      try {
        pool = PoolFiles.read(poolFile);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--pool " + e.getMessage(), e);
      }
      if (given(List.of("--job")).size() == 1 || !access.topicPrefix().isEmpty()) {
        if (given(List.of("--job")).isEmpty()
            && Tenants.owns(access.topicPrefix(), pool.getJobId().toString())) {
          job = pool.getJobId().toString();
        }
        pool.setJobId(job);
      }
    } else {
      ModelSpec modelSpec = modelSpec();
      PoolOptions options =
          PoolOptions.defaults().withSynthetic(PoolOptions.DEFAULT_SYNTHETIC_SAMPLES, seed);
      Pool searched =
          layout.search(
              spec,
              clusterSpec(),
              modelSpec,
              options,
              null,
              new PoolCommand.ProgressLine(spec.commandLine().getErr()));
      pool = PoolRecords.toRecord(searched, job, Instant.now(), "moeplan local --external");
    }
    ExternalStack stack =
        new ExternalStack(
            new ExternalStack.Settings(
                new SelectorStack.Ports(kafkaPort, uiPort, windowIterations, leadIterations),
                runFor,
                EXTERNAL_PROGRESS_INTERVAL,
                access,
                jobArguments()),
            pool,
            spec.commandLine().getOut());
    try (StopOnExit exit = StopOnExit.on("moeplan-local-stop", stack::stop)) {
      stack.run();
    }
    return 0;
  }

  private SelectorStack.Access access = SelectorStack.Access.PLAIN;

  /** {@code --job-option KEY=VALUE} as the job's {@code --KEY VALUE} arguments. */
  private List<String> jobArguments() {
    List<String> arguments = new ArrayList<>();
    jobOptions.forEach(
        (key, value) -> {
          arguments.add("--" + key);
          arguments.add(value);
        });
    return arguments;
  }

  /**
   * The broker's security and the tenant's prefix; with a prefix, a job id not given is {@code
   * PREFIX.local}, and a given one must start with {@code PREFIX.}.
   */
  private SelectorStack.Access access() {
    if (topicPrefix == null) {
      return new SelectorStack.Access(secure, "");
    }
    String problem = Tenants.problem(topicPrefix);
    if (problem != null) {
      throw new ParameterException(spec.commandLine(), "--topic-prefix: " + problem);
    }
    if (given(List.of("--job")).isEmpty()) {
      job = topicPrefix + "." + job;
    } else if (Tenants.notOwned(topicPrefix, job) != null) {
      throw new ParameterException(
          spec.commandLine(), "--job: " + Tenants.notOwned(topicPrefix, job));
    }
    return new SelectorStack.Access(secure, topicPrefix);
  }

  /** Time between external mode's progress lines. */
  private static final java.time.Duration EXTERNAL_PROGRESS_INTERVAL =
      java.time.Duration.ofSeconds(5);

  private ClusterSpec clusterSpec() {
    return cluster == null
        ? SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class)
        : SpecLoader.loadCluster(cluster);
  }

  /** The model, with {@code --layers} (12 for the built-in model when not given). */
  private ModelSpec modelSpec() {
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
    return modelSpec;
  }

  /** Those of {@code options} given on the command line, in that order. */
  private List<String> given(List<String> options) {
    ParseResult parsed = spec.commandLine().getParseResult();
    return parsed == null ? List.of() : options.stream().filter(parsed::hasMatchedOption).toList();
  }
}
