package io.moeplan.tests;

import static io.moeplan.tests.ClusterTraceReplay.BOUND;
import static io.moeplan.tests.ClusterTraceReplay.DECISIONS;
import static io.moeplan.tests.ClusterTraceReplay.ITERATIONS;
import static io.moeplan.tests.ClusterTraceReplay.RANKS;
import static io.moeplan.tests.ClusterTraceReplay.WINDOW;
import static io.moeplan.tests.ClusterTraceReplay.send;
import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the multi-process cluster, the committed GPT-MoE trace slice is replayed as ExpertLoad records
 * twice: once undisturbed, once with the broker killed with SIGKILL in the middle and started again
 * on its data while the replay goes on. Idempotent producers retry while it is down; the job
 * reconnects (or restarts from its RocksDB checkpoint). Every load must be on the topic exactly
 * once and the decisions (ids and contents) must equal those of the undisturbed run.
 */
class BrokerRestartITCase {

  @TempDir static Path state;

  private static ClusterTraceReplay replay;

  @BeforeAll
  static void startCluster() throws IOException {
    replay = ClusterTraceReplay.start(state);
  }

  @AfterAll
  static void stopCluster() throws IOException {
    if (replay != null) {
      replay.close();
    }
  }

  @Test
  void losesNoLoadAndNoDecisionWhenTheBrokerIsKilledAndRestartedMidRun() throws Exception {
    PlanPool pool = ClusterTraceReplay.pool("broker restart test");
    List<ExpertLoad> loads = ClusterTraceReplay.traceLoads(pool);

    Map<String, PlanDecision> undisturbed = run("steady", loads, pool, false);
    Map<String, PlanDecision> restarted = run("restart", loads, pool, true);

    ClusterTraceReplay.assertSameDecisions(undisturbed, restarted, "the broker restart");
  }

  /**
   * Runs the job on its own topics over the loads; with {@code kill}, SIGKILLs the broker after a
   * checkpoint that follows the first half, sends a quarter of the loads while it is down, starts
   * it again and sends the rest. Checks every load is on the topic exactly once; returns the
   * decisions by id.
   */
  private Map<String, PlanDecision> run(
      String prefix, List<ExpertLoad> loads, PlanPool pool, boolean kill) throws Exception {
    try (ClusterTraceReplay.Run run = replay.submit(prefix, pool);
        KafkaProducer<byte[], byte[]> producer = replay.producer(retryingForMinutes())) {
      String loadsTopic = run.loadsTopic();
      int half = ITERATIONS / 2 * RANKS;
      int threeQuarters = ITERATIONS * 3 / 4 * RANKS;
      send(producer, loadsTopic, loads.subList(0, half));
      producer.flush();
      if (kill) {
        run.awaitDecisions(DECISIONS / 2, "decisions of the first half before the kill");
        long checkpoint = run.awaitNextCheckpoint("a checkpoint after the first half");
        // in flight when the broker dies: the producer retries them against the restarted broker
        send(producer, loadsTopic, loads.subList(half, half + RANKS * WINDOW));
        long killed = System.nanoTime();
        replay.cluster().killKafka();
        System.out.printf("%s: SIGKILL the broker after checkpoint %d%n", prefix, checkpoint);
        // sent while the broker is down: send() waits (up to max.block.ms) for the partitions'
        // leader and the batches are retried until the broker is back
        CompletableFuture<Void> whileDown =
            CompletableFuture.runAsync(
                () ->
                    send(
                        producer, loadsTopic, loads.subList(half + RANKS * WINDOW, threeQuarters)));
        replay.cluster().startKafka(replay.settings());
        System.out.printf(
            "%s: broker serving again %.1f s after the kill%n",
            prefix, (System.nanoTime() - killed) / 1e9);
        whileDown.get(BOUND.toSeconds(), TimeUnit.SECONDS);
        send(producer, loadsTopic, loads.subList(threeQuarters, loads.size()));
      } else {
        send(producer, loadsTopic, loads.subList(half, loads.size()));
      }
      producer.flush();
      run.awaitDecisions(DECISIONS, DECISIONS + " decisions");
      // drain what is already there, so late duplicates are compared as well
      run.poll();
      assertEveryLoadOnceOnTheTopic(loadsTopic, loads);
      assertThat(replay.rest().jobState(run.jobId())).isEqualTo("RUNNING");
      if (kill) {
        System.out.printf(
            "%s: %d decision records, %d distinct; job restored from checkpoint: %s%n",
            prefix,
            run.received(),
            run.decisions().size(),
            replay
                .rest()
                .restoredCheckpoint(run.jobId())
                .map(String::valueOf)
                .orElse("none (it reconnected)"));
      }
      return new TreeMap<>(run.decisions());
    }
  }

  /** Every (rank, iteration) sent is on the topic exactly once, with the contents sent. */
  private static void assertEveryLoadOnceOnTheTopic(String topic, List<ExpertLoad> sent) {
    List<ExpertLoad> onTopic =
        ClusterProcesses.readAll(replay.bootstrap(), topic, Topics.EXPERT_LOAD);
    Map<String, List<ExpertLoad>> byRankAndIteration =
        onTopic.stream()
            .collect(Collectors.groupingBy(load -> load.getRank() + "@" + load.getIteration()));
    for (ExpertLoad load : sent) {
      String key = load.getRank() + "@" + load.getIteration();
      assertThat(byRankAndIteration.get(key))
          .as("ExpertLoad of rank %d at iteration %d", load.getRank(), load.getIteration())
          .containsExactly(load);
    }
    assertThat(onTopic).hasSameSizeAs(sent);
  }

  /**
   * Settings of an idempotent producer that keeps retrying for minutes, so records sent while the
   * broker is down are delivered once it is back, each exactly once.
   */
  private static Properties retryingForMinutes() {
    Properties properties = new Properties();
    properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    properties.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "300000");
    properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "120000");
    return properties;
  }
}
