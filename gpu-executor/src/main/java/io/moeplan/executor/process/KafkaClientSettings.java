package io.moeplan.executor.process;

import java.util.List;
import java.util.Locale;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The properties of an executor's Kafka clients: the user's client settings as given, plus the few
 * the executor needs. A setting the executor only prefers is added where the user has none; one it
 * must force replaces the user's value, and every such replacement is returned so it can be
 * reported.
 */
final class KafkaClientSettings {

  /** A user setting replaced by the value the executor needs, and why it needs it. */
  record Forced(String key, String userValue, String used, String why) {

    /** One line naming the key, both values and the reason. */
    String describe() {
      return "Kafka client setting "
          + key
          + "="
          + userValue
          + " is replaced by "
          + used
          + ": "
          + why;
    }
  }

  private KafkaClientSettings() {}

  /** Producer properties: bytes in, and by default every replica acknowledging, no linger. */
  static Properties producer(Properties user, List<Forced> forced) {
    Properties properties = copy(user);
    force(
        properties,
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
        ByteArraySerializer.class.getName(),
        "the executor encodes keys itself",
        forced);
    force(
        properties,
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
        ByteArraySerializer.class.getName(),
        "the executor encodes values itself",
        forced);
    properties.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
    properties.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "0");
    return properties;
  }

  /** Consumer properties: bytes out, read from the earliest offset, no offsets committed. */
  static Properties consumer(Properties user, List<Forced> forced) {
    Properties properties = copy(user);
    force(
        properties,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
        ByteArrayDeserializer.class.getName(),
        "the executor decodes keys itself",
        forced);
    force(
        properties,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
        ByteArrayDeserializer.class.getName(),
        "the executor decodes values itself",
        forced);
    force(
        properties,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
        "earliest",
        "the executor reads the pool and decision topics from their beginning",
        forced);
    force(
        properties,
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
        "false",
        "the executor assigns partitions itself and keeps no committed offsets",
        forced);
    return properties;
  }

  private static Properties copy(Properties user) {
    Properties properties = new Properties();
    properties.putAll(user);
    return properties;
  }

  private static void force(
      Properties properties, String key, String value, String why, List<Forced> forced) {
    Object given = properties.get(key);
    if (given != null) {
      String userValue = given instanceof Class<?> type ? type.getName() : given.toString().trim();
      if (!userValue.toLowerCase(Locale.ROOT).equals(value.toLowerCase(Locale.ROOT))) {
        forced.add(new Forced(key, userValue, value, why));
      }
    }
    properties.put(key, value);
  }
}
