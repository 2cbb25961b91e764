package io.moeplan.planner.selector;

/**
 * Tuning of the online selector.
 *
 * @param horizonIterations iterations a new placement is expected to hold; the switch rule weighs
 *     the per-iteration gain over this many iterations against the migration
 * @param margin extra fraction of the switch cost a switch must pay back
 * @param emaAlpha weight of the newest window in the load estimate (1 = last window only)
 * @param maxSearchSteps bound on accepted local-search moves per start
 * @param partnerWorkers workers a busy worker's experts are swapped with per step (the least loaded
 *     by compute and by all-to-all); all workers when there are at most this many
 */
public record SelectorOptions(
    double horizonIterations,
    double margin,
    double emaAlpha,
    int maxSearchSteps,
    int partnerWorkers) {

  /**
   * Default horizon in windows: a new placement is weighed over 10 windows. Placements hold much
   * longer than one window (on the GPT-MoE trace the selector keeps a layer's placement for tens of
   * windows), and in replays of that trace 10 windows did better than 1 or 3 in every setting and
   * about as well as 30 or 100, which migrate more.
   */
  public static final int DEFAULT_HORIZON_WINDOWS = 10;

  /** Default margin: a switch must pay back 10% more than it costs. */
  public static final double DEFAULT_MARGIN = 0.1;

  /** Default weight of the newest window in the load estimate. */
  public static final double DEFAULT_EMA_ALPHA = 0.5;

  /** Default bound on local-search moves. */
  public static final int DEFAULT_MAX_SEARCH_STEPS = 64;

  /** Default number of partner workers per local-search step. */
  public static final int DEFAULT_PARTNER_WORKERS = 4;

  /** Validates the options. */
  public SelectorOptions {
    if (!(horizonIterations > 0) || Double.isInfinite(horizonIterations)) {
      throw new IllegalArgumentException(
          "horizonIterations must be finite and > 0, got " + horizonIterations);
    }
    if (!(margin >= 0) || Double.isInfinite(margin)) {
      throw new IllegalArgumentException("margin must be finite and >= 0, got " + margin);
    }
    if (!(emaAlpha > 0 && emaAlpha <= 1)) {
      throw new IllegalArgumentException("emaAlpha must be in (0, 1], got " + emaAlpha);
    }
    if (maxSearchSteps < 0) {
      throw new IllegalArgumentException("maxSearchSteps must be >= 0, got " + maxSearchSteps);
    }
    if (partnerWorkers < 1) {
      throw new IllegalArgumentException("partnerWorkers must be >= 1, got " + partnerWorkers);
    }
  }

  /**
   * Defaults for a replan interval of {@code windowIterations}: the horizon is {@value
   * #DEFAULT_HORIZON_WINDOWS} windows.
   */
  public static SelectorOptions defaults(int windowIterations) {
    return new SelectorOptions(
        (double) DEFAULT_HORIZON_WINDOWS * windowIterations,
        DEFAULT_MARGIN,
        DEFAULT_EMA_ALPHA,
        DEFAULT_MAX_SEARCH_STEPS,
        DEFAULT_PARTNER_WORKERS);
  }

  /** The same options with another horizon. */
  public SelectorOptions withHorizon(double iterations) {
    return new SelectorOptions(iterations, margin, emaAlpha, maxSearchSteps, partnerWorkers);
  }

  /** The same options with another margin. */
  public SelectorOptions withMargin(double newMargin) {
    return new SelectorOptions(
        horizonIterations, newMargin, emaAlpha, maxSearchSteps, partnerWorkers);
  }

  /** The same options with another EMA weight. */
  public SelectorOptions withEmaAlpha(double alpha) {
    return new SelectorOptions(horizonIterations, margin, alpha, maxSearchSteps, partnerWorkers);
  }
}
