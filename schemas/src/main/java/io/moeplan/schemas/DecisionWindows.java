package io.moeplan.schemas;

/**
 * How iterations group into decision windows, and when a window's decision takes effect: the timing
 * contract between the plan-selector job and every rank that follows its decisions. Window {@code
 * w} of length {@code F} holds iterations {@code [w F, w F + F - 1]} (iterations count from 0); its
 * decision takes effect at iteration {@code w F + F - 1 + lead}.
 *
 * <p>The defaults and flag names here are the only ones: the job, the executor and the launcher
 * commands all take {@value #WINDOW_ITERATIONS_FLAG} and {@value #LEAD_ITERATIONS_FLAG}.
 */
public final class DecisionWindows {

  /** Default window length F in iterations (SmartMoE's replan interval). */
  public static final int DEFAULT_WINDOW_ITERATIONS = 10;

  /** Default lead, in iterations, between a window's last iteration and its decision's effect. */
  public static final int DEFAULT_LEAD_ITERATIONS = 2;

  /** The command-line flag of the window length, on every command that takes it. */
  public static final String WINDOW_ITERATIONS_FLAG = "--window-iterations";

  /** The command-line flag of the lead, on every command that takes it. */
  public static final String LEAD_ITERATIONS_FLAG = "--lead-iterations";

  private DecisionWindows() {}

  /** The window holding {@code iteration}. */
  public static long windowOf(long iteration, int windowIterations) {
    return iteration / windowIterations;
  }

  /** The first iteration of {@code window}. */
  public static long firstIteration(long window, int windowIterations) {
    return window * windowIterations;
  }

  /** The last iteration of {@code window}. */
  public static long lastIteration(long window, int windowIterations) {
    return window * windowIterations + windowIterations - 1;
  }

  /** Whether {@code iteration} is the last of its window. */
  public static boolean endsWindow(long iteration, int windowIterations) {
    return (iteration + 1) % windowIterations == 0;
  }

  /** The iteration at which the decision for {@code window} takes effect. */
  public static long effectiveIteration(long window, int windowIterations, int leadIterations) {
    return lastIteration(window, windowIterations) + leadIterations;
  }

  /**
   * The window whose decision takes effect at {@code iteration}, or -1 when no window's does (the
   * inverse of {@link #effectiveIteration}).
   */
  public static long windowEffectiveAt(long iteration, int windowIterations, int leadIterations) {
    long end = iteration - leadIterations + 1; // (w + 1) F
    if (end < windowIterations || end % windowIterations != 0) {
      return -1;
    }
    return end / windowIterations - 1;
  }
}
