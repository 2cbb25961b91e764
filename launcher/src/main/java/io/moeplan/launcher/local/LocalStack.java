package io.moeplan.launcher.local;

import io.moeplan.executor.decisions.DecisionSource;
import io.moeplan.executor.process.Executor;
import io.moeplan.executor.process.ExecutorModel;
import io.moeplan.executor.process.ExecutorSettings;
import io.moeplan.executor.process.ExecutorSettings.TopicNames;
import io.moeplan.executor.process.IterationReport;
import io.moeplan.executor.process.KafkaExecutorIo;
import io.moeplan.flink.job.PlanSelectorJob;
import io.moeplan.launcher.CpuExecutorPool;
import io.moeplan.launcher.fit.ModelFitReader;
import io.moeplan.launcher.fit.ModelFitText;
import io.moeplan.launcher.fit.StepModel;
import io.moeplan.planner.pool.LoadHistory;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.poolloader.TraceHistory;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * The whole loop on one machine: the {@link SelectorStack} (an embedded Kafka broker, a Flink
 * MiniCluster with its dashboard running {@link PlanSelectorJob}, a pool published for the job)
 * driven by an in-process executor ({@link Executor}, cpu backend, small dimensions) hosting every
 * rank: a real gate on the synthetic token stream (or a replayed trace) routes each iteration, the
 * ranks publish their expert loads, the experts run on the placement in force, and each window's
 * decisions are applied at their effective iteration, moving weights and Adam state.
 *
 * <p>The pool is searched for the executor's computation ({@link CpuExecutorPool}: the cluster's
 * shape with CPU workers' constants, the model's layers and experts at the executor's dimensions),
 * so the selector's modelled times and the executor's measured per-worker compute agree in scale.
 * {@link ExternalStack} runs the same services for a training job outside moeplan instead.
 */
public final class LocalStack {

  /**
   * What to run.
   *
   * @param cluster the cluster the pool is built for; its GPUs are the job's ranks
   * @param model the MoE model
   * @param jobId the job id
   * @param iterations iterations to produce; 0 runs until stopped
   * @param iterationsPerSecond production rate
   * @param windowIterations replan interval F
   * @param leadIterations lead of a decision's effective iteration
   * @param uiPort Flink dashboard port
   * @param kafkaPort Kafka port (0 picks a free one)
   * @param seed seed of the synthetic routing and of the pool's synthetic loads
   * @param trace a load trace to replay instead of the synthetic routing, or null
   * @param traceSampleIterations iterations each trace sample stands for
   * @param executorDims the small dimensions the in-process CPU executor runs (and the pool
   *     describes)
   * @param decisionTimeout how long the executor waits at an effective iteration for its window's
   *     decisions
   * @param access whether the broker is secured, and the tenant's topic prefix
   * @param jobArguments further options of the plan-selector job (e.g. {@code --calibrate false})
   */
  public record Settings(
      ClusterSpec cluster,
      ModelSpec model,
      String jobId,
      long iterations,
      double iterationsPerSecond,
      int windowIterations,
      int leadIterations,
      int uiPort,
      int kafkaPort,
      long seed,
      Path trace,
      int traceSampleIterations,
      ExecutorSettings.DimOverrides executorDims,
      Duration decisionTimeout,
      SelectorStack.Access access,
      List<String> jobArguments) {

    /** Copies the job's arguments. */
    public Settings {
      jobArguments = List.copyOf(jobArguments);
    }

    /** Settings with the defaults of {@code moeplan local} for a cluster and model. */
    public static Builder builder(ClusterSpec cluster, ModelSpec model) {
      return new Builder(cluster, model);
    }

    /** Builds {@link Settings}; every value but the specs has a default. */
    public static final class Builder {
      private final ClusterSpec cluster;
      private final ModelSpec model;
      private String jobId = "local";
      private long iterations;
      private double iterationsPerSecond = 5;
      private int windowIterations = DecisionWindows.DEFAULT_WINDOW_ITERATIONS;
      private int leadIterations = DecisionWindows.DEFAULT_LEAD_ITERATIONS;
      private int uiPort = 8081;
      private int kafkaPort;
      private long seed = 1;
      private Path trace;
      private int traceSampleIterations = 10;
      private ExecutorSettings.DimOverrides executorDims = CpuExecutorPool.DEFAULT_DIMS;
      private Duration decisionTimeout = Duration.ofSeconds(10);
      private SelectorStack.Access access = SelectorStack.Access.PLAIN;
      private List<String> jobArguments = List.of();

      private Builder(ClusterSpec cluster, ModelSpec model) {
        this.cluster = cluster;
        this.model = model;
      }

      /** The job id (default {@code local}). */
      public Builder jobId(String value) {
        jobId = value;
        return this;
      }

      /** Iterations to produce; 0 (the default) runs until stopped. */
      public Builder iterations(long value) {
        iterations = value;
        return this;
      }

      /** Production rate (default 5 iterations per second). */
      public Builder iterationsPerSecond(double value) {
        iterationsPerSecond = value;
        return this;
      }

      /** Replan interval F (default {@value DecisionWindows#DEFAULT_WINDOW_ITERATIONS}). */
      public Builder windowIterations(int value) {
        windowIterations = value;
        return this;
      }

      /**
       * Lead of a decision's effective iteration (default {@value
       * DecisionWindows#DEFAULT_LEAD_ITERATIONS}).
       */
      public Builder leadIterations(int value) {
        leadIterations = value;
        return this;
      }

      /** Flink dashboard port (default 8081). */
      public Builder uiPort(int value) {
        uiPort = value;
        return this;
      }

      /** Kafka port (default 0: a free one). */
      public Builder kafkaPort(int value) {
        kafkaPort = value;
        return this;
      }

      /** Seed of the synthetic routing and the pool's synthetic loads (default 1). */
      public Builder seed(long value) {
        seed = value;
        return this;
      }

      /** Replays this trace instead of the synthetic routing, each sample for some iterations. */
      public Builder trace(Path file, int sampleIterations) {
        trace = file;
        traceSampleIterations = sampleIterations;
        return this;
      }

      /** The executor's model width, expert FFN width and tokens per rank and layer. */
      public Builder executorDims(int hidden, int ffn, int tokensPerRank) {
        executorDims = new ExecutorSettings.DimOverrides(hidden, ffn, tokensPerRank);
        return this;
      }

      /** How long the executor waits for a window's decisions (default 10 s). */
      public Builder decisionTimeout(Duration value) {
        decisionTimeout = value;
        return this;
      }

      /** Further options of the plan-selector job, as its command line takes them. */
      public Builder jobArguments(List<String> value) {
        jobArguments = value;
        return this;
      }

      /** A secured broker or not, and the tenant's topic prefix (default: plain, no prefix). */
      public Builder access(SelectorStack.Access value) {
        access = value;
        return this;
      }

      /** The settings. */
      public Settings build() {
        return new Settings(
            cluster,
            model,
            jobId,
            iterations,
            iterationsPerSecond,
            windowIterations,
            leadIterations,
            uiPort,
            kafkaPort,
            seed,
            trace,
            traceSampleIterations,
            executorDims,
            decisionTimeout,
            access,
            jobArguments);
      }
    }
  }

  private final Settings settings;
  private final PrintStream out;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final List<Long> loopLatenciesMillis = new ArrayList<>();
  private final ConcurrentHashMap<Long, Long> windowEndNanos = new ConcurrentHashMap<>();
  private volatile Executor executor;

  /** A stack for these settings, reporting to {@code out}. */
  public LocalStack(Settings settings, PrintStream out) {
    this.settings = settings;
    this.out = out;
  }

  /** Asks a running stack to stop after the current iteration. */
  public void stop() {
    stopping.set(true);
    Executor running = executor;
    if (running != null) {
      running.stop();
    }
  }

  /** Runs until the iterations are produced or {@link #stop()} is called; cleans up either way. */
  public void run() throws Exception {
    PlanPool pool = buildPool();
    SelectorStack.Ports ports =
        new SelectorStack.Ports(
            settings.kafkaPort(),
            settings.uiPort(),
            settings.windowIterations(),
            settings.leadIterations());
    try (SelectorStack stack =
        SelectorStack.start(ports, settings.access(), pool, settings.jobArguments())) {
      out.printf("Kafka broker on %s%n", stack.bootstrapServers());
      if (settings.access().secure()) {
        out.printf(
            "secured: SASL_SSL with SCRAM-SHA-512 users and ACLs; the executor connects with %s%n",
            stack.tenantClientFile());
      }
      out.printf("Flink dashboard on %s (job %s)%n", stack.dashboardUrl(), stack.flinkJobId());
      drive(stack.clientProperties(), pool);
      out.printf(
          "checkpoints: %.1f KiB on disk (RocksDB, incremental) after the run%n",
          directorySize(stack.checkpointDirectory()) / 1024.0);
    }
  }

  /**
   * The pool for the job: searched for the CPU workers of the in-process executor running the
   * model's layers and experts at the executor's small dimensions ({@link CpuExecutorPool}), so the
   * selector's predictions and the executor's measurements describe the same computation.
   */
  private PlanPool buildPool() throws IOException {
    long started = System.nanoTime();
    PoolOptions options =
        PoolOptions.defaults()
            .withSynthetic(PoolOptions.DEFAULT_SYNTHETIC_SAMPLES, settings.seed());
    LoadHistory history =
        settings.trace() == null
            ? null
            : TraceHistory.read(settings.trace(), settings.model().moeLayers(), 1000);
    CpuExecutorPool cpu =
        new CpuExecutorPool(settings.cluster(), settings.model(), settings.executorDims());
    Pool pool = cpu.search(options, history);
    var best = pool.plans().get(0).parallel();
    out.printf(
        "pool built in %d ms for CPU executors (%s): %d plans,"
            + " first config tp=%d pp=%d dp=%d ep=%d slots=%d%n",
        Duration.ofNanos(System.nanoTime() - started).toMillis(),
        cpu.describeDims(),
        pool.plans().size(),
        best.tp(),
        best.pp(),
        best.dp(),
        best.ep(),
        best.slotsPerWorker());
    return PoolRecords.toRecord(pool, settings.jobId(), Instant.now(), "moeplan local");
  }

  private void drive(Properties client, PlanPool pool) throws Exception {
    ModelSpec model = settings.model();
    int ranks = settings.cluster().nodes() * settings.cluster().gpusPerNode();
    int layers = model.moeLayers();
    int experts = model.expertCount();
    // the pool as the job and the executor read it back from its record
    PlacementTracker tracker = new PlacementTracker(PoolRecords.fromRecord(pool));
    ExecutorSettings executorSettings =
        ExecutorSettings.defaults(settings.jobId(), ranks)
            .withTrace(settings.trace(), settings.traceSampleIterations())
            .withIterations(0, settings.iterations())
            .withRate(settings.iterationsPerSecond())
            .withWindow(
                settings.windowIterations(), settings.leadIterations(), settings.decisionTimeout())
            .withDims(settings.executorDims())
            .withSeed(settings.seed());
    ExecutorModel executorModel = ExecutorModel.of(pool, executorSettings.dims());
    long startedNanos = System.nanoTime();
    ModelledSteps modelled = new ModelledSteps(StepModel.ofPool(PoolRecords.fromRecord(pool)));
    String prefix = settings.access().topicPrefix();
    TopicNames topics = prefix.isEmpty() ? TopicNames.DEFAULT : TopicNames.DEFAULT.prefixed(prefix);
    try (KafkaExecutorIo io = new KafkaExecutorIo(client, topics);
        ModelFitReader fits =
            ModelFitReader.open(
                client, settings.access().topic(Topics.MODEL_FIT.name()), Duration.ofSeconds(30))) {
      DecisionSource observed =
          wait -> {
            List<PlanDecision> received = io.poll(wait);
            for (PlanDecision decision : received) {
              observe(decision, tracker);
            }
            return received;
          };
      try (Executor executor = new Executor(executorSettings, executorModel, observed, io, out)) {
        this.executor = executor;
        if (stopping.get()) {
          executor.stop();
        }
        out.printf(
            "running %s iterations of %d ranks x %d layers x %d experts at %.1f iterations/s on an"
                + " in-process cpu executor (%d workers x %d slots), %s (Ctrl-C stops)%n",
            settings.iterations() == 0 ? "unbounded" : Long.toString(settings.iterations()),
            ranks,
            layers,
            experts,
            settings.iterationsPerSecond(),
            executorModel.layout().workers(),
            executorModel.layout().slotsPerWorker(),
            settings.trace() == null
                ? "synthetic tokens through a real gate"
                : "routing replayed from " + settings.trace().getFileName());
        Measured measured = new Measured();
        Measured whole = new Measured();
        long ran =
            executor.run(
                report -> {
                  tracker.applyDue(report.iteration());
                  tracker.account(report.counts());
                  modelled.take(fits.poll(Duration.ZERO));
                  double modelledMillis = modelled.model().stepMillis(report);
                  measured.add(report, modelledMillis);
                  whole.add(report, modelledMillis);
                  if (DecisionWindows.endsWindow(report.iteration(), settings.windowIterations())) {
                    windowEndNanos.put(
                        DecisionWindows.windowOf(report.iteration(), settings.windowIterations()),
                        System.nanoTime());
                  }
                  if (System.nanoTime() - measured.lastPrinted > 2_000_000_000L) {
                    progress(report.iteration() + 1, tracker, executor, measured, modelled);
                    measured.reset();
                  }
                });
        // the windows the run completed: each gets a decision per layer
        long windows = DecisionWindows.windowOf(ran, settings.windowIterations());
        long expected = windows * layers;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (tracker.decisions() < expected && System.nanoTime() < deadline) {
          observed.poll(Duration.ofMillis(200));
        }
        modelled.take(fits.poll(Duration.ZERO));
        progress(ran, tracker, executor, whole, modelled);
        summary(
            ran,
            expected,
            tracker,
            executor,
            io.errors(),
            whole,
            modelled,
            (System.nanoTime() - startedNanos) / 1e9);
      } finally {
        this.executor = null;
      }
    }
  }

  /** Prints a switch decision as it arrives and notes the loop latency of its window. */
  private void observe(PlanDecision decision, PlacementTracker tracker) {
    if (!decision.getJobId().equals(settings.jobId()) || !tracker.offer(decision)) {
      return;
    }
    Long windowEnd = windowEndNanos.get(decision.getWindow());
    if (windowEnd != null && decision.getLayer() == 0) {
      loopLatenciesMillis.add(Duration.ofNanos(System.nanoTime() - windowEnd).toMillis());
    }
    if (decision.getAction() == DecisionAction.SWITCH) {
      out.println(DecisionLines.switchLine(decision));
    }
  }

  /**
   * Measured per-worker compute since the last progress line: the slowest worker's time per
   * iteration (mean), and the median over iterations of max/mean per layer, measured and in tokens
   * (the median, as a worker preempted on a busy machine inflates single iterations).
   */
  private static final class Measured {
    long lastPrinted = System.nanoTime();
    final List<Double> computeImbalance = new ArrayList<>();
    final List<Double> tokenImbalance = new ArrayList<>();
    double slowestMillis;
    double stepMillis;
    double modelledMillis;

    void add(IterationReport report, double modelledStepMillis) {
      computeImbalance.add(report.computeImbalance());
      tokenImbalance.add(report.tokenImbalance());
      slowestMillis += report.maxWorkerMillis();
      stepMillis += report.stepMillis();
      modelledMillis += modelledStepMillis;
    }

    void reset() {
      lastPrinted = System.nanoTime();
      computeImbalance.clear();
      tokenImbalance.clear();
      slowestMillis = 0;
      stepMillis = 0;
      modelledMillis = 0;
    }

    /**
     * Mean measured step time (per layer the slowest worker's compute plus migration paid) and the
     * mean modelled one, per iteration.
     */
    String describeStep() {
      int n = computeImbalance.size();
      return n == 0
          ? "-"
          : String.format(
              Locale.ROOT,
              "measured %.2f ms, modelled %.2f ms per iteration",
              stepMillis / n,
              modelledMillis / n);
    }

    String describe() {
      return computeImbalance.isEmpty()
          ? "-"
          : String.format(
              Locale.ROOT,
              "slowest worker %.2f ms per iteration, max/mean per layer %.2f (tokens %.2f)",
              slowestMillis / computeImbalance.size(),
              median(computeImbalance),
              median(tokenImbalance));
    }

    private static double median(List<Double> values) {
      List<Double> sorted = new ArrayList<>(values);
      sorted.sort(Comparator.naturalOrder());
      return sorted.get(sorted.size() / 2);
    }
  }

  /**
   * The constants the modelled step time uses: the latest ModelFit of the job, or the pool's before
   * one arrived.
   */
  private final class ModelledSteps {
    private StepModel model;
    private ModelFit latest;

    ModelledSteps(StepModel pool) {
      this.model = pool;
    }

    void take(List<ModelFit> fits) {
      for (ModelFit fit : fits) {
        if (fit.getJobId().equals(settings.jobId())) {
          latest = fit;
          model = StepModel.ofFit(fit);
        }
      }
    }

    StepModel model() {
      return model;
    }

    /** The model and its published error, or "not calibrated yet". */
    String describe() {
      return ModelFitText.summary(latest);
    }
  }

  private void progress(
      long iterations,
      PlacementTracker tracker,
      Executor executor,
      Measured measured,
      ModelledSteps modelled) {
    out.printf(
        Locale.ROOT,
        "[progress] iterations %d, decisions %d, switches applied %d, predicted speedup vs"
            + " static %.3fx, loop latency p50 %s ms, measured expert compute: %s; step time %s"
            + " (%s)%n",
        iterations,
        tracker.decisions(),
        executor.follower().switchesApplied(),
        tracker.speedupOverStatic(),
        percentile(0.5),
        measured.describe(),
        measured.describeStep(),
        modelled.describe());
  }

  private void summary(
      long iterations,
      long expectedDecisions,
      PlacementTracker tracker,
      Executor executor,
      KafkaExecutorIo.Errors errors,
      Measured whole,
      ModelledSteps modelled,
      double seconds) {
    out.printf(
        Locale.ROOT,
        "summary: %d iterations, %d of %d decisions received (%.1f/s), %d switches applied by"
            + " every rank at their effective iteration (%d decisions timed out, %d late),"
            + " %.1f KiB of weights and Adam state moved in %.2f ms, modelled MoE time %.3fx"
            + " faster than static, loop latency p50 %s ms p99 %s ms, %d Kafka sends failed,"
            + " %d records skipped, step time %s (%s)%n",
        iterations,
        tracker.decisions(),
        expectedDecisions,
        tracker.decisions() / seconds,
        executor.follower().switchesApplied(),
        executor.follower().timeouts(),
        executor.follower().lateDecisions(),
        executor.migratedBytes() / 1024.0,
        executor.migrationMillis(),
        tracker.speedupOverStatic(),
        percentile(0.5),
        percentile(0.99),
        errors.failedSends(),
        errors.skippedRecords(),
        whole.describeStep(),
        modelled.describe());
    for (String problem : errors.recentProblems()) {
      out.println("  " + problem);
    }
  }

  private String percentile(double quantile) {
    if (loopLatenciesMillis.isEmpty()) {
      return "-";
    }
    List<Long> sorted = new ArrayList<>(loopLatenciesMillis);
    sorted.sort(Comparator.naturalOrder());
    int index = (int) Math.min(sorted.size() - 1, Math.ceil(quantile * sorted.size()) - 1);
    return Long.toString(sorted.get(Math.max(0, index)));
  }

  private static long directorySize(Path root) throws IOException {
    if (!Files.exists(root)) {
      return 0;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      long total = 0;
      for (Path path : paths.filter(Files::isRegularFile).toList()) {
        total += Files.size(path);
      }
      return total;
    }
  }
}
