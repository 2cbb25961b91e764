package io.moeplan.planner.pool;

import static io.moeplan.planner.pool.PoolFixtures.cluster;
import static io.moeplan.planner.pool.PoolFixtures.tinyModel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.pool.ProgressListener.Phase;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.planner.testing.TraceSlice;
import io.moeplan.planner.trace.TraceSample;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolSearchTest {
  private static final ClusterSpec TWO_NODES = ClusterSpec.h100(2, 4);
  private static final ModelSpec SMALL_MOE = ModelSpec.gptMoe().withExpertCount(16);

  private static ModelSpec layers(ModelSpec m, int layers) {
    return new ModelSpec(
        layers,
        m.expertCount(),
        m.topK(),
        m.hidden(),
        m.ffnHidden(),
        m.bytesPerElement(),
        m.optimizerBytesPerParam(),
        m.tokensPerRank());
  }

  @Test
  void sameInputsGiveTheSamePool() {
    ModelSpec model = layers(SMALL_MOE, 4);
    PoolSearch search = new PoolSearch(TWO_NODES, model, PoolOptions.defaults());

    Pool first = search.search(ProgressListener.NONE);
    Pool second = search.search(ProgressListener.NONE);

    assertThat(second.plans()).isEqualTo(first.plans());
    assertThat(second.ranking()).isEqualTo(first.ranking());
    assertThat(second.loadSource()).isEqualTo(first.loadSource());
  }

  @Test
  void aFixedParallelConfigIsTheOnlyOneKeptWithItsPlansPerRegime() {
    ModelSpec model = layers(SMALL_MOE, 4);
    ParallelConfig fixed = new ParallelConfig(2, 1, 4, 4, 4);
    PoolOptions options = PoolOptions.defaults().withPlansPerConfig(3).withParallel(fixed);

    Pool pool = new PoolSearch(TWO_NODES, model, options).search(ProgressListener.NONE);

    assertThat(pool.configs()).containsExactly(fixed);
    assertThat(pool.ranking()).extracting(ConfigScore::parallel).containsExactly(fixed);
    assertThat(pool.plans()).hasSize(3).allSatisfy(p -> assertThat(p.parallel()).isEqualTo(fixed));
    assertThat(pool.startingPlan().parallel()).isEqualTo(fixed);
  }

  @Test
  void aFixedParallelConfigTheClusterRefusesFailsWithTheRuleItBreaks() {
    ModelSpec model = layers(SMALL_MOE, 4);
    // tp 8 spans the two nodes of 4 GPUs: the enumeration's own refusal is reported
    assertThatThrownBy(
            () ->
                new PoolSearch(
                        TWO_NODES,
                        model,
                        PoolOptions.defaults().withParallel(new ParallelConfig(8, 1, 1, 1, 16)))
                    .search(ProgressListener.NONE))
        .isInstanceOfSatisfying(
            RefusedConfigException.class,
            e ->
                assertThat(e.refused().reason())
                    .isEqualTo(RefusedConfig.Reason.TENSOR_ACROSS_NODES))
        .hasMessageContaining("tp=8,pp=1,dp=1,ep=1,slots=16 is refused (TENSOR_ACROSS_NODES)")
        .hasMessageContaining("tp 8 does not divide the 4 GPUs per node");
    // 2 * 2 * 4 = 16 ranks on 8 GPUs: no enumeration ever built it
    assertThatThrownBy(
            () ->
                new PoolSearch(
                        TWO_NODES,
                        model,
                        PoolOptions.defaults().withParallel(new ParallelConfig(2, 2, 4, 4, 4)))
                    .search(ProgressListener.NONE))
        .isInstanceOf(RefusedConfigException.class)
        .hasMessageContaining("(NOT_THE_CLUSTERS_GPUS)")
        .hasMessageContaining("not a divisor triple of the cluster's 8 GPUs");
  }

  @Test
  void keepsThePoolSizeBestConfigsWithOnePlanPerLoadRegime() {
    ModelSpec model = layers(SMALL_MOE, 4);
    PoolOptions options = PoolOptions.defaults().withPoolSize(2).withPlansPerConfig(3);

    Pool pool = new PoolSearch(TWO_NODES, model, options).search(ProgressListener.NONE);

    assertThat(pool.configs()).hasSize(2);
    assertThat(pool.configs())
        .containsExactly(pool.ranking().get(0).parallel(), pool.ranking().get(1).parallel());
    assertThat(pool.plans()).hasSize(6);
    assertThat(pool.ranking())
        .isSortedAccordingTo((a, b) -> Double.compare(a.iterationSeconds(), b.iterationSeconds()));
    for (int i = 0; i < pool.plans().size(); i++) {
      Plan plan = pool.plans().get(i);
      assertThat(plan.planId()).isEqualTo(i);
      assertThat(plan.layers()).extracting(LayerPlan::layer).containsExactly(0, 1, 2, 3);
      for (LayerPlan layer : plan.layers()) {
        assertThat(layer.placement().workerCount()).isEqualTo(plan.parallel().ep());
        assertThat(layer.placement().slotsPerWorker()).isEqualTo(plan.parallel().slotsPerWorker());
        assertThat(layer.predictedSeconds()).isPositive();
      }
    }
    assertThat(pool.plansOf(pool.bestConfig()))
        .extracting(Plan::regimeWeight)
        .satisfies(w -> assertThat(w.stream().mapToDouble(d -> d).sum()).isEqualTo(1.0, within()));
    assertThat(pool.loadSource()).startsWith("synthetic(ranks=8");
    assertThat(pool.poolVersion()).isEqualTo(1);
  }

  private static org.assertj.core.data.Offset<Double> within() {
    return org.assertj.core.data.Offset.offset(1e-9);
  }

  @Test
  void withoutPipelineStagesAPlanTakesItsLayersPlusTheirExpertGradientSync() {
    // one MoE layer: pp is 1 in every config
    Pool pool =
        new PoolSearch(TWO_NODES, layers(SMALL_MOE, 1), PoolOptions.defaults())
            .search(ProgressListener.NONE);

    for (Plan plan : pool.plans()) {
      ConfigScore score =
          pool.ranking().stream()
              .filter(s -> s.parallel().equals(plan.parallel()))
              .findFirst()
              .get();
      assertThat(plan.parallel().pp()).isEqualTo(1);
      assertThat(plan.predictedIterationSeconds())
          .isCloseTo(
              plan.layers().get(0).predictedSeconds() + score.expertDataSyncSeconds(), within());
    }
  }

  @Test
  void reportsEveryPhaseInOrderAndEveryScoredConfig() {
    List<String> seen = new ArrayList<>();
    ModelSpec model = layers(SMALL_MOE, 2);

    Pool pool =
        new PoolSearch(TWO_NODES, model, PoolOptions.defaults())
            .search((phase, done, total) -> seen.add(phase + " " + done + "/" + total));

    int configs = pool.ranking().size();
    int plans = pool.plans().size();
    assertThat(seen)
        .startsWith(
            "LOADS 0/1", "LOADS 1/1", "ENUMERATE 0/1", "ENUMERATE 1/1", "SCORE 1/" + configs)
        .contains("SCORE " + configs + "/" + configs)
        .endsWith("PLANS " + plans + "/" + plans);
    assertThat(seen.stream().map(s -> Phase.valueOf(s.split(" ")[0])).toList())
        .isSortedAccordingTo(Enum::compareTo);
  }

  @Test
  void refusesToSearchWhenNoConfigFitsTheMemory() {
    // one GPU, 2 experts in 2 slots x 2 layers x 4096 bytes = 16384 bytes; 4000 minus the 25%
    // reserve leaves 3000
    PoolSearch search =
        new PoolSearch(cluster(1, 1, 4_000), tinyModel(2, 2), PoolOptions.defaults());

    assertThatThrownBy(() -> search.search(ProgressListener.NONE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no parallel config fits the memory of a GPU")
        .hasMessageContaining("tp=1 pp=1 dp=1 ep=1 slotsPerWorker=2")
        .hasMessageContaining("2 slots x 2 layers need 1.638e-05 GB of expert state per GPU")
        .hasMessageContaining("3.000e-06 GB available");
  }

  @Test
  void refusesAHistoryWithAnotherExpertCount() {
    LoadHistory history = SyntheticLoads.generate(layers(SMALL_MOE, 1), 8, 2, 1);
    PoolSearch search =
        new PoolSearch(TWO_NODES, ModelSpec.gptMoe().withExpertCount(8), PoolOptions.defaults());

    assertThatThrownBy(() -> search.search(history, ProgressListener.NONE))
        .hasMessageContaining("16 experts")
        .hasMessageContaining("expertCount 8");
  }

  @Test
  void groupLoadKeepsTheGlobalBatchAndFoldsRanksOntoSources() {
    ModelSpec model = tinyModel(1, 2);
    PoolSearch search = new PoolSearch(cluster(1, 4, 1L << 40), model, PoolOptions.defaults());
    LoadMatrix fourRanks = LoadMatrix.of(new double[][] {{1, 0}, {0, 1}, {3, 0}, {0, 3}});

    // ep 2 in a tp 1, pp 2 config: each source routes 4096 * 2 tokens; rank r feeds source r mod 2
    LoadMatrix folded = search.groupLoad(fourRanks, new ParallelConfig(1, 2, 2, 2, 1));

    assertThat(folded.sources()).isEqualTo(2);
    assertThat(folded.tokens(0, 0)).isEqualTo(8192.0);
    assertThat(folded.tokens(0, 1)).isEqualTo(0.0);
    assertThat(folded.tokens(1, 0)).isEqualTo(0.0);
    assertThat(folded.tokens(1, 1)).isEqualTo(8192.0);
  }

  @Test
  void aPoolBuiltFromATraceSliceBeatsTheStaticLayoutOnThatSlice() throws Exception {
    List<TraceSample> slice = TraceSlice.samples(16, 0, 1, 30);
    LoadHistory history = LoadHistory.fromSamples(slice, "layers 0-1, first 30 samples");
    ModelSpec model = layers(ModelSpec.gptMoe(), 2);
    PoolSearch search = new PoolSearch(TWO_NODES, model, PoolOptions.defaults());

    Pool pool = search.search(history, ProgressListener.NONE);

    assertThat(pool.loadSource()).isEqualTo("layers 0-1, first 30 samples");
    ParallelConfig config = pool.bestConfig();
    PerformanceModel groupModel = search.groupModel(config);
    Placement fixed = Placement.staticLayout(config.ep(), config.slotsPerWorker(), 32);
    double poolSeconds = 0;
    double staticSeconds = 0;
    for (int layer = 0; layer < 2; layer++) {
      List<Placement> candidates = pool.placements(config, layer);
      for (TraceSample sample : slice) {
        LoadMatrix load = search.groupLoad(sample.loads().get(layer), config);
        double best = Double.POSITIVE_INFINITY;
        for (Placement p : candidates) {
          best = Math.min(best, groupModel.layerSeconds(p, load));
        }
        poolSeconds += best;
        staticSeconds += groupModel.layerSeconds(fixed, load);
      }
    }
    assertThat(poolSeconds).isLessThan(0.95 * staticSeconds);
  }
}
