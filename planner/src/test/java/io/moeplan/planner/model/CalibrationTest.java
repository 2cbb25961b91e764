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

  /** Per-worker samples of a worker with 40 us per slot and 90 ns per token. */
  private static final class Measurements {
    final double[] slots;
    final double[] tokens;
    final double[] seconds;
    int outliers;

    Measurements(int n, long seed, boolean varyTokens) {
      Random random = new Random(seed);
      slots = new double[n];
      tokens = new double[n];
      seconds = new double[n];
      for (int i = 0; i < n; i++) {
        slots[i] = 1 + random.nextInt(4);
        tokens[i] = varyTokens ? random.nextInt(5001) : 0;
        double clean = 40e-6 * slots[i] + 90e-9 * tokens[i];
        double noisy = clean * (1 + 0.03 * (2 * random.nextDouble() - 1));
        if (random.nextDouble() < 0.05) {
          noisy *= random.nextBoolean() ? 10 : 0.1;
          outliers++;
        }
        seconds[i] = noisy;
      }
    }
  }

  @Test
  void perWorkerComputeFitRecoversTheConstantsAndRejectsGrossOutliers() {
    Measurements m = new Measurements(500, 11, true);

    Calibration.ComputeFit fit = Calibration.fitCompute(m.slots, m.tokens, m.seconds, 500, PRIOR);

    assertThat(m.outliers).isPositive();
    assertThat(fit.fixedSeconds()).isCloseTo(40e-6, within(0.03 * 40e-6));
    assertThat(fit.perTokenSeconds()).isCloseTo(90e-9, within(0.03 * 90e-9));
    assertThat(fit.rejected()).isPositive();
    assertThat(fit.kept() + fit.rejected()).isEqualTo(500);

    // the same data without rejection: the outliers pull the constants far off
    double[][] x = new double[500][];
    for (int i = 0; i < 500; i++) {
      x[i] = new double[] {m.slots[i], m.tokens[i]};
    }
    double[] plain =
        RobustFit.fit(x, m.seconds, 500, new double[] {1e-3, 1e-6}, 4, 0).coefficients();
    double robustError =
        Math.abs(fit.fixedSeconds() / 40e-6 - 1) + Math.abs(fit.perTokenSeconds() / 90e-9 - 1);
    double plainError = Math.abs(plain[0] / 40e-6 - 1) + Math.abs(plain[1] / 90e-9 - 1);
    assertThat(plainError).isGreaterThan(0.1).isGreaterThan(5 * robustError);
  }

  @Test
  void aComputeFeatureThatNeverVariesKeepsThePrior() {
    Measurements m = new Measurements(200, 12, false);

    Calibration.ComputeFit fit = Calibration.fitCompute(m.slots, m.tokens, m.seconds, 200, PRIOR);

    assertThat(fit.fixedSeconds()).isCloseTo(40e-6, within(0.03 * 40e-6));
    assertThat(fit.perTokenSeconds()).isCloseTo(PRIOR.perTokenSeconds(), within(1e-12));
  }

  @Test
  void aComputeFitOfNoSamplesIsThePrior() {
    Calibration.ComputeFit fit =
        Calibration.fitCompute(new double[0], new double[0], new double[0], 0, PRIOR);

    assertThat(fit)
        .isEqualTo(new Calibration.ComputeFit(PRIOR.fixedSeconds(), PRIOR.perTokenSeconds(), 0, 0));
  }

  @Test
  void migrationFitRecoversTheThroughputAndRejectsGrossOutliers() {
    Random random = new Random(13);
    int n = 300;
    double[] bytes = new double[n + 2];
    double[] seconds = new double[n + 2];
    int outliers = 0;
    for (int i = 0; i < n; i++) {
      bytes[i] = (1 + random.nextInt(4)) * 734e6;
      seconds[i] = bytes[i] / 3e9 * (1 + 0.03 * (2 * random.nextDouble() - 1));
      if (random.nextDouble() < 0.05) {
        seconds[i] *= random.nextBoolean() ? 10 : 0.1;
        outliers++;
      }
    }
    // workers that received nothing are not samples
    seconds[n] = 0.5;
    seconds[n + 1] = 0;

    Calibration.MigrationFit fit = Calibration.fitMigration(bytes, seconds, n + 2, 1e9);

    assertThat(outliers).isPositive();
    assertThat(fit.bytesPerSecond()).isCloseTo(3e9, within(0.03 * 3e9));
    assertThat(fit.rejected()).isPositive();
    assertThat(fit.kept() + fit.rejected()).isEqualTo(n);
  }

  @Test
  void migrationFitWithoutUsableSamplesIsThePrior() {
    assertThat(Calibration.fitMigration(new double[0], new double[0], 0, 2e9))
        .isEqualTo(new Calibration.MigrationFit(2e9, 0, 0));
    assertThat(Calibration.fitMigration(new double[] {0, -1, 5}, new double[] {1, 1, 1}, 2, 2e9))
        .isEqualTo(new Calibration.MigrationFit(2e9, 0, 0));
    assertThat(Calibration.fitMigration(new double[] {1e9, 2e9}, new double[] {0, 0}, 2, 2e9))
        .isEqualTo(new Calibration.MigrationFit(2e9, 0, 0));
  }

  @Test
  void aMigrationSampleOfZeroSecondsIsRejectedOnlyByTheMadRule() {
    double[] bytes = {1e9, 1e9, 1e9, 1e9, 1e9};
    double[] seconds = {0.5, 0.51, 0.49, 0.5, 0};
    Calibration.MigrationFit fit = Calibration.fitMigration(bytes, seconds, 5, 1e9);
    assertThat(fit.rejected()).isEqualTo(1);
    assertThat(fit.bytesPerSecond()).isCloseTo(2e9, within(1e6));

    // with no spread among the ratios nothing is rejected
    double[] alike = {0.5, 0.5, 0.5, 0};
    Calibration.MigrationFit kept = Calibration.fitMigration(bytes, alike, 4, 1e9);
    assertThat(kept.rejected()).isZero();
    assertThat(kept.kept()).isEqualTo(4);
    assertThat(kept.bytesPerSecond()).isCloseTo(4e9 / 1.5, within(1.0));
  }

  @Test
  void needsAtLeastThreeSamples() {
    assertThatThrownBy(() -> Calibration.fit(PRIOR, List.of()))
        .hasMessage("calibration needs at least 3 samples, got 0");
  }
}
