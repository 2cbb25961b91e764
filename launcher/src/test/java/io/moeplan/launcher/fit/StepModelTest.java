package io.moeplan.launcher.fit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.executor.decisions.LayerSwitch;
import io.moeplan.executor.placement.MigrationReport;
import io.moeplan.executor.process.IterationReport;
import io.moeplan.schemas.ModelFit;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class StepModelTest {

  private final StepModel model = new StepModel(1e-3, 1e-5, 1e9, 2, true, "test");

  @Test
  void computeIsTheSlowestWorkerOfEachLayerSummedOverLayers() {
    int[][] active = {{2, 1}, {1, 1}};
    long[][] tokens = {{100, 300}, {50, 0}};
    // layer 0: max(2 ms + 1 ms, 1 ms + 3 ms) = 4 ms; layer 1: max(1.5 ms, 1 ms) = 1.5 ms
    assertThat(model.computeSeconds(active, tokens)).isCloseTo(5.5e-3, within(1e-12));
    assertThat(model.workerSeconds(2, 100)).isCloseTo(3e-3, within(1e-12));
  }

  @Test
  void migrationIsTheSlowestReceivingWorkerOfEachLayer() {
    long[][] received = {{2_000_000, 1_000_000}, {0, 0}, {0, 500_000}};
    assertThat(model.migrationSeconds(received)).isCloseTo(2.5e-3, within(1e-12));
    assertThat(model.stepSeconds(new int[3][2], new long[3][2], received))
        .isCloseTo(2.5e-3, within(1e-12));
  }

  @Test
  void anIterationIsModelledInTheTermsOfItsMeasuredStep() {
    MigrationReport moved =
        new MigrationReport(
            2, 0, 3_000_000, 1.0, new long[] {1_000_000, 2_000_000}, new double[] {0.4, 0.9});
    LayerSwitch change = new LayerSwitch(1, 7, null, null, 1, "job/1/0", false);
    IterationReport report =
        new IterationReport(
            7,
            1,
            List.of(new IterationReport.Applied(change, moved)),
            List.of(),
            new double[][] {{3.0, 4.0}, {1.0, 2.0}},
            new long[][] {{100, 300}, {50, 0}},
            new int[][] {{2, 1}, {1, 1}},
            new double[][] {{0, 0}, {0.4, 0.9}},
            new long[0][][]);

    assertThat(StepModel.receivedBytes(report))
        .isDeepEqualTo(new long[][] {{0, 0}, {1_000_000, 2_000_000}});
    // compute 5.5 ms + migration 2 MB at 1 GB/s = 2 ms
    assertThat(model.stepMillis(report)).isCloseTo(7.5, within(1e-9));
    // measured: compute max 4 + max 2 = 6 ms, migration max 0.9 ms
    assertThat(report.stepMillis()).isCloseTo(6.9, within(1e-9));
  }

  @Test
  void aFitGivesItsConstantsAndFallsBackToThePoolBandwidth() {
    ModelFit fit = fit(true, 0);
    StepModel fitted = StepModel.ofFit(fit);
    assertThat(fitted.fixedSeconds()).isEqualTo(2e-6);
    assertThat(fitted.perTokenSeconds()).isEqualTo(4e-5);
    assertThat(fitted.migrationBytesPerSecond()).isEqualTo(5e9);
    assertThat(fitted.modelVersion()).isEqualTo(3);
    assertThat(fitted.source()).contains("calibrated model v3");
    assertThat(StepModel.ofFit(fit(false, 2e9)).source()).contains("not calibrated yet");
    assertThat(StepModel.ofFit(fit(false, 2e9)).migrationBytesPerSecond()).isEqualTo(2e9);
  }

  @Test
  void refusesConstantsThatModelNothing() {
    assertThatThrownBy(() -> new StepModel(-1, 1, 1, 0, false, "x"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new StepModel(0, 1, 0, 0, false, "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  static ModelFit fit(boolean calibrated, double migration) {
    return ModelFit.newBuilder()
        .setJobId("job")
        .setWorkerClass("cpu")
        .setPoolVersion(1)
        .setModelVersion(calibrated ? 3 : 0)
        .setCalibrated(calibrated)
        .setLastIteration(99)
        .setComputeSamples(640)
        .setComputeOutliers(3)
        .setFixedSeconds(2e-6)
        .setPerTokenSeconds(4e-5)
        .setPoolFixedSeconds(5e-6)
        .setPoolPerTokenSeconds(1.31e-4)
        .setMigrationCalibrated(migration > 0)
        .setMigrationSamples(migration > 0 ? 12 : 0)
        .setMigrationBytesPerSecond(migration)
        .setPoolMigrationBytesPerSecond(5e9)
        .setErrorWindows(4)
        .setErrorSamples(320)
        .setComputeMape(calibrated ? 0.041 : null)
        .setComputePearson(calibrated ? 0.9812 : null)
        .setComputeRelativeMape(calibrated ? 0.008 : null)
        .setStepMape(calibrated ? 0.03 : null)
        .setPredictedStepSeconds(calibrated ? 0.012 : null)
        .setMeasuredStepSeconds(calibrated ? 0.0125 : null)
        .setMigrationMape(null)
        .setUpdatedAt(Instant.ofEpochMilli(1_700_000_000_000L))
        .build();
  }
}
