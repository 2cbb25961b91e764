package io.moeplan.flink.calibration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.WorkerTime;
import io.moeplan.schemas.WorkerTimes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/**
 * Calibration on synthetic measurements whose constants are known: an executor of 8 workers whose
 * compute costs {@code FIXED} per active slot plus {@code PER_TOKEN} per token (3% noise, a few
 * gross outliers), against a pool whose constants are several times off.
 */
class JobCalibrationTest {

  private static final double FIXED = 40e-6;
  private static final double PER_TOKEN = 90e-9;
  private static final double BANDWIDTH = 3e9;
  private static final int F = 10;
  private static final int WORKERS = 8;
  private static final PerformanceModel POOL =
      new PerformanceModel(8, 6e-4, 4.4e-7, 4096, 3e11, 4.5e10, 2.5e-5, 1e8, 734_003_200L, 1.0);
  private static final JobCalibration.Prior PRIOR = new JobCalibration.Prior(3, POOL);

  private final Random random = new Random(42);
  // one worker sample in this many is a gross outlier (0: none)
  private int outlierEvery = 40;
  // the machine's speed for the next record: every worker of a record runs at it
  private double speed = 1;
  private final List<ModelFit> fits = new ArrayList<>();

  private static PlanSelectorConfig.Calibration settings(boolean enabled) {
    return new PlanSelectorConfig.Calibration(enabled, 4096, 256, 8, 5);
  }

  @Test
  void recoversTheMeasuredConstantsAndItsErrorFallsOnceTheyReplaceThePools() {
    JobCalibration calibration = new JobCalibration(settings(true), F);
    CalibrationState state = new CalibrationState();
    for (long iteration = 0; iteration <= 20 * F; iteration++) {
      for (int layer = 0; layer < 2; layer++) {
        add(calibration, state, times(iteration, layer, false));
      }
    }

    ModelFit first = fits.get(0);
    assertThat(first.getCalibrated()).isFalse();
    assertThat(first.getModelVersion()).isZero();
    assertThat(first.getFixedSeconds()).isEqualTo(POOL.fixedSeconds());

    ModelFit last = fits.get(fits.size() - 1);
    assertThat(last.getCalibrated()).isTrue();
    assertThat(last.getModelVersion()).isPositive();
    assertThat(last.getFixedSeconds()).isCloseTo(FIXED, within(FIXED * 0.05));
    assertThat(last.getPerTokenSeconds()).isCloseTo(PER_TOKEN, within(PER_TOKEN * 0.03));
    assertThat(last.getPoolPerTokenSeconds()).isEqualTo(POOL.perTokenSeconds());
    assertThat(last.getComputeOutliers()).as("the gross outliers").isPositive();
    assertThat(last.getComputeSamples()).isGreaterThanOrEqualTo(256);
    // the last windows were predicted by the calibrated model, before they joined the fit
    assertThat(last.getErrorWindows()).isEqualTo(5);
    // the outliers count in the error: 1 in 40 samples measured 10x what is predicted
    assertThat(last.getComputeMape()).isLessThan(0.06);
    // while the pool's constants were in force, the error was large
    ModelFit early = fits.get(1);
    assertThat(early.getCalibrated()).isFalse();
    assertThat(early.getComputeMape()).isGreaterThan(1.0);
  }

  @Test
  void onCleanMeasurementsTheCalibratedModelPredictsWithinFivePercent() {
    outlierEvery = 0;
    JobCalibration calibration = new JobCalibration(settings(true), F);
    CalibrationState state = new CalibrationState();
    for (long iteration = 0; iteration <= 20 * F; iteration++) {
      for (int layer = 0; layer < 2; layer++) {
        add(calibration, state, times(iteration, layer, false));
      }
    }

    ModelFit last = fits.get(fits.size() - 1);
    assertThat(last.getComputeOutliers()).isZero();
    // four whole windows, and the first record of the window whose start made the fit
    assertThat(last.getErrorSamples()).isEqualTo(4L * F * 2 * WORKERS + WORKERS);
    assertThat(last.getComputeMape()).isLessThan(0.05);
    assertThat(last.getComputePearson()).isGreaterThan(0.98);
    assertThat(last.getStepMape()).isLessThan(0.05);
    assertThat(last.getPredictedStepSeconds())
        .isCloseTo(last.getMeasuredStepSeconds(), within(0.05 * last.getMeasuredStepSeconds()));
  }

  @Test
  void aMachineWhoseSpeedChangesBetweenStepsShowsInTheErrorButNotInTheRelativeError() {
    outlierEvery = 0;
    JobCalibration calibration = new JobCalibration(settings(true), F);
    CalibrationState state = new CalibrationState();
    for (long iteration = 0; iteration <= 20 * F; iteration++) {
      // one step in five runs 12% faster (a boost clock, an idle neighbour)
      speed = iteration % 5 == 0 ? 0.88 : 1.0;
      add(calibration, state, times(iteration, 0, false));
    }

    ModelFit last = fits.get(fits.size() - 1);
    assertThat(last.getComputeMape()).isGreaterThan(0.03);
    assertThat(last.getComputeRelativeMape()).isLessThan(0.015);
    assertThat(last.getComputeRelativeMape()).isLessThan(last.getComputeMape() / 2);
  }

  @Test
  void pricesMigrationsAtTheMeasuredThroughputOnceEnoughWereSeen() {
    JobCalibration calibration = new JobCalibration(settings(true), F);
    CalibrationState state = new CalibrationState();
    for (long iteration = 0; iteration <= 6 * F; iteration++) {
      add(calibration, state, times(iteration, 0, iteration % F == 3));
    }

    ModelFit last = fits.get(fits.size() - 1);
    assertThat(last.getMigrationCalibrated()).isTrue();
    assertThat(last.getMigrationSamples()).isGreaterThanOrEqualTo(8);
    assertThat(last.getMigrationBytesPerSecond()).isCloseTo(BANDWIDTH, within(BANDWIDTH * 0.03));
    assertThat(last.getPoolMigrationBytesPerSecond()).isEqualTo(POOL.intraNodeBandwidth());
    PerformanceModel model = JobCalibration.withFit(POOL, last);
    assertThat(model.replicaMigrationSeconds(false))
        .isCloseTo(734_003_200L / BANDWIDTH, within(0.03 * 734_003_200L / BANDWIDTH));
  }

  @Test
  void aRedeliveredRecordIsADuplicateAndDoesNotJoinTheSamples() {
    JobCalibration calibration = new JobCalibration(settings(true), F);
    CalibrationState state = new CalibrationState();
    WorkerTimes times = times(4, 0, false);

    assertThat(calibration.add(state, times, PRIOR, 0).use()).isEqualTo(JobCalibration.Use.USED);
    int samples = state.computeSize;
    assertThat(calibration.add(state, times, PRIOR, 0).use())
        .isEqualTo(JobCalibration.Use.DUPLICATE);
    assertThat(state.computeSize).isEqualTo(samples);
    // the same iteration of another layer, or of another executor, is not a duplicate
    assertThat(calibration.add(state, times(4, 1, false), PRIOR, 0).use())
        .isEqualTo(JobCalibration.Use.USED);
    WorkerTimes other = WorkerTimes.newBuilder(times).setExecutorId("host-b/8").build();
    assertThat(calibration.add(state, other, PRIOR, 0).use()).isEqualTo(JobCalibration.Use.USED);
  }

  @Test
  void withoutAPoolSamplesAreKeptAndTheFirstPoolFitsThem() {
    JobCalibration calibration = new JobCalibration(settings(true), F);
    CalibrationState state = new CalibrationState();
    for (long iteration = 0; iteration < 5 * F; iteration++) {
      JobCalibration.Outcome outcome = calibration.add(state, times(iteration, 0, false), null, 0);
      assertThat(outcome.use()).isEqualTo(JobCalibration.Use.USED);
      assertThat(outcome.fit()).isNull();
    }
    ModelFit fit = calibration.add(state, times(5 * F, 0, false), PRIOR, 0).fit();

    assertThat(fit.getCalibrated()).isTrue();
    assertThat(fit.getPoolVersion()).isEqualTo(3);
    assertThat(fit.getPerTokenSeconds()).isCloseTo(PER_TOKEN, within(PER_TOKEN * 0.05));
  }

  @Test
  void withCalibrationOffTheFitIsPublishedButThePoolsConstantsStayInForce() {
    JobCalibration calibration = new JobCalibration(settings(false), F);
    CalibrationState state = new CalibrationState();
    for (long iteration = 0; iteration <= 10 * F; iteration++) {
      add(calibration, state, times(iteration, 0, iteration % F == 3));
    }

    ModelFit last = fits.get(fits.size() - 1);
    assertThat(last.getCalibrated()).isFalse();
    assertThat(last.getMigrationCalibrated()).isFalse();
    assertThat(last.getModelVersion()).isZero();
    assertThat(last.getPerTokenSeconds()).isCloseTo(PER_TOKEN, within(PER_TOKEN * 0.05));
    assertThat(JobCalibration.withFit(POOL, last).perTokenSeconds())
        .isEqualTo(POOL.perTokenSeconds());
    // the published error is that of the model in force: the pool's
    assertThat(last.getComputeMape()).isGreaterThan(1.0);
  }

  @Test
  void aNewHardwareClassOrPoolVersionStartsTheSamplesOver() {
    JobCalibration calibration = new JobCalibration(settings(true), F);
    CalibrationState state = new CalibrationState();
    for (long iteration = 0; iteration <= 8 * F; iteration++) {
      add(calibration, state, times(iteration, 0, false));
    }
    long version = fits.get(fits.size() - 1).getModelVersion();
    assertThat(fits.get(fits.size() - 1).getCalibrated()).isTrue();

    WorkerTimes cuda =
        WorkerTimes.newBuilder(times(8 * F + 1, 0, false)).setBackend("cuda").build();
    ModelFit newClass = calibration.add(state, cuda, PRIOR, 0).fit();
    assertThat(state.computeSize).isEqualTo(WORKERS);
    assertThat(newClass.getWorkerClass()).isEqualTo("cuda");
    assertThat(newClass.getCalibrated()).isFalse();
    assertThat(newClass.getComputeSamples()).isBetween(1L, (long) WORKERS);
    assertThat(newClass.getModelVersion())
        .as("the selector went back to the pool's constants: a new model version")
        .isEqualTo(version + 1);

    ModelFit newPool =
        calibration
            .add(
                state,
                WorkerTimes.newBuilder(times(9 * F, 0, false)).setBackend("cuda").build(),
                new JobCalibration.Prior(4, POOL),
                0)
            .fit();
    assertThat(newPool.getPoolVersion()).isEqualTo(4);
    assertThat(newPool.getComputeSamples()).isBetween(1L, (long) WORKERS);
    assertThat(newPool.getModelVersion()).isEqualTo(version + 1);
  }

  @Test
  void theStateIsAFlinkPojoThatSurvivesSerialization() throws Exception {
    JobCalibration calibration = new JobCalibration(settings(true), F);
    CalibrationState state = new CalibrationState();
    for (long iteration = 0; iteration <= 3 * F; iteration++) {
      add(calibration, state, times(iteration, 0, iteration % F == 3));
    }
    TypeInformation<CalibrationState> type = TypeInformation.of(CalibrationState.class);
    assertThat(type).isInstanceOf(PojoTypeInfo.class);
    TypeSerializer<CalibrationState> serializer = type.createSerializer(new SerializerConfigImpl());
    DataOutputSerializer out = new DataOutputSerializer(1 << 16);
    serializer.serialize(state, out);
    CalibrationState copy =
        serializer.deserialize(new DataInputDeserializer(out.getSharedBuffer(), 0, out.length()));

    assertThat(copy).usingRecursiveComparison().isEqualTo(state);
  }

  private void add(JobCalibration calibration, CalibrationState state, WorkerTimes times) {
    JobCalibration.Outcome outcome = calibration.add(state, times, PRIOR, 0);
    assertThat(outcome.use()).isEqualTo(JobCalibration.Use.USED);
    if (outcome.fit() != null) {
      fits.add(outcome.fit());
    }
  }

  /** One layer's measurements; with {@code migrated}, every worker received 1-3 replicas. */
  private WorkerTimes times(long iteration, int layer, boolean migrated) {
    List<WorkerTime> workers = new ArrayList<>();
    for (int w = 0; w < WORKERS; w++) {
      int slots = 1 + random.nextInt(4);
      long tokens = 200 + random.nextInt(4000);
      double seconds =
          speed * (FIXED * slots + PER_TOKEN * tokens) * (1 + 0.01 * random.nextGaussian());
      if (outlierEvery > 0 && random.nextInt(outlierEvery) == 0) {
        seconds *= 10; // a gross outlier: a pause in the middle of the measurement
      }
      long bytes = migrated ? (1 + random.nextInt(3)) * 6_291_456L : 0;
      double migration = bytes / BANDWIDTH * (1 + 0.02 * random.nextGaussian());
      workers.add(new WorkerTime(w, tokens, slots, seconds, bytes, migrated ? migration : 0.0));
    }
    return WorkerTimes.newBuilder()
        .setJobId("job")
        .setExecutorId("host-a/0")
        .setIteration(iteration)
        .setLayer(layer)
        .setPlanVersion(0)
        .setBackend("cpu")
        .setWorkers(workers)
        .setMigratedBytes(0)
        .setMigrationSeconds(0)
        .setProducedAt(Instant.EPOCH)
        .build();
  }
}
