package io.moeplan.executor.process;

import io.moeplan.executor.decisions.LayerSwitch;
import io.moeplan.executor.placement.MigrationReport;
import java.util.List;

/**
 * What one iteration did: the plan version every hosted rank reported, the switches applied before
 * it ran (with what each moved), the layers whose decision timed out, and each layer's measured
 * per-worker compute in milliseconds ({@code workerMillis[layer][worker]}), the token assignments
 * each worker computed ({@code workerTokens[layer][worker]}), and the tokens each hosted rank
 * routed to each expert ({@code counts[rank][layer][expert]}).
 */
public record IterationReport(
    long iteration,
    long planVersion,
    List<Applied> applied,
    List<Integer> timedOutLayers,
    double[][] workerMillis,
    long[][] workerTokens,
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
    double sum = 0;
    for (double[] layer : workerMillis) {
      double max = 0;
      for (double ms : layer) {
        max = Math.max(max, ms);
      }
      sum += max;
    }
    return sum;
  }
}
