package io.moeplan.planner.replay;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The modelled time of a replay window by window: for every policy, window and layer, the seconds
 * that layer cost over the window's iterations under the policy, the switch cost paid in that
 * window included (what {@link PolicySummary#modelledMsPerIteration()} averages).
 */
public final class ReplayTimeline {
  /** A timeline of no window. */
  public static final ReplayTimeline EMPTY = new ReplayTimeline(List.of(), List.of(), 1);

  private final List<String> policies;
  private final List<Integer> layers;
  private final int windowIterations;
  private final List<Long> iterations = new ArrayList<>();
  private final List<double[]> seconds = new ArrayList<>();

  /**
   * An empty timeline of these policies and layers (the trace's own layer numbers), each window
   * standing for {@code windowIterations} iterations.
   */
  public ReplayTimeline(List<String> policies, List<Integer> layers, int windowIterations) {
    if (windowIterations < 1) {
      throw new IllegalArgumentException("window iterations must be >= 1, got " + windowIterations);
    }
    this.policies = List.copyOf(policies);
    this.layers = List.copyOf(layers);
    this.windowIterations = windowIterations;
  }

  /**
   * Appends a window: the trace iteration of its sample and the seconds of every (policy, layer) as
   * {@code seconds[policy * layers + layer]}, layers in {@link #layers()} order; a shorter array
   * leaves the layers beyond it at 0.
   */
  void add(long iteration, double[] windowSeconds) {
    int cells = policies.size() * layers.size();
    if (windowSeconds.length > cells) {
      throw new IllegalArgumentException(
          windowSeconds.length + " values for " + cells + " (policy, layer) cells");
    }
    iterations.add(iteration);
    seconds.add(Arrays.copyOf(windowSeconds, cells));
  }

  /** The policies, in the replay's order. */
  public List<String> policies() {
    return policies;
  }

  /** The layers, in the trace's own numbers. */
  public List<Integer> layers() {
    return layers;
  }

  /** Windows recorded. */
  public int windows() {
    return iterations.size();
  }

  /** Iterations each window stands for. */
  public int windowIterations() {
    return windowIterations;
  }

  /** The trace iteration of window {@code window}'s sample. */
  public long iteration(int window) {
    return iterations.get(window);
  }

  /**
   * Seconds of layer {@code layerIndex} (in {@link #layers()} order) under a policy in a window.
   */
  public double seconds(int window, int policyIndex, int layerIndex) {
    return seconds.get(window)[policyIndex * layers.size() + layerIndex];
  }

  /**
   * Modelled milliseconds per iteration of every window under {@code policy}, summed over the
   * layers (the window's seconds over its iterations).
   */
  public double[] msPerIteration(String policy) {
    int p = indexOf(policy);
    double[] out = new double[windows()];
    for (int w = 0; w < out.length; w++) {
      double sum = 0;
      for (int l = 0; l < layers.size(); l++) {
        sum += seconds(w, p, l);
      }
      out[w] = sum / windowIterations * 1e3;
    }
    return out;
  }

  private int indexOf(String policy) {
    int p = policies.indexOf(policy);
    if (p < 0) {
      throw new IllegalArgumentException("no policy " + policy + " in the timeline");
    }
    return p;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ReplayTimeline other)) {
      return false;
    }
    if (!policies.equals(other.policies)
        || !layers.equals(other.layers)
        || windowIterations != other.windowIterations
        || !iterations.equals(other.iterations)) {
      return false;
    }
    for (int w = 0; w < seconds.size(); w++) {
      if (!Arrays.equals(seconds.get(w), other.seconds.get(w))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return (policies.hashCode() * 31 + layers.hashCode()) * 31 + iterations.hashCode();
  }

  @Override
  public String toString() {
    return "ReplayTimeline[" + policies + ", layers " + layers + ", " + windows() + " windows]";
  }
}
