package io.moeplan.planner.replay;

import io.moeplan.planner.policy.EplbPolicy;
import io.moeplan.planner.policy.FlexMoePolicy;
import io.moeplan.planner.policy.SmartMoePolicy;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A policy of a replay with its settings, written {@code name} or {@code
 * name(key=value,key=value)}, e.g. {@code eplb(interval=1000,window=100)}. Settings not given take
 * their defaults:
 *
 * <ul>
 *   <li>{@code eplb}: {@code interval} (iterations between rebalances) and {@code window}
 *       (iterations of load averaged for a rebalance), both positive multiples of the replay's
 *       window iterations F, default F each (a rebalance every window from that window's load);
 *   <li>{@code smartmoe}: {@code threshold} (switch only when the current largest per-worker token
 *       count exceeds the greedy placement's by more than this fraction), default 0;
 *   <li>{@code flexmoe}: {@code threshold} (balance ratio above which it adjusts), default {@value
 *       FlexMoePolicy#DEFAULT_THRESHOLD};
 *   <li>{@code static}, {@code selector}, {@code oracle}, {@code foresight}, {@code causal-oracle}:
 *       no settings (the selector's come from the replay's selector options).
 * </ul>
 *
 * @param name the policy's name, one of {@link ReplayEvaluator#POLICIES}
 * @param settings every setting of the policy with its value, defaults filled in, in a fixed order
 */
public record PolicySpec(String name, Map<String, Double> settings) {

  /** Copies the settings, keeping their order. */
  public PolicySpec {
    settings = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(settings));
  }

  /** The settings a policy takes, in label order. */
  static List<String> keys(String name) {
    return switch (name) {
      case EplbPolicy.NAME -> List.of("interval", "window");
      case SmartMoePolicy.NAME, FlexMoePolicy.NAME -> List.of("threshold");
      default -> List.of();
    };
  }

  /**
   * Parses {@code text} for a replay whose windows are {@code windowIterations} iterations long.
   *
   * @throws IllegalArgumentException for an unknown policy or setting, a malformed or out-of-range
   *     value
   */
  public static PolicySpec parse(String text, int windowIterations) {
    String t = text.trim();
    String name = t;
    Map<String, Double> given = new LinkedHashMap<>();
    int open = t.indexOf('(');
    if (open >= 0) {
      if (!t.endsWith(")")) {
        throw new IllegalArgumentException("policy '" + text + "': missing ')'");
      }
      name = t.substring(0, open).trim();
      String body = t.substring(open + 1, t.length() - 1).trim();
      if (!body.isEmpty()) {
        for (String part : body.split(",", -1)) {
          int eq = part.indexOf('=');
          if (eq < 0) {
            throw new IllegalArgumentException(
                "policy '" + text + "': setting '" + part.trim() + "' is not key=value");
          }
          String key = part.substring(0, eq).trim();
          double value;
          try {
            value = Double.parseDouble(part.substring(eq + 1).trim());
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                "policy '"
                    + text
                    + "': "
                    + key
                    + " is not a number: '"
                    + part.substring(eq + 1).trim()
                    + "'");
          }
          if (given.put(key, value) != null) {
            throw new IllegalArgumentException("policy '" + text + "': " + key + " given twice");
          }
        }
      }
    }
    if (!ReplayEvaluator.known(name)) {
      throw new IllegalArgumentException(
          "unknown policy '"
              + name
              + "'; valid: "
              + String.join(", ", ReplayEvaluator.POLICIES)
              + " (and "
              + String.join(", ", ReplayEvaluator.ANALYSIS)
              + " for analysis)");
    }
    List<String> keys = keys(name);
    for (String key : given.keySet()) {
      if (!keys.contains(key)) {
        throw new IllegalArgumentException(
            "policy "
                + name
                + " has no setting '"
                + key
                + "'"
                + (keys.isEmpty() ? "" : "; valid: " + String.join(", ", keys)));
      }
    }
    Map<String, Double> settings = new LinkedHashMap<>();
    switch (name) {
      case EplbPolicy.NAME -> {
        for (String key : keys) {
          double v = given.getOrDefault(key, (double) windowIterations);
          if (!(v >= windowIterations) || v % windowIterations != 0 || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                "policy "
                    + name
                    + ": "
                    + key
                    + " must be a positive multiple of the window iterations ("
                    + windowIterations
                    + "), got "
                    + format(v));
          }
          settings.put(key, v);
        }
      }
      case SmartMoePolicy.NAME, FlexMoePolicy.NAME -> {
        double v =
            given.getOrDefault(
                "threshold",
                name.equals(FlexMoePolicy.NAME) ? FlexMoePolicy.DEFAULT_THRESHOLD : 0.0);
        if (!(v >= 0) || Double.isInfinite(v)) {
          throw new IllegalArgumentException(
              "policy " + name + ": threshold must be finite and >= 0, got " + format(v));
        }
        settings.put("threshold", v);
      }
      default -> {
        // static, selector, oracle: no settings
      }
    }
    return new PolicySpec(name, settings);
  }

  /** The setting {@code key} (it must exist). */
  public double setting(String key) {
    Double v = settings.get(key);
    if (v == null) {
      throw new IllegalArgumentException("policy " + name + " has no setting " + key);
    }
    return v;
  }

  /** The name with every setting, e.g. {@code eplb(interval=1000,window=100)} or {@code static}. */
  public String label() {
    if (settings.isEmpty()) {
      return name;
    }
    StringBuilder b = new StringBuilder(name).append('(');
    boolean first = true;
    for (Map.Entry<String, Double> e : settings.entrySet()) {
      if (!first) {
        b.append(',');
      }
      first = false;
      b.append(e.getKey()).append('=').append(format(e.getValue()));
    }
    return b.append(')').toString();
  }

  /** {@code value} without trailing zeros, e.g. 1000, 0.05, 1.2. */
  static String format(double value) {
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      return Double.toString(value);
    }
    return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }
}
