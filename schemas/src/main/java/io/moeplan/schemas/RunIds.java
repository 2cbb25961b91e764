package io.moeplan.schemas;

/**
 * The one rule for run ids ({@code ExpertLoad.runId}, {@code PlanDecision.runId}): like job ids,
 * non-blank and without {@code '/'}; null is the job's default run.
 */
public final class RunIds {

  private RunIds() {}

  /** Why {@code runId} cannot be a run id, or null when it can (null itself can: the default). */
  public static String problem(String runId) {
    if (runId != null && (runId.isBlank() || runId.indexOf('/') >= 0)) {
      return "run id must be null or non-blank without '/', got '" + runId + "'";
    }
    return null;
  }
}
