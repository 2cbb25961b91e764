package io.moeplan.flink.input;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.wire.SingleObjectCodec;
import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;

/**
 * The current-schema reader against Avro's path, on the same bytes: whatever it accepts, Avro
 * decodes to the same load and finds valid; whatever Avro accepts, it accepts too.
 */
class CurrentSchemaLoadReaderTest {

  private final Random random = new Random(20261128);

  @Test
  void agreesWithAvroOnRandomLoadsValidAndInvalid() {
    int accepted = 0;
    for (int i = 0; i < 3_000; i++) {
      ExpertLoad load = randomLoad();
      accepted += compare(record(randomKey(load), Topics.EXPERT_LOAD.valueCodec().encode(load)));
    }
    assertThat(accepted).as("valid loads among the random ones").isBetween(300, 2_700);
  }

  @Test
  void agreesWithAvroOnTruncatedExtendedAndCorruptedBytes() {
    for (int i = 0; i < 3_000; i++) {
      ExpertLoad load = validLoad();
      byte[] bytes = Topics.EXPERT_LOAD.valueCodec().encode(load);
      byte[] changed =
          switch (i % 3) {
            case 0 -> Arrays.copyOf(bytes, random.nextInt(bytes.length));
            case 1 -> Arrays.copyOf(bytes, bytes.length + 1 + random.nextInt(3));
            default -> {
              byte[] copy = bytes.clone();
              int at = SingleObjectCodec.HEADER_LENGTH + random.nextInt(bytes.length - 10);
              copy[at] = (byte) random.nextInt(256);
              yield copy;
            }
          };
      compare(record(Topics.expertLoadKey(load.getJobId(), load.getRank()), changed));
    }
  }

  @Test
  void readsArraysWrittenInSeveralBlocks() throws Exception {
    ExpertLoad load = validLoad();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(Arrays.copyOf(Topics.EXPERT_LOAD.valueCodec().encode(load), 10));
    // a blocking encoder writes arrays longer than its block size as several sized blocks
    BinaryEncoder encoder =
        new EncoderFactory().configureBlockSize(64).blockingBinaryEncoder(out, null);
    new SpecificDatumWriter<>(ExpertLoad.class).write(load, encoder);
    encoder.flush();
    RawRecord record = record(null, out.toByteArray());
    assertThat(record.value).isNotEqualTo(Topics.EXPERT_LOAD.valueCodec().encode(load));

    assertThat(compare(record)).isEqualTo(1);
    assertThat(CurrentSchemaLoadReader.read(record).counts[0])
        .containsExactly(
            load.getLayers().get(0).getExpertCounts().stream()
                .mapToLong(Long::longValue)
                .toArray());
  }

  @Test
  void leavesOverlongVarintsToAvro() {
    ExpertLoad load = validLoad();
    load.setJobId("j");
    load.setRank(0);
    byte[] bytes = Topics.EXPERT_LOAD.valueCodec().encode(load);
    // header, jobId (length 1, "j"), then rank 0 as one byte; instead: five bytes that all say
    // "more follows" (Avro refuses an int longer than 5 bytes), and 0 in two bytes (Avro accepts)
    int rankAt = SingleObjectCodec.HEADER_LENGTH + 2;
    assertThat(bytes[rankAt]).isZero();
    byte[] tail = Arrays.copyOfRange(bytes, rankAt + 1, bytes.length);
    for (byte[] rank :
        new byte[][] {
          {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80}, {(byte) 0x80, 0}
        }) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.write(bytes, 0, rankAt);
      out.writeBytes(rank);
      out.writeBytes(tail);
      compare(record(null, out.toByteArray()));
    }
  }

  @Test
  void leavesOtherWriterSchemasToAvro() {
    byte[] bytes = Topics.EXPERT_LOAD.valueCodec().encode(validLoad());
    bytes[2] ^= 1;

    assertThat(CurrentSchemaLoadReader.read(record(null, bytes))).isNull();
  }

  /** 1 when both accept the record, 0 when both leave it; fails when they disagree. */
  private static int compare(RawRecord record) {
    RankLoad fast = CurrentSchemaLoadReader.read(record);
    ExpertLoadDecoder.Decoded avro = ExpertLoadDecoder.decodeWithAvro(record);
    if (avro.load() == null) {
      assertThat(fast).as("accepted what Avro rejects: %s", avro.rejection()).isNull();
      return 0;
    }
    assertThat(fast).as("left a valid load to Avro").isNotNull();
    RankLoad slow = avro.load();
    assertThat(fast.jobId).isEqualTo(slow.jobId);
    assertThat(new long[] {fast.rank, fast.worldSize, fast.iteration, fast.planVersion})
        .containsExactly(slow.rank, slow.worldSize, slow.iteration, slow.planVersion);
    assertThat(fast.producedAtMillis).isEqualTo(slow.producedAtMillis);
    assertThat(fast.runId).isEqualTo(slow.runId);
    assertThat(fast.attempt).isEqualTo(slow.attempt);
    assertThat(fast.layers).containsExactly(slow.layers);
    assertThat(fast.counts).isDeepEqualTo(slow.counts);
    assertThat(fast.source).isSameAs(record);
    return 1;
  }

  private ExpertLoad validLoad() {
    int worldSize = 1 + random.nextInt(64);
    List<LayerLoad> layers = new ArrayList<>();
    int experts = 1 + random.nextInt(300);
    int layerCount = 1 + random.nextInt(40);
    for (int l = 0; l < layerCount; l++) {
      List<Long> counts = new ArrayList<>();
      for (int e = 0; e < experts; e++) {
        counts.add(
            random.nextInt(4) == 0 ? random.nextLong() & Long.MAX_VALUE : random.nextInt(9000));
      }
      layers.add(new LayerLoad(l * 3 + 1, counts));
    }
    return ExpertLoad.newBuilder()
        .setJobId(random.nextBoolean() ? "job-" + random.nextInt(100) : "jöb✓" + random.nextInt(9))
        .setRank(random.nextInt(worldSize))
        .setWorldSize(worldSize)
        .setIteration(random.nextInt(1 << 20))
        .setPlanVersion(random.nextInt(5))
        .setLayers(layers)
        .setProducedAt(Instant.ofEpochMilli(random.nextLong() >>> 20))
        .setRunId(
            switch (random.nextInt(3)) {
              case 0 -> null;
              case 1 -> "run-" + random.nextInt(100);
              default -> "rün✓" + random.nextInt(9);
            })
        .setAttempt(random.nextBoolean() ? 0 : random.nextInt(1 << 20))
        .build();
  }

  /** A valid load, or one with one of the problems the structural checks catch. */
  private ExpertLoad randomLoad() {
    ExpertLoad load = validLoad();
    List<LayerLoad> layers = new ArrayList<>(load.getLayers());
    switch (random.nextInt(16)) {
      case 0 -> load.setJobId(random.nextBoolean() ? " " : "a/b");
      case 1 -> load.setWorldSize(random.nextBoolean() ? 0 : 2_000_000);
      case 2 -> load.setRank(random.nextBoolean() ? -1 : load.getWorldSize());
      case 3 -> load.setIteration(-1 - random.nextInt(5));
      case 4 -> layers.clear();
      case 5 -> layers.add(layers.get(0));
      case 6 -> layers.set(0, new LayerLoad(-3, layers.get(0).getExpertCounts()));
      case 7 -> layers.set(0, new LayerLoad(0, List.of()));
      case 8 -> {
        LayerLoad last = layers.get(layers.size() - 1);
        List<Long> counts = new ArrayList<>(last.getExpertCounts());
        counts.set(random.nextInt(counts.size()), -1L - random.nextInt(3));
        layers.set(layers.size() - 1, new LayerLoad(last.getLayer(), counts));
      }
      case 9 -> {
        List<Long> counts = new ArrayList<>(layers.get(0).getExpertCounts());
        counts.add(1L);
        layers.add(new LayerLoad(60_000, counts));
      }
      case 10 -> layers.add(new LayerLoad(70_000, layers.get(0).getExpertCounts()));
      case 11 -> load.setRunId(random.nextBoolean() ? "" : random.nextBoolean() ? " " : "r/1");
      case 12 -> load.setAttempt(-1 - random.nextInt(5));
      default -> {}
    }
    load.setLayers(layers);
    return load;
  }

  private String randomKey(ExpertLoad load) {
    return switch (random.nextInt(6)) {
      case 0 -> null;
      case 1 -> load.getJobId() + "/" + (load.getRank() + 1);
      default -> Topics.expertLoadKey(load.getJobId(), load.getRank());
    };
  }

  private static RawRecord record(String key, byte[] value) {
    return Loads.raw(key, value);
  }
}
