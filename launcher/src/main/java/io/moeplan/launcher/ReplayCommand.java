package io.moeplan.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.moeplan.launcher.replay.ReplayReport;
import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.replay.BaselineSweep;
import io.moeplan.planner.replay.PolicySpec;
import io.moeplan.planner.replay.PolicySummary;
import io.moeplan.planner.replay.ReplayEvaluator;
import io.moeplan.planner.replay.ReplayOptions;
import io.moeplan.planner.replay.ReplayResult;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.planner.spec.SpecException;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.planner.trace.TraceFormatException;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.schemas.DecisionWindows;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code moeplan replay}: replays an expert-load trace through the placement policies under the
 * performance model and prints the modelled time per iteration, switches, migrated bytes and
 * decision time, per layer and overall.
 */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Replays an expert-load trace through the placement policies (static, smartmoe, eplb,"
          + " flexmoe, selector, oracle) under the performance model.",
      "Each trace sample stands for the F iterations after it (--window-iterations F); a decision"
          + " made from the samples up to window w applies to window w+1. The oracle picks each window's"
          + " placement from that window's own load and ignores switch cost.",
      "With no options besides --trace it replays the headline setting: 8 workers x 4 slots on"
          + " 2 H100 nodes of 4 GPUs, window 10, the GPT-MoE model of the SmartMoE trace:",
      "  moeplan replay --trace TRACE.csv.gz",
      "The trace is CSV (iteration,rank,layer,e0,...), .gz read as it streams; the GPT-MoE trace"
          + " comes from the public artifact of the SmartMoE paper (thu-pacman/SmartMoE-AE,"
          + " moe_trace/), and planner's test resources hold a slice of it.",
      "Trace ranks beyond --workers fold onto worker (rank mod workers).",
      "Baselines take settings: eplb(interval=I,window=W) rebalances every I iterations from the"
          + " mean load of the last W (multiples of F; default F each), smartmoe(threshold=T)"
          + " switches only when the current largest per-worker token count exceeds the greedy"
          + " placement's by more than the fraction T (default 0), flexmoe(threshold=R) adjusts when the balance"
          + " ratio (max over mean per-worker tokens) exceeds R (default 1.2).",
      "--tune replays every setting of a grid in one pass and reports each baseline at its best"
          + " (lowest modelled time including migration) beside the selector and the oracle, then"
          + " the whole grid: "
          + TuneReport.GRID_HELP
    },
    footer = {"Exit codes: 0 done, 2 bad input (options, spec files, trace)."})
public final class ReplayCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--trace",
      required = true,
      paramLabel = "FILE",
      description = "Trace CSV (iteration,rank,layer,e0,...), gzip when it ends in .gz.")
  Path trace;

  @Option(
      names = "--layers",
      paramLabel = "A-B",
      description =
          "Layers to replay, inclusive, in the trace's own layer numbers (a file of layers 12-23"
              + " takes 12-23 or part of it); default: every layer the trace holds.")
  String layers;

  @Option(
      names = "--workers",
      paramLabel = "N",
      defaultValue = "8",
      description = "Workers (GPUs) the experts are placed on (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(
      names = "--gpus-per-node",
      paramLabel = "G",
      description =
          "GPUs per node; nodes = ceil(workers / G) (default: the cluster file's, else 4).")
  Integer gpusPerNode;

  @Option(
      names = "--slots-per-worker",
      paramLabel = "S",
      defaultValue = "4",
      description =
          "Expert slots per worker; more slots than experts replicate (default: ${DEFAULT-VALUE}).")
  int slotsPerWorker;

  @Option(
      names = DecisionWindows.WINDOW_ITERATIONS_FLAG,
      paramLabel = "F",
      defaultValue = "" + DecisionWindows.DEFAULT_WINDOW_ITERATIONS,
      description =
          "Iterations each trace sample stands for, the replan interval (default: ${DEFAULT-VALUE}).")
  int window;

  @Option(names = "--window", hidden = true, description = "Old name of --window-iterations.")
  Integer oldWindow;

  @Option(
      names = "--cluster",
      paramLabel = "FILE",
      description =
          "Cluster spec YAML/JSON (default: H100 SXM nodes, constants in planner/README.md);"
              + " its node count is replaced by ceil(workers / gpus per node).")
  Path cluster;

  @Option(
      names = "--model",
      paramLabel = "FILE",
      description = "Model spec YAML/JSON (default: GPT-MoE of the SmartMoE trace).")
  Path model;

  @Option(
      names = "--policies",
      paramLabel = "LIST",
      split = ",(?![^(]*\\))",
      splitSynopsisLabel = ",",
      description =
          "Policies to replay, comma separated, each optionally with settings, e.g."
              + " eplb(interval=1000,window=100) (default: all of ${COMPLETION-CANDIDATES})."
              + " Also foresight: the selector deciding with the next window's own load, a"
              + " bound that shows what the load estimate costs; and causal-oracle: the oracle"
              + " deciding from the previous window's load (neither is a policy one can run).",
      completionCandidates = PolicyNames.class)
  List<String> policies;

  @Option(
      names = "--tune",
      description =
          "Sweep each baseline's settings over the grid above and report each at its best;"
              + " replaces --policies.")
  boolean tune;

  @Option(
      names = "--horizon",
      paramLabel = "ITERATIONS",
      description =
          "Selector: iterations a new placement must pay back over (default: "
              + SelectorOptions.DEFAULT_HORIZON_WINDOWS
              + " x --window-iterations).")
  Double horizon;

  @Option(
      names = "--margin",
      paramLabel = "FRACTION",
      description =
          "Selector: extra fraction of the switch cost a switch must pay back (default: "
              + SelectorOptions.DEFAULT_MARGIN
              + ").")
  Double margin;

  @Option(
      names = "--ema-alpha",
      paramLabel = "ALPHA",
      description =
          "Selector: weight of the newest window in the load estimate, in (0, 1]"
              + " (default: "
              + SelectorOptions.DEFAULT_EMA_ALPHA
              + ").")
  Double emaAlpha;

  @Option(names = "--json", description = "Print one JSON object instead of tables.")
  boolean json;

  @Option(
      names = "--report",
      paramLabel = "FILE.html",
      description =
          "Also write a self-contained HTML report (opens offline): the settings, the summary"
              + " tables and charts of the modelled time per iteration over the trace, per layer,"
              + " and the switches and migrated bytes of each policy. Drawn headless.")
  Path report;

  @Option(names = "--quiet", description = "No progress lines on stderr.")
  boolean quiet;

  /** The policy names, for the help text. */
  static final class PolicyNames implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return ReplayEvaluator.POLICIES.iterator();
    }
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      return run(out, err);
    } catch (BadInput e) {
      err.println("moeplan replay: " + e.getMessage());
      return 2;
    } catch (SpecException | TraceFormatException e) {
      err.println("moeplan replay: " + e.getMessage());
      return 2;
    } catch (IOException e) {
      err.println("moeplan replay: cannot read " + trace + ": " + e.getMessage());
      return 2;
    }
  }

  private static final class BadInput extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadInput(String message) {
      super(message);
    }
  }

  private int run(PrintWriter out, PrintWriter err) throws IOException {
    window =
        DecisionWindowOptions.given(
            spec, DecisionWindows.WINDOW_ITERATIONS_FLAG, window, oldWindow);
    if (workers < 1) {
      throw new BadInput("--workers must be >= 1, got " + workers);
    }
    if (slotsPerWorker < 1) {
      throw new BadInput("--slots-per-worker must be >= 1, got " + slotsPerWorker);
    }
    if (window < 1) {
      throw new BadInput(DecisionWindows.WINDOW_ITERATIONS_FLAG + " must be >= 1, got " + window);
    }
    if (gpusPerNode != null && gpusPerNode < 1) {
      throw new BadInput("--gpus-per-node must be >= 1, got " + gpusPerNode);
    }
    if (!Files.isRegularFile(trace)) {
      throw new BadInput("--trace: no such file: " + trace);
    }
    ClusterSpec base = cluster == null ? null : SpecLoader.loadCluster(cluster);
    int gpn = gpusPerNode != null ? gpusPerNode : base != null ? base.gpusPerNode() : 4;
    int nodes = (workers + gpn - 1) / gpn;
    ClusterSpec clusterSpec =
        base == null ? ClusterSpec.h100(nodes, gpn) : base.withShape(nodes, gpn);
    ModelSpec modelSpec = model == null ? ModelSpec.gptMoe() : SpecLoader.loadModel(model);
    int[] range = layerRange();
    if (tune && policies != null) {
      throw new BadInput("--tune sweeps its own policies; leave out --policies");
    }
    List<String> names =
        tune
            ? BaselineSweep.policies(window)
            : policies == null ? ReplayEvaluator.POLICIES : policies;
    for (String name : names) {
      try {
        PolicySpec.parse(name, window);
      } catch (IllegalArgumentException e) {
        throw new BadInput("--policies: " + e.getMessage());
      }
    }
    SelectorOptions selector = SelectorOptions.defaults(window);
    try {
      if (horizon != null) {
        selector = selector.withHorizon(horizon);
      }
      if (margin != null) {
        selector = selector.withMargin(margin);
      }
      if (emaAlpha != null) {
        selector = selector.withEmaAlpha(emaAlpha);
      }
    } catch (IllegalArgumentException e) {
      throw new BadInput("selector option: " + e.getMessage());
    }
    ParallelConfig parallel;
    try {
      parallel = ParallelConfig.expertParallel(workers, slotsPerWorker);
    } catch (SpecException e) {
      throw new BadInput("--workers/--slots-per-worker: " + e.getMessage());
    }
    PerformanceModel performance = PerformanceModel.of(clusterSpec, modelSpec, parallel);
    ReplayOptions options = new ReplayOptions(workers, slotsPerWorker, window, names, selector);
    ReplayResult result;
    try (TraceReader reader =
        range == null
            ? TraceReader.open(trace, workers)
            : TraceReader.openLayers(trace, workers, range[0], range[1])) {
      if (reader.experts() != modelSpec.expertCount()) {
        throw new BadInput(
            "--trace has "
                + reader.experts()
                + " experts per layer but the model spec has "
                + modelSpec.expertCount()
                + " (expertCount)");
      }
      if ((long) workers * slotsPerWorker < modelSpec.expertCount()) {
        throw new BadInput(
            "--workers x --slots-per-worker = "
                + (long) workers * slotsPerWorker
                + " slots cannot hold "
                + modelSpec.expertCount()
                + " experts");
      }
      if (!json) {
        out.printf(
            Locale.ROOT,
            "replay: %d workers x %d slots, %d node(s) of %d GPUs, window %d%n",
            workers,
            slotsPerWorker,
            nodes,
            gpn,
            window);
        out.println("model: " + performance);
        out.flush();
      }
      result =
          new ReplayEvaluator(performance, options)
              .run(
                  reader,
                  line -> {
                    if (!quiet) {
                      err.println(line);
                      err.flush();
                    }
                  });
    }
    if (tune) {
      TuneReport.print(out, BaselineSweep.pick(result), json);
    } else if (json) {
      out.println(toJson(result));
    } else {
      printTables(out, result);
    }
    if (report != null) {
      Map<String, String> settings = new LinkedHashMap<>();
      settings.put("trace", trace.toString());
      settings.put("layers", layers == null ? "every layer of the trace" : layers);
      settings.put("workers", workers + " x " + slotsPerWorker + " slots");
      settings.put("nodes", nodes + " node(s) of " + gpn + " GPUs");
      settings.put("window iterations", Integer.toString(window));
      settings.put("policies", String.join(", ", names));
      settings.put("selector", selector.toString());
      settings.put("model", performance.toString());
      try {
        ReplayReport.write(report, trace.getFileName().toString(), settings, result);
      } catch (IOException e) {
        throw new BadInput("--report: cannot write " + report + ": " + e.getMessage());
      }
      if (!quiet) {
        err.println("wrote " + report);
      }
    }
    return 0;
  }

  /** The --layers range, or null for every layer of the trace. */
  private int[] layerRange() {
    if (layers == null) {
      return null;
    }
    String[] parts = layers.trim().split("-", -1);
    try {
      int first = Integer.parseInt(parts[0].trim());
      int last = parts.length == 1 ? first : Integer.parseInt(parts[1].trim());
      if (parts.length > 2 || first < 0 || last < first || last - first >= 65536) {
        throw new NumberFormatException();
      }
      return new int[] {first, last};
    } catch (NumberFormatException e) {
      throw new BadInput("--layers must be A-B with 0 <= A <= B, got '" + layers + "'");
    }
  }

  private static void printTables(PrintWriter out, ReplayResult result) {
    int firstLayer = result.layers().isEmpty() ? 0 : result.layers().get(0).layer();
    int lastLayer = firstLayer + result.layers().size() - 1;
    out.printf(
        Locale.ROOT,
        "%d windows of %d iterations, layers %d-%d%n%n",
        result.windows(),
        result.windowIterations(),
        firstLayer,
        lastLayer);
    out.println("overall (all layers; ms per iteration is the sum over layers)");
    printRows(out, result.overall());
    for (ReplayResult.LayerResult layer : result.layers()) {
      out.println();
      out.println("layer " + layer.layer());
      printRows(out, layer.policies());
    }
    out.flush();
  }

  static void printRows(PrintWriter out, List<PolicySummary> rows) {
    int width = 9;
    for (PolicySummary p : rows) {
      width = Math.max(width, p.label().length());
    }
    double oracle = ReplayReport.oracleMs(rows);
    out.printf(
        Locale.ROOT,
        "  %-" + width + "s %12s %9s %9s %12s %12s %13s%n",
        "policy",
        "ms/iter",
        "vs oracle",
        "switches",
        "migrated GB",
        "switch ms/it",
        "decision us50");
    for (PolicySummary p : rows) {
      String vsOracle = ReplayReport.vsOracle(p, oracle);
      out.printf(
          Locale.ROOT,
          "  %-" + width + "s %12.3f %9s %9d %12.2f %12.4f %13.1f%n",
          p.label(),
          p.modelledMsPerIteration(),
          vsOracle,
          p.switches(),
          p.migratedBytes() / 1e9,
          p.switchMsPerIteration(),
          p.decisionMicrosP50());
    }
  }

  private static String toJson(ReplayResult result) throws IOException {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("policies", policyMap(result.overall()));
    List<Object> layerList =
        Arrays.asList(
            result.layers().stream()
                .map(
                    l -> {
                      Map<String, Object> m = new LinkedHashMap<>();
                      m.put("layer", l.layer());
                      m.put("policies", policyMap(l.policies()));
                      return (Object) m;
                    })
                .toArray());
    root.put("layers", layerList);
    root.put("windows", result.windows());
    root.put("windowIterations", result.windowIterations());
    return new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
  }

  static Map<String, Object> policyMap(List<PolicySummary> rows) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (PolicySummary p : rows) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("label", p.label());
      m.put("modelledMsPerIteration", p.modelledMsPerIteration());
      m.put("switches", p.switches());
      m.put("migratedBytes", p.migratedBytes());
      m.put("switchMsPerIteration", p.switchMsPerIteration());
      m.put("decisionMicrosP50", p.decisionMicrosP50());
      out.put(p.policy(), m);
    }
    return out;
  }
}
