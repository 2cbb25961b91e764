package io.moeplan.schemas;

/**
 * One rank of one job: the key of its {@link ExpertLoad} records on the wire ({@code jobId/rank})
 * and of the job's per-rank state. Like Kafka's {@code TopicPartition}, it formats and parses the
 * key in one place.
 *
 * @param jobId the job, without {@code '/'}
 * @param rank the rank, {@code >= 0}
 */
public record RankKey(String jobId, int rank) {

  /** Checks the job id and rank. */
  public RankKey {
    JobIds.requireValid(jobId);
    if (rank < 0) {
      throw new IllegalArgumentException("rank must be >= 0, got " + rank);
    }
  }

  /** The key {@code jobId/rank}. */
  public static String format(String jobId, int rank) {
    return jobId + "/" + rank;
  }

  /** The key of {@code key}'s form {@code jobId/rank}; a clear error for anything else. */
  public static RankKey parse(String key) {
    int slash = key.lastIndexOf('/');
    if (slash <= 0) {
      throw new IllegalArgumentException("rank key must be jobId/rank, got '" + key + "'");
    }
    return new RankKey(key.substring(0, slash), Keys.parseIndex(key, slash, "rank"));
  }

  /** The job id of a key of the form {@code jobId/rank}, without parsing the rank. */
  public static String jobIdOf(String key) {
    int slash = key.lastIndexOf('/');
    if (slash <= 0) {
      throw new IllegalArgumentException("rank key must be jobId/rank, got '" + key + "'");
    }
    return key.substring(0, slash);
  }

  /** The key {@code jobId/rank}. */
  @Override
  public String toString() {
    return format(jobId, rank);
  }
}
