package io.moeplan.planner.selector;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.model.SwitchCost;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.policy.Decision;
import io.moeplan.planner.policy.Fixed;
import io.moeplan.planner.policy.GreedyPlacement;
import java.util.ArrayList;
import java.util.List;

/**
 * The online selector (docs/selector.md). For an estimated load it scores the candidates (the
 * current placement, the pool's placements, a fresh greedy placement with sticky ties, which is
 * replicated EPLB-style when there are more slots than experts) with the performance model,
 * improves the best one and the current one by a bounded local search, and applies the switch rule
 * {@code (T_current - T_q) * horizon > switchCost * (1 + margin)}.
 *
 * <p>The search minimises {@code T_q + switchSeconds(current -> q) * (1 + margin) / horizon}, the
 * quantity the switch rule compares, so it prefers cheap moves (inside a node) to expensive ones.
 * Local search moves are swaps of a busiest worker's expert (by compute, by all-to-all, or by
 * migration) with an expert of another worker, and, in replicated layouts, giving a replica of an
 * expert with several replicas to the expert with the largest load per replica; the best move is
 * taken while the objective falls. Deterministic: no randomness, fixed scan orders.
 *
 * <p>Thread-safe: each thread scores with its own evaluator, kept for its next decision of the same
 * shape.
 */
public final class OnlineSelector {
  private static final double REL_TOL = 1e-12;

  /**
   * Local-search steps from the current placement when another start already beats it: enough for
   * cheap local repairs, while the full search budget goes to the better start.
   */
  private static final int STEPS_FROM_CURRENT_WHEN_A_START_WINS = 8;

  private final PerformanceModel model;
  private final SelectorOptions options;
  // each thread's evaluator of the last shape it decided for: reused, a decision allocates little
  private final ThreadLocal<IncrementalEvaluator> evaluators = new ThreadLocal<>();

  /** A selector scoring with {@code model}. */
  public OnlineSelector(PerformanceModel model, SelectorOptions options) {
    this.model = model;
    this.options = options;
  }

  /** The model candidates are scored with. */
  public PerformanceModel model() {
    return model;
  }

  /** The options. */
  public SelectorOptions options() {
    return options;
  }

  /** Keep or switch for the estimated load; pool placements of another shape are ignored. */
  public Decision decide(Placement current, LoadMatrix estimate, List<Placement> pool) {
    return decide(current, estimate, pool, options.horizonIterations());
  }

  /** Keep or switch as {@link #decide(Placement, LoadMatrix, List)} with another horizon. */
  public Decision decide(
      Placement current, LoadMatrix estimate, List<Placement> pool, double horizonIterations) {
    if (!(horizonIterations > 0) || Double.isInfinite(horizonIterations)) {
      throw new IllegalArgumentException(
          "horizonIterations must be finite and > 0, got " + horizonIterations);
    }
    double weight = (1 + options.margin()) / horizonIterations;
    Outcome out = run(current, estimate, pool, weight);
    double currentSeconds = out.currentSeconds;
    if (out.best.sameWorkerSets(current)) {
      return Decision.keep(
          current,
          currentSeconds,
          "current placement is the best found (" + Fixed.of(currentSeconds * 1e3, 3) + " ms)");
    }
    double newSeconds = out.bestSeconds;
    SwitchCost cost = model.switchCost(current, out.best);
    double gain = (currentSeconds - newSeconds) * horizonIterations;
    double price = cost.seconds() * (1 + options.margin());
    if (gain > price) {
      return Decision.switchTo(
          out.best,
          currentSeconds,
          newSeconds,
          cost,
          "gain "
              + Fixed.of((currentSeconds - newSeconds) * 1e3, 3)
              + " ms/iter x "
              + Fixed.of(horizonIterations, 0)
              + " iter = "
              + Fixed.of(gain * 1e3, 3)
              + " ms pays migration "
              + Fixed.of(cost.seconds() * 1e3, 3)
              + " ms x "
              + Fixed.of(1 + options.margin(), 2));
    }
    return Decision.keep(
        current,
        currentSeconds,
        newSeconds,
        "gain "
            + Fixed.of(gain * 1e3, 3)
            + " ms over the horizon does not pay migration "
            + Fixed.of(cost.seconds() * 1e3, 3)
            + " ms x "
            + Fixed.of(1 + options.margin(), 2));
  }

  /**
   * The best placement the search finds for {@code load}, with switch seconds from {@code current}
   * weighted by {@code migrationWeight} in the objective (0: switch cost ignored, as the hindsight
   * oracle does).
   */
  public Placement search(
      Placement current, LoadMatrix load, List<Placement> pool, double migrationWeight) {
    return run(current, load, pool, migrationWeight).best;
  }

  private record Outcome(Placement best, double bestSeconds, double currentSeconds) {}

  private Outcome run(
      Placement current, LoadMatrix load, List<Placement> pool, double migrationWeight) {
    int workers = current.workerCount();
    int spw = current.slotsPerWorker();
    IncrementalEvaluator ev = evaluator(workers, spw, current.expertCount());
    ev.reset(load, current, migrationWeight);
    try {
      return searchWith(ev, current, load, pool, workers, spw);
    } finally {
      // the evaluator stays with the thread; the load need not
      ev.release();
    }
  }

  private Outcome searchWith(
      IncrementalEvaluator ev,
      Placement current,
      LoadMatrix load,
      List<Placement> pool,
      int workers,
      int spw) {
    ev.load(current);
    ev.save(0);
    double currentScore = ev.objective();
    double currentSeconds = ev.lastLayerSeconds();
    List<Placement> starts = new ArrayList<>();
    starts.add(GreedyPlacement.place(load.expertTotals(), current));
    for (Placement p : pool) {
      if (p.workerCount() == workers
          && p.slotsPerWorker() == spw
          && p.expertCount() == current.expertCount()) {
        starts.add(p);
      }
    }
    // a start is worth a search only when it already beats the current placement; the lower
    // bound skips most pool placements without loading them
    Placement bestStart = null;
    double bestStartScore = currentScore;
    for (Placement start : starts) {
      if (ev.lowerBound(start, bestStartScore) >= bestStartScore) {
        continue;
      }
      ev.load(start);
      double j = ev.objective();
      if (j < bestStartScore) {
        bestStartScore = j;
        bestStart = start;
        ev.save(1);
      }
    }
    int[] best = null;
    double bestScore = currentScore;
    double bestSeconds = currentSeconds;
    ev.restore(0);
    int currentSteps =
        bestStart == null
            ? options.maxSearchSteps()
            : Math.min(options.maxSearchSteps(), STEPS_FROM_CURRENT_WHEN_A_START_WINS);
    double fromCurrent = localSearch(ev, currentSteps);
    if (fromCurrent < bestScore - REL_TOL * Math.abs(bestScore)) {
      bestScore = fromCurrent;
      bestSeconds = ev.lastLayerSeconds();
      best = ev.slotToExpert();
    }
    if (bestStart != null) {
      ev.restore(1);
      double fromStart = localSearch(ev, options.maxSearchSteps());
      if (fromStart < bestScore - REL_TOL * Math.abs(bestScore)) {
        bestScore = fromStart;
        bestSeconds = ev.lastLayerSeconds();
        best = ev.slotToExpert();
      }
    }
    if (best == null) {
      return new Outcome(current, currentSeconds, currentSeconds);
    }
    return new Outcome(
        Placement.of(best, workers, spw, current.expertCount()), bestSeconds, currentSeconds);
  }

  private IncrementalEvaluator evaluator(int workers, int spw, int experts) {
    IncrementalEvaluator ev = evaluators.get();
    if (ev == null || !ev.fits(workers, spw, experts)) {
      ev = new IncrementalEvaluator(model, workers, spw, experts);
      evaluators.set(ev);
    }
    return ev;
  }

  /** Improves the evaluator's state while the objective falls; returns the final objective. */
  private double localSearch(IncrementalEvaluator ev, int maxSteps) {
    int workers = ev.workers();
    int spw = ev.slotsPerWorker();
    boolean replicated = workers * spw > ev.experts();
    int[] busy = new int[3];
    double cur = ev.beginStep();
    double curSecondary = ev.lastSecondary();
    for (int step = 0; step < maxSteps; step++) {
      int busyCount = busiestWorkers(ev, busy);
      int[] partners = partners(ev);
      double bestJ = cur;
      double bestSecondary = curSecondary;
      int bestX = -1;
      int bestY = -1;
      int bestF = -1;
      for (int bi = 0; bi < busyCount; bi++) {
        int a = busy[bi];
        for (int i = 0; i < spw; i++) {
          int x = a * spw + i;
          int e = ev.expertAt(x);
          for (int b : partners) {
            if (b == a) {
              continue;
            }
            for (int k = 0; k < spw; k++) {
              int y = b * spw + k;
              int f = ev.expertAt(y);
              if (f == e || (replicated && (ev.workerHolds(b, e) || ev.workerHolds(a, f)))) {
                continue;
              }
              double j = ev.evaluateSwap(x, y, bestJ + REL_TOL * Math.abs(bestJ));
              double sec = ev.lastSecondary();
              if (better(j, sec, bestJ, bestSecondary)) {
                bestJ = j;
                bestSecondary = sec;
                bestX = x;
                bestY = y;
              }
            }
          }
        }
      }
      if (replicated) {
        int hot = hottestPerReplica(ev);
        for (int x = 0; x < workers * spw; x++) {
          int e = ev.expertAt(x);
          if (e == hot || ev.replicas(e) < 2 || ev.workerHolds(x / spw, hot)) {
            continue;
          }
          ev.replace(x, hot);
          double j = ev.objective();
          double sec = ev.lastSecondary();
          ev.replace(x, e);
          if (better(j, sec, bestJ, bestSecondary)) {
            bestJ = j;
            bestSecondary = sec;
            bestX = x;
            bestY = -1;
            bestF = hot;
          }
        }
      }
      if (bestX < 0) {
        break;
      }
      if (bestY < 0) {
        ev.replace(bestX, bestF);
      } else {
        ev.swap(bestX, bestY);
      }
      cur = ev.beginStep();
      curSecondary = ev.lastSecondary();
    }
    return ev.objective();
  }

  private static boolean better(double j, double sec, double bestJ, double bestSec) {
    double tol = REL_TOL * Math.abs(bestJ);
    if (j < bestJ - tol) {
      return true;
    }
    return j <= bestJ + tol && sec < bestSec * (1 - 1e-9);
  }

  /** The busiest workers by compute, all-to-all and migration; valid after beginStep. */
  private static int busiestWorkers(IncrementalEvaluator ev, int[] out) {
    int c = ev.busiestByCompute();
    int a = ev.busiestByAllToAll();
    int m = ev.busiestByMigration();
    int n = 0;
    out[n++] = c;
    if (a != c) {
      out[n++] = a;
    }
    if (ev.migrationWeight() > 0 && ev.migrationSeconds(m) > 0 && m != c && m != a) {
      out[n++] = m;
    }
    return n;
  }

  private int[] partners(IncrementalEvaluator ev) {
    int workers = ev.workers();
    int limit = options.partnerWorkers();
    if (workers <= limit) {
      int[] all = new int[workers];
      for (int w = 0; w < workers; w++) {
        all[w] = w;
      }
      return all;
    }
    int half = Math.max(1, limit / 2);
    int[] byCompute = lowest(ev, half, true);
    int[] byComm = lowest(ev, limit - half, false);
    boolean[] chosen = new boolean[workers];
    int n = 0;
    int[] out = new int[limit];
    for (int w : byCompute) {
      if (!chosen[w]) {
        chosen[w] = true;
        out[n++] = w;
      }
    }
    for (int w : byComm) {
      if (!chosen[w]) {
        chosen[w] = true;
        out[n++] = w;
      }
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /** The {@code count} workers with the lowest compute (or all-to-all), lowest index on ties. */
  private static int[] lowest(IncrementalEvaluator ev, int count, boolean compute) {
    int workers = ev.workers();
    int[] out = new int[Math.max(0, count)];
    double[] val = new double[out.length];
    int n = 0;
    for (int w = 0; w < workers; w++) {
      double v = compute ? ev.computeSeconds(w) : ev.allToAllSeconds(w);
      if (n < out.length) {
        int i = n++;
        while (i > 0 && val[i - 1] > v) {
          val[i] = val[i - 1];
          out[i] = out[i - 1];
          i--;
        }
        val[i] = v;
        out[i] = w;
      } else if (out.length > 0 && v < val[out.length - 1]) {
        int i = out.length - 1;
        while (i > 0 && val[i - 1] > v) {
          val[i] = val[i - 1];
          out[i] = out[i - 1];
          i--;
        }
        val[i] = v;
        out[i] = w;
      }
    }
    return java.util.Arrays.copyOf(out, n);
  }

  private static int hottestPerReplica(IncrementalEvaluator ev) {
    int best = 0;
    for (int e = 1; e < ev.experts(); e++) {
      if (ev.expertLoad(e) / ev.replicas(e) > ev.expertLoad(best) / ev.replicas(best)) {
        best = e;
      }
    }
    return best;
  }
}
