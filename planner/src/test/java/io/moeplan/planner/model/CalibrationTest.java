package io.moeplan.planner.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CalibrationTest {

  private static final PerformanceModel PRIOR =
      new PerformanceModel(2, 1e-3, 1e-6, 4096, 1e11, 1e10, 1e-5, 1e8, 1L << 30, 1.0);

  @Test
  void recoversComputeConstantsAndCommunicationScale() {
    // the "hardware": 2 ms per replica, 0.5 us per token, communication 1.5x the model's
    Random random = new Random(7);
    List<Calibration.Sample> samples = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      int slots = 1 + i % 3;
      int experts = 4 * slots;
      double[][] rows = new double[4][experts];
      for (double[] row : rows) {
        for (int e = 0; e < experts; e++) {
          row[e] = random.nextInt(5000);
        }
      }
      LayerCost predicted =
          PRIOR.evaluate(Placement.staticLayout(4, slots, experts), LoadMatrix.of(rows));
      int w = predicted.computeCriticalWorker();
      double measured =
          2e-3 * predicted.workerReplicas(w)
              + 0.5e-6 * predicted.workerTokens(w)
              + 1.5 * (predicted.maxAllToAllSeconds() + predicted.syncSeconds());
      samples.add(new Calibration.Sample(predicted, measured));
    }

    Calibration.Result fit = Calibration.fit(PRIOR, samples);

    assertThat(fit.model().fixedSeconds()).isCloseTo(2e-3, within(1e-9));
    assertThat(fit.model().perTokenSeconds()).isCloseTo(0.5e-6, within(1e-12));
    assertThat(fit.model().commScale()).isCloseTo(1.5, within(1e-6));
    assertThat(fit.rmsErrorSeconds()).isLessThan(1e-9);
    assertThat(fit.meanRelativeError()).isLessThan(1e-6);
  }

  @Test
  void needsAtLeastThreeSamples() {
    assertThatThrownBy(() -> Calibration.fit(PRIOR, List.of()))
        .hasMessage("calibration needs at least 3 samples, got 0");
  }
}
