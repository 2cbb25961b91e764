package io.moeplan.executor.process;

import io.moeplan.executor.decisions.DecisionSource;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTimes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * An executor's Kafka clients: a producer for expert loads and worker times, and a consumer of
 * every partition of the decisions topic from the beginning (no consumer group: a restarted
 * executor reads the compacted topic again and resumes from the latest decision per layer). Records
 * of other jobs are skipped by the caller.
 */
public final class KafkaExecutorIo implements DecisionSource, ExecutorSink, AutoCloseable {

  private final ExecutorSettings.TopicNames topics;
  private final KafkaProducer<byte[], byte[]> producer;
  private final KafkaConsumer<byte[], byte[]> decisions;
  private long undecodable;

  /** Clients on {@code client} (bootstrap servers and any security settings). */
  public KafkaExecutorIo(Properties client, ExecutorSettings.TopicNames topics) {
    this.topics = topics;
    Properties producerProperties = new Properties();
    producerProperties.putAll(client);
    producerProperties.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    producerProperties.put(ProducerConfig.ACKS_CONFIG, "all");
    this.producer =
        new KafkaProducer<>(
            producerProperties, new ByteArraySerializer(), new ByteArraySerializer());
    this.decisions = consumer(client);
    try {
      assignFromBeginning(decisions, topics.planDecisions(), Duration.ofSeconds(30));
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  private static KafkaConsumer<byte[], byte[]> consumer(Properties client) {
    Properties properties = new Properties();
    properties.putAll(client);
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    return new KafkaConsumer<>(
        properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private static void assignFromBeginning(
      KafkaConsumer<byte[], byte[]> consumer, String topic, Duration bound) {
    var infos = consumer.partitionsFor(topic, bound);
    if (infos == null || infos.isEmpty()) {
      throw new IllegalArgumentException("topic '" + topic + "' does not exist on the broker");
    }
    List<TopicPartition> partitions = new ArrayList<>();
    infos.forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
  }

  /**
   * Reads the pool topic from the beginning until a pool of {@code jobId} has been seen and the
   * topic is read to its end (so the latest pool wins), or throws after {@code bound}.
   */
  public static PlanPool readPool(Properties client, String topic, String jobId, Duration bound) {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(client)) {
      assignFromBeginning(consumer, topic, bound);
      PlanPool latest = null;
      long deadline = System.nanoTime() + bound.toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          if (record.value() == null) {
            continue;
          }
          PlanPool pool;
          try {
            pool = Topics.PLAN_POOL.valueCodec().decode(record.value());
          } catch (RuntimeException e) {
            continue; // another writer's record; the pool-loader only writes valid pools
          }
          if (pool.getJobId().equals(jobId)) {
            latest = pool;
          }
        }
        if (latest != null && caughtUp(consumer)) {
          return latest;
        }
      }
      throw new IllegalArgumentException(
          "no plan pool for job '"
              + jobId
              + "' on topic '"
              + topic
              + "' within "
              + bound.toSeconds()
              + " s (publish one with moeplan pool, or raise --pool-timeout)");
    }
  }

  private static boolean caughtUp(KafkaConsumer<byte[], byte[]> consumer) {
    var end = consumer.endOffsets(consumer.assignment());
    return consumer.assignment().stream().allMatch(p -> consumer.position(p) >= end.get(p));
  }

  @Override
  public List<PlanDecision> poll(Duration maxWait) {
    List<PlanDecision> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> record : decisions.poll(maxWait)) {
      if (record.value() == null) {
        continue;
      }
      try {
        out.add(Topics.PLAN_DECISIONS.valueCodec().decode(record.value()));
      } catch (RuntimeException e) {
        // a record no reader can use must not stop training; it is counted
        undecodable++;
      }
    }
    return out;
  }

  /** Decision records skipped because they could not be decoded. */
  public long undecodable() {
    return undecodable;
  }

  @Override
  public void expertLoad(ExpertLoad load) {
    producer.send(
        new ProducerRecord<>(
            topics.expertLoad(),
            Topics.EXPERT_LOAD
                .keyCodec()
                .encode(Topics.expertLoadKey(load.getJobId(), load.getRank())),
            Topics.EXPERT_LOAD.valueCodec().encode(load)));
  }

  @Override
  public void workerTimes(WorkerTimes times) {
    producer.send(
        new ProducerRecord<>(
            topics.workerTimes(),
            Topics.WORKER_TIMES
                .keyCodec()
                .encode(Topics.workerTimesKey(times.getJobId(), times.getLayer())),
            Topics.WORKER_TIMES.valueCodec().encode(times)));
  }

  @Override
  public void flush() {
    producer.flush();
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(10));
    decisions.close(Duration.ofSeconds(5));
  }
}
