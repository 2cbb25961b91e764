package io.moeplan.planner.replay;

import java.util.List;

/**
 * The outcome of a replay: per policy over all layers, and per layer.
 *
 * @param windows trace samples (windows) replayed
 * @param windowIterations iterations per window
 * @param overall one summary per policy over all layers, in the options' order
 * @param layers per layer summaries
 * @param timeline the modelled time window by window, per policy and layer
 */
public record ReplayResult(
    int windows,
    int windowIterations,
    List<PolicySummary> overall,
    List<LayerResult> layers,
    ReplayTimeline timeline) {

  /** Copies the lists. */
  public ReplayResult {
    overall = List.copyOf(overall);
    layers = List.copyOf(layers);
    if (timeline == null) {
      timeline = ReplayTimeline.EMPTY;
    }
  }

  /** A result without a timeline. */
  public ReplayResult(
      int windows, int windowIterations, List<PolicySummary> overall, List<LayerResult> layers) {
    this(windows, windowIterations, overall, layers, ReplayTimeline.EMPTY);
  }

  /** The summary of one policy over all layers. */
  public PolicySummary policy(String name) {
    return overall.stream()
        .filter(p -> p.policy().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no policy " + name + " in the replay"));
  }

  /**
   * One layer's summaries.
   *
   * @param layer layer index
   * @param policies one summary per policy, in the options' order
   */
  public record LayerResult(int layer, List<PolicySummary> policies) {
    /** Copies the list. */
    public LayerResult {
      policies = List.copyOf(policies);
    }
  }
}
