package io.moeplan.launcher;

import io.moeplan.planner.pool.LoadHistory;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.pool.RefusedConfigException;
import io.moeplan.planner.pool.StartLayout;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * The layout a training job already has, for the commands that search a pool for it ({@code pool
 * build}, {@code local --external}): a fixed parallel config ({@code --parallel}) and the expert
 * layout it starts on ({@code --start-layout}). {@link #search} runs the pool search with them.
 */
final class JobLayoutOptions {

  static final String PARALLEL = "--parallel";
  static final String START_LAYOUT = "--start-layout";

  @Option(
      names = PARALLEL,
      paramLabel = ParallelConfigConverter.SYNTAX,
      converter = ParallelConfigConverter.class,
      description =
          "The parallel config the training job runs, when it is fixed: tensor, pipeline and data"
              + " degrees (tp*pp*dp = the cluster's GPUs), the expert-parallel group size and the"
              + " expert slots per worker, all five by name in any order, e.g."
              + " tp=1,pp=1,dp=4,ep=4,slots=2. The search keeps only this config (its plans per"
              + " load regime are still searched); one the cluster and model do not allow is"
              + " refused naming the rule it breaks. Default: every valid config is searched.")
  ParallelConfig parallel;

  @Option(
      names = START_LAYOUT,
      defaultValue = StartLayout.CONTIGUOUS,
      paramLabel = "contiguous|FILE",
      description =
          "The expert layout the training job starts on, before its first decision:"
              + " 'contiguous' (worker w holds experts w*S .. w*S+S-1 for S slots per worker),"
              + " or a text file with one line per MoE layer listing the expert of every slot"
              + " in slot order (one line: every layer). Default: ${DEFAULT-VALUE}.")
  String startLayout;

  /** Whether either option was given on the command line. */
  boolean given(CommandSpec spec) {
    ParseResult parsed = spec.commandLine().getParseResult();
    return parsed != null
        && (parsed.hasMatchedOption(PARALLEL) || parsed.hasMatchedOption(START_LAYOUT));
  }

  /**
   * Searches the pool for {@code cluster} and {@code model} as given, under {@code --parallel} when
   * set, and puts the {@code --start-layout} in it.
   *
   * @throws ParameterException naming the option, when the config is refused, the start layout does
   *     not fit, or nothing fits the cluster and model
   */
  Pool search(
      CommandSpec spec,
      ClusterSpec cluster,
      ModelSpec model,
      PoolOptions options,
      LoadHistory history,
      ProgressListener progress)
      throws IOException {
    Pool pool;
    try {
      pool =
          new PoolSearch(cluster, model, options.withParallel(parallel)).search(history, progress);
    } catch (RefusedConfigException e) {
      throw new ParameterException(spec.commandLine(), PARALLEL + " " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    if (StartLayout.CONTIGUOUS.equals(startLayout)) {
      return pool;
    }
    try {
      return pool.withStartLayout(
          StartLayout.read(Path.of(startLayout), pool.startingPlan().parallel(), model));
    } catch (IllegalArgumentException | NoSuchFileException e) {
      throw new ParameterException(spec.commandLine(), START_LAYOUT + " " + e.getMessage(), e);
    }
  }
}
