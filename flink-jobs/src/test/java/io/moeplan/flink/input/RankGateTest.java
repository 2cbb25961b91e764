package io.moeplan.flink.input;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.flink.job.PoolState;
import io.moeplan.flink.state.Harnesses;
import io.moeplan.flink.state.WriteBehindOperators;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.SampleRecords;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.heap.HeapKeyedStateBackend;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RankGateTest {

  private static final long HOLD_TIMEOUT = 5_000;
  private static final long RECHECK = 500;
  private static final long MAX_JUMP = 100;
  private static final long CONFIRM_TIMEOUT = 3_000;

  private KeyedBroadcastOperatorTestHarness<String, RawRecord, PlanPool, RankLoad> harness;
  private long checkpoints;

  @BeforeEach
  void openHarness() throws Exception {
    harness = harness(3);
  }

  @AfterEach
  void closeHarness() throws Exception {
    harness.close();
  }

  @Test
  void admitsLoadsOfAJobWithAPool() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);

    harness.processElement(Loads.raw("job", 0, 1), 0);
    harness.processElement(Loads.raw("job", 0, 2), 0);

    assertThat(iterations()).containsExactly(1L, 2L);
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void decodesRecordsAndDeadLettersTheUnusableByteForByte() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    RawRecord garbage = Loads.raw("job/1", new byte[] {0x7B, 0x7D});

    harness.processElement(Loads.raw("job", 1, 1), 0);
    harness.processElement(garbage, 0);
    harness.processElement(Loads.raw("job", 1, 2), 0);

    assertThat(iterations()).containsExactly(1L, 2L);
    DeadLetter letter = deadLetters().get(0);
    assertThat(deadLetters()).hasSize(1);
    assertThat(letter.getReason()).isEqualTo(DeadLetterReason.UNDECODABLE);
    assertThat(letter.getOffset()).isEqualTo(garbage.offset);
    assertThat(letter.getValue()).isEqualTo(ByteBuffer.wrap(new byte[] {0x7B, 0x7D}));
  }

  @Test
  void holdsLoadsUntilThePoolArrivesThenAdmitsThemInOrder() throws Exception {
    harness.processElement(Loads.raw("job", 1, 1), 0);
    harness.processElement(Loads.raw("job", 1, 2), 0);
    assertThat(harness.extractOutputValues()).isEmpty();
    assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);

    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 1, 3), 0);

    assertThat(iterations()).containsExactly(1L, 2L, 3L);
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void releasesHeldLoadsOnItsTimerWhenNoFurtherLoadArrives() throws Exception {
    harness.setProcessingTime(0);
    harness.processElement(Loads.raw("job", 1, 1), 0);
    int entriesWhileHolding = stateEntries();
    harness.processBroadcastElement(pool("job"), 0);

    harness.setProcessingTime(RECHECK);
    assertThat(iterations()).as("a rank's first load waits for one that continues it").isEmpty();

    harness.setProcessingTime(RECHECK + CONFIRM_TIMEOUT);

    assertThat(iterations()).as("a rank that sent one load starts on it").containsExactly(1L);
    assertThat(harness.numProcessingTimeTimers()).isZero();
    assertThat(stateEntries())
        .as("held loads, their count and the holding time are cleared")
        .isLessThan(entriesWhileHolding);
  }

  @Test
  void deadLettersHeldLoadsWhenNoPoolArrivesInTime() throws Exception {
    harness.setProcessingTime(0);
    harness.processElement(Loads.raw("orphan", 0, 1), 0);
    harness.processElement(Loads.raw("orphan", 0, 2), 0);

    for (long t = RECHECK; t <= HOLD_TIMEOUT; t += RECHECK) {
      harness.setProcessingTime(t);
    }

    assertThat(harness.extractOutputValues()).isEmpty();
    assertThat(deadLetters())
        .extracting(DeadLetter::getReason)
        .containsExactly(DeadLetterReason.NO_POOL, DeadLetterReason.NO_POOL);
    assertThat(deadLetters().get(0).getDetail()).contains("no plan pool for job 'orphan'");
    assertThat(harness.numProcessingTimeTimers()).isZero();
  }

  @Test
  void holdsAtMostTheBoundDeadLetteringTheOldest() throws Exception {
    for (long iteration = 1; iteration <= 5; iteration++) {
      harness.processElement(Loads.raw("job", 2, iteration), 0);
    }

    assertThat(deadLetters())
        .extracting(DeadLetter::getOffset)
        .hasSize(2)
        .allSatisfy(offset -> assertThat(offset).isNotNegative());
    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 2, 6), 0);
    assertThat(iterations()).containsExactly(3L, 4L, 5L, 6L);
  }

  @Test
  void countsAnExactRedeliveryAsADuplicateWithoutDeadLettering() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    RawRecord raw = Loads.raw("job", 0, 7);

    harness.processElement(raw, 0);
    harness.processElement(raw, 0);
    harness.processElement(Loads.raw("job", 0, 8), 0);

    assertThat(iterations()).containsExactly(7L, 8L);
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void withPipelineStagesARankReportsOnlyTheLayersItsStageHosts() throws Exception {
    // two stages over 4 ranks: ranks 0-1 host layer 0, ranks 2-3 layer 1
    harness.processBroadcastElement(pipelinePool("job"), 0);
    ExpertLoad stage0 = Loads.withLayers(SampleRecords.expertLoad("job", 1, 5), 0);
    ExpertLoad stage1 = Loads.withLayers(SampleRecords.expertLoad("job", 2, 5), 1);
    ExpertLoad both = SampleRecords.expertLoad("job", 3, 5);

    harness.processElement(Loads.raw(stage0), 0);
    harness.processElement(Loads.raw(stage1), 0);
    harness.processElement(Loads.raw(both), 0);
    harness.processElement(Loads.raw(ExpertLoad.newBuilder(stage0).setIteration(6).build()), 0);
    harness.processElement(Loads.raw(ExpertLoad.newBuilder(stage1).setIteration(6).build()), 0);

    assertThat(harness.extractOutputValues())
        .extracting(load -> load.rank + "@" + load.iteration + ":" + load.hostingRanks)
        .containsExactly("1@5:2", "1@6:2", "2@5:2", "2@6:2");
    DeadLetter letter = deadLetters().get(0);
    assertThat(deadLetters()).hasSize(1);
    assertThat(letter.getReason()).isEqualTo(DeadLetterReason.INVALID_FIELD);
    assertThat(letter.getDetail())
        .contains(
            "layers[0].layer 0 is hosted by pipeline stage 0 of 2, but rank 3 is in stage 1"
                + " (ranks 2-3)");
  }

  @Test
  void aLoadOfAnotherWorldSizeThanThePoolsIsDeadLetteredAndTheGenuineOneStillAdmitted()
      throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    ExpertLoad genuine = SampleRecords.expertLoad("job", 2, 5);
    ExpertLoad otherWorld = ExpertLoad.newBuilder(genuine).setWorldSize(8).build();

    harness.processElement(Loads.raw("job", 2, 4), 0);
    harness.processElement(Loads.raw(otherWorld), 0);
    harness.processElement(Loads.raw(genuine), 0);

    assertThat(iterations()).containsExactly(4L, 5L);
    assertThat(deadLetters())
        .singleElement()
        .satisfies(
            letter -> {
              assertThat(letter.getReason()).isEqualTo(DeadLetterReason.INVALID_FIELD);
              assertThat(letter.getDetail())
                  .contains("worldSize 8 is not the 4 ranks (tp x pp x dp)");
            });
  }

  @Test
  void withoutPipelineStagesEveryRankReportsEveryLayer() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);

    harness.processElement(Loads.raw("job", 3, 5), 0);
    harness.processElement(Loads.raw("job", 3, 6), 0);

    assertThat(harness.extractOutputValues())
        .extracting(load -> load.hostingRanks)
        .containsExactly(4, 4);
  }

  @Test
  void deadLettersAConflictingDuplicate() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    ExpertLoad first = SampleRecords.expertLoad("job", 0, 7);

    harness.processElement(Loads.raw(first), 0);
    harness.processElement(Loads.raw(Loads.withOtherCounts(first)), 0);
    harness.processElement(Loads.raw("job", 0, 8), 0);
    harness.processElement(Loads.raw(Loads.withOtherCounts(first)), 0);

    assertThat(iterations()).containsExactly(7L, 8L);
    assertThat(deadLetters())
        .as("against the held load, then against the admitted one")
        .extracting(DeadLetter::getReason)
        .containsExactly(DeadLetterReason.DUPLICATE, DeadLetterReason.DUPLICATE);
    DeadLetter letter = deadLetters().get(0);
    assertThat(letter.getReason()).isEqualTo(DeadLetterReason.DUPLICATE);
    assertThat(letter.getDetail()).contains("iteration 7 of rank 0");
  }

  @Test
  void aRestoredGateStillKnowsWhatItAdmittedBeforeItsCheckpoint() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 0, 6), 0);
    harness.processElement(Loads.raw("job", 0, 7), 0);
    OperatorSubtaskState snapshot = harness.snapshot(++checkpoints, 0);
    harness.close();
    harness = harness(3, snapshot);

    harness.processElement(Loads.raw("job", 0, 7), 0);
    harness.processElement(Loads.raw("job", 0, 5), 0);
    harness.processElement(Loads.raw("job", 0, 8), 0);

    assertThat(iterations()).as("the redelivery of 7 is a duplicate").containsExactly(8L);
    assertThat(deadLetters())
        .extracting(DeadLetter::getReason)
        .containsExactly(DeadLetterReason.OUT_OF_ORDER);
  }

  @Test
  void aLoadHeldForConfirmationSurvivesARestoreAndIsAdmittedWhenContinued() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 0, 7), 0);
    OperatorSubtaskState snapshot = harness.snapshot(++checkpoints, 0);
    harness.close();
    harness = harness(3, snapshot);

    harness.processElement(Loads.raw("job", 0, 7), 0);
    harness.processElement(Loads.raw("job", 0, 8), 0);

    assertThat(iterations()).as("7 was held in the checkpoint").containsExactly(7L, 8L);
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void deadLettersAnOutOfOrderIteration() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);

    harness.processElement(Loads.raw("job", 3, 8), 0);
    harness.processElement(Loads.raw("job", 3, 9), 0);
    harness.processElement(Loads.raw("job", 3, 7), 0);

    assertThat(iterations()).containsExactly(8L, 9L);
    assertThat(deadLetters().get(0).getReason()).isEqualTo(DeadLetterReason.OUT_OF_ORDER);
    assertThat(deadLetters().get(0).getDetail())
        .contains("iteration 7 of rank 3 arrived after iteration 9");
  }

  @Test
  void aRanksFirstLoadsAreAdmittedInIterationOrderOnceOneContinuesAnother() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);

    harness.processElement(Loads.raw("job", 3, 9), 0);
    harness.processElement(Loads.raw("job", 3, 8), 0);
    harness.processElement(Loads.raw("job", 3, 10), 0);

    assertThat(iterations())
        .as("10 continues 9, the latest held one it follows")
        .containsExactly(9L, 10L);
    assertThat(deadLetters())
        .singleElement()
        .satisfies(
            letter ->
                assertThat(letter.getDetail())
                    .contains(
                        "iteration 8 of rank 3 jumped away from the rank's iterations, which went on from iteration 9"));
  }

  @Test
  void aSingleAbsurdIterationNeitherBlocksItsRankNorIsLost() throws Exception {
    harness.setProcessingTime(0);
    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 1, 1), 0);
    harness.processElement(Loads.raw("job", 1, 2), 0);

    harness.processElement(Loads.raw("job", 1, 1_000_000_000L), 0);
    harness.processElement(Loads.raw("job", 1, 3), 0);
    harness.processElement(Loads.raw("job", 1, 4), 0);
    assertThat(deadLetters()).as("held until the confirm timeout").isEmpty();
    harness.setProcessingTime(CONFIRM_TIMEOUT);

    assertThat(iterations()).containsExactly(1L, 2L, 3L, 4L);
    assertThat(deadLetters())
        .singleElement()
        .satisfies(
            letter -> {
              assertThat(letter.getReason()).isEqualTo(DeadLetterReason.INVALID_FIELD);
              assertThat(letter.getDetail())
                  .contains(
                      "iteration 1000000000 of rank 1 is more than --max-iteration-jump 100 away"
                          + " from the rank's iteration 4");
            });
    assertThat(harness.numProcessingTimeTimers()).isZero();
  }

  @Test
  void aLoadHeldLateIsGivenAFullTimeoutToBeContinued() throws Exception {
    harness.setProcessingTime(0);
    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 1, 1), 0);
    harness.processElement(Loads.raw("job", 1, 2), 0);
    harness.processElement(Loads.raw("job", 1, 1_000_000_000L), 0);

    harness.setProcessingTime(CONFIRM_TIMEOUT - 100);
    harness.processElement(Loads.raw("job", 1, 500), 0);
    harness.setProcessingTime(CONFIRM_TIMEOUT + 100);
    harness.processElement(Loads.raw("job", 1, 501), 0);

    assertThat(iterations()).containsExactly(1L, 2L, 500L, 501L);
    assertThat(deadLetters())
        .singleElement()
        .satisfies(
            letter ->
                assertThat(letter.getDetail()).contains("iteration 1000000000 of rank 1 jumped"));
  }

  @Test
  void aRankThatSentOneLoadNamingARunStartsInThatRun() throws Exception {
    harness.setProcessingTime(0);
    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 2, 5, "r", 0), 0);

    harness.setProcessingTime(CONFIRM_TIMEOUT);
    harness.processElement(Loads.raw("job", 2, 6, "r", 0), 0);

    assertThat(harness.extractOutputValues())
        .extracting(load -> load.iteration + ":" + load.runId)
        .containsExactly("5:r", "6:r");
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void anAbsurdFirstLoadDoesNotBlockTheRank() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);

    harness.processElement(Loads.raw("job", 2, 1_000_000_000L), 0);
    harness.processElement(Loads.raw("job", 2, 0), 0);
    harness.processElement(Loads.raw("job", 2, 1), 0);
    harness.processElement(Loads.raw("job", 2, 2), 0);

    assertThat(iterations()).containsExactly(0L, 1L, 2L);
    assertThat(deadLetters())
        .singleElement()
        .satisfies(
            letter ->
                assertThat(letter.getDetail())
                    .contains("iteration 1000000000 of rank 2 jumped away"));
  }

  @Test
  void anAbsurdLoadAfterAGoodFirstOneDoesNotCostTheGoodOne() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);

    harness.processElement(Loads.raw("job", 2, 0), 0);
    harness.processElement(Loads.raw("job", 2, 1_000_000_000L), 0);
    harness.processElement(Loads.raw("job", 2, 1), 0);

    assertThat(iterations()).containsExactly(0L, 1L);
    assertThat(deadLetters())
        .singleElement()
        .satisfies(
            letter ->
                assertThat(letter.getDetail())
                    .contains("iteration 1000000000 of rank 2 jumped away"));
  }

  @Test
  void aRankThatGoesFarBackAndGoesOnFromThereIsFollowed() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);

    for (long iteration : new long[] {5_000, 5_001, 5_002, 10, 11, 12}) {
      harness.processElement(Loads.raw("job", 0, iteration), 0);
    }

    assertThat(iterations())
        .as("a restart from an earlier checkpoint, once a second load confirms it")
        .containsExactly(5_000L, 5_001L, 5_002L, 10L, 11L, 12L);
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void aRankThatJumpsAheadAndGoesOnFromThereIsFollowed() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);

    for (long iteration : new long[] {1, 2, 5_000, 5_001, 5_002}) {
      harness.processElement(Loads.raw("job", 0, iteration), 0);
    }

    assertThat(iterations()).containsExactly(1L, 2L, 5_000L, 5_001L, 5_002L);
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void aNewRunUnderTheSameJobIdIsFollowedOnceItsSecondLoadArrives() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    for (long iteration = 500; iteration <= 503; iteration++) {
      harness.processElement(Loads.raw("job", 1, iteration), 0);
    }

    harness.processElement(Loads.raw("job", 1, 0, "run-2", 0), 0);
    assertThat(iterations())
        .as("the new run's first load waits for its second")
        .containsExactly(500L, 501L, 502L, 503L);
    harness.processElement(Loads.raw("job", 1, 1, "run-2", 0), 0);
    harness.processElement(Loads.raw("job", 1, 504), 0);
    harness.processElement(Loads.raw("job", 1, 2, "run-2", 0), 0);

    assertThat(harness.extractOutputValues())
        .extracting(load -> load.iteration + ":" + load.runId + "." + load.attempt)
        .containsExactly(
            "500:null.0",
            "501:null.0",
            "502:null.0",
            "503:null.0",
            "0:run-2.0",
            "1:run-2.0",
            "2:run-2.0");
    assertThat(deadLetters())
        .singleElement()
        .satisfies(
            letter -> {
              assertThat(letter.getReason()).isEqualTo(DeadLetterReason.OUT_OF_ORDER);
              assertThat(letter.getDetail())
                  .contains(
                      "iteration 504 of rank 1 is of the default run attempt 0, but the rank"
                          + " already moved on to run 'run-2' attempt 0");
            });
  }

  @Test
  void aResumedAttemptIsFollowedAndTheAttemptItReplacesIsOutOfOrder() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    for (long iteration = 30; iteration <= 35; iteration++) {
      harness.processElement(Loads.raw("job", 2, iteration, "r", 0), 0);
    }

    harness.processElement(Loads.raw("job", 2, 20, "r", 1), 0);
    harness.processElement(Loads.raw("job", 2, 21, "r", 1), 0);
    harness.processElement(Loads.raw("job", 2, 36, "r", 0), 0);
    harness.processElement(Loads.raw("job", 2, 22, "r", 1), 0);
    harness.processElement(Loads.raw("job", 2, 21, "r", 1), 0);

    assertThat(iterations()).containsExactly(30L, 31L, 32L, 33L, 34L, 35L, 20L, 21L, 22L);
    assertThat(deadLetters())
        .as("the redelivery of 21 of attempt 1 is a duplicate, not dead-lettered")
        .singleElement()
        .satisfies(
            letter -> {
              assertThat(letter.getReason()).isEqualTo(DeadLetterReason.OUT_OF_ORDER);
              assertThat(letter.getDetail())
                  .contains(
                      "is of run 'r' attempt 0, but the rank already moved on to run 'r'"
                          + " attempt 1");
            });
  }

  @Test
  void loadsHeldForAContinuationInTheOldEpochAreDeadLetteredWhenTheRankMovesOn() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 0, 5), 0);
    assertThat(iterations()).as("a rank's first load waits for a continuation").isEmpty();

    harness.processElement(Loads.raw("job", 0, 0, "run-2", 0), 0);
    harness.processElement(Loads.raw("job", 0, 1, "run-2", 0), 0);
    harness.processElement(Loads.raw("job", 0, 6), 0);

    assertThat(iterations()).containsExactly(0L, 1L);
    assertThat(deadLetters())
        .extracting(DeadLetter::getReason)
        .containsExactly(DeadLetterReason.OUT_OF_ORDER, DeadLetterReason.OUT_OF_ORDER);
    assertThat(deadLetters().get(0).getDetail())
        .contains(
            "iteration 5 of rank 0 of the default run attempt 0 was held for a continuation when"
                + " the rank moved on to run 'run-2' attempt 0");
  }

  @Test
  void aSingleLoadNamingAnotherRunDoesNotMoveTheRank() throws Exception {
    harness.setProcessingTime(0);
    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 0, 5), 0);
    harness.processElement(Loads.raw("job", 0, 6), 0);

    harness.processElement(Loads.raw("job", 0, 0, "bogus", 0), 0);
    harness.processElement(Loads.raw("job", 0, 7), 0);
    harness.setProcessingTime(CONFIRM_TIMEOUT);
    harness.processElement(Loads.raw("job", 0, 8), 0);

    assertThat(iterations()).containsExactly(5L, 6L, 7L, 8L);
    assertThat(deadLetters())
        .singleElement()
        .satisfies(
            letter ->
                assertThat(letter.getDetail())
                    .contains(
                        "iteration 0 of rank 0 names run 'bogus' attempt 0, but no later load of"
                            + " the rank continued it"));
  }

  @Test
  void aRunTheRankLeftIsOlderEvenAfterACheckpointAndANewOneIsNewer() throws Exception {
    harness.processBroadcastElement(pool("job"), 0);
    harness.processElement(Loads.raw("job", 3, 0, "a", 0), 0);
    harness.processElement(Loads.raw("job", 3, 1, "a", 0), 0);
    harness.processElement(Loads.raw("job", 3, 0, "b", 0), 0);
    harness.processElement(Loads.raw("job", 3, 1, "b", 0), 0);
    OperatorSubtaskState snapshot = harness.snapshot(++checkpoints, 0);
    harness.close();
    harness = harness(3, snapshot);

    harness.processElement(Loads.raw("job", 3, 2, "a", 0), 0);
    harness.processElement(Loads.raw("job", 3, 2, "b", 0), 0);
    harness.processElement(Loads.raw("job", 3, 0, "c", 0), 0);
    harness.processElement(Loads.raw("job", 3, 1, "c", 0), 0);

    assertThat(harness.extractOutputValues())
        .extracting(load -> load.iteration + ":" + load.runId)
        .containsExactly("2:b", "0:c", "1:c");
    assertThat(deadLetters())
        .extracting(DeadLetter::getDetail)
        .singleElement()
        .satisfies(
            detail -> assertThat(detail).contains("of run 'a' attempt 0, but the rank already"));
  }

  @Test
  void deadLettersLoadsThatContradictThePool() throws Exception {
    PlanPool pool = pool("job");
    pool.getModel().setExpertCount(8);
    harness.processBroadcastElement(pool, 0);

    harness.processElement(Loads.raw("job", 0, 1), 0);

    assertThat(harness.extractOutputValues()).isEmpty();
    assertThat(deadLetters().get(0).getReason()).isEqualTo(DeadLetterReason.INVALID_FIELD);
    assertThat(deadLetters().get(0).getDetail())
        .contains("layers[0].expertCounts has 4 entries but the pool of job 'job' has 8 experts");
  }

  private static KeyedBroadcastOperatorTestHarness<String, RawRecord, PlanPool, RankLoad> harness(
      int maxHeld) throws Exception {
    return harness(maxHeld, null);
  }

  /** The operator the job runs, restored from {@code snapshot} when one is given. */
  private static KeyedBroadcastOperatorTestHarness<String, RawRecord, PlanPool, RankLoad> harness(
      int maxHeld, OperatorSubtaskState snapshot) throws Exception {
    return Harnesses.opened(
        new KeyedBroadcastOperatorTestHarness<>(
            WriteBehindOperators.keyedBroadcast(
                new RankGate(maxHeld, HOLD_TIMEOUT, RECHECK, MAX_JUMP, CONFIRM_TIMEOUT),
                List.of(PoolState.DESCRIPTOR)),
            ExpertLoadDecoder::rankKeyOf,
            Types.STRING,
            1,
            1,
            0),
        snapshot);
  }

  private static PlanPool pool(String jobId) {
    return SampleRecords.planPool(jobId);
  }

  /** The sample pool with two pipeline stages: stage 0 hosts layer 0, stage 1 layer 1. */
  private static PlanPool pipelinePool(String jobId) {
    PlanPool pool = SampleRecords.planPool(jobId);
    pool.getPlans().get(0).getParallel().setPp(2);
    pool.getPlans().get(0).getParallel().setDp(2);
    return pool;
  }

  private List<Long> iterations() {
    return harness.extractOutputValues().stream().map(load -> load.iteration).toList();
  }

  private List<DeadLetter> deadLetters() {
    List<DeadLetter> letters = new ArrayList<>();
    var side = harness.getSideOutput(DeadLetters.TAG);
    if (side != null) {
      side.forEach(record -> letters.add(record.getValue()));
    }
    return letters;
  }

  /** Entries of the keyed state as a checkpoint now would hold them. */
  private int stateEntries() throws Exception {
    harness.snapshot(++checkpoints, 0);
    return ((HeapKeyedStateBackend<?>) harness.getOperator().getKeyedStateBackend())
        .numKeyValueStateEntries();
  }
}
