package io.moeplan.schemas;

import io.moeplan.schemas.wire.Codec;
import java.util.Objects;

/**
 * A Kafka topic of moeplan with the codecs of its keys and values.
 *
 * @param name the topic name
 * @param keyCodec encodes record keys
 * @param valueCodec encodes record values
 * @param compacted whether the topic keeps only the latest value per key
 */
public record Topic<K, V>(String name, Codec<K> keyCodec, Codec<V> valueCodec, boolean compacted) {

  /** Validates the components. */
  public Topic {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(keyCodec, "keyCodec");
    Objects.requireNonNull(valueCodec, "valueCodec");
    if (name.isBlank()) {
      throw new IllegalArgumentException("topic name is blank");
    }
  }

  /** The Kafka {@code cleanup.policy} of the topic. */
  public String cleanupPolicy() {
    return compacted ? "compact" : "delete";
  }
}
