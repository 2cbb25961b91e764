package io.moeplan.flink.input;

import io.moeplan.flink.job.JobMetrics;
import io.moeplan.flink.job.PoolState;
import io.moeplan.flink.state.WriteBehind;
import io.moeplan.flink.state.WriteBehindValue;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.RankKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
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
 * <p>No single record can block a rank: a rank's iterations form a chain, each load at most {@code
 * maxIterationJump} after the one before. A load that does not continue the rank's chain (more than
 * that ahead of its latest admitted iteration, or behind it: a restart from an earlier checkpoint),
 * and a rank's first load, are held ({@link UnconfirmedLoads}, at most {@value #MAX_UNCONFIRMED})
 * until a later load of the rank continues one of them. A continued load becomes the rank's chain:
 * it is admitted with its continuation and the other held ones are dead-lettered. The rank's loads
 * continuing its chain are admitted meanwhile; an older iteration within the jump is out of order.
 * Held loads no load continued within the confirm timeout are dead-lettered, except that a rank
 * with no admitted iteration starts on the lowest of them (a rank that sent a single load).
 *
 * <p>Loads name their epoch ({@link Epochs}: run id and attempt). A load of the rank's epoch goes
 * through the rules above. A load of a newer epoch (a resumed attempt, or a new run under the same
 * job id) is held like a jump until a later load of the same epoch continues it, so a single record
 * naming a run or attempt by mistake cannot reset the rank; then the rank moves on: its remembered
 * iterations start over from the new epoch, and the other held loads are dead-lettered. A load of
 * an older epoch is dead-lettered as out of order.
 *
 * <p>Keyed by {@code jobId/rank} ({@link ExpertLoadDecoder#rankKeyOf}), so records cross the
 * exchange as the bytes they arrived as; the broadcast side is the latest {@code PlanPool} per job.
 */
public class RankGate extends KeyedBroadcastProcessFunction<String, RawRecord, PlanPool, RankLoad>
    implements WriteBehind {

  private static final long serialVersionUID = 1L;

  /** How many recent iterations per rank are remembered to recognise redeliveries. */
  public static final int RECENT = 16;

  /** Ranks whose state stays in heap from one checkpoint to the next; more are reloaded. */
  static final int MAX_CACHED_RANKS = 100_000;

  /** Loads held per rank awaiting a continuation; beyond that the oldest is dead-lettered. */
  static final int MAX_UNCONFIRMED = 4;

  private final int maxHeld;
  private final long holdTimeoutMillis;
  private final long recheckMillis;
  private final long maxIterationJump;
  private final long confirmTimeoutMillis;

  // read and written for every record: kept in heap between checkpoints
  private transient WriteBehindValue<long[]> recent;
  private transient WriteBehindValue<Long> holdingSince;
  private transient WriteBehindValue<UnconfirmedLoads> unconfirmed;
  private transient WriteBehindValue<RankEpoch> epoch;
  private transient ListState<RankLoad> held;
  private transient ValueState<Integer> heldCount;
  private transient PlanPool parallelPool;
  private transient ParallelConfig parallel;
  private transient Counter recordsIn;
  private transient Counter duplicates;
  private transient Counter used;
  private transient Counter deadLettered;

  /**
   * A gate holding at most {@code maxHeld} loads per rank for at most {@code holdTimeoutMillis}
   * while the job has no pool, looking for the pool every {@code recheckMillis}, and holding a
   * rank's loads that jump more than {@code maxIterationJump} ahead for at most {@code
   * confirmTimeoutMillis} until a later load continues them.
   */
  public RankGate(
      int maxHeld,
      long holdTimeoutMillis,
      long recheckMillis,
      long maxIterationJump,
      long confirmTimeoutMillis) {
    if (maxIterationJump < 1 || confirmTimeoutMillis < 1) {
      throw new IllegalArgumentException(
          "maxIterationJump and confirmTimeoutMillis must be >= 1, got "
              + maxIterationJump
              + " and "
              + confirmTimeoutMillis);
    }
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
    this.maxIterationJump = maxIterationJump;
    this.confirmTimeoutMillis = confirmTimeoutMillis;
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
    unconfirmed =
        WriteBehindValue.of(
            getRuntimeContext(),
            new ValueStateDescriptor<>(
                "unconfirmed-loads", TypeInformation.of(UnconfirmedLoads.class)),
            MAX_CACHED_RANKS);
    epoch =
        WriteBehindValue.of(
            getRuntimeContext(),
            new ValueStateDescriptor<>("rank-epoch", TypeInformation.of(RankEpoch.class)),
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
    unconfirmed.flush(scope);
    epoch.flush(scope);
  }

  @Override
  public boolean overBudget() {
    return recent.overBudget()
        || holdingSince.overBudget()
        || unconfirmed.overBudget()
        || epoch.overBudget();
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
      holdForPool(load, context);
      return;
    }
    releaseHeld(pool, context, out);
    admit(load, pool, context, out);
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext context, Collector<RankLoad> out)
      throws Exception {
    String key = context.getCurrentKey();
    String jobId = RankKey.jobIdOf(key);
    PlanPool pool = context.getBroadcastState(PoolState.DESCRIPTOR).get(jobId);
    UnconfirmedLoads pending = unconfirmed.value(key);
    if (pending != null && timestamp >= pending.deadline) {
      unconfirmed.clear(key);
      resolveUnconfirmed(pending, pool, context, out);
    }
    Long since = holdingSince.value(key);
    if (since == null) {
      return;
    }
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

  private void holdForPool(RankLoad load, ReadOnlyContext context) throws Exception {
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
    Rejection mismatch = checkAgainstPool(load, pool, parallelOf(pool));
    if (mismatch != null) {
      deadLetter(context, DeadLetters.of(load.source, mismatch));
      return;
    }
    String key = context.getCurrentKey();
    RankEpoch current = epoch.value(key);
    String currentRun = current == null ? null : current.runId;
    int currentAttempt = current == null ? 0 : current.attempt;
    Epochs.Order order =
        Epochs.compare(
            currentRun,
            currentAttempt,
            current == null ? null : current.leftRuns,
            load.runId,
            load.attempt);
    if (order == Epochs.Order.OLDER) {
      deadLetter(
          context,
          outOfOrder(
              load,
              " is of "
                  + Epochs.describe(load.runId, load.attempt)
                  + ", but the rank already moved on to "
                  + Epochs.describe(currentRun, currentAttempt)));
      return;
    }
    // a newer epoch is followed like a jump, once a second load of it continues the first, so
    // that one record naming a run or attempt by mistake cannot reset the rank
    boolean sameEpoch = order == Epochs.Order.SAME;
    long[] seen = sameEpoch ? recent.value(key) : null;
    if (repeats(load, seen, context)) {
      return;
    }
    UnconfirmedLoads pending = unconfirmed.value(key);
    if (pending != null && repeatsUnconfirmed(load, pending, context)) {
      return;
    }
    if (seen != null) {
      // the last pair is the latest admitted iteration
      long latest = seen[seen.length - 2];
      if (load.iteration < latest && latest - load.iteration <= maxIterationJump) {
        deadLetter(context, outOfOrder(load, " arrived after iteration " + latest));
        return;
      }
      if (load.iteration > latest && load.iteration - latest <= maxIterationJump) {
        pass(load, pool, key, out);
        return;
      }
    }
    RankLoad continued = pending == null ? null : continuedBy(pending, load);
    if (continued == null) {
      holdForContinuation(load, pending, key, context);
      return;
    }
    if (sameEpoch) {
      unconfirmed.clear(key);
      for (RankLoad other : pending.loads) {
        if (other != continued) {
          deadLetter(context, notContinued(other, continued));
        }
      }
    } else {
      unconfirmed.clear(key);
      startEpoch(load, current, order, without(pending, continued).loads, context);
    }
    pass(continued, pool, key, out);
    pass(load, pool, key, out);
  }

  /** An invalid-field dead letter of {@code load}: "iteration I of rank R" and then {@code why}. */
  private static DeadLetter invalid(RankLoad load, String why) {
    return DeadLetters.of(
        load.source,
        Rejection.invalid("iteration " + load.iteration + " of rank " + load.rank + why));
  }

  /** An out-of-order dead letter of {@code load}: "iteration I of rank R" and then {@code why}. */
  private static DeadLetter outOfOrder(RankLoad load, String why) {
    return DeadLetters.of(
        load.source,
        new Rejection(
            DeadLetterReason.OUT_OF_ORDER,
            "iteration " + load.iteration + " of rank " + load.rank + why));
  }

  /**
   * Moves the rank on to {@code load}'s newer epoch: its remembered iterations are forgotten, and
   * {@code leftovers}, the other loads held for a continuation, are dead-lettered: those of another
   * epoch as left behind, those of the new epoch as not continued.
   */
  private void startEpoch(
      RankLoad load,
      RankEpoch current,
      Epochs.Order order,
      RankLoad[] leftovers,
      ReadOnlyContext context) {
    String key = context.getCurrentKey();
    String oldRun = current == null ? null : current.runId;
    RankEpoch next = new RankEpoch();
    next.runId = load.runId;
    next.attempt = load.attempt;
    next.leftRuns =
        Epochs.leftAfterMove(current == null ? null : current.leftRuns, oldRun, order, load.runId);
    epoch.update(key, next);
    recent.clear(key);
    for (RankLoad other : leftovers) {
      if (sameEpoch(other, load)) {
        deadLetter(context, notContinued(other, load));
      } else {
        deadLetter(
            context,
            outOfOrder(
                other,
                " of "
                    + Epochs.describe(other.runId, other.attempt)
                    + " was held for a continuation when the rank moved on to "
                    + Epochs.describe(load.runId, load.attempt)));
      }
    }
  }

  /** Whether {@code load} repeats an admitted iteration (then counted or dead-lettered). */
  private boolean repeats(RankLoad load, long[] seen, ReadOnlyContext context) {
    if (seen == null) {
      return false;
    }
    for (int i = 0; i + 1 < seen.length; i += 2) {
      if (seen[i] == load.iteration) {
        sameOrConflicting(load, seen[i + 1], context);
        return true;
      }
    }
    return false;
  }

  /** Whether {@code load} repeats a held iteration (then counted or dead-lettered). */
  private boolean repeatsUnconfirmed(
      RankLoad load, UnconfirmedLoads pending, ReadOnlyContext context) {
    for (RankLoad other : pending.loads) {
      if (other.iteration == load.iteration && sameEpoch(other, load)) {
        sameOrConflicting(load, signature(other), context);
        return true;
      }
    }
    return false;
  }

  private void sameOrConflicting(RankLoad load, long firstSignature, ReadOnlyContext context) {
    if (firstSignature == signature(load)) {
      duplicates.inc();
      return;
    }
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

  /** The held load {@code load} continues: the latest one it comes at most the jump after. */
  private RankLoad continuedBy(UnconfirmedLoads pending, RankLoad load) {
    RankLoad continued = null;
    for (RankLoad held : pending.loads) {
      if (sameEpoch(held, load)
          && held.iteration < load.iteration
          && load.iteration - held.iteration <= maxIterationJump
          && (continued == null || held.iteration > continued.iteration)) {
        continued = held;
      }
    }
    return continued;
  }

  /** {@code pending} without {@code load}. */
  private static UnconfirmedLoads without(UnconfirmedLoads pending, RankLoad load) {
    UnconfirmedLoads rest = new UnconfirmedLoads();
    rest.deadline = pending.deadline;
    rest.loads = Arrays.stream(pending.loads).filter(held -> held != load).toArray(RankLoad[]::new);
    return rest;
  }

  private static boolean sameEpoch(RankLoad a, RankLoad b) {
    return Objects.equals(a.runId, b.runId) && a.attempt == b.attempt;
  }

  /** Holds {@code load} until a later load continues it, or the confirm timeout. */
  private void holdForContinuation(
      RankLoad load, UnconfirmedLoads pending, String key, ReadOnlyContext context)
      throws Exception {
    UnconfirmedLoads next = new UnconfirmedLoads();
    if (pending == null) {
      next.loads = new RankLoad[] {load};
      next.deadline = context.timerService().currentProcessingTime() + confirmTimeoutMillis;
      context.timerService().registerProcessingTimeTimer(next.deadline);
    } else {
      // the held loads are resolved a full timeout after the latest of them arrived
      next.deadline = context.timerService().currentProcessingTime() + confirmTimeoutMillis;
      context.timerService().registerProcessingTimeTimer(next.deadline);
      int keep = Math.min(pending.loads.length, MAX_UNCONFIRMED - 1);
      int drop = pending.loads.length - keep;
      for (int i = 0; i < drop; i++) {
        RankLoad oldest = pending.loads[i];
        deadLetter(
            context,
            invalid(
                oldest,
                " was not continued before "
                    + MAX_UNCONFIRMED
                    + " other loads of the rank jumped away from its admitted iterations"));
      }
      next.loads = new RankLoad[keep + 1];
      System.arraycopy(pending.loads, drop, next.loads, 0, keep);
      next.loads[keep] = load;
    }
    unconfirmed.update(key, next);
  }

  /**
   * Held loads no load continued within the confirm timeout: a rank with admitted iterations had no
   * reason to jump, so they are dead-lettered; a rank without any starts on the lowest and the
   * loads that continue it (a rank that sent a single load is not lost).
   */
  private void resolveUnconfirmed(
      UnconfirmedLoads pending, PlanPool pool, ReadOnlyContext context, Collector<RankLoad> out)
      throws Exception {
    String key = context.getCurrentKey();
    long[] seen = recent.value(key);
    RankEpoch current = epoch.value(key);
    if (seen == null && current == null && pool != null) {
      // a rank with nothing admitted starts in the epoch of its lowest held load
      RankLoad lowest = pending.loads[0];
      for (RankLoad load : pending.loads) {
        if (load.iteration < lowest.iteration) {
          lowest = load;
        }
      }
      Epochs.Order order = Epochs.compare(null, 0, null, lowest.runId, lowest.attempt);
      if (order != Epochs.Order.SAME) {
        startEpoch(lowest, null, order, new RankLoad[0], context);
        current = epoch.value(key);
      }
    }
    String currentRun = current == null ? null : current.runId;
    int currentAttempt = current == null ? 0 : current.attempt;
    List<RankLoad> sameEpoch = new ArrayList<>();
    for (RankLoad load : pending.loads) {
      if (Objects.equals(load.runId, currentRun) && load.attempt == currentAttempt) {
        sameEpoch.add(load);
      } else {
        deadLetter(
            context,
            invalid(
                load,
                " names "
                    + Epochs.describe(load.runId, load.attempt)
                    + ", but no later load of the rank continued it within "
                    + confirmTimeoutMillis
                    + " ms; the rank stays in "
                    + Epochs.describe(currentRun, currentAttempt)));
      }
    }
    RankLoad[] byIteration = sameEpoch.toArray(RankLoad[]::new);
    Arrays.sort(byIteration, (a, b) -> Long.compare(a.iteration, b.iteration));
    if (pool == null) {
      // not expected: loads are held for a continuation only once their job's pool is known
      for (RankLoad load : byIteration) {
        deadLetter(
            context,
            DeadLetters.of(
                load.source,
                new Rejection(
                    DeadLetterReason.NO_POOL,
                    "no plan pool for job '" + load.jobId + "' when its held load was resolved")));
      }
      return;
    }
    if (seen == null) {
      RankLoad last = null;
      for (RankLoad load : byIteration) {
        if (last == null || load.iteration - last.iteration <= maxIterationJump) {
          pass(load, pool, key, out);
          last = load;
        } else {
          deadLetter(context, notContinued(load, last));
        }
      }
      return;
    }
    long latest = seen[seen.length - 2];
    for (RankLoad load : byIteration) {
      deadLetter(
          context,
          invalid(
              load,
              " is more than --max-iteration-jump "
                  + maxIterationJump
                  + " away from the rank's iteration "
                  + latest
                  + ", and no load of the rank continued from it within "
                  + confirmTimeoutMillis
                  + " ms"));
    }
  }

  private static DeadLetter notContinued(RankLoad load, RankLoad continued) {
    return invalid(
        load,
        " jumped away from the rank's iterations, which went on from iteration "
            + continued.iteration);
  }

  /** Admits {@code load}: remembers it for redeliveries and sends it on. */
  private void pass(RankLoad load, PlanPool pool, String key, Collector<RankLoad> out)
      throws Exception {
    recent.update(key, remember(recent.value(key), load.iteration, signature(load)));
    used.inc();
    load.hostingRanks = parallelOf(pool).ranksPerStage(load.worldSize);
    out.collect(load);
  }

  private void deadLetter(ReadOnlyContext context, DeadLetter letter) {
    context.output(DeadLetters.TAG, letter);
    deadLettered.inc();
  }

  /**
   * The first way a load contradicts its job's pool, or null: a world size other than the pool's
   * {@code tp x pp x dp}, a layer or expert count the pool's model does not have, or, with pipeline
   * stages, a layer its rank's stage does not host.
   */
  static Rejection checkAgainstPool(RankLoad load, PlanPool pool, ParallelConfig parallel) {
    int experts = pool.getModel().getExpertCount();
    int layers = pool.getModel().getMoeLayers();
    long poolWorld = parallel.worldSize();
    if (load.worldSize != poolWorld) {
      return Rejection.invalid(
          "worldSize "
              + load.worldSize
              + " is not the "
              + poolWorld
              + " ranks (tp x pp x dp) the pool of job '"
              + load.jobId
              + "' runs");
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

  /**
   * The parallel config a job of {@code pool} runs under, derived once per pool object rather than
   * per record (the broadcast state hands out the same object until a new pool arrives).
   */
  private ParallelConfig parallelOf(PlanPool pool) {
    if (pool != parallelPool) {
      parallel = PoolRecords.startingParallel(pool);
      parallelPool = pool;
    }
    return parallel;
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
