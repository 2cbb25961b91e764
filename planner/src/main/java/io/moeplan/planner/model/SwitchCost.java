package io.moeplan.planner.model;

/**
 * The modelled cost of moving from one placement to another.
 *
 * @param bytes parameters and optimizer state received by all workers together
 * @param seconds the largest per-worker receive time (intra-node bytes over the intra-node
 *     bandwidth plus inter-node bytes over the inter-node bandwidth)
 * @param replicasMoved expert replicas that arrive on a worker that did not hold that expert
 */
public record SwitchCost(long bytes, double seconds, int replicasMoved) {
  /** No migration. */
  public static final SwitchCost NONE = new SwitchCost(0, 0, 0);
}
