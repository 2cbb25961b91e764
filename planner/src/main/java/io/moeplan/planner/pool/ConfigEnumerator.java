package io.moeplan.planner.pool;

import io.moeplan.planner.pool.RefusedConfig.Reason;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Enumerates the parallel configs valid for a cluster and a model (docs/pool-search.md).
 *
 * <p>Ranks are laid out tensor-fastest, then data, then pipeline: GPU {@code p * dp * tp + d * tp +
 * t} is tensor rank t of data rank d in stage p. The rules, in the order they are applied:
 *
 * <ol>
 *   <li>{@code tp * pp * dp} equals the cluster's GPUs (every divisor triple is tried, tp then pp
 *       ascending);
 *   <li>{@code tp} divides the GPUs of a node (its all-reduces need the intra-node links);
 *   <li>{@code pp <= moeLayers};
 *   <li>{@code ep} divides {@code dp} (an expert-parallel group is {@code ep} data ranks of one
 *       tensor rank and stage, so it divides the workers it spans), and {@code ep} divides the
 *       expert count or is a multiple of it;
 *   <li>{@code slotsPerWorker} runs from {@code ceil(expertCount / ep)} (every expert has a slot)
 *       up to {@code maxReplicationFactor * expertCount / ep} (spare slots hold replicas);
 *   <li>the slots fit a GPU's memory ({@link MemoryBudget}); the first slot count that does not is
 *       reported, larger ones are not tried.
 * </ol>
 */
public final class ConfigEnumerator {
  private ConfigEnumerator() {}

  /** Every valid config and every refused combination. */
  public static ConfigEnumeration enumerate(
      ClusterSpec cluster, ModelSpec model, PoolOptions options) {
    int workers = cluster.gpus();
    int experts = model.expertCount();
    double available = MemoryBudget.availableBytes(cluster, options.memoryReserveFraction());
    List<ParallelConfig> valid = new ArrayList<>();
    List<RefusedConfig> refused = new ArrayList<>();
    for (int tp : divisors(workers)) {
      for (int pp : divisors(workers / tp)) {
        int dp = workers / tp / pp;
        if (cluster.gpusPerNode() % tp != 0) {
          refused.add(
              new RefusedConfig(
                  tp,
                  pp,
                  dp,
                  0,
                  0,
                  Reason.TENSOR_ACROSS_NODES,
                  "tp " + tp + " does not divide the " + cluster.gpusPerNode() + " GPUs per node"));
          continue;
        }
        if (pp > model.moeLayers()) {
          refused.add(
              new RefusedConfig(
                  tp,
                  pp,
                  dp,
                  0,
                  0,
                  Reason.PIPELINE_DEEPER_THAN_LAYERS,
                  "pp " + pp + " exceeds the " + model.moeLayers() + " MoE layers"));
          continue;
        }
        for (int ep : divisors(dp)) {
          if (experts % ep != 0 && ep % experts != 0) {
            refused.add(
                new RefusedConfig(
                    tp,
                    pp,
                    dp,
                    ep,
                    0,
                    Reason.EXPERT_GROUP_MISMATCH,
                    "ep "
                        + ep
                        + " neither divides nor is a multiple of the "
                        + experts
                        + " experts"));
            continue;
          }
          int minSlots = (experts + ep - 1) / ep;
          int maxSlots =
              Math.max(minSlots, (int) Math.floor(options.maxReplicationFactor() * experts / ep));
          for (int spw = minSlots; spw <= maxSlots; spw++) {
            ParallelConfig config = new ParallelConfig(tp, pp, dp, ep, spw);
            double need = MemoryBudget.expertBytesPerGpu(model, config);
            if (need > available) {
              refused.add(
                  new RefusedConfig(
                      tp,
                      pp,
                      dp,
                      ep,
                      spw,
                      Reason.MEMORY,
                      String.format(
                          Locale.ROOT,
                          "%d slots x %d layers need %.4g GB of expert state per GPU, %.4g GB"
                              + " available (%.0f%% of %.4g GB reserved)",
                          spw,
                          MemoryBudget.layersPerStage(model, pp),
                          need / 1e9,
                          available / 1e9,
                          options.memoryReserveFraction() * 100,
                          cluster.gpuMemoryBytes() / 1e9)));
              break;
            }
            valid.add(config);
          }
        }
      }
    }
    return new ConfigEnumeration(valid, refused);
  }

  /** Divisors of {@code n >= 1} in ascending order. */
  static List<Integer> divisors(int n) {
    List<Integer> low = new ArrayList<>();
    List<Integer> high = new ArrayList<>();
    for (int d = 1; (long) d * d <= n; d++) {
      if (n % d == 0) {
        low.add(d);
        if (d != n / d) {
          high.add(0, n / d);
        }
      }
    }
    low.addAll(high);
    return low;
  }
}
