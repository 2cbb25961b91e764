package io.moeplan.launcher;

import io.moeplan.executor.process.Executor;
import io.moeplan.executor.process.ExecutorModel;
import io.moeplan.executor.process.ExecutorSettings;
import io.moeplan.executor.process.ExecutorSettings.BackendKind;
import io.moeplan.executor.process.ExecutorSettings.DimOverrides;
import io.moeplan.executor.process.ExecutorSettings.TopicNames;
import io.moeplan.executor.process.IterationReport;
import io.moeplan.executor.process.KafkaExecutorIo;
import io.moeplan.schemas.JobIds;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Tenants;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moeplan executor}: the worker ranks of one job on this machine. */
@Command(
    name = "executor",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the worker ranks of one training job on this machine: every iteration and MoE layer"
          + " it routes tokens (a real gate on a synthetic token stream, or a replayed trace),"
          + " publishes each rank's expert loads, runs the experts on the placement in force and"
          + " publishes the measured per-worker compute; at each window's effective iteration it"
          + " applies the job's decisions, moving expert weights and optimizer state.",
      "The model and the starting placement come from the job's pool on the pool topic;"
          + " --hidden, --ffn and --tokens-per-rank shrink the dimensions for a CPU demo."
    })
final class ExecutorCommand implements Callable<Integer> {

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m)?");

  @Spec CommandSpec spec;

  @Option(names = "--job", required = true, description = "Job id.")
  String job;

  @Option(names = "--workers", required = true, description = "Worker ranks this process hosts.")
  int workers;

  @Option(
      names = "--backend",
      defaultValue = "cpu",
      description = "cpu (float32 reference) or cuda (JCuda kernels). Default: ${DEFAULT-VALUE}.")
  String backend;

  @Option(
      names = "--workload",
      defaultValue = "synthetic",
      description =
          "synthetic (seeded drifting token stream through a real gate) or trace:FILE (replay the"
              + " per-rank counts of an expert-load trace; model layer l replays the file's l-th"
              + " layer in order, so a file of layers 12-23 feeds layers 0-11)."
              + " Default: ${DEFAULT-VALUE}.")
  String workload;

  @Option(
      names = "--bootstrap-servers",
      required = true,
      description = "Kafka bootstrap servers, HOST:PORT[,HOST:PORT...].")
  String bootstrapServers;

  @Option(
      names = "--kafka-config",
      description =
          "Kafka client properties file (security settings, any client setting), e.g. the"
              + " tenant-PREFIX.properties a secured moeplan broker writes.")
  Path kafkaConfig;

  @Option(
      names = "--first-rank",
      defaultValue = "0",
      description = "Rank of the first hosted worker. Default: ${DEFAULT-VALUE}.")
  int firstRank;

  @Option(
      names = "--world-size",
      description = "Ranks of the whole job. Default: --first-rank + --workers.")
  Integer worldSize;

  @Option(
      names = "--iterations",
      defaultValue = "0",
      description = "Iterations to run (0 runs until Ctrl-C). Default: ${DEFAULT-VALUE}.")
  long iterations;

  @Option(
      names = "--start-iteration",
      defaultValue = "0",
      description =
          "First iteration; a restarted executor resumes here on the placements of the latest"
              + " decisions. Default: ${DEFAULT-VALUE}.")
  long startIteration;

  @Option(
      names = "--rate",
      defaultValue = "0",
      description =
          "Iterations per second (0: as fast as the compute allows). Default: ${DEFAULT-VALUE}.")
  double rate;

  @Mixin DecisionWindowOptions windows;

  @Option(
      names = "--decision-timeout",
      defaultValue = "10s",
      description =
          "How long an effective iteration waits for its window's decisions before keeping the"
              + " placement (e.g. 500ms, 10s). Default: ${DEFAULT-VALUE}.")
  String decisionTimeout;

  @Option(
      names = "--pool-timeout",
      defaultValue = "30s",
      description = "How long to wait for the job's pool at start. Default: ${DEFAULT-VALUE}.")
  String poolTimeout;

  @Option(
      names = "--hidden",
      defaultValue = "0",
      description = "Model width instead of the pool's (0 keeps it). Default: ${DEFAULT-VALUE}.")
  int hidden;

  @Option(
      names = "--ffn",
      defaultValue = "0",
      description =
          "Expert FFN width instead of the pool's (0 keeps it). Default: ${DEFAULT-VALUE}.")
  int ffn;

  @Option(
      names = "--tokens-per-rank",
      defaultValue = "0",
      description =
          "Tokens each rank routes per layer and iteration instead of the pool's tokensPerRank /"
              + " topK (0 keeps it). Default: ${DEFAULT-VALUE}.")
  int tokensPerRank;

  @Option(
      names = "--trace-sample-iterations",
      defaultValue = "10",
      description = "Iterations each trace sample stands for. Default: ${DEFAULT-VALUE}.")
  int traceSampleIterations;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of weights, gate and tokens. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(
      names = "--topic-prefix",
      paramLabel = "PREFIX",
      description =
          "Run as the tenant PREFIX: PREFIX and a dot before every topic name"
              + " (PREFIX.moe.expert-load, ...); the job id must start with PREFIX. (the"
              + " plan-selector job dead-letters loads of other tenants' jobs). Letters, digits,"
              + " '_' or '-'.")
  String topicPrefix;

  @Override
  public Integer call() throws Exception {
    ExecutorSettings settings = settings();
    Properties client = clientProperties();
    PrintStream out = System.out;
    try (KafkaExecutorIo io = new KafkaExecutorIo(client, settings.topics())) {
      run(settings, io, io.readPool(settings.jobId(), settings.poolTimeout()), out);
    }
    return 0;
  }

  private void run(ExecutorSettings settings, KafkaExecutorIo io, PlanPool pool, PrintStream out)
      throws Exception {
    ExecutorModel model = ExecutorModel.of(pool, settings.dims());
    out.printf(
        Locale.ROOT,
        "executor %s ranks %d-%d of %d on %s: %d layers, %d experts top-%d, hidden %d, ffn %d,"
            + " %d tokens per rank, %d workers x %d slots (pool v%d)%n",
        settings.jobId(),
        settings.firstRank(),
        settings.firstRank() + settings.ranks() - 1,
        settings.worldSize(),
        settings.backend().name().toLowerCase(Locale.ROOT),
        model.layers(),
        model.shape().experts(),
        model.shape().topK(),
        model.shape().hidden(),
        model.shape().ffn(),
        model.tokensPerRank(),
        model.layout().workers(),
        model.layout().slotsPerWorker(),
        pool.getPoolVersion());
    StopOnExit exit = new StopOnExit();
    try (exit;
        Executor executor = new Executor(settings, model, io, io, out)) {
      exit.install("moeplan-executor-stop", executor::stop);
      Progress progress = new Progress(out);
      long started = System.nanoTime();
      long ran = executor.run(progress::accept);
      double seconds = (System.nanoTime() - started) / 1e9;
      out.printf(
          Locale.ROOT,
          "summary: %d iterations in %.1f s (%.1f/s), %d decisions taken (%d duplicates dropped,"
              + " %d refused for their timing),"
              + " %d switches applied, %d timeouts, %d late, %.1f KiB moved in %.1f ms, plan"
              + " version %d, %d Kafka sends failed, %d records skipped%n",
          ran,
          seconds,
          ran / seconds,
          executor.follower().decisions(),
          executor.follower().duplicates(),
          executor.follower().timingMismatches(),
          executor.follower().switchesApplied(),
          executor.follower().timeouts(),
          executor.follower().lateDecisions(),
          executor.migratedBytes() / 1024.0,
          executor.migrationMillis(),
          executor.follower().planVersion(),
          io.errors().failedSends(),
          io.errors().skippedRecords());
    }
  }

  /** Prints a progress line every 2 s with the measured compute. */
  private static final class Progress {
    private final PrintStream out;
    private long last = System.nanoTime();
    private double imbalance;
    private double maxMillis;
    private int samples;

    Progress(PrintStream out) {
      this.out = out;
    }

    void accept(IterationReport report) {
      imbalance += report.computeImbalance();
      maxMillis += report.maxWorkerMillis();
      samples++;
      if (System.nanoTime() - last > 2_000_000_000L) {
        out.printf(
            Locale.ROOT,
            "[progress] iteration %d, plan version %d, measured expert compute: slowest worker"
                + " %.2f ms per iteration (all layers), max/mean %.2f%n",
            report.iteration(),
            report.planVersion(),
            maxMillis / samples,
            imbalance / samples);
        last = System.nanoTime();
        imbalance = 0;
        maxMillis = 0;
        samples = 0;
      }
    }
  }

  /** The backend a {@code --backend} value names (cpu or cuda, any case); refused otherwise. */
  static BackendKind backendKind(CommandSpec spec, String backend) {
    return switch (backend.toLowerCase(Locale.ROOT)) {
      case "cpu" -> BackendKind.CPU;
      case "cuda" -> BackendKind.CUDA;
      default ->
          throw new ParameterException(
              spec.commandLine(), "--backend must be cpu or cuda, got '" + backend + "'");
    };
  }

  private ExecutorSettings settings() {
    String jobProblem = JobIds.problem(job);
    if (jobProblem != null) {
      throw new ParameterException(spec.commandLine(), "--job: " + jobProblem);
    }
    int windowIterations = windows.windowIterations(spec);
    int leadIterations = windows.leadIterations(spec);
    BackendKind kind = backendKind(spec, backend);
    Path trace = null;
    if (workload.startsWith("trace:")) {
      trace = Path.of(workload.substring("trace:".length()));
      if (!Files.isReadable(trace)) {
        throw new ParameterException(
            spec.commandLine(), "--workload " + workload + ": no such file " + trace);
      }
    } else if (!workload.equals("synthetic")) {
      throw new ParameterException(
          spec.commandLine(), "--workload must be synthetic or trace:FILE, got '" + workload + "'");
    }
    if (topicPrefix != null) {
      String problem = Tenants.problem(topicPrefix);
      if (problem != null) {
        throw new ParameterException(spec.commandLine(), "--topic-prefix: " + problem);
      }
      String foreign = Tenants.notOwned(topicPrefix, job);
      if (foreign != null) {
        throw new ParameterException(spec.commandLine(), "--job: " + foreign);
      }
    }
    TopicNames topics =
        topicPrefix == null ? TopicNames.DEFAULT : TopicNames.DEFAULT.prefixed(topicPrefix);
    try {
      return new ExecutorSettings(
          job,
          workers,
          firstRank,
          worldSize == null ? firstRank + workers : worldSize,
          kind,
          trace,
          traceSampleIterations,
          iterations,
          startIteration,
          rate,
          windowIterations,
          leadIterations,
          duration("--decision-timeout", decisionTimeout),
          duration("--pool-timeout", poolTimeout),
          new DimOverrides(hidden, ffn, tokensPerRank),
          seed,
          topics);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  private Duration duration(String option, String value) {
    return parseDuration(spec, option, value);
  }

  /** Parses {@code 500ms}, {@code 10s} or {@code 2m} (a bare number is seconds). */
  static Duration parseDuration(CommandSpec spec, String option, String value) {
    Matcher m = DURATION.matcher(value.trim());
    if (!m.matches()) {
      throw new ParameterException(
          spec.commandLine(),
          option + " must be a number with ms, s or m (e.g. 500ms, 10s), got '" + value + "'");
    }
    long amount = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(amount);
      case "m" -> Duration.ofMinutes(amount);
      default -> Duration.ofSeconds(amount);
    };
  }

  private Properties clientProperties() {
    return KafkaClientConfig.load(spec, kafkaConfig, bootstrapServers);
  }
}
