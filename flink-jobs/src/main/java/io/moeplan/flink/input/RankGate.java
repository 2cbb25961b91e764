package io.moeplan.flink.input;

import io.moeplan.flink.job.JobMetrics;
import io.moeplan.flink.job.PoolState;
import io.moeplan.flink.state.WriteBehind;
import io.moeplan.flink.state.WriteBehindValue;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.RankKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Per (job, rank): decodes each record ({@link ExpertLoadDecoder}), checks the load against the
 * job's plan pool, drops exact redeliveries, dead-letters conflicting duplicates and out-of-order
 * iterations, and holds loads that arrive before the job's pool (at most {@code maxHeld} per rank,
 * the oldest dead-lettered beyond that, and for at most the hold timeout, after which they are
 * dead-lettered with reason NO_POOL).
 *
 * <p>Keyed by {@code jobId/rank} ({@link ExpertLoadDecoder#rankKeyOf}), so records cross the
 * exchange as the bytes they arrived as; the broadcast side is the latest {@code PlanPool} per job.
 */
public class RankGate extends KeyedBroadcastProcessFunction<String, RawRecord, PlanPool, RankLoad>
    implements WriteBehind {

  private static final long serialVersionUID = 1L;

  /** How many recent iterations per rank are remembered to recognise redeliveries. */
  static final int RECENT = 16;

  /** Ranks whose state stays in heap from one checkpoint to the next; more are reloaded. */
  static final int MAX_CACHED_RANKS = 100_000;

  private final int maxHeld;
  private final long holdTimeoutMillis;
  private final long recheckMillis;

  // read and written for every record: kept in heap between checkpoints
  private transient WriteBehindValue<long[]> recent;
  private transient WriteBehindValue<Long> holdingSince;
  private transient ListState<RankLoad> held;
  private transient ValueState<Integer> heldCount;
  private transient Counter recordsIn;
  private transient Counter duplicates;
  private transient Counter used;
  private transient Counter deadLettered;

  /**
   * A gate holding at most {@code maxHeld} loads per rank for at most {@code holdTimeoutMillis}
   * while the job has no pool, looking for the pool every {@code recheckMillis}.
   */
  public RankGate(int maxHeld, long holdTimeoutMillis, long recheckMillis) {
    if (maxHeld < 0) {
      throw new IllegalArgumentException("maxHeld must be >= 0, got " + maxHeld);
    }
    if (holdTimeoutMillis < 0 || recheckMillis < 1) {
      throw new IllegalArgumentException(
          "holdTimeoutMillis must be >= 0 and recheckMillis >= 1, got "
              + holdTimeoutMillis
              + " and "
              + recheckMillis);
    }
    this.maxHeld = maxHeld;
    this.holdTimeoutMillis = holdTimeoutMillis;
    this.recheckMillis = recheckMillis;
  }

  /** Descriptor of the held loads, for tests and state inspection. */
  static ListStateDescriptor<RankLoad> heldDescriptor() {
    return new ListStateDescriptor<>("held-loads", TypeInformation.of(RankLoad.class));
  }

  @Override
  public void open(OpenContext openContext) {
    recent =
        WriteBehindValue.of(
            getRuntimeContext(),
            new ValueStateDescriptor<long[]>("recent-iterations", long[].class),
            MAX_CACHED_RANKS);
    holdingSince =
        WriteBehindValue.of(
            getRuntimeContext(),
            new ValueStateDescriptor<>("holding-since", Types.LONG),
            MAX_CACHED_RANKS);
    held = getRuntimeContext().getListState(heldDescriptor());
    heldCount = getRuntimeContext().getState(new ValueStateDescriptor<>("held-count", Types.INT));
    recordsIn = getRuntimeContext().getMetricGroup().counter(JobMetrics.RECORDS_IN);
    duplicates = getRuntimeContext().getMetricGroup().counter(JobMetrics.DUPLICATES);
    used = getRuntimeContext().getMetricGroup().counter(JobMetrics.RECORDS_USED);
    deadLettered = getRuntimeContext().getMetricGroup().counter(JobMetrics.DEAD_LETTERED);
  }

  @Override
  public void flush(KeyScope scope) throws Exception {
    recent.flush(scope);
    holdingSince.flush(scope);
  }

  @Override
  public boolean overBudget() {
    return recent.overBudget() || holdingSince.overBudget();
  }

  @Override
  public void processElement(RawRecord record, ReadOnlyContext context, Collector<RankLoad> out)
      throws Exception {
    recordsIn.inc();
    ExpertLoadDecoder.Decoded decoded = ExpertLoadDecoder.decode(record);
    if (decoded.rejection() != null) {
      deadLetter(context, DeadLetters.of(record, decoded.rejection()));
      return;
    }
    RankLoad load = decoded.load();
    PlanPool pool = context.getBroadcastState(PoolState.DESCRIPTOR).get(load.jobId);
    if (pool == null) {
      hold(load, context);
      return;
    }
    releaseHeld(pool, context, out);
    admit(load, pool, context, out);
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext context, Collector<RankLoad> out)
      throws Exception {
    String key = context.getCurrentKey();
    Long since = holdingSince.value(key);
    if (since == null) {
      return;
    }
    String jobId = RankKey.jobIdOf(key);
    PlanPool pool = context.getBroadcastState(PoolState.DESCRIPTOR).get(jobId);
    if (pool != null) {
      releaseHeld(pool, context, out);
    } else if (timestamp - since >= holdTimeoutMillis) {
      for (RankLoad load : held.get()) {
        deadLetter(
            context,
            DeadLetters.of(
                load.source,
                new Rejection(
                    DeadLetterReason.NO_POOL,
                    "no plan pool for job '"
                        + jobId
                        + "' within "
                        + holdTimeoutMillis
                        + " ms of holding its loads")));
      }
      clearHeld(key);
    } else {
      context.timerService().registerProcessingTimeTimer(timestamp + recheckMillis);
    }
  }

  /** Admits the loads held for this rank, oldest first, now that the pool is known. */
  private void releaseHeld(PlanPool pool, ReadOnlyContext context, Collector<RankLoad> out)
      throws Exception {
    if (holdingSince.value(context.getCurrentKey()) == null) {
      return;
    }
    List<RankLoad> loads = new ArrayList<>();
    held.get().forEach(loads::add);
    clearHeld(context.getCurrentKey());
    for (RankLoad load : loads) {
      admit(load, pool, context, out);
    }
  }

  private void clearHeld(String key) {
    held.clear();
    heldCount.clear();
    holdingSince.clear(key);
  }

  @Override
  public void processBroadcastElement(PlanPool pool, Context context, Collector<RankLoad> out)
      throws Exception {
    context.getBroadcastState(PoolState.DESCRIPTOR).put(pool.getJobId(), pool);
    // Held loads are admitted by their own key: on that rank's next load, or by its timer.
  }

  private void hold(RankLoad load, ReadOnlyContext context) throws Exception {
    if (holdingSince.value(context.getCurrentKey()) == null) {
      long now = context.timerService().currentProcessingTime();
      holdingSince.update(context.getCurrentKey(), now);
      context.timerService().registerProcessingTimeTimer(now + recheckMillis);
    }
    int count = heldCount.value() == null ? 0 : heldCount.value();
    if (count < maxHeld) {
      held.add(load);
      heldCount.update(count + 1);
      return;
    }
    if (maxHeld == 0) {
      deadLetter(context, DeadLetters.of(load.source, noPool(load, 0)));
      return;
    }
    List<RankLoad> kept = new ArrayList<>();
    held.get().forEach(kept::add);
    RankLoad oldest = kept.remove(0);
    kept.add(load);
    held.update(kept);
    deadLetter(context, DeadLetters.of(oldest.source, noPool(oldest, maxHeld)));
  }

  private static Rejection noPool(RankLoad load, int heldLimit) {
    return new Rejection(
        DeadLetterReason.NO_POOL,
        "no plan pool for job '"
            + load.jobId
            + "' yet and "
            + heldLimit
            + " newer loads of rank "
            + load.rank
            + " are already held");
  }

  private void admit(RankLoad load, PlanPool pool, ReadOnlyContext context, Collector<RankLoad> out)
      throws Exception {
    Rejection mismatch = checkAgainstPool(load, pool);
    if (mismatch != null) {
      deadLetter(context, DeadLetters.of(load.source, mismatch));
      return;
    }
    String key = context.getCurrentKey();
    long[] seen = recent.value(key);
    long signature = signature(load);
    if (seen != null) {
      for (int i = 0; i + 1 < seen.length; i += 2) {
        if (seen[i] == load.iteration) {
          if (seen[i + 1] == signature) {
            duplicates.inc();
          } else {
            deadLetter(
                context,
                DeadLetters.of(
                    load.source,
                    new Rejection(
                        DeadLetterReason.DUPLICATE,
                        "iteration "
                            + load.iteration
                            + " of rank "
                            + load.rank
                            + " was already reported with different counts")));
          }
          return;
        }
      }
    }
    // the last pair is the latest admitted iteration
    if (seen != null && load.iteration < seen[seen.length - 2]) {
      deadLetter(
          context,
          DeadLetters.of(
              load.source,
              new Rejection(
                  DeadLetterReason.OUT_OF_ORDER,
                  "iteration "
                      + load.iteration
                      + " of rank "
                      + load.rank
                      + " arrived after iteration "
                      + seen[seen.length - 2])));
      return;
    }
    recent.update(key, remember(seen, load.iteration, signature));
    used.inc();
    load.hostingRanks = startingConfig(pool).ranksPerStage(load.worldSize);
    out.collect(load);
  }

  private void deadLetter(ReadOnlyContext context, DeadLetter letter) {
    context.output(DeadLetters.TAG, letter);
    deadLettered.inc();
  }

  /**
   * The first way a load contradicts its job's pool, or null: a layer or expert count the pool's
   * model does not have, or, with pipeline stages, a world size they do not divide or a layer its
   * rank's stage does not host.
   */
  static Rejection checkAgainstPool(RankLoad load, PlanPool pool) {
    int experts = pool.getModel().getExpertCount();
    int layers = pool.getModel().getMoeLayers();
    ParallelConfig parallel = startingConfig(pool);
    if (load.worldSize % parallel.pp() != 0) {
      return Rejection.invalid(
          "worldSize "
              + load.worldSize
              + " is not a multiple of the "
              + parallel.pp()
              + " pipeline stages of the pool of job '"
              + load.jobId
              + "'");
    }
    int stage = parallel.stageOfRank(load.rank, load.worldSize);
    for (int i = 0; i < load.layers.length; i++) {
      if (load.layers[i] >= layers) {
        return Rejection.invalid(
            "layers["
                + i
                + "].layer "
                + load.layers[i]
                + " does not exist: the pool of job '"
                + load.jobId
                + "' has "
                + layers
                + " MoE layers");
      }
      if (load.counts[i].length != experts) {
        return Rejection.invalid(
            "layers["
                + i
                + "].expertCounts has "
                + load.counts[i].length
                + " entries but the pool of job '"
                + load.jobId
                + "' has "
                + experts
                + " experts");
      }
      int hostedBy = parallel.stageOfLayer(load.layers[i], layers);
      if (hostedBy != stage) {
        int perStage = parallel.ranksPerStage(load.worldSize);
        return Rejection.invalid(
            "layers["
                + i
                + "].layer "
                + load.layers[i]
                + " is hosted by pipeline stage "
                + hostedBy
                + " of "
                + parallel.pp()
                + ", but rank "
                + load.rank
                + " is in stage "
                + stage
                + " (ranks "
                + stage * perStage
                + "-"
                + ((stage + 1) * perStage - 1)
                + ")");
      }
    }
    return null;
  }

  /** The parallel config a job runs under: its pool's first plan's. */
  static ParallelConfig startingConfig(PlanPool pool) {
    var p = pool.getPlans().get(0).getParallel();
    return new ParallelConfig(p.getTp(), p.getPp(), p.getDp(), p.getEp(), p.getSlotsPerWorker());
  }

  private static long[] remember(long[] seen, long iteration, long signature) {
    long[] next;
    if (seen == null) {
      next = new long[2];
    } else if (seen.length < 2 * RECENT) {
      next = Arrays.copyOf(seen, seen.length + 2);
    } else {
      next = Arrays.copyOfRange(seen, 2, seen.length + 2);
    }
    next[next.length - 2] = iteration;
    next[next.length - 1] = signature;
    return next;
  }

  /** A content hash of a load, to tell a redelivery from a conflicting report. */
  static long signature(RankLoad load) {
    long hash = 1125899906842597L;
    hash = 31 * hash + load.worldSize;
    hash = 31 * hash + load.planVersion;
    for (int i = 0; i < load.layers.length; i++) {
      hash = 31 * hash + load.layers[i];
      for (long count : load.counts[i]) {
        hash = 31 * hash + count;
      }
    }
    return hash;
  }
}
