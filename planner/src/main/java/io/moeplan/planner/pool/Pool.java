package io.moeplan.planner.pool;

import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A versioned pool of plans built offline, shaped like the Avro record {@code
 * io.moeplan.schemas.PlanPool} (the job id, build time and builder name are the writer's to add).
 * Plans are ordered by config rank, then by load regime. Immutable.
 *
 * @param poolVersion version of the pool
 * @param cluster the cluster it was built for
 * @param model the model it was built for
 * @param plans the plans, best config first
 * @param searchMillis wall-clock time of the search
 * @param loadSource where the representative loads came from
 * @param ranking every valid config scored, best first (the kept configs lead)
 * @param startLayout the placements a job starts on; null for the starting plan's own (pools
 *     written before start layouts existed)
 */
public record Pool(
    long poolVersion,
    ClusterSpec cluster,
    ModelSpec model,
    List<Plan> plans,
    long searchMillis,
    String loadSource,
    List<ConfigScore> ranking,
    StartLayout startLayout) {

  /** Copies the lists; checks the start layout against the starting plan. */
  public Pool {
    Objects.requireNonNull(cluster, "cluster");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(loadSource, "loadSource");
    plans = List.copyOf(plans);
    ranking = List.copyOf(ranking);
    if (startLayout != null && !plans.isEmpty()) {
      startLayout.checkFits(plans.get(0).parallel(), model);
    }
  }

  /** This pool with {@code layout} as the layout jobs start on. */
  public Pool withStartLayout(StartLayout layout) {
    return new Pool(poolVersion, cluster, model, plans, searchMillis, loadSource, ranking, layout);
  }

  /**
   * The plan whose parallel config a job runs under: the pool's first plan. The job's selector
   * chooses placements under that config, starting from {@link #startingPlacement}.
   */
  public Plan startingPlan() {
    if (plans.isEmpty()) {
      throw new IllegalStateException("the pool has no plans");
    }
    return plans.get(0);
  }

  /**
   * The placement {@code layer} runs before its first decision: the start layout's, or, for a pool
   * without one, the layer's placement in the {@link #startingPlan()}.
   */
  public Placement startingPlacement(int layer) {
    return startLayout != null
        ? startLayout.placement(layer)
        : startingPlan().layers().get(layer).placement();
  }

  /** The config of the best-ranked plan. */
  public ParallelConfig bestConfig() {
    return plans.get(0).parallel();
  }

  /** Distinct configs of the plans, in plan order. */
  public List<ParallelConfig> configs() {
    List<ParallelConfig> out = new ArrayList<>();
    for (Plan p : plans) {
      if (!out.contains(p.parallel())) {
        out.add(p.parallel());
      }
    }
    return List.copyOf(out);
  }

  /** The plans of one config, in plan order. */
  public List<Plan> plansOf(ParallelConfig config) {
    return plans.stream().filter(p -> p.parallel().equals(config)).toList();
  }

  /** The placements of {@code layer} in the plans of {@code config}: the selector's candidates. */
  public List<Placement> placements(ParallelConfig config, int layer) {
    List<Placement> out = new ArrayList<>();
    for (Plan p : plansOf(config)) {
      out.add(p.layers().get(layer).placement());
    }
    return List.copyOf(out);
  }
}
