package io.moeplan.flink.job;

/**
 * The names of the plan-selector job's metrics, as the Flink dashboard and REST API show them on
 * each operator. Every operator registers its metrics under these names, and tests and tools look
 * them up here.
 */
public final class JobMetrics {

  /** Records read by the gate (counter). */
  public static final String RECORDS_IN = "moeplanRecordsIn";

  /** Records admitted into the window statistics (counter). */
  public static final String RECORDS_USED = "moeplanRecordsUsed";

  /** Redeliveries of an iteration already admitted (counter). */
  public static final String DUPLICATES = "moeplanDuplicates";

  /** Records sent to the dead-letter topic (counter). */
  public static final String DEAD_LETTERED = "moeplanDeadLettered";

  /** Pool records that did not decode or were not valid pools (counter). */
  public static final String INVALID_POOLS = "moeplanInvalidPools";

  /** Decisions emitted, keep or switch (counter). */
  public static final String DECISIONS = "moeplanDecisions";

  /** Switch decisions emitted (counter). */
  public static final String SWITCHES = "moeplanSwitches";

  /** Samples of a window already decided (counter). */
  public static final String LATE_SAMPLES = "moeplanLateSamples";

  /** Windows closed by timeout with ranks missing (counter). */
  public static final String PARTIAL_WINDOWS = "moeplanPartialWindows";

  /**
   * Partial windows discarded undecided because they lay further past the last decided window than
   * any rank can have gone (counter; each is logged).
   */
  public static final String DISCARDED_WINDOWS = "moeplanDiscardedWindows";

  /** Time the selector took per decision, in microseconds (histogram). */
  public static final String SELECTOR_MICROS = "moeplanSelectorMicros";

  /** From a window's last load's producer timestamp to its decision, in ms (histogram). */
  public static final String LOOP_LATENCY_MILLIS = "moeplanLoopLatencyMillis";

  /** Predicted gain of the last decision over keeping, in percent (gauge). */
  public static final String PREDICTED_GAIN_PERCENT = "moeplanPredictedGainPercent";

  /** Max over mean per-worker load of the last decision's placement (gauge). */
  public static final String IMBALANCE = "moeplanImbalance";

  /** WorkerTimes records read by the calibrator (counter). */
  public static final String WORKER_TIMES_IN = "moeplanWorkerTimesIn";

  /** WorkerTimes records that joined a job's calibration samples (counter). */
  public static final String WORKER_TIMES_USED = "moeplanWorkerTimesUsed";

  /** WorkerTimes records of an iteration their executor and layer already reported (counter). */
  public static final String WORKER_TIMES_DUPLICATES = "moeplanWorkerTimesDuplicates";

  /** WorkerTimes records sent to the dead-letter topic (counter). */
  public static final String WORKER_TIMES_DEAD_LETTERED = "moeplanWorkerTimesDeadLettered";

  /** Model fits published to the model-fit topic (counter). */
  public static final String MODEL_FITS = "moeplanModelFits";

  /**
   * Output records (decisions, model fits, dead letters) not written because they belong to no
   * tenant the job lists: possible only with state restored from another tenant list.
   */
  public static final String UNROUTABLE = "moeplanUnroutableRecords";

  /**
   * Sub-group of the calibrator's metrics per job: the gauges below are registered under {@code job
   * <jobId>}.
   */
  public static final String JOB_GROUP = "job";

  /** Version of the job's model the selector scores with (gauge, per job). */
  public static final String MODEL_VERSION = "moeplanModelVersion";

  /** Per-worker compute MAPE of the model, percent, over the recent windows (gauge, per job). */
  public static final String MODEL_COMPUTE_MAPE_PERCENT = "moeplanModelComputeMapePercent";

  /** Pearson r of predicted vs measured per-worker compute (gauge, per job). */
  public static final String MODEL_COMPUTE_PEARSON = "moeplanModelComputePearson";

  /**
   * Per-worker compute MAPE with each record's predictions scaled to its measured total, percent
   * (gauge, per job).
   */
  public static final String MODEL_COMPUTE_RELATIVE_MAPE_PERCENT =
      "moeplanModelComputeRelativeMapePercent";

  /** MAPE of the predicted vs measured step time (slowest worker), percent (gauge, per job). */
  public static final String MODEL_STEP_MAPE_PERCENT = "moeplanModelStepMapePercent";

  /** Mean predicted step time per layer and iteration, milliseconds (gauge, per job). */
  public static final String MODEL_PREDICTED_STEP_MILLIS = "moeplanModelPredictedStepMillis";

  /** Mean measured step time per layer and iteration, milliseconds (gauge, per job). */
  public static final String MODEL_MEASURED_STEP_MILLIS = "moeplanModelMeasuredStepMillis";

  private JobMetrics() {}
}
