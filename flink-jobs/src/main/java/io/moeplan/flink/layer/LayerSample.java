package io.moeplan.flink.layer;

/** The counts one rank reported for one MoE layer in one iteration. */
public class LayerSample {

  /** Training job. */
  public String jobId;

  /** MoE layer. */
  public int layer;

  /** Reporting rank. */
  public int rank;

  /** Ranks of the job. */
  public int worldSize;

  /** Training iteration. */
  public long iteration;

  /** Plan version the rank ran. */
  public long planVersion;

  /** Tokens routed to each expert. */
  public long[] counts;

  /** Producer wall-clock time in milliseconds (metrics only). */
  public long producedAtMillis;

  /** For Flink's POJO serializer. */
  public LayerSample() {}

  /** The key of the (job, layer) this sample belongs to. */
  public String key() {
    return jobId + "/" + layer;
  }

  @Override
  public String toString() {
    return jobId + "/" + layer + " rank " + rank + " @" + iteration;
  }
}
