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

  /** For Flink's POJO serializer. */
  public LayerPlanState() {}
}
