package io.moeplan.flink.layer;

import io.moeplan.schemas.LayerKey;

/**
 * The tokens one rank routed to each expert of one MoE layer, summed over {@code iterations}
 * iterations of one window (all of them normally; fewer when the rank's window was cut short).
 */
public class LayerSample {

  /** Training job. */
  public String jobId;

  /** MoE layer. */
  public int layer;

  /** Reporting rank. */
  public int rank;

  /** Ranks of the job. */
  public int worldSize;

  /** Ranks that report this layer: the world size, or its pipeline stage's ranks. */
  public int hostingRanks;

  /** Window index: iterations {@code [window F, window F + F - 1]}. */
  public long window;

  /** Iterations summed into {@link #counts}. */
  public int iterations;

  /** Plan version the rank ran. */
  public long planVersion;

  /** Tokens routed to each expert, summed over the iterations. */
  public long[] counts;

  /** Latest producer wall-clock time of the summed loads, in milliseconds (metrics only). */
  public long producedAtMillis;

  /** The run of the summed loads; null: the job's default run. */
  public String runId;

  /** The run's attempt of the summed loads. */
  public int attempt;

  /** For Flink's POJO serializer. */
  public LayerSample() {}

  /** The key of the (job, layer) this sample belongs to. */
  public String key() {
    return LayerKey.format(jobId, layer);
  }

  @Override
  public String toString() {
    return key() + " rank " + rank + " window " + window + " (" + iterations + ")";
  }
}
