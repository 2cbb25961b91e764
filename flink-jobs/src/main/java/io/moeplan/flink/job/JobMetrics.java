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

  private JobMetrics() {}
}
