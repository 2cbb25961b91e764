package io.moeplan.flink.input;

/**
 * One rank's decoded and structurally valid expert load for one iteration, with where it was read
 * (for dead letters further down the job).
 */
public class RankLoad {

  /** Training job. */
  public String jobId;

  /** Reporting rank, {@code 0 <= rank < worldSize}. */
  public int rank;

  /** Ranks of the job. */
  public int worldSize;

  /**
   * Ranks that report each layer this rank reports: its pipeline stage's ranks (the world size
   * without pipeline stages). Set by the gate from the job's pool.
   */
  public int hostingRanks;

  /** Training iteration. */
  public long iteration;

  /** Plan version the rank ran. */
  public long planVersion;

  /** The training run the load belongs to; null: the job's default run. */
  public String runId;

  /** How many times the run resumed from a checkpoint; 0 for a run never resumed. */
  public int attempt;

  /** Producer wall-clock time in milliseconds (metrics only). */
  public long producedAtMillis;

  /** MoE layer indexes, distinct, parallel to {@link #counts}. */
  public int[] layers;

  /** Tokens routed to each expert, per entry of {@link #layers}. */
  public long[][] counts;

  /** The record as received, for dead-lettering. */
  public RawRecord source;

  /** For Flink's POJO serializer. */
  public RankLoad() {}

  /** Expert count of every layer (all layers have the same count once validated). */
  public int expertCount() {
    return counts.length == 0 ? 0 : counts[0].length;
  }

  @Override
  public String toString() {
    return jobId
        + "/"
        + rank
        + "@"
        + iteration
        + (runId == null && attempt == 0 ? "" : " (" + Epochs.describe(runId, attempt) + ")");
  }
}
