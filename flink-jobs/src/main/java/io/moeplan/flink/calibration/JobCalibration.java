package io.moeplan.flink.calibration;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.planner.model.Calibration;
import io.moeplan.planner.model.ErrorStats;
import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.WorkerTime;
import io.moeplan.schemas.WorkerTimes;
import java.time.Instant;
import java.util.Arrays;

/**
 * The calibration of one job's model from its executors' measured times, on a {@link
 * CalibrationState}; the plan-selector job runs it per job ({@link ModelCalibrator}).
 *
 * <p>Each record first measures the model the selector scores with: every worker's compute is
 * predicted ({@code fixed * activeSlots + perToken * tokens}) before the record joins the fit, so
 * the error is out of sample. Its workers then join the samples (workers without tokens teach
 * nothing and are left out); workers that received a migration join the migration samples. When the
 * first record of a new window of iterations arrives, the fits are redone over the samples held
 * ({@link Calibration#fitCompute}, {@link Calibration#fitMigration}); once a fit keeps the minimum
 * number of samples its constants replace the pool's, and every such replacement is a new model
 * version. A record of an iteration its source (executor and layer) already reported is a
 * redelivery and counts as a duplicate. A new pool version or a new hardware class starts the
 * samples over.
 */
public final class JobCalibration {

  /** What a record did. */
  public enum Use {
    /** The record joined the samples. */
    USED,
    /** Its source already reported this iteration. */
    DUPLICATE
  }

  /**
   * What {@link #add} did with a record, and the fit to publish when the record started a window.
   *
   * @param use used or duplicate
   * @param fit the fit to publish, or null
   */
  public record Outcome(Use use, ModelFit fit) {}

  /** The pool a job's prior comes from: its version and its model. */
  public record Prior(long poolVersion, PerformanceModel model) {}

  private final PlanSelectorConfig.Calibration settings;
  private final int windowIterations;

  /** Calibration with these settings, grouping iterations into windows of the job's length. */
  public JobCalibration(PlanSelectorConfig.Calibration settings, int windowIterations) {
    this.settings = settings;
    this.windowIterations = windowIterations;
  }

  /**
   * Adds one record's measurements to {@code state}.
   *
   * @param prior the job's pool, or null while it has none (samples are kept, nothing is fitted,
   *     predicted or published)
   * @param nowMillis the time the fit is stamped with
   */
  public Outcome add(CalibrationState state, WorkerTimes times, Prior prior, long nowMillis) {
    ensureCapacity(state);
    if (state.workerClass != null && !state.workerClass.equals(times.getBackend())) {
      restart(state);
    }
    state.workerClass = times.getBackend();
    if (prior != null && state.poolVersion != prior.poolVersion()) {
      if (state.poolVersion >= 0) {
        restart(state);
      }
      state.poolVersion = prior.poolVersion();
    }
    String source = times.getExecutorId() + "/" + times.getLayer();
    if (!advanceSource(state, source, times.getIteration())) {
      return new Outcome(Use.DUPLICATE, null);
    }
    long window = times.getIteration() / windowIterations;
    if (prior != null) {
      measureError(state, times, window, inForce(state, prior.model()));
    }
    for (WorkerTime worker : times.getWorkers()) {
      if (worker.getTokens() > 0) {
        int at = state.computeNext;
        state.slots[at] = worker.getActiveSlots();
        state.tokens[at] = worker.getTokens();
        state.seconds[at] = worker.getComputeSeconds();
        state.computeNext = (at + 1) % state.slots.length;
        state.computeSize = Math.min(state.computeSize + 1, state.slots.length);
      }
      if (worker.getMigratedBytes() > 0) {
        int at = state.migrationNext;
        state.migrationBytes[at] = worker.getMigratedBytes();
        state.migrationSeconds[at] = worker.getMigrationSeconds();
        state.migrationNext = (at + 1) % state.migrationBytes.length;
        state.migrationSize = Math.min(state.migrationSize + 1, state.migrationBytes.length);
      }
    }
    state.lastIteration = Math.max(state.lastIteration, times.getIteration());
    if (prior == null || window <= state.fitWindow) {
      return new Outcome(Use.USED, null);
    }
    state.fitWindow = window;
    refit(state, prior.model());
    return new Outcome(Use.USED, toRecord(times.getJobId(), state, prior.model(), nowMillis));
  }

  /**
   * The model the selector scores with: the pool's, with the fitted compute constants and migration
   * throughput where they stand and calibration is enabled.
   */
  public static PerformanceModel withFit(PerformanceModel prior, ModelFit fit) {
    PerformanceModel model = prior;
    if (fit == null) {
      return model;
    }
    if (fit.getCalibrated()) {
      model =
          model.withConstants(fit.getFixedSeconds(), fit.getPerTokenSeconds(), model.commScale());
    }
    if (fit.getMigrationCalibrated()) {
      model = model.withMigrationBandwidth(fit.getMigrationBytesPerSecond());
    }
    return model;
  }

  private PerformanceModel inForce(CalibrationState state, PerformanceModel prior) {
    if (!settings.enabled()) {
      return prior;
    }
    PerformanceModel model = prior;
    if (state.fitted) {
      model = model.withConstants(state.fixedSeconds, state.perTokenSeconds, model.commScale());
    }
    if (state.migrationFitted) {
      model = model.withMigrationBandwidth(state.migrationBytesPerSecond);
    }
    return model;
  }

  private void measureError(
      CalibrationState state, WorkerTimes times, long window, PerformanceModel model) {
    int slot = errorSlot(state, window);
    if (slot < 0) {
      return;
    }
    double predictedStep = 0;
    double measuredStep = 0;
    double predictedTotal = 0;
    double measuredTotal = 0;
    // each worker's prediction, NaN for a worker without tokens (not measured against)
    double[] predicted = new double[times.getWorkers().size()];
    double migrationBandwidth =
        model.migrationBandwidth() > 0 ? model.migrationBandwidth() : model.intraNodeBandwidth();
    int workers = 0;
    for (int i = 0; i < predicted.length; i++) {
      WorkerTime worker = times.getWorkers().get(i);
      predicted[i] = Double.NaN;
      if (worker.getTokens() > 0) {
        predicted[i] = model.computeSeconds(worker.getActiveSlots(), worker.getTokens());
        state.computeErrors[slot].add(predicted[i], worker.getComputeSeconds());
        predictedStep = Math.max(predictedStep, predicted[i]);
        measuredStep = Math.max(measuredStep, worker.getComputeSeconds());
        predictedTotal += predicted[i];
        measuredTotal += worker.getComputeSeconds();
        workers++;
      }
      if (worker.getMigratedBytes() > 0) {
        state.migrationErrors[slot].add(
            worker.getMigratedBytes() / migrationBandwidth, worker.getMigrationSeconds());
      }
    }
    if (workers > 0) {
      state.stepErrors[slot].add(predictedStep, measuredStep);
    }
    if (workers > 1 && predictedTotal > 0 && measuredTotal > 0) {
      // the same predictions at the speed the machine ran this record at
      double speed = measuredTotal / predictedTotal;
      for (int i = 0; i < predicted.length; i++) {
        if (!Double.isNaN(predicted[i])) {
          state.relativeErrors[slot].add(
              speed * predicted[i], times.getWorkers().get(i).getComputeSeconds());
        }
      }
    }
  }

  /**
   * The error slot of {@code window}: its own, else the oldest slot (emptied), or -1 when the
   * window is older than every window kept.
   */
  private static int errorSlot(CalibrationState state, long window) {
    int oldest = 0;
    for (int i = 0; i < state.errorWindows.length; i++) {
      if (state.errorWindows[i] == window) {
        return i;
      }
      if (state.errorWindows[i] < state.errorWindows[oldest]) {
        oldest = i;
      }
    }
    if (state.errorWindows[oldest] >= 0 && state.errorWindows[oldest] > window) {
      return -1;
    }
    state.errorWindows[oldest] = window;
    state.computeErrors[oldest] = new ErrorStats();
    state.relativeErrors[oldest] = new ErrorStats();
    state.stepErrors[oldest] = new ErrorStats();
    state.migrationErrors[oldest] = new ErrorStats();
    return oldest;
  }

  private void refit(CalibrationState state, PerformanceModel prior) {
    boolean changed = false;
    if (state.computeSize > 0) {
      Calibration.ComputeFit fit =
          Calibration.fitCompute(
              state.slots, state.tokens, state.seconds, state.computeSize, prior);
      state.computeKept = fit.kept();
      state.computeRejected = fit.rejected();
      if (fit.kept() >= settings.minSamples()) {
        state.fitted = true;
        state.fixedSeconds = fit.fixedSeconds();
        state.perTokenSeconds = fit.perTokenSeconds();
        changed = true;
      }
    }
    if (state.migrationSize > 0) {
      Calibration.MigrationFit fit =
          Calibration.fitMigration(
              state.migrationBytes,
              state.migrationSeconds,
              state.migrationSize,
              prior.intraNodeBandwidth());
      state.migrationKept = fit.kept();
      if (fit.kept() >= settings.minMigrations()) {
        state.migrationFitted = true;
        state.migrationBytesPerSecond = fit.bytesPerSecond();
        changed = true;
      }
    }
    if (changed && settings.enabled()) {
      state.modelVersion++;
    }
  }

  private ModelFit toRecord(
      String jobId, CalibrationState state, PerformanceModel prior, long nowMillis) {
    ErrorStats compute = new ErrorStats();
    ErrorStats relative = new ErrorStats();
    ErrorStats step = new ErrorStats();
    ErrorStats migration = new ErrorStats();
    int windows = 0;
    for (int i = 0; i < state.errorWindows.length; i++) {
      if (state.errorWindows[i] >= 0) {
        compute.merge(state.computeErrors[i]);
        relative.merge(state.relativeErrors[i]);
        step.merge(state.stepErrors[i]);
        migration.merge(state.migrationErrors[i]);
        windows++;
      }
    }
    return ModelFit.newBuilder()
        .setJobId(jobId)
        .setWorkerClass(state.workerClass)
        .setPoolVersion(state.poolVersion)
        .setModelVersion(state.modelVersion)
        .setCalibrated(settings.enabled() && state.fitted)
        .setLastIteration(state.lastIteration)
        .setComputeSamples(state.computeKept)
        .setComputeOutliers(state.computeRejected)
        .setFixedSeconds(state.fitted ? state.fixedSeconds : prior.fixedSeconds())
        .setPerTokenSeconds(state.fitted ? state.perTokenSeconds : prior.perTokenSeconds())
        .setPoolFixedSeconds(prior.fixedSeconds())
        .setPoolPerTokenSeconds(prior.perTokenSeconds())
        .setMigrationCalibrated(settings.enabled() && state.migrationFitted)
        .setMigrationSamples(state.migrationKept)
        .setMigrationBytesPerSecond(
            state.migrationFitted ? state.migrationBytesPerSecond : prior.intraNodeBandwidth())
        .setPoolMigrationBytesPerSecond(prior.intraNodeBandwidth())
        .setErrorWindows(windows)
        .setErrorSamples(compute.count())
        .setComputeMape(orNull(compute.mape()))
        .setComputePearson(orNull(compute.pearson()))
        .setComputeRelativeMape(orNull(relative.mape()))
        .setStepMape(orNull(step.mape()))
        .setPredictedStepSeconds(orNull(step.meanPredicted()))
        .setMeasuredStepSeconds(orNull(step.meanMeasured()))
        .setMigrationMape(orNull(migration.mape()))
        .setUpdatedAt(Instant.ofEpochMilli(nowMillis))
        .build();
  }

  private static Double orNull(double value) {
    return Double.isFinite(value) ? value : null;
  }

  /** Sizes the rings and error slots to the settings (a state restored under other settings). */
  private void ensureCapacity(CalibrationState state) {
    if (state.slots.length != settings.samples()) {
      state.slots = new double[settings.samples()];
      state.tokens = new double[settings.samples()];
      state.seconds = new double[settings.samples()];
      state.migrationBytes = new double[settings.samples()];
      state.migrationSeconds = new double[settings.samples()];
      state.computeNext = 0;
      state.computeSize = 0;
      state.migrationNext = 0;
      state.migrationSize = 0;
    }
    if (state.errorWindows.length != settings.errorWindows()) {
      state.errorWindows = new long[settings.errorWindows()];
      Arrays.fill(state.errorWindows, -1);
      state.computeErrors = new ErrorStats[settings.errorWindows()];
      state.relativeErrors = new ErrorStats[settings.errorWindows()];
      state.stepErrors = new ErrorStats[settings.errorWindows()];
      state.migrationErrors = new ErrorStats[settings.errorWindows()];
      for (int i = 0; i < settings.errorWindows(); i++) {
        state.computeErrors[i] = new ErrorStats();
        state.relativeErrors[i] = new ErrorStats();
        state.stepErrors[i] = new ErrorStats();
        state.migrationErrors[i] = new ErrorStats();
      }
    }
  }

  /** Drops the samples, the fits and the error figures (a new pool or hardware class). */
  private void restart(CalibrationState state) {
    if (settings.enabled() && (state.fitted || state.migrationFitted)) {
      // the selector goes back to the pool's constants: that is a change of model too
      state.modelVersion++;
    }
    state.computeNext = 0;
    state.computeSize = 0;
    state.migrationNext = 0;
    state.migrationSize = 0;
    state.fitted = false;
    state.migrationFitted = false;
    state.computeKept = 0;
    state.computeRejected = 0;
    state.migrationKept = 0;
    state.fitWindow = -1;
    Arrays.fill(state.errorWindows, -1);
  }

  /**
   * Records {@code iteration} as the latest of {@code source}; false when the source already
   * reported it or a later one.
   */
  private static boolean advanceSource(CalibrationState state, String source, long iteration) {
    int at = Arrays.binarySearch(state.sources, source);
    if (at >= 0) {
      if (iteration <= state.sourceIterations[at]) {
        return false;
      }
      state.sourceIterations[at] = iteration;
      return true;
    }
    int insert = -at - 1;
    int n = state.sources.length;
    String[] sources = new String[n + 1];
    long[] iterations = new long[n + 1];
    System.arraycopy(state.sources, 0, sources, 0, insert);
    System.arraycopy(state.sourceIterations, 0, iterations, 0, insert);
    sources[insert] = source;
    iterations[insert] = iteration;
    System.arraycopy(state.sources, insert, sources, insert + 1, n - insert);
    System.arraycopy(state.sourceIterations, insert, iterations, insert + 1, n - insert);
    state.sources = sources;
    state.sourceIterations = iterations;
    return true;
  }
}
