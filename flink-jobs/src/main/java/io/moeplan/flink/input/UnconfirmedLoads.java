package io.moeplan.flink.input;

/**
 * A rank's loads that the gate holds until a later load of the rank continues one of them: loads
 * that jumped more than the allowed distance ahead of the rank's admitted iterations, or that came
 * before any was admitted. In arrival order.
 */
public class UnconfirmedLoads {

  /** The held loads, oldest first. */
  public RankLoad[] loads;

  /** Processing time at which they are resolved without a confirming load. */
  public long deadline;

  /** For Flink's POJO serializer. */
  public UnconfirmedLoads() {}
}
