package io.moeplan.schemas;

/**
 * The one rule for job ids: non-blank and without {@code '/'}, the separator of every key that
 * starts with a job id ({@link RankKey}, {@link LayerKey}, decision ids).
 */
public final class JobIds {

  private JobIds() {}

  /** Why {@code jobId} cannot be a job id, or null when it can. */
  public static String problem(String jobId) {
    if (jobId == null || jobId.isBlank() || jobId.indexOf('/') >= 0) {
      return "job id must be non-blank without '/', got '" + jobId + "'";
    }
    return null;
  }

  /** {@code jobId} itself; throws {@link IllegalArgumentException} naming the rule otherwise. */
  public static String requireValid(String jobId) {
    String problem = problem(jobId);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return jobId;
  }
}
