package io.moeplan.launcher.fit;

import io.moeplan.poolloader.KafkaAccessErrors;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.wire.WireFormatException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads the compacted {@link Topics#MODEL_FIT} topic: every partition from its beginning, without a
 * consumer group, keeping the latest ModelFit of every job (a tombstone forgets the job). Records
 * that do not decode are counted and skipped. Not thread-safe: one thread polls.
 */
public final class ModelFitReader implements AutoCloseable {

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<String, ModelFit> latest = new TreeMap<>();
  private long skipped;
  private String lastProblem;

  private ModelFitReader(KafkaConsumer<byte[], byte[]> consumer) {
    this.consumer = consumer;
  }

  /**
   * A reader of {@code topic} on the broker of {@code client}, positioned at the beginning of every
   * partition.
   *
   * @throws IllegalArgumentException when the broker does not answer within {@code bound}, or the
   *     topic does not exist there
   */
  public static ModelFitReader open(Properties client, String topic, Duration bound) {
    Properties properties = new Properties();
    properties.putAll(client);
    properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    properties.remove(ConsumerConfig.GROUP_ID_CONFIG);
    properties.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) bound.toMillis());
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties);
    try {
      List<PartitionInfo> infos;
      try {
        infos = consumer.partitionsFor(topic, bound);
      } catch (TimeoutException e) {
        throw new IllegalArgumentException(
            "no answer from the Kafka broker at "
                + properties.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG)
                + " within "
                + bound.toSeconds()
                + " s"
                + (properties.getProperty("security.protocol", "PLAINTEXT").startsWith("SASL")
                    ? ""
                    : "; if the broker is secured (SASL_SSL), connect with its client properties:"
                        + " --kafka-config FILE"),
            e);
      } catch (AuthorizationException | AuthenticationException e) {
        throw new IllegalArgumentException(
            KafkaAccessErrors.explain(e, "READ", topic, properties), e);
      }
      if (infos == null || infos.isEmpty()) {
        throw new IllegalArgumentException(
            "topic '"
                + topic
                + "' does not exist on the broker at "
                + properties.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG));
      }
      List<TopicPartition> partitions = new ArrayList<>();
      infos.forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      return new ModelFitReader(consumer);
    } catch (RuntimeException e) {
      consumer.close(Duration.ZERO);
      throw e;
    }
  }

  /**
   * Polls once, waiting up to {@code wait} (0: only what is already fetched); returns the fits that
   * arrived, in order, and keeps the latest of each job.
   */
  public List<ModelFit> poll(Duration wait) {
    List<ModelFit> arrived = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(wait)) {
      if (record.value() == null) {
        if (record.key() != null) {
          latest.remove(new String(record.key(), java.nio.charset.StandardCharsets.UTF_8));
        }
        continue;
      }
      try {
        ModelFit fit = Topics.MODEL_FIT.valueCodec().decode(record.value());
        latest.put(fit.getJobId(), fit);
        arrived.add(fit);
      } catch (WireFormatException e) {
        skipped++;
        lastProblem =
            "offset "
                + record.offset()
                + " of partition "
                + record.partition()
                + " is not a ModelFit: "
                + e.getMessage();
      }
    }
    return arrived;
  }

  /**
   * Polls until every partition is read to the end it had when this was called, or {@code bound}
   * passed; returns whether it got there.
   */
  public boolean readToEnd(Duration bound) {
    long deadline = System.nanoTime() + bound.toNanos();
    Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment(), bound);
    while (true) {
      boolean caughtUp =
          end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
      if (caughtUp) {
        return true;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      poll(Duration.ofNanos(Math.min(left, Duration.ofMillis(200).toNanos())));
    }
  }

  /** The latest fit of {@code jobId} read so far. */
  public Optional<ModelFit> latest(String jobId) {
    return Optional.ofNullable(latest.get(jobId));
  }

  /** The latest fit of every job read so far, by job id. */
  public Map<String, ModelFit> latest() {
    return Collections.unmodifiableMap(latest);
  }

  /** Records skipped because they are not ModelFit records. */
  public long skipped() {
    return skipped;
  }

  /** Why the last skipped record was skipped, or null. */
  public String lastProblem() {
    return lastProblem;
  }

  @Override
  public void close() {
    consumer.close(Duration.ofSeconds(5));
  }
}
