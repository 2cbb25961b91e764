package io.moeplan.executor.decisions;

import io.moeplan.planner.placement.Placement;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.JobIds;
import io.moeplan.schemas.PlanDecision;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * The executor's side of consistent switching for one job: takes decisions as they arrive (dropping
 * redeliveries by decision id), and at each window's effective iteration waits, bounded, for that
 * window's decision of every layer.
 *
 * <p>Windows and effective iterations are those of {@link DecisionWindows}: window {@code w} holds
 * iterations {@code [wF, wF + F - 1]} and its decisions take effect at {@code wF + F - 1 + lead},
 * before that iteration runs. A decision whose placement differs from the one in force becomes a
 * {@link LayerSwitch} (SWITCH, or KEEP repairing a missed switch); a layer whose decision has not
 * arrived by the bound keeps its placement and its plan version, and the decision, when it comes,
 * is counted late and not applied: the next window's decision carries the placement to converge to.
 * The plan version of a layer is the version of the decision whose placement it runs (0 for the
 * pool's first plan).
 *
 * <p>A decision names the job's window length and lead (since PlanDecision v2). One that names
 * others than this follower's, or whose effective iteration is not its window's under them, is a
 * timing mismatch: it is refused, counted ({@link #timingMismatches()}) and the first is described
 * ({@link #timingError()}); its layer keeps its placement as if the decision never came. Refusing
 * is what guarantees that no placement changes at an iteration other than its decision's effective
 * iteration: this follower waits, resolves and resumes windows on its own window and lead, so it
 * would apply such a decision at the wrong iteration, and the fix is a restart with the job's
 * settings, which the description names. While the newest decision of the job is such a one,
 * effective iterations do not wait for decisions, as none the job sends fits this follower's
 * windows. A decision written before v2 names neither; its effective iteration is checked against
 * this follower's window and lead. A decision naming other workers or slots per worker than its
 * layer runs is rejected ({@link #rejected()}). Not thread-safe.
 */
public final class DecisionFollower {

  private static final long FORGET_AFTER_WINDOWS = 16;

  private final String jobId;
  private final int windowIterations;
  private final int leadIterations;
  private final LongSupplier nanoClock;
  private final Placement[] current;
  private final long[] versions;
  private final List<TreeMap<Long, PlanDecision>> received;
  // ids seen, by window; windows far behind the resolved one are forgotten (their redeliveries
  // then count as late instead of duplicate, and are dropped all the same)
  private final TreeMap<Long, Set<String>> seen = new TreeMap<>();
  private long resolvedWindow = -1;
  private long decisions;
  private long duplicates;
  private long late;
  private long rejected;
  private long timeouts;
  private long switchesApplied;
  private long timingMismatches;
  private String timingError;
  // whether the newest decision of the job was refused for its timing: then waiting at an effective
  // iteration would only stall it, as the job's decisions do not fit this follower's windows
  private boolean newestMistimed;

  /**
   * A follower for {@code jobId} whose layers start on {@code initial}; {@code nanoClock} is the
   * clock of the waiting bound ({@code System::nanoTime} outside tests).
   */
  public DecisionFollower(
      String jobId,
      int windowIterations,
      int leadIterations,
      Placement[] initial,
      LongSupplier nanoClock) {
    if (windowIterations < 1 || leadIterations < 0) {
      throw new IllegalArgumentException(
          DecisionWindows.WINDOW_ITERATIONS_FLAG
              + " must be >= 1 and "
              + DecisionWindows.LEAD_ITERATIONS_FLAG
              + " >= 0, got "
              + windowIterations
              + ", "
              + leadIterations);
    }
    this.jobId = JobIds.requireValid(jobId);
    this.windowIterations = windowIterations;
    this.leadIterations = leadIterations;
    this.nanoClock = nanoClock;
    this.current = initial.clone();
    this.versions = new long[initial.length];
    this.received = new ArrayList<>();
    for (int layer = 0; layer < initial.length; layer++) {
      received.add(new TreeMap<>());
    }
  }

  /**
   * Takes one decision; returns false (and counts why) for another job's, a redelivery of an id
   * already taken, one whose timing does not fit this follower's windows, one for an unknown layer
   * or whose placement has other workers, slots or experts than the layer runs, or one whose window
   * is resolved.
   */
  public boolean offer(PlanDecision decision) {
    if (!decision.getJobId().equals(jobId)) {
      return false;
    }
    if (!seen.computeIfAbsent(decision.getWindow(), w -> new HashSet<>())
        .add(decision.getDecisionId())) {
      duplicates++;
      return false;
    }
    String mistimed = timingMismatch(decision);
    newestMistimed = mistimed != null;
    if (mistimed != null) {
      timingMismatches++;
      if (timingError == null) {
        timingError = mistimed;
      }
      return false;
    }
    int layer = decision.getLayer();
    if (layer < 0 || layer >= current.length || placementOf(decision, current[layer]) == null) {
      rejected++;
      return false;
    }
    decisions++;
    if (decision.getWindow() <= resolvedWindow) {
      late++;
      return false;
    }
    received.get(layer).put(decision.getWindow(), decision);
    return true;
  }

  /**
   * Before {@code iteration} runs: takes what arrived and, if a window's decisions take effect at
   * this iteration, waits up to {@code bound} for the missing ones, then returns the changes to
   * apply. The caller applies them before running the iteration.
   */
  public StepOutcome step(long iteration, DecisionSource source, Duration bound) {
    drain(source, Duration.ZERO);
    long window = DecisionWindows.windowEffectiveAt(iteration, windowIterations, leadIterations);
    if (window < 0 || window <= resolvedWindow) {
      return StepOutcome.NONE;
    }
    awaitWindow(window, source, bound);
    List<LayerSwitch> switches = new ArrayList<>();
    List<Integer> timedOut = new ArrayList<>();
    for (int layer = 0; layer < current.length; layer++) {
      PlanDecision decision = received.get(layer).get(window);
      if (decision == null) {
        timeouts++;
        timedOut.add(layer);
        continue;
      }
      LayerSwitch change = adopt(layer, iteration, decision);
      if (change != null) {
        switches.add(change);
      }
    }
    resolve(window);
    return new StepOutcome(window, switches, timedOut);
  }

  /**
   * For an executor starting at {@code startIteration} (a restart): waits up to {@code bound} for
   * the decisions of the last window that took effect before it, then adopts for every layer the
   * newest decision received among those windows (the compacted topic keeps the latest per layer).
   * Returns the placements adopted, as changes from the initial ones.
   */
  public List<LayerSwitch> resume(long startIteration, DecisionSource source, Duration bound) {
    drain(source, Duration.ZERO);
    long last = lastWindowEffectiveBefore(startIteration);
    if (last < 0) {
      return List.of();
    }
    awaitWindow(last, source, bound);
    List<LayerSwitch> adopted = new ArrayList<>();
    for (int layer = 0; layer < current.length; layer++) {
      Map.Entry<Long, PlanDecision> newest = received.get(layer).floorEntry(last);
      if (newest != null) {
        LayerSwitch change = adopt(layer, startIteration, newest.getValue());
        if (change != null) {
          adopted.add(change);
        }
      }
    }
    resolve(last);
    return adopted;
  }

  /** The newest window whose decisions took effect before {@code iteration}, or -1 if none did. */
  private long lastWindowEffectiveBefore(long iteration) {
    long first = DecisionWindows.effectiveIteration(0, windowIterations, leadIterations);
    for (long i = iteration - 1; i >= first; i--) {
      long window = DecisionWindows.windowEffectiveAt(i, windowIterations, leadIterations);
      if (window >= 0) {
        return window;
      }
    }
    return -1;
  }

  /**
   * Why {@code decision} must not be applied on this follower's windows, naming both timings, or
   * null when its window length, lead and effective iteration are this follower's.
   */
  private String timingMismatch(PlanDecision decision) {
    Integer jobWindow = decision.getWindowIterations();
    Integer jobLead = decision.getLeadIterations();
    if ((jobWindow != null && jobWindow != windowIterations)
        || (jobLead != null && jobLead != leadIterations)) {
      return String.format(
          Locale.ROOT,
          "decisions of job '%s' take effect with %s %s %s %s, this executor runs %d and %d:"
              + " restart it with the job's settings",
          jobId,
          DecisionWindows.WINDOW_ITERATIONS_FLAG,
          jobWindow == null ? "(not given)" : jobWindow,
          DecisionWindows.LEAD_ITERATIONS_FLAG,
          jobLead == null ? "(not given)" : jobLead,
          windowIterations,
          leadIterations);
    }
    long expected =
        DecisionWindows.effectiveIteration(decision.getWindow(), windowIterations, leadIterations);
    if (decision.getEffectiveIteration() == expected) {
      return null;
    }
    if (jobWindow != null && jobLead != null) {
      return String.format(
          Locale.ROOT,
          "decision %s takes effect at iteration %d, but its window %d with its own %s %d %s %d"
              + " takes effect at iteration %d: not applied",
          decision.getDecisionId(),
          decision.getEffectiveIteration(),
          decision.getWindow(),
          DecisionWindows.WINDOW_ITERATIONS_FLAG,
          jobWindow,
          DecisionWindows.LEAD_ITERATIONS_FLAG,
          jobLead,
          expected);
    }
    return String.format(
        Locale.ROOT,
        "decision %s takes effect at iteration %d, this executor runs %s %d %s %d and would apply"
            + " window %d at iteration %d: restart it with the job's settings",
        decision.getDecisionId(),
        decision.getEffectiveIteration(),
        DecisionWindows.WINDOW_ITERATIONS_FLAG,
        windowIterations,
        DecisionWindows.LEAD_ITERATIONS_FLAG,
        leadIterations,
        decision.getWindow(),
        expected);
  }

  private void awaitWindow(long window, DecisionSource source, Duration bound) {
    long deadline = nanoClock.getAsLong() + bound.toNanos();
    while (!complete(window) && !newestMistimed) {
      long left = deadline - nanoClock.getAsLong();
      if (left <= 0) {
        return;
      }
      drain(source, Duration.ofNanos(Math.min(left, Duration.ofMillis(100).toNanos())));
    }
  }

  /**
   * Takes the decisions that arrive within {@code wait} and returns once it has passed: how an
   * executor spends the time between paced iterations, so decisions are taken as they arrive.
   */
  public void receive(DecisionSource source, Duration wait) {
    long deadline = nanoClock.getAsLong() + wait.toNanos();
    for (long left = wait.toNanos(); left > 0; left = deadline - nanoClock.getAsLong()) {
      drain(source, Duration.ofNanos(left));
    }
  }

  private void drain(DecisionSource source, Duration wait) {
    for (PlanDecision decision : source.poll(wait)) {
      offer(decision);
    }
  }

  private boolean complete(long window) {
    for (TreeMap<Long, PlanDecision> layer : received) {
      if (!layer.containsKey(window)) {
        return false;
      }
    }
    return true;
  }

  private LayerSwitch adopt(int layer, long iteration, PlanDecision decision) {
    Placement from = current[layer];
    Placement target = placementOf(decision, from);
    versions[layer] = decision.getPlanVersion();
    if (target.equals(from)) {
      return null;
    }
    current[layer] = target;
    switchesApplied++;
    return new LayerSwitch(
        layer,
        iteration,
        from,
        target,
        decision.getPlanVersion(),
        decision.getDecisionId(),
        decision.getAction() != DecisionAction.SWITCH);
  }

  private void resolve(long window) {
    resolvedWindow = window;
    seen.headMap(window - FORGET_AFTER_WINDOWS).clear();
    for (TreeMap<Long, PlanDecision> layer : received) {
      layer.headMap(window, true).clear();
    }
  }

  /**
   * The decision's placement on the workers, slots and experts of {@code running}, or null when it
   * is not one (other workers or slots per worker named, other slots, an unknown expert, an expert
   * without a slot).
   */
  private static Placement placementOf(PlanDecision decision, Placement running) {
    Integer workers = decision.getWorkers();
    Integer slotsPerWorker = decision.getSlotsPerWorker();
    if ((workers != null && workers != running.workerCount())
        || (slotsPerWorker != null && slotsPerWorker != running.slotsPerWorker())) {
      return null;
    }
    List<Integer> slots = decision.getSlotToExpert();
    if (slots.size() != running.slotCount()) {
      return null;
    }
    int[] experts = new int[slots.size()];
    for (int i = 0; i < experts.length; i++) {
      experts[i] = slots.get(i);
    }
    try {
      return Placement.of(
          experts, running.workerCount(), running.slotsPerWorker(), running.expertCount());
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** The placement layer {@code layer} runs. */
  public Placement placement(int layer) {
    return current[layer];
  }

  /** The plan version of the placement layer {@code layer} runs. */
  public long planVersion(int layer) {
    return versions[layer];
  }

  /**
   * The plan version a rank reports in its ExpertLoad: the sum of its layers' versions, which grows
   * by one with every switch of any layer and equals the job's count of switches when no rank
   * missed one.
   */
  public long planVersion() {
    long sum = 0;
    for (long version : versions) {
      sum += version;
    }
    return sum;
  }

  /** Decisions taken (redeliveries, other jobs', rejected and mistimed ones not counted). */
  public long decisions() {
    return decisions;
  }

  /** Redelivered decisions dropped by id. */
  public long duplicates() {
    return duplicates;
  }

  /** Decisions that arrived after their window was resolved without them. */
  public long lateDecisions() {
    return late;
  }

  /**
   * Decisions for an unknown layer or of a placement shape (workers, slots per worker, slots,
   * experts) this process does not run.
   */
  public long rejected() {
    return rejected;
  }

  /** Decisions refused because the job's window length, lead or effective iteration differ. */
  public long timingMismatches() {
    return timingMismatches;
  }

  /** The first timing mismatch, naming the job's timing and this follower's; empty if none. */
  public Optional<String> timingError() {
    return Optional.ofNullable(timingError);
  }

  /** Layer-windows whose decision did not arrive within the bound (placement kept). */
  public long timeouts() {
    return timeouts;
  }

  /** Placement changes applied. */
  public long switchesApplied() {
    return switchesApplied;
  }
}
