package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.policy.Decision;
import io.moeplan.planner.replay.ReplayEvaluator;
import io.moeplan.planner.replay.ReplayOptions;
import io.moeplan.planner.selector.SelectorPolicy;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.planner.testing.TraceSlice;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.DecisionAction;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.Topics;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming job and the planner's replay evaluator, fed the same part of the committed GPT-MoE
 * trace slice with the same settings, make identical decisions: same ids, actions and placements.
 */
class ReplayEquivalenceITCase {

  private static final int PARALLELISM = 2;
  private static final int WORKERS = 8;
  private static final int SLOTS = 4;
  private static final int WINDOW = 2;
  private static final int LAYERS = 4;
  private static final int SAMPLES = 24;
  private static final String JOB = "replay-eq";
  private static final int TRACE_RANKS = TraceSlice.RANKS;

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(PARALLELISM)
              .build());

  @Test
  void jobDecidesExactlyWhatTheReplayEvaluatorDecides(@TempDir Path directory) throws Exception {
    // 16 data-parallel ranks, 8 in each expert-parallel group
    ParallelConfig parallel = new ParallelConfig(1, 1, TRACE_RANKS, WORKERS, SLOTS);

    assertSameDecisions(parallel, directory);
  }

  /**
   * Two pipeline stages: ranks 0-7 host layers 0-1 and report only those, ranks 8-15 host layers
   * 2-3. Every window completes with its stage's ranks, and each layer's decisions are the replay
   * evaluator's on the loads of the ranks that host it.
   */
  @Test
  void aPipelineJobsLayersAreDecidedOnTheLoadsOfTheRanksHostingThem(@TempDir Path directory)
      throws Exception {
    ParallelConfig parallel = new ParallelConfig(1, 2, WORKERS, WORKERS, SLOTS);

    assertSameDecisions(parallel, directory);
  }

  private static void assertSameDecisions(ParallelConfig parallel, Path directory)
      throws Exception {
    Path slice = slice(directory.resolve("slice.csv"), parallel);
    ClusterSpec cluster = SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class);
    ModelSpec model =
        SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class).withMoeLayers(LAYERS);

    Map<String, Decision> expected = replay(slice, cluster, model, parallel);
    Map<String, PlanDecision> actual = runJob(slice, cluster, model, parallel, directory);

    assertThat(expected).hasSize(LAYERS * (SAMPLES - 1));
    assertThat(actual.keySet()).containsAll(expected.keySet());
    long switches = 0;
    for (Map.Entry<String, Decision> entry : expected.entrySet()) {
      Decision want = entry.getValue();
      PlanDecision got = actual.get(entry.getKey());
      assertThat(got.getAction())
          .as("action of %s", entry.getKey())
          .isEqualTo(want.switches() ? DecisionAction.SWITCH : DecisionAction.KEEP);
      assertThat(got.getSlotToExpert())
          .as("placement of %s", entry.getKey())
          .containsExactly(boxed(want.placement().slotToExpert()));
      assertThat(got.getPredictedNewSeconds()).isEqualTo(want.predictedNewSeconds());
      assertThat(got.getRanksReported())
          .as("ranks behind %s", entry.getKey())
          .isEqualTo(TRACE_RANKS / parallel.pp());
      assertThat(got.getReason()).doesNotContain("partial");
      switches += want.switches() ? 1 : 0;
    }
    assertThat(switches).as("the slice makes the selector switch").isPositive();
  }

  /** The selector's decisions in a replay of the slice, by decision id. */
  private static Map<String, Decision> replay(
      Path slice, ClusterSpec cluster, ModelSpec model, ParallelConfig parallel) throws Exception {
    PerformanceModel performance = PerformanceModel.of(cluster, model, parallel);
    ReplayOptions defaults = ReplayOptions.of(WORKERS, SLOTS, WINDOW);
    ReplayOptions options =
        new ReplayOptions(
            WORKERS, SLOTS, WINDOW, List.of(SelectorPolicy.NAME), defaults.selector());
    Placement start = Placement.staticLayout(WORKERS, SLOTS, model.expertCount());
    Map<String, Decision> decisions = new TreeMap<>();
    try (TraceReader reader = TraceReader.open(slice, WORKERS, 0, LAYERS - 1)) {
      new ReplayEvaluator(performance, options, layer -> List.of(start))
          .run(
              reader,
              line -> {},
              (policy, layer, window, decision) ->
                  decisions.put(Topics.decisionId(JOB, layer, window), decision));
    }
    return decisions;
  }

  /** The job's decisions for the slice, each trace sample sent as the load of F iterations. */
  private static Map<String, PlanDecision> runJob(
      Path slice, ClusterSpec cluster, ModelSpec model, ParallelConfig parallel, Path directory)
      throws Exception {
    EmbeddedKafkaBroker broker = SharedBroker.get();
    TestTopics topics = TestTopics.create(broker, "replay-eq-pp" + parallel.pp());
    PlanSelectorConfig config =
        topics.jobConfig(broker, WINDOW, PARALLELISM, directory.resolve("checkpoints"));
    JobClient job = PlanSelectorJobITCase.submit(config);
    try {
      KafkaIo io = new KafkaIo(broker);
      // the one plan is the static layout: where the replay starts every layer too
      io.send(
          topics.pools(),
          Topics.PLAN_POOL,
          JOB,
          PoolRecords.staticPool(JOB, cluster, model, parallel, Instant.EPOCH));
      int ranks = 0;
      try (TraceReader reader = TraceReader.open(slice, 1024, 0, LAYERS - 1)) {
        long window = 0;
        for (TraceSample sample = reader.next(); sample != null; sample = reader.next()) {
          ranks = sample.ranks();
          for (long iteration = window * WINDOW; iteration < (window + 1) * WINDOW; iteration++) {
            for (int rank = 0; rank < ranks; rank++) {
              io.send(
                  topics.loads(),
                  Topics.EXPERT_LOAD,
                  Topics.expertLoadKey(JOB, rank),
                  load(sample, rank, ranks, iteration, parallel));
            }
          }
          window++;
        }
      }
      List<PlanDecision> decisions =
          io.readAtLeast(topics.decisions(), Topics.PLAN_DECISIONS, LAYERS * SAMPLES);
      return PlanSelectorJobITCase.byId(decisions);
    } finally {
      PlanSelectorJobITCase.cancelAndAwait(job);
    }
  }

  /** The load of {@code rank} in one iteration: the layers its pipeline stage hosts. */
  private static ExpertLoad load(
      TraceSample sample, int rank, int ranks, long iteration, ParallelConfig parallel) {
    List<LayerLoad> layers = new ArrayList<>();
    for (int layer = 0; layer < LAYERS; layer++) {
      if (parallel.stageOfLayer(layer, LAYERS) != parallel.stageOfRank(rank, ranks)) {
        continue;
      }
      LoadMatrix counts = sample.layer(layer);
      List<Long> row = new ArrayList<>(counts.experts());
      for (int e = 0; e < counts.experts(); e++) {
        row.add(Math.round(counts.tokens(rank, e)));
      }
      layers.add(new LayerLoad(layer, row));
    }
    return ExpertLoad.newBuilder()
        .setJobId(JOB)
        .setRank(rank)
        .setWorldSize(ranks)
        .setIteration(iteration)
        .setPlanVersion(0)
        .setLayers(layers)
        .setProducedAt(Instant.now())
        .build();
  }

  /**
   * The first {@value #SAMPLES} iterations of the committed trace slice, layers 0-3, as CSV; with
   * pipeline stages, each layer's rows are those of the ranks whose stage hosts it.
   */
  private static Path slice(Path out, ParallelConfig parallel) throws Exception {
    try (BufferedReader in =
            new BufferedReader(new InputStreamReader(TraceSlice.open(), StandardCharsets.UTF_8));
        BufferedWriter writer = Files.newBufferedWriter(out)) {
      writer.write(in.readLine());
      writer.newLine();
      List<String> iterations = new ArrayList<>();
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        String[] cols = line.split(",", 4);
        if (!iterations.contains(cols[0])) {
          if (iterations.size() == SAMPLES) {
            break;
          }
          iterations.add(cols[0]);
        }
        int rank = Integer.parseInt(cols[1]);
        int layer = Integer.parseInt(cols[2]);
        if (layer < LAYERS
            && parallel.stageOfLayer(layer, LAYERS) == parallel.stageOfRank(rank, TRACE_RANKS)) {
          writer.write(line);
          writer.newLine();
        }
      }
    }
    return out;
  }

  private static Integer[] boxed(int[] values) {
    return Arrays.stream(values).boxed().toArray(Integer[]::new);
  }
}
