package io.moeplan.flink.input;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.spec.Limits;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExpertLoadDecoderTest {

  private final List<RankLoad> loads = new ArrayList<>();
  private final List<DeadLetter> deadLetters = new ArrayList<>();

  @Test
  void decodesAValidLoadIntoPerLayerCounts() {
    process(Loads.raw("job", 2, 11));

    List<RankLoad> out = loads;
    assertThat(out).hasSize(1);
    RankLoad load = out.get(0);
    assertThat(load.jobId).isEqualTo("job");
    assertThat(load.rank).isEqualTo(2);
    assertThat(load.iteration).isEqualTo(11);
    assertThat(load.layers).containsExactly(0, 1);
    assertThat(load.counts[0]).containsExactly(200, 201, 202, 203);
    assertThat(load.source.offset).isGreaterThanOrEqualTo(0);
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void deadLettersGarbageBytesKeepingThemByteForByte() {
    RawRecord garbage = Loads.raw("job/1", new byte[] {0x7B, 0x7D});

    process(garbage);

    assertThat(loads).isEmpty();
    DeadLetter letter = single(deadLetters());
    assertThat(letter.getReason()).isEqualTo(DeadLetterReason.UNDECODABLE);
    assertThat(letter.getDetail()).contains("7B 7D");
    assertThat(letter.getOffset()).isEqualTo(garbage.offset);
    assertThat(letter.getValue()).isEqualTo(ByteBuffer.wrap(new byte[] {0x7B, 0x7D}));
    assertThat(letter.getKey()).isEqualTo(ByteBuffer.wrap("job/1".getBytes()));
  }

  @Test
  void deadLettersUnknownSchemaFingerprints() {
    byte[] bytes = Topics.EXPERT_LOAD.valueCodec().encode(SampleRecords.expertLoad("job", 0, 1));
    bytes[5] ^= 0x55;

    process(Loads.raw("job/0", bytes));

    assertThat(single(deadLetters()).getReason()).isEqualTo(DeadLetterReason.UNKNOWN_SCHEMA);
  }

  @Test
  void deadLettersTruncatedBodiesAndTombstones() {
    byte[] bytes = Topics.EXPERT_LOAD.valueCodec().encode(SampleRecords.expertLoad("job", 0, 1));

    process(Loads.raw("job/0", java.util.Arrays.copyOf(bytes, bytes.length - 4)));
    process(Loads.raw("job/0", null));

    assertThat(deadLetters())
        .extracting(DeadLetter::getReason)
        .containsExactly(DeadLetterReason.UNDECODABLE, DeadLetterReason.UNDECODABLE);
  }

  @Test
  void namesTheOffendingFieldOfInvalidLoads() {
    ExpertLoad good = SampleRecords.expertLoad("job", 1, 5);

    assertThat(detail(withRank(good, 4))).contains("rank 4 is outside the world size 4");
    assertThat(detail(withRank(good, -1))).contains("rank -1");
    assertThat(detail(Loads.withLayer(good, 1, layer(1, 3, 1))))
        .contains("layers[1].expertCounts has 3 entries but layers[0] has 4");
    assertThat(detail(Loads.withLayer(good, 0, new LayerLoad(0, List.of(1L, -2L, 3L, 4L)))))
        .contains("layers[0].expertCounts[1] is negative: -2");
    assertThat(detail(Loads.withLayer(good, 1, layer(0, 4, 1))))
        .contains("layers[1].layer 0 repeats");
    ExpertLoad noLayers = ExpertLoad.newBuilder(good).setLayers(List.of()).build();
    assertThat(detail(noLayers)).contains("layers is empty");
    ExpertLoad zeroWorld = ExpertLoad.newBuilder(good).setWorldSize(0).setRank(0).build();
    assertThat(detail(zeroWorld)).contains("worldSize must be in 1..");
    ExpertLoad negativeIteration = ExpertLoad.newBuilder(good).setIteration(-3).build();
    assertThat(detail(negativeIteration)).contains("iteration must be >= 0, got -3");
    ExpertLoad slashJob = ExpertLoad.newBuilder(good).setJobId("a/b").build();
    assertThat(detail(slashJob)).contains("jobId");
    assertThat(detail(ExpertLoad.newBuilder(good).setRunId("r/1").build()))
        .contains("runId: run id must be null or non-blank without '/', got 'r/1'");
    assertThat(detail(ExpertLoad.newBuilder(good).setRunId(" ").build())).contains("runId");
    assertThat(detail(ExpertLoad.newBuilder(good).setAttempt(-1).build()))
        .contains("attempt must be >= 0, got -1");
  }

  @Test
  void carriesTheRunAndAttemptAndRejectsABadRunIdOnEitherPath() {
    ExpertLoad good =
        ExpertLoad.newBuilder(SampleRecords.expertLoad("job", 1, 5))
            .setRunId("run-7")
            .setAttempt(2)
            .build();

    RankLoad load = Loads.decode(Loads.raw(good));
    assertThat(load.runId).isEqualTo("run-7");
    assertThat(load.attempt).isEqualTo(2);
    RankLoad plain = Loads.decoded("job", 1, 5);
    assertThat(plain.runId).as("a load that names no run: the default run").isNull();
    assertThat(plain.attempt).isZero();

    ExpertLoad bad = ExpertLoad.newBuilder(good).setRunId("run/7").build();
    ExpertLoadDecoder.Decoded decoded = ExpertLoadDecoder.decode(Loads.raw(bad));
    assertThat(decoded.load()).isNull();
    assertThat(decoded.rejection().reason()).isEqualTo(DeadLetterReason.INVALID_FIELD);
    assertThat(decoded.rejection().detail()).startsWith("runId: ").contains("'run/7'");
  }

  @Test
  void refusesOversizedExpertArrays() {
    LayerLoad huge = new LayerLoad(0, Collections.nCopies(Limits.MAX_EXPERTS + 1, 1L));
    ExpertLoad load =
        ExpertLoad.newBuilder(SampleRecords.expertLoad("job", 0, 1))
            .setLayers(List.of(huge))
            .build();

    assertThat(detail(load)).contains("expertCounts has " + (Limits.MAX_EXPERTS + 1) + " entries");
  }

  @Test
  void refusesAKeyThatDisagreesWithTheRecord() {
    ExpertLoad load = SampleRecords.expertLoad("job", 1, 5);

    process(Loads.raw("job/2", Topics.EXPERT_LOAD.valueCodec().encode(load)));

    assertThat(single(deadLetters()).getDetail())
        .contains("key 'job/2' does not match jobId/rank 'job/1'");
  }

  @Test
  void routesByTheKafkaKeyOrForKeylessRecordsByTheDecodedRank() {
    ExpertLoad load = SampleRecords.expertLoad("job", 3, 5);
    byte[] value = Topics.EXPERT_LOAD.valueCodec().encode(load);

    assertThat(ExpertLoadDecoder.rankKeyOf(Loads.raw(load))).isEqualTo("job/3");
    assertThat(ExpertLoadDecoder.rankKeyOf(Loads.raw(null, value))).isEqualTo("job/3");
    assertThat(ExpertLoadDecoder.rankKeyOf(Loads.raw("other/1", value)))
        .as("the key as sent; the gate dead-letters the mismatch")
        .isEqualTo("other/1");
    assertThat(ExpertLoadDecoder.rankKeyOf(Loads.raw(null, new byte[] {1, 2})))
        .isEqualTo(ExpertLoadDecoder.UNKNOWN_RANK_KEY);
  }

  @Test
  void everyRecordIsEitherEmittedOrDeadLettered() {
    process(Loads.raw("job", 0, 1));
    process(Loads.raw("job/0", new byte[] {1}));
    process(Loads.raw(withRank(SampleRecords.expertLoad("job", 0, 2), 9)));
    process(Loads.raw("job", 1, 1));

    assertThat(loads.size() + deadLetters().size()).isEqualTo(4);
    assertThat(deadLetters()).hasSize(2);
  }

  private static String detail(ExpertLoad load) {
    Rejection rejection = ExpertLoadDecoder.check(ExpertLoadDecoder.toRankLoad(load, null), null);
    assertThat(rejection).as("rejection of %s", load).isNotNull();
    assertThat(rejection.reason()).isEqualTo(DeadLetterReason.INVALID_FIELD);
    return rejection.detail();
  }

  private static ExpertLoad withRank(ExpertLoad load, int rank) {
    return ExpertLoad.newBuilder(load).setRank(rank).build();
  }

  private static LayerLoad layer(int layer, int experts, long base) {
    return SampleRecords.layerLoad(layer, experts, base);
  }

  /** Decodes a record as the gate does: a load, or a dead letter with the reason. */
  private void process(RawRecord record) {
    ExpertLoadDecoder.Decoded decoded = ExpertLoadDecoder.decode(record);
    assertThat(decoded.load() == null).isNotEqualTo(decoded.rejection() == null);
    if (decoded.load() != null) {
      loads.add(decoded.load());
    } else {
      deadLetters.add(DeadLetters.of(record, decoded.rejection()));
    }
  }

  private List<DeadLetter> deadLetters() {
    return deadLetters;
  }

  private static DeadLetter single(List<DeadLetter> letters) {
    assertThat(letters).hasSize(1);
    return letters.get(0);
  }
}
