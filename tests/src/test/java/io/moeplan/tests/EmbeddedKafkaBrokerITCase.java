package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTimes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every record type travels through a real embedded broker with the registry's codecs. */
class EmbeddedKafkaBrokerITCase {

  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    broker = SharedBroker.get();
  }

  @Test
  void createsEveryRegisteredTopicWithItsCleanupPolicy() throws Exception {
    try (Admin admin = Admin.create(broker.clientProperties())) {
      assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS))
          .containsAll(Topics.ALL.stream().map(Topic::name).toList());
      for (Topic<?, ?> topic : Topics.ALL) {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic.name());
        Map<ConfigResource, Config> configs =
            admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS);
        assertThat(configs.get(resource).get(TopicConfig.CLEANUP_POLICY_CONFIG).value())
            .as(topic.name())
            .isEqualTo(topic.cleanupPolicy());
      }
    }
  }

  @Test
  void carriesEveryRecordTypeWithTheRegistryCodecs() {
    ExpertLoad load = SampleRecords.expertLoad("codec-job", 1, 40);
    PlanPool pool = SampleRecords.planPool("codec-job");
    PlanDecision decision = SampleRecords.planDecision("codec-job", 4);
    DeadLetter deadLetter = SampleRecords.deadLetter();
    WorkerTimes times = SampleRecords.workerTimes("codec-job");

    send(Topics.EXPERT_LOAD, Topics.expertLoadKey("codec-job", 1), load);
    send(Topics.PLAN_POOL, Topics.planPoolKey("codec-job"), pool);
    send(Topics.PLAN_DECISIONS, Topics.planDecisionKey("codec-job", 1), decision);
    send(Topics.EXPERT_LOAD_DLQ, Topics.deadLetterKey("moe.expert-load", 1, 42), deadLetter);
    send(Topics.WORKER_TIMES, Topics.workerTimesKey("codec-job", 1), times);

    assertThat(readAll(Topics.EXPERT_LOAD, 1)).contains(load);
    assertThat(readAll(Topics.PLAN_POOL, 1)).contains(pool);
    assertThat(readAll(Topics.PLAN_DECISIONS, 1)).contains(decision);
    assertThat(readAll(Topics.WORKER_TIMES, 1)).contains(times);
    assertThat(readAll(Topics.EXPERT_LOAD_DLQ, 1)).contains(deadLetter);
  }

  @Test
  void restartsOnTheSameDataAndPort() {
    String bootstrap = broker.bootstrapServers();
    PlanPool pool = SampleRecords.planPool("restart-job");
    send(Topics.PLAN_POOL, "restart-job", pool);

    broker.stop();
    assertThat(broker.isRunning()).isFalse();
    broker.start();

    assertThat(broker.bootstrapServers()).isEqualTo(bootstrap);
    assertThat(readAll(Topics.PLAN_POOL, 1)).contains(pool);
    PlanDecision after = SampleRecords.planDecision("restart-job", 9);
    send(Topics.PLAN_DECISIONS, "restart-job/1", after);
    assertThat(readAll(Topics.PLAN_DECISIONS, 1)).contains(after);
  }

  @Test
  void closeDeletesItsTemporaryDirectory() {
    EmbeddedKafkaBroker other =
        EmbeddedKafkaBroker.builder().topics(List.of(Topics.PLAN_POOL)).partitions(1).build();
    Path directory = other.dataDirectory();
    try {
      other.start();
      send(other, Topics.PLAN_POOL, "other-job", SampleRecords.planPool("other-job"));
      assertThat(directory.resolve("logs")).isDirectory();
    } finally {
      other.close();
    }
    assertThat(Files.exists(directory)).isFalse();
  }

  private static <K, V> void send(Topic<K, V> topic, K key, V value) {
    send(broker, topic, key, value);
  }

  private static <K, V> void send(EmbeddedKafkaBroker target, Topic<K, V> topic, K key, V value) {
    new KafkaIo(target).send(topic.name(), topic, key, value);
  }

  private static <K, V> List<V> readAll(Topic<K, V> topic, int atLeast) {
    return new KafkaIo(broker).readAtLeast(topic.name(), topic, atLeast);
  }
}
