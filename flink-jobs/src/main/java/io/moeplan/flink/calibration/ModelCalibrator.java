package io.moeplan.flink.calibration;

import io.moeplan.flink.input.DeadLetters;
import io.moeplan.flink.input.RawRecord;
import io.moeplan.flink.job.JobMetrics;
import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.flink.job.PoolState;
import io.moeplan.flink.state.WriteBehind;
import io.moeplan.flink.state.WriteBehindValue;
import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.pool.Pool;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.PlanPool;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per job: decodes the executors' {@code WorkerTimes}, calibrates the job's model from them ({@link
 * JobCalibration}) against the job's pool, and publishes a {@link ModelFit} at the start of every
 * window of iterations. Undecodable or invalid records go to the dead letters with the reason;
 * redeliveries are counted as duplicates. Each job's model error is also a set of gauges on the
 * dashboard (group {@code job <jobId>}).
 */
public class ModelCalibrator
    extends KeyedBroadcastProcessFunction<String, RawRecord, PlanPool, ModelFit>
    implements WriteBehind {

  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(ModelCalibrator.class);

  /** Jobs whose calibration state stays in heap between checkpoints. */
  static final int MAX_CACHED_KEYS = 1_024;

  private final PlanSelectorConfig.Calibration settings;
  private final int windowIterations;

  private transient JobCalibration calibration;
  private transient WriteBehindValue<CalibrationState> states;
  private transient Map<String, JobCalibration.Prior> priors;
  private transient Map<String, ModelFit> latest;
  private transient Counter in;
  private transient Counter used;
  private transient Counter duplicates;
  private transient Counter deadLettered;
  private transient Counter fits;

  /** A calibrator with these settings for jobs deciding every {@code windowIterations}. */
  public ModelCalibrator(PlanSelectorConfig.Calibration settings, int windowIterations) {
    this.settings = settings;
    this.windowIterations = windowIterations;
  }

  /** Descriptor of the per-job state. */
  static ValueStateDescriptor<CalibrationState> stateDescriptor() {
    return new ValueStateDescriptor<>(
        "model-calibration", TypeInformation.of(CalibrationState.class));
  }

  @Override
  public void open(OpenContext openContext) {
    calibration = new JobCalibration(settings, windowIterations);
    states = WriteBehindValue.of(getRuntimeContext(), stateDescriptor(), MAX_CACHED_KEYS);
    priors = new HashMap<>();
    latest = new HashMap<>();
    MetricGroup metrics = getRuntimeContext().getMetricGroup();
    in = metrics.counter(JobMetrics.WORKER_TIMES_IN);
    used = metrics.counter(JobMetrics.WORKER_TIMES_USED);
    duplicates = metrics.counter(JobMetrics.WORKER_TIMES_DUPLICATES);
    deadLettered = metrics.counter(JobMetrics.WORKER_TIMES_DEAD_LETTERED);
    fits = metrics.counter(JobMetrics.MODEL_FITS);
  }

  @Override
  public void flush(KeyScope scope) throws Exception {
    states.flush(scope);
  }

  @Override
  public boolean overBudget() {
    return states.overBudget();
  }

  @Override
  public void processElement(RawRecord record, ReadOnlyContext context, Collector<ModelFit> out)
      throws Exception {
    in.inc();
    WorkerTimesDecoder.Decoded decoded = WorkerTimesDecoder.decode(record);
    if (decoded.rejection() != null) {
      deadLettered.inc();
      context.output(DeadLetters.TAG, DeadLetters.of(record, decoded.rejection()));
      return;
    }
    String jobId = decoded.times().getJobId();
    String key = context.getCurrentKey();
    CalibrationState state = states.value(key);
    if (state == null) {
      state = new CalibrationState();
    }
    PlanPool pool = context.getBroadcastState(PoolState.DESCRIPTOR).get(jobId);
    JobCalibration.Outcome outcome =
        calibration.add(
            state,
            decoded.times(),
            prior(jobId, pool),
            context.timerService().currentProcessingTime());
    states.update(key, state);
    if (outcome.use() == JobCalibration.Use.DUPLICATE) {
      duplicates.inc();
      return;
    }
    used.inc();
    if (outcome.fit() != null) {
      fits.inc();
      publish(outcome.fit());
      out.collect(outcome.fit());
    }
  }

  @Override
  public void processBroadcastElement(PlanPool pool, Context context, Collector<ModelFit> out)
      throws Exception {
    context.getBroadcastState(PoolState.DESCRIPTOR).put(pool.getJobId(), pool);
  }

  /** The job's prior, derived once per pool version; null without a (valid) pool. */
  private JobCalibration.Prior prior(String jobId, PlanPool record) {
    if (record == null) {
      return null;
    }
    JobCalibration.Prior cached = priors.get(jobId);
    if (cached != null && cached.poolVersion() == record.getPoolVersion()) {
      return cached;
    }
    try {
      Pool pool = PoolRecords.fromRecord(record);
      JobCalibration.Prior prior =
          new JobCalibration.Prior(
              pool.poolVersion(),
              PerformanceModel.of(pool.cluster(), pool.model(), pool.startingPlan().parallel()));
      priors.put(jobId, prior);
      return prior;
    } catch (IllegalArgumentException e) {
      // the gate dead-letters loads against an invalid pool and counts it; here it means no prior
      LOG.warn(
          "pool {} of job {} is not valid; not calibrating: {}",
          record.getPoolVersion(),
          jobId,
          e.getMessage());
      return null;
    }
  }

  /** Makes {@code fit} the job's latest, registering the job's gauges on its first fit. */
  private void publish(ModelFit fit) {
    String jobId = fit.getJobId();
    if (latest.put(jobId, fit) != null) {
      return;
    }
    MetricGroup group = getRuntimeContext().getMetricGroup().addGroup(JobMetrics.JOB_GROUP, jobId);
    group.gauge(JobMetrics.MODEL_VERSION, () -> latest.get(jobId).getModelVersion());
    group.gauge(
        JobMetrics.MODEL_COMPUTE_MAPE_PERCENT, () -> percent(latest.get(jobId).getComputeMape()));
    group.gauge(
        JobMetrics.MODEL_COMPUTE_PEARSON, () -> orNaN(latest.get(jobId).getComputePearson()));
    group.gauge(
        JobMetrics.MODEL_COMPUTE_RELATIVE_MAPE_PERCENT,
        () -> percent(latest.get(jobId).getComputeRelativeMape()));
    group.gauge(JobMetrics.MODEL_STEP_MAPE_PERCENT, () -> percent(latest.get(jobId).getStepMape()));
    group.gauge(
        JobMetrics.MODEL_PREDICTED_STEP_MILLIS,
        () -> 1e3 * orNaN(latest.get(jobId).getPredictedStepSeconds()));
    group.gauge(
        JobMetrics.MODEL_MEASURED_STEP_MILLIS,
        () -> 1e3 * orNaN(latest.get(jobId).getMeasuredStepSeconds()));
  }

  private static double percent(Double fraction) {
    return 100 * orNaN(fraction);
  }

  private static double orNaN(Double value) {
    return value == null ? Double.NaN : value;
  }
}
