package io.moeplan.tests;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Topic names of one test, so tests sharing the broker never see each other's records. */
record TestTopics(
    String loads,
    String pools,
    String decisions,
    String deadLetters,
    String workerTimes,
    String modelFits) {
  /** Creates the topics, named {@code prefix.<registered name>}, on the broker. */
  static TestTopics create(EmbeddedKafkaBroker broker, String prefix) {
    TestTopics topics =
        new TestTopics(
            prefix + "." + Topics.EXPERT_LOAD.name(),
            prefix + "." + Topics.PLAN_POOL.name(),
            prefix + "." + Topics.PLAN_DECISIONS.name(),
            prefix + "." + Topics.EXPERT_LOAD_DLQ.name(),
            prefix + "." + Topics.WORKER_TIMES.name(),
            prefix + "." + Topics.MODEL_FIT.name());
    List<Topic<?, ?>> renamed = new ArrayList<>();
    for (Topic<?, ?> topic : Topics.ALL) {
      renamed.add(rename(topic, prefix + "." + topic.name()));
    }
    broker.createTopics(renamed);
    return topics;
  }

  /** Job settings reading and writing these topics. */
  PlanSelectorConfig jobConfig(
      EmbeddedKafkaBroker broker, int window, int parallelism, Path checkpoints, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--bootstrap-servers",
                broker.bootstrapServers(),
                "--group-id",
                "it-" + loads,
                "--expert-load-topic",
                loads,
                "--plan-pool-topic",
                pools,
                "--plan-decisions-topic",
                decisions,
                "--dead-letter-topic",
                deadLetters,
                "--worker-times-topic",
                workerTimes,
                "--model-fit-topic",
                modelFits,
                "--window-iterations",
                Integer.toString(window),
                "--parallelism",
                Integer.toString(parallelism),
                "--checkpoint-interval",
                "1 s",
                "--checkpoint-dir",
                checkpoints.toUri().toString()));
    args.addAll(List.of(more));
    return PlanSelectorConfig.fromArgs(args.toArray(String[]::new));
  }

  private static <K, V> Topic<K, V> rename(Topic<K, V> topic, String name) {
    return new Topic<>(name, topic.keyCodec(), topic.valueCodec(), topic.compacted());
  }
}
