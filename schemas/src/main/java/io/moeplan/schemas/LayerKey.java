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

  /**
   * The deterministic id of this layer's decision for {@code window} of the epoch ({@code runId},
   * {@code attempt}): {@link #decisionId(long)} for the default epoch (runId null, attempt 0), so
   * ids of jobs that never name a run stay as they were, and {@code
   * jobId/layer/window@runId.attempt} for any other ({@code @runId} without a run id is empty:
   * {@code jobId/layer/window@.attempt}).
   */
  public String decisionId(long window, String runId, int attempt) {
    if (runId == null && attempt == 0) {
      return decisionId(window);
    }
    String problem = RunIds.problem(runId);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return decisionId(window) + "@" + (runId == null ? "" : runId) + "." + attempt;
  }

  /** The key {@code jobId/layer}. */
  @Override
  public String toString() {
    return format(jobId, layer);
  }
}
