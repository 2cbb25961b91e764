package io.moeplan.schemas;

/**
 * One MoE layer of one job: the key of its {@link PlanDecision} and {@link WorkerTimes} records
 * ({@code jobId/layer}) and of the selector's per-layer state. Formats and parses the key in one
 * place.
 *
 * @param jobId the job, without {@code '/'}
 * @param layer the MoE layer, {@code >= 0}
 */
public record LayerKey(String jobId, int layer) {

  /** Checks the job id and layer. */
  public LayerKey {
    JobIds.requireValid(jobId);
    if (layer < 0) {
      throw new IllegalArgumentException("layer must be >= 0, got " + layer);
    }
  }

  /** The key {@code jobId/layer}. */
  public static String format(String jobId, int layer) {
    return jobId + "/" + layer;
  }

  /** The key of {@code key}'s form {@code jobId/layer}; a clear error for anything else. */
  public static LayerKey parse(String key) {
    int slash = key.lastIndexOf('/');
    if (slash <= 0) {
      throw new IllegalArgumentException("layer key must be jobId/layer, got '" + key + "'");
    }
    return new LayerKey(key.substring(0, slash), Keys.parseIndex(key, slash, "layer"));
  }

  /**
   * The deterministic id of this layer's decision for {@code window}: {@code jobId/layer/window}.
   */
  public String decisionId(long window) {
    return format(jobId, layer) + "/" + window;
  }

  /** The key {@code jobId/layer}. */
  @Override
  public String toString() {
    return format(jobId, layer);
  }
}
