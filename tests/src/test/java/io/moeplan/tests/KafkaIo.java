package io.moeplan.tests;

import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.schemas.Topic;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Produces and reads records of the registry's types on a test broker, with bounded waits. */
final class KafkaIo {

  static final Duration READ_BOUND = Duration.ofSeconds(90);

  private final Supplier<Properties> client;

  KafkaIo(EmbeddedKafkaBroker broker) {
    this.client = broker::clientProperties;
  }

  /** Produces and reads with these client settings (e.g. one principal's on a secured broker). */
  KafkaIo(Properties clientProperties) {
    this.client =
        () -> {
          Properties copy = new Properties();
          copy.putAll(clientProperties);
          return copy;
        };
  }

  /** Sends one value with the codecs of {@code codecs} to the topic named {@code topicName}. */
  <K, V> void send(String topicName, Topic<K, V> codecs, K key, V value) {
    sendRaw(topicName, codecs.keyCodec().encode(key), codecs.valueCodec().encode(value));
  }

  /** Sends raw value bytes under a string key. */
  void sendRaw(String topicName, String key, byte[] value) {
    sendRaw(topicName, key.getBytes(StandardCharsets.UTF_8), value);
  }

  private void sendRaw(String topicName, byte[] key, byte[] value) {
    Properties properties = client.get();
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(topicName, key, value));
      producer.flush();
    }
  }

  /**
   * Reads the topic from the beginning until it holds at least {@code count} records and every
   * record up to the end offsets seen at that point is read, or the bound passes; returns what was
   * read, decoded with {@code codecs}.
   */
  <K, V> List<V> readAtLeast(String topicName, Topic<K, V> codecs, int count) {
    Properties properties = client.get();
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<V> values = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = assignFromStart(consumer, topicName);
      long deadline = System.nanoTime() + READ_BOUND.toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          values.add(codecs.valueCodec().decode(record.value()));
        }
        if (values.size() >= count && caughtUp(consumer, partitions)) {
          break;
        }
      }
    }
    return values;
  }

  /** Assigns {@code consumer} every partition of {@code topic} from the start; returns them. */
  static List<TopicPartition> assignFromStart(KafkaConsumer<?, ?> consumer, String topic) {
    List<TopicPartition> partitions = new ArrayList<>();
    consumer
        .partitionsFor(topic)
        .forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    return partitions;
  }

  private static boolean caughtUp(
      KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) {
    var end = consumer.endOffsets(partitions);
    return partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p));
  }
}
