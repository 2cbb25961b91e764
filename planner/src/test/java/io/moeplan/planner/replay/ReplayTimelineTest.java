package io.moeplan.planner.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.planner.testing.TraceSlice;
import io.moeplan.planner.trace.TraceReader;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class ReplayTimelineTest {

  @Test
  void theTimelineAddsUpToTheSummariesWindowByWindow() throws IOException {
    PerformanceModel model =
        PerformanceModel.of(
            ClusterSpec.h100(2, 4), ModelSpec.gptMoe(), ParallelConfig.expertParallel(8, 4));
    ReplayResult result;
    try (TraceReader reader = TraceSlice.reader(8, 6, 7)) {
      result = new ReplayEvaluator(model, ReplayOptions.of(8, 4, 10)).run(reader, line -> {});
    }
    ReplayTimeline timeline = result.timeline();

    assertThat(timeline.windows()).isEqualTo(result.windows()).isEqualTo(TraceSlice.SAMPLES);
    assertThat(timeline.layers()).containsExactly(6, 7);
    assertThat(timeline.policies()).isEqualTo(ReplayEvaluator.POLICIES);
    assertThat(timeline.iteration(0)).isEqualTo(1);
    assertThat(timeline.iteration(1)).isEqualTo(11);
    for (PolicySummary summary : result.overall()) {
      double[] perWindow = timeline.msPerIteration(summary.policy());
      double mean = 0;
      for (double ms : perWindow) {
        mean += ms / perWindow.length;
      }
      assertThat(mean)
          .as(summary.policy())
          .isCloseTo(summary.modelledMsPerIteration(), within(1e-9 * mean));
    }
    int p = timeline.policies().indexOf("static");
    double layer7 = 0;
    for (int w = 0; w < timeline.windows(); w++) {
      layer7 += timeline.seconds(w, p, 1);
    }
    double iterations = (double) timeline.windows() * timeline.windowIterations();
    assertThat(layer7 / iterations * 1e3)
        .isCloseTo(
            result.layers().get(1).policies().get(p).modelledMsPerIteration(),
            within(1e-9 * layer7));
  }
}
