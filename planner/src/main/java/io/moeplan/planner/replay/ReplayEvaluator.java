package io.moeplan.planner.replay;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.model.SwitchCost;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.policy.Decision;
import io.moeplan.planner.policy.EplbPolicy;
import io.moeplan.planner.policy.FlexMoePolicy;
import io.moeplan.planner.policy.PlacementPolicy;
import io.moeplan.planner.policy.SmartMoePolicy;
import io.moeplan.planner.policy.StaticPolicy;
import io.moeplan.planner.selector.OnlineSelector;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.planner.selector.SelectorPolicy;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * Replays a load trace through placement policies under the performance model (docs/selector.md,
 * baselines).
 *
 * <p>Each trace sample stands for the {@code windowIterations} iterations that follow it (window
 * w). Every layer starts from the static placement. In window w a policy's placement costs {@code
 * windowIterations * layerSeconds(placement, load_w)}; at the end of window w the policy decides
 * from the loads seen so far, and a switch takes effect in window w + 1, paying its modelled switch
 * cost once. The hindsight {@code oracle} instead chooses window w's placement from window w's own
 * load with the selector's search, ignoring switch cost both in the search and in its time (it
 * switches whenever the search finds a faster placement); its local search may swap with every
 * worker, the widest neighbourhood, as it has no time budget.
 */
public final class ReplayEvaluator {
  /** The policies a replay knows, in report order (each with its default settings). */
  public static final List<String> POLICIES =
      List.of(
          StaticPolicy.NAME,
          SmartMoePolicy.NAME,
          EplbPolicy.NAME,
          FlexMoePolicy.NAME,
          SelectorPolicy.NAME,
          "oracle");

  /** Name of the hindsight oracle. */
  public static final String ORACLE = "oracle";

  /**
   * Name of the selector with a perfect load estimate: at the end of window w it decides with
   * window w + 1's own load (no estimation), and pays its switches like the selector. Not a policy
   * anyone can run; it splits the selector's distance to the oracle into what the load estimate
   * costs (selector against foresight) and what the search and the switch costs leave (foresight
   * against oracle). Replayed only when asked for by name.
   */
  public static final String FORESIGHT = "foresight";

  /**
   * Name of the oracle without hindsight: the oracle's search and free switches, but window w + 1's
   * placement is chosen from window w's load, before window w + 1 runs. Its distance to the oracle
   * is what knowing the window's own load is worth to that search; it is not a bound on every
   * policy (a better load predictor could beat it). Replayed only when asked for by name.
   */
  public static final String CAUSAL_ORACLE = "causal-oracle";

  /** The analysis references a replay runs only when named. */
  public static final List<String> ANALYSIS = List.of(FORESIGHT, CAUSAL_ORACLE);

  /**
   * Whether a replay knows the policy {@code name}: one of {@link #POLICIES} or {@link #ANALYSIS}.
   */
  public static boolean known(String name) {
    return POLICIES.contains(name) || ANALYSIS.contains(name);
  }

  private final PerformanceModel model;
  private final ReplayOptions options;
  private final IntFunction<List<Placement>> pools;

  /** A replay without pool placements. */
  public ReplayEvaluator(PerformanceModel model, ReplayOptions options) {
    this(model, options, layer -> List.of());
  }

  /** A replay whose selector and oracle get {@code pools.apply(layer)} as pool placements. */
  public ReplayEvaluator(
      PerformanceModel model, ReplayOptions options, IntFunction<List<Placement>> pools) {
    this.model = model;
    this.options = options;
    this.pools = pools;
  }

  private final class Track {
    final String policy;
    final String label;
    final int layer;
    final PlacementPolicy decider;
    final boolean foresight;
    final boolean causal;
    Placement placement;
    double seconds;
    double switchSeconds;
    double timelineSeconds;
    long switches;
    long bytes;
    long[] nanos = new long[64];
    int decisions;

    void timed(long took) {
      if (decisions == nanos.length) {
        nanos = Arrays.copyOf(nanos, nanos.length * 2);
      }
      nanos[decisions++] = took;
    }

    Track(String policy, int layer, Placement start) {
      PolicySpec spec = PolicySpec.parse(policy, options.windowIterations());
      this.policy = policy;
      this.label = spec.label();
      this.layer = layer;
      this.placement = start;
      this.decider =
          spec.name().equals(ORACLE) || spec.name().equals(CAUSAL_ORACLE)
              ? null
              : create(spec, layer);
      this.foresight = spec.name().equals(FORESIGHT);
      this.causal = spec.name().equals(CAUSAL_ORACLE);
    }
  }

  private PlacementPolicy create(PolicySpec spec, int layer) {
    int f = options.windowIterations();
    return switch (spec.name()) {
      case StaticPolicy.NAME -> new StaticPolicy(model);
      case SmartMoePolicy.NAME -> new SmartMoePolicy(model, spec.setting("threshold"));
      case EplbPolicy.NAME ->
          new EplbPolicy(
              model, (int) (spec.setting("interval") / f), (int) (spec.setting("window") / f));
      case FlexMoePolicy.NAME -> new FlexMoePolicy(model, spec.setting("threshold"));
      case SelectorPolicy.NAME ->
          new SelectorPolicy(new OnlineSelector(model, options.selector()), pools.apply(layer));
      case FORESIGHT -> foresight(new OnlineSelector(model, options.selector()), layer);
      default -> throw new IllegalArgumentException("unknown policy " + spec.name());
    };
  }

  /** The selector deciding with the load it is given as is, no estimate: the next window's. */
  private PlacementPolicy foresight(OnlineSelector selector, int layer) {
    List<Placement> pool = pools.apply(layer);
    return new PlacementPolicy() {
      @Override
      public String name() {
        return FORESIGHT;
      }

      @Override
      public Decision decide(Placement current, LoadMatrix nextWindowLoad) {
        return selector.decide(current, nextWindowLoad, pool);
      }
    };
  }

  /** Receives every decision a policy makes during a replay. */
  @FunctionalInterface
  public interface DecisionListener {
    /** A listener that ignores every decision. */
    DecisionListener NONE = (policy, layer, window, decision) -> {};

    /**
     * {@code policy} decided {@code decision} for {@code layer} at the end of window {@code window}
     * (0 for the first trace sample); it takes effect in window {@code window + 1}.
     */
    void onDecision(String policy, int layer, long window, Decision decision);
  }

  /** Replays every sample of {@code reader}; {@code progress} receives a line now and then. */
  public ReplayResult run(TraceReader reader, Consumer<String> progress) throws IOException {
    return run(reader, progress, DecisionListener.NONE);
  }

  /** Replays every sample, reporting each policy decision (the oracle's are not decisions). */
  public ReplayResult run(TraceReader reader, Consumer<String> progress, DecisionListener decisions)
      throws IOException {
    int policies = options.policies().size();
    List<Track[]> tracks = new ArrayList<>();
    long[][] nanos = new long[policies][];
    int[] nanoCount = new int[policies];
    for (int p = 0; p < policies; p++) {
      nanos[p] = new long[1024];
    }
    SelectorOptions so = options.selector();
    OnlineSelector oracleSearch =
        new OnlineSelector(
            model,
            new SelectorOptions(
                so.horizonIterations(),
                so.margin(),
                so.emaAlpha(),
                so.maxSearchSteps(),
                Math.max(so.partnerWorkers(), options.workers())));
    int windows = 0;
    List<Long> sampleIterations = new ArrayList<>();
    List<double[]> windowSeconds = new ArrayList<>();
    TraceSample sample = reader.next();
    int firstLayer = sample == null ? 0 : sample.firstLayer();
    while (sample != null) {
      TraceSample next = reader.next();
      boolean last = next == null;
      for (int l = 0; l < sample.layerCount(); l++) {
        LoadMatrix load = sample.loads().get(l);
        if (tracks.size() <= l) {
          Placement start =
              Placement.staticLayout(options.workers(), options.slotsPerWorker(), load.experts());
          Track[] row = new Track[policies];
          for (int p = 0; p < policies; p++) {
            row[p] = new Track(options.policies().get(p), firstLayer + l, start);
          }
          tracks.add(row);
        }
        Track[] row = tracks.get(l);
        for (int p = 0; p < policies; p++) {
          Track t = row[p];
          if (t.causal) {
            // pays this window on the placement chosen from the last one, then chooses for free
            t.seconds += options.windowIterations() * model.layerSeconds(t.placement, load);
            if (last) {
              continue;
            }
            long start = System.nanoTime();
            Placement best = oracleSearch.search(t.placement, load, pools.apply(t.layer), 0.0);
            long took = System.nanoTime() - start;
            if (!best.sameWorkerSets(t.placement)
                && model.layerSeconds(best, load) < model.layerSeconds(t.placement, load)) {
              t.switches++;
              t.bytes += model.switchCost(t.placement, best).bytes();
              t.placement = best;
            }
            nanos[p] = record(nanos[p], nanoCount[p]++, took);
            t.timed(took);
            continue;
          }
          if (t.decider == null) {
            long start = System.nanoTime();
            Placement best = oracleSearch.search(t.placement, load, pools.apply(t.layer), 0.0);
            long took = System.nanoTime() - start;
            if (!best.sameWorkerSets(t.placement)
                && model.layerSeconds(best, load) < model.layerSeconds(t.placement, load)) {
              SwitchCost cost = model.switchCost(t.placement, best);
              t.switches++;
              t.bytes += cost.bytes();
              t.placement = best;
            }
            t.seconds += options.windowIterations() * model.layerSeconds(t.placement, load);
            nanos[p] = record(nanos[p], nanoCount[p]++, took);
            t.timed(took);
            continue;
          }
          t.seconds += options.windowIterations() * model.layerSeconds(t.placement, load);
          if (last) {
            continue;
          }
          long start = System.nanoTime();
          Decision d = t.decider.decide(t.placement, t.foresight ? next.loads().get(l) : load);
          long took = System.nanoTime() - start;
          decisions.onDecision(t.policy, t.layer, windows, d);
          nanos[p] = record(nanos[p], nanoCount[p]++, took);
          t.timed(took);
          if (d.switches() && !d.placement().sameWorkerSets(t.placement)) {
            SwitchCost cost = model.switchCost(t.placement, d.placement());
            t.switches++;
            t.bytes += cost.bytes();
            t.seconds += cost.seconds();
            t.switchSeconds += cost.seconds();
          }
          t.placement = d.placement();
        }
      }
      sampleIterations.add(sample.iteration());
      windowSeconds.add(takeWindowSeconds(tracks, policies));
      windows++;
      if (windows % 50 == 0 || last) {
        progress.accept("replayed " + windows + " windows (iteration " + sample.iteration() + ")");
      }
      sample = next;
    }
    return summarize(
        tracks, windows, nanos, nanoCount, timeline(tracks, sampleIterations, windowSeconds));
  }

  /** The seconds each (policy, layer) track added since the last call, policy-major. */
  private static double[] takeWindowSeconds(List<Track[]> tracks, int policies) {
    double[] out = new double[policies * tracks.size()];
    for (int l = 0; l < tracks.size(); l++) {
      for (int p = 0; p < policies; p++) {
        Track t = tracks.get(l)[p];
        out[p * tracks.size() + l] = t.seconds - t.timelineSeconds;
        t.timelineSeconds = t.seconds;
      }
    }
    return out;
  }

  private ReplayTimeline timeline(
      List<Track[]> tracks, List<Long> sampleIterations, List<double[]> windowSeconds) {
    List<Integer> layers = new ArrayList<>();
    for (Track[] row : tracks) {
      layers.add(row[0].layer);
    }
    ReplayTimeline timeline =
        new ReplayTimeline(options.policies(), layers, options.windowIterations());
    for (int w = 0; w < windowSeconds.size(); w++) {
      double[] window = windowSeconds.get(w);
      int known = window.length / Math.max(1, options.policies().size());
      double[] cells = new double[options.policies().size() * layers.size()];
      for (int p = 0; p < options.policies().size(); p++) {
        System.arraycopy(window, p * known, cells, p * layers.size(), known);
      }
      timeline.add(sampleIterations.get(w), cells);
    }
    return timeline;
  }

  /** Median of nanosecond timings, in microseconds (0 when there are none). */
  private static double median(long[] nanos) {
    if (nanos.length == 0) {
      return 0;
    }
    Arrays.sort(nanos);
    return nanos[nanos.length / 2] / 1e3;
  }

  private static long[] record(long[] values, int index, long value) {
    long[] out = index < values.length ? values : Arrays.copyOf(values, values.length * 2);
    out[index] = value;
    return out;
  }

  private ReplayResult summarize(
      List<Track[]> tracks, int windows, long[][] nanos, int[] nanoCount, ReplayTimeline timeline) {
    int policies = options.policies().size();
    double iterations = Math.max(1, (double) windows * options.windowIterations());
    List<ReplayResult.LayerResult> layers = new ArrayList<>();
    double[] totalSeconds = new double[policies];
    double[] totalSwitchSeconds = new double[policies];
    long[] totalSwitches = new long[policies];
    long[] totalBytes = new long[policies];
    double[] p50 = new double[policies];
    for (int p = 0; p < policies; p++) {
      p50[p] = median(Arrays.copyOf(nanos[p], nanoCount[p]));
    }
    for (Track[] row : tracks) {
      List<PolicySummary> perPolicy = new ArrayList<>();
      for (int p = 0; p < policies; p++) {
        Track t = row[p];
        perPolicy.add(
            new PolicySummary(
                t.policy,
                t.seconds / iterations * 1e3,
                t.switches,
                t.bytes,
                t.switchSeconds / iterations * 1e3,
                median(Arrays.copyOf(t.nanos, t.decisions)),
                t.label));
        totalSeconds[p] += t.seconds;
        totalSwitchSeconds[p] += t.switchSeconds;
        totalSwitches[p] += t.switches;
        totalBytes[p] += t.bytes;
      }
      layers.add(new ReplayResult.LayerResult(row[0].layer, perPolicy));
    }
    List<PolicySummary> overall = new ArrayList<>();
    for (int p = 0; p < policies; p++) {
      String policy = options.policies().get(p);
      overall.add(
          new PolicySummary(
              policy,
              totalSeconds[p] / iterations * 1e3,
              totalSwitches[p],
              totalBytes[p],
              totalSwitchSeconds[p] / iterations * 1e3,
              p50[p],
              PolicySpec.parse(policy, options.windowIterations()).label()));
    }
    return new ReplayResult(windows, options.windowIterations(), overall, layers, timeline);
  }
}
