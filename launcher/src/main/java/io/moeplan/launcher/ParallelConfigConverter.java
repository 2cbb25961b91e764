package io.moeplan.launcher;

import io.moeplan.planner.spec.ParallelConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads a parallel config written {@value #SYNTAX}: the five degrees by name, in any order, each
 * exactly once. Errors name the part that is wrong.
 */
final class ParallelConfigConverter implements ITypeConverter<ParallelConfig> {

  /** The syntax, as the option's parameter label and in messages. */
  static final String SYNTAX = "tp=N,pp=N,dp=N,ep=N,slots=N";

  private static final List<String> NAMES = List.of("tp", "pp", "dp", "ep", "slots");

  @Override
  public ParallelConfig convert(String value) {
    Map<String, Integer> degrees = new LinkedHashMap<>();
    for (String part : value.split(",", -1)) {
      String item = part.strip();
      int eq = item.indexOf('=');
      if (eq < 0) {
        throw bad(value, "'" + item + "' is not name=value");
      }
      String name = item.substring(0, eq).strip().toLowerCase(java.util.Locale.ROOT);
      String number = item.substring(eq + 1).strip();
      if (!NAMES.contains(name)) {
        throw bad(value, "'" + item + "': unknown degree '" + name + "' (use " + NAMES + ")");
      }
      if (degrees.containsKey(name)) {
        throw bad(value, "'" + name + "' is given twice");
      }
      int degree;
      try {
        degree = Integer.parseInt(number);
      } catch (NumberFormatException e) {
        throw bad(value, "'" + item + "': '" + number + "' is not a whole number");
      }
      if (degree < 1) {
        throw bad(value, "'" + item + "': " + name + " must be >= 1");
      }
      degrees.put(name, degree);
    }
    List<String> missing = NAMES.stream().filter(n -> !degrees.containsKey(n)).toList();
    if (!missing.isEmpty()) {
      throw bad(value, "missing " + String.join(", ", missing));
    }
    try {
      return new ParallelConfig(
          degrees.get("tp"),
          degrees.get("pp"),
          degrees.get("dp"),
          degrees.get("ep"),
          degrees.get("slots"));
    } catch (IllegalArgumentException e) {
      throw bad(value, e.getMessage());
    }
  }

  private static TypeConversionException bad(String value, String problem) {
    return new TypeConversionException("'" + value + "' is not " + SYNTAX + ": " + problem);
  }

  /** {@code config} in the syntax this converter reads. */
  static String format(ParallelConfig config) {
    return "tp="
        + config.tp()
        + ",pp="
        + config.pp()
        + ",dp="
        + config.dp()
        + ",ep="
        + config.ep()
        + ",slots="
        + config.slotsPerWorker();
  }
}
