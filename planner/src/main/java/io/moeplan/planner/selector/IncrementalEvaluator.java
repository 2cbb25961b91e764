package io.moeplan.planner.selector;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import java.util.Arrays;

/**
 * Evaluates the {@link PerformanceModel} objective of placements under one load, fast enough for
 * the online selector.
 *
 * <p>The objective is {@code layerSeconds + migrationWeight * switchSeconds(reference -> state)}.
 * Loading a placement costs O(workers * slots per node): a worker's sends only depend on the
 * experts placed on its own node (everything else leaves the node). {@link #evaluateSwap} prices a
 * swap of two slots without changing the state, in O(gpusPerNode): a swap changes the compute and
 * receive terms of two workers and the send terms of the sources on their two nodes only, and the
 * maxima over the untouched workers come from the caches of {@link #beginStep}. Values agree with
 * {@link PerformanceModel#evaluate} up to floating-point rounding. Mutable and not thread-safe.
 */
final class IncrementalEvaluator {
  private static final long MAX_CELLS = 1L << 26;

  private final PerformanceModel model;
  private final int workers;
  private final int slotsPerWorker;
  private final int experts;
  private final int nodes;
  private final int gpusPerNode;
  private final double kIntra;
  private final double kInter;
  private final double scale4;
  private final double latency;
  private final double perToken;
  private final double fixedPerWorker;
  private final double migIntraSeconds;
  private final double migInterSeconds;

  // set by reset(): the load, the reference placement and the weight of its switch seconds
  private LoadMatrix load;
  private int sources;
  private final double[] col;
  private final double[] nodeCol;
  private double migrationWeight;
  private final int[] reference;
  private final boolean[] refOnNode;
  // the reference's worker of each expert, -1 when it has none, -2 when it has several
  private final int[] refWorker;

  // worker of each slot and node of each worker (lookups instead of divisions in the hot loops)
  private final int[] slotWorker;
  private final int[] workerNode;
  private final boolean replicatedLayout;
  // the loaded placement and its terms; save() and restore() copy it to and from saved
  private final EvaluationState state;
  private final EvaluationState[] saved = new EvaluationState[2];
  private final boolean[] savedValid = new boolean[2];

  // caches of beginStep()
  private final double[] cw;
  private final double[] aw;
  private final int[] topC = new int[3];
  private final int[] topA = new int[3];
  private final int[] topM = new int[3];
  private final double[] nodeMaxA;
  private final int[] topNode = new int[3];
  // per worker, the all-to-all counting receives only: a lower bound of its all-to-all after any
  // swap that leaves its receives alone (every swap not involving it)
  private final double[] recvOnlyA;
  // per node, the three workers with the largest recvOnlyA
  private final int[] nodeTopR;
  private double sumSq;
  // caches of preparePair() for the pairs (pairA, b), valid while pairSeen[b] == pairEpoch, until
  // the state changes or another worker a comes
  private int pairA = -1;
  private int pairEpoch;
  private final int[] pairSeen;
  private final double[] pairMaxC;
  private final double[] pairMaxMig;
  private final double[] pairUntouchedA;
  private final double[] pairFloorA;

  // the workers lowerBound starts its scans of compute and all-to-all, and of migration, from
  private int boundFrom;
  private int migBoundFrom;

  private double lastSecondary;
  private double lastLayerSeconds;
  private double lastSwitchSeconds;

  /**
   * An evaluator for placements of {@code experts} experts on {@code workers} workers with {@code
   * slotsPerWorker} slots each; {@link #reset} sets the load and the reference before use. Its
   * arrays are sized once, so one evaluator serves many decisions without allocating.
   */
  IncrementalEvaluator(PerformanceModel model, int workers, int slotsPerWorker, int experts) {
    if (workers < 1 || slotsPerWorker < 1 || experts < 1) {
      throw new IllegalArgumentException(
          "workers, slots per worker and experts must be >= 1, got "
              + workers
              + ", "
              + slotsPerWorker
              + ", "
              + experts);
    }
    this.model = model;
    this.workers = workers;
    this.slotsPerWorker = slotsPerWorker;
    this.experts = experts;
    this.gpusPerNode = model.gpusPerNode();
    this.nodes = (workers + gpusPerNode - 1) / gpusPerNode;
    if ((long) nodes * experts > MAX_CELLS) {
      throw new IllegalArgumentException(
          "nodes * experts = " + (long) nodes * experts + " is too large for the selector");
    }
    this.kIntra = model.bytesPerToken() / model.intraNodeBandwidth();
    this.kInter = model.bytesPerToken() / model.interNodeBandwidth();
    this.scale4 = 4 * model.commScale();
    this.latency = model.latencySeconds();
    this.perToken = model.perTokenSeconds();
    this.fixedPerWorker = slotsPerWorker * model.fixedSeconds();
    this.migIntraSeconds = model.migrationBytesPerExpert() / model.intraNodeBandwidth();
    this.migInterSeconds = model.migrationBytesPerExpert() / model.interNodeBandwidth();
    this.col = new double[experts];
    this.nodeCol = new double[nodes * experts];
    this.reference = new int[workers * slotsPerWorker];
    this.refOnNode = new boolean[nodes * experts];
    this.refWorker = new int[experts];
    this.state = new EvaluationState(workers, slotsPerWorker, experts, nodes);
    this.slotWorker = new int[workers * slotsPerWorker];
    this.workerNode = new int[workers];
    for (int w = 0, slot = 0; w < workers; w++) {
      workerNode[w] = w / gpusPerNode;
      for (int i = 0; i < slotsPerWorker; i++, slot++) {
        slotWorker[slot] = w;
      }
    }
    this.replicatedLayout = (long) workers * slotsPerWorker > experts;
    this.cw = new double[workers];
    this.aw = new double[workers];
    this.nodeMaxA = new double[nodes];
    this.recvOnlyA = new double[workers];
    this.nodeTopR = new int[nodes * 3];
    this.pairSeen = new int[workers];
    this.pairMaxC = new double[workers];
    this.pairMaxMig = new double[workers];
    this.pairUntouchedA = new double[workers];
    this.pairFloorA = new double[workers];
  }

  /** An evaluator of the shape of {@code reference}, reset to {@code estimate} and it. */
  IncrementalEvaluator(
      PerformanceModel model,
      LoadMatrix estimate,
      int workers,
      int slotsPerWorker,
      Placement reference,
      double migrationWeight) {
    this(model, workers, slotsPerWorker, estimate.experts());
    reset(estimate, reference, migrationWeight);
  }

  /** Drops the reference to the load of the last {@link #reset}; reset again before use. */
  void release() {
    load = null;
  }

  /** Whether this evaluator is of the given shape. */
  boolean fits(int workers, int slotsPerWorker, int experts) {
    return this.workers == workers
        && this.slotsPerWorker == slotsPerWorker
        && this.experts == experts;
  }

  /**
   * Starts over with another load and reference placement (the switch seconds of a state are
   * counted from {@code reference}, weighted by {@code migrationWeight}); the state must be loaded
   * again and nothing saved before survives.
   */
  void reset(LoadMatrix estimate, Placement reference, double migrationWeight) {
    if (estimate.sources() > workers) {
      throw new IllegalArgumentException(
          "load has " + estimate.sources() + " sources, more than the " + workers + " workers");
    }
    if (reference.workerCount() != workers || reference.slotsPerWorker() != slotsPerWorker) {
      throw new IllegalArgumentException(
          "reference placement is not of " + workers + " workers x " + slotsPerWorker + " slots");
    }
    if (estimate.experts() != experts || reference.expertCount() != experts) {
      throw new IllegalArgumentException(
          "evaluator is for "
              + experts
              + " experts; load has "
              + estimate.experts()
              + ", placement has "
              + reference.expertCount());
    }
    this.load = estimate;
    this.sources = estimate.sources();
    this.migrationWeight = migrationWeight;
    estimate.copyExpertTotals(col);
    estimate.groupedExpertTotals(gpusPerNode, nodes, nodeCol);
    Arrays.fill(refOnNode, false);
    Arrays.fill(refWorker, -1);
    for (int slot = 0; slot < this.reference.length; slot++) {
      int w = slotWorker[slot];
      int e = reference.expertAt(slot);
      this.reference[slot] = e;
      refOnNode[workerNode[w] * experts + e] = true;
      refWorker[e] = refWorker[e] == -1 || refWorker[e] == w ? w : -2;
    }
    savedValid[0] = false;
    savedValid[1] = false;
    pairA = -1;
    boundFrom = 0;
    migBoundFrom = 0;
  }

  int workers() {
    return workers;
  }

  int slotsPerWorker() {
    return slotsPerWorker;
  }

  int experts() {
    return experts;
  }

  int expertAt(int slot) {
    return state.expertOfSlot[slot];
  }

  int replicas(int expert) {
    return state.replicas[expert];
  }

  boolean workerHolds(int worker, int expert) {
    return count(worker, expert) > 0;
  }

  double expertLoad(int expert) {
    return col[expert];
  }

  /** Compute seconds of a worker as of the last {@link #beginStep}. */
  double computeSeconds(int worker) {
    return cw[worker];
  }

  /** All-to-all seconds of a worker as of the last {@link #beginStep}. */
  double allToAllSeconds(int worker) {
    return aw[worker];
  }

  /** The worker with the largest compute as of the last {@link #beginStep}, lowest on ties. */
  int busiestByCompute() {
    return topC[0];
  }

  /** The worker with the largest all-to-all as of the last {@link #beginStep}, lowest on ties. */
  int busiestByAllToAll() {
    return topA[0];
  }

  /** The worker with the largest migration as of the last {@link #beginStep}, lowest on ties. */
  int busiestByMigration() {
    return topM[0];
  }

  private double a2a(double sI, double sX, double rI, double rX) {
    return scale4 * (latency + max(sI, rI) * kIntra + max(sX, rX) * kInter);
  }

  /**
   * The larger of two values: Math.max for the finite values this class compares (where a 0.0 or a
   * -0.0 gives the same sums and comparisons), without its NaN and signed-zero checks, which cost
   * in the hot loops.
   */
  private static double max(double a, double b) {
    return a >= b ? a : b;
  }

  double migrationSeconds(int worker) {
    return state.migrationSeconds[worker];
  }

  double migrationWeight() {
    return migrationWeight;
  }

  int[] slotToExpert() {
    return state.expertOfSlot.clone();
  }

  /** Resets the state to the given placement (of this evaluator's shape). */
  void load(Placement placement) {
    pairA = -1;
    for (int slot = 0; slot < state.expertOfSlot.length; slot++) {
      state.expertOfSlot[slot] = placement.expertAt(slot);
    }
    state.clearTerms();
    for (int slot = 0; slot < state.expertOfSlot.length; slot++) {
      int w = slotWorker[slot];
      int e = state.expertOfSlot[slot];
      state.replicas[e]++;
      if (!heldEarlier(state.expertOfSlot, w * slotsPerWorker, slot - w * slotsPerWorker, e)) {
        state.migrationSeconds[w] += migrationSecondsOf(e, w);
      }
      addNodeReplica(e, workerNode[w]);
    }
    for (int slot = 0; slot < state.expertOfSlot.length; slot++) {
      int w = slotWorker[slot];
      int e = state.expertOfSlot[slot];
      double share = 1.0 / state.replicas[e];
      state.workerTokens[w] += col[e] * share;
      recvReplica(w, e, share);
    }
    // sends: only the experts on a source's own node keep tokens inside the node
    int slotsPerNode = gpusPerNode * slotsPerWorker;
    for (int e = 0; e < experts; e++) {
      state.replicaShare[e] = state.replicas[e] == 0 ? 0 : 1.0 / state.replicas[e];
    }
    for (int s = 0; s < sources; s++) {
      int first = workerNode[s] * slotsPerNode;
      int last = Math.min(state.expertOfSlot.length, first + slotsPerNode);
      double inNode = 0;
      for (int slot = first; slot < last; slot++) {
        int e = state.expertOfSlot[slot];
        inNode += load.tokens(s, e) * state.replicaShare[e];
      }
      double local = 0;
      for (int slot = s * slotsPerWorker, end = slot + slotsPerWorker; slot < end; slot++) {
        int e = state.expertOfSlot[slot];
        local += load.tokens(s, e) * state.replicaShare[e];
      }
      state.sendIntraTokens[s] = inNode - local;
      state.sendInterTokens[s] = Math.max(0, load.sourceTotal(s) - inNode);
    }
    for (int e = 0; e < experts; e++) {
      state.expertSyncSeconds[e] =
          state.replicas[e] > 1
              ? model.syncSeconds(state.replicas[e], state.nodesSpanned[e] > 1)
              : 0;
      state.syncSeconds += state.expertSyncSeconds[e];
    }
  }

  /** Remembers the state in {@code slot} (0 or 1), for {@link #restore}. */
  void save(int slot) {
    if (saved[slot] == null) {
      saved[slot] = new EvaluationState(workers, slotsPerWorker, experts, nodes);
    }
    saved[slot].copyFrom(state);
    savedValid[slot] = true;
  }

  /** Returns to the state last saved in {@code slot}, as loading that placement again would. */
  void restore(int slot) {
    if (!savedValid[slot]) {
      throw new IllegalStateException("nothing saved in slot " + slot);
    }
    pairA = -1;
    state.copyFrom(saved[slot]);
  }

  /** Replicas of {@code expert} on {@code worker}. */
  private int count(int worker, int expert) {
    int n = 0;
    for (int slot = worker * slotsPerWorker, end = slot + slotsPerWorker; slot < end; slot++) {
      if (state.expertOfSlot[slot] == expert) {
        n++;
      }
    }
    return n;
  }

  private double migrationSecondsOf(int expert, int worker) {
    int held = refWorker[expert];
    if (held != -2) {
      if (held == worker) {
        return 0;
      }
      return refOnNode[workerNode[worker] * experts + expert] ? migIntraSeconds : migInterSeconds;
    }
    int base = worker * slotsPerWorker;
    for (int i = 0; i < slotsPerWorker; i++) {
      if (reference[base + i] == expert) {
        return 0;
      }
    }
    return refOnNode[workerNode[worker] * experts + expert] ? migIntraSeconds : migInterSeconds;
  }

  /**
   * The migration seconds of {@code worker}, {@code seconds} now, once one of its replicas of
   * {@code leaving} holds {@code arriving} instead; asked before the state changes.
   */
  private double migrationAfterTrade(int worker, double seconds, int leaving, int arriving) {
    // without replicas every expert has one slot: the leaving expert leaves the worker entirely and
    // the arriving one is new to it, so the slot scans can be skipped
    if (!replicatedLayout || count(worker, leaving) == 1) {
      seconds -= migrationSecondsOf(leaving, worker);
    }
    if (!replicatedLayout || count(worker, arriving) == 0) {
      seconds += migrationSecondsOf(arriving, worker);
    }
    return seconds;
  }

  /** The tokens source {@code s} routes to expert {@code e}, 0 for a worker that is no source. */
  private double tokensOf(int s, int e) {
    return s < sources ? load.tokens(s, e) : 0;
  }

  private void recvReplica(int w, int e, double share) {
    double fromNode = nodeCol[workerNode[w] * experts + e];
    double own = w < sources ? load.tokens(w, e) : 0;
    state.recvIntraTokens[w] += share * (fromNode - own);
    state.recvInterTokens[w] += share * (col[e] - fromNode);
  }

  private void sendOf(int s, int e, double sign) {
    double v = load.tokens(s, e);
    if (v == 0) {
      return;
    }
    int on = state.nodeReplicas[workerNode[s] * experts + e];
    int local = count(s, e);
    double r = state.replicas[e];
    state.sendIntraTokens[s] += sign * v * (on - local) / r;
    state.sendInterTokens[s] += sign * v * (state.replicas[e] - on) / r;
  }

  private void sendsAround(int e, double sign, int nodeA, int nodeB, int a, int b) {
    if (nodeA == nodeB) {
      if (a < sources) {
        sendOf(a, e, sign);
      }
      if (b < sources) {
        sendOf(b, e, sign);
      }
      return;
    }
    sendsOfNode(e, sign, nodeA);
    sendsOfNode(e, sign, nodeB);
  }

  private void sendsOfNode(int e, double sign, int node) {
    int end = Math.min(sources, (node + 1) * gpusPerNode);
    for (int s = node * gpusPerNode; s < end; s++) {
      sendOf(s, e, sign);
    }
  }

  /** Swaps the experts of two slots on different workers holding different experts. */
  void swap(int x, int y) {
    pairA = -1;
    int e = state.expertOfSlot[x];
    int f = state.expertOfSlot[y];
    int a = slotWorker[x];
    int b = slotWorker[y];
    int nodeA = workerNode[a];
    int nodeB = workerNode[b];
    sendsAround(e, -1, nodeA, nodeB, a, b);
    sendsAround(f, -1, nodeA, nodeB, a, b);
    double shareE = 1.0 / state.replicas[e];
    double shareF = 1.0 / state.replicas[f];
    double delta = col[f] * shareF - col[e] * shareE;
    state.workerTokens[a] += delta;
    state.workerTokens[b] -= delta;
    recvReplica(a, e, -shareE);
    recvReplica(a, f, shareF);
    recvReplica(b, f, -shareF);
    recvReplica(b, e, shareE);
    state.migrationSeconds[a] = migrationAfterTrade(a, state.migrationSeconds[a], e, f);
    state.migrationSeconds[b] = migrationAfterTrade(b, state.migrationSeconds[b], f, e);
    if (nodeA != nodeB) {
      moveNodeCount(e, nodeA, nodeB);
      moveNodeCount(f, nodeB, nodeA);
    }
    state.expertOfSlot[x] = f;
    state.expertOfSlot[y] = e;
    sendsAround(e, 1, nodeA, nodeB, a, b);
    sendsAround(f, 1, nodeA, nodeB, a, b);
    if (nodeA != nodeB) {
      resync(e);
      resync(f);
    }
  }

  private void moveNodeCount(int e, int from, int to) {
    removeNodeReplica(e, from);
    addNodeReplica(e, to);
  }

  private void removeNodeReplica(int expert, int node) {
    if (--state.nodeReplicas[node * experts + expert] == 0) {
      state.nodesSpanned[expert]--;
    }
  }

  private void addNodeReplica(int expert, int node) {
    if (state.nodeReplicas[node * experts + expert]++ == 0) {
      state.nodesSpanned[expert]++;
    }
  }

  private void resync(int e) {
    if (state.replicas[e] > 1 || state.expertSyncSeconds[e] != 0) {
      state.syncSeconds -= state.expertSyncSeconds[e];
      state.expertSyncSeconds[e] =
          state.replicas[e] > 1
              ? model.syncSeconds(state.replicas[e], state.nodesSpanned[e] > 1)
              : 0;
      state.syncSeconds += state.expertSyncSeconds[e];
    }
  }

  /** Puts expert {@code f} in slot {@code x}, whose expert must keep at least one other replica. */
  void replace(int x, int f) {
    pairA = -1;
    int e = state.expertOfSlot[x];
    int a = slotWorker[x];
    int nodeA = workerNode[a];
    expertFull(e, -1);
    expertFull(f, -1);
    state.migrationSeconds[a] = migrationAfterTrade(a, state.migrationSeconds[a], e, f);
    removeNodeReplica(e, nodeA);
    addNodeReplica(f, nodeA);
    state.replicas[e]--;
    state.replicas[f]++;
    state.replicaShare[e] = 1.0 / state.replicas[e];
    state.replicaShare[f] = 1.0 / state.replicas[f];
    state.expertOfSlot[x] = f;
    expertFull(e, 1);
    expertFull(f, 1);
  }

  private void expertFull(int e, double sign) {
    double share = sign / state.replicas[e];
    for (int slot = 0; slot < state.expertOfSlot.length; slot++) {
      if (state.expertOfSlot[slot] == e) {
        int w = slotWorker[slot];
        state.workerTokens[w] += col[e] * share;
        recvReplica(w, e, share);
      }
    }
    for (int s = 0; s < sources; s++) {
      sendOf(s, e, sign);
    }
    state.syncSeconds -= state.expertSyncSeconds[e];
    state.expertSyncSeconds[e] =
        sign > 0 && state.replicas[e] > 1
            ? model.syncSeconds(state.replicas[e], state.nodesSpanned[e] > 1)
            : 0;
    state.syncSeconds += state.expertSyncSeconds[e];
  }

  /**
   * The objective of the current state by a scan of all workers; also records the layer seconds,
   * the switch seconds and a secondary score (sum of squared per-worker compute and all-to-all)
   * used to break ties.
   */
  double objective() {
    double maxC = 0;
    double maxA = 0;
    double maxMig = 0;
    double secondary = 0;
    for (int w = 0; w < workers; w++) {
      double c = fixedPerWorker + perToken * state.workerTokens[w];
      double a =
          a2a(
              state.sendIntraTokens[w],
              state.sendInterTokens[w],
              state.recvIntraTokens[w],
              state.recvInterTokens[w]);
      maxC = max(maxC, c);
      maxA = max(maxA, a);
      maxMig = max(maxMig, state.migrationSeconds[w]);
      secondary += c * c + a * a;
    }
    lastSecondary = secondary;
    lastLayerSeconds = maxA + maxC + state.syncSeconds;
    lastSwitchSeconds = maxMig;
    return lastLayerSeconds + migrationWeight * maxMig;
  }

  /**
   * A lower bound of the objective of a placement without loading it, in O(slots): the largest
   * compute, the largest all-to-all counting receives only, the sync and the weighted switch time.
   * Stops early, returning a partial bound, once the bound reaches {@code cutoff}.
   */
  double lowerBound(Placement placement, double cutoff) {
    boolean replicated = placement.slotCount() > experts;
    double maxC = 0;
    double maxA = 0;
    // from the worker that ended the last scan early: placements tend to share their busy workers,
    // and the order changes nothing but how soon the scan can stop
    for (int k = 0, w = boundFrom; k < workers; k++, w = w + 1 == workers ? 0 : w + 1) {
      double t = 0;
      double rI = 0;
      double rX = 0;
      int base = w * slotsPerWorker;
      int nodeBase = workerNode[w] * experts;
      for (int i = 0; i < slotsPerWorker; i++) {
        int e = placement.expertAt(base + i);
        double share = replicated ? 1.0 / placement.replicaCount(e) : 1.0;
        t += col[e] * share;
        double fromNode = nodeCol[nodeBase + e];
        rI += share * (fromNode - (w < sources ? load.tokens(w, e) : 0));
        rX += share * (col[e] - fromNode);
      }
      maxC = max(maxC, fixedPerWorker + perToken * t);
      maxA = max(maxA, a2a(0, 0, rI, rX));
      if (maxC + maxA >= cutoff) {
        boundFrom = w;
        return maxC + maxA;
      }
    }
    double maxMig = 0;
    if (migrationWeight > 0) {
      double layerFloor = maxC + maxA;
      for (int k = 0, w = migBoundFrom; k < workers; k++, w = w + 1 == workers ? 0 : w + 1) {
        double m = 0;
        int base = w * slotsPerWorker;
        for (int i = 0; i < slotsPerWorker; i++) {
          int e = placement.expertAt(base + i);
          if (reference[base + i] != e && !heldEarlier(placement, base, i, e)) {
            m += migrationSecondsOf(e, w);
          }
        }
        maxMig = max(maxMig, m);
        // the sync seconds added below only raise the bound
        if (layerFloor + migrationWeight * maxMig >= cutoff) {
          migBoundFrom = w;
          return layerFloor + migrationWeight * maxMig;
        }
      }
    }
    double sync = 0;
    if (replicated) {
      for (int e = 0; e < experts; e++) {
        int r = placement.replicaCount(e);
        sync += r > 1 ? model.syncSeconds(r, false) : 0;
      }
    }
    return maxC + maxA + sync + migrationWeight * maxMig;
  }

  private static boolean heldEarlier(Placement p, int base, int i, int e) {
    for (int j = 0; j < i; j++) {
      if (p.expertAt(base + j) == e) {
        return true;
      }
    }
    return false;
  }

  private static boolean heldEarlier(int[] expertOfSlot, int base, int i, int e) {
    for (int j = 0; j < i; j++) {
      if (expertOfSlot[base + j] == e) {
        return true;
      }
    }
    return false;
  }

  /** Caches per-worker terms and the largest ones for {@link #evaluateSwap}; returns objective. */
  double beginStep() {
    pairA = -1;
    double sq = 0;
    double maxC = 0;
    double maxA = 0;
    double maxMig = 0;
    for (int w = 0; w < workers; w++) {
      double c = fixedPerWorker + perToken * state.workerTokens[w];
      double a =
          a2a(
              state.sendIntraTokens[w],
              state.sendInterTokens[w],
              state.recvIntraTokens[w],
              state.recvInterTokens[w]);
      cw[w] = c;
      aw[w] = a;
      maxC = max(maxC, c);
      maxA = max(maxA, a);
      maxMig = max(maxMig, state.migrationSeconds[w]);
      recvOnlyA[w] =
          scale4
              * (latency + state.recvIntraTokens[w] * kIntra + state.recvInterTokens[w] * kInter);
      sq += c * c + a * a;
    }
    top3(cw, 0, workers, topC, 0);
    top3(aw, 0, workers, topA, 0);
    top3(state.migrationSeconds, 0, workers, topM, 0);
    for (int n = 0; n < nodes; n++) {
      int first = n * gpusPerNode;
      int end = Math.min(workers, first + gpusPerNode);
      double m = 0;
      for (int w = first; w < end; w++) {
        m = max(m, aw[w]);
      }
      nodeMaxA[n] = m;
      top3(recvOnlyA, first, end, nodeTopR, n * 3);
    }
    top3(nodeMaxA, 0, nodes, topNode, 0);
    sumSq = sq;
    // what objective() would compute, from the same values in the same order
    lastSecondary = sq;
    lastLayerSeconds = maxA + maxC + state.syncSeconds;
    lastSwitchSeconds = maxMig;
    return lastLayerSeconds + migrationWeight * maxMig;
  }

  /**
   * The indices of the three largest of {@code values[from..to)} into {@code out[at..at + 3)},
   * largest first, the lowest index first among equal values, -1 where there are fewer.
   */
  private static void top3(double[] values, int from, int to, int[] out, int at) {
    int i1 = -1;
    int i2 = -1;
    int i3 = -1;
    double v1 = Double.NEGATIVE_INFINITY;
    double v2 = Double.NEGATIVE_INFINITY;
    double v3 = Double.NEGATIVE_INFINITY;
    for (int i = from; i < to; i++) {
      double v = values[i];
      if (i3 >= 0 && !(v > v3)) {
        continue;
      }
      if (i1 < 0 || v > v1) {
        i3 = i2;
        v3 = v2;
        i2 = i1;
        v2 = v1;
        i1 = i;
        v1 = v;
      } else if (i2 < 0 || v > v2) {
        i3 = i2;
        v3 = v2;
        i2 = i;
        v2 = v;
      } else {
        i3 = i;
        v3 = v;
      }
    }
    out[at] = i1;
    out[at + 1] = i2;
    out[at + 2] = i3;
  }

  private static double maxExcept(int[] top, int from, double[] values, int a, int b) {
    for (int i = from; i < from + 3; i++) {
      int w = top[i];
      if (w >= 0 && w != a && w != b) {
        return values[w];
      }
    }
    return 0;
  }

  private static double maxExcept(int[] top, double[] values, int a, int b) {
    for (int i : top) {
      if (i >= 0 && i != a && i != b) {
        return values[i];
      }
    }
    return 0;
  }

  /**
   * Caches what an evaluation of a swap between workers a and b takes from the untouched workers:
   * their largest compute, all-to-all and migration, and the receive-only floor of the all-to-all
   * of the other workers on a's and b's nodes.
   */
  private void preparePair(int a, int b, int nodeA, int nodeB) {
    pairSeen[b] = pairEpoch;
    pairMaxC[b] = maxExcept(topC, cw, a, b);
    pairMaxMig[b] = maxExcept(topM, state.migrationSeconds, a, b);
    if (nodeA == nodeB) {
      pairUntouchedA[b] = maxExcept(topA, aw, a, b);
      pairFloorA[b] = pairUntouchedA[b];
    } else {
      pairUntouchedA[b] = maxExcept(topNode, nodeMaxA, nodeA, nodeB);
      // on a cross-node swap the other workers of the two nodes keep their receives
      pairFloorA[b] =
          max(
              pairUntouchedA[b],
              max(
                  maxExcept(nodeTopR, nodeA * 3, recvOnlyA, a, b),
                  maxExcept(nodeTopR, nodeB * 3, recvOnlyA, a, b)));
    }
  }

  /**
   * The objective after swapping slots {@code x} and {@code y} (different workers, different
   * experts), without changing the state; valid after {@link #beginStep()} until the next change.
   * Also sets {@link #lastSecondary()}. When a cheap lower bound already exceeds {@code cutoff},
   * returns that bound instead (with an infinite secondary score).
   */
  double evaluateSwap(int x, int y, double cutoff) {
    int e = state.expertOfSlot[x];
    int f = state.expertOfSlot[y];
    int a = slotWorker[x];
    int b = slotWorker[y];
    int nodeA = workerNode[a];
    int nodeB = workerNode[b];
    double shareE = state.replicaShare[e];
    double shareF = state.replicaShare[f];
    double dTok = col[f] * shareF - col[e] * shareE;
    double ca = fixedPerWorker + perToken * (state.workerTokens[a] + dTok);
    double cb = fixedPerWorker + perToken * (state.workerTokens[b] - dTok);
    if (a != pairA) {
      pairA = a;
      if (++pairEpoch == Integer.MAX_VALUE) {
        Arrays.fill(pairSeen, 0);
        pairEpoch = 1;
      }
    }
    if (pairSeen[b] != pairEpoch) {
      preparePair(a, b, nodeA, nodeB);
    }
    double maxC = max(max(ca, cb), pairMaxC[b]);
    double untouchedA = pairUntouchedA[b];
    double floorA = pairFloorA[b];
    double othersMig = pairMaxMig[b];
    // cheapest bound first: compute, untouched all-to-all, sync and the others' migration
    double early =
        maxC
            + max(floorA, scale4 * latency)
            + (replicatedLayout ? 0 : state.syncSeconds)
            + migrationWeight * othersMig;
    if (early > cutoff) {
      lastSecondary = Double.POSITIVE_INFINITY;
      return early;
    }
    double sq = sumSq - cw[a] * cw[a] - cw[b] * cw[b] + ca * ca + cb * cb;

    double migA = migrationAfterTrade(a, state.migrationSeconds[a], e, f);
    double migB = migrationAfterTrade(b, state.migrationSeconds[b], f, e);
    double maxMig = max(max(migA, migB), othersMig);
    double sync = state.syncSeconds;
    if (nodeA != nodeB && (state.replicas[e] > 1 || state.replicas[f] > 1)) {
      sync += syncAfterMove(e, nodeA, nodeB) + syncAfterMove(f, nodeB, nodeA);
    }
    double bound = maxC + max(floorA, scale4 * latency) + sync + migrationWeight * maxMig;
    if (bound > cutoff) {
      lastSecondary = Double.POSITIVE_INFINITY;
      return bound;
    }

    double tokEA = tokensOf(a, e);
    double tokFA = tokensOf(a, f);
    double tokEB = tokensOf(b, e);
    double tokFB = tokensOf(b, f);
    double maxA;
    if (nodeA == nodeB) {
      // inside one node only a's and b's own tokens of e and f change between their sends
      double aa = ownA2a(a, tokEA * shareE - tokFA * shareF, 0, f, e, shareF, shareE, tokFA, tokEA);
      double ab = ownA2a(b, tokFB * shareF - tokEB * shareE, 0, e, f, shareE, shareF, tokEB, tokFB);
      maxA = max(max(aa, ab), untouchedA);
      sq += aa * aa + ab * ab - aw[a] * aw[a] - aw[b] * aw[b];
    } else {
      // the two workers that change most first: often they already rule the move out. Across
      // nodes a and b keep their intra-node sends of e and f and trade inter-node ones
      double aa = ownA2a(a, 0, tokFA * shareF - tokEA * shareE, f, e, shareF, shareE, tokFA, tokEA);
      double ab = ownA2a(b, 0, tokEB * shareE - tokFB * shareF, e, f, shareE, shareF, tokEB, tokFB);
      maxA = max(untouchedA, max(aa, ab));
      double mw = migrationWeight * maxMig;
      // summed as the final value is, so that a bound above the cutoff implies the value is
      double partial = max(maxA, floorA) + maxC + sync + mw;
      if (partial > cutoff) {
        lastSecondary = Double.POSITIVE_INFINITY;
        return partial;
      }
      sq += aa * aa + ab * ab - aw[a] * aw[a] - aw[b] * aw[b];
      for (int pass = 0; pass < 2; pass++) {
        int first = (pass == 0 ? nodeA : nodeB) * gpusPerNode;
        int end = Math.min(workers, first + gpusPerNode);
        double sign = pass == 0 ? 1 : -1;
        for (int w = first; w < end; w++) {
          if (w == a || w == b) {
            continue;
          }
          double v = swappedOther(w, e, f, shareE, shareF, sign);
          if (v > maxA) {
            maxA = v;
            partial = maxA + maxC + sync + mw;
            if (partial > cutoff) {
              lastSecondary = Double.POSITIVE_INFINITY;
              return partial;
            }
          }
          sq += v * v - aw[w] * aw[w];
        }
      }
    }
    lastSecondary = sq;
    lastLayerSeconds = maxA + maxC + sync;
    lastSwitchSeconds = maxMig;
    return lastLayerSeconds + migrationWeight * maxMig;
  }

  private double syncAfterMove(int e, int from, int to) {
    if (state.replicas[e] <= 1) {
      return 0;
    }
    int used = state.nodesSpanned[e];
    if (state.nodeReplicas[from * experts + e] == 1) {
      used--;
    }
    if (state.nodeReplicas[to * experts + e] == 0) {
      used++;
    }
    return model.syncSeconds(state.replicas[e], used > 1) - state.expertSyncSeconds[e];
  }

  /**
   * All-to-all of worker w (a or b) after the swap: its intra-node sends grow by {@code dSendIntra}
   * and its inter-node sends fall by {@code dSendInter}; it receives expert {@code gain} instead of
   * {@code lose}, of which its own source routes {@code ownGain} and {@code ownLose} tokens.
   */
  private double ownA2a(
      int w,
      double dSendIntra,
      double dSendInter,
      int gain,
      int lose,
      double shareGain,
      double shareLose,
      double ownGain,
      double ownLose) {
    int base = workerNode[w] * experts;
    double nodeGain = nodeCol[base + gain];
    double nodeLose = nodeCol[base + lose];
    double rI =
        state.recvIntraTokens[w]
            + (shareGain * (nodeGain - ownGain) - shareLose * (nodeLose - ownLose));
    double rX =
        state.recvInterTokens[w]
            + (shareGain * (col[gain] - nodeGain) - shareLose * (col[lose] - nodeLose));
    return a2a(
        state.sendIntraTokens[w] + dSendIntra, state.sendInterTokens[w] - dSendInter, rI, rX);
  }

  /**
   * All-to-all of worker w, neither a nor b, on node A ({@code sign} 1) or node B ({@code sign} -1)
   * of a cross-node swap: its receives stay, and f's tokens instead of e's stay in its node.
   */
  private double swappedOther(int w, int e, int f, double shareE, double shareF, double sign) {
    if (w >= sources) {
      return aw[w];
    }
    double d = sign * (load.tokens(w, f) * shareF - load.tokens(w, e) * shareE);
    return a2a(
        state.sendIntraTokens[w] + d,
        state.sendInterTokens[w] - d,
        state.recvIntraTokens[w],
        state.recvInterTokens[w]);
  }

  /** Secondary score of the last evaluation. */
  double lastSecondary() {
    return lastSecondary;
  }

  /** Layer seconds of the last evaluation. */
  double lastLayerSeconds() {
    return lastLayerSeconds;
  }

  /** Switch seconds (from the reference) of the last evaluation. */
  double lastSwitchSeconds() {
    return lastSwitchSeconds;
  }

  /**
   * The loaded placement and every term of it that the moves update: what {@link #save} keeps and
   * {@link #restore} brings back.
   */
  private static final class EvaluationState {
    final int[] expertOfSlot;
    final int[] replicas;
    // 1 / replicas, multiplied instead of divided by in the hot loops; 0 for an expert with none
    final double[] replicaShare;
    // replicas of each expert on each node, at node * experts + expert
    final int[] nodeReplicas;
    final int[] nodesSpanned;
    final double[] workerTokens;
    // tokens each worker sends and receives per exchange, inside its node and across nodes
    final double[] sendIntraTokens;
    final double[] sendInterTokens;
    final double[] recvIntraTokens;
    final double[] recvInterTokens;
    // seconds each worker takes to receive the experts the reference placement did not give it
    final double[] migrationSeconds;
    final double[] expertSyncSeconds;
    double syncSeconds;

    EvaluationState(int workers, int slotsPerWorker, int experts, int nodes) {
      expertOfSlot = new int[workers * slotsPerWorker];
      replicas = new int[experts];
      replicaShare = new double[experts];
      nodeReplicas = new int[nodes * experts];
      nodesSpanned = new int[experts];
      workerTokens = new double[workers];
      sendIntraTokens = new double[workers];
      sendInterTokens = new double[workers];
      recvIntraTokens = new double[workers];
      recvInterTokens = new double[workers];
      migrationSeconds = new double[workers];
      expertSyncSeconds = new double[experts];
    }

    /** Zeroes the terms that loading a placement sums up. */
    void clearTerms() {
      Arrays.fill(replicas, 0);
      Arrays.fill(nodeReplicas, 0);
      Arrays.fill(nodesSpanned, 0);
      Arrays.fill(workerTokens, 0);
      Arrays.fill(sendIntraTokens, 0);
      Arrays.fill(sendInterTokens, 0);
      Arrays.fill(recvIntraTokens, 0);
      Arrays.fill(recvInterTokens, 0);
      Arrays.fill(migrationSeconds, 0);
      syncSeconds = 0;
    }

    /** Makes this state a copy of {@code other}, of the same shape, without allocating. */
    void copyFrom(EvaluationState other) {
      copy(other.expertOfSlot, expertOfSlot);
      copy(other.replicas, replicas);
      copy(other.replicaShare, replicaShare);
      copy(other.nodeReplicas, nodeReplicas);
      copy(other.nodesSpanned, nodesSpanned);
      copy(other.workerTokens, workerTokens);
      copy(other.sendIntraTokens, sendIntraTokens);
      copy(other.sendInterTokens, sendInterTokens);
      copy(other.recvIntraTokens, recvIntraTokens);
      copy(other.recvInterTokens, recvInterTokens);
      copy(other.migrationSeconds, migrationSeconds);
      copy(other.expertSyncSeconds, expertSyncSeconds);
      syncSeconds = other.syncSeconds;
    }

    private static void copy(int[] from, int[] to) {
      System.arraycopy(from, 0, to, 0, from.length);
    }

    private static void copy(double[] from, double[] to) {
      System.arraycopy(from, 0, to, 0, from.length);
    }
  }
}
