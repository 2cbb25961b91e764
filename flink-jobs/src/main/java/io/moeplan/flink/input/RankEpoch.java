package io.moeplan.flink.input;

/**
 * The epoch a rank is in ({@link Epochs}) and the runs it left. Absent for a rank that only ever
 * reported the default epoch.
 */
public class RankEpoch {

  /** The run of the rank's latest epoch; null: the default run. */
  public String runId;

  /** The attempt of the rank's latest epoch. */
  public int attempt;

  /** Runs the rank left, most recent last ({@link Epochs#leave}); null when none. */
  public String[] leftRuns;

  /** For Flink's POJO serializer. */
  public RankEpoch() {}
}
