package io.moeplan.flink.input;

import java.util.Arrays;
import java.util.Objects;

/**
 * A Kafka record as received, before any decoding: where it was read and its bytes. Kept raw so a
 * record that cannot be used is dead-lettered byte for byte.
 */
public class RawRecord {

  /** Topic the record was read from. */
  public String topic;

  /** Partition the record was read from. */
  public int partition;

  /** Offset of the record in its partition. */
  public long offset;

  /** Key bytes; null when the record had no key. */
  public byte[] key;

  /** Value bytes; null for a tombstone. */
  public byte[] value;

  /** Kafka record timestamp in milliseconds. */
  public long timestamp;

  /** For Flink's POJO serializer. */
  public RawRecord() {}

  /** A record read at the given position. */
  public RawRecord(
      String topic, int partition, long offset, byte[] key, byte[] value, long timestamp) {
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.key = key;
    this.value = value;
    this.timestamp = timestamp;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RawRecord other
        && partition == other.partition
        && offset == other.offset
        && timestamp == other.timestamp
        && Objects.equals(topic, other.topic)
        && Arrays.equals(key, other.key)
        && Arrays.equals(value, other.value);
  }

  @Override
  public int hashCode() {
    return Objects.hash(topic, partition, offset);
  }

  @Override
  public String toString() {
    return topic + "/" + partition + "@" + offset;
  }
}
