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
 * expert with several replicas to the expert with the largest load per replica, plus two compound
 * moves for the most loaded replicated experts: moving all of an expert's replicas on one node to
 * another node, and removing all of them from one node (docs/selector.md); the best move is taken
 * while the objective falls. Deterministic: no randomness, fixed scan orders.
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

  /** Experts per step whose replicas the group moves and evacuations re-pack. */
  private static final int COMPOUND_MOVE_EXPERTS = 4;

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

  /**
   * Runs only the local search from {@code start} for {@code load}, with switch seconds from {@code
   * start} weighted by {@code migrationWeight}; for tests of the moves.
   */
  Placement improve(Placement start, LoadMatrix load, double migrationWeight) {
    IncrementalEvaluator ev =
        evaluator(start.workerCount(), start.slotsPerWorker(), start.expertCount());
    ev.reset(load, start, migrationWeight);
    try {
      ev.load(start);
      localSearch(ev, options.maxSearchSteps());
      return Placement.of(
          ev.slotToExpert(), start.workerCount(), start.slotsPerWorker(), start.expertCount());
    } finally {
      ev.release();
    }
  }

  /** Improves the evaluator's state while the objective falls; returns the final objective. */
  private double localSearch(IncrementalEvaluator ev, int maxSteps) {
    int workers = ev.workers();
    int spw = ev.slotsPerWorker();
    boolean replicated = workers * spw > ev.experts();
    int[] busy = new int[3];
    Move best = new Move(workers * spw);
    Move trial = replicated ? new Move(workers * spw) : null;
    int[] hotReplicated = new int[COMPOUND_MOVE_EXPERTS];
    int[] donorSlot = replicated ? new int[ev.experts()] : null;
    double cur = ev.beginStep();
    double curSecondary = ev.lastSecondary();
    for (int step = 0; step < maxSteps; step++) {
      best.clear(cur, curSecondary);
      int busyCount = busiestWorkers(ev, busy);
      int[] partners = partners(ev);
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
              double j = ev.evaluateSwap(x, y, best.objective + REL_TOL * Math.abs(best.objective));
              double sec = ev.lastSecondary();
              if (better(j, sec, best.objective, best.secondary)) {
                best.setSingle(true, x, y, j, sec);
              }
            }
          }
        }
      }
      if (replicated) {
        int hot = hottestPerReplica(ev);
        donorSlots(ev, hot, donorSlot);
        for (int e = 0; e < ev.experts(); e++) {
          int x = donorSlot[e];
          if (x < 0) {
            continue;
          }
          double j = ev.evaluateReplace(x, hot);
          double sec = ev.lastSecondary();
          if (better(j, sec, best.objective, best.secondary)) {
            best.setSingle(false, x, hot, j, sec);
          }
        }
        int hotCount = hottestReplicated(ev, hotReplicated);
        groupMoves(ev, hotReplicated, hotCount, best, trial);
        evacuations(ev, hotReplicated, hotCount, best, trial);
      }
      if (best.count == 0) {
        break;
      }
      best.apply(ev);
      cur = ev.beginStep();
      curSecondary = ev.lastSecondary();
    }
    return ev.objective();
  }

  /**
   * A move of the local search: {@code count} swaps of slot pairs, or {@code count} replacements of
   * a slot's expert, applied in order; with its objective and secondary score.
   */
  private static final class Move {
    final int[] slots;
    final int[] targets;
    int count;
    boolean swaps;
    double objective;
    double secondary;

    Move(int capacity) {
      slots = new int[capacity];
      targets = new int[capacity];
    }

    void clear(double baseObjective, double baseSecondary) {
      count = 0;
      objective = baseObjective;
      secondary = baseSecondary;
    }

    /** One swap of {@code slot} with slot {@code target}, or one replacement by expert target. */
    void setSingle(boolean swap, int slot, int target, double j, double sec) {
      slots[0] = slot;
      targets[0] = target;
      count = 1;
      swaps = swap;
      objective = j;
      secondary = sec;
    }

    void copyFrom(Move other, double j, double sec) {
      System.arraycopy(other.slots, 0, slots, 0, other.count);
      System.arraycopy(other.targets, 0, targets, 0, other.count);
      count = other.count;
      swaps = other.swaps;
      objective = j;
      secondary = sec;
    }

    /** Applies the move to the evaluator's state. */
    void apply(IncrementalEvaluator ev) {
      for (int i = 0; i < count; i++) {
        if (swaps) {
          ev.swap(slots[i], targets[i]);
        } else {
          ev.replace(slots[i], targets[i]);
        }
      }
    }

    /** Undoes {@link #apply}, given the experts the replaced slots held before. */
    void revert(IncrementalEvaluator ev, int replacedExpert) {
      for (int i = count - 1; i >= 0; i--) {
        if (swaps) {
          ev.swap(slots[i], targets[i]);
        } else {
          ev.replace(slots[i], replacedExpert);
        }
      }
    }

    /** Scores the move by applying it, evaluating and undoing it; keeps it in best if better. */
    void tryAgainst(IncrementalEvaluator ev, Move best, int replacedExpert) {
      apply(ev);
      double j = ev.objective();
      double sec = ev.lastSecondary();
      revert(ev, replacedExpert);
      if (better(j, sec, best.objective, best.secondary)) {
        best.copyFrom(this, j, sec);
      }
    }
  }

  /**
   * Group moves: every replica of an expert on one node moves to another node in one step. Moving
   * them one at a time would first split the expert across nodes and pay the inter-node gradient
   * sync, so a one-slot search does not take that path. Each replica swaps with the coldest expert
   * (by load per replica) of the least busy worker of the target node holding neither.
   */
  private static void groupMoves(
      IncrementalEvaluator ev, int[] candidates, int count, Move best, Move trial) {
    for (int c = 0; c < count; c++) {
      int expert = candidates[c];
      for (int from = 0; from < ev.nodes(); from++) {
        if (ev.replicasOnNode(from, expert) == 0) {
          continue;
        }
        for (int to = 0; to < ev.nodes(); to++) {
          if (to != from && planGroupMove(ev, expert, from, to, trial)) {
            trial.tryAgainst(ev, best, -1);
          }
        }
      }
    }
  }

  /**
   * Plans the group move of {@code expert}'s replicas on {@code fromNode} to {@code toNode} into
   * {@code move}; false when a replica finds no partner.
   */
  private static boolean planGroupMove(
      IncrementalEvaluator ev, int expert, int fromNode, int toNode, Move move) {
    int spw = ev.slotsPerWorker();
    int gpn = ev.gpusPerNode();
    int sourceEnd = Math.min(ev.workers(), (fromNode + 1) * gpn);
    int targetFirst = toNode * gpn;
    int targetEnd = Math.min(ev.workers(), targetFirst + gpn);
    move.count = 0;
    move.swaps = true;
    for (int a = fromNode * gpn; a < sourceEnd; a++) {
      int x = slotOf(ev, a, expert);
      if (x < 0) {
        continue;
      }
      int partner = -1;
      double partnerWorkerSeconds = Double.POSITIVE_INFINITY;
      double partnerPerReplica = Double.POSITIVE_INFINITY;
      for (int b = targetFirst; b < targetEnd; b++) {
        double seconds = ev.computeSeconds(b);
        if (seconds > partnerWorkerSeconds
            || ev.workerHolds(b, expert)
            || takenAsTarget(move, b, spw)) {
          continue;
        }
        for (int y = b * spw; y < (b + 1) * spw; y++) {
          int f = ev.expertAt(y);
          if (ev.workerHolds(a, f)) {
            continue;
          }
          double perReplica = ev.expertLoad(f) / ev.replicas(f);
          if (seconds < partnerWorkerSeconds || perReplica < partnerPerReplica) {
            partnerWorkerSeconds = seconds;
            partnerPerReplica = perReplica;
            partner = y;
          }
        }
      }
      if (partner < 0) {
        return false;
      }
      move.slots[move.count] = x;
      move.targets[move.count] = partner;
      move.count++;
    }
    return move.count > 0;
  }

  /**
   * Evacuations: every replica of an expert on one node (while it keeps replicas on another) goes,
   * in one step, to the experts with the largest load per replica. One at a time, the first ones
   * would leave the expert's node split without removing the inter-node sync, which only falls once
   * its last replica there is gone.
   */
  private static void evacuations(
      IncrementalEvaluator ev, int[] candidates, int count, Move best, Move trial) {
    int spw = ev.slotsPerWorker();
    int gpn = ev.gpusPerNode();
    for (int c = 0; c < count; c++) {
      int expert = candidates[c];
      int replicas = ev.replicas(expert);
      for (int node = 0; node < ev.nodes(); node++) {
        int onNode = ev.replicasOnNode(node, expert);
        if (onNode == 0 || onNode == replicas) {
          continue;
        }
        trial.count = 0;
        trial.swaps = false;
        int end = Math.min(ev.workers(), (node + 1) * gpn) * spw;
        for (int x = node * gpn * spw; x < end && trial.count < onNode; x++) {
          if (ev.expertAt(x) != expert) {
            continue;
          }
          int target = hottestPerReplicaNotOn(ev, x / spw, expert);
          if (target < 0) {
            break;
          }
          // applied as planned: the next replica's target sees this one's replica counts
          ev.replace(x, target);
          trial.slots[trial.count] = x;
          trial.targets[trial.count] = target;
          trial.count++;
        }
        boolean complete = trial.count == onNode;
        double j = ev.objective();
        double sec = ev.lastSecondary();
        trial.revert(ev, expert);
        if (complete && better(j, sec, best.objective, best.secondary)) {
          best.copyFrom(trial, j, sec);
        }
      }
    }
  }

  /**
   * The experts with at least two replicas and the most tokens, most first (lowest index on ties),
   * at most {@code out.length}; returns how many. The compound moves are tried for these only: they
   * are the experts whose replicas are worth re-packing, and the bound keeps a step's cost
   * independent of how many experts are replicated.
   */
  private static int hottestReplicated(IncrementalEvaluator ev, int[] out) {
    int n = 0;
    for (int e = 0; e < ev.experts(); e++) {
      if (ev.replicas(e) < 2) {
        continue;
      }
      double load = ev.expertLoad(e);
      if (n == out.length && load <= ev.expertLoad(out[n - 1])) {
        continue;
      }
      int i = n < out.length ? n++ : n - 1;
      while (i > 0 && ev.expertLoad(out[i - 1]) < load) {
        out[i] = out[i - 1];
        i--;
      }
      out[i] = e;
    }
    return n;
  }

  /**
   * For each expert with at least two replicas other than {@code hot}, the slot a replica move
   * would give to {@code hot}: its replica on the worker with the least compute among those not
   * holding {@code hot} (lowest slot on ties); -1 for the other experts. One slot per donor keeps a
   * step's replica moves to one per replicated expert.
   */
  private static void donorSlots(IncrementalEvaluator ev, int hot, int[] out) {
    java.util.Arrays.fill(out, -1);
    int spw = ev.slotsPerWorker();
    for (int x = 0; x < ev.workers() * spw; x++) {
      int e = ev.expertAt(x);
      if (e == hot || ev.replicas(e) < 2 || ev.workerHolds(x / spw, hot)) {
        continue;
      }
      if (out[e] < 0 || ev.computeSeconds(x / spw) < ev.computeSeconds(out[e] / spw)) {
        out[e] = x;
      }
    }
  }

  /** The slot of {@code worker} holding {@code expert}, -1 if none. */
  private static int slotOf(IncrementalEvaluator ev, int worker, int expert) {
    int spw = ev.slotsPerWorker();
    for (int slot = worker * spw; slot < (worker + 1) * spw; slot++) {
      if (ev.expertAt(slot) == expert) {
        return slot;
      }
    }
    return -1;
  }

  /** Whether a swap already planned in {@code move} targets a slot of {@code worker}. */
  private static boolean takenAsTarget(Move move, int worker, int spw) {
    for (int i = 0; i < move.count; i++) {
      if (move.targets[i] / spw == worker) {
        return true;
      }
    }
    return false;
  }

  /** The expert other than {@code except} with the largest load per replica not on worker. */
  private static int hottestPerReplicaNotOn(IncrementalEvaluator ev, int worker, int except) {
    int best = -1;
    double bestLoad = -1;
    for (int e = 0; e < ev.experts(); e++) {
      if (e != except && !ev.workerHolds(worker, e)) {
        double perReplica = ev.expertLoad(e) / ev.replicas(e);
        if (perReplica > bestLoad) {
          bestLoad = perReplica;
          best = e;
        }
      }
    }
    return best;
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
