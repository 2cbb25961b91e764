package io.moeplan.executor.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

class KafkaClientSettingsTest {

  private final List<KafkaClientSettings.Forced> forced = new ArrayList<>();

  @Test
  void keepsTheUsersAcksLingerAndEveryOtherSettingOfTheProducer() {
    Properties user = properties("acks", "1", "linger.ms", "5", "max.request.size", "2048");

    Properties producer = KafkaClientSettings.producer(user, forced);

    assertThat(producer)
        .containsEntry("acks", "1")
        .containsEntry("linger.ms", "5")
        .containsEntry("max.request.size", "2048")
        .containsEntry("bootstrap.servers", "broker:9092");
    assertThat(forced).isEmpty();
  }

  @Test
  void defaultsTheProducerToEveryReplicaAcknowledgingWithoutLinger() {
    Properties producer = KafkaClientSettings.producer(properties(), forced);

    assertThat(producer).containsEntry("acks", "all").containsEntry("linger.ms", "0");
    assertThat(forced).isEmpty();
  }

  @Test
  void reportsEverySettingItMustReplaceWithTheUsersValueAndTheOneUsed() {
    Properties user =
        properties(
            "value.serializer",
            "org.apache.kafka.common.serialization.StringSerializer",
            "value.deserializer",
            StringDeserializer.class,
            "auto.offset.reset",
            "latest",
            "enable.auto.commit",
            "true",
            "group.id",
            "mine");

    Properties producer = KafkaClientSettings.producer(user, forced);
    Properties consumer = KafkaClientSettings.consumer(user, forced);

    assertThat(producer).containsEntry("value.serializer", ByteArraySerializer.class.getName());
    assertThat(consumer)
        .containsEntry("auto.offset.reset", "earliest")
        .containsEntry("enable.auto.commit", "false")
        .containsEntry("group.id", "mine");
    assertThat(forced)
        .extracting(KafkaClientSettings.Forced::key)
        .containsExactly(
            "value.serializer", "value.deserializer", "auto.offset.reset", "enable.auto.commit");
    assertThat(forced.get(1).userValue()).isEqualTo(StringDeserializer.class.getName());
    assertThat(forced.get(2).describe())
        .startsWith("Kafka client setting auto.offset.reset=latest is replaced by earliest: ");
  }

  @Test
  void aUserValueEqualToTheNeededOneIsNotReported() {
    Properties user =
        properties(
            "key.serializer",
            ByteArraySerializer.class,
            "auto.offset.reset",
            "EARLIEST",
            "enable.auto.commit",
            " false");

    KafkaClientSettings.producer(user, forced);
    KafkaClientSettings.consumer(user, forced);

    assertThat(forced).isEmpty();
  }

  private static Properties properties(Object... keysAndValues) {
    Properties properties = new Properties();
    properties.put("bootstrap.servers", "broker:9092");
    for (int i = 0; i < keysAndValues.length; i += 2) {
      properties.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return properties;
  }
}
