package io.moeplan.poolloader;

import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Publishes plan pools to the compacted {@code moe.plan-pool} topic, keyed by job. */
public final class PoolPublisher {

  private PoolPublisher() {}

  /**
   * Sends the pool to {@code topic} and waits for the broker's acknowledgement.
   *
   * @param clientProperties any Kafka producer settings (security included); bootstrap servers must
   *     be set; serializers are the publisher's own
   */
  public static RecordMetadata publish(PlanPool pool, String topic, Properties clientProperties)
      throws InterruptedException, ExecutionException, TimeoutException {
    Properties properties = new Properties();
    properties.putAll(clientProperties);
    properties.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
    properties.putIfAbsent(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    properties.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
    properties.putIfAbsent(
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Long.toString(PoolFiles.MAX_BYTES));
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
      return producer
          .send(
              new ProducerRecord<>(
                  topic,
                  Topics.PLAN_POOL.keyCodec().encode(Topics.planPoolKey(pool.getJobId())),
                  Topics.PLAN_POOL.valueCodec().encode(pool)))
          .get(60, TimeUnit.SECONDS);
    }
  }
}
