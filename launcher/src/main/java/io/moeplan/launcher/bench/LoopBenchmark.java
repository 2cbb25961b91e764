package io.moeplan.launcher.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moeplan.executor.cuda.CudaAvailability;
import io.moeplan.executor.decisions.DecisionSource;
import io.moeplan.executor.process.CpuWorkers;
import io.moeplan.executor.process.Executor;
import io.moeplan.executor.process.ExecutorModel;
import io.moeplan.executor.process.ExecutorSettings;
import io.moeplan.executor.process.ExecutorSettings.BackendKind;
import io.moeplan.executor.process.ExecutorSettings.TopicNames;
import io.moeplan.executor.process.ExecutorSink;
import io.moeplan.executor.process.IterationReport;
import io.moeplan.executor.process.KafkaExecutorIo;
import io.moeplan.launcher.fit.ModelFitReader;
import io.moeplan.launcher.fit.ModelFitText;
import io.moeplan.launcher.fit.StepModel;
import io.moeplan.launcher.local.SelectorStack;
import io.moeplan.planner.pool.LoadHistory;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.poolloader.TraceHistory;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTimes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A measured A/B of moeplan against static placement on the in-process executor: the same seeded
 * workload runs twice, each time on a fresh {@link SelectorStack} (its own broker, MiniCluster and
 * plan-selector job), one run after the other. Run A ("static") starts the job with {@code --static
 * true}, so every decision keeps the start layout; run B ("moeplan") lets the job decide. The
 * executor runs unpaced (iterations as fast as they compute), waiting at each effective iteration,
 * bounded, for its window's decisions, as every executor does.
 *
 * <p>Per run it measures each iteration's step time ({@link IterationReport#stepMillis()}: per
 * layer the slowest worker's expert compute plus the slowest worker's migration), and models the
 * same terms ({@link StepModel}) with the constants of the run's last ModelFit (the pool's when
 * none arrived). The first {@code warmupIterations} of each run are not measured; before the first
 * run the executor alone (no broker, no job) runs that many iterations to warm the JIT, so neither
 * run is measured while the JIT is still compiling the layer. A checksum of every iteration's
 * per-rank expert counts shows that both runs routed the same tokens.
 */
public final class LoopBenchmark {

  /** Experts per layer (the GPT-MoE shape the other commands use). */
  public static final int EXPERTS = 32;

  /** Experts each token is routed to. */
  public static final int TOP_K = 2;

  /** Label and job id of run A. */
  public static final String STATIC = "static";

  /** Label and job id of run B. */
  public static final String MOEPLAN = "moeplan";

  private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(5);
  private static final int BOOTSTRAP_RESAMPLES = 2_000;
  private static final Duration BROKER_BOUND = Duration.ofSeconds(30);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * What to run.
   *
   * @param trace a trace whose routing the ranks replay, or null for the synthetic skewed gate
   * @param traceSampleIterations iterations each trace sample stands for
   * @param iterations measured iterations of each run
   * @param warmupIterations iterations before them in each run, not measured (and the length of the
   *     JIT warm-up before the first run)
   * @param layers MoE layers
   * @param hidden model width the executor runs
   * @param ffn expert FFN width
   * @param tokensPerRank tokens each rank routes per layer and iteration
   * @param ranks ranks, one expert-parallel worker each
   * @param windowIterations the job's replan interval
   * @param leadIterations the job's lead of a decision's effective iteration
   * @param seed seed of the routing, the weights and the pool's synthetic loads
   * @param backend the executor's backend
   * @param decisionTimeout how long the executor waits at an effective iteration for decisions
   */
  public record Settings(
      Path trace,
      int traceSampleIterations,
      int iterations,
      int warmupIterations,
      int layers,
      int hidden,
      int ffn,
      int tokensPerRank,
      int ranks,
      int windowIterations,
      int leadIterations,
      long seed,
      BackendKind backend,
      Duration decisionTimeout) {

    /** Checks the values; the messages name the command's options. */
    public Settings {
      require(iterations >= 1, "--iterations must be >= 1, got " + iterations);
      require(warmupIterations >= 0, "--warmup-iterations must be >= 0, got " + warmupIterations);
      require(layers >= 1, "--layers must be >= 1, got " + layers);
      require(
          hidden >= 1 && ffn >= 1 && tokensPerRank >= 1,
          "--hidden, --ffn and --tokens-per-rank must be >= 1");
      require(
          ranks >= 1 && ranks <= EXPERTS,
          "--ranks must be in [1, " + EXPERTS + "] (one worker per rank, " + EXPERTS + " experts)");
      require(windowIterations >= 1, "--window-iterations must be >= 1, got " + windowIterations);
      require(leadIterations >= 0, "--lead-iterations must be >= 0, got " + leadIterations);
      require(
          traceSampleIterations >= 1,
          "--trace-sample-iterations must be >= 1, got " + traceSampleIterations);
    }

    private static void require(boolean ok, String message) {
      if (!ok) {
        throw new IllegalArgumentException(message);
      }
    }

    /** Expert slots per worker: one replica of every expert, plus one spare slot per worker. */
    public int slotsPerWorker() {
      return (EXPERTS + ranks - 1) / ranks + 1;
    }
  }

  /**
   * One run's figures. Step times are milliseconds per iteration over the measured iterations.
   *
   * @param label {@value #STATIC} or {@value #MOEPLAN}
   * @param jobId the run's job id
   * @param measuredIterations iterations measured (after the warm-up)
   * @param stepMeanMillis mean measured step time
   * @param stepP50Millis median measured step time
   * @param stepP90Millis 90th percentile of the measured step time
   * @param gcIterations measured iterations during which the JVM paused for garbage collection
   * @param gcMillis time the JVM spent collecting garbage during the measured iterations
   * @param stepMeanWithoutGcMillis mean measured step time of the other measured iterations
   * @param migrationPaidMeanMillis mean migration paid per iteration (part of the step time)
   * @param migrationPaidMillis migration paid over the measured iterations
   * @param modelledStepMeanMillis mean modelled step time of the same iterations
   * @param modelledMigrationMeanMillis mean modelled migration paid per iteration
   * @param switchesApplied switches the executor applied in the whole run
   * @param switchesMeasured of them, those applied before a measured iteration
   * @param decisions decisions received (not counting redeliveries)
   * @param keepDecisions of them KEEP
   * @param switchDecisions of them SWITCH
   * @param decisionTimeouts windows whose decisions did not arrive within the bound
   * @param model the constants the modelled step times use
   * @param fit the run's last ModelFit, or null when none arrived
   * @param fitsReceived ModelFit records received during the run
   * @param inSampleMape MAPE of the modelled against the measured per-worker compute (fraction)
   * @param inSamplePearson Pearson r of the same pairs
   * @param workloadChecksum checksum of every iteration's per-rank expert counts
   * @param checksumIterations iterations the checksum covers
   * @param seconds wall time of the run, stack start and stop included
   * @param stepsMillis the measured step time of each measured iteration, in iteration order
   */
  public record RunResult(
      String label,
      String jobId,
      int measuredIterations,
      double stepMeanMillis,
      double stepP50Millis,
      double stepP90Millis,
      int gcIterations,
      long gcMillis,
      double stepMeanWithoutGcMillis,
      double migrationPaidMeanMillis,
      double migrationPaidMillis,
      double modelledStepMeanMillis,
      double modelledMigrationMeanMillis,
      long switchesApplied,
      long switchesMeasured,
      long decisions,
      long keepDecisions,
      long switchDecisions,
      long decisionTimeouts,
      StepModel model,
      ModelFit fit,
      long fitsReceived,
      double inSampleMape,
      double inSamplePearson,
      String workloadChecksum,
      long checksumIterations,
      double seconds,
      double[] stepsMillis) {}

  /**
   * The A/B's figures.
   *
   * @param settings what ran
   * @param pool the pool's constants
   * @param staticRun run A
   * @param moeplanRun run B
   * @param measuredSpeedup static mean step time / moeplan mean step time
   * @param p50Ratio static p50 / moeplan p50
   * @param speedupWithoutGc the ratio of the mean step times of the iterations without a GC pause
   * @param modelledSpeedup static mean modelled step time / moeplan mean modelled step time
   * @param measuredOfModelledGain (measured speedup - 1) / (modelled speedup - 1), NaN when the
   *     modelled gain is nil
   * @param speedupLow lower end of the 95% interval of the measured speedup (paired bootstrap over
   *     the measured iterations, which routed the same tokens in both runs)
   * @param speedupHigh upper end of that interval
   * @param sameWorkload whether both runs' workload checksums are equal
   * @param warmupSeconds wall time of the JIT warm-up before the first run
   * @param seconds wall time of the whole benchmark
   */
  public record Result(
      Settings settings,
      StepModel pool,
      RunResult staticRun,
      RunResult moeplanRun,
      double measuredSpeedup,
      double p50Ratio,
      double speedupWithoutGc,
      double modelledSpeedup,
      double measuredOfModelledGain,
      double speedupLow,
      double speedupHigh,
      boolean sameWorkload,
      double warmupSeconds,
      double seconds) {}

  private final Settings settings;
  private final PrintStream out;

  /** A benchmark of {@code settings} reporting progress to {@code out}. */
  public LoopBenchmark(Settings settings, PrintStream out) {
    this.settings = settings;
    this.out = out;
  }

  /**
   * Runs the JIT warm-up, then run A, then run B.
   *
   * @throws IllegalArgumentException when the backend is not usable here or the trace not readable
   */
  public Result run() throws Exception {
    if (settings.backend() == BackendKind.CUDA && !CudaAvailability.available()) {
      throw new IllegalArgumentException(
          "--backend cuda: " + CudaAvailability.reason() + "; use --backend cpu on this machine");
    }
    if (settings.trace() != null && !Files.isReadable(settings.trace())) {
      throw new IllegalArgumentException("--trace " + settings.trace() + ": no such file");
    }
    long started = System.nanoTime();
    Pool pool = searchPool();
    StepModel poolModel = StepModel.ofPool(pool);
    double warmupSeconds = warmJit(pool);
    RunResult a = runOnce(pool, poolModel, STATIC, true);
    RunResult b = runOnce(pool, poolModel, MOEPLAN, false);
    double measured = a.stepMeanMillis() / b.stepMeanMillis();
    double p50 = a.stepP50Millis() / b.stepP50Millis();
    double modelled = a.modelledStepMeanMillis() / b.modelledStepMeanMillis();
    double ofModelled =
        Math.abs(modelled - 1) < 1e-3 ? Double.NaN : (measured - 1) / (modelled - 1);
    double[] interval =
        a.stepsMillis().length == b.stepsMillis().length
            ? Stats.pairedRatioInterval(
                a.stepsMillis(), b.stepsMillis(), 0.95, BOOTSTRAP_RESAMPLES, settings.seed())
            : new double[] {Double.NaN, Double.NaN};
    return new Result(
        settings,
        poolModel,
        a,
        b,
        measured,
        p50,
        a.stepMeanWithoutGcMillis() / b.stepMeanWithoutGcMillis(),
        modelled,
        ofModelled,
        interval[0],
        interval[1],
        a.workloadChecksum().equals(b.workloadChecksum())
            && a.checksumIterations() == b.checksumIterations(),
        warmupSeconds,
        (System.nanoTime() - started) / 1e9);
  }

  /** The pool both runs use: CPU workers, pure expert parallelism over the ranks. */
  private Pool searchPool() throws IOException {
    long started = System.nanoTime();
    ClusterSpec cluster = CpuWorkers.cluster(1, settings.ranks());
    ModelSpec model =
        CpuWorkers.model(
            settings.layers(),
            EXPERTS,
            TOP_K,
            settings.hidden(),
            settings.ffn(),
            settings.tokensPerRank());
    LoadHistory history =
        settings.trace() == null
            ? null
            : TraceHistory.read(settings.trace(), settings.layers(), 1000);
    PoolOptions options =
        PoolOptions.defaults()
            .withSynthetic(PoolOptions.DEFAULT_SYNTHETIC_SAMPLES, settings.seed())
            .withParallel(
                ParallelConfig.expertParallel(settings.ranks(), settings.slotsPerWorker()));
    Pool pool = new PoolSearch(cluster, model, options).search(history, ProgressListener.NONE);
    out.printf(
        Locale.ROOT,
        "pool: %d plans for %d CPU workers x %d slots, %d layers x %d experts (top-%d), hidden %d,"
            + " ffn %d, %d tokens per rank, searched on %s in %.1f s%n",
        pool.plans().size(),
        settings.ranks(),
        settings.slotsPerWorker(),
        settings.layers(),
        EXPERTS,
        TOP_K,
        settings.hidden(),
        settings.ffn(),
        settings.tokensPerRank(),
        settings.trace() == null
            ? "synthetic loads"
            : "the trace's loads (" + settings.trace().getFileName() + ")",
        (System.nanoTime() - started) / 1e9);
    return pool;
  }

  private ExecutorSettings executorSettings(String jobId, long iterations, Duration timeout) {
    return ExecutorSettings.defaults(jobId, settings.ranks())
        .withBackend(settings.backend())
        .withTrace(settings.trace(), settings.traceSampleIterations())
        .withIterations(0, iterations)
        .withRate(0)
        .withWindow(settings.windowIterations(), settings.leadIterations(), timeout)
        .withDims(
            new ExecutorSettings.DimOverrides(
                settings.hidden(), settings.ffn(), settings.tokensPerRank()))
        .withSeed(settings.seed());
  }

  /**
   * Runs the warm-up iterations on the executor alone, with no broker or job and nothing published,
   * so the JIT has compiled the layer before either run is measured.
   */
  private double warmJit(Pool pool) throws Exception {
    if (settings.warmupIterations() == 0) {
      return 0;
    }
    long started = System.nanoTime();
    out.printf(
        "JIT warm-up: %d iterations on the executor alone (no broker, no job)...%n",
        settings.warmupIterations());
    PlanPool record = PoolRecords.toRecord(pool, "warmup", Instant.now(), "moeplan bench loop");
    ExecutorSettings warm = executorSettings("warmup", settings.warmupIterations(), Duration.ZERO);
    PrintStream discard = new PrintStream(OutputStream.nullOutputStream());
    try (Executor executor =
        new Executor(
            warm, ExecutorModel.of(record, warm.dims()), wait -> List.of(), NO_SINK, discard)) {
      executor.run(report -> {});
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    out.printf(Locale.ROOT, "JIT warm-up done in %.1f s%n", seconds);
    return seconds;
  }

  private static final ExecutorSink NO_SINK =
      new ExecutorSink() {
        @Override
        public void expertLoad(ExpertLoad load) {}

        @Override
        public void workerTimes(WorkerTimes times) {}

        @Override
        public void flush() {}
      };

  /**
   * One iteration's measured and modelling inputs; {@code gcPause} says whether the JVM collected
   * garbage while it ran (a stop-the-world pause lengthens the worker being timed).
   */
  private record Sample(
      boolean gcPause,
      double stepMillis,
      double migrationPaidMillis,
      int[][] activeSlots,
      long[][] tokens,
      long[][] receivedBytes,
      double[][] workerMillis) {}

  /** Decisions of one job, without redeliveries. */
  private static final class Decisions {
    private final String jobId;
    private final Set<String> seen = new HashSet<>();
    long keep;
    long switches;

    Decisions(String jobId) {
      this.jobId = jobId;
    }

    void offer(List<PlanDecision> received) {
      for (PlanDecision decision : received) {
        if (decision.getJobId().equals(jobId) && seen.add(decision.getDecisionId())) {
          if (decision.getAction() == DecisionAction.SWITCH) {
            switches++;
          } else {
            keep++;
          }
        }
      }
    }
  }

  private RunResult runOnce(Pool pool, StepModel poolModel, String label, boolean staticPlacement)
      throws Exception {
    long started = System.nanoTime();
    String jobId = "bench-" + label;
    PlanPool record = PoolRecords.toRecord(pool, jobId, Instant.now(), "moeplan bench loop");
    List<String> jobArguments = staticPlacement ? List.of("--static", "true") : List.of();
    out.printf(
        "[%s] starting a broker, a Flink MiniCluster and the plan-selector job (job %s%s)...%n",
        label,
        jobId,
        staticPlacement ? ", --static true: every decision keeps the start layout" : "");
    SelectorStack.Ports ports =
        new SelectorStack.Ports(
            0, freePort(), settings.windowIterations(), settings.leadIterations());
    long total = (long) settings.warmupIterations() + settings.iterations();
    List<Sample> samples = new ArrayList<>();
    WorkloadChecksum checksum = new WorkloadChecksum();
    Decisions decisions = new Decisions(jobId);
    long[] switches = new long[2]; // whole run, measured iterations
    long[] gcMillis = new long[1];
    long fitsReceived;
    long timeouts;
    ModelFit fit;
    try (SelectorStack stack = SelectorStack.start(ports, record, jobArguments);
        KafkaExecutorIo io = new KafkaExecutorIo(stack.clientProperties(), TopicNames.DEFAULT);
        ModelFitReader fits =
            ModelFitReader.open(stack.clientProperties(), Topics.MODEL_FIT.name(), BROKER_BOUND)) {
      DecisionSource source =
          wait -> {
            List<PlanDecision> received = io.poll(wait);
            decisions.offer(received);
            return received;
          };
      ExecutorSettings executorSettings =
          executorSettings(jobId, total, settings.decisionTimeout());
      out.printf(
          Locale.ROOT,
          "[%s] job running after %.1f s; %d iterations (%d warm-up, not measured), unpaced%n",
          label,
          (System.nanoTime() - started) / 1e9,
          total,
          settings.warmupIterations());
      long[] fitCount = new long[1];
      long[] lastProgress = {System.nanoTime()};
      long[] gc = GcCounter.read();
      try (PrintStream console = new PrintStream(new DropLines(out, "applied "), true);
          Executor executor =
              new Executor(
                  executorSettings,
                  ExecutorModel.of(record, executorSettings.dims()),
                  source,
                  io,
                  console)) {
        executor.run(
            report -> {
              long[] collected = GcCounter.read();
              long collections = collected[0] - gc[0];
              if (report.iteration() >= settings.warmupIterations()) {
                gcMillis[0] += collected[1] - gc[1];
              }
              gc[0] = collected[0];
              gc[1] = collected[1];
              checksum.add(report.iteration(), report.counts());
              fitCount[0] += fits.poll(Duration.ZERO).size();
              switches[0] += report.applied().size();
              if (report.iteration() >= settings.warmupIterations()) {
                switches[1] += report.applied().size();
                samples.add(
                    new Sample(
                        collections > 0,
                        report.stepMillis(),
                        report.migrationPaidMillis(),
                        report.activeSlots(),
                        report.workerTokens(),
                        StepModel.receivedBytes(report),
                        report.workerMillis()));
              }
              long now = System.nanoTime();
              if (now - lastProgress[0] >= PROGRESS_INTERVAL.toNanos()) {
                lastProgress[0] = now;
                progress(
                    label,
                    report.iteration() + 1,
                    total,
                    samples,
                    switches[0],
                    decisions,
                    fits,
                    jobId);
              }
            });
        timeouts = executor.follower().timeouts();
        // the job publishes a fit per window: wait (bounded) for the one covering the last window
        long lastIteration = total - 1;
        long deadline =
            System.nanoTime()
                + (fitCount[0] > 0 ? Duration.ofSeconds(10) : Duration.ofSeconds(2)).toNanos();
        while (System.nanoTime() < deadline
            && fits.latest(jobId)
                .map(f -> f.getLastIteration() < lastIteration - settings.windowIterations())
                .orElse(true)) {
          fitCount[0] += fits.poll(Duration.ofMillis(200)).size();
        }
      }
      fitsReceived = fitCount[0];
      fit = fits.latest(jobId).orElse(null);
    }
    StepModel model = fit == null ? poolModel : StepModel.ofFit(fit);
    return summarise(
        label,
        jobId,
        samples,
        model,
        fit,
        fitsReceived,
        switches,
        decisions,
        timeouts,
        checksum,
        gcMillis[0],
        (System.nanoTime() - started) / 1e9);
  }

  private void progress(
      String label,
      long done,
      long total,
      List<Sample> samples,
      long switches,
      Decisions decisions,
      ModelFitReader fits,
      String jobId) {
    double[] steps = samples.stream().mapToDouble(Sample::stepMillis).toArray();
    out.printf(
        Locale.ROOT,
        "[%s] iteration %d of %d, measured step mean %s ms, switches applied %d, decisions %d,"
            + " %s%n",
        label,
        done,
        total,
        steps.length == 0 ? "- (warm-up)" : String.format(Locale.ROOT, "%.2f", Stats.mean(steps)),
        switches,
        decisions.keep + decisions.switches,
        ModelFitText.summary(fits.latest(jobId).orElse(null)));
  }

  private RunResult summarise(
      String label,
      String jobId,
      List<Sample> samples,
      StepModel model,
      ModelFit fit,
      long fitsReceived,
      long[] switches,
      Decisions decisions,
      long timeouts,
      WorkloadChecksum checksum,
      long gcMillis,
      double seconds) {
    int n = samples.size();
    double[] quiet =
        samples.stream().filter(s -> !s.gcPause()).mapToDouble(Sample::stepMillis).toArray();
    double[] steps = new double[n];
    double[] paid = new double[n];
    double[] modelled = new double[n];
    double[] modelledMigration = new double[n];
    List<Double> predicted = new ArrayList<>();
    List<Double> measured = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Sample s = samples.get(i);
      steps[i] = s.stepMillis();
      paid[i] = s.migrationPaidMillis();
      modelledMigration[i] = 1e3 * model.migrationSeconds(s.receivedBytes());
      modelled[i] = 1e3 * model.computeSeconds(s.activeSlots(), s.tokens()) + modelledMigration[i];
      for (int layer = 0; layer < s.tokens().length; layer++) {
        for (int w = 0; w < s.tokens()[layer].length; w++) {
          predicted.add(model.workerSeconds(s.activeSlots()[layer][w], s.tokens()[layer][w]));
          measured.add(s.workerMillis()[layer][w] / 1e3);
        }
      }
    }
    double[] p = predicted.stream().mapToDouble(Double::doubleValue).toArray();
    double[] m = measured.stream().mapToDouble(Double::doubleValue).toArray();
    double paidTotal = 0;
    for (double v : paid) {
      paidTotal += v;
    }
    return new RunResult(
        label,
        jobId,
        n,
        Stats.mean(steps),
        Stats.percentile(steps, 0.5),
        Stats.percentile(steps, 0.9),
        n - quiet.length,
        gcMillis,
        Stats.mean(quiet),
        Stats.mean(paid),
        paidTotal,
        Stats.mean(modelled),
        Stats.mean(modelledMigration),
        switches[0],
        switches[1],
        decisions.keep + decisions.switches,
        decisions.keep,
        decisions.switches,
        timeouts,
        model,
        fit,
        fitsReceived,
        Stats.mape(p, m),
        Stats.pearson(p, m),
        checksum.hex(),
        checksum.iterations(),
        seconds,
        steps);
  }

  /** Prints the results side by side, then the speedups, the models and the workload check. */
  public static void print(Result r, PrintStream out) {
    RunResult a = r.staticRun();
    RunResult b = r.moeplanRun();
    out.println();
    out.printf(
        Locale.ROOT,
        "loop benchmark: %d ranks x %d layers x %d experts (top-%d), hidden %d, ffn %d, %d tokens"
            + " per rank, %s, window %d, lead %d, %s backend, seed %d%n",
        r.settings().ranks(),
        r.settings().layers(),
        EXPERTS,
        TOP_K,
        r.settings().hidden(),
        r.settings().ffn(),
        r.settings().tokensPerRank(),
        r.settings().trace() == null
            ? "synthetic skewed gate"
            : "routing from " + r.settings().trace().getFileName(),
        r.settings().windowIterations(),
        r.settings().leadIterations(),
        r.settings().backend().name().toLowerCase(Locale.ROOT),
        r.settings().seed());
    String row = "  %-44s %16s %16s%n";
    out.printf(row, "", STATIC, MOEPLAN);
    out.printf(row, "measured iterations", a.measuredIterations(), b.measuredIterations());
    out.printf(row, "step time mean, ms/iteration", ms(a.stepMeanMillis()), ms(b.stepMeanMillis()));
    out.printf(row, "step time p50, ms/iteration", ms(a.stepP50Millis()), ms(b.stepP50Millis()));
    out.printf(row, "step time p90, ms/iteration", ms(a.stepP90Millis()), ms(b.stepP90Millis()));
    out.printf(
        row,
        "iterations with a GC pause (GC time)",
        a.gcIterations() + " (" + a.gcMillis() + " ms)",
        b.gcIterations() + " (" + b.gcMillis() + " ms)");
    out.printf(
        row,
        "step time mean without them, ms/iteration",
        ms(a.stepMeanWithoutGcMillis()),
        ms(b.stepMeanWithoutGcMillis()));
    out.printf(
        row,
        "  of which migration paid, ms/iteration",
        ms(a.migrationPaidMeanMillis()),
        ms(b.migrationPaidMeanMillis()));
    out.printf(
        row,
        "switches applied (in measured iterations)",
        a.switchesApplied() + " (" + a.switchesMeasured() + ")",
        b.switchesApplied() + " (" + b.switchesMeasured() + ")");
    out.printf(
        row,
        "decisions received: keep / switch",
        a.keepDecisions() + " / " + a.switchDecisions(),
        b.keepDecisions() + " / " + b.switchDecisions());
    out.printf(row, "decisions timed out (windows)", a.decisionTimeouts(), b.decisionTimeouts());
    out.printf(
        row,
        "modelled step time mean, ms/iteration",
        ms(a.modelledStepMeanMillis()),
        ms(b.modelledStepMeanMillis()));
    out.printf(
        row,
        "  of which migration, ms/iteration",
        ms(a.modelledMigrationMeanMillis()),
        ms(b.modelledMigrationMeanMillis()));
    out.printf(row, "modelled with", modelName(a), modelName(b));
    out.printf(
        Locale.ROOT,
        "measured speedup: %sx (static mean / moeplan mean; 95%% interval %s-%sx by a paired"
            + " bootstrap over the iterations), p50 ratio %sx; %sx over the iterations without a"
            + " GC pause%n",
        ratio(r.measuredSpeedup()),
        ratio(r.speedupLow()),
        ratio(r.speedupHigh()),
        ratio(r.p50Ratio()),
        ratio(r.speedupWithoutGc()));
    out.printf(
        Locale.ROOT,
        "modelled speedup for the same runs: %sx; the measured speedup is %s of it, the measured"
            + " gain %s of the modelled gain%n",
        ratio(r.modelledSpeedup()),
        String.format(Locale.ROOT, "%.0f%%", 100 * r.measuredSpeedup() / r.modelledSpeedup()),
        Double.isNaN(r.measuredOfModelledGain())
            ? "- (no modelled gain)"
            : String.format(Locale.ROOT, "%.0f%%", 100 * r.measuredOfModelledGain()));
    out.printf("pool's model: %s%n", r.pool().describe());
    for (RunResult run : List.of(a, b)) {
      out.printf("%s run's model: %s%n", run.label(), describeModel(run));
    }
    out.printf(
        Locale.ROOT,
        "bench's model error, in-sample: the final fit against the iterations it was fitted on"
            + " (moeplan run, %d per-worker samples): compute MAPE %s, r %s%n",
        (long) b.measuredIterations() * r.settings().layers() * r.settings().ranks(),
        ModelFitText.percent(b.inSampleMape()),
        ModelFitText.decimal(b.inSamplePearson()));
    if (a.switchesApplied() > 0 || a.switchDecisions() > 0) {
      out.printf(
          "WARNING: the static run received %d SWITCH decisions and applied %d switches: the job"
              + " did not keep the start layout under --static true, so run A is not a static"
              + " baseline%n",
          a.switchDecisions(), a.switchesApplied());
    }
    if (r.sameWorkload()) {
      out.printf(
          "workload: identical in both runs (checksum %s over %d iterations of per-rank expert"
              + " counts)%n",
          a.workloadChecksum(), a.checksumIterations());
    } else {
      out.printf(
          "WARNING: THE RUNS SAW DIFFERENT WORKLOADS: checksum %s over %d iterations (static) vs"
              + " %s over %d (moeplan); the comparison is not valid%n",
          a.workloadChecksum(),
          a.checksumIterations(),
          b.workloadChecksum(),
          b.checksumIterations());
    }
    out.printf(
        Locale.ROOT,
        "wall time: %.1f s (JIT warm-up %.1f s, static run %.1f s, moeplan run %.1f s)%n",
        r.seconds(),
        r.warmupSeconds(),
        a.seconds(),
        b.seconds());
  }

  private static String modelName(RunResult run) {
    if (run.fit() == null) {
      return "pool (no fit)";
    }
    return run.fit().getCalibrated()
        ? "fit v" + run.fit().getModelVersion()
        : "pool (not calibrated)";
  }

  private static String describeModel(RunResult run) {
    ModelFit fit = run.fit();
    if (fit == null) {
      return "no ModelFit arrived; modelled with the pool's constants";
    }
    return String.format(
        Locale.ROOT,
        "%s (%d fits received; %s), migration %s; published error: compute MAPE %s, r %s,"
            + " at each step's measured speed MAPE %s; step MAPE %s",
        fit.getCalibrated() ? "v" + fit.getModelVersion() + " calibrated" : "not calibrated yet",
        run.fitsReceived(),
        run.model().describe(),
        fit.getMigrationCalibrated() ? "measured" : "the pool's bandwidth",
        ModelFitText.percent(fit.getComputeMape()),
        ModelFitText.decimal(fit.getComputePearson()),
        ModelFitText.percent(fit.getComputeRelativeMape()),
        ModelFitText.percent(fit.getStepMape()));
  }

  /** Milliseconds as the table prints them. */
  public static String ms(double millis) {
    return Double.isNaN(millis) ? "-" : String.format(Locale.ROOT, "%.2f", millis);
  }

  /** A ratio as the summary prints it. */
  public static String ratio(double value) {
    return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.3f", value);
  }

  /** The results as JSON. */
  public static String json(Result r) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode s = root.putObject("settings");
    s.put("trace", r.settings().trace() == null ? null : r.settings().trace().toString());
    s.put("iterations", r.settings().iterations());
    s.put("warmupIterations", r.settings().warmupIterations());
    s.put("layers", r.settings().layers());
    s.put("experts", EXPERTS);
    s.put("topK", TOP_K);
    s.put("hidden", r.settings().hidden());
    s.put("ffn", r.settings().ffn());
    s.put("tokensPerRank", r.settings().tokensPerRank());
    s.put("ranks", r.settings().ranks());
    s.put("slotsPerWorker", r.settings().slotsPerWorker());
    s.put("windowIterations", r.settings().windowIterations());
    s.put("leadIterations", r.settings().leadIterations());
    s.put("seed", r.settings().seed());
    s.put("backend", r.settings().backend().name().toLowerCase(Locale.ROOT));
    putModel(root.putObject("poolModel"), r.pool());
    ObjectNode runs = root.putObject("runs");
    for (RunResult run : List.of(r.staticRun(), r.moeplanRun())) {
      ObjectNode node = runs.putObject(run.label());
      node.put("jobId", run.jobId());
      node.put("measuredIterations", run.measuredIterations());
      node.put("stepMeanMs", run.stepMeanMillis());
      node.put("stepP50Ms", run.stepP50Millis());
      node.put("stepP90Ms", run.stepP90Millis());
      node.put("gcIterations", run.gcIterations());
      node.put("gcMs", run.gcMillis());
      putNumber(node, "stepMeanWithoutGcMs", run.stepMeanWithoutGcMillis());
      node.put("migrationPaidMeanMs", run.migrationPaidMeanMillis());
      node.put("migrationPaidMs", run.migrationPaidMillis());
      node.put("modelledStepMeanMs", run.modelledStepMeanMillis());
      node.put("modelledMigrationMeanMs", run.modelledMigrationMeanMillis());
      node.put("switchesApplied", run.switchesApplied());
      node.put("switchesMeasured", run.switchesMeasured());
      node.put("decisions", run.decisions());
      node.put("keepDecisions", run.keepDecisions());
      node.put("switchDecisions", run.switchDecisions());
      node.put("decisionTimeouts", run.decisionTimeouts());
      putModel(node.putObject("model"), run.model());
      node.put("fitsReceived", run.fitsReceived());
      ModelFit fit = run.fit();
      if (fit == null) {
        node.putNull("lastFit");
      } else {
        ObjectNode f = node.putObject("lastFit");
        f.put("modelVersion", fit.getModelVersion());
        f.put("calibrated", fit.getCalibrated());
        f.put("lastIteration", fit.getLastIteration());
        f.put("fixedSeconds", fit.getFixedSeconds());
        f.put("perTokenSeconds", fit.getPerTokenSeconds());
        f.put("migrationCalibrated", fit.getMigrationCalibrated());
        f.put("migrationBytesPerSecond", fit.getMigrationBytesPerSecond());
        f.put("computeMape", fit.getComputeMape());
        f.put("computePearson", fit.getComputePearson());
        f.put("computeRelativeMape", fit.getComputeRelativeMape());
        f.put("stepMape", fit.getStepMape());
      }
      putNumber(node, "inSampleComputeMape", run.inSampleMape());
      putNumber(node, "inSampleComputePearson", run.inSamplePearson());
      node.put("workloadChecksum", run.workloadChecksum());
      node.put("checksumIterations", run.checksumIterations());
      node.put("seconds", run.seconds());
    }
    putNumber(root, "measuredSpeedup", r.measuredSpeedup());
    putNumber(root, "p50Ratio", r.p50Ratio());
    putNumber(root, "speedupWithoutGc", r.speedupWithoutGc());
    putNumber(root, "modelledSpeedup", r.modelledSpeedup());
    putNumber(root, "measuredOfModelledGain", r.measuredOfModelledGain());
    putNumber(root, "speedupLow", r.speedupLow());
    putNumber(root, "speedupHigh", r.speedupHigh());
    root.put("sameWorkload", r.sameWorkload());
    root.put("warmupSeconds", r.warmupSeconds());
    root.put("seconds", r.seconds());
    return JSON.writeValueAsString(root);
  }

  private static void putModel(ObjectNode node, StepModel model) {
    node.put("source", model.source());
    node.put("modelVersion", model.modelVersion());
    node.put("calibrated", model.calibrated());
    node.put("fixedSeconds", model.fixedSeconds());
    node.put("perTokenSeconds", model.perTokenSeconds());
    node.put("migrationBytesPerSecond", model.migrationBytesPerSecond());
  }

  private static void putNumber(ObjectNode node, String name, double value) {
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      node.putNull(name);
    } else {
      node.put(name, value);
    }
  }

  /** Garbage collections of this JVM so far: {count, milliseconds}. */
  private static final class GcCounter {
    static long[] read() {
      long count = 0;
      long millis = 0;
      for (GarbageCollectorMXBean bean : ManagementFactory.getGarbageCollectorMXBeans()) {
        count += Math.max(0, bean.getCollectionCount());
        millis += Math.max(0, bean.getCollectionTime());
      }
      return new long[] {count, millis};
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** Forwards whole lines to a stream, except those starting with a prefix. */
  private static final class DropLines extends OutputStream {
    private final PrintStream target;
    private final String prefix;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    DropLines(PrintStream target, String prefix) {
      this.target = target;
      this.prefix = prefix;
    }

    @Override
    public void write(int b) {
      line.write(b);
      if (b == '\n') {
        String text = line.toString(StandardCharsets.UTF_8);
        line.reset();
        if (!text.startsWith(prefix)) {
          target.print(text);
        }
      }
    }
  }
}
