package io.moeplan.executor.process;

import io.moeplan.executor.decisions.LayerSwitch;
import io.moeplan.executor.placement.MigrationReport;
import java.util.List;

/**
 * What one iteration did: the plan version every hosted rank reported, the switches applied before
 * it ran (with what each moved), the layers whose decision timed out, and each layer's measured
 * per-worker compute in milliseconds ({@code workerMillis[layer][worker]}), the token assignments
 * each worker computed ({@code workerTokens[layer][worker]}), the slots of each worker that got
 * tokens ({@code activeSlots[layer][worker]}), the time each worker's share of a switch applied
 * before the iteration took ({@code migrationMillis[layer][worker]}, zeros for a layer that did not
 * switch), and the tokens each hosted rank routed to each expert ({@code
 * counts[rank][layer][expert]}).
 *
 * <p>The measured step time ({@link #stepMillis()}) counts what a training step waits for in the
 * MoE layers: per layer the slowest worker's expert compute plus the slowest worker's migration,
 * summed over layers. Workers of one process run one after another here but are timed one by one,
 * so the step is what it would be with each worker on its own device.
 */
public record IterationReport(
    long iteration,
    long planVersion,
    List<Applied> applied,
    List<Integer> timedOutLayers,
    double[][] workerMillis,
    long[][] workerTokens,
    int[][] activeSlots,
    double[][] migrationMillis,
    long[][][] counts) {

  /** A switch and its migration. */
  public record Applied(LayerSwitch change, MigrationReport migration) {}

  /** Copies the lists. */
  public IterationReport {
    applied = List.copyOf(applied);
    timedOutLayers = List.copyOf(timedOutLayers);
  }

  /** Max over mean of the measured per-worker compute, averaged over layers (1 is balanced). */
  public double computeImbalance() {
    double sum = 0;
    for (double[] layer : workerMillis) {
      double max = 0;
      double mean = 0;
      for (double ms : layer) {
        max = Math.max(max, ms);
        mean += ms / layer.length;
      }
      sum += mean > 0 ? max / mean : 1;
    }
    return workerMillis.length == 0 ? 1 : sum / workerMillis.length;
  }

  /** Max over mean of the token assignments per worker, averaged over layers (1 is balanced). */
  public double tokenImbalance() {
    double sum = 0;
    for (long[] layer : workerTokens) {
      double max = 0;
      double mean = 0;
      for (long tokens : layer) {
        max = Math.max(max, tokens);
        mean += (double) tokens / layer.length;
      }
      sum += mean > 0 ? max / mean : 1;
    }
    return workerTokens.length == 0 ? 1 : sum / workerTokens.length;
  }

  /** Measured compute of the slowest worker, summed over layers, in milliseconds. */
  public double maxWorkerMillis() {
    return sumOfMax(workerMillis);
  }

  /** Migration paid: the slowest worker's share of each layer's switch, summed, in milliseconds. */
  public double migrationPaidMillis() {
    return sumOfMax(migrationMillis);
  }

  /** The measured step time: {@link #maxWorkerMillis()} plus {@link #migrationPaidMillis()}. */
  public double stepMillis() {
    return maxWorkerMillis() + migrationPaidMillis();
  }

  private static double sumOfMax(double[][] byLayer) {
    double sum = 0;
    for (double[] layer : byLayer) {
      double max = 0;
      for (double ms : layer) {
        max = Math.max(max, ms);
      }
      sum += max;
    }
    return sum;
  }
}
