package io.moeplan.planner.replay;

/**
 * How one policy did over a replay (one layer, or all layers together).
 *
 * @param policy the policy's name
 * @param modelledMsPerIteration modelled milliseconds per iteration including switch costs paid
 *     (for all layers together: the sum over layers, i.e. the MoE part of one iteration)
 * @param switches placement switches
 * @param migratedBytes bytes of parameters and optimizer state moved by the switches
 * @param switchMsPerIteration switch cost paid, in milliseconds per iteration (0 for the oracle,
 *     which ignores switch cost)
 * @param decisionMicrosP50 median wall time of one decision in microseconds
 */
public record PolicySummary(
    String policy,
    double modelledMsPerIteration,
    long switches,
    long migratedBytes,
    double switchMsPerIteration,
    double decisionMicrosP50) {}
