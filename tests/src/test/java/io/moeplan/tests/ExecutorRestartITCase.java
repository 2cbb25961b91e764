package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.executor.process.CpuWorkers;
import io.moeplan.launcher.cluster.ClusterSettings;
import io.moeplan.launcher.cluster.FlinkRest;
import io.moeplan.launcher.cluster.LocalCluster;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.poolloader.PoolPublisher;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTimes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the multi-process cluster ({@link LocalCluster}: a Kafka broker process, a standalone
 * JobManager and a TaskManager running the plan-selector job), a real {@code moeplan executor}
 * process (cpu backend, tiny dimensions, a pool built for them) hosts all ranks of the job. Once it
 * has applied a switch it is killed with SIGKILL, and a new process resumes at the iteration after
 * the last one every rank of the killed process published. Its ranks must report, at every
 * iteration, the plan version of the decisions in force (the same for every rank), so it resumed on
 * the latest placements and follows the job's later decisions.
 */
class ExecutorRestartITCase {

  private static final String JOB = "exec-restart";
  private static final int RANKS = 4;
  private static final int LAYERS = 2;
  private static final int EXPERTS = 8;
  private static final int HIDDEN = 16;
  private static final int FFN = 32;
  private static final int TOKENS = 16;
  private static final int WINDOW = 4;
  private static final int LEAD = 2;
  private static final Duration BOUND = Duration.ofSeconds(120);

  @TempDir static Path state;

  private static LocalCluster cluster;
  private static ClusterSettings settings;

  @BeforeAll
  static void startCluster() throws Exception {
    settings =
        ClusterProcesses.settings(state)
            .taskManagers(1)
            .slotsPerTaskManager(2)
            .parallelism(2)
            .submitJob(false)
            .pool(null)
            .build();
    cluster = new LocalCluster(state);
    cluster.up(settings, System.out);
    // a pool for CPU workers at the executor's dimensions, so the selector's predictions describe
    // the computation the executor runs and its switches pay off
    PlanPool pool =
        PoolRecords.toRecord(
            new PoolSearch(
                    CpuWorkers.cluster(1, RANKS),
                    CpuWorkers.model(LAYERS, EXPERTS, 2, HIDDEN, FFN, TOKENS),
                    PoolOptions.defaults().withSynthetic(PoolOptions.DEFAULT_SYNTHETIC_SAMPLES, 5))
                .search(ProgressListener.NONE),
            JOB,
            Instant.now(),
            "executor restart test");
    Properties client = new Properties();
    client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    PoolPublisher.publish(pool, Topics.PLAN_POOL.name(), client);
    FlinkRest rest = new FlinkRest(settings.restPort());
    String jobId =
        cluster.submit(
            settings,
            List.of(
                DecisionWindows.WINDOW_ITERATIONS_FLAG,
                Integer.toString(WINDOW),
                DecisionWindows.LEAD_ITERATIONS_FLAG,
                Integer.toString(LEAD),
                "--checkpoint-interval",
                "2s"));
    ClusterProcesses.awaitTrue(
        () -> {
          try {
            return rest.jobState(jobId).equals("RUNNING");
          } catch (IOException e) {
            return false;
          }
        },
        BOUND,
        "job " + jobId + " running");
  }

  /**
   * Options of {@code moeplan executor} hosting every rank on the cpu backend at the pool's
   * dimensions, paced so that a kill lands mid-run, waiting long enough for decisions that a loaded
   * machine never times one out.
   */
  private static List<String> executorOptions(long startIteration, long iterations) {
    return List.of(
        "--job",
        JOB,
        "--backend",
        "cpu",
        "--workers",
        Integer.toString(RANKS),
        "--world-size",
        Integer.toString(RANKS),
        "--hidden",
        Integer.toString(HIDDEN),
        "--ffn",
        Integer.toString(FFN),
        "--tokens-per-rank",
        Integer.toString(TOKENS),
        DecisionWindows.WINDOW_ITERATIONS_FLAG,
        Integer.toString(WINDOW),
        DecisionWindows.LEAD_ITERATIONS_FLAG,
        Integer.toString(LEAD),
        "--rate",
        "10",
        "--decision-timeout",
        "60s",
        "--seed",
        "11",
        "--start-iteration",
        Long.toString(startIteration),
        "--iterations",
        Long.toString(iterations));
  }

  @AfterAll
  static void stopCluster() throws IOException {
    if (cluster != null) {
      cluster.down();
    }
  }

  @Test
  void aKilledExecutorRestartedAfterItsLastIterationResumesOnTheLatestDecisions() throws Exception {
    String executor = LocalCluster.executorName(1);
    cluster.startExecutor(settings, 1, executorOptions(0, 0));
    // killed once a switch has been in force for a couple of iterations on every rank
    ClusterProcesses.awaitTrue(
        () -> {
          long published = completedThrough(loads());
          return decisions().stream()
              .anyMatch(
                  d ->
                      d.getAction() == DecisionAction.SWITCH
                          && d.getEffectiveIteration() + 2 <= published);
        },
        BOUND,
        "a switch in force on every rank");
    cluster.killExecutor(1);
    long resumeAt = completedThrough(loads()) + 1;
    System.out.printf("SIGKILL %s; restarting it at iteration %d%n", executor, resumeAt);
    long more = 4L * WINDOW;
    long end = resumeAt + more - 1;
    cluster.startExecutor(settings, 1, executorOptions(resumeAt, more));
    ClusterProcesses.awaitTrue(
        () -> !cluster.isAlive(executor), BOUND, "the restarted executor ran " + more);

    String output = Files.readString(state.resolve("logs").resolve(executor + ".out"));
    assertThat(output).contains("resumed at iteration " + resumeAt + ":");
    assertThat(output).contains("summary: " + more + " iterations");
    assertThat(output).doesNotContain("did not arrive within");
    List<PlanDecision> decisions = decisions();
    assertThat(decisions)
        .as("a switch took effect before the restart")
        .anySatisfy(
            d -> {
              assertThat(d.getAction()).isEqualTo(DecisionAction.SWITCH);
              assertThat(d.getEffectiveIteration()).isLessThan(resumeAt);
            });
    assertThat(decisions)
        .as("decisions took effect after the restart")
        .anySatisfy(d -> assertThat(d.getEffectiveIteration()).isBetween(resumeAt, end));

    Map<Long, List<ExpertLoad>> byIteration =
        loads().stream()
            .filter(load -> load.getIteration() <= end)
            .collect(
                Collectors.groupingBy(ExpertLoad::getIteration, TreeMap::new, Collectors.toList()));
    assertThat(byIteration).hasSize((int) end + 1);
    assertThat(byIteration.get(resumeAt))
        .as("the restarted ranks report the switched placements at iteration %d", resumeAt)
        .allSatisfy(load -> assertThat(load.getPlanVersion()).isPositive());
    for (Map.Entry<Long, List<ExpertLoad>> entry : byIteration.entrySet()) {
      long iteration = entry.getKey();
      long expected = 0;
      for (int layer = 0; layer < LAYERS; layer++) {
        expected += InForce.planVersion(decisions, layer, iteration);
      }
      long version = expected;
      assertThat(entry.getValue())
          .extracting(ExpertLoad::getRank)
          .as("ranks at iteration %d", iteration)
          .containsAll(IntStream.range(0, RANKS).boxed().toList());
      assertThat(entry.getValue())
          .as("plan version of every rank at iteration %d", iteration)
          .allSatisfy(load -> assertThat(load.getPlanVersion()).isEqualTo(version));
    }
    List<WorkerTimes> times =
        ClusterProcesses.readAll(bootstrap(), Topics.WORKER_TIMES.name(), Topics.WORKER_TIMES)
            .stream()
            .filter(t -> t.getJobId().equals(JOB) && t.getIteration() <= end)
            .toList();
    assertThat(times).hasSizeGreaterThanOrEqualTo((int) (end + 1) * LAYERS);
    assertThat(times)
        .allSatisfy(
            t ->
                assertThat(t.getPlanVersion())
                    .as("layer %d at iteration %d", t.getLayer(), t.getIteration())
                    .isEqualTo(InForce.planVersion(decisions, t.getLayer(), t.getIteration())));
  }

  /** The job's ExpertLoad records on the topic. */
  private static List<ExpertLoad> loads() {
    return ClusterProcesses.readAll(bootstrap(), Topics.EXPERT_LOAD.name(), Topics.EXPERT_LOAD)
        .stream()
        .filter(load -> load.getJobId().equals(JOB))
        .toList();
  }

  /** The job's decisions on the topic, one per id. */
  private static List<PlanDecision> decisions() {
    return List.copyOf(
        ClusterProcesses.readAll(bootstrap(), Topics.PLAN_DECISIONS.name(), Topics.PLAN_DECISIONS)
            .stream()
            .filter(d -> d.getJobId().equals(JOB))
            .collect(
                Collectors.toMap(
                    PlanDecision::getDecisionId, d -> d, (first, again) -> first, TreeMap::new))
            .values());
  }

  /** The last iteration every rank has published (-1 before any). */
  private static long completedThrough(List<ExpertLoad> loads) {
    Map<Integer, Long> last =
        loads.stream()
            .collect(Collectors.toMap(ExpertLoad::getRank, ExpertLoad::getIteration, Math::max));
    if (last.size() < RANKS) {
      return -1;
    }
    return last.values().stream().mapToLong(Long::longValue).min().orElse(-1);
  }

  private static String bootstrap() {
    return "localhost:" + settings.kafkaPort();
  }
}
