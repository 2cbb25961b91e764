package io.moeplan.executor.decisions;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.placement.Placement;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.LayerKey;
import io.moeplan.schemas.PlanDecision;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

class DecisionFollowerTest {

  private static final String JOB = "job";
  private static final int WINDOW = 4;
  private static final int LEAD = 2;
  private static final Duration BOUND = Duration.ofSeconds(5);
  private static final Placement START = Placement.of(new int[] {0, 1, 2, 3}, 2, 2, 4);
  private static final Placement SWAPPED = Placement.of(new int[] {1, 0, 2, 3}, 2, 2, 4);

  private final TestingDecisions source = new TestingDecisions();
  private final DecisionFollower follower =
      new DecisionFollower(JOB, WINDOW, LEAD, new Placement[] {START, START}, source::now);

  @Test
  void appliesASwitchAtExactlyItsEffectiveIteration() {
    source.arrive(decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1), keep(1, 0));

    for (long iteration = 0; iteration < 5; iteration++) {
      assertThat(follower.step(iteration, source, BOUND).switches()).isEmpty();
      assertThat(follower.placement(0)).isEqualTo(START);
    }
    StepOutcome at5 = follower.step(5, source, BOUND);

    assertThat(at5.window()).isEqualTo(0);
    assertThat(at5.switches())
        .singleElement()
        .satisfies(
            change -> {
              assertThat(change.layer()).isZero();
              assertThat(change.iteration()).isEqualTo(5);
              assertThat(change.from()).isEqualTo(START);
              assertThat(change.to()).isEqualTo(SWAPPED);
              assertThat(change.repair()).isFalse();
            });
    assertThat(follower.placement(0)).isEqualTo(SWAPPED);
    assertThat(follower.planVersion(0)).isEqualTo(1);
    assertThat(follower.planVersion()).isEqualTo(1);
    assertThat(follower.step(6, source, BOUND).switches()).isEmpty();
  }

  @Test
  void appliesDecisionsThatNameThisFollowersWindowLeadAndLayoutAsBefore() {
    PlanDecision v2 = v2(decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1), 2, 2, WINDOW, LEAD);
    assertThat(follower.offer(v2)).isTrue();
    assertThat(follower.offer(v2(keep(1, 0), 2, 2, WINDOW, LEAD))).isTrue();

    assertThat(follower.step(4, source, BOUND).switches()).isEmpty();
    assertThat(follower.step(5, source, BOUND).switches())
        .singleElement()
        .satisfies(change -> assertThat(change.to()).isEqualTo(SWAPPED));
    assertThat(follower.timingMismatches()).isZero();
    assertThat(follower.timingError()).isEmpty();
    assertThat(follower.rejected()).isZero();
  }

  @Test
  void appliesDecisionsWrittenBeforeTheyNamedTimingAndLayoutAsBefore() {
    PlanDecision v1 = decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1);
    assertThat(v1.getWorkers()).isNull();
    assertThat(v1.getSlotsPerWorker()).isNull();
    assertThat(v1.getWindowIterations()).isNull();
    assertThat(v1.getLeadIterations()).isNull();
    source.arrive(v1, keep(1, 0));

    assertThat(follower.step(5, source, BOUND).switches()).singleElement();
    assertThat(follower.placement(0)).isEqualTo(SWAPPED);
    assertThat(follower.timingMismatches()).isZero();
  }

  @Test
  void refusesDecisionsOfAJobWithAnotherWindowOrLeadAndSaysWhichSettingsDiffer() {
    // the job runs windows of 8: its window 0 takes effect at 9, which this follower (windows
    // of 4) takes for window 1's effective iteration
    PlanDecision otherWindow = switchOfAJobWith(8, LEAD, 0, 0);
    PlanDecision otherLead = switchOfAJobWith(WINDOW, 3, 1, 1);
    source.arrive(otherWindow, otherLead, otherWindow);

    for (long iteration = 0; iteration < 20; iteration++) {
      assertThat(follower.step(iteration, source, BOUND).switches()).isEmpty();
    }

    assertThat(follower.placement(0)).isEqualTo(START);
    assertThat(follower.placement(1)).isEqualTo(START);
    assertThat(follower.planVersion()).isZero();
    assertThat(follower.timingMismatches()).isEqualTo(2);
    assertThat(follower.duplicates()).isEqualTo(1);
    assertThat(follower.decisions()).isZero();
    assertThat(follower.timingError())
        .hasValue(
            "decisions of job 'job' take effect with --window-iterations 8 --lead-iterations 2,"
                + " this executor runs 4 and 2: restart it with the job's settings");
    assertThat(source.waitedNanos)
        .as("no effective iteration waits for decisions that cannot fit")
        .isZero();
  }

  @Test
  void aDecisionOfMatchingTimingAfterMistimedOnesIsAppliedAndWaitedForAgain() {
    source.arrive(switchOfAJobWith(8, LEAD, 0, 0));
    assertThat(follower.step(5, source, BOUND).timedOutLayers()).containsExactly(0, 1);
    assertThat(source.waitedNanos).isZero();

    source.arrive(v2(decision(0, 1, DecisionAction.SWITCH, SWAPPED, 1), 2, 2, WINDOW, LEAD));
    source.arriveAfterPolls(3, keep(1, 1));
    StepOutcome at9 = follower.step(9, source, BOUND);

    assertThat(at9.timedOutLayers()).isEmpty();
    assertThat(at9.switches()).singleElement();
    assertThat(follower.timingMismatches()).isEqualTo(1);
    assertThat(follower.timingError()).isPresent();
  }

  @Test
  void refusesADecisionWhoseEffectiveIterationIsNotItsWindowsUnderItsOwnWindowAndLead() {
    PlanDecision inconsistent =
        v2(
            PlanDecision.newBuilder(decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1))
                .setEffectiveIteration(6)
                .build(),
            2,
            2,
            WINDOW,
            LEAD);
    PlanDecision olderInconsistent =
        PlanDecision.newBuilder(decision(1, 0, DecisionAction.SWITCH, SWAPPED, 1))
            .setEffectiveIteration(7)
            .build();

    assertThat(follower.offer(inconsistent)).isFalse();
    assertThat(follower.offer(olderInconsistent)).isFalse();
    for (long iteration = 0; iteration < 8; iteration++) {
      assertThat(follower.step(iteration, source, BOUND).switches()).isEmpty();
    }

    assertThat(follower.placement(0)).isEqualTo(START);
    assertThat(follower.placement(1)).isEqualTo(START);
    assertThat(follower.timingMismatches()).isEqualTo(2);
    assertThat(follower.timingError())
        .hasValue(
            "decision job/0/0 takes effect at iteration 6, but its window 0 with its own"
                + " --window-iterations 4 --lead-iterations 2 takes effect at iteration 5: not"
                + " applied");
  }

  @Test
  void aDecisionWrittenBeforeItNamedItsTimingIsCheckedAgainstThisFollowersWindowAndLead() {
    // a job with windows of 8 and this follower's lead, before decisions named their timing
    PlanDecision fromOtherWindows =
        PlanDecision.newBuilder(decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1))
            .setEffectiveIteration(DecisionWindows.effectiveIteration(0, 8, LEAD))
            .build();

    assertThat(follower.offer(fromOtherWindows)).isFalse();

    assertThat(follower.timingMismatches()).isEqualTo(1);
    assertThat(follower.timingError())
        .hasValue(
            "decision job/0/0 takes effect at iteration 9, this executor runs --window-iterations"
                + " 4 --lead-iterations 2 and would apply window 0 at iteration 5: restart it with"
                + " the job's settings");
  }

  @Test
  void rejectsADecisionNamingOtherWorkersOrSlotsPerWorkerThanItsLayerRuns() {
    // the same 4 slots, laid out as 4 workers of 1 slot or 1 worker of 4
    PlanDecision fourWorkers = v2(decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1), 4, 1, 4, 2);
    PlanDecision oneWorker = v2(decision(1, 0, DecisionAction.SWITCH, SWAPPED, 1), 1, 4, 4, 2);
    PlanDecision otherSlotsOnly =
        v2(decision(0, 1, DecisionAction.SWITCH, SWAPPED, 1), null, 4, null, null);

    assertThat(follower.offer(fourWorkers)).isFalse();
    assertThat(follower.offer(oneWorker)).isFalse();
    assertThat(follower.offer(otherSlotsOnly)).isFalse();

    assertThat(follower.rejected()).isEqualTo(3);
    assertThat(follower.timingMismatches()).isZero();
    assertThat(follower.step(5, source, Duration.ZERO).switches()).isEmpty();
    assertThat(follower.placement(0)).isEqualTo(START);
    assertThat(follower.placement(1)).isEqualTo(START);
  }

  @Test
  void dropsRedeliveredDecisionsById() {
    PlanDecision first = decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1);
    source.arrive(first, keep(1, 0), first, keep(1, 0));
    follower.step(5, source, BOUND);
    source.arrive(first);
    follower.step(6, source, BOUND);

    assertThat(follower.decisions()).isEqualTo(2);
    assertThat(follower.duplicates()).isEqualTo(3);
    assertThat(follower.switchesApplied()).isEqualTo(1);
  }

  @Test
  void waitsForTheWindowsDecisionsUpToTheBound() {
    // the decision of layer 1 arrives on the third poll of the wait
    source.arrive(decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1));
    source.arriveAfterPolls(3, keep(1, 0));

    StepOutcome outcome = follower.step(5, source, BOUND);

    assertThat(outcome.timedOutLayers()).isEmpty();
    assertThat(outcome.switches()).hasSize(1);
    assertThat(source.waitedNanos).isLessThan(BOUND.toNanos());
  }

  @Test
  void keepsThePlacementWhenADecisionMissesTheBoundAndIgnoresItWhenLate() {
    source.arrive(keep(0, 0));
    StepOutcome outcome = follower.step(5, source, Duration.ofMillis(300));

    assertThat(outcome.timedOutLayers()).containsExactly(1);
    assertThat(source.waitedNanos).isGreaterThanOrEqualTo(Duration.ofMillis(300).toNanos());
    assertThat(follower.timeouts()).isEqualTo(1);

    source.arrive(decision(1, 0, DecisionAction.SWITCH, SWAPPED, 1));
    assertThat(follower.step(6, source, BOUND).switches()).isEmpty();
    assertThat(follower.placement(1)).isEqualTo(START);
    assertThat(follower.planVersion(1)).isZero();
    assertThat(follower.lateDecisions()).isEqualTo(1);

    // the next window's decision still names the switched placement: the layer converges
    source.arrive(keep(0, 1), decision(1, 1, DecisionAction.KEEP, SWAPPED, 1));
    StepOutcome repaired = follower.step(9, source, BOUND);
    assertThat(repaired.switches())
        .singleElement()
        .satisfies(
            change -> {
              assertThat(change.layer()).isEqualTo(1);
              assertThat(change.repair()).isTrue();
            });
    assertThat(follower.planVersion(1)).isEqualTo(1);
  }

  @Test
  void ignoresOtherJobsAndPlacementsThisProcessCannotRun() {
    PlanDecision other =
        PlanDecision.newBuilder(decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1))
            .setJobId("other")
            .setDecisionId(new LayerKey("other", 0).decisionId(0))
            .build();
    PlanDecision wrongShape = decision(1, 0, DecisionAction.SWITCH, List.of(0, 1, 2), 1);
    PlanDecision unknownExpert = decision(0, 0, DecisionAction.SWITCH, List.of(0, 1, 2, 7), 1);
    PlanDecision expertWithoutSlot = decision(0, 1, DecisionAction.SWITCH, List.of(0, 1, 2, 2), 1);
    assertThat(follower.offer(other)).isFalse();
    assertThat(follower.offer(wrongShape)).isFalse();
    assertThat(follower.offer(unknownExpert)).isFalse();
    assertThat(follower.offer(expertWithoutSlot)).isFalse();
    assertThat(follower.rejected()).isEqualTo(3);
  }

  @Test
  void resumesFromTheLatestDecisionThatTookEffectBeforeTheStart() {
    source.arrive(
        decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1),
        keep(1, 0),
        decision(0, 1, DecisionAction.KEEP, SWAPPED, 1),
        keep(1, 1),
        decision(0, 2, DecisionAction.SWITCH, START, 2),
        keep(1, 2));

    // window 1 took effect at 9, window 2 takes effect at 13: a restart at 11 runs window 1's
    List<LayerSwitch> adopted = follower.resume(11, source, BOUND);

    assertThat(adopted).singleElement().satisfies(change -> assertThat(change.layer()).isZero());
    assertThat(follower.placement(0)).isEqualTo(SWAPPED);
    assertThat(follower.planVersion()).isEqualTo(1);
    assertThat(follower.step(13, source, BOUND).switches())
        .singleElement()
        .satisfies(change -> assertThat(change.to()).isEqualTo(START));
    assertThat(follower.planVersion()).isEqualTo(2);
  }

  @Test
  void aRestartAtAnEffectiveIterationResumesOnTheWindowBeforeAndAppliesThatOneInItsStep() {
    source.arrive(
        decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1),
        keep(1, 0),
        decision(0, 1, DecisionAction.SWITCH, START, 2),
        keep(1, 1));

    // window 1 takes effect at 9 itself: the restart resumes on window 0's, then steps into 1's
    assertThat(follower.resume(9, source, BOUND)).singleElement();
    assertThat(follower.placement(0)).isEqualTo(SWAPPED);
    assertThat(follower.step(9, source, BOUND).window()).isEqualTo(1);
    assertThat(follower.placement(0)).isEqualTo(START);
    assertThat(follower.planVersion()).isEqualTo(2);
  }

  @Test
  void aRestartBeforeTheFirstEffectiveIterationAdoptsNothing() {
    source.arrive(decision(0, 0, DecisionAction.SWITCH, SWAPPED, 1), keep(1, 0));

    assertThat(follower.resume(5, source, BOUND)).isEmpty();
    assertThat(follower.placement(0)).isEqualTo(START);
    assertThat(follower.step(5, source, BOUND).switches()).singleElement();
  }

  /**
   * A v2 switch of {@code layer} to SWAPPED for {@code window} of a job with that window and lead.
   */
  private static PlanDecision switchOfAJobWith(int jobWindow, int jobLead, int layer, long window) {
    PlanDecision decision =
        PlanDecision.newBuilder(decision(layer, window, DecisionAction.SWITCH, SWAPPED, 1))
            .setWindowFirstIteration(DecisionWindows.firstIteration(window, jobWindow))
            .setWindowLastIteration(DecisionWindows.lastIteration(window, jobWindow))
            .setEffectiveIteration(DecisionWindows.effectiveIteration(window, jobWindow, jobLead))
            .build();
    return v2(decision, 2, 2, jobWindow, jobLead);
  }

  /** {@code decision} naming a layout and the job's window and lead, as PlanDecision v2 does. */
  private static PlanDecision v2(
      PlanDecision decision,
      Integer workers,
      Integer slotsPerWorker,
      Integer windowIterations,
      Integer leadIterations) {
    return PlanDecision.newBuilder(decision)
        .setWorkers(workers)
        .setSlotsPerWorker(slotsPerWorker)
        .setWindowIterations(windowIterations)
        .setLeadIterations(leadIterations)
        .build();
  }

  private static PlanDecision keep(int layer, long window) {
    return decision(layer, window, DecisionAction.KEEP, START, 0);
  }

  private static PlanDecision decision(
      int layer, long window, DecisionAction action, Placement placement, long version) {
    return decision(
        layer, window, action, Arrays.stream(placement.slotToExpert()).boxed().toList(), version);
  }

  private static PlanDecision decision(
      int layer, long window, DecisionAction action, List<Integer> slots, long version) {
    return PlanDecision.newBuilder()
        .setDecisionId(new LayerKey(JOB, layer).decisionId(window))
        .setJobId(JOB)
        .setLayer(layer)
        .setWindow(window)
        .setWindowFirstIteration(DecisionWindows.firstIteration(window, WINDOW))
        .setWindowLastIteration(DecisionWindows.lastIteration(window, WINDOW))
        .setEffectiveIteration(DecisionWindows.effectiveIteration(window, WINDOW, LEAD))
        .setAction(action)
        .setSlotToExpert(slots)
        .setPlanVersion(version)
        .setPoolVersion(1)
        .setPredictedCurrentSeconds(0)
        .setPredictedNewSeconds(0)
        .setMigrationBytes(0)
        .setMigrationSeconds(0)
        .setRanksReported(4)
        .setReason("test")
        .build();
  }

  /**
   * Decisions handed out on polls, on a simulated clock that a poll advances by its full wait when
   * it returns nothing (as a blocking poll would).
   */
  private static final class TestingDecisions implements DecisionSource {
    private final Deque<PlanDecision> ready = new ArrayDeque<>();
    private final List<PlanDecision> delayed = new ArrayList<>();
    private int pollsUntilDelayed = -1;
    private long nanos;
    long waitedNanos;

    void arrive(PlanDecision... decisions) {
      ready.addAll(List.of(decisions));
    }

    void arriveAfterPolls(int polls, PlanDecision... decisions) {
      pollsUntilDelayed = polls;
      delayed.addAll(List.of(decisions));
    }

    long now() {
      return nanos;
    }

    @Override
    public List<PlanDecision> poll(Duration maxWait) {
      if (pollsUntilDelayed > 0 && --pollsUntilDelayed == 0) {
        ready.addAll(delayed);
        delayed.clear();
      }
      if (ready.isEmpty()) {
        nanos += maxWait.toNanos();
        waitedNanos += maxWait.toNanos();
        return List.of();
      }
      List<PlanDecision> out = new ArrayList<>(ready);
      ready.clear();
      return out;
    }
  }
}
