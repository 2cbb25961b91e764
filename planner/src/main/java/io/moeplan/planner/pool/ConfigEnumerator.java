package io.moeplan.planner.pool;

import io.moeplan.planner.pool.RefusedConfig.Reason;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

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
              refused.add(memoryRefusal(cluster, model, options, config, need, available));
              break;
            }
            valid.add(config);
          }
        }
      }
    }
    return new ConfigEnumeration(valid, refused);
  }

  /**
   * Why {@code config}, given for the search, is refused for the cluster and model, or empty when
   * it is valid: the refusal {@code enumeration} recorded for its degrees, or the rule the
   * enumeration never builds a combination against ({@link Reason#NOT_THE_CLUSTERS_GPUS}, {@link
   * Reason#EXPERT_GROUP_SPLITS_DATA}, {@link Reason#SLOTS_OUT_OF_RANGE}). The refusal carries the
   * config's own degrees.
   *
   * @param enumeration the enumeration of the same cluster, model and options
   */
  public static Optional<RefusedConfig> refusal(
      ConfigEnumeration enumeration,
      ClusterSpec cluster,
      ModelSpec model,
      PoolOptions options,
      ParallelConfig config) {
    if (enumeration.valid().contains(config)) {
      return Optional.empty();
    }
    int tp = config.tp();
    int pp = config.pp();
    int dp = config.dp();
    int ep = config.ep();
    int slots = config.slotsPerWorker();
    long world = (long) tp * pp * dp;
    if (world != cluster.gpus()) {
      return Optional.of(
          refused(
              config,
              Reason.NOT_THE_CLUSTERS_GPUS,
              String.format(
                  Locale.ROOT,
                  "tp*pp*dp = %d*%d*%d = %d is not a divisor triple of the cluster's %d GPUs"
                      + " (%d nodes x %d)",
                  tp,
                  pp,
                  dp,
                  world,
                  cluster.gpus(),
                  cluster.nodes(),
                  cluster.gpusPerNode())));
    }
    Optional<RefusedConfig> recorded =
        recorded(enumeration, config, 0, Reason.TENSOR_ACROSS_NODES)
            .or(() -> recorded(enumeration, config, 0, Reason.PIPELINE_DEEPER_THAN_LAYERS));
    if (recorded.isPresent()) {
      return recorded;
    }
    if (dp % ep != 0) {
      return Optional.of(
          refused(
              config,
              Reason.EXPERT_GROUP_SPLITS_DATA,
              "ep "
                  + ep
                  + " does not divide dp "
                  + dp
                  + " (an expert-parallel group is ep data"
                  + " ranks)"));
    }
    recorded = recorded(enumeration, config, ep, Reason.EXPERT_GROUP_MISMATCH);
    if (recorded.isPresent()) {
      return recorded;
    }
    int experts = model.expertCount();
    int minSlots = (experts + ep - 1) / ep;
    int maxSlots =
        Math.max(minSlots, (int) Math.floor(options.maxReplicationFactor() * experts / ep));
    if (slots < minSlots || slots > maxSlots) {
      return Optional.of(
          refused(
              config,
              Reason.SLOTS_OUT_OF_RANGE,
              String.format(
                  Locale.ROOT,
                  "%d slots per worker is outside %d .. %d: ep %d workers must hold all %d"
                      + " experts, and at most %.4g times as many slots (maxReplicationFactor)",
                  slots,
                  minSlots,
                  maxSlots,
                  ep,
                  experts,
                  options.maxReplicationFactor())));
    }
    double available = MemoryBudget.availableBytes(cluster, options.memoryReserveFraction());
    double need = MemoryBudget.expertBytesPerGpu(model, config);
    if (need > available) {
      return Optional.of(memoryRefusal(cluster, model, options, config, need, available));
    }
    throw new IllegalStateException(config + " passes every rule but was not enumerated");
  }

  private static Optional<RefusedConfig> recorded(
      ConfigEnumeration enumeration, ParallelConfig config, int ep, Reason reason) {
    return enumeration.refused().stream()
        .filter(
            r ->
                r.reason() == reason
                    && r.tp() == config.tp()
                    && r.pp() == config.pp()
                    && r.dp() == config.dp()
                    && r.ep() == ep)
        .findFirst()
        .map(r -> refused(config, r.reason(), r.detail()));
  }

  private static RefusedConfig refused(ParallelConfig config, Reason reason, String detail) {
    return new RefusedConfig(
        config.tp(),
        config.pp(),
        config.dp(),
        config.ep(),
        config.slotsPerWorker(),
        reason,
        detail);
  }

  private static RefusedConfig memoryRefusal(
      ClusterSpec cluster,
      ModelSpec model,
      PoolOptions options,
      ParallelConfig config,
      double need,
      double available) {
    return refused(
        config,
        Reason.MEMORY,
        String.format(
            Locale.ROOT,
            "%d slots x %d layers need %.4g GB of expert state per GPU, %.4g GB"
                + " available (%.0f%% of %.4g GB reserved)",
            config.slotsPerWorker(),
            MemoryBudget.layersPerStage(model, config.pp()),
            need / 1e9,
            available / 1e9,
            options.memoryReserveFraction() * 100,
            cluster.gpuMemoryBytes() / 1e9));
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
