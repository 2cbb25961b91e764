package io.moeplan.launcher.fit;

import io.moeplan.executor.process.IterationReport;
import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.pool.Pool;
import io.moeplan.schemas.ModelFit;
import java.util.Locale;

/**
 * The modelled counterpart of an executor's measured step time ({@link
 * IterationReport#stepMillis()}), in the same terms: per layer the slowest worker's modelled expert
 * compute, {@code fixed * activeSlots + perToken * tokens}, plus, for a layer that switched before
 * the iteration, the slowest worker's modelled receive time, {@code bytes received / migration
 * bandwidth}; summed over layers.
 *
 * @param fixedSeconds compute seconds per active expert slot
 * @param perTokenSeconds compute seconds per token assignment
 * @param migrationBytesPerSecond bytes a worker receives per second
 * @param modelVersion the job's model version the constants are from (0: the pool's)
 * @param calibrated whether the compute constants were fitted to measured times
 * @param source where the constants come from, in words
 */
public record StepModel(
    double fixedSeconds,
    double perTokenSeconds,
    double migrationBytesPerSecond,
    long modelVersion,
    boolean calibrated,
    String source) {

  /** Checks the constants. */
  public StepModel {
    if (!(fixedSeconds >= 0) || !(perTokenSeconds >= 0) || !(migrationBytesPerSecond > 0)) {
      throw new IllegalArgumentException(
          String.format(
              Locale.ROOT,
              "bad model constants: fixed %s s, per token %s s, migration %s B/s",
              fixedSeconds,
              perTokenSeconds,
              migrationBytesPerSecond));
    }
  }

  /**
   * The pool's constants: those of the performance model of its starting plan's parallel config,
   * and its cluster's intra-node bandwidth for migrations.
   */
  public static StepModel ofPool(Pool pool) {
    PerformanceModel model =
        PerformanceModel.of(pool.cluster(), pool.model(), pool.startingPlan().parallel());
    return new StepModel(
        model.fixedSeconds(),
        model.perTokenSeconds(),
        pool.cluster().intraNodeBandwidth(),
        0,
        false,
        "the pool's constants");
  }

  /**
   * The constants a ModelFit publishes: the fitted compute constants (the pool's until calibrated)
   * and the measured migration throughput (the pool's bandwidth until calibrated).
   */
  public static StepModel ofFit(ModelFit fit) {
    double bandwidth =
        fit.getMigrationBytesPerSecond() > 0
            ? fit.getMigrationBytesPerSecond()
            : fit.getPoolMigrationBytesPerSecond();
    return new StepModel(
        fit.getFixedSeconds(),
        fit.getPerTokenSeconds(),
        bandwidth,
        fit.getModelVersion(),
        fit.getCalibrated(),
        fit.getCalibrated()
            ? "the job's calibrated model v" + fit.getModelVersion()
            : "the pool's constants (the job's model is not calibrated yet)");
  }

  /** Modelled compute of one worker in seconds. */
  public double workerSeconds(int activeSlots, long tokens) {
    return fixedSeconds * activeSlots + perTokenSeconds * tokens;
  }

  /**
   * Modelled compute of the slowest worker of each layer, summed over layers, in seconds: {@code
   * activeSlots[layer][worker]}, {@code tokens[layer][worker]}.
   */
  public double computeSeconds(int[][] activeSlots, long[][] tokens) {
    double sum = 0;
    for (int layer = 0; layer < tokens.length; layer++) {
      double max = 0;
      for (int w = 0; w < tokens[layer].length; w++) {
        max = Math.max(max, workerSeconds(activeSlots[layer][w], tokens[layer][w]));
      }
      sum += max;
    }
    return sum;
  }

  /**
   * Modelled migration paid in seconds: per layer the slowest worker's receive time of the bytes it
   * received ({@code receivedBytes[layer][worker]}, zeros for a layer that did not switch), summed
   * over layers.
   */
  public double migrationSeconds(long[][] receivedBytes) {
    double sum = 0;
    for (long[] layer : receivedBytes) {
      long max = 0;
      for (long bytes : layer) {
        max = Math.max(max, bytes);
      }
      sum += max / migrationBytesPerSecond;
    }
    return sum;
  }

  /** Modelled step time in seconds: {@link #computeSeconds} plus {@link #migrationSeconds}. */
  public double stepSeconds(int[][] activeSlots, long[][] tokens, long[][] receivedBytes) {
    return computeSeconds(activeSlots, tokens) + migrationSeconds(receivedBytes);
  }

  /** Modelled step time of an executor's iteration, in milliseconds. */
  public double stepMillis(IterationReport report) {
    return 1e3 * stepSeconds(report.activeSlots(), report.workerTokens(), receivedBytes(report));
  }

  /**
   * The bytes each worker received for each layer before the iteration ({@code [layer][worker]}),
   * from the switches it applied.
   */
  public static long[][] receivedBytes(IterationReport report) {
    int layers = report.workerTokens().length;
    int workers = layers == 0 ? 0 : report.workerTokens()[0].length;
    long[][] bytes = new long[layers][workers];
    for (IterationReport.Applied applied : report.applied()) {
      int layer = applied.change().layer();
      for (int w = 0; w < workers; w++) {
        bytes[layer][w] += applied.migration().workerBytes(w);
      }
    }
    return bytes;
  }

  /** The constants in words. */
  public String describe() {
    return "fixed "
        + ModelFitText.seconds(fixedSeconds)
        + " per active slot, per token "
        + ModelFitText.seconds(perTokenSeconds)
        + ", migration "
        + ModelFitText.bandwidth(migrationBytesPerSecond);
  }
}
