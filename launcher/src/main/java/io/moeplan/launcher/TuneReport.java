package io.moeplan.launcher;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.moeplan.planner.policy.StaticPolicy;
import io.moeplan.planner.replay.BaselineSweep;
import io.moeplan.planner.replay.PolicySummary;
import io.moeplan.planner.replay.ReplayEvaluator;
import io.moeplan.planner.replay.ReplayResult;
import io.moeplan.planner.selector.SelectorPolicy;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** The output of {@code moeplan replay --tune}: each baseline at its best, then the whole grid. */
final class TuneReport {
  /** The grid, for the help text. */
  static final String GRID_HELP =
      "eplb interval 10, 20, 50, 100, 200, 500, 1000, 2500 x window 10, 50, 100, 500, 1000"
          + " iterations (40 settings at F = 10; values rounded to multiples of F), smartmoe"
          + " threshold 0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, flexmoe threshold 1, 1.05, 1.1, 1.2,"
          + " 1.3, 1.5, 2 (54 settings in all at F = 10, replayed in one pass).";

  /** {@link #GRID_HELP} as computed from the grid, for a test that the two agree. */
  static String gridHelpComputed() {
    return "eplb interval "
        + join(BaselineSweep.EPLB_INTERVALS)
        + " x window "
        + join(BaselineSweep.EPLB_WINDOWS)
        + " iterations (40 settings at F = 10; values rounded to multiples of F), smartmoe"
        + " threshold "
        + join(BaselineSweep.SMARTMOE_THRESHOLDS)
        + ", flexmoe threshold "
        + join(BaselineSweep.FLEXMOE_THRESHOLDS)
        + " (54 settings in all at F = 10, replayed in one pass).";
  }

  private static String join(List<? extends Number> values) {
    return values.stream()
        .map(v -> new java.math.BigDecimal(v.toString()).stripTrailingZeros().toPlainString())
        .collect(Collectors.joining(", "));
  }

  private TuneReport() {}

  /** Prints {@code sweep} as tables, or as one JSON object when {@code json}. */
  static void print(PrintWriter out, BaselineSweep.Result sweep, boolean json)
      throws JsonProcessingException {
    if (json) {
      out.println(toJson(sweep));
    } else {
      printTables(out, sweep);
    }
    out.flush();
  }

  /** Static, each tuned baseline at its best setting, the selector and the oracle. */
  static List<PolicySummary> headline(BaselineSweep.Result sweep) {
    List<PolicySummary> rows = new ArrayList<>();
    ReplayResult replay = sweep.replay();
    find(replay, StaticPolicy.NAME).ifPresent(rows::add);
    for (BaselineSweep.Best b : sweep.best()) {
      rows.add(b.best());
    }
    find(replay, SelectorPolicy.NAME).ifPresent(rows::add);
    find(replay, ReplayEvaluator.ORACLE).ifPresent(rows::add);
    return rows;
  }

  private static java.util.Optional<PolicySummary> find(ReplayResult replay, String policy) {
    return replay.overall().stream().filter(p -> p.policy().equals(policy)).findFirst();
  }

  private static void printTables(PrintWriter out, BaselineSweep.Result sweep) {
    ReplayResult replay = sweep.replay();
    int firstLayer = replay.layers().isEmpty() ? 0 : replay.layers().get(0).layer();
    int lastLayer = firstLayer + replay.layers().size() - 1;
    out.printf(
        Locale.ROOT,
        "%d windows of %d iterations, layers %d-%d, %d policy settings%n%n",
        replay.windows(),
        replay.windowIterations(),
        firstLayer,
        lastLayer,
        replay.overall().size());
    out.println(
        "each baseline at its best setting (lowest modelled ms per iteration over all layers,"
            + " switch costs included; "
            + sweep.best().stream()
                .map(b -> b.baseline() + " best of " + b.settings())
                .collect(Collectors.joining(", "))
            + ")");
    ReplayCommand.printRows(out, headline(sweep));
    out.println();
    out.println("grid (all layers; ms per iteration is the sum over layers)");
    ReplayCommand.printRows(out, replay.overall());
  }

  private static String toJson(BaselineSweep.Result sweep) throws JsonProcessingException {
    ReplayResult replay = sweep.replay();
    Map<String, Object> root = new LinkedHashMap<>();
    Map<String, Object> best = new LinkedHashMap<>();
    for (BaselineSweep.Best b : sweep.best()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("policy", b.best().policy());
      m.put("settingsTried", b.settings());
      m.putAll(entry(b.best()));
      best.put(b.baseline(), m);
    }
    root.put("best", best);
    root.put("headline", ReplayCommand.policyMap(headline(sweep)));
    root.put("grid", ReplayCommand.policyMap(replay.overall()));
    Map<String, Object> grid = new LinkedHashMap<>();
    grid.put("eplbIntervals", BaselineSweep.EPLB_INTERVALS);
    grid.put("eplbWindows", BaselineSweep.EPLB_WINDOWS);
    grid.put("smartmoeThresholds", BaselineSweep.SMARTMOE_THRESHOLDS);
    grid.put("flexmoeThresholds", BaselineSweep.FLEXMOE_THRESHOLDS);
    root.put("gridValues", grid);
    root.put("windows", replay.windows());
    root.put("windowIterations", replay.windowIterations());
    return new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> entry(PolicySummary p) {
    return (Map<String, Object>) ReplayCommand.policyMap(List.of(p)).get(p.policy());
  }
}
