package io.moeplan.flink.layer;

import io.moeplan.flink.input.RankLoad;
import io.moeplan.flink.state.WriteBehind;
import io.moeplan.flink.state.WriteBehindValue;
import io.moeplan.schemas.DecisionWindows;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Per (job, rank): sums the rank's loads over each window of {@code F} iterations and emits one
 * {@link LayerSample} per layer when the rank has reported the whole window, so the per-layer
 * operators see one sample per rank and window instead of one per iteration.
 *
 * <p>A rank's window is emitted early, with the iterations it has, when the rank moves on to a
 * later window or its window has been open for the window timeout; the per-layer operator adds up
 * what arrives for the same rank and window. Loads of two epochs (run and attempt) are never summed
 * together: a load of another epoch emits the open window first.
 */
public class RankWindowAggregator extends KeyedProcessFunction<String, RankLoad, LayerSample>
    implements WriteBehind {

  private static final long serialVersionUID = 1L;

  /**
   * Ranks whose open window sums stay in heap between checkpoints (each {@code layers x experts x
   * 8} bytes); with more, the sums are written to state and dropped from heap at once.
   */
  static final int MAX_CACHED_RANKS = 4_096;

  private final int windowIterations;
  private final long windowTimeoutMillis;
  // changed by every load: kept in heap between checkpoints
  private transient WriteBehindValue<RankWindow> open;

  /** An aggregator for windows of {@code windowIterations} iterations. */
  public RankWindowAggregator(int windowIterations, long windowTimeoutMillis) {
    this.windowIterations = windowIterations;
    this.windowTimeoutMillis = windowTimeoutMillis;
  }

  @Override
  public void open(OpenContext openContext) {
    open =
        WriteBehindValue.of(
            getRuntimeContext(),
            new ValueStateDescriptor<>("rank-window", TypeInformation.of(RankWindow.class)),
            MAX_CACHED_RANKS);
  }

  @Override
  public void flush(KeyScope scope) throws Exception {
    open.flush(scope);
  }

  @Override
  public boolean overBudget() {
    return open.overBudget();
  }

  @Override
  public void processElement(RankLoad load, Context context, Collector<LayerSample> out)
      throws Exception {
    String key = context.getCurrentKey();
    long window = DecisionWindows.windowOf(load.iteration, windowIterations);
    RankWindow sums = open.value(key);
    if (sums != null && (sums.window != window || !sums.fits(load))) {
      emit(sums, out);
      context.timerService().deleteProcessingTimeTimer(sums.timer);
      sums = null;
    }
    if (sums == null) {
      sums = RankWindow.open(load, window);
      sums.timer = context.timerService().currentProcessingTime() + windowTimeoutMillis;
      context.timerService().registerProcessingTimeTimer(sums.timer);
    }
    sums.add(load);
    if (sums.iterations == windowIterations) {
      emit(sums, out);
      context.timerService().deleteProcessingTimeTimer(sums.timer);
      open.clear(key);
    } else {
      open.update(key, sums);
    }
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext context, Collector<LayerSample> out)
      throws Exception {
    RankWindow sums = open.value(context.getCurrentKey());
    if (sums != null && sums.timer == timestamp) {
      emit(sums, out);
      open.clear(context.getCurrentKey());
    }
  }

  private static void emit(RankWindow sums, Collector<LayerSample> out) {
    for (int i = 0; i < sums.layers.length; i++) {
      LayerSample sample = new LayerSample();
      sample.jobId = sums.jobId;
      sample.layer = sums.layers[i];
      sample.rank = sums.rank;
      sample.worldSize = sums.worldSize;
      sample.hostingRanks = sums.hostingRanks;
      sample.window = sums.window;
      sample.iterations = sums.iterations;
      sample.planVersion = sums.planVersion;
      sample.counts = new long[sums.experts];
      System.arraycopy(sums.sums, i * sums.experts, sample.counts, 0, sums.experts);
      sample.producedAtMillis = sums.latestProducedAtMillis;
      sample.runId = sums.runId;
      sample.attempt = sums.attempt;
      out.collect(sample);
    }
  }

  /** One rank's sums over the window it is in. */
  public static class RankWindow {
    /** Training job. */
    public String jobId;

    /** The rank. */
    public int rank;

    /** Ranks of the job. */
    public int worldSize;

    /** Ranks that report the layers this rank reports (its pipeline stage's). */
    public int hostingRanks;

    /** The window. */
    public long window;

    /** The run of the summed loads; null: the default run. */
    public String runId;

    /** The attempt of the summed loads. */
    public int attempt;

    /** Layers of the rank's loads, in their order. */
    public int[] layers;

    /** Experts per layer. */
    public int experts;

    /** Token sums {@code [layer index * experts + expert]}. */
    public long[] sums;

    /** Iterations added. */
    public int iterations;

    /** Plan version of the latest load. */
    public long planVersion;

    /** Latest producer time (metrics only). */
    public long latestProducedAtMillis;

    /** Processing time the window times out at. */
    public long timer;

    /** For Flink's POJO serializer. */
    public RankWindow() {}

    static RankWindow open(RankLoad load, long window) {
      RankWindow sums = new RankWindow();
      sums.jobId = load.jobId;
      sums.rank = load.rank;
      sums.worldSize = load.worldSize;
      sums.hostingRanks = load.hostingRanks;
      sums.window = window;
      sums.runId = load.runId;
      sums.attempt = load.attempt;
      sums.layers = load.layers.clone();
      sums.experts = load.expertCount();
      sums.sums = new long[load.layers.length * sums.experts];
      return sums;
    }

    boolean fits(RankLoad load) {
      return load.worldSize == worldSize
          && java.util.Objects.equals(load.runId, runId)
          && load.attempt == attempt
          && load.hostingRanks == hostingRanks
          && load.expertCount() == experts
          && java.util.Arrays.equals(load.layers, layers);
    }

    void add(RankLoad load) {
      for (int i = 0; i < layers.length; i++) {
        long[] counts = load.counts[i];
        int base = i * experts;
        for (int e = 0; e < experts; e++) {
          sums[base + e] += counts[e];
        }
      }
      iterations++;
      planVersion = load.planVersion;
      latestProducedAtMillis = Math.max(latestProducedAtMillis, load.producedAtMillis);
    }
  }
}
