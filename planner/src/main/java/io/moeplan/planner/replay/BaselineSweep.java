package io.moeplan.planner.replay;

import io.moeplan.planner.policy.EplbPolicy;
import io.moeplan.planner.policy.FlexMoePolicy;
import io.moeplan.planner.policy.SmartMoePolicy;
import io.moeplan.planner.policy.StaticPolicy;
import io.moeplan.planner.selector.SelectorPolicy;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The grid {@code moeplan replay --tune} sweeps, and how the best setting of each baseline is
 * picked (docs/selector.md, baselines).
 *
 * <p>Every setting of the grid is one policy of a single replay (one pass over the trace), beside
 * {@code static}, the {@code selector} and the {@code oracle}. A baseline's best setting is the one
 * with the lowest modelled time per iteration over all layers, switch costs paid included; ties go
 * to the earlier setting of the grid.
 */
public final class BaselineSweep {
  /** EPLB rebalance intervals, iterations (rounded to a multiple of the window iterations F). */
  public static final List<Integer> EPLB_INTERVALS = List.of(10, 20, 50, 100, 200, 500, 1000, 2500);

  /** EPLB load windows, iterations (rounded to a multiple of F). */
  public static final List<Integer> EPLB_WINDOWS = List.of(10, 50, 100, 500, 1000);

  /** SmartMoE thresholds: the fraction by which the current largest count must exceed greedy. */
  public static final List<Double> SMARTMOE_THRESHOLDS =
      List.of(0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5);

  /** FlexMoE-style thresholds on the balance ratio (max over mean per-worker tokens). */
  public static final List<Double> FLEXMOE_THRESHOLDS = List.of(1.0, 1.05, 1.1, 1.2, 1.3, 1.5, 2.0);

  /** The baselines the sweep tunes, in report order. */
  public static final List<String> TUNED =
      List.of(SmartMoePolicy.NAME, EplbPolicy.NAME, FlexMoePolicy.NAME);

  private BaselineSweep() {}

  /** The settings of the grid as policy specs, baseline by baseline, for window iterations F. */
  public static List<String> grid(int windowIterations) {
    List<String> out = new ArrayList<>();
    for (double t : SMARTMOE_THRESHOLDS) {
      out.add(SmartMoePolicy.NAME + "(threshold=" + PolicySpec.format(t) + ")");
    }
    for (int interval : multiples(EPLB_INTERVALS, windowIterations)) {
      for (int window : multiples(EPLB_WINDOWS, windowIterations)) {
        out.add(EplbPolicy.NAME + "(interval=" + interval + ",window=" + window + ")");
      }
    }
    for (double t : FLEXMOE_THRESHOLDS) {
      out.add(FlexMoePolicy.NAME + "(threshold=" + PolicySpec.format(t) + ")");
    }
    return out;
  }

  /** Every policy of a sweep replay: static, the grid, the selector and the oracle. */
  public static List<String> policies(int windowIterations) {
    List<String> out = new ArrayList<>();
    out.add(StaticPolicy.NAME);
    out.addAll(grid(windowIterations));
    out.add(SelectorPolicy.NAME);
    out.add(ReplayEvaluator.ORACLE);
    return out;
  }

  /** Each value rounded to the nearest positive multiple of {@code f}, duplicates dropped. */
  static List<Integer> multiples(List<Integer> values, int f) {
    Set<Integer> out = new LinkedHashSet<>();
    for (int v : values) {
      out.add((int) Math.max(f, Math.round(v / (double) f) * (long) f));
    }
    return List.copyOf(out);
  }

  /**
   * The best setting of one baseline.
   *
   * @param baseline the baseline's name, e.g. {@code eplb}
   * @param best its setting with the lowest modelled time over all layers
   * @param settings settings of it the replay tried
   */
  public record Best(String baseline, PolicySummary best, int settings) {}

  /**
   * The outcome of a sweep.
   *
   * @param replay the replay of every policy (overall and per layer)
   * @param best the best setting of each tuned baseline present in the replay, in {@link #TUNED}
   *     order
   */
  public record Result(ReplayResult replay, List<Best> best) {
    /** Copies the list. */
    public Result {
      best = List.copyOf(best);
    }

    /** The best setting of {@code baseline}. */
    public Best best(String baseline) {
      return best.stream()
          .filter(b -> b.baseline().equals(baseline))
          .findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no " + baseline + " in the sweep"));
    }
  }

  /** Picks each tuned baseline's best setting from {@code replay}. */
  public static Result pick(ReplayResult replay) {
    int f = replay.windowIterations();
    List<Best> best = new ArrayList<>();
    for (String baseline : TUNED) {
      PolicySummary winner = null;
      int settings = 0;
      for (PolicySummary p : replay.overall()) {
        if (!PolicySpec.parse(p.policy(), f).name().equals(baseline)) {
          continue;
        }
        settings++;
        if (winner == null || p.modelledMsPerIteration() < winner.modelledMsPerIteration()) {
          winner = p;
        }
      }
      if (winner != null) {
        best.add(new Best(baseline, winner, settings));
      }
    }
    return new Result(replay, best);
  }
}
