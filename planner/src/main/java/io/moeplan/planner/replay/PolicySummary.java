package io.moeplan.planner.replay;

/**
 * How one policy did over a replay (one layer, or all layers together).
 *
 * @param policy the policy as the replay was asked for it (a name, or a name with settings)
 * @param modelledMsPerIteration modelled milliseconds per iteration including switch costs paid
 *     (for all layers together: the sum over layers, i.e. the MoE part of one iteration)
 * @param switches placement switches
 * @param migratedBytes bytes of parameters and optimizer state moved by the switches
 * @param switchMsPerIteration switch cost paid, in milliseconds per iteration (0 for the oracle,
 *     which ignores switch cost)
 * @param decisionMicrosP50 median wall time of one decision in microseconds
 * @param label the policy's name with all its settings ({@link PolicySpec#label()}), e.g. {@code
 *     eplb(interval=10,window=10)} for {@code eplb} at window 10
 */
public record PolicySummary(
    String policy,
    double modelledMsPerIteration,
    long switches,
    long migratedBytes,
    double switchMsPerIteration,
    double decisionMicrosP50,
    String label) {

  /** A summary whose label is {@code policy}. */
  public PolicySummary(
      String policy,
      double modelledMsPerIteration,
      long switches,
      long migratedBytes,
      double switchMsPerIteration,
      double decisionMicrosP50) {
    this(
        policy,
        modelledMsPerIteration,
        switches,
        migratedBytes,
        switchMsPerIteration,
        decisionMicrosP50,
        policy);
  }
}
