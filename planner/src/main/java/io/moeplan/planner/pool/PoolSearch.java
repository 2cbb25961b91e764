package io.moeplan.planner.pool;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.policy.GreedyPlacement;
import io.moeplan.planner.pool.ProgressListener.Phase;
import io.moeplan.planner.selector.OnlineSelector;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * The offline pool search (docs/pool-search.md).
 *
 * <ol>
 *   <li><b>Representative loads.</b> The given {@link LoadHistory}, or {@link SyntheticLoads} with
 *       the cluster's GPUs as ranks (at most {@value #MAX_SYNTHETIC_RANKS}). The samples are
 *       grouped into at most {@code plansPerConfig} load regimes ({@link LoadRegimes}); each
 *       regime's mean load per layer is its representative. Model layer {@code l} uses history
 *       layer {@code l mod historyLayers}.
 *   <li><b>Configs.</b> {@link ConfigEnumerator}; with {@link PoolOptions#parallel()} set, only
 *       that config (refused with {@link RefusedConfigException} when it breaks a rule).
 *   <li><b>Scoring.</b> The global batch stays the same for every config: a data rank routes {@code
 *       tokensPerRank * tp * pp} tokens per layer. An expert-parallel group has {@code ep} workers,
 *       each the source of one data rank's tokens; history rank {@code r} feeds source {@code r mod
 *       ep} (several ranks add up; with fewer ranks than sources, source {@code s} repeats rank
 *       {@code s mod ranks}), and the matrix is rescaled to that batch. The group is modelled by
 *       {@link PerformanceModel#of} with {@code gpusPerNode / tp} group workers per node. Per layer
 *       and regime the placement is the better (under the model) of the greedy placement ({@link
 *       GreedyPlacement}, replicated EPLB-style when there are spare slots) and the static layout.
 *       A layer also pays the all-reduce of its expert gradients among the {@code dp / ep} copies
 *       of the group ({@code slotsPerWorker} experts, one after another, over the inter-node links
 *       when the data ranks span nodes). A stage runs its {@code ceil(moeLayers / pp)} layers; the
 *       iteration takes the slowest stage times the bubble {@code (microBatches + pp - 1) /
 *       microBatches}. A config's score is that iteration time averaged over the regimes by weight.
 *   <li><b>Pool.</b> The {@code poolSize} best configs (ties: enumeration order) each get one plan
 *       per regime; a plan's layer placement is the greedy placement refined by the selector's
 *       local search ({@link OnlineSelector#search}, switch cost ignored) on the regime's load.
 * </ol>
 *
 * <p>Configs are scored, and plans built, in parallel on the common fork-join pool; the progress
 * listener is called from those threads, one call at a time with increasing counts. Deterministic:
 * the same inputs give the same plans and ranking; only {@link Pool#searchMillis()} varies.
 */
public final class PoolSearch {
  /** Largest number of ranks the synthetic skew model draws. */
  public static final int MAX_SYNTHETIC_RANKS = 1024;

  private final ClusterSpec cluster;
  private final ModelSpec model;
  private final PoolOptions options;

  /** A search for one cluster and model. */
  public PoolSearch(ClusterSpec cluster, ModelSpec model, PoolOptions options) {
    this.cluster = Objects.requireNonNull(cluster, "cluster");
    this.model = Objects.requireNonNull(model, "model");
    this.options = Objects.requireNonNull(options, "options");
  }

  /** Searches on synthetic loads. */
  public Pool search(ProgressListener progress) {
    return search(null, progress);
  }

  /** Searches on {@code history} (synthetic loads when {@code null}), reporting progress. */
  public Pool search(LoadHistory history, ProgressListener progress) {
    long start = System.nanoTime();
    progress.onProgress(Phase.LOADS, 0, 1);
    LoadHistory loads = history != null ? history : synthetic();
    if (loads.experts() != model.expertCount()) {
      throw new IllegalArgumentException(
          "load history has "
              + loads.experts()
              + " experts, the model has expertCount "
              + model.expertCount());
    }
    List<LoadRegimes.Regime> regimes = LoadRegimes.find(loads, options.plansPerConfig());
    progress.onProgress(Phase.LOADS, 1, 1);

    progress.onProgress(Phase.ENUMERATE, 0, 1);
    ConfigEnumeration enumerated = ConfigEnumerator.enumerate(cluster, model, options);
    progress.onProgress(Phase.ENUMERATE, 1, 1);
    ParallelConfig fixed = options.parallel();
    ConfigEnumeration configs;
    if (fixed != null) {
      Optional<RefusedConfig> refused =
          ConfigEnumerator.refusal(enumerated, cluster, model, options, fixed);
      if (refused.isPresent()) {
        throw new RefusedConfigException(refused.get());
      }
      configs = new ConfigEnumeration(List.of(fixed), enumerated.refused());
    } else if (enumerated.valid().isEmpty()) {
      throw new IllegalArgumentException(noConfigMessage(enumerated));
    } else {
      configs = enumerated;
    }

    int n = configs.valid().size();
    Map<List<Integer>, LoadMatrix[][]> groupLoads = new HashMap<>();
    for (ParallelConfig config : configs.valid()) {
      groupLoads.computeIfAbsent(groupKey(config), k -> groupLoads(regimes, config));
    }
    // configs that differ only in how tp * pp splits share their group loads and greedy placements
    Map<List<Integer>, Placement[][]> greedyPlacements = new ConcurrentHashMap<>();
    ConfigScore[] scores = new ConfigScore[n];
    Reporter scoring = new Reporter(progress, Phase.SCORE, n);
    IntStream.range(0, n)
        .parallel()
        .forEach(
            i -> {
              ParallelConfig config = configs.valid().get(i);
              LoadMatrix[][] group = groupLoads.get(groupKey(config));
              Placement[][] greedy =
                  greedyPlacements.computeIfAbsent(
                      List.of(config.ep(), config.tp() * config.pp(), config.slotsPerWorker()),
                      k -> greedyPlacements(group, config));
              scores[i] = score(config, regimes, group, greedy);
              scoring.step();
            });
    List<ConfigScore> ranking = new ArrayList<>(List.of(scores));
    ranking.sort(Comparator.comparingDouble(ConfigScore::iterationSeconds));

    int kept = Math.min(options.poolSize(), ranking.size());
    int planCount = kept * regimes.size();
    Plan[] plans = new Plan[planCount];
    Reporter planning = new Reporter(progress, Phase.PLANS, planCount);
    IntStream.range(0, planCount)
        .parallel()
        .forEach(
            i -> {
              ParallelConfig config = ranking.get(i / regimes.size()).parallel();
              plans[i] = plan(i, config, regimes.get(i % regimes.size()));
              planning.step();
            });
    long millis = (System.nanoTime() - start) / 1_000_000;
    return new Pool(
        options.poolVersion(),
        cluster,
        model,
        List.of(plans),
        millis,
        loads.source(),
        ranking,
        StartLayout.contiguous(plans[0].parallel(), model));
  }

  /** Why nothing fits: the refusal that came closest to fitting memory, else the first ones. */
  private String noConfigMessage(ConfigEnumeration configs) {
    RefusedConfig closest = null;
    double least = Double.POSITIVE_INFINITY;
    for (RefusedConfig r : configs.refused()) {
      if (r.reason() == RefusedConfig.Reason.MEMORY) {
        double need =
            MemoryBudget.expertBytesPerGpu(
                model, new ParallelConfig(r.tp(), r.pp(), r.dp(), r.ep(), r.slotsPerWorker()));
        if (need < least) {
          least = need;
          closest = r;
        }
      }
    }
    if (closest == null) {
      return "no parallel config fits the cluster and model: "
          + configs.refused().stream().limit(3).map(RefusedConfig::detail).toList();
    }
    return String.format(
        Locale.ROOT,
        "no parallel config fits the memory of a GPU: the least expert state is that of tp=%d"
            + " pp=%d dp=%d ep=%d slotsPerWorker=%d: %s; use more GPUs, fewer or smaller experts,"
            + " or a larger gpuMemoryBytes",
        closest.tp(),
        closest.pp(),
        closest.dp(),
        closest.ep(),
        closest.slotsPerWorker(),
        closest.detail());
  }

  private static List<Integer> groupKey(ParallelConfig config) {
    return List.of(config.ep(), config.tp() * config.pp());
  }

  /** Counts finished steps of a phase and reports them one at a time, in increasing order. */
  private static final class Reporter {
    private final ProgressListener listener;
    private final Phase phase;
    private final int total;
    private int done;

    Reporter(ProgressListener listener, Phase phase, int total) {
      this.listener = listener;
      this.phase = phase;
      this.total = total;
    }

    synchronized void step() {
      listener.onProgress(phase, ++done, total);
    }
  }

  private LoadHistory synthetic() {
    int ranks = Math.min(cluster.gpus(), MAX_SYNTHETIC_RANKS);
    return SyntheticLoads.generate(model, ranks, options.syntheticSamples(), options.seed());
  }

  /** The model of one expert-parallel group of {@code config}. */
  PerformanceModel groupModel(ParallelConfig config) {
    return PerformanceModel.of(
        cluster.withShape(cluster.nodes(), cluster.gpusPerNode() / config.tp()), model, config);
  }

  /** Tokens one source of an expert-parallel group routes per layer and iteration. */
  double tokensPerSource(ParallelConfig config) {
    return (double) model.tokensPerRank() * config.tp() * config.pp();
  }

  /** A history load as seen by one expert-parallel group of {@code config}. */
  LoadMatrix groupLoad(LoadMatrix load, ParallelConfig config) {
    int ep = config.ep();
    int ranks = load.sources();
    int experts = load.experts();
    double[] in = load.toFlatArray();
    double[] out = new double[ep * experts];
    if (ranks >= ep) {
      for (int r = 0; r < ranks; r++) {
        int base = (r % ep) * experts;
        for (int e = 0; e < experts; e++) {
          out[base + e] += in[r * experts + e];
        }
      }
    } else {
      for (int s = 0; s < ep; s++) {
        System.arraycopy(in, (s % ranks) * experts, out, s * experts, experts);
      }
    }
    double total = 0;
    for (double v : out) {
      total += v;
    }
    if (total > 0) {
      double factor = ep * tokensPerSource(config) / total;
      for (int i = 0; i < out.length; i++) {
        out[i] *= factor;
      }
    }
    return LoadMatrix.ofFlat(ep, experts, out);
  }

  /** The greedy placement of a group load (no previous placement). */
  static Placement greedy(LoadMatrix load, ParallelConfig config) {
    double[] totals = load.expertTotals();
    int slots = config.ep() * config.slotsPerWorker();
    return GreedyPlacement.place(
        totals,
        GreedyPlacement.replicaCounts(totals, slots),
        config.ep(),
        config.slotsPerWorker(),
        null);
  }

  /** Per-layer all-reduce of the expert gradients among the dp / ep copies of a group. */
  double expertDataSyncSeconds(ParallelConfig config, PerformanceModel groupModel) {
    int copies = config.dp() / config.ep();
    boolean spansNodes = (long) config.dp() * config.tp() > cluster.gpusPerNode();
    return config.slotsPerWorker() * groupModel.syncSeconds(copies, spansNodes);
  }

  /** Group loads {@code [regime][historyLayer]} of a config (they depend on ep and tp * pp). */
  private LoadMatrix[][] groupLoads(List<LoadRegimes.Regime> regimes, ParallelConfig config) {
    LoadMatrix[][] out = new LoadMatrix[regimes.size()][];
    for (int k = 0; k < regimes.size(); k++) {
      List<LoadMatrix> means = regimes.get(k).meanByLayer();
      out[k] = new LoadMatrix[Math.min(means.size(), model.moeLayers())];
      for (int h = 0; h < out[k].length; h++) {
        out[k][h] = groupLoad(means.get(h), config);
      }
    }
    return out;
  }

  /** Greedy placements {@code [regime][historyLayer]} of a config's group loads. */
  private static Placement[][] greedyPlacements(LoadMatrix[][] groupLoads, ParallelConfig config) {
    Placement[][] out = new Placement[groupLoads.length][];
    for (int k = 0; k < groupLoads.length; k++) {
      out[k] = new Placement[groupLoads[k].length];
      for (int h = 0; h < out[k].length; h++) {
        out[k][h] = greedy(groupLoads[k][h], config);
      }
    }
    return out;
  }

  private ConfigScore score(
      ParallelConfig config,
      List<LoadRegimes.Regime> regimes,
      LoadMatrix[][] groupLoads,
      Placement[][] greedyPlacements) {
    PerformanceModel groupModel = groupModel(config);
    Placement staticLayout =
        Placement.staticLayout(config.ep(), config.slotsPerWorker(), model.expertCount());
    double dpSync = expertDataSyncSeconds(config, groupModel);
    int historyLayers = regimes.get(0).meanByLayer().size();
    double best = 0;
    double fixed = 0;
    for (int k = 0; k < regimes.size(); k++) {
      LoadRegimes.Regime regime = regimes.get(k);
      double[] bestByHistoryLayer = new double[historyLayers];
      double[] staticByHistoryLayer = new double[historyLayers];
      for (int h = 0; h < groupLoads[k].length; h++) {
        LoadMatrix load = groupLoads[k][h];
        double s = groupModel.layerSeconds(staticLayout, load);
        double g = groupModel.layerSeconds(greedyPlacements[k][h], load);
        staticByHistoryLayer[h] = s + dpSync;
        bestByHistoryLayer[h] = Math.min(g, s) + dpSync;
      }
      best += regime.weight() * iterationSeconds(config, bestByHistoryLayer);
      fixed += regime.weight() * iterationSeconds(config, staticByHistoryLayer);
    }
    return new ConfigScore(
        config, best, fixed, dpSync, MemoryBudget.expertBytesPerGpu(model, config));
  }

  /** Slowest stage's summed layer seconds times the pipeline bubble. */
  private double iterationSeconds(ParallelConfig config, double[] byHistoryLayer) {
    int layers = model.moeLayers();
    int perStage = MemoryBudget.layersPerStage(model, config.pp());
    double slowest = 0;
    for (int first = 0; first < layers; first += perStage) {
      double stage = 0;
      for (int l = first; l < Math.min(layers, first + perStage); l++) {
        stage += byHistoryLayer[l % byHistoryLayer.length];
      }
      slowest = Math.max(slowest, stage);
    }
    double bubble = (options.microBatches() + config.pp() - 1.0) / options.microBatches();
    return slowest * bubble;
  }

  private Plan plan(int planId, ParallelConfig config, LoadRegimes.Regime regime) {
    PerformanceModel groupModel = groupModel(config);
    OnlineSelector selector = new OnlineSelector(groupModel, SelectorOptions.defaults(10));
    int historyLayers = regime.meanByLayer().size();
    LayerPlan[] byHistoryLayer = new LayerPlan[historyLayers];
    List<LayerPlan> layers = new ArrayList<>(model.moeLayers());
    for (int l = 0; l < model.moeLayers(); l++) {
      int h = l % historyLayers;
      if (byHistoryLayer[h] == null) {
        LoadMatrix load = groupLoad(regime.meanByLayer().get(h), config);
        Placement greedy = greedy(load, config);
        Placement refined = selector.search(greedy, load, List.of(), 0.0);
        double g = groupModel.layerSeconds(greedy, load);
        double r = groupModel.layerSeconds(refined, load);
        byHistoryLayer[h] = r < g ? new LayerPlan(h, refined, r) : new LayerPlan(h, greedy, g);
      }
      LayerPlan p = byHistoryLayer[h];
      layers.add(new LayerPlan(l, p.placement(), p.predictedSeconds()));
    }
    double dpSync = expertDataSyncSeconds(config, groupModel);
    double[] seconds = new double[historyLayers];
    for (int h = 0; h < historyLayers; h++) {
      seconds[h] = byHistoryLayer[h] == null ? 0 : byHistoryLayer[h].predictedSeconds() + dpSync;
    }
    return new Plan(planId, config, layers, iterationSeconds(config, seconds), regime.weight());
  }
}
