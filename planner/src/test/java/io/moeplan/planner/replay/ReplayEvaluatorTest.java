package io.moeplan.planner.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.planner.testing.TraceSlice;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplayEvaluatorTest {
  private static final PerformanceModel MODEL =
      PerformanceModel.of(
          ClusterSpec.h100(1, 2),
          ModelSpec.gptMoe().withExpertCount(4),
          ParallelConfig.expertParallel(2, 2));

  /** Two ranks, four experts, one layer; experts 0 and 1 (worker 0 under static) stay hot. */
  private static String hotTrace(int samples) {
    StringBuilder csv = new StringBuilder("iteration,rank,layer,e0,e1,e2,e3\n");
    for (int i = 0; i < samples; i++) {
      csv.append(1 + 10 * i).append(",0,0,4000,3000,100,200\n");
      csv.append(1 + 10 * i).append(",1,0,3000,4000,200,100\n");
    }
    return csv.toString();
  }

  private static TraceReader reader(String csv) throws IOException {
    return TraceReader.fromStream(
        "hot.csv", new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)), 2, 0, 0);
  }

  @Test
  void staticPaysTheStaticTimeEveryIteration() throws IOException {
    ReplayResult result =
        new ReplayEvaluator(MODEL, ReplayOptions.of(2, 2, 10)).run(reader(hotTrace(5)), s -> {});

    LoadMatrix load = LoadMatrix.of(new long[][] {{4000, 3000, 100, 200}, {3000, 4000, 200, 100}});
    double staticMs = MODEL.layerSeconds(Placement.staticLayout(2, 2, 4), load) * 1e3;
    assertThat(result.windows()).isEqualTo(5);
    assertThat(result.policy("static").modelledMsPerIteration())
        .isCloseTo(staticMs, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(result.policy("static").switches()).isZero();
    assertThat(result.layers()).hasSize(1);
  }

  @Test
  void aSwitchDecidedAfterWindowZeroTakesEffectInWindowOne() throws IOException {
    ReplayResult result =
        new ReplayEvaluator(MODEL, ReplayOptions.of(2, 2, 10)).run(reader(hotTrace(2)), s -> {});

    LoadMatrix load = LoadMatrix.of(new long[][] {{4000, 3000, 100, 200}, {3000, 4000, 200, 100}});
    // LPT with sticky ties: 0 -> w0, 1 -> w1, 2 -> w1 (tie, its old worker), 3 -> w0
    Placement balanced = Placement.of(new int[] {0, 3, 2, 1}, 2, 2, 4);
    PolicySummary smartmoe = result.policy("smartmoe");
    double expectedSeconds =
        10 * MODEL.layerSeconds(Placement.staticLayout(2, 2, 4), load)
            + MODEL.switchCost(Placement.staticLayout(2, 2, 4), balanced).seconds()
            + 10 * MODEL.layerSeconds(balanced, load);
    assertThat(smartmoe.switches()).isEqualTo(1);
    assertThat(smartmoe.modelledMsPerIteration())
        .isCloseTo(expectedSeconds / 20 * 1e3, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(smartmoe.migratedBytes()).isEqualTo(2 * MODEL.migrationBytesPerExpert());
  }

  @Test
  void foresightDecidesWithTheNextWindowsLoadAndSwitchesAWindowEarlier() throws IOException {
    // window 0 balanced, then experts 0 and 1 (both on worker 0 under static) turn hot
    StringBuilder csv = new StringBuilder("iteration,rank,layer,e0,e1,e2,e3\n");
    csv.append("1,0,0,2000,2000,2000,2000\n1,1,0,2000,2000,2000,2000\n");
    for (int i = 1; i < 5; i++) {
      csv.append(1 + 10 * i).append(",0,0,4000,3000,100,200\n");
      csv.append(1 + 10 * i).append(",1,0,3000,4000,200,100\n");
    }
    String trace = csv.toString();
    ReplayOptions options =
        new ReplayOptions(2, 2, 10, List.of("selector", "foresight"), SelectorOptions.defaults(10));
    List<long[]> firstSwitch = new ArrayList<>();
    ReplayResult result =
        new ReplayEvaluator(MODEL, options)
            .run(
                TraceReader.fromStream(
                    "turns-hot.csv",
                    new ByteArrayInputStream(trace.getBytes(StandardCharsets.UTF_8)),
                    2,
                    0,
                    0),
                s -> {},
                (policy, layer, window, decision) -> {
                  if (decision.switches()) {
                    firstSwitch.add(new long[] {policy.equals("foresight") ? 1 : 0, window});
                  }
                });

    long foresightFirst =
        firstSwitch.stream().filter(w -> w[0] == 1).mapToLong(w -> w[1]).min().orElseThrow();
    long selectorFirst =
        firstSwitch.stream().filter(w -> w[0] == 0).mapToLong(w -> w[1]).min().orElseThrow();
    assertThat(foresightFirst).isZero();
    assertThat(selectorFirst).isPositive();
    assertThat(result.policy("foresight").modelledMsPerIteration())
        .isLessThan(result.policy("selector").modelledMsPerIteration());
  }

  @Test
  void theCausalOracleSwitchesForFreeButOneWindowLate() throws IOException {
    ReplayOptions options =
        new ReplayOptions(
            2, 2, 10, List.of("static", "causal-oracle", "oracle"), SelectorOptions.defaults(10));
    ReplayResult result = new ReplayEvaluator(MODEL, options).run(reader(hotTrace(3)), s -> {});

    LoadMatrix load = LoadMatrix.of(new long[][] {{4000, 3000, 100, 200}, {3000, 4000, 200, 100}});
    Placement start = Placement.staticLayout(2, 2, 4);
    PolicySummary causal = result.policy("causal-oracle");
    PolicySummary oracle = result.policy("oracle");
    assertThat(causal.switches()).isEqualTo(1);
    assertThat(causal.switchMsPerIteration()).isZero();
    // window 0 on the static layout, windows 1 and 2 on the oracle's placement
    double oracleWindowSeconds = oracle.modelledMsPerIteration() / 1e3;
    double expected = (MODEL.layerSeconds(start, load) + 2 * oracleWindowSeconds) / 3;
    assertThat(causal.modelledMsPerIteration())
        .isCloseTo(expected * 1e3, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void oracleUsesEachWindowsOwnLoadAndPaysNoSwitchCost() throws IOException {
    ReplayResult result =
        new ReplayEvaluator(MODEL, ReplayOptions.of(2, 2, 10)).run(reader(hotTrace(3)), s -> {});

    PolicySummary oracle = result.policy("oracle");
    assertThat(oracle.switches()).isEqualTo(1);
    assertThat(oracle.switchMsPerIteration()).isZero();
    for (PolicySummary p : result.overall()) {
      assertThat(oracle.modelledMsPerIteration())
          .isLessThanOrEqualTo(p.modelledMsPerIteration() + 1e-9);
    }
  }

  @Test
  void replayingTwiceGivesTheSameDecisions() throws IOException {
    PerformanceModel model =
        PerformanceModel.of(
            ClusterSpec.h100(2, 4), ModelSpec.gptMoe(), ParallelConfig.expertParallel(8, 5));
    ReplayOptions options =
        new ReplayOptions(
            8,
            5,
            10,
            List.of("selector", "oracle"),
            io.moeplan.planner.selector.SelectorOptions.defaults(10));
    List<ReplayResult> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      try (TraceReader reader = new SliceReader(30).reader()) {
        runs.add(new ReplayEvaluator(model, options).run(reader, line -> {}));
      }
    }

    for (String policy : List.of("selector", "oracle")) {
      PolicySummary first = runs.get(0).policy(policy);
      PolicySummary second = runs.get(1).policy(policy);
      assertThat(second.modelledMsPerIteration()).isEqualTo(first.modelledMsPerIteration());
      assertThat(second.switches()).isEqualTo(first.switches());
      assertThat(second.migratedBytes()).isEqualTo(first.migratedBytes());
    }
  }

  @Test
  void unknownPoliciesAreRefused() {
    assertThatThrownBy(
            () ->
                new ReplayOptions(
                    2,
                    2,
                    10,
                    List.of("static", "magic"),
                    io.moeplan.planner.selector.SelectorOptions.defaults(10)))
        .hasMessage(
            "unknown policy 'magic'; valid: static, smartmoe, eplb, flexmoe, selector, oracle (and"
                + " foresight, causal-oracle for analysis)");
  }

  @Test
  void selectorBeatsEveryBaselineOnASliceOfTheTrace() throws IOException {
    PerformanceModel model =
        PerformanceModel.of(
            ClusterSpec.h100(2, 4), ModelSpec.gptMoe(), ParallelConfig.expertParallel(8, 4));
    List<String> progress = new ArrayList<>();
    ReplayResult result;
    try (TraceReader reader = new SliceReader(60).reader()) {
      result = new ReplayEvaluator(model, ReplayOptions.of(8, 4, 10)).run(reader, progress::add);
    }

    double selector = result.policy("selector").modelledMsPerIteration();
    assertThat(selector).isLessThan(result.policy("static").modelledMsPerIteration());
    assertThat(selector).isLessThan(result.policy("smartmoe").modelledMsPerIteration());
    assertThat(selector).isLessThan(result.policy("eplb").modelledMsPerIteration());
    assertThat(selector).isLessThan(1.03 * result.policy("oracle").modelledMsPerIteration());
    assertThat(progress).isNotEmpty();
  }

  /** The first samples of layers 6-7 of the committed trace slice, as CSV text for a reader. */
  private record SliceReader(int samples) {
    TraceReader reader() throws IOException {
      StringBuilder csv = new StringBuilder("iteration,rank,layer");
      for (int e = 0; e < 32; e++) {
        csv.append(",e").append(e);
      }
      csv.append('\n');
      for (TraceSample sample : TraceSlice.samples(16, 6, 7, samples)) {
        for (int layer = 6; layer <= 7; layer++) {
          LoadMatrix load = sample.layer(layer);
          for (int rank = 0; rank < 16; rank++) {
            csv.append(sample.iteration()).append(',').append(rank).append(',').append(layer);
            for (int e = 0; e < 32; e++) {
              csv.append(',').append((long) load.tokens(rank, e));
            }
            csv.append('\n');
          }
        }
      }
      return TraceReader.fromStream(
          "slice.csv",
          new ByteArrayInputStream(csv.toString().getBytes(StandardCharsets.UTF_8)),
          8,
          6,
          7);
    }
  }
}
