package io.moeplan.schemas.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;

class SingleObjectCodecTest {

  private final SingleObjectCodec<ExpertLoad> loads = codec(Topics.EXPERT_LOAD.valueCodec());

  @Test
  void roundTripsEveryRecordType() {
    ExpertLoad load = SampleRecords.expertLoad("job-a", 2, 17);
    PlanPool pool = SampleRecords.planPool("job-a");
    PlanDecision decision = SampleRecords.planDecision("job-a", 5);
    DeadLetter deadLetter = SampleRecords.deadLetter();
    io.moeplan.schemas.WorkerTimes times = SampleRecords.workerTimes("job-a");

    assertThat(Topics.EXPERT_LOAD.valueCodec().decode(Topics.EXPERT_LOAD.valueCodec().encode(load)))
        .isEqualTo(load);
    assertThat(Topics.PLAN_POOL.valueCodec().decode(Topics.PLAN_POOL.valueCodec().encode(pool)))
        .isEqualTo(pool);
    assertThat(
            Topics.PLAN_DECISIONS
                .valueCodec()
                .decode(Topics.PLAN_DECISIONS.valueCodec().encode(decision)))
        .isEqualTo(decision);
    assertThat(
            Topics.EXPERT_LOAD_DLQ
                .valueCodec()
                .decode(Topics.EXPERT_LOAD_DLQ.valueCodec().encode(deadLetter)))
        .isEqualTo(deadLetter);
    assertThat(
            Topics.WORKER_TIMES.valueCodec().decode(Topics.WORKER_TIMES.valueCodec().encode(times)))
        .isEqualTo(times);
  }

  @Test
  void writesTheAvroSingleObjectHeader() {
    byte[] bytes = loads.encode(SampleRecords.expertLoad("job-a", 0, 1));

    assertThat(Arrays.copyOf(bytes, 2)).containsExactly(0xC3, 0x01);
    long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertThat(fingerprint)
        .isEqualTo(SchemaNormalization.parsingFingerprint64(ExpertLoad.getClassSchema()));
  }

  @Test
  void bytesAreReadableByAvrosOwnGenericMessageDecoder() throws Exception {
    ExpertLoad load = SampleRecords.expertLoad("job-a", 3, 99);
    BinaryMessageDecoder<GenericRecord> generic =
        new BinaryMessageDecoder<>(GenericData.get(), ExpertLoad.getClassSchema());

    GenericRecord record = generic.decode(loads.encode(load));

    assertThat(record.get("jobId").toString()).isEqualTo("job-a");
    assertThat(record.get("rank")).isEqualTo(3);
    assertThat(record.get("iteration")).isEqualTo(99L);
  }

  @Test
  void decodesBytesWrittenByAvrosOwnGenericMessageEncoder() throws Exception {
    ExpertLoad load = SampleRecords.expertLoad("job-b", 1, 7);
    BinaryMessageEncoder<ExpertLoad> avroEncoder = ExpertLoad.getEncoder();

    byte[] bytes = avroEncoder.encode(load).array();

    assertThat(loads.decode(bytes)).isEqualTo(load);
  }

  @Test
  void rejectsBadMagicNamingTheBytesReceived() {
    assertThatThrownBy(() -> loads.decode(new byte[] {0x7B, 0x22, 0x6A, 0x6F}))
        .isInstanceOf(WireFormatException.BadMagic.class)
        .hasMessageContaining("7B 22 6A 6F")
        .hasMessageContaining("4 bytes")
        .hasMessageContaining("ExpertLoad");
  }

  @Test
  void rejectsUnknownFingerprintPrintingIt() {
    byte[] bytes = loads.encode(SampleRecords.expertLoad("job-a", 0, 1));
    ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(0x0123456789ABCDEFL);

    assertThatThrownBy(() -> loads.decode(bytes))
        .isInstanceOfSatisfying(
            WireFormatException.UnknownFingerprint.class,
            e -> assertThat(e.fingerprint()).isEqualTo(0x0123456789ABCDEFL))
        .hasMessageContaining("0x0123456789abcdef");
  }

  @Test
  void rejectsTruncatedHeaderAndBody() {
    byte[] bytes = loads.encode(SampleRecords.expertLoad("job-a", 0, 1));

    assertThatThrownBy(() -> loads.decode(Arrays.copyOf(bytes, 5)))
        .isInstanceOf(WireFormatException.Truncated.class)
        .hasMessageContaining("5 bytes");
    assertThatThrownBy(() -> loads.decode(new byte[] {(byte) 0xC3}))
        .isInstanceOf(WireFormatException.Truncated.class);
    assertThatThrownBy(() -> loads.decode(new byte[0]))
        .isInstanceOf(WireFormatException.Truncated.class);
    assertThatThrownBy(() -> loads.decode(Arrays.copyOf(bytes, bytes.length - 3)))
        .isInstanceOf(WireFormatException.Truncated.class)
        .hasMessageContaining("body ends early");
  }

  @Test
  void rejectsTrailingBytesAfterTheBody() {
    byte[] bytes = loads.encode(SampleRecords.expertLoad("job-a", 0, 1));
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 2);

    assertThatThrownBy(() -> loads.decode(longer))
        .isInstanceOf(WireFormatException.Malformed.class)
        .hasMessageContaining("2 bytes left");
  }

  @Test
  void rejectsAnArrayLengthClaimTooLargeForMemoryWithoutAllocatingIt() {
    // header, jobId "j", rank 0, worldSize 1, iteration 0, planVersion 0, then a layers array
    // claiming 2^40 items
    ByteBuffer body = ByteBuffer.allocate(64);
    body.put(new byte[] {2, 'j', 0, 2, 0, 0});
    long claim = 1L << 40;
    long zigzag = claim << 1;
    while ((zigzag & ~0x7FL) != 0) {
      body.put((byte) ((zigzag & 0x7F) | 0x80));
      zigzag >>>= 7;
    }
    body.put((byte) zigzag);
    byte[] header = Arrays.copyOf(loads.encode(SampleRecords.expertLoad("j", 0, 0)), 10);
    byte[] bytes = new byte[10 + body.position()];
    System.arraycopy(header, 0, bytes, 0, 10);
    System.arraycopy(body.array(), 0, bytes, 10, body.position());

    assertThatThrownBy(() -> loads.decode(bytes)).isInstanceOf(WireFormatException.Malformed.class);
  }

  @Test
  void rejectsNullValueAsTruncated() {
    assertThatThrownBy(() -> loads.decode(null))
        .isInstanceOf(WireFormatException.Truncated.class)
        .hasMessageContaining("null");
  }

  @Test
  void keyCodecRoundTripsAndRefusesInvalidUtf8() {
    String key = Topics.expertLoadKey("jöb", 3);

    assertThat(StringCodec.UTF8.decode(StringCodec.UTF8.encode(key))).isEqualTo("jöb/3");
    assertThatThrownBy(() -> StringCodec.UTF8.decode(new byte[] {(byte) 0xFF, (byte) 0xFE}))
        .isInstanceOf(WireFormatException.Malformed.class)
        .hasMessageContaining("UTF-8");
  }

  @SuppressWarnings("unchecked")
  private static <T extends org.apache.avro.specific.SpecificRecord> SingleObjectCodec<T> codec(
      Codec<T> codec) {
    return (SingleObjectCodec<T>) codec;
  }
}
