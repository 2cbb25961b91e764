package io.moeplan.planner.policy;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.model.SwitchCost;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import java.util.Locale;

/**
 * A FlexMoE-style trigger-and-adjust policy. The idea comes from FlexMoE (Nie et al., "FlexMoE:
 * Scaling Large-scale Sparse Pre-trained Model Training via Dynamic Device Placement", SIGMOD
 * 2023): watch how unbalanced the current placement is, and only when the imbalance crosses a
 * threshold adjust it with a few small steps (replicate a hot expert, shrink a cold one, move one)
 * instead of re-planning from scratch. This class is our reading of that idea on the token counts,
 * not FlexMoE's code or its cost model.
 *
 * <p>Loads are summed over ranks; an expert's tokens are split evenly over its replicas. The
 * <b>balance ratio</b> of a placement is its largest per-worker token count over the mean
 * per-worker token count (1 is perfect balance). At every window:
 *
 * <ol>
 *   <li>if the current placement's balance ratio is at most {@code threshold}, keep it;
 *   <li>else repeat, at most {@code workers} times while the ratio is above the threshold: between
 *       the busiest and the least busy worker (by tokens), take the one step that lowers the larger
 *       of the two workers' token counts the most, either a <i>swap</i> of an expert of the busiest
 *       with a different expert of the least busy worker, or, when a layout has spare slots, a
 *       <i>replicate</i> step that gives a slot of the least busy worker holding an expert with two
 *       or more replicas to an expert of the busiest worker (that expert gains a replica, the other
 *       loses one); stop when no step lowers it (ties: lowest slot indices);
 *   <li>switch to the result if it puts different experts on some worker; the switch cost is paid,
 *       not weighed.
 * </ol>
 *
 * A threshold below 1 adjusts at every window; a very large one never does.
 */
public final class FlexMoePolicy implements PlacementPolicy {
  /** The policy's name. */
  public static final String NAME = "flexmoe";

  /** The default balance-ratio threshold. */
  public static final double DEFAULT_THRESHOLD = 1.2;

  private final PerformanceModel model;
  private final double threshold;

  /** A FlexMoE-style policy with the default threshold. */
  public FlexMoePolicy(PerformanceModel model) {
    this(model, DEFAULT_THRESHOLD);
  }

  /** A FlexMoE-style policy that adjusts when the balance ratio exceeds {@code threshold}. */
  public FlexMoePolicy(PerformanceModel model, double threshold) {
    if (!(threshold >= 0) || Double.isInfinite(threshold)) {
      throw new IllegalArgumentException("threshold must be finite and >= 0, got " + threshold);
    }
    this.model = model;
    this.threshold = threshold;
  }

  @Override
  public String name() {
    return NAME;
  }

  /** The balance ratio of {@code placement}: max over mean per-worker tokens (1 when no load). */
  public static double balanceRatio(Placement placement, double[] expertLoads) {
    double[] perWorker = workerTokens(placement.slotToExpert(), placement, expertLoads);
    double max = 0;
    double sum = 0;
    for (double v : perWorker) {
      max = Math.max(max, v);
      sum += v;
    }
    return sum <= 0 ? 1 : max / (sum / perWorker.length);
  }

  @Override
  public Decision decide(Placement current, LoadMatrix observed) {
    double[] loads = observed.expertTotals();
    double currentSeconds = model.layerSeconds(current, observed);
    double ratio = balanceRatio(current, loads);
    if (ratio <= threshold) {
      return Decision.keep(
          current,
          currentSeconds,
          String.format(
              Locale.ROOT, "balance ratio %.3f is not above the threshold %s", ratio, threshold));
    }
    Placement next = adjust(current, loads);
    if (next.sameWorkerSets(current)) {
      return Decision.keep(
          current,
          currentSeconds,
          String.format(Locale.ROOT, "balance ratio %.3f but no step lowers it", ratio));
    }
    double nextSeconds = model.layerSeconds(next, observed);
    SwitchCost cost = model.switchCost(current, next);
    return Decision.switchTo(
        next,
        currentSeconds,
        nextSeconds,
        cost,
        String.format(
            Locale.ROOT,
            "balance ratio %.3f above %s: %d replica(s) moved, ratio %.3f",
            ratio,
            threshold,
            cost.replicasMoved(),
            balanceRatio(next, loads)));
  }

  /** The steps of the class comment from {@code current}. */
  Placement adjust(Placement current, double[] loads) {
    int workers = current.workerCount();
    int spw = current.slotsPerWorker();
    int experts = current.expertCount();
    int[] s2e = current.slotToExpert().clone();
    int[] replicas = current.replicaCounts().clone();
    for (int step = 0; step < workers; step++) {
      double[] perWorker = workerTokens(s2e, replicas, workers, spw, loads);
      int hot = 0;
      int cold = 0;
      double sum = 0;
      for (int w = 0; w < workers; w++) {
        sum += perWorker[w];
        if (perWorker[w] > perWorker[hot]) {
          hot = w;
        }
        if (perWorker[w] < perWorker[cold]) {
          cold = w;
        }
      }
      if (sum <= 0 || hot == cold || perWorker[hot] / (sum / workers) <= threshold) {
        break;
      }
      double bestPeak = perWorker[hot];
      int bestA = -1;
      int bestB = -1;
      boolean bestReplicate = false;
      for (int a = hot * spw; a < (hot + 1) * spw; a++) {
        int x = s2e[a];
        double xShare = loads[x] / replicas[x];
        for (int b = cold * spw; b < (cold + 1) * spw; b++) {
          int y = s2e[b];
          if (x == y) {
            continue;
          }
          double yShare = loads[y] / replicas[y];
          // swap x (hot) with y (cold)
          if (!holds(s2e, cold, spw, x) && !holds(s2e, hot, spw, y)) {
            double peak =
                Math.max(perWorker[hot] - xShare + yShare, perWorker[cold] - yShare + xShare);
            if (peak < bestPeak) {
              bestPeak = peak;
              bestA = a;
              bestB = b;
              bestReplicate = false;
            }
          }
          // replicate x into b, which y (two or more replicas) gives up
          if (replicas[y] >= 2 && !holds(s2e, cold, spw, x)) {
            s2e[b] = x;
            replicas[x]++;
            replicas[y]--;
            double peak = peak(workerTokens(s2e, replicas, workers, spw, loads));
            s2e[b] = y;
            replicas[x]--;
            replicas[y]++;
            if (peak < bestPeak) {
              bestPeak = peak;
              bestA = a;
              bestB = b;
              bestReplicate = true;
            }
          }
        }
      }
      if (bestA < 0) {
        break;
      }
      int x = s2e[bestA];
      int y = s2e[bestB];
      s2e[bestB] = x;
      if (bestReplicate) {
        replicas[x]++;
        replicas[y]--;
      } else {
        s2e[bestA] = y;
      }
    }
    return Placement.of(s2e, workers, spw, experts);
  }

  private static boolean holds(int[] s2e, int worker, int spw, int expert) {
    for (int s = worker * spw; s < (worker + 1) * spw; s++) {
      if (s2e[s] == expert) {
        return true;
      }
    }
    return false;
  }

  private static double peak(double[] perWorker) {
    double max = 0;
    for (double v : perWorker) {
      max = Math.max(max, v);
    }
    return max;
  }

  private static double[] workerTokens(int[] s2e, Placement shape, double[] loads) {
    return workerTokens(
        s2e, shape.replicaCounts(), shape.workerCount(), shape.slotsPerWorker(), loads);
  }

  private static double[] workerTokens(
      int[] s2e, int[] replicas, int workers, int spw, double[] loads) {
    double[] perWorker = new double[workers];
    for (int s = 0; s < s2e.length; s++) {
      perWorker[s / spw] += loads[s2e[s]] / replicas[s2e[s]];
    }
    return perWorker;
  }
}
