package io.moeplan.flink.input;

import java.util.Arrays;
import java.util.Objects;

/**
 * The order of a job's epochs: an epoch is a (runId, attempt) pair, runId null and attempt 0 being
 * the default epoch of a job that never names its run. Against the epoch a rank or layer is in, a
 * load or sample's epoch is
 *
 * <ul>
 *   <li>the same: same runId and attempt;
 *   <li>newer: the same runId with a higher attempt (the run resumed from a checkpoint), or a runId
 *       not among the runs it left (a new run under the same job id);
 *   <li>older: the same runId with a lower attempt, or a runId among the runs it left.
 * </ul>
 *
 * <p>The runs left are a short list, the most recent last, at most {@value #MAX_LEFT_RUNS}; the
 * default run is kept in it as {@code ""} (no run id is blank).
 */
public final class Epochs {

  /** Runs remembered as left, per rank or layer. */
  public static final int MAX_LEFT_RUNS = 8;

  /** The current epoch, the same one, or an older one. */
  public enum Order {
    OLDER,
    SAME,
    NEWER_ATTEMPT,
    NEWER_RUN
  }

  private Epochs() {}

  /** How epoch ({@code runId}, {@code attempt}) relates to the current one and the runs left. */
  public static Order compare(
      String currentRunId, int currentAttempt, String[] leftRuns, String runId, int attempt) {
    if (Objects.equals(currentRunId, runId)) {
      if (attempt == currentAttempt) {
        return Order.SAME;
      }
      return attempt > currentAttempt ? Order.NEWER_ATTEMPT : Order.OLDER;
    }
    if (leftRuns != null && Arrays.asList(leftRuns).contains(stored(runId))) {
      return Order.OLDER;
    }
    return Order.NEWER_RUN;
  }

  /**
   * {@code leftRuns} with {@code runId} added as the most recent, dropping the oldest beyond the
   * bound.
   */
  public static String[] leave(String[] leftRuns, String runId) {
    String entry = stored(runId);
    String[] base = leftRuns == null ? new String[0] : leftRuns;
    String[] next = Arrays.stream(base).filter(run -> !run.equals(entry)).toArray(String[]::new);
    next = Arrays.copyOf(next, next.length + 1);
    next[next.length - 1] = entry;
    if (next.length > MAX_LEFT_RUNS) {
      next = Arrays.copyOfRange(next, next.length - MAX_LEFT_RUNS, next.length);
    }
    return next;
  }

  /**
   * The runs left after moving from {@code oldRunId} (with {@code leftRuns} left before) to the
   * newer epoch {@code order} names, whose run is {@code runId}: a new run leaves the old one; the
   * run moved to is never among the left ones.
   */
  public static String[] leftAfterMove(
      String[] leftRuns, String oldRunId, Order order, String runId) {
    String[] left = order == Order.NEWER_RUN ? leave(leftRuns, oldRunId) : leftRuns;
    return without(left, runId);
  }

  /** {@code leftRuns} without {@code runId} (a run that became current again cannot be left). */
  public static String[] without(String[] leftRuns, String runId) {
    if (leftRuns == null) {
      return null;
    }
    String entry = stored(runId);
    return Arrays.stream(leftRuns).filter(run -> !run.equals(entry)).toArray(String[]::new);
  }

  /** An epoch for people: {@code run 'r' attempt 1}, or {@code the default run attempt 0}. */
  public static String describe(String runId, int attempt) {
    return (runId == null ? "the default run" : "run '" + runId + "'") + " attempt " + attempt;
  }

  private static String stored(String runId) {
    return runId == null ? "" : runId;
  }
}
