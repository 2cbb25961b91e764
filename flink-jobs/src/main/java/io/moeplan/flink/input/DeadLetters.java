package io.moeplan.flink.input;

import io.moeplan.schemas.DeadLetter;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.apache.flink.util.OutputTag;

/** Builds dead letters and names the side output they travel on. */
public final class DeadLetters {

  /** Side output of every operator that rejects input. */
  public static final OutputTag<DeadLetter> TAG = new OutputTag<>("dead-letters") {};

  private DeadLetters() {}

  /**
   * A dead letter for a record, stamped with the record's own Kafka timestamp so that a replay
   * re-emits the identical dead letter.
   */
  public static DeadLetter of(RawRecord record, Rejection rejection) {
    return DeadLetter.newBuilder()
        .setSourceTopic(record.topic)
        .setPartition(record.partition)
        .setOffset(record.offset)
        .setKey(record.key == null ? null : ByteBuffer.wrap(record.key))
        .setValue(record.value == null ? null : ByteBuffer.wrap(record.value))
        .setReason(rejection.reason())
        .setDetail(rejection.detail())
        .setDeadLetteredAt(Instant.ofEpochMilli(record.timestamp))
        .build();
  }
}
