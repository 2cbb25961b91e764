package io.moeplan.tests;

import static io.moeplan.tests.ClusterTraceReplay.DECISIONS;
import static io.moeplan.tests.ClusterTraceReplay.ITERATIONS;
import static io.moeplan.tests.ClusterTraceReplay.RANKS;
import static io.moeplan.tests.ClusterTraceReplay.WINDOW;
import static io.moeplan.tests.ClusterTraceReplay.send;
import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the multi-process cluster, the committed GPT-MoE trace slice is replayed as ExpertLoad records
 * twice: once undisturbed, once with a TaskManager running the job killed with SIGKILL in the
 * middle. The second job must restore from its RocksDB checkpoint and emit the same set of
 * decisions (by id, with identical contents) as the first.
 */
class ClusterFailoverITCase {

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
  void restoresFromCheckpointAfterTaskManagerKillWithIdenticalDecisions() throws Exception {
    PlanPool pool = ClusterTraceReplay.pool("failover test");
    List<ExpertLoad> loads = ClusterTraceReplay.traceLoads(pool);

    Map<String, PlanDecision> undisturbed = run("undisturbed", loads, pool, false);
    Map<String, PlanDecision> recovered = run("killed", loads, pool, true);

    ClusterTraceReplay.assertSameDecisions(undisturbed, recovered, "the failure");
  }

  /**
   * Runs the job on its own topics over the loads; with {@code kill}, SIGKILLs a TaskManager that
   * runs it after a checkpoint completed, half-way through the loads. Returns the decisions by id.
   */
  private Map<String, PlanDecision> run(
      String prefix, List<ExpertLoad> loads, PlanPool pool, boolean kill) throws Exception {
    try (ClusterTraceReplay.Run run = replay.submit(prefix, pool);
        KafkaProducer<byte[], byte[]> producer = replay.producer(new Properties())) {
      int half = ITERATIONS / 2 * RANKS;
      send(producer, run.loadsTopic(), loads.subList(0, half));
      producer.flush();
      if (kill) {
        // state worth restoring: the first half's windows decided and a checkpoint after that
        run.awaitDecisions(DECISIONS / 2, "decisions of the first half before the kill");
        long checkpoint = run.awaitNextCheckpoint("a checkpoint after the first half");
        // records the next checkpoint has not covered yet: replayed after the restore
        send(producer, run.loadsTopic(), loads.subList(half, half + RANKS * WINDOW));
        producer.flush();
        String victim = replay.rest().busyTaskManagers().get(0);
        System.out.printf("%s: SIGKILL %s after checkpoint %d%n", prefix, victim, checkpoint);
        replay
            .cluster()
            .killTaskManager(Integer.parseInt(victim.substring(victim.lastIndexOf('-') + 1)));
        send(producer, run.loadsTopic(), loads.subList(half + RANKS * WINDOW, loads.size()));
      } else {
        send(producer, run.loadsTopic(), loads.subList(half, loads.size()));
      }
      producer.flush();
      run.awaitDecisions(DECISIONS, DECISIONS + " decisions");
      // drain what is already there, so late duplicates are compared as well
      run.poll();
      if (kill) {
        Optional<Long> restored = replay.rest().restoredCheckpoint(run.jobId());
        assertThat(restored)
            .as("the job restored from a checkpoint after the TaskManager died")
            .isPresent();
        assertThat(replay.rest().jobState(run.jobId())).isEqualTo("RUNNING");
        System.out.printf(
            "%s: restored from checkpoint %d; %d decision records, %d distinct%n",
            prefix, restored.get(), run.received(), run.decisions().size());
      }
      return new TreeMap<>(run.decisions());
    }
  }
}
