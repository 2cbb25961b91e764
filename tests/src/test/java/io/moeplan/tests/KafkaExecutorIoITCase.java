package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.executor.process.ExecutorSettings.TopicNames;
import io.moeplan.executor.process.KafkaExecutorIo;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An executor's Kafka I/O on a real broker reports what goes wrong instead of hiding it: a send the
 * broker never takes is counted with its topic, key and exception, and a record on the pool or
 * decisions topic that cannot be used is skipped and counted with its partition and offset.
 */
class KafkaExecutorIoITCase {

  private static final byte[] GARBAGE = "not an avro record".getBytes(StandardCharsets.UTF_8);

  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    broker = SharedBroker.get();
  }

  @Test
  void aRecordLargerThanTheUsersMaxRequestSizeIsCountedWithTopicKeyAndException() {
    TopicNames names = topics("exec-io-large");
    Properties client = broker.clientProperties();
    client.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, "1024");
    try (KafkaExecutorIo io = new KafkaExecutorIo(client, names)) {
      io.expertLoad(SampleRecords.expertLoad("job", 0, 0));
      io.expertLoad(largeLoad("job", 3));
      io.flush();

      KafkaExecutorIo.Errors errors = io.errors();
      assertThat(errors.failedSends()).isEqualTo(1);
      assertThat(errors.skippedRecords()).isZero();
      assertThat(errors.recentProblems())
          .singleElement()
          .satisfies(
              problem ->
                  assertThat(problem)
                      .contains("send to " + names.expertLoad())
                      .contains("with key job/3")
                      .contains("RecordTooLargeException"));
    }
    assertThat(new KafkaIo(broker).readAtLeast(names.expertLoad(), Topics.EXPERT_LOAD, 1))
        .extracting(ExpertLoad::getRank)
        .containsExactly(0);
  }

  @Test
  void aSendToABrokerThatWentAwayFailsAfterTheUsersDeliveryTimeoutAndIsCounted() {
    EmbeddedKafkaBroker own = EmbeddedKafkaBroker.builder().partitions(1).build().start();
    try {
      Properties client = own.clientProperties();
      client.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "1000");
      client.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "2000");
      client.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "2000");
      try (KafkaExecutorIo io = new KafkaExecutorIo(client, TopicNames.DEFAULT)) {
        io.expertLoad(SampleRecords.expertLoad("job", 1, 0));
        io.flush();
        assertThat(io.errors().failedSends()).isZero();

        own.stop();
        io.expertLoad(SampleRecords.expertLoad("job", 1, 1));
        io.flush();

        KafkaExecutorIo.Errors errors = io.errors();
        assertThat(errors.failedSends()).isEqualTo(1);
        assertThat(errors.recentProblems())
            .singleElement()
            .satisfies(
                problem ->
                    assertThat(problem)
                        .contains("send to " + Topics.EXPERT_LOAD.name())
                        .contains("with key job/1")
                        .contains("TimeoutException"));
      }
    } finally {
      own.close();
    }
  }

  @Test
  void unusablePoolRecordsAreSkippedAndReportedWithTheirOffsetsAndTheLatestValidPoolWins() {
    TopicNames names = topics("exec-io-pool");
    String job = "io-pool-job";
    PlanPool valid = SampleRecords.planPool(job);
    PlanPool noLayer1 =
        PlanPool.newBuilder(valid)
            .setPoolVersion(4)
            .setPlans(
                List.of(
                    io.moeplan.schemas.Plan.newBuilder(valid.getPlans().get(0))
                        .setLayers(List.of(valid.getPlans().get(0).getLayers().get(0)))
                        .build()))
            .build();
    RecordMetadata garbage = sendRaw(names.planPool(), job, GARBAGE);
    sendRaw(names.planPool(), job, Topics.PLAN_POOL.valueCodec().encode(valid));
    RecordMetadata invalid =
        sendRaw(names.planPool(), job, Topics.PLAN_POOL.valueCodec().encode(noLayer1));
    RecordMetadata tombstone = sendRaw(names.planPool(), job, null);

    try (KafkaExecutorIo io = new KafkaExecutorIo(broker.clientProperties(), names)) {
      PlanPool read = io.readPool(job, Duration.ofSeconds(60));

      assertThat(read).isEqualTo(valid);
      KafkaExecutorIo.Errors errors = io.errors();
      assertThat(errors.skippedRecords()).isEqualTo(3);
      assertThat(errors.failedSends()).isZero();
      assertThat(errors.recentProblems())
          .satisfiesExactly(
              problem ->
                  assertThat(problem).contains(at(garbage)).contains("not a plan pool: PlanPool"),
              problem ->
                  assertThat(problem)
                      .contains(at(invalid))
                      .contains("not a valid pool")
                      .contains("layer 1 has no placement"),
              problem -> assertThat(problem).contains(at(tombstone)).contains("a tombstone"));
    }
  }

  @Test
  void withoutAValidPoolTheErrorCountsTheSkippedRecords() {
    TopicNames names = topics("exec-io-nopool");
    RecordMetadata garbage = sendRaw(names.planPool(), "io-nopool-job", GARBAGE);

    try (KafkaExecutorIo io = new KafkaExecutorIo(broker.clientProperties(), names)) {
      assertThatThrownBy(() -> io.readPool("io-nopool-job", Duration.ofSeconds(3)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("no valid plan pool for job 'io-nopool-job'")
          .hasMessageContaining("1 records skipped, see the log");
      assertThat(io.errors().recentProblems()).singleElement().asString().contains(at(garbage));
    }
  }

  @Test
  void undecodableDecisionsAndTombstonesAreSkippedAndReportedWithTheirOffsets() {
    TopicNames names = topics("exec-io-decisions");
    String key = Topics.planDecisionKey("io-job", 1);
    RecordMetadata garbage = sendRaw(names.planDecisions(), key, GARBAGE);
    PlanDecision decision = SampleRecords.planDecision("io-job", 0);
    sendRaw(names.planDecisions(), key, Topics.PLAN_DECISIONS.valueCodec().encode(decision));
    RecordMetadata tombstone = sendRaw(names.planDecisions(), key, null);

    try (KafkaExecutorIo io = new KafkaExecutorIo(broker.clientProperties(), names)) {
      List<PlanDecision> received = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (io.errors().skippedRecords() < 2 && System.nanoTime() < deadline) {
        received.addAll(io.poll(Duration.ofMillis(200)));
      }

      assertThat(received).containsExactly(decision);
      KafkaExecutorIo.Errors errors = io.errors();
      assertThat(errors.skippedRecords()).isEqualTo(2);
      assertThat(errors.recentProblems())
          .satisfiesExactly(
              problem ->
                  assertThat(problem)
                      .contains(at(garbage))
                      .contains("(key " + key + ")")
                      .contains("not a plan decision: PlanDecision"),
              problem -> assertThat(problem).contains(at(tombstone)).contains("a tombstone"));
    }
  }

  private static TopicNames topics(String prefix) {
    TestTopics.create(broker, prefix);
    return TopicNames.DEFAULT.prefixed(prefix);
  }

  /** How a problem names where the record was read. */
  private static String at(RecordMetadata record) {
    return record.topic() + " partition " + record.partition() + " offset " + record.offset();
  }

  /** Sends raw value bytes (null: a tombstone) and returns where they landed. */
  private static RecordMetadata sendRaw(String topic, String key, byte[] value) {
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            broker.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
      return producer
          .send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value))
          .get();
    } catch (Exception e) {
      throw new AssertionError("cannot send to " + topic, e);
    }
  }

  /** A load of 8 layers of 256 experts: several KiB on the wire. */
  private static ExpertLoad largeLoad(String job, int rank) {
    ExpertLoad sample = SampleRecords.expertLoad(job, rank, 0);
    List<io.moeplan.schemas.LayerLoad> layers = new ArrayList<>();
    for (int layer = 0; layer < 8; layer++) {
      layers.add(SampleRecords.layerLoad(layer, 256, 1_000_000));
    }
    return ExpertLoad.newBuilder(sample).setLayers(layers).build();
  }
}
