package io.moeplan.flink.job;

import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.io.Serializable;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes values with the codecs of a registered topic (see {@link Topics}) to the topic a function
 * of the value names (one topic, or the topic of the value's tenant), keyed by a function of the
 * value. Holds only names and functions, so it serializes with the job graph.
 */
final class RegistrySerializer<V> implements KafkaRecordSerializationSchema<V> {

  private static final long serialVersionUID = 1L;

  /** The key of a value. */
  @FunctionalInterface
  interface KeyOf<V> extends Serializable {
    String apply(V value);
  }

  private final String registryTopic;
  private final TopicOf<V> targetTopic;
  private final KeyOf<V> key;
  private transient Topic<String, V> topic;

  /** The topic a value goes to. */
  @FunctionalInterface
  interface TopicOf<V> extends Serializable {
    String apply(V value);
  }

  RegistrySerializer(Topic<String, V> registered, TopicOf<V> targetTopic, KeyOf<V> key) {
    this.registryTopic = registered.name();
    this.targetTopic = targetTopic;
    this.key = key;
  }

  @Override
  @SuppressWarnings("unchecked")
  public ProducerRecord<byte[], byte[]> serialize(
      V value, KafkaSinkContext context, Long timestamp) {
    if (topic == null) {
      topic =
          (Topic<String, V>)
              Topics.byName(registryTopic)
                  .orElseThrow(() -> new IllegalStateException("unknown topic " + registryTopic));
    }
    return new ProducerRecord<>(
        targetTopic.apply(value),
        null,
        timestamp,
        topic.keyCodec().encode(key.apply(value)),
        topic.valueCodec().encode(value));
  }
}
