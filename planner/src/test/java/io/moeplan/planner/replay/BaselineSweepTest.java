package io.moeplan.planner.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.planner.testing.TraceSlice;
import io.moeplan.planner.trace.TraceReader;
import java.io.IOException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BaselineSweepTest {

  private static PolicySummary summary(String policy, double ms) {
    return new PolicySummary(policy, ms, 0, 0, 0, 0, PolicySpec.parse(policy, 10).label());
  }

  @Test
  void picksTheLowestTimeSettingOfEachBaselineAndTheEarlierOnATie() {
    ReplayResult replay =
        new ReplayResult(
            5,
            10,
            List.of(
                summary("static", 10),
                summary("smartmoe(threshold=0)", 9),
                summary("smartmoe(threshold=0.1)", 7),
                summary("smartmoe(threshold=0.2)", 8),
                summary("eplb(interval=100,window=10)", 6),
                summary("eplb(interval=1000,window=10)", 6),
                summary("eplb", 6.5),
                summary("selector", 5),
                summary("oracle", 4)),
            List.of());

    BaselineSweep.Result sweep = BaselineSweep.pick(replay);

    assertThat(sweep.best())
        .extracting(BaselineSweep.Best::baseline)
        .containsExactly("smartmoe", "eplb");
    assertThat(sweep.best("smartmoe").best().label()).isEqualTo("smartmoe(threshold=0.1)");
    assertThat(sweep.best("smartmoe").settings()).isEqualTo(3);
    assertThat(sweep.best("eplb").best().label()).isEqualTo("eplb(interval=100,window=10)");
    assertThat(sweep.best("eplb").settings()).isEqualTo(3);
    assertThatThrownBy(() -> sweep.best("flexmoe")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theGridSpansEveryWindowToBeyondAThousandIterations() {
    List<String> grid = BaselineSweep.grid(10);

    assertThat(grid).doesNotHaveDuplicates();
    assertThat(grid).contains("eplb(interval=10,window=10)", "eplb(interval=2500,window=1000)");
    assertThat(grid.stream().filter(p -> p.startsWith("eplb("))).hasSize(40);
    assertThat(grid.stream().filter(p -> p.startsWith("smartmoe("))).hasSize(7);
    assertThat(grid.stream().filter(p -> p.startsWith("flexmoe("))).hasSize(7);
    assertThat(BaselineSweep.policies(10))
        .startsWith("static")
        .endsWith("selector", "oracle")
        .hasSize(grid.size() + 3);
    // a window of 100 iterations rounds the values to multiples of 100 and drops duplicates
    assertThat(BaselineSweep.multiples(BaselineSweep.EPLB_INTERVALS, 100))
        .containsExactly(100, 200, 500, 1000, 2500);
  }

  @Test
  void aSweepOfTheTraceSliceReportsTheGridAndEachBaselineAtItsBest() throws IOException {
    PerformanceModel model =
        PerformanceModel.of(
            ClusterSpec.h100(2, 4), ModelSpec.gptMoe(), ParallelConfig.expertParallel(8, 4));
    List<String> policies = new java.util.ArrayList<>(BaselineSweep.policies(10));
    policies.add("eplb");
    ReplayOptions options = new ReplayOptions(8, 4, 10, policies, SelectorOptions.defaults(10));
    ReplayResult replay;
    try (TraceReader reader = TraceSlice.reader(8, 0, 1)) {
      replay = new ReplayEvaluator(model, options).run(reader, s -> {});
    }

    BaselineSweep.Result sweep = BaselineSweep.pick(replay);

    assertThat(replay.overall()).hasSize(policies.size());
    assertThat(replay.layers()).hasSize(2);
    for (BaselineSweep.Best best : sweep.best()) {
      PolicySummary lowest =
          replay.overall().stream()
              .filter(p -> PolicySpec.parse(p.policy(), 10).name().equals(best.baseline()))
              .min(Comparator.comparingDouble(PolicySummary::modelledMsPerIteration))
              .orElseThrow();
      assertThat(best.best().modelledMsPerIteration()).isEqualTo(lowest.modelledMsPerIteration());
      assertThat(best.best().label()).startsWith(best.baseline() + "(");
    }
    assertThat(sweep.best("eplb").settings()).isEqualTo(41);
    // the plain name replays the every-window setting of the grid
    PolicySummary plain = replay.policy("eplb");
    PolicySummary everyWindow = replay.policy("eplb(interval=10,window=10)");
    assertThat(plain.label()).isEqualTo("eplb(interval=10,window=10)");
    assertThat(plain.modelledMsPerIteration()).isEqualTo(everyWindow.modelledMsPerIteration());
    assertThat(plain.switches()).isEqualTo(everyWindow.switches());
    // rebalancing every 1000 iterations switches at most once per layer in 800 iterations
    assertThat(replay.policy("eplb(interval=1000,window=100)").switches()).isZero();
    assertThat(replay.policy("eplb(interval=100,window=100)").switches()).isLessThanOrEqualTo(16);
    // a threshold no placement reaches never adjusts
    assertThat(replay.policy("smartmoe(threshold=0)").switches())
        .isGreaterThan(replay.policy("smartmoe(threshold=0.5)").switches());
  }

  @Test
  void policySpecsNameEverySettingAndRejectBadOnes() {
    assertThat(PolicySpec.parse("eplb", 10).label()).isEqualTo("eplb(interval=10,window=10)");
    assertThat(PolicySpec.parse(" eplb(window=100, interval=1000) ", 10).label())
        .isEqualTo("eplb(interval=1000,window=100)");
    assertThat(PolicySpec.parse("smartmoe", 10).label()).isEqualTo("smartmoe(threshold=0)");
    assertThat(PolicySpec.parse("flexmoe", 10).label()).isEqualTo("flexmoe(threshold=1.2)");
    assertThat(PolicySpec.parse("selector", 10).label()).isEqualTo("selector");
    assertThat(PolicySpec.parse("eplb(interval=1000)", 10).settings())
        .isEqualTo(Map.of("interval", 1000.0, "window", 10.0));
    assertThatThrownBy(() -> PolicySpec.parse("eplb(interval=15)", 10))
        .hasMessageContaining("multiple of the window iterations (10)");
    assertThatThrownBy(() -> PolicySpec.parse("eplb(threshold=1)", 10))
        .hasMessageContaining("no setting 'threshold'");
    assertThatThrownBy(() -> PolicySpec.parse("smartmoe(threshold=-1)", 10))
        .hasMessageContaining(">= 0");
    assertThatThrownBy(() -> PolicySpec.parse("selector(x=1)", 10))
        .hasMessageContaining("no setting");
    assertThatThrownBy(() -> PolicySpec.parse("lru", 10)).hasMessageContaining("unknown policy");
    assertThatThrownBy(() -> new ReplayOptions(2, 2, 10, List.of("eplb(interval=5)"), null))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
