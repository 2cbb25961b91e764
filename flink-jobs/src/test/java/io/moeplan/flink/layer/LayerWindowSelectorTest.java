package io.moeplan.flink.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.flink.job.PoolState;
import io.moeplan.flink.state.Harnesses;
import io.moeplan.flink.state.WriteBehindOperators;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.LayerPlacement;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.ParallelConfig;
import io.moeplan.schemas.Plan;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.SampleRecords;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.heap.HeapKeyedStateBackend;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.types.Either;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sample pool: 4 experts on 2 workers (ep 2) with 2 slots each, one node; the job has 4 ranks
 * (rank r feeds worker r mod 2) and windows of 2 iterations.
 */
class LayerWindowSelectorTest {

  private static final int F = 2;
  private static final int LEAD = 3;
  private static final long TIMEOUT = 1_000;
  private static final int RANKS = 4;
  private static final long MAX_JUMP = 100;

  private KeyedBroadcastOperatorTestHarness<
          String, LayerSample, Either<PlanPool, ModelFit>, PlanDecision>
      harness;
  private long checkpoints;

  @BeforeEach
  void openHarness() throws Exception {
    harness = newHarness(null);
    harness.processBroadcastElement(Either.Left(SampleRecords.planPool("job")), 0);
  }

  @AfterEach
  void closeHarness() throws Exception {
    harness.close();
  }

  @Test
  void decidesEachCompleteWindowWithADeterministicIdAndEffectiveIteration() throws Exception {
    window(0, balanced());

    PlanDecision decision = single();
    assertThat(decision.getDecisionId()).isEqualTo("job/1/0");
    assertThat(decision.getWindowFirstIteration()).isZero();
    assertThat(decision.getWindowLastIteration()).isEqualTo(F - 1);
    assertThat(decision.getEffectiveIteration()).isEqualTo(F - 1 + LEAD);
    assertThat(decision.getRanksReported()).isEqualTo(RANKS);
    assertThat(decision.getPoolVersion()).isEqualTo(3);
  }

  @Test
  void aPipelineStagesLayerCompletesWithTheRanksThatHostIt() throws Exception {
    // the layer's stage holds 2 of the job's RANKS ranks; the others never report it
    for (int rank = 0; rank < 2; rank++) {
      harness.processElement(hosted(sample(rank, 0, balanced()), 2), 0);
    }
    for (int rank = 0; rank < 1; rank++) {
      harness.processElement(hosted(sample(rank, 1, balanced()), 2), 0);
    }
    assertThat(harness.extractOutputValues()).isEmpty();

    harness.processElement(hosted(sample(1, 1, balanced()), 2), 0);

    PlanDecision decision = single();
    assertThat(decision.getRanksReported()).isEqualTo(2);
    assertThat(decision.getReason()).doesNotContain("partial");
  }

  @Test
  void aPartialPipelineWindowCountsTheRanksOfItsStage() throws Exception {
    harness.processElement(hosted(sample(0, 0, balanced()), 2), 0);

    harness.setProcessingTime(TIMEOUT);

    assertThat(single().getReason()).contains("partial window: 1 of 2 ranks reported");
  }

  @Test
  void aDecisionCarriesThePoolsLayoutAndTheJobsWindowAndLead() throws Exception {
    // 2 workers with 3 slots each, so a layout with the two numbers swapped shows
    harness.processBroadcastElement(Either.Left(poolWithThreeSlotsPerWorker()), 0);
    window(0, hotExperts(3, 0));
    for (int rank = 0; rank < RANKS - 1; rank++) {
      harness.processElement(sample(rank, F, balanced()), 0);
    }
    harness.setProcessingTime(TIMEOUT);

    List<PlanDecision> decisions = harness.extractOutputValues();
    assertThat(decisions)
        .extracting(PlanDecision::getRanksReported)
        .as("a complete window, then a partial one")
        .containsExactly(RANKS, RANKS - 1);
    assertThat(decisions)
        .allSatisfy(
            decision -> {
              assertThat(decision.getWorkers()).isEqualTo(2);
              assertThat(decision.getSlotsPerWorker()).isEqualTo(3);
              assertThat(decision.getSlotToExpert()).hasSize(6);
              assertThat(decision.getWindowIterations()).isEqualTo(F);
              assertThat(decision.getLeadIterations()).isEqualTo(LEAD);
            });
  }

  @Test
  void discardsAPartialWindowNoRankCanHaveReachedAndDecidesTheRealOnesAfterIt() throws Exception {
    window(0, balanced());
    harness.processElement(sample(2, 1_000_000_000L, balanced()), 0);

    harness.setProcessingTime(TIMEOUT);
    window(1, balanced());

    assertThat(harness.extractOutputValues())
        .extracting(PlanDecision::getWindow)
        .as("the far window is dropped, window 1 is not late")
        .containsExactly(0L, 1L);
    assertThat(harness.numProcessingTimeTimers()).isZero();
  }

  @Test
  void decidesAFarPartialWindowWhenNothingWasDecidedBefore() throws Exception {
    harness.processElement(sample(2, 1_000_000_000L, balanced()), 0);

    harness.setProcessingTime(TIMEOUT);

    assertThat(single().getWindow()).as("a job may start anywhere").isEqualTo(500_000_000L);
  }

  @Test
  void waitsUntilEveryRankReportedEveryIteration() throws Exception {
    for (int rank = 0; rank < RANKS; rank++) {
      harness.processElement(sample(rank, 0, balanced()), 0);
    }
    for (int rank = 0; rank < RANKS - 1; rank++) {
      harness.processElement(sample(rank, 1, balanced()), 0);
    }
    assertThat(harness.extractOutputValues()).isEmpty();

    harness.processElement(sample(RANKS - 1, 1, balanced()), 0);

    assertThat(harness.extractOutputValues()).hasSize(1);
  }

  @Test
  void startsOnThePoolsStartLayoutAndKeepsItWhenItIsAlreadyGood() throws Exception {
    // the first plan piles experts 3 and 0 on worker 0 of layer 1; the job's own contiguous
    // layout (worker 0: experts 0 and 1, worker 1: 2 and 3) already splits them
    PlanPool pool = SampleRecords.planPool("job");
    pool.setPoolVersion(4);
    pool.setStartLayout(List.of(List.of(0, 1, 2, 3), List.of(0, 1, 2, 3)));
    pool.setStartLayoutSource("contiguous");
    harness.processBroadcastElement(Either.Left(pool), 0);

    window(0, hotExperts(3, 0));

    PlanDecision decision = single();
    assertThat(decision.getAction()).isEqualTo(DecisionAction.KEEP);
    assertThat(decision.getSlotToExpert()).containsExactly(0, 1, 2, 3);
    assertThat(decision.getPlanVersion()).isZero();
  }

  @Test
  void switchesAwayFromAStartLayoutWhenThatPays() throws Exception {
    PlanPool pool = SampleRecords.planPool("job");
    pool.setPoolVersion(4);
    pool.setStartLayout(List.of(List.of(0, 1, 2, 3), List.of(0, 1, 2, 3)));
    harness.processBroadcastElement(Either.Left(pool), 0);

    window(0, hotExperts(0, 1));

    PlanDecision decision = single();
    assertThat(decision.getAction()).isEqualTo(DecisionAction.SWITCH);
    assertThat(workerOf(decision, 0)).isNotEqualTo(workerOf(decision, 1));
  }

  @Test
  void aMeasuredMigrationFarSlowerThanModelledStopsTheSwitch() throws Exception {
    // the pool's model switches on these loads (the next test); measured, a replica takes minutes
    harness.processBroadcastElement(Either.Right(fit(3, 5, 1e6)), 0);

    window(0, hotExperts(3, 0));

    PlanDecision decision = single();
    assertThat(decision.getAction()).isEqualTo(DecisionAction.KEEP);
    assertThat(decision.getModelVersion()).isEqualTo(5);
    assertThat(decision.getMigrationSeconds()).isZero();
  }

  @Test
  void aFitOfAnotherPoolVersionIsNotUsed() throws Exception {
    harness.processBroadcastElement(Either.Right(fit(2, 5, 1e6)), 0);

    window(0, hotExperts(3, 0));

    PlanDecision decision = single();
    assertThat(decision.getAction()).isEqualTo(DecisionAction.SWITCH);
    assertThat(decision.getModelVersion()).isZero();
  }

  @Test
  void aMeasuredFasterMigrationLowersTheSwitchCostTheDecisionStates() throws Exception {
    window(0, hotExperts(3, 0));
    double modelled = single().getMigrationSeconds();
    harness.close();
    harness = newHarness(null, false);
    harness.processBroadcastElement(Either.Left(SampleRecords.planPool("job")), 0);
    harness.processBroadcastElement(Either.Right(fit(3, 1, 3.0e12)), 0);

    window(0, hotExperts(3, 0));

    PlanDecision calibrated = single();
    assertThat(calibrated.getAction()).isEqualTo(DecisionAction.SWITCH);
    assertThat(calibrated.getModelVersion()).isEqualTo(1);
    assertThat(calibrated.getMigrationSeconds()).isCloseTo(modelled / 10, within(modelled / 1e3));
  }

  @Test
  void withStaticPlacementEveryDecisionKeepsTheStartLayout() throws Exception {
    harness.close();
    harness = newHarness(null, true);
    harness.processBroadcastElement(Either.Left(SampleRecords.planPool("job")), 0);

    window(0, hotExperts(3, 0));
    window(1, hotExperts(3, 0));

    List<PlanDecision> decisions = harness.extractOutputValues();
    assertThat(decisions).hasSize(2);
    assertThat(decisions)
        .allSatisfy(
            d -> {
              assertThat(d.getAction()).isEqualTo(DecisionAction.KEEP);
              assertThat(d.getPlanVersion()).isZero();
              assertThat(d.getReason()).contains("static placement");
              assertThat(d.getPredictedCurrentSeconds()).isPositive();
              assertThat(d.getSlotToExpert())
                  .isEqualTo(
                      SampleRecords.planPool("job")
                          .getPlans()
                          .get(0)
                          .getLayers()
                          .get(1)
                          .getSlotToExpert());
            });
  }

  @Test
  void switchesAwayFromAPlacementThatPilesHotExpertsOnOneWorker() throws Exception {
    // the pool's first plan puts experts 3 and 0 on worker 0 of layer 1; make both hot
    window(0, hotExperts(3, 0));
    window(1, hotExperts(3, 0));

    List<PlanDecision> decisions = harness.extractOutputValues();
    assertThat(decisions).hasSize(2);
    PlanDecision first = decisions.get(0);
    assertThat(first.getAction()).isEqualTo(DecisionAction.SWITCH);
    assertThat(first.getPlanVersion()).isEqualTo(1);
    assertThat(first.getMigrationBytes()).isPositive();
    assertThat(workerOf(first, 3)).isNotEqualTo(workerOf(first, 0));
    PlanDecision second = decisions.get(1);
    assertThat(second.getAction()).isEqualTo(DecisionAction.KEEP);
    assertThat(second.getSlotToExpert()).isEqualTo(first.getSlotToExpert());
    assertThat(second.getPlanVersion()).isEqualTo(1);
  }

  @Test
  void closesAWindowMissingRanksAsPartialAfterTheTimeoutAndKeeps() throws Exception {
    for (int iteration = 0; iteration < F; iteration++) {
      for (int rank = 0; rank < RANKS - 1; rank++) {
        harness.processElement(sample(rank, iteration, hotExperts(3, 0)), 0);
      }
    }
    harness.setProcessingTime(TIMEOUT - 1);
    assertThat(harness.extractOutputValues()).isEmpty();

    harness.setProcessingTime(TIMEOUT);

    PlanDecision decision = single();
    assertThat(decision.getAction()).isEqualTo(DecisionAction.KEEP);
    assertThat(decision.getRanksReported()).isEqualTo(RANKS - 1);
    assertThat(decision.getReason()).contains("partial window: 3 of 4 ranks");
    assertThat(harness.numProcessingTimeTimers()).isZero();
  }

  @Test
  void closesWindowsInOrderEvenWhenALaterOneCompletesFirst() throws Exception {
    for (int rank = 0; rank < RANKS - 1; rank++) {
      harness.processElement(sample(rank, 0, balanced()), 0);
      harness.processElement(sample(rank, 1, balanced()), 0);
    }
    window(1, balanced());
    assertThat(harness.extractOutputValues()).isEmpty();

    harness.processElement(sample(RANKS - 1, 0, balanced()), 0);
    harness.processElement(sample(RANKS - 1, 1, balanced()), 0);

    assertThat(harness.extractOutputValues())
        .extracting(PlanDecision::getWindow)
        .containsExactly(0L, 1L);
  }

  @Test
  void ignoresSamplesForAWindowAlreadyDecidedAndCleansUp() throws Exception {
    harness.processElement(sample(0, 0, balanced()), 0);
    assertThat(stateEntries()).as("an open window: its progress and its rank rows").isEqualTo(2);
    assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);
    window(0, balanced());

    harness.processElement(sample(0, 1, balanced()), 0);

    assertThat(harness.extractOutputValues()).hasSize(1);
    assertThat(harness.numProcessingTimeTimers()).isZero();
    assertThat(stateEntries())
        .as("only the layer's plan state and its last decided window are left")
        .isEqualTo(2);
    harness.processElement(sample(0, 2, balanced()), 0);
    assertThat(stateEntries()).as("those and the next open window").isEqualTo(4);
  }

  @Test
  void sameInputGivesTheSameDecisions() throws Exception {
    window(0, hotExperts(3, 0));
    window(1, hotExperts(1, 2));
    List<PlanDecision> first = harness.extractOutputValues();
    closeHarness();
    openHarness();

    window(0, hotExperts(3, 0));
    window(1, hotExperts(1, 2));

    assertThat(harness.extractOutputValues()).isEqualTo(first);
  }

  @Test
  void aRestoredOperatorFinishesOpenWindowsAndKnowsWhatItDecided() throws Exception {
    window(0, hotExperts(3, 0));
    window(1, hotExperts(1, 2));
    window(2, balanced());
    List<PlanDecision> uninterrupted = harness.extractOutputValues();
    closeHarness();
    openHarness();

    window(0, hotExperts(3, 0));
    // every rank's first iteration of window 1, then a snapshot with that window open
    for (int rank = 0; rank < RANKS; rank++) {
      harness.processElement(sample(rank, F, hotExperts(1, 2)), 0);
    }
    List<PlanDecision> decisions = new ArrayList<>(harness.extractOutputValues());
    OperatorSubtaskState snapshot = harness.snapshot(1, 0);
    harness.close();
    harness = newHarness(snapshot);

    // a window reopened by this sample would register a timer of its own and close as partial
    harness.setProcessingTime(5);
    harness.processElement(sample(0, 1, balanced()), 0);
    int timersAfterLateSample = harness.numProcessingTimeTimers();
    for (int rank = 0; rank < RANKS; rank++) {
      harness.processElement(sample(rank, F + 1, hotExperts(1, 2)), 0);
    }
    window(2, balanced());
    harness.setProcessingTime(10 * TIMEOUT);
    decisions.addAll(harness.extractOutputValues());

    assertThat(timersAfterLateSample).as("only window 1's restored timeout").isEqualTo(1);
    assertThat(decisions)
        .as("decisions across the restore, a sample of the decided window 0 ignored after it")
        .isEqualTo(uninterrupted);
  }

  @Test
  void aNewRunStartsTheLayerOverAndItsDecisionsHaveIdsOfTheirOwn() throws Exception {
    window(0, hotExperts(3, 0));
    window(1, hotExperts(3, 0));
    for (int rank = 0; rank < RANKS - 1; rank++) {
      harness.processElement(sample(rank, 2 * F, hotExperts(3, 0)), 0);
    }
    List<PlanDecision> firstRun = List.copyOf(harness.extractOutputValues());
    OperatorSubtaskState snapshot = harness.snapshot(++checkpoints, 0);
    harness.close();
    harness = newHarness(snapshot);

    window(0, hotExperts(3, 0), "run-2", 0);
    harness.processElement(sample(RANKS - 1, 2 * F, hotExperts(3, 0)), 0);
    harness.setProcessingTime(10 * TIMEOUT);

    PlanDecision first = firstRun.get(0);
    PlanDecision rerun = single();
    assertThat(rerun.getDecisionId()).isEqualTo("job/1/0@run-2.0");
    assertThat(first.getDecisionId()).isEqualTo("job/1/0");
    assertThat(rerun.getRunId()).isEqualTo("run-2");
    assertThat(rerun.getAttempt()).isZero();
    assertThat(rerun.getWindow()).isZero();
    assertThat(rerun.getAction())
        .as("from the start layout, as the first run's window 0")
        .isEqualTo(first.getAction())
        .isEqualTo(DecisionAction.SWITCH);
    assertThat(rerun.getSlotToExpert()).isEqualTo(first.getSlotToExpert());
    assertThat(rerun.getPlanVersion()).isEqualTo(1);
    assertThat(first.getRunId()).isNull();
    assertThat(harness.numProcessingTimeTimers())
        .as("the old run's open window was dropped, not decided as partial")
        .isZero();
  }

  @Test
  void aResumedAttemptRollsThePlacementBackToItsWindowAndDecidesItsWindowsAgain() throws Exception {
    window(0, hotExperts(3, 0), "r", 0);
    PlanDecision firstSwitch = single();
    assertThat(firstSwitch.getAction()).isEqualTo(DecisionAction.SWITCH);
    List<Integer> p1 = firstSwitch.getSlotToExpert();
    window(1, balanced(), "r", 0);
    window(2, balanced(), "r", 0);
    // the two experts the first switch put on worker 0, hot until the layer switches again
    long window = 3;
    PlanDecision secondSwitch = null;
    while (secondSwitch == null && window < 20) {
      window(window++, hotExperts(p1.get(0), p1.get(1)), "r", 0);
      for (PlanDecision decision : harness.extractOutputValues()) {
        if (decision.getAction() == DecisionAction.SWITCH && decision.getWindow() > 0) {
          secondSwitch = decision;
        }
      }
    }
    assertThat(secondSwitch).as("a second switch").isNotNull();
    assertThat(secondSwitch.getPlanVersion()).isEqualTo(2);
    assertThat(firstSwitch.getEffectiveIteration())
        .as("the first switch is in force at the second one's window")
        .isLessThanOrEqualTo(secondSwitch.getWindowFirstIteration());
    assertThat(secondSwitch.getSlotToExpert()).isNotEqualTo(p1);
    window(window, balanced(), "r", 0);
    long resumed = secondSwitch.getWindow();
    int outBefore = harness.extractOutputValues().size();

    // attempt 1 resumes at the second switch's window: the first switch is in force there
    window(resumed, balanced(), "r", 1);
    window(resumed, balanced(), "r", 0);
    window(resumed + 1, balanced(), "r", 1);

    List<PlanDecision> again =
        harness.extractOutputValues().subList(outBefore, harness.extractOutputValues().size());
    assertThat(again)
        .extracting(PlanDecision::getDecisionId)
        .as("attempt 0's samples after the resume are late")
        .containsExactly("job/1/" + resumed + "@r.1", "job/1/" + (resumed + 1) + "@r.1");
    PlanDecision atResume = again.get(0);
    assertThat(atResume.getAction()).isEqualTo(DecisionAction.KEEP);
    assertThat(atResume.getSlotToExpert()).isEqualTo(p1);
    assertThat(atResume.getPlanVersion()).isEqualTo(1);
    assertThat(atResume.getAttempt()).isEqualTo(1);
    assertThat(atResume.getRunId()).isEqualTo("r");
  }

  @Test
  void aResumeBeforeTheFirstSwitchTookEffectGoesBackToTheStartLayout() throws Exception {
    window(0, hotExperts(3, 0));
    window(1, balanced());
    List<PlanDecision> before = List.copyOf(harness.extractOutputValues());
    assertThat(before.get(0).getAction()).isEqualTo(DecisionAction.SWITCH);
    assertThat(before.get(0).getEffectiveIteration()).isGreaterThan(F);

    // attempt 1 resumes at window 1 (iteration F), before window 0's switch took effect
    window(1, balanced(), null, 1);

    PlanDecision resumed = harness.extractOutputValues().get(2);
    assertThat(resumed.getDecisionId()).isEqualTo("job/1/1@.1");
    assertThat(resumed.getAction()).isEqualTo(DecisionAction.KEEP);
    assertThat(resumed.getPlanVersion()).isZero();
    assertThat(resumed.getSlotToExpert())
        .as("the pool's start layout")
        .isEqualTo(
            SampleRecords.planPool("job").getPlans().get(0).getLayers().get(1).getSlotToExpert());
  }

  /** The operator the job runs, restored from {@code snapshot} when one is given. */
  private static KeyedBroadcastOperatorTestHarness<
          String, LayerSample, Either<PlanPool, ModelFit>, PlanDecision>
      newHarness(OperatorSubtaskState snapshot) throws Exception {
    return newHarness(snapshot, false);
  }

  /** As above, the selector keeping every placement when {@code staticPlacement}. */
  private static KeyedBroadcastOperatorTestHarness<
          String, LayerSample, Either<PlanPool, ModelFit>, PlanDecision>
      newHarness(OperatorSubtaskState snapshot, boolean staticPlacement) throws Exception {
    KeyedBroadcastOperatorTestHarness<String, LayerSample, Either<PlanPool, ModelFit>, PlanDecision>
        restored =
            Harnesses.opened(
                new KeyedBroadcastOperatorTestHarness<>(
                    WriteBehindOperators.keyedBroadcast(
                        new LayerWindowSelector(
                            F,
                            LEAD,
                            TIMEOUT,
                            MAX_JUMP,
                            SelectorOptions.defaults(F),
                            staticPlacement),
                        List.of(PoolState.DESCRIPTOR, PoolState.FITS)),
                    LayerSample::key,
                    Types.STRING,
                    1,
                    1,
                    0),
                snapshot);
    restored.setProcessingTime(0);
    return restored;
  }

  private void window(long window, long[] counts) throws Exception {
    window(window, counts, null, 0);
  }

  private void window(long window, long[] counts, String runId, int attempt) throws Exception {
    for (long iteration = window * F; iteration < (window + 1) * F; iteration++) {
      for (int rank = 0; rank < RANKS; rank++) {
        LayerSample sample = sample(rank, iteration, counts);
        sample.runId = runId;
        sample.attempt = attempt;
        harness.processElement(sample, 0);
      }
    }
  }

  private static LayerSample sample(int rank, long iteration, long[] counts) {
    LayerSample sample = new LayerSample();
    sample.jobId = "job";
    sample.layer = 1;
    sample.rank = rank;
    sample.worldSize = RANKS;
    sample.window = iteration / F;
    sample.iterations = 1;
    sample.counts = counts.clone();
    sample.producedAtMillis = 0;
    return sample;
  }

  /** The sample pool with 3 slots on each of its 2 workers (experts 0 and 1 replicated). */
  private static PlanPool poolWithThreeSlotsPerWorker() {
    PlanPool pool = SampleRecords.planPool("job");
    Plan plan = pool.getPlans().get(0);
    return PlanPool.newBuilder(pool)
        .setPoolVersion(pool.getPoolVersion() + 1)
        .setPlans(
            List.of(
                Plan.newBuilder(plan)
                    .setParallel(
                        ParallelConfig.newBuilder(plan.getParallel()).setSlotsPerWorker(3).build())
                    .setLayers(
                        List.of(
                            LayerPlacement.newBuilder(plan.getLayers().get(0))
                                .setSlotToExpert(List.of(0, 1, 2, 3, 0, 1))
                                .build(),
                            LayerPlacement.newBuilder(plan.getLayers().get(1))
                                .setSlotToExpert(List.of(3, 0, 1, 2, 3, 0))
                                .build()))
                    .build()))
        .build();
  }

  /**
   * A calibrated fit of the sample pool's job for pool version {@code poolVersion}: the pool's
   * compute constants, migrations at {@code bytesPerSecond}.
   */
  private static ModelFit fit(long poolVersion, long modelVersion, double bytesPerSecond) {
    return ModelFit.newBuilder()
        .setJobId("job")
        .setWorkerClass("cuda")
        .setPoolVersion(poolVersion)
        .setModelVersion(modelVersion)
        .setCalibrated(false)
        .setLastIteration(0)
        .setComputeSamples(0)
        .setComputeOutliers(0)
        .setFixedSeconds(6e-4)
        .setPerTokenSeconds(1e-7)
        .setPoolFixedSeconds(6e-4)
        .setPoolPerTokenSeconds(1e-7)
        .setMigrationCalibrated(true)
        .setMigrationSamples(100)
        .setMigrationBytesPerSecond(bytesPerSecond)
        .setPoolMigrationBytesPerSecond(3.0e11)
        .setErrorWindows(0)
        .setErrorSamples(0)
        .setUpdatedAt(java.time.Instant.EPOCH)
        .build();
  }

  private static long[] balanced() {
    return new long[] {4096, 4096, 4096, 4096};
  }

  private static LayerSample hosted(LayerSample sample, int hostingRanks) {
    sample.hostingRanks = hostingRanks;
    return sample;
  }

  private static long[] hotExperts(int a, int b) {
    long[] counts = {512, 512, 512, 512};
    counts[a] = 60_000;
    counts[b] = 60_000;
    return counts;
  }

  private static int workerOf(PlanDecision decision, int expert) {
    return decision.getSlotToExpert().indexOf(expert) / 2;
  }

  private PlanDecision single() {
    List<PlanDecision> decisions = harness.extractOutputValues();
    assertThat(decisions).hasSize(1);
    return decisions.get(0);
  }

  /** Entries of the keyed state as a checkpoint now would hold them. */
  private int stateEntries() throws Exception {
    harness.snapshot(++checkpoints, 0);
    return ((HeapKeyedStateBackend<?>) harness.getOperator().getKeyedStateBackend())
        .numKeyValueStateEntries();
  }
}
