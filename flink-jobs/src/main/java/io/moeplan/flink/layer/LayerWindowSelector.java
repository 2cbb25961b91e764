package io.moeplan.flink.layer;

import io.moeplan.flink.input.Epochs;
import io.moeplan.flink.job.JobMetrics;
import io.moeplan.flink.job.PoolState;
import io.moeplan.flink.state.WriteBehind;
import io.moeplan.flink.state.WriteBehindMap;
import io.moeplan.flink.state.WriteBehindValue;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.policy.Decision;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.LayerKey;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per (job, layer): collects the samples of each window of {@code F} iterations and, when the
 * window closes, runs the selector against the job's pool and emits the window's decision.
 *
 * <p>A window {@code w} holds iterations {@code [w F, w F + F - 1]} and closes when every rank
 * reported all of them, in window order. A window still missing ranks {@code timeout} after its
 * first sample closes as partial: its decision keeps the placement and does not update the load
 * estimate, so complete windows are decided by their inputs alone. Samples for a window that
 * already got its decision are counted as late and otherwise ignored.
 *
 * <p>Samples name their epoch ({@link Epochs}: run id and attempt), and so does the layer's plan
 * state. Samples of an older epoch are counted as late and ignored. A sample of a newer epoch
 * resets the layer: open windows are dropped; for a new run everything starts over (no window
 * decided, the pool's start layout at plan version 0, no load estimate); for a resumed attempt the
 * placement and plan version go back to those in force at the first iteration of the sample's
 * window (from the layer's recent switches), the load estimate is dropped and the windows before
 * that one count as decided. Decisions carry their epoch, and decisions of any epoch but the
 * default one get ids of their own ({@link LayerKey#decisionId(long, String, int)}).
 *
 * <p>Every decision names the layout its placement spans (the pool's expert-parallel workers and
 * slots per worker) and this job's window length and lead, so a follower can tell when the layout
 * it runs or its own window and lead differ from the job's.
 *
 * <p>The broadcast input carries the jobs' pools and their calibrated models ({@link ModelFit},
 * from the calibrator). The selector scores with the pool's model, with the fitted constants of the
 * job's latest fit for the same pool version where the fit stands, and every decision names the
 * model version it scored with. With {@code staticPlacement} every decision keeps the placement
 * (the baseline of an A/B run), still with the modelled time of the current placement.
 */
public class LayerWindowSelector
    extends KeyedBroadcastProcessFunction<
        String, LayerSample, Either<PlanPool, ModelFit>, PlanDecision>
    implements WriteBehind {

  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(LayerWindowSelector.class);

  /**
   * (job, layer) keys whose state stays in heap between checkpoints (the rank rows of open windows
   * are the large part); with more, it is written to state and dropped from heap at once.
   */
  static final int MAX_CACHED_KEYS = 4_096;

  /** Switches per layer remembered to roll the placement back when a run resumes. */
  static final int MAX_SWITCHES = 32;

  private final int windowIterations;
  private final int leadIterations;
  private final long windowTimeoutMillis;
  private final long maxIterationJump;
  // the options' parts, as SelectorOptions itself is not serializable
  private final double horizonIterations;
  private final double margin;
  private final double emaAlpha;
  private final int maxSearchSteps;
  private final int partnerWorkers;
  private final boolean staticPlacement;

  private transient SelectorOptions selectorOptions;

  // the state, kept in heap between checkpoints (every sample changes it)
  private transient WriteBehindMap<Long, WindowAccumulator> windows;
  private transient WriteBehindMap<Long, long[]> rows;
  private transient WriteBehindValue<Long> lastDecidedWindow;
  private transient WriteBehindValue<LayerPlanState> planState;
  // each key's open windows in window order, filled from the windows on the key's first sample
  private transient Map<String, OpenWindows> openByKey;
  private transient Map<String, JobPlanning> planningCache;
  private transient Counter decisions;
  private transient Counter switches;
  private transient Counter lateSamples;
  private transient Counter partialWindows;
  private transient Counter discardedWindows;
  private transient Histogram selectorMicros;
  private transient Histogram loopLatencyMillis;
  private transient volatile double lastPredictedGainPercent;
  private transient volatile double lastImbalance;

  /**
   * A selector with replan interval {@code windowIterations} and the given switch settings, which
   * discards a partial window more than {@code maxIterationJump} iterations past the last decided
   * one.
   */
  public LayerWindowSelector(
      int windowIterations,
      int leadIterations,
      long windowTimeoutMillis,
      long maxIterationJump,
      SelectorOptions selectorOptions) {
    this(
        windowIterations,
        leadIterations,
        windowTimeoutMillis,
        maxIterationJump,
        selectorOptions,
        false);
  }

  /** As above; with {@code staticPlacement} every decision keeps the placement. */
  public LayerWindowSelector(
      int windowIterations,
      int leadIterations,
      long windowTimeoutMillis,
      long maxIterationJump,
      SelectorOptions selectorOptions,
      boolean staticPlacement) {
    this.staticPlacement = staticPlacement;
    this.windowIterations = windowIterations;
    this.leadIterations = leadIterations;
    this.windowTimeoutMillis = windowTimeoutMillis;
    this.maxIterationJump = maxIterationJump;
    this.horizonIterations = selectorOptions.horizonIterations();
    this.margin = selectorOptions.margin();
    this.emaAlpha = selectorOptions.emaAlpha();
    this.maxSearchSteps = selectorOptions.maxSearchSteps();
    this.partnerWorkers = selectorOptions.partnerWorkers();
  }

  /** Descriptor of the open windows, for tests and state inspection. */
  static MapStateDescriptor<Long, WindowAccumulator> windowsDescriptor() {
    return new MapStateDescriptor<>(
        "open-windows", Types.LONG, TypeInformation.of(WindowAccumulator.class));
  }

  @Override
  public void open(OpenContext openContext) {
    windows = WriteBehindMap.of(getRuntimeContext(), windowsDescriptor(), MAX_CACHED_KEYS);
    rows =
        WriteBehindMap.of(
            getRuntimeContext(),
            new MapStateDescriptor<>("window-rows", Types.LONG, TypeInformation.of(long[].class)),
            MAX_CACHED_KEYS);
    lastDecidedWindow =
        WriteBehindValue.of(
            getRuntimeContext(),
            new ValueStateDescriptor<>("last-decided-window", Types.LONG),
            MAX_CACHED_KEYS);
    planState =
        WriteBehindValue.of(
            getRuntimeContext(),
            new ValueStateDescriptor<>("layer-plan", TypeInformation.of(LayerPlanState.class)),
            MAX_CACHED_KEYS);
    planningCache = new HashMap<>();
    openByKey = new HashMap<>();
    selectorOptions =
        new SelectorOptions(horizonIterations, margin, emaAlpha, maxSearchSteps, partnerWorkers);
    MetricGroup metrics = getRuntimeContext().getMetricGroup();
    decisions = metrics.counter(JobMetrics.DECISIONS);
    switches = metrics.counter(JobMetrics.SWITCHES);
    lateSamples = metrics.counter(JobMetrics.LATE_SAMPLES);
    partialWindows = metrics.counter(JobMetrics.PARTIAL_WINDOWS);
    discardedWindows = metrics.counter(JobMetrics.DISCARDED_WINDOWS);
    selectorMicros =
        metrics.histogram(JobMetrics.SELECTOR_MICROS, new DescriptiveStatisticsHistogram(1000));
    loopLatencyMillis =
        metrics.histogram(JobMetrics.LOOP_LATENCY_MILLIS, new DescriptiveStatisticsHistogram(1000));
    metrics.gauge(JobMetrics.PREDICTED_GAIN_PERCENT, () -> lastPredictedGainPercent);
    metrics.gauge(JobMetrics.IMBALANCE, () -> lastImbalance);
  }

  @Override
  public void flush(KeyScope scope) throws Exception {
    windows.flush(scope);
    rows.flush(scope);
    lastDecidedWindow.flush(scope);
    planState.flush(scope);
  }

  @Override
  public boolean overBudget() {
    return windows.overBudget()
        || rows.overBudget()
        || lastDecidedWindow.overBudget()
        || planState.overBudget();
  }

  @Override
  public void processElement(
      LayerSample sample, ReadOnlyContext context, Collector<PlanDecision> out) throws Exception {
    String key = context.getCurrentKey();
    long window = sample.window;
    LayerPlanState plan = planState.value(key);
    Epochs.Order order =
        plan == null
            ? Epochs.compare(null, 0, null, sample.runId, sample.attempt)
            : Epochs.compare(plan.runId, plan.attempt, plan.leftRuns, sample.runId, sample.attempt);
    if (order == Epochs.Order.OLDER) {
      lateSamples.inc();
      return;
    }
    if (order != Epochs.Order.SAME) {
      startEpoch(key, sample, plan, order, context.timerService());
    }
    Long lastDecided = lastDecidedWindow.value(key);
    if (lastDecided != null && window <= lastDecided) {
      lateSamples.inc();
      return;
    }
    OpenWindows open = openWindows(key);
    WindowAccumulator accumulator = open.get(window);
    boolean opened = accumulator == null;
    if (opened) {
      long now = context.timerService().currentProcessingTime();
      accumulator =
          WindowAccumulator.open(sample.worldSize, sample.hostingRanks, sample.counts.length, now);
    }
    if (!accumulator.fits(sample)) {
      lateSamples.inc();
      return;
    }
    long rowKey = rowKey(window, sample.rank);
    long[] row = accumulator.add(sample, rows.get(key, rowKey), windowIterations);
    if (row == null) {
      lateSamples.inc();
      return;
    }
    rows.put(key, rowKey, row);
    windows.put(key, window, accumulator);
    if (opened) {
      open.add(window, accumulator, windowTimeoutMillis);
      context
          .timerService()
          .registerProcessingTimeTimer(accumulator.openedAtMillis + windowTimeoutMillis);
    }
    if (accumulator.isComplete()) {
      PlanPool pool = context.getBroadcastState(PoolState.DESCRIPTOR).get(sample.jobId);
      ModelFit fit = context.getBroadcastState(PoolState.FITS).get(sample.jobId);
      closeReadyWindows(
          key, sample.jobId, sample.layer, pool, fit, Long.MIN_VALUE, context.timerService(), out);
    }
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext context, Collector<PlanDecision> out)
      throws Exception {
    String key = context.getCurrentKey();
    LayerKey layerKey = LayerKey.parse(key);
    PlanPool pool = context.getBroadcastState(PoolState.DESCRIPTOR).get(layerKey.jobId());
    ModelFit fit = context.getBroadcastState(PoolState.FITS).get(layerKey.jobId());
    closeReadyWindows(
        key,
        layerKey.jobId(),
        layerKey.layer(),
        pool,
        fit,
        timestamp - windowTimeoutMillis,
        context.timerService(),
        out);
  }

  @Override
  public void processBroadcastElement(
      Either<PlanPool, ModelFit> update, Context context, Collector<PlanDecision> out)
      throws Exception {
    if (update.isLeft()) {
      context.getBroadcastState(PoolState.DESCRIPTOR).put(update.left().getJobId(), update.left());
    } else {
      context.getBroadcastState(PoolState.FITS).put(update.right().getJobId(), update.right());
    }
  }

  /**
   * Moves the layer on to {@code sample}'s newer epoch: drops the open windows, and for a new run
   * forgets every decision, for a resumed attempt rolls the placement back to the one in force at
   * the first iteration of the sample's window and treats the windows before it as decided.
   */
  private void startEpoch(
      String key, LayerSample sample, LayerPlanState old, Epochs.Order order, TimerService timers)
      throws Exception {
    OpenWindows open = openWindows(key);
    while (!open.isEmpty()) {
      Map.Entry<Long, WindowAccumulator> oldest = open.oldest();
      long timer = open.removeOldest(windowTimeoutMillis);
      if (timer >= 0) {
        timers.deleteProcessingTimeTimer(timer);
      }
      windows.remove(key, oldest.getKey());
      takeRows(key, oldest.getKey(), oldest.getValue());
    }
    LayerPlanState next = new LayerPlanState();
    next.runId = sample.runId;
    next.attempt = sample.attempt;
    next.leftRuns =
        Epochs.leftAfterMove(
            old == null ? null : old.leftRuns, old == null ? null : old.runId, order, sample.runId);
    if (order == Epochs.Order.NEWER_RUN) {
      lastDecidedWindow.clear(key);
      LOG.info(
          "{}: new run, {} after {}; the layer starts over",
          key,
          Epochs.describe(sample.runId, sample.attempt),
          old == null ? Epochs.describe(null, 0) : Epochs.describe(old.runId, old.attempt));
    } else {
      long resumedAt = DecisionWindows.firstIteration(sample.window, windowIterations);
      int inForce = -1;
      if (old != null && old.switchIterations != null) {
        for (int i = 0; i < old.switchIterations.length; i++) {
          if (old.switchIterations[i] <= resumedAt) {
            inForce = i;
          }
        }
      }
      if (inForce >= 0) {
        next.slotToExpert = old.switchPlacements[inForce].clone();
        next.planVersion = old.switchVersions[inForce];
        next.switchIterations = Arrays.copyOf(old.switchIterations, inForce + 1);
        next.switchPlacements = Arrays.copyOf(old.switchPlacements, inForce + 1);
        next.switchVersions = Arrays.copyOf(old.switchVersions, inForce + 1);
      } else if (old != null && old.switchVersions != null && old.switchVersions[0] > 1) {
        // the switches before the oldest remembered one are gone: start from the start layout,
        // whose first decision carries the whole placement the ranks converge to
        LOG.warn(
            "{}: {} resumes at iteration {}, before the oldest of the {} switches remembered"
                + " (plan version {}); the layer restarts from the start layout",
            key,
            Epochs.describe(sample.runId, sample.attempt),
            resumedAt,
            MAX_SWITCHES,
            old.switchVersions[0]);
      }
      if (sample.window > 0) {
        lastDecidedWindow.update(key, sample.window - 1);
      } else {
        lastDecidedWindow.clear(key);
      }
      LOG.info(
          "{}: {} resumes at window {} (iteration {}) with plan version {}",
          key,
          Epochs.describe(sample.runId, sample.attempt),
          sample.window,
          resumedAt,
          next.planVersion);
    }
    planState.update(key, next);
  }

  /** Adds a switch to the layer's recent switches, dropping the oldest beyond the bound. */
  private static void rememberSwitch(LayerPlanState state, long effectiveIteration) {
    int n = state.switchIterations == null ? 0 : state.switchIterations.length;
    int keep = Math.min(n, MAX_SWITCHES - 1);
    long[] iterations = new long[keep + 1];
    int[][] placements = new int[keep + 1][];
    long[] versions = new long[keep + 1];
    if (keep > 0) {
      System.arraycopy(state.switchIterations, n - keep, iterations, 0, keep);
      System.arraycopy(state.switchPlacements, n - keep, placements, 0, keep);
      System.arraycopy(state.switchVersions, n - keep, versions, 0, keep);
    }
    iterations[keep] = effectiveIteration;
    placements[keep] = state.slotToExpert.clone();
    versions[keep] = state.planVersion;
    state.switchIterations = iterations;
    state.switchPlacements = placements;
    state.switchVersions = versions;
  }

  /**
   * Closes open windows in order while the oldest is complete, or opened at or before {@code
   * expiredBefore} (then as partial).
   */
  private void closeReadyWindows(
      String key,
      String jobId,
      int layer,
      PlanPool pool,
      ModelFit fit,
      long expiredBefore,
      TimerService timers,
      Collector<PlanDecision> out)
      throws Exception {
    OpenWindows open = openWindows(key);
    while (!open.isEmpty()) {
      Map.Entry<Long, WindowAccumulator> oldest = open.oldest();
      WindowAccumulator accumulator = oldest.getValue();
      if (!accumulator.isComplete() && accumulator.openedAtMillis > expiredBefore) {
        break;
      }
      long timer = open.removeOldest(windowTimeoutMillis);
      if (timer >= 0) {
        timers.deleteProcessingTimeTimer(timer);
      }
      windows.remove(key, oldest.getKey());
      long[][] sums = takeRows(key, oldest.getKey(), accumulator);
      if (!accumulator.isComplete() && beyondReach(key, oldest.getKey())) {
        discardedWindows.inc();
        LOG.warn(
            "discarding window {} of {}: only {} of {} ranks reached it, and it is more than {}"
                + " iterations past the last decided window {}",
            oldest.getKey(),
            key,
            accumulator.ranksReported,
            accumulator.expectedRanks(),
            maxIterationJump,
            lastDecidedWindow.value(key));
        continue;
      }
      // the gate admits loads only once their job has a pool; null means none is known any more
      if (pool != null) {
        out.collect(decide(key, jobId, layer, oldest.getKey(), accumulator, sums, pool, fit));
      }
    }
  }

  /**
   * Whether {@code window} lies further past the last decided window than any rank can have gone: a
   * partial window there holds only loads that jumped away (which the gate lets through only when a
   * rank has nothing else), and deciding it would make every real window after the last decided one
   * late.
   */
  private boolean beyondReach(String key, long window) throws Exception {
    Long lastDecided = lastDecidedWindow.value(key);
    return lastDecided != null
        && (window - lastDecided - 1) * (long) windowIterations > maxIterationJump;
  }

  /** The open windows of {@code key} in window order: the cache, filled from the state first. */
  private OpenWindows openWindows(String key) throws Exception {
    OpenWindows open = openByKey.get(key);
    if (open == null) {
      open = new OpenWindows();
      for (Map.Entry<Long, WindowAccumulator> entry : windows.entries(key).entrySet()) {
        open.add(entry.getKey(), entry.getValue(), windowTimeoutMillis);
      }
      openByKey.put(key, open);
    }
    return open;
  }

  /** Removes a window's rank rows, returning their sums per rank (null rows for silent ranks). */
  private long[][] takeRows(String key, long window, WindowAccumulator accumulator)
      throws Exception {
    long[][] byRank = new long[accumulator.worldSize][];
    for (int rank = 0; rank < accumulator.worldSize; rank++) {
      long rowKey = rowKey(window, rank);
      byRank[rank] = rows.get(key, rowKey);
      if (byRank[rank] != null) {
        rows.remove(key, rowKey);
      }
    }
    return byRank;
  }

  /** Row key of a rank in a window; ranks are below {@code 2^20} ({@code Limits.MAX_WORKERS}). */
  static long rowKey(long window, int rank) {
    return (window << 20) | rank;
  }

  private PlanDecision decide(
      String key,
      String jobId,
      int layer,
      long window,
      WindowAccumulator accumulator,
      long[][] rankRows,
      PlanPool pool,
      ModelFit fit)
      throws Exception {
    JobPlanning planning = planning(pool, fit);
    LayerPlanState state = planState.value(key);
    if (state == null) {
      state = new LayerPlanState();
    }
    Placement current =
        state.slotToExpert == null
            ? planning.initialPlacement(layer)
            : planning.placement(state.slotToExpert, accumulator.experts);

    Decision decision;
    long started = System.nanoTime();
    if (accumulator.isComplete()) {
      long[][] sums = new long[current.workerCount()][accumulator.experts];
      for (int rank = 0; rank < rankRows.length; rank++) {
        if (rankRows[rank] != null) {
          accumulator.addToSums(sums, rank, rankRows[rank]);
        }
      }
      LoadMatrix observed = LoadMatrix.of(WindowAccumulator.mean(sums, windowIterations));
      LoadMatrix previous =
          state.estimate == null
              ? null
              : LoadMatrix.ofFlat(state.estimateWorkers, accumulator.experts, state.estimate);
      LoadMatrix estimate = planning.estimator().next(previous, observed);
      decision =
          staticPlacement
              ? Decision.keep(
                  current,
                  planning.model().layerSeconds(current, estimate),
                  "static placement (--static): the start layout is kept")
              : planning.selector().decide(current, estimate, planning.poolPlacements(layer));
      state.estimate = estimate.toFlatArray();
      state.estimateWorkers = estimate.sources();
      lastImbalance = imbalance(decision.placement(), estimate);
    } else {
      partialWindows.inc();
      double currentSeconds =
          state.estimate == null
              ? 0
              : planning
                  .model()
                  .layerSeconds(
                      current,
                      LoadMatrix.ofFlat(
                          state.estimateWorkers, accumulator.experts, state.estimate));
      decision =
          Decision.keep(
              current,
              currentSeconds,
              "partial window: "
                  + accumulator.ranksReported
                  + " of "
                  + accumulator.expectedRanks()
                  + " ranks reported before the timeout; placement kept");
    }
    selectorMicros.update((System.nanoTime() - started) / 1_000);

    if (decision.switches()) {
      state.planVersion++;
      switches.inc();
    }
    state.slotToExpert = decision.placement().slotToExpert();
    if (decision.switches()) {
      rememberSwitch(
          state, DecisionWindows.effectiveIteration(window, windowIterations, leadIterations));
    }
    planState.update(key, state);
    lastDecidedWindow.update(key, window);
    decisions.inc();
    if (accumulator.isComplete() && decision.predictedCurrentSeconds() > 0) {
      lastPredictedGainPercent =
          100
              * (decision.predictedCurrentSeconds() - decision.predictedNewSeconds())
              / decision.predictedCurrentSeconds();
    }
    if (accumulator.latestProducedAtMillis > 0) {
      loopLatencyMillis.update(
          Math.max(0, System.currentTimeMillis() - accumulator.latestProducedAtMillis));
    }
    return toRecord(jobId, layer, window, accumulator, decision, state, planning);
  }

  private PlanDecision toRecord(
      String jobId,
      int layer,
      long window,
      WindowAccumulator accumulator,
      Decision decision,
      LayerPlanState state,
      JobPlanning planning) {
    long first = DecisionWindows.firstIteration(window, windowIterations);
    long last = DecisionWindows.lastIteration(window, windowIterations);
    Placement placement = decision.placement();
    List<Integer> slots = new ArrayList<>(placement.slotCount());
    for (int expert : placement.slotToExpert()) {
      slots.add(expert);
    }
    return PlanDecision.newBuilder()
        .setDecisionId(Topics.decisionId(jobId, layer, window, state.runId, state.attempt))
        .setJobId(jobId)
        .setLayer(layer)
        .setWindow(window)
        .setWindowFirstIteration(first)
        .setWindowLastIteration(last)
        .setEffectiveIteration(
            DecisionWindows.effectiveIteration(window, windowIterations, leadIterations))
        .setAction(decision.switches() ? DecisionAction.SWITCH : DecisionAction.KEEP)
        .setSlotToExpert(slots)
        .setPlanVersion(state.planVersion)
        .setPoolVersion(planning.poolVersion())
        .setPredictedCurrentSeconds(decision.predictedCurrentSeconds())
        .setPredictedNewSeconds(decision.predictedNewSeconds())
        .setMigrationBytes(decision.migrationBytes())
        .setMigrationSeconds(decision.migrationSeconds())
        .setRanksReported(accumulator.ranksReported)
        .setReason(decision.reason())
        .setWorkers(placement.workerCount())
        .setSlotsPerWorker(placement.slotsPerWorker())
        .setWindowIterations(windowIterations)
        .setLeadIterations(leadIterations)
        .setRunId(state.runId)
        .setAttempt(state.attempt)
        .setModelVersion(planning.modelVersion())
        .build();
  }

  /**
   * The job's planning for its pool and fit: a fit for another pool version is not used. One entry
   * per job, replaced when the pool or the model version changes.
   */
  private JobPlanning planning(PlanPool pool, ModelFit fit) {
    ModelFit usable = fit != null && fit.getPoolVersion() == pool.getPoolVersion() ? fit : null;
    long modelVersion = usable == null ? 0 : usable.getModelVersion();
    JobPlanning cached = planningCache.get(pool.getJobId());
    if (cached == null
        || cached.poolVersion() != pool.getPoolVersion()
        || cached.modelVersion() != modelVersion) {
      cached =
          cached != null && cached.poolVersion() == pool.getPoolVersion()
              ? cached.withFit(usable, selectorOptions)
              : JobPlanning.of(pool, selectorOptions).withFit(usable, selectorOptions);
      planningCache.put(pool.getJobId(), cached);
    }
    return cached;
  }

  /**
   * One key's open windows in window order, and how many of them wait on each timeout timer:
   * windows opened in the same millisecond share one, which goes when the last of them closes.
   */
  private static final class OpenWindows {
    private final TreeMap<Long, WindowAccumulator> byWindow = new TreeMap<>();
    private final Map<Long, Integer> timerUses = new HashMap<>();

    boolean isEmpty() {
      return byWindow.isEmpty();
    }

    WindowAccumulator get(long window) {
      return byWindow.get(window);
    }

    Map.Entry<Long, WindowAccumulator> oldest() {
      return byWindow.firstEntry();
    }

    void add(long window, WindowAccumulator accumulator, long timeoutMillis) {
      byWindow.put(window, accumulator);
      timerUses.merge(accumulator.openedAtMillis + timeoutMillis, 1, Integer::sum);
    }

    /** Removes the oldest window; returns its timer when no open window uses it any more, or -1. */
    long removeOldest(long timeoutMillis) {
      long timer = byWindow.pollFirstEntry().getValue().openedAtMillis + timeoutMillis;
      int left = timerUses.merge(timer, -1, Integer::sum);
      if (left > 0) {
        return -1;
      }
      timerUses.remove(timer);
      return timer;
    }
  }

  /** Max over mean tokens per worker of a placement on a load (replicas split evenly). */
  static double imbalance(Placement placement, LoadMatrix load) {
    double[] perWorker = new double[placement.workerCount()];
    int[] replicas = placement.replicaCounts();
    for (int slot = 0; slot < placement.slotCount(); slot++) {
      int expert = placement.expertAt(slot);
      perWorker[placement.workerOf(slot)] += load.expertTotal(expert) / replicas[expert];
    }
    double max = 0;
    double sum = 0;
    for (double tokens : perWorker) {
      max = Math.max(max, tokens);
      sum += tokens;
    }
    return sum == 0 ? 1 : max / (sum / perWorker.length);
  }
}
