package io.moeplan.executor.process;

import io.moeplan.executor.backend.CpuMoeLayer;
import io.moeplan.executor.backend.LayerStep;
import io.moeplan.executor.backend.MoeLayerBackend;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.executor.backend.SlotState;
import io.moeplan.executor.cuda.CudaMoeLayer;
import io.moeplan.executor.decisions.DecisionFollower;
import io.moeplan.executor.decisions.DecisionSource;
import io.moeplan.executor.decisions.LayerSwitch;
import io.moeplan.executor.decisions.StepOutcome;
import io.moeplan.executor.placement.Migration;
import io.moeplan.executor.placement.MigrationReport;
import io.moeplan.executor.workload.LayerInput;
import io.moeplan.executor.workload.SyntheticWorkload;
import io.moeplan.executor.workload.TraceWorkload;
import io.moeplan.executor.workload.Workload;
import io.moeplan.executor.workload.WorkloadShape;
import io.moeplan.planner.placement.Placement;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.WorkerTime;
import io.moeplan.schemas.WorkerTimes;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One executor process: the hosted ranks of one job running every MoE layer each iteration on a
 * backend, publishing their expert loads and measured per-worker times, and applying the job's
 * decisions at their effective iterations.
 *
 * <p>Per iteration: the decisions due are resolved ({@link DecisionFollower}) and switches applied
 * to every layer (weights and Adam state moved by {@link Migration}); then per layer the workload's
 * tokens are routed (a real gate, or a replayed trace), dispatched under the layer's placement, run
 * through the expert FFN per worker (timed by the backend) and combined. Every hosted rank then
 * publishes one ExpertLoad (all layers; plan version {@link DecisionFollower#planVersion()}) and
 * every layer one WorkerTimes. All ranks of the process share one placement per layer, so they
 * switch at the same iteration by construction.
 *
 * <p>Expert {@code e} of layer {@code l} starts from {@link SlotState#random} seeded by (seed, l,
 * e): every replica of an expert starts equal, and a restarted executor rebuilds the same state for
 * the placement it resumes on.
 *
 * <p>Decisions the follower refuses for their timing (the job runs another window length or lead
 * than this executor) are never applied; the first such mismatch is logged at ERROR and printed,
 * once, and the follower counts them ({@link DecisionFollower#timingMismatches()}).
 */
public final class Executor implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Executor.class);

  private final ExecutorSettings settings;
  private final ExecutorModel model;
  private final DecisionSource decisions;
  private final ExecutorSink sink;
  private final PrintStream console;
  private final Workload workload;
  private final DecisionFollower follower;
  private final List<MoeLayerBackend> backends = new ArrayList<>();
  private final String executorId;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private boolean resumed;
  private boolean timingErrorReported;
  private long migratedBytes;
  private double migrationMillis;

  /**
   * An executor for {@code settings} on the model of the job's pool, taking decisions from {@code
   * decisions}, writing to {@code sink}, and printing switches to {@code console}.
   */
  public Executor(
      ExecutorSettings settings,
      ExecutorModel model,
      DecisionSource decisions,
      ExecutorSink sink,
      PrintStream console)
      throws IOException {
    // a job whose ranks cannot split into the pool's pipeline stages is refused here, by name
    model.parallel().ranksPerStage(settings.worldSize());
    this.settings = settings;
    this.model = model;
    this.decisions = decisions;
    this.sink = sink;
    this.console = console;
    WorkloadShape shape =
        new WorkloadShape(
            settings.firstRank(),
            settings.ranks(),
            settings.worldSize(),
            model.layers(),
            model.tokensPerRank(),
            model.shape().hidden(),
            model.shape().experts(),
            model.shape().topK());
    this.workload =
        settings.trace() == null
            ? new SyntheticWorkload(shape, settings.seed())
            : new TraceWorkload(
                settings.trace(), shape, settings.traceSampleIterations(), settings.seed());
    this.follower =
        new DecisionFollower(
            settings.jobId(),
            settings.windowIterations(),
            settings.leadIterations(),
            model.initial(),
            System::nanoTime);
    this.executorId = hostName() + "/" + settings.firstRank();
    try {
      for (int layer = 0; layer < model.layers(); layer++) {
        MoeLayerBackend backend = newBackend(model);
        backends.add(backend);
        backend.loadGate(workload.gate(layer));
        load(layer, model.initial()[layer]);
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  private MoeLayerBackend newBackend(ExecutorModel m) {
    return settings.backend() == ExecutorSettings.BackendKind.CUDA
        ? new CudaMoeLayer(m.shape(), m.layout())
        : new CpuMoeLayer(m.shape(), m.layout());
  }

  /** Loads every slot of a layer with the initial state of the expert it serves. */
  private void load(int layer, Placement placement) {
    MoeLayerBackend backend = backends.get(layer);
    for (int slot = 0; slot < placement.slotCount(); slot++) {
      backend.loadSlot(slot, initialState(layer, placement.expertAt(slot)));
    }
  }

  /** The state expert {@code expert} of {@code layer} starts from. */
  public SlotState initialState(int layer, int expert) {
    return SlotState.random(model.shape(), settings.seed() * 1_000_003L + layer * 4099L + expert);
  }

  /** Asks {@link #run} to stop after the current iteration. */
  public void stop() {
    stopping.set(true);
  }

  /** The decision follower (counters, placements in force). */
  public DecisionFollower follower() {
    return follower;
  }

  /** The backend of a layer. */
  public MoeLayerBackend backend(int layer) {
    return backends.get(layer);
  }

  /** What the process runs. */
  public ExecutorModel model() {
    return model;
  }

  /**
   * Resumes at the settings' start iteration: adopts the latest decisions that took effect before
   * it (waiting for them up to the decision timeout) and loads those placements' experts. Runs
   * once; {@link #run} calls it first.
   */
  public List<LayerSwitch> resume() {
    if (resumed || settings.startIteration() == 0) {
      resumed = true;
      return List.of();
    }
    resumed = true;
    List<LayerSwitch> adopted =
        follower.resume(settings.startIteration(), decisions, settings.decisionTimeout());
    reportTimingError();
    for (LayerSwitch change : adopted) {
      load(change.layer(), change.to());
    }
    console.printf(
        "resumed at iteration %d: %d layers on placements of earlier decisions, plan version %d%n",
        settings.startIteration(), adopted.size(), follower.planVersion());
    return adopted;
  }

  /**
   * Runs the settings' iterations (or until {@link #stop()}), paced to the rate, handing every
   * iteration's report to {@code listener}; returns the number of iterations run.
   */
  public long run(Consumer<IterationReport> listener) throws InterruptedException {
    resume();
    long periodNanos =
        settings.iterationsPerSecond() > 0 ? (long) (1e9 / settings.iterationsPerSecond()) : 0;
    long next = System.nanoTime();
    long end =
        settings.iterations() == 0
            ? Long.MAX_VALUE
            : settings.startIteration() + settings.iterations();
    long iteration = settings.startIteration();
    for (; iteration < end && !stopping.get(); iteration++) {
      listener.accept(runIteration(iteration));
      if (periodNanos > 0) {
        next += periodNanos;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          // pace to the rate, taking decisions as they arrive meanwhile
          follower.receive(decisions, Duration.ofNanos(wait));
        } else {
          next = System.nanoTime();
        }
      }
    }
    sink.flush();
    return iteration - settings.startIteration();
  }

  /** Runs one iteration: decisions due, switches, every layer, records out. */
  public IterationReport runIteration(long iteration) {
    StepOutcome outcome = follower.step(iteration, decisions, settings.decisionTimeout());
    reportTimingError();
    List<IterationReport.Applied> applied = new ArrayList<>();
    MigrationReport[] migrated = new MigrationReport[model.layers()];
    for (LayerSwitch change : outcome.switches()) {
      MigrationReport report =
          Migration.apply(backends.get(change.layer()), change.from(), change.to());
      migrated[change.layer()] = report;
      migratedBytes += report.bytes();
      migrationMillis += report.millis();
      applied.add(new IterationReport.Applied(change, report));
      console.printf(
          Locale.ROOT,
          "applied %s at iteration %d on ranks %d-%d: layer %d -> v%d, %d slots, %.1f KiB in %.2f"
              + " ms%s%n",
          change.decisionId(),
          iteration,
          settings.firstRank(),
          settings.firstRank() + settings.ranks() - 1,
          change.layer(),
          change.planVersion(),
          report.slotsChanged(),
          report.bytes() / 1024.0,
          report.millis(),
          change.repair() ? " (repair)" : "");
    }
    for (int layer : outcome.timedOutLayers()) {
      console.printf(
          "decision for window %d of layer %d did not arrive within %d ms: placement v%d kept%n",
          outcome.window(),
          layer,
          settings.decisionTimeout().toMillis(),
          follower.planVersion(layer));
    }
    workload.advanceTo(iteration);
    long now = System.currentTimeMillis();
    long[][][] counts = new long[settings.ranks()][model.layers()][];
    double[][] workerMillis = new double[model.layers()][];
    long[][] workerTokens = new long[model.layers()][model.layout().workers()];
    int[][] activeSlots = new int[model.layers()][model.layout().workers()];
    double[][] migrationMillis = new double[model.layers()][model.layout().workers()];
    for (int layer = 0; layer < model.layers(); layer++) {
      MoeLayerBackend backend = backends.get(layer);
      LayerInput input = workload.input(layer, backend);
      Placement placement = follower.placement(layer);
      LayerStep step = backend.forward(input.tokens(), input.routing(), placement);
      for (int rank = 0; rank < settings.ranks(); rank++) {
        long[] row = new long[model.shape().experts()];
        for (int e = 0; e < row.length; e++) {
          row[e] = step.counts().count(rank, e);
        }
        counts[rank][layer] = row;
      }
      workerMillis[layer] = step.workerMillis();
      for (int slot = 0; slot < step.slotTokens().length; slot++) {
        int worker = model.layout().workerOf(slot);
        workerTokens[layer][worker] += step.slotTokens()[slot];
        if (step.slotTokens()[slot] > 0) {
          activeSlots[layer][worker]++;
        }
      }
      if (migrated[layer] != null) {
        for (int w = 0; w < migrationMillis[layer].length; w++) {
          migrationMillis[layer][w] = migrated[layer].workerMillis(w);
        }
      }
      sink.workerTimes(workerTimes(iteration, layer, step, migrated[layer], now));
    }
    long planVersion = follower.planVersion();
    for (int rank = 0; rank < settings.ranks(); rank++) {
      sink.expertLoad(
          expertLoad(settings.firstRank() + rank, iteration, planVersion, counts[rank]));
    }
    sink.flush();
    return new IterationReport(
        iteration,
        planVersion,
        applied,
        outcome.timedOutLayers(),
        workerMillis,
        workerTokens,
        activeSlots,
        migrationMillis,
        counts);
  }

  private ExpertLoad expertLoad(int rank, long iteration, long planVersion, long[][] counts) {
    List<LayerLoad> layers = new ArrayList<>(counts.length);
    for (int layer = 0; layer < counts.length; layer++) {
      if (!model.reports(rank, settings.worldSize(), layer)) {
        continue;
      }
      List<Long> row = new ArrayList<>(counts[layer].length);
      for (long c : counts[layer]) {
        row.add(c);
      }
      layers.add(new LayerLoad(layer, row));
    }
    return ExpertLoad.newBuilder()
        .setJobId(settings.jobId())
        .setRank(rank)
        .setWorldSize(settings.worldSize())
        .setIteration(iteration)
        .setPlanVersion(planVersion)
        .setLayers(layers)
        .setProducedAt(Instant.now())
        .build();
  }

  private WorkerTimes workerTimes(
      long iteration, int layer, LayerStep step, MigrationReport migration, long nowMillis) {
    SlotLayout layout = model.layout();
    List<WorkerTime> workers = new ArrayList<>(layout.workers());
    for (int w = 0; w < layout.workers(); w++) {
      long tokens = 0;
      int active = 0;
      for (int s = layout.firstSlot(w); s < layout.firstSlot(w) + layout.slotsPerWorker(); s++) {
        tokens += step.slotTokens()[s];
        if (step.slotTokens()[s] > 0) {
          active++;
        }
      }
      workers.add(
          new WorkerTime(
              w,
              tokens,
              active,
              step.workerMillis()[w] / 1e3,
              migration == null ? 0 : migration.workerBytes(w),
              migration == null ? 0 : migration.workerMillis(w) / 1e3));
    }
    return WorkerTimes.newBuilder()
        .setJobId(settings.jobId())
        .setExecutorId(executorId)
        .setIteration(iteration)
        .setLayer(layer)
        .setPlanVersion(follower.planVersion(layer))
        .setBackend(settings.backend().name().toLowerCase(Locale.ROOT))
        .setWorkers(workers)
        .setMigratedBytes(migration == null ? 0 : migration.bytes())
        .setMigrationSeconds(migration == null ? 0 : migration.millis() / 1e3)
        .setProducedAt(Instant.ofEpochMilli(nowMillis))
        .build();
  }

  /** Logs and prints the follower's first timing mismatch, once. */
  private void reportTimingError() {
    if (timingErrorReported) {
      return;
    }
    follower
        .timingError()
        .ifPresent(
            error -> {
              timingErrorReported = true;
              LOG.error("decisions not applied: {}", error);
              console.println("ERROR: decisions not applied: " + error);
            });
  }

  /** Bytes of weights and optimizer state moved by switches so far. */
  public long migratedBytes() {
    return migratedBytes;
  }

  /** Time spent moving them, in milliseconds. */
  public double migrationMillis() {
    return migrationMillis;
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }

  @Override
  public void close() {
    for (MoeLayerBackend backend : backends) {
      backend.close();
    }
    backends.clear();
  }
}
