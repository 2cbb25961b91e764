package io.moeplan.planner.selector;

import io.moeplan.planner.placement.LoadMatrix;
import java.util.List;

/**
 * Estimates the next window's load: the mean over the window's samples, folded into an exponential
 * moving average across windows, {@code estimate = alpha * windowMean + (1 - alpha) *
 * previousEstimate} (the first window's mean is the first estimate). A pure function of (previous
 * estimate, window statistics), so a stream processor can keep the estimate in keyed state.
 */
public final class LoadEstimator {
  private final double alpha;

  /** An estimator giving weight {@code alpha} in (0, 1] to the newest window. */
  public LoadEstimator(double alpha) {
    if (!(alpha > 0 && alpha <= 1)) {
      throw new IllegalArgumentException("alpha must be in (0, 1], got " + alpha);
    }
    this.alpha = alpha;
  }

  /** Weight of the newest window. */
  public double alpha() {
    return alpha;
  }

  /** The next estimate from the previous one ({@code null} before the first window). */
  public LoadMatrix next(LoadMatrix previousEstimate, LoadMatrix windowMean) {
    if (previousEstimate == null || alpha == 1) {
      return windowMean;
    }
    return windowMean.blend(alpha, previousEstimate, 1 - alpha);
  }

  /** The element-wise mean of a window's load samples (at least one, all of one shape). */
  public static LoadMatrix windowMean(List<LoadMatrix> samples) {
    if (samples.isEmpty()) {
      throw new IllegalArgumentException("a window needs at least one load sample");
    }
    LoadMatrix sum = samples.get(0);
    for (int i = 1; i < samples.size(); i++) {
      sum = sum.blend(1, samples.get(i), 1);
    }
    return samples.size() == 1 ? sum : sum.scaled(1.0 / samples.size());
  }
}
