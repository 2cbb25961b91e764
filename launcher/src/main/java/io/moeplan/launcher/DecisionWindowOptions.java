package io.moeplan.launcher;

import io.moeplan.schemas.DecisionWindows;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * The decision-window options of the commands that run the plan-selector job or follow its
 * decisions ({@code local}, {@code executor}, {@code bench pipeline}): the job's own flag names and
 * defaults, from {@link DecisionWindows}. The older {@code --window} and {@code --lead} still work
 * but are not shown.
 */
final class DecisionWindowOptions {

  @Option(
      names = DecisionWindows.WINDOW_ITERATIONS_FLAG,
      paramLabel = "F",
      defaultValue = "" + DecisionWindows.DEFAULT_WINDOW_ITERATIONS,
      description =
          "Iterations per decision window (the replan interval F), as the plan-selector job's"
              + " option of the same name. Default: ${DEFAULT-VALUE}.")
  int windowIterations;

  @Option(
      names = DecisionWindows.LEAD_ITERATIONS_FLAG,
      paramLabel = "L",
      defaultValue = "" + DecisionWindows.DEFAULT_LEAD_ITERATIONS,
      description =
          "Iterations between a window's last iteration and its decision taking effect, as the"
              + " plan-selector job's option of the same name. Default: ${DEFAULT-VALUE}.")
  int leadIterations;

  @Option(names = "--window", hidden = true, description = "Old name of --window-iterations.")
  Integer oldWindow;

  @Option(names = "--lead", hidden = true, description = "Old name of --lead-iterations.")
  Integer oldLead;

  /** The window length (the old name's when only it was given), checked to be at least 1. */
  int windowIterations(CommandSpec spec) {
    int value = given(spec, DecisionWindows.WINDOW_ITERATIONS_FLAG, windowIterations, oldWindow);
    if (value < 1) {
      throw new ParameterException(
          spec.commandLine(),
          DecisionWindows.WINDOW_ITERATIONS_FLAG + " must be >= 1, got " + value);
    }
    return value;
  }

  /** The lead (the old name's when only it was given), checked to be at least 0. */
  int leadIterations(CommandSpec spec) {
    int value = given(spec, DecisionWindows.LEAD_ITERATIONS_FLAG, leadIterations, oldLead);
    if (value < 0) {
      throw new ParameterException(
          spec.commandLine(), DecisionWindows.LEAD_ITERATIONS_FLAG + " must be >= 0, got " + value);
    }
    return value;
  }

  /** The value of {@code flag}, or of its old name when only that was on the command line. */
  static int given(CommandSpec spec, String flag, int value, Integer oldName) {
    ParseResult parsed = spec.commandLine().getParseResult();
    boolean named = parsed != null && parsed.hasMatchedOption(flag);
    return oldName != null && !named ? oldName : value;
  }
}
