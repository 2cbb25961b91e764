package io.moeplan.executor.process;

import io.moeplan.executor.decisions.DecisionSource;
import io.moeplan.poolloader.KafkaAccessErrors;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTimes;
import io.moeplan.schemas.wire.WireFormatException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An executor's Kafka clients: a producer for expert loads and worker times, a consumer of every
 * partition of the decisions topic from the beginning (no consumer group: a restarted executor
 * reads the compacted topic again and resumes from the latest decision per layer), and the read of
 * the job's pool. Records of other jobs are skipped by the caller.
 *
 * <p>Nothing fails silently: every send that fails and every record skipped while reading (a value
 * that does not decode, a pool that is not valid, a tombstone) is counted in {@link #errors()} and
 * logged, a failed send with its topic, key and exception, a skipped record with its topic,
 * partition, offset and the reason. A client setting the executor must replace is logged with the
 * user's value and the value used.
 */
public final class KafkaExecutorIo implements DecisionSource, ExecutorSink, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaExecutorIo.class);
  private static final int RECENT_PROBLEMS = 10;

  private final ExecutorSettings.TopicNames topics;
  private final Properties consumerProperties;
  private final KafkaProducer<byte[], byte[]> producer;
  private final KafkaConsumer<byte[], byte[]> decisions;
  private final AtomicLong failedSends = new AtomicLong();
  private final AtomicLong skippedRecords = new AtomicLong();
  // the producer's callbacks run on its I/O thread
  private final ArrayDeque<String> recentProblems = new ArrayDeque<>();

  /**
   * What went wrong in an executor's Kafka I/O so far.
   *
   * @param failedSends records the producer could not deliver
   * @param skippedRecords records read but not used (undecodable, invalid pools, tombstones)
   * @param recentProblems the latest problems as logged, oldest first (at most 10)
   */
  public record Errors(long failedSends, long skippedRecords, List<String> recentProblems) {

    /** Copies the list. */
    public Errors {
      recentProblems = List.copyOf(recentProblems);
    }
  }

  /** Clients on {@code client} (bootstrap servers and any security or client settings). */
  public KafkaExecutorIo(Properties client, ExecutorSettings.TopicNames topics) {
    this.topics = topics;
    List<KafkaClientSettings.Forced> forced = new ArrayList<>();
    Properties producerProperties = KafkaClientSettings.producer(client, forced);
    this.consumerProperties = KafkaClientSettings.consumer(client, forced);
    for (KafkaClientSettings.Forced setting : forced) {
      LOG.warn(setting.describe());
    }
    this.producer =
        new KafkaProducer<>(
            producerProperties, new ByteArraySerializer(), new ByteArraySerializer());
    KafkaConsumer<byte[], byte[]> consumer = null;
    try {
      consumer = consumer(consumerProperties);
      assignFromBeginning(consumer, topics.planDecisions(), Duration.ofSeconds(30));
    } catch (RuntimeException e) {
      if (consumer != null) {
        consumer.close(Duration.ofSeconds(5));
      }
      producer.close(Duration.ofSeconds(10));
      throw e;
    }
    this.decisions = consumer;
  }

  private static KafkaConsumer<byte[], byte[]> consumer(Properties properties) {
    return new KafkaConsumer<>(
        properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /**
   * Assigns every partition of {@code topic} from its start; a refused login or topic, or a broker
   * that does not answer, is an {@link IllegalArgumentException} naming the principal, the topic
   * and the ACL that is missing.
   */
  private void assignFromBeginning(
      KafkaConsumer<byte[], byte[]> consumer, String topic, Duration bound) {
    List<org.apache.kafka.common.PartitionInfo> infos;
    try {
      infos = consumer.partitionsFor(topic, bound);
    } catch (AuthorizationException | AuthenticationException | TimeoutException e) {
      throw new IllegalArgumentException(
          KafkaAccessErrors.explain(e, "READ", topic, consumerProperties), e);
    }
    if (infos == null || infos.isEmpty()) {
      throw new IllegalArgumentException("topic '" + topic + "' does not exist on the broker");
    }
    List<TopicPartition> partitions = new ArrayList<>();
    infos.forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
  }

  /**
   * Reads the pool topic from the beginning until a valid pool of {@code jobId} has been seen and
   * the topic is read to its end (so the latest valid pool wins), or throws after {@code bound}. A
   * pool of the job that is not valid ({@link PoolRecords#fromRecord}) is skipped and the one
   * before it stays in use, as in the plan-selector job.
   */
  public PlanPool readPool(String jobId, Duration bound) {
    String topic = topics.planPool();
    String key = Topics.planPoolKey(jobId);
    long skippedBefore = skippedRecords.get();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(consumerProperties)) {
      assignFromBeginning(consumer, topic, bound);
      PlanPool latest = null;
      long deadline = System.nanoTime() + bound.toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          if (record.value() == null) {
            if (key.equals(keyOf(record))) {
              skipped(record, "a tombstone for job '" + jobId + "'; the pool before it is kept");
            }
            continue;
          }
          PlanPool pool;
          try {
            pool = Topics.PLAN_POOL.valueCodec().decode(record.value());
          } catch (WireFormatException e) {
            skipped(record, "not a plan pool: " + e.getMessage());
            continue;
          }
          if (!pool.getJobId().equals(jobId)) {
            continue;
          }
          try {
            PoolRecords.fromRecord(pool);
          } catch (IllegalArgumentException e) {
            skipped(record, "not a valid pool: " + e.getMessage());
            continue;
          }
          latest = pool;
        }
        if (latest != null && caughtUp(consumer)) {
          return latest;
        }
      }
      long skipped = skippedRecords.get() - skippedBefore;
      throw new IllegalArgumentException(
          "no valid plan pool for job '"
              + jobId
              + "' on topic '"
              + topic
              + "' within "
              + bound.toSeconds()
              + " s"
              + (skipped > 0 ? " (" + skipped + " records skipped, see the log)" : "")
              + " (publish one with moeplan pool, or raise --pool-timeout)");
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
        skipped(record, "a tombstone, not a decision");
        continue;
      }
      try {
        out.add(Topics.PLAN_DECISIONS.valueCodec().decode(record.value()));
      } catch (WireFormatException e) {
        // a record no reader can use must not stop training
        skipped(record, "not a plan decision: " + e.getMessage());
      }
    }
    return out;
  }

  /** Failed sends and skipped records so far, with the latest of them described. */
  public Errors errors() {
    synchronized (recentProblems) {
      return new Errors(failedSends.get(), skippedRecords.get(), new ArrayList<>(recentProblems));
    }
  }

  @Override
  public void expertLoad(ExpertLoad load) {
    String key = Topics.expertLoadKey(load.getJobId(), load.getRank());
    send(
        topics.expertLoad(),
        key,
        Topics.EXPERT_LOAD.keyCodec().encode(key),
        Topics.EXPERT_LOAD.valueCodec().encode(load));
  }

  @Override
  public void workerTimes(WorkerTimes times) {
    String key = Topics.workerTimesKey(times.getJobId(), times.getLayer());
    send(
        topics.workerTimes(),
        key,
        Topics.WORKER_TIMES.keyCodec().encode(key),
        Topics.WORKER_TIMES.valueCodec().encode(times));
  }

  private void send(String topic, String key, byte[] keyBytes, byte[] value) {
    producer.send(
        new ProducerRecord<>(topic, keyBytes, value),
        (metadata, exception) -> {
          if (exception != null) {
            sendFailed(topic, key, exception);
          }
        });
  }

  private void sendFailed(String topic, String key, Exception exception) {
    long count = failedSends.incrementAndGet();
    String problem =
        "send to "
            + topic
            + " with key "
            + key
            + " failed: "
            + exception
            + KafkaAccessErrors.hint(exception, "WRITE", topic, consumerProperties);
    remember(problem);
    if (count == 1) {
      LOG.warn(problem, exception);
    } else {
      // the first failure carries the stack; an outage fails every buffered record alike
      LOG.warn("{} ({} failed sends so far)", problem, count);
    }
  }

  private void skipped(ConsumerRecord<byte[], byte[]> record, String reason) {
    skippedRecords.incrementAndGet();
    String problem =
        "skipped the record at "
            + record.topic()
            + " partition "
            + record.partition()
            + " offset "
            + record.offset()
            + " (key "
            + keyOf(record)
            + "): "
            + reason;
    remember(problem);
    LOG.warn(problem);
  }

  private void remember(String problem) {
    synchronized (recentProblems) {
      if (recentProblems.size() == RECENT_PROBLEMS) {
        recentProblems.removeFirst();
      }
      recentProblems.addLast(problem);
    }
  }

  private static String keyOf(ConsumerRecord<byte[], byte[]> record) {
    return record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
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
