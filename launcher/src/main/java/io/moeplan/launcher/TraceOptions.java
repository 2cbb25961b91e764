package io.moeplan.launcher;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The trace-replay options of the commands that run the in-process executor ({@code local}, {@code
 * bench loop}): a trace file to route by instead of the synthetic gate, and how many iterations
 * each of its samples stands for.
 */
final class TraceOptions {

  @Option(
      names = "--trace",
      paramLabel = "FILE",
      description =
          "Replay this expert-load trace (CSV iteration,rank,layer,e0,...; .gz streamed) as the"
              + " ranks' routing instead of the synthetic generator; trace rank r runs on rank r"
              + " mod ranks, and the trace starts over at its end. Model layer l replays the"
              + " file's l-th layer in order (a file of layers 12-23 feeds layers 0-11).")
  Path trace;

  @Option(
      names = "--trace-sample-iterations",
      paramLabel = "N",
      defaultValue = "10",
      description = "Iterations each trace sample stands for. Default: ${DEFAULT-VALUE}.")
  int sampleIterations;

  /** The trace file, null for the synthetic gate; refused, naming it, when it cannot be read. */
  Path checkedTrace(CommandSpec spec) {
    if (trace != null && !Files.isReadable(trace)) {
      throw new ParameterException(spec.commandLine(), "--trace " + trace + ": no such file");
    }
    return trace;
  }
}
