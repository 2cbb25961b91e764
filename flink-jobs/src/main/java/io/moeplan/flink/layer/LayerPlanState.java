package io.moeplan.flink.layer;

/**
 * What the job remembers about one (job, layer) between windows, beside the last window decided.
 */
public class LayerPlanState {

  /** The placement in force after the last decision (slot -> expert); null before the first. */
  public int[] slotToExpert;

  /** Version of the placement; grows by one with every switch. */
  public long planVersion;

  /** Load estimate {@code [worker * experts + expert]}; null before the first complete window. */
  public double[] estimate;

  /** Workers (rows) of {@link #estimate}. */
  public int estimateWorkers;

  /** The run of the layer's epoch; null: the job's default run. */
  public String runId;

  /** The attempt of the layer's epoch. */
  public int attempt;

  /** Runs the layer left, most recent last ({@code Epochs.leave}); null when none. */
  public String[] leftRuns;

  /**
   * Effective iterations of the layer's latest switches in this run, oldest first, at most {@code
   * LayerWindowSelector.MAX_SWITCHES}; parallel to {@link #switchPlacements} and {@link
   * #switchVersions}. Null before the first switch.
   */
  public long[] switchIterations;

  /** The placement each switch put in force. */
  public int[][] switchPlacements;

  /** The plan version each switch put in force. */
  public long[] switchVersions;

  /** For Flink's POJO serializer. */
  public LayerPlanState() {}
}
