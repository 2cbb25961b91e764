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
 * maxima over the untouched workers come from the caches of {@link #beginStep}. {@link
 * #evaluateReplace} prices giving a slot to another expert in O(slots + workers), also without
 * changing the state. Values agree with {@link PerformanceModel#evaluate} up to floating-point
 * rounding. Mutable and not thread-safe.
 */
final class IncrementalEvaluator {
  // bounds the per-node tables (node x expert cells), which are sized before any load is seen
  private static final long MAX_NODE_EXPERT_CELLS = 1L << 26;
  private static final int NO_WORKER = -1;
  private static final int SEVERAL_WORKERS = -2;

  private final PerformanceModel model;
  private final int workers;
  private final int slotsPerWorker;
  private final int experts;
  private final int nodes;
  private final int gpusPerNode;
  // the model's constants as the hot loops use them: per token instead of per byte, and the four
  // exchanges of an iteration (dispatch and combine, forward and backward) folded into one scale
  private final double intraSecondsPerToken;
  private final double interSecondsPerToken;
  private final double allToAllScale;
  private final double latencySeconds;
  private final double idleAllToAllSeconds;
  private final double computeSecondsPerToken;
  // every slot holds a replica, so every worker pays the fixed cost of all its slots
  private final double fixedComputeSeconds;
  private final double intraNodeMigrationSeconds;
  private final double interNodeMigrationSeconds;

  // set by reset(): the load, the reference placement and the weight of its switch seconds
  private LoadMatrix load;
  private int sources;
  private final double[] expertTokens;
  // tokens the sources of each node route to each expert, at node * experts + expert
  private final double[] nodeExpertTokens;
  private double migrationWeight;
  private final int[] referenceExpertOfSlot;
  // whether the reference has a replica of each expert on each node, at node * experts + expert
  private final boolean[] referenceOnNode;
  // the reference's worker of each expert, NO_WORKER when it has none, SEVERAL_WORKERS when it has
  // several: most experts have one, and then no slot scan is needed
  private final int[] referenceWorker;

  // lookups instead of divisions in the hot loops
  private final int[] workerOfSlot;
  private final int[] nodeOfWorker;
  private final boolean replicatedLayout;
  // the loaded placement and its terms; save() and restore() copy it to and from saved
  private final EvaluationState state;
  private final EvaluationState[] saved = new EvaluationState[2];
  private final boolean[] savedValid = new boolean[2];

  // caches of beginStep()
  private final double[] workerComputeSeconds;
  private final double[] workerAllToAllSeconds;
  private final int[] topByCompute = new int[3];
  private final int[] topByAllToAll = new int[3];
  private final int[] topByMigration = new int[3];
  private final double[] nodeMaxAllToAll;
  private final int[] topNodesByAllToAll = new int[3];
  // per worker, the all-to-all counting receives only: a lower bound of its all-to-all after any
  // swap that leaves its receives alone (every swap not involving it)
  private final double[] receiveOnlyAllToAll;
  // per node, the three workers with the largest receiveOnlyAllToAll, at node * 3
  private final int[] nodeTopByReceiveOnly;
  private double sumOfSquares;
  // caches of preparePair() for the pairs (pairWorker, workerB), valid while
  // pairEpochOf[workerB] == pairEpoch, until the state changes or another pairWorker comes: the
  // selector prices many swaps of one busy worker in a row
  private int pairWorker = NO_WORKER;
  private int pairEpoch;
  private final int[] pairEpochOf;
  private final double[] pairOthersMaxCompute;
  private final double[] pairOthersMaxMigration;
  private final double[] pairUntouchedAllToAll;
  private final double[] pairAllToAllFloor;

  // the workers lowerBound starts its scans of compute and all-to-all, and of migration, from
  private int boundScanFrom;
  private int migrationScanFrom;

  // scratch of evaluateReplace: per-worker terms after the replacement, and each worker's replicas
  // of the two experts it trades
  private final double[] scratchTokens;
  private final double[] scratchSendIntra;
  private final double[] scratchSendInter;
  private final double[] scratchRecvIntra;
  private final double[] scratchRecvInter;
  private final int[] scratchLostOn;
  private final int[] scratchGainedOn;

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
    if ((long) nodes * experts > MAX_NODE_EXPERT_CELLS) {
      throw new IllegalArgumentException(
          "nodes * experts = " + (long) nodes * experts + " is too large for the selector");
    }
    this.intraSecondsPerToken = model.bytesPerToken() / model.intraNodeBandwidth();
    this.interSecondsPerToken = model.bytesPerToken() / model.interNodeBandwidth();
    this.allToAllScale = 4 * model.commScale();
    this.latencySeconds = model.latencySeconds();
    this.idleAllToAllSeconds = allToAllScale * latencySeconds;
    this.computeSecondsPerToken = model.perTokenSeconds();
    this.fixedComputeSeconds = slotsPerWorker * model.fixedSeconds();
    this.intraNodeMigrationSeconds = model.replicaMigrationSeconds(true);
    this.interNodeMigrationSeconds = model.replicaMigrationSeconds(false);
    this.expertTokens = new double[experts];
    this.nodeExpertTokens = new double[nodes * experts];
    this.referenceExpertOfSlot = new int[workers * slotsPerWorker];
    this.referenceOnNode = new boolean[nodes * experts];
    this.referenceWorker = new int[experts];
    this.state = new EvaluationState(workers, slotsPerWorker, experts, nodes);
    this.workerOfSlot = new int[workers * slotsPerWorker];
    this.nodeOfWorker = new int[workers];
    for (int worker = 0, slot = 0; worker < workers; worker++) {
      nodeOfWorker[worker] = worker / gpusPerNode;
      for (int i = 0; i < slotsPerWorker; i++, slot++) {
        workerOfSlot[slot] = worker;
      }
    }
    this.replicatedLayout = (long) workers * slotsPerWorker > experts;
    this.workerComputeSeconds = new double[workers];
    this.workerAllToAllSeconds = new double[workers];
    this.nodeMaxAllToAll = new double[nodes];
    this.receiveOnlyAllToAll = new double[workers];
    this.nodeTopByReceiveOnly = new int[nodes * 3];
    this.pairEpochOf = new int[workers];
    this.pairOthersMaxCompute = new double[workers];
    this.pairOthersMaxMigration = new double[workers];
    this.pairUntouchedAllToAll = new double[workers];
    this.pairAllToAllFloor = new double[workers];
    this.scratchTokens = new double[workers];
    this.scratchSendIntra = new double[workers];
    this.scratchSendInter = new double[workers];
    this.scratchRecvIntra = new double[workers];
    this.scratchRecvInter = new double[workers];
    this.scratchLostOn = new int[workers];
    this.scratchGainedOn = new int[workers];
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
    estimate.copyExpertTotals(expertTokens);
    estimate.groupedExpertTotals(gpusPerNode, nodes, nodeExpertTokens);
    Arrays.fill(referenceOnNode, false);
    Arrays.fill(referenceWorker, NO_WORKER);
    for (int slot = 0; slot < referenceExpertOfSlot.length; slot++) {
      int worker = workerOfSlot[slot];
      int expert = reference.expertAt(slot);
      referenceExpertOfSlot[slot] = expert;
      referenceOnNode[nodeOfWorker[worker] * experts + expert] = true;
      int holder = referenceWorker[expert];
      referenceWorker[expert] = holder == NO_WORKER || holder == worker ? worker : SEVERAL_WORKERS;
    }
    savedValid[0] = false;
    savedValid[1] = false;
    pairWorker = NO_WORKER;
    boundScanFrom = 0;
    migrationScanFrom = 0;
  }

  /** Workers of this evaluator's shape. */
  int workers() {
    return workers;
  }

  /** Slots per worker of this evaluator's shape. */
  int slotsPerWorker() {
    return slotsPerWorker;
  }

  /** Experts of this evaluator's shape. */
  int experts() {
    return experts;
  }

  /** Nodes of this evaluator's shape. */
  int nodes() {
    return nodes;
  }

  /** The node of {@code worker}. */
  int nodeOf(int worker) {
    return nodeOfWorker[worker];
  }

  /** Workers per node (the last node may have fewer). */
  int gpusPerNode() {
    return gpusPerNode;
  }

  /** Replicas of {@code expert} on {@code node} in the current state. */
  int replicasOnNode(int node, int expert) {
    return state.nodeReplicas[node * experts + expert];
  }

  /** The expert in {@code slot} of the current state. */
  int expertAt(int slot) {
    return state.expertOfSlot[slot];
  }

  /** Replicas (slots) of {@code expert} in the current state. */
  int replicas(int expert) {
    return state.replicas[expert];
  }

  /** Whether {@code worker} holds a replica of {@code expert} in the current state. */
  boolean workerHolds(int worker, int expert) {
    return replicasOn(worker, expert) > 0;
  }

  /** Tokens of {@code expert} over all sources of the load. */
  double expertLoad(int expert) {
    return expertTokens[expert];
  }

  /** Compute seconds of a worker as of the last {@link #beginStep}. */
  double computeSeconds(int worker) {
    return workerComputeSeconds[worker];
  }

  /** All-to-all seconds of a worker as of the last {@link #beginStep}. */
  double allToAllSeconds(int worker) {
    return workerAllToAllSeconds[worker];
  }

  /** The worker with the largest compute as of the last {@link #beginStep}, lowest on ties. */
  int busiestByCompute() {
    return topByCompute[0];
  }

  /** The worker with the largest all-to-all as of the last {@link #beginStep}, lowest on ties. */
  int busiestByAllToAll() {
    return topByAllToAll[0];
  }

  /** The worker with the largest migration as of the last {@link #beginStep}, lowest on ties. */
  int busiestByMigration() {
    return topByMigration[0];
  }

  /** Seconds {@code worker} takes to receive its experts missing from the reference placement. */
  double migrationSeconds(int worker) {
    return state.migrationSeconds[worker];
  }

  /** Weight of the switch seconds in the objective. */
  double migrationWeight() {
    return migrationWeight;
  }

  /** The expert of every slot of the current state (a copy). */
  int[] slotToExpert() {
    return state.expertOfSlot.clone();
  }

  /** Compute seconds of a worker whose replicas process {@code tokens} tokens. */
  private double computeSecondsOf(double tokens) {
    return fixedComputeSeconds + computeSecondsPerToken * tokens;
  }

  /** All-to-all seconds of a worker from the tokens it sends and receives per exchange. */
  private double allToAllSecondsOf(
      double sendIntraTokens,
      double sendInterTokens,
      double recvIntraTokens,
      double recvInterTokens) {
    return allToAllScale
        * (latencySeconds
            + max(sendIntraTokens, recvIntraTokens) * intraSecondsPerToken
            + max(sendInterTokens, recvInterTokens) * interSecondsPerToken);
  }

  /**
   * The larger of two values: Math.max for the finite values this class compares (where a 0.0 or a
   * -0.0 gives the same sums and comparisons), without its NaN and signed-zero checks, which cost
   * in the hot loops.
   */
  private static double max(double a, double b) {
    return a >= b ? a : b;
  }

  /** Resets the state to the given placement (of this evaluator's shape). */
  void load(Placement placement) {
    pairWorker = NO_WORKER;
    int[] expertOfSlot = state.expertOfSlot;
    for (int slot = 0; slot < expertOfSlot.length; slot++) {
      expertOfSlot[slot] = placement.expertAt(slot);
    }
    state.clearTerms();
    for (int slot = 0; slot < expertOfSlot.length; slot++) {
      int worker = workerOfSlot[slot];
      int expert = expertOfSlot[slot];
      state.replicas[expert]++;
      int firstSlot = worker * slotsPerWorker;
      if (!heldInEarlierSlot(expertOfSlot, firstSlot, slot - firstSlot, expert)) {
        state.migrationSeconds[worker] += migrationSecondsOf(expert, worker);
      }
      addNodeReplica(expert, nodeOfWorker[worker]);
    }
    for (int slot = 0; slot < expertOfSlot.length; slot++) {
      int worker = workerOfSlot[slot];
      int expert = expertOfSlot[slot];
      double share = 1.0 / state.replicas[expert];
      state.workerTokens[worker] += expertTokens[expert] * share;
      addReceives(worker, expert, share);
    }
    // sends: only the experts on a source's own node keep tokens inside the node
    int slotsPerNode = gpusPerNode * slotsPerWorker;
    for (int expert = 0; expert < experts; expert++) {
      int replicas = state.replicas[expert];
      state.replicaShare[expert] = replicas == 0 ? 0 : 1.0 / replicas;
    }
    for (int source = 0; source < sources; source++) {
      int firstSlot = nodeOfWorker[source] * slotsPerNode;
      int endSlot = Math.min(expertOfSlot.length, firstSlot + slotsPerNode);
      double inNode = 0;
      for (int slot = firstSlot; slot < endSlot; slot++) {
        int expert = expertOfSlot[slot];
        inNode += load.tokens(source, expert) * state.replicaShare[expert];
      }
      double onWorker = 0;
      for (int slot = source * slotsPerWorker, end = slot + slotsPerWorker; slot < end; slot++) {
        int expert = expertOfSlot[slot];
        onWorker += load.tokens(source, expert) * state.replicaShare[expert];
      }
      state.sendIntraTokens[source] = inNode - onWorker;
      state.sendInterTokens[source] = Math.max(0, load.sourceTotal(source) - inNode);
    }
    for (int expert = 0; expert < experts; expert++) {
      state.expertSyncSeconds[expert] = syncSecondsOf(expert);
      state.syncSeconds += state.expertSyncSeconds[expert];
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
    pairWorker = NO_WORKER;
    state.copyFrom(saved[slot]);
  }

  /** Replicas of {@code expert} on {@code worker}. */
  private int replicasOn(int worker, int expert) {
    int count = 0;
    for (int slot = worker * slotsPerWorker, end = slot + slotsPerWorker; slot < end; slot++) {
      if (state.expertOfSlot[slot] == expert) {
        count++;
      }
    }
    return count;
  }

  /** Seconds {@code worker} takes to receive {@code expert}, 0 if the reference gave it one. */
  private double migrationSecondsOf(int expert, int worker) {
    int holder = referenceWorker[expert];
    if (holder == worker) {
      return 0;
    }
    if (holder == SEVERAL_WORKERS) {
      int firstSlot = worker * slotsPerWorker;
      for (int i = 0; i < slotsPerWorker; i++) {
        if (referenceExpertOfSlot[firstSlot + i] == expert) {
          return 0;
        }
      }
    }
    return referenceOnNode[nodeOfWorker[worker] * experts + expert]
        ? intraNodeMigrationSeconds
        : interNodeMigrationSeconds;
  }

  /**
   * The migration seconds of {@code worker}, {@code seconds} now, once one of its replicas of
   * {@code leaving} holds {@code arriving} instead; asked before the state changes.
   */
  private double migrationAfterTrade(int worker, double seconds, int leaving, int arriving) {
    // without replicas every expert has one slot: the leaving expert leaves the worker entirely and
    // the arriving one is new to it, so the slot scans can be skipped
    if (!replicatedLayout || replicasOn(worker, leaving) == 1) {
      seconds -= migrationSecondsOf(leaving, worker);
    }
    if (!replicatedLayout || replicasOn(worker, arriving) == 0) {
      seconds += migrationSecondsOf(arriving, worker);
    }
    return seconds;
  }

  /** Sync seconds of {@code expert} with its current replicas and nodes. */
  private double syncSecondsOf(int expert) {
    int replicas = state.replicas[expert];
    return replicas > 1 ? model.syncSeconds(replicas, state.nodesSpanned[expert] > 1) : 0;
  }

  /** The tokens {@code worker}'s source routes to {@code expert}, 0 when it is no source. */
  private double sourceTokens(int worker, int expert) {
    return worker < sources ? load.tokens(worker, expert) : 0;
  }

  /** Adds the receives of a replica of {@code expert} on {@code worker} with this token share. */
  private void addReceives(int worker, int expert, double share) {
    double fromNode = nodeExpertTokens[nodeOfWorker[worker] * experts + expert];
    double own = sourceTokens(worker, expert);
    state.recvIntraTokens[worker] += share * (fromNode - own);
    state.recvInterTokens[worker] += share * (expertTokens[expert] - fromNode);
  }

  /**
   * Adds ({@code sign} 1) or removes ({@code sign} -1) the sends of {@code source} to an expert.
   */
  private void addSends(int source, int expert, double sign) {
    double tokens = load.tokens(source, expert);
    if (tokens == 0) {
      return;
    }
    int onNode = state.nodeReplicas[nodeOfWorker[source] * experts + expert];
    int onWorker = replicasOn(source, expert);
    double replicas = state.replicas[expert];
    state.sendIntraTokens[source] += sign * tokens * (onNode - onWorker) / replicas;
    state.sendInterTokens[source] += sign * tokens * (state.replicas[expert] - onNode) / replicas;
  }

  /**
   * Adds or removes the sends to {@code expert} that a swap between workers A and B can change:
   * those of A and B inside one node, those of every source of both nodes across nodes.
   */
  private void addSendsAroundSwap(
      int expert, double sign, int nodeA, int nodeB, int workerA, int workerB) {
    if (nodeA == nodeB) {
      if (workerA < sources) {
        addSends(workerA, expert, sign);
      }
      if (workerB < sources) {
        addSends(workerB, expert, sign);
      }
      return;
    }
    addSendsOfNode(expert, sign, nodeA);
    addSendsOfNode(expert, sign, nodeB);
  }

  private void addSendsOfNode(int expert, double sign, int node) {
    int end = Math.min(sources, (node + 1) * gpusPerNode);
    for (int source = node * gpusPerNode; source < end; source++) {
      addSends(source, expert, sign);
    }
  }

  /** Swaps the experts of two slots on different workers holding different experts. */
  void swap(int slotA, int slotB) {
    pairWorker = NO_WORKER;
    int expertA = state.expertOfSlot[slotA];
    int expertB = state.expertOfSlot[slotB];
    int workerA = workerOfSlot[slotA];
    int workerB = workerOfSlot[slotB];
    int nodeA = nodeOfWorker[workerA];
    int nodeB = nodeOfWorker[workerB];
    addSendsAroundSwap(expertA, -1, nodeA, nodeB, workerA, workerB);
    addSendsAroundSwap(expertB, -1, nodeA, nodeB, workerA, workerB);
    double shareA = 1.0 / state.replicas[expertA];
    double shareB = 1.0 / state.replicas[expertB];
    double tokensToA = expertTokens[expertB] * shareB - expertTokens[expertA] * shareA;
    state.workerTokens[workerA] += tokensToA;
    state.workerTokens[workerB] -= tokensToA;
    addReceives(workerA, expertA, -shareA);
    addReceives(workerA, expertB, shareB);
    addReceives(workerB, expertB, -shareB);
    addReceives(workerB, expertA, shareA);
    state.migrationSeconds[workerA] =
        migrationAfterTrade(workerA, state.migrationSeconds[workerA], expertA, expertB);
    state.migrationSeconds[workerB] =
        migrationAfterTrade(workerB, state.migrationSeconds[workerB], expertB, expertA);
    if (nodeA != nodeB) {
      moveNodeReplica(expertA, nodeA, nodeB);
      moveNodeReplica(expertB, nodeB, nodeA);
    }
    state.expertOfSlot[slotA] = expertB;
    state.expertOfSlot[slotB] = expertA;
    addSendsAroundSwap(expertA, 1, nodeA, nodeB, workerA, workerB);
    addSendsAroundSwap(expertB, 1, nodeA, nodeB, workerA, workerB);
    if (nodeA != nodeB) {
      updateSync(expertA);
      updateSync(expertB);
    }
  }

  private void moveNodeReplica(int expert, int fromNode, int toNode) {
    removeNodeReplica(expert, fromNode);
    addNodeReplica(expert, toNode);
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

  private void updateSync(int expert) {
    if (state.replicas[expert] > 1 || state.expertSyncSeconds[expert] != 0) {
      state.syncSeconds -= state.expertSyncSeconds[expert];
      state.expertSyncSeconds[expert] = syncSecondsOf(expert);
      state.syncSeconds += state.expertSyncSeconds[expert];
    }
  }

  /** Puts {@code expert} in {@code slot}, whose expert must keep at least one other replica. */
  void replace(int slot, int expert) {
    pairWorker = NO_WORKER;
    int replaced = state.expertOfSlot[slot];
    int worker = workerOfSlot[slot];
    int node = nodeOfWorker[worker];
    // the replica counts of both experts change, and with them the shares of all their replicas
    addExpertTerms(replaced, -1);
    addExpertTerms(expert, -1);
    state.migrationSeconds[worker] =
        migrationAfterTrade(worker, state.migrationSeconds[worker], replaced, expert);
    removeNodeReplica(replaced, node);
    addNodeReplica(expert, node);
    state.replicas[replaced]--;
    state.replicas[expert]++;
    state.replicaShare[replaced] = 1.0 / state.replicas[replaced];
    state.replicaShare[expert] = 1.0 / state.replicas[expert];
    state.expertOfSlot[slot] = expert;
    addExpertTerms(replaced, 1);
    addExpertTerms(expert, 1);
  }

  /**
   * The objective after {@link #replace replace(slot, gained)} without changing the state, in
   * O(slots + workers) instead of the O(slots + sources * slots per worker) of applying and undoing
   * it: the share of every replica of the two experts changes (their tokens and receives), and so
   * do the sends of every source to them, each in O(1) from the per-node replica counts. Also sets
   * {@link #lastSecondary()}, {@link #lastLayerSeconds()} and {@link #lastSwitchSeconds()}. The
   * slot's expert must keep at least one other replica, and {@code gained} must differ from it.
   */
  double evaluateReplace(int slot, int gained) {
    int lost = state.expertOfSlot[slot];
    int worker = workerOfSlot[slot];
    int node = nodeOfWorker[worker];
    System.arraycopy(state.workerTokens, 0, scratchTokens, 0, workers);
    System.arraycopy(state.sendIntraTokens, 0, scratchSendIntra, 0, workers);
    System.arraycopy(state.sendInterTokens, 0, scratchSendInter, 0, workers);
    System.arraycopy(state.recvIntraTokens, 0, scratchRecvIntra, 0, workers);
    System.arraycopy(state.recvInterTokens, 0, scratchRecvInter, 0, workers);
    Arrays.fill(scratchLostOn, 0);
    Arrays.fill(scratchGainedOn, 0);
    int lostReplicas = state.replicas[lost];
    int gainedReplicas = state.replicas[gained];
    double lostShare = 1.0 / lostReplicas;
    double lostShareAfter = 1.0 / (lostReplicas - 1);
    double gainedShare = gainedReplicas == 0 ? 0 : 1.0 / gainedReplicas;
    double gainedShareAfter = 1.0 / (gainedReplicas + 1);
    // the replicas: every one of the two experts takes its new share, the slot's leaves
    int[] expertOfSlot = state.expertOfSlot;
    for (int s = 0; s < expertOfSlot.length; s++) {
      int expert = expertOfSlot[s];
      if (expert == lost) {
        int holder = workerOfSlot[s];
        scratchLostOn[holder]++;
        addScratchReplica(holder, lost, s == slot ? -lostShare : lostShareAfter - lostShare);
      } else if (expert == gained) {
        int holder = workerOfSlot[s];
        scratchGainedOn[holder]++;
        addScratchReplica(holder, gained, gainedShareAfter - gainedShare);
      }
    }
    addScratchReplica(worker, gained, gainedShareAfter);
    // the sends of every source to the two experts
    int lostOnNode = state.nodeReplicas[node * experts + lost];
    int gainedOnNode = state.nodeReplicas[node * experts + gained];
    for (int source = 0; source < sources; source++) {
      boolean sameNode = nodeOfWorker[source] == node;
      boolean atWorker = source == worker;
      double lostTokens = load.tokens(source, lost);
      if (lostTokens != 0) {
        int onNode = state.nodeReplicas[nodeOfWorker[source] * experts + lost];
        int onWorker = scratchLostOn[source];
        addScratchSends(source, -lostTokens * lostShare, lostReplicas, onNode, onWorker);
        addScratchSends(
            source,
            lostTokens * lostShareAfter,
            lostReplicas - 1,
            sameNode ? onNode - 1 : onNode,
            atWorker ? onWorker - 1 : onWorker);
      }
      double gainedTokens = load.tokens(source, gained);
      if (gainedTokens != 0) {
        int onNode = state.nodeReplicas[nodeOfWorker[source] * experts + gained];
        int onWorker = scratchGainedOn[source];
        if (gainedReplicas > 0) {
          addScratchSends(source, -gainedTokens * gainedShare, gainedReplicas, onNode, onWorker);
        }
        addScratchSends(
            source,
            gainedTokens * gainedShareAfter,
            gainedReplicas + 1,
            sameNode ? onNode + 1 : onNode,
            atWorker ? onWorker + 1 : onWorker);
      }
    }
    // the sync of the two experts, with their replica counts and nodes after the replacement
    int lostSpans = state.nodesSpanned[lost] - (lostOnNode == 1 ? 1 : 0);
    int gainedSpans = state.nodesSpanned[gained] + (gainedOnNode == 0 ? 1 : 0);
    double sync =
        state.syncSeconds
            - state.expertSyncSeconds[lost]
            - state.expertSyncSeconds[gained]
            + (lostReplicas - 1 > 1 ? model.syncSeconds(lostReplicas - 1, lostSpans > 1) : 0)
            + (gainedReplicas + 1 > 1 ? model.syncSeconds(gainedReplicas + 1, gainedSpans > 1) : 0);
    double workerMigration =
        migrationAfterTrade(worker, state.migrationSeconds[worker], lost, gained);
    double maxCompute = 0;
    double maxAllToAll = 0;
    double maxMigration = 0;
    double secondary = 0;
    for (int w = 0; w < workers; w++) {
      double compute = computeSecondsOf(scratchTokens[w]);
      double allToAll =
          allToAllSecondsOf(
              scratchSendIntra[w], scratchSendInter[w], scratchRecvIntra[w], scratchRecvInter[w]);
      maxCompute = max(maxCompute, compute);
      maxAllToAll = max(maxAllToAll, allToAll);
      maxMigration = max(maxMigration, w == worker ? workerMigration : state.migrationSeconds[w]);
      secondary += compute * compute + allToAll * allToAll;
    }
    lastSecondary = secondary;
    lastLayerSeconds = maxAllToAll + maxCompute + sync;
    lastSwitchSeconds = maxMigration;
    return lastLayerSeconds + migrationWeight * maxMigration;
  }

  /** Adds {@code shareChange} of a replica of {@code expert} on {@code worker} to the scratch. */
  private void addScratchReplica(int worker, int expert, double shareChange) {
    scratchTokens[worker] += expertTokens[expert] * shareChange;
    double fromNode = nodeExpertTokens[nodeOfWorker[worker] * experts + expert];
    scratchRecvIntra[worker] += shareChange * (fromNode - sourceTokens(worker, expert));
    scratchRecvInter[worker] += shareChange * (expertTokens[expert] - fromNode);
  }

  /**
   * Adds to the scratch the sends of {@code source} to an expert with {@code replicas} replicas,
   * {@code onNode} of them on its node and {@code onWorker} on itself; {@code tokensPerReplica} is
   * its tokens to the expert over the replicas, negative to remove.
   */
  private void addScratchSends(
      int source, double tokensPerReplica, int replicas, int onNode, int onWorker) {
    scratchSendIntra[source] += tokensPerReplica * (onNode - onWorker);
    scratchSendInter[source] += tokensPerReplica * (replicas - onNode);
  }

  /**
   * Adds ({@code sign} 1) or removes ({@code sign} -1) every term of {@code expert}: the tokens and
   * receives of its replicas, the sends of every source to it, and its sync.
   */
  private void addExpertTerms(int expert, double sign) {
    double share = sign / state.replicas[expert];
    for (int slot = 0; slot < state.expertOfSlot.length; slot++) {
      if (state.expertOfSlot[slot] == expert) {
        int worker = workerOfSlot[slot];
        state.workerTokens[worker] += expertTokens[expert] * share;
        addReceives(worker, expert, share);
      }
    }
    for (int source = 0; source < sources; source++) {
      addSends(source, expert, sign);
    }
    state.syncSeconds -= state.expertSyncSeconds[expert];
    state.expertSyncSeconds[expert] = sign > 0 ? syncSecondsOf(expert) : 0;
    state.syncSeconds += state.expertSyncSeconds[expert];
  }

  /**
   * The objective of the current state by a scan of all workers; also records the layer seconds,
   * the switch seconds and a secondary score (sum of squared per-worker compute and all-to-all)
   * used to break ties.
   */
  double objective() {
    double maxCompute = 0;
    double maxAllToAll = 0;
    double maxMigration = 0;
    double secondary = 0;
    for (int worker = 0; worker < workers; worker++) {
      double compute = computeSecondsOf(state.workerTokens[worker]);
      double allToAll =
          allToAllSecondsOf(
              state.sendIntraTokens[worker],
              state.sendInterTokens[worker],
              state.recvIntraTokens[worker],
              state.recvInterTokens[worker]);
      maxCompute = max(maxCompute, compute);
      maxAllToAll = max(maxAllToAll, allToAll);
      maxMigration = max(maxMigration, state.migrationSeconds[worker]);
      secondary += compute * compute + allToAll * allToAll;
    }
    lastSecondary = secondary;
    lastLayerSeconds = maxAllToAll + maxCompute + state.syncSeconds;
    lastSwitchSeconds = maxMigration;
    return lastLayerSeconds + migrationWeight * maxMigration;
  }

  /**
   * A lower bound of the objective of a placement without loading it, in O(slots): the largest
   * compute, the largest all-to-all counting receives only, the sync and the weighted switch time.
   * Stops early, returning a partial bound, once the bound reaches {@code cutoff}.
   */
  double lowerBound(Placement placement, double cutoff) {
    boolean replicated = placement.slotCount() > experts;
    double maxCompute = 0;
    double maxAllToAll = 0;
    // from the worker that ended the last scan early: placements tend to share their busy workers,
    // and the order changes nothing but how soon the scan can stop
    for (int visited = 0, worker = boundScanFrom;
        visited < workers;
        visited++, worker = worker + 1 == workers ? 0 : worker + 1) {
      double tokens = 0;
      double recvIntra = 0;
      double recvInter = 0;
      int firstSlot = worker * slotsPerWorker;
      int nodeCell = nodeOfWorker[worker] * experts;
      for (int i = 0; i < slotsPerWorker; i++) {
        int expert = placement.expertAt(firstSlot + i);
        double share = replicated ? 1.0 / placement.replicaCount(expert) : 1.0;
        tokens += expertTokens[expert] * share;
        double fromNode = nodeExpertTokens[nodeCell + expert];
        recvIntra += share * (fromNode - sourceTokens(worker, expert));
        recvInter += share * (expertTokens[expert] - fromNode);
      }
      maxCompute = max(maxCompute, computeSecondsOf(tokens));
      maxAllToAll = max(maxAllToAll, allToAllSecondsOf(0, 0, recvIntra, recvInter));
      if (maxCompute + maxAllToAll >= cutoff) {
        boundScanFrom = worker;
        return maxCompute + maxAllToAll;
      }
    }
    double maxMigration = 0;
    if (migrationWeight > 0) {
      double layerFloor = maxCompute + maxAllToAll;
      for (int visited = 0, worker = migrationScanFrom;
          visited < workers;
          visited++, worker = worker + 1 == workers ? 0 : worker + 1) {
        double migration = 0;
        int firstSlot = worker * slotsPerWorker;
        for (int i = 0; i < slotsPerWorker; i++) {
          int expert = placement.expertAt(firstSlot + i);
          if (referenceExpertOfSlot[firstSlot + i] != expert
              && !heldInEarlierSlot(placement, firstSlot, i, expert)) {
            migration += migrationSecondsOf(expert, worker);
          }
        }
        maxMigration = max(maxMigration, migration);
        // the sync seconds added below only raise the bound
        if (layerFloor + migrationWeight * maxMigration >= cutoff) {
          migrationScanFrom = worker;
          return layerFloor + migrationWeight * maxMigration;
        }
      }
    }
    double sync = 0;
    if (replicated) {
      for (int expert = 0; expert < experts; expert++) {
        int replicas = placement.replicaCount(expert);
        sync += replicas > 1 ? model.syncSeconds(replicas, false) : 0;
      }
    }
    return maxCompute + maxAllToAll + sync + migrationWeight * maxMigration;
  }

  /** Whether one of the first {@code count} slots from {@code firstSlot} holds {@code expert}. */
  private static boolean heldInEarlierSlot(
      Placement placement, int firstSlot, int count, int expert) {
    for (int i = 0; i < count; i++) {
      if (placement.expertAt(firstSlot + i) == expert) {
        return true;
      }
    }
    return false;
  }

  /** Whether one of the first {@code count} slots from {@code firstSlot} holds {@code expert}. */
  private static boolean heldInEarlierSlot(
      int[] expertOfSlot, int firstSlot, int count, int expert) {
    for (int i = 0; i < count; i++) {
      if (expertOfSlot[firstSlot + i] == expert) {
        return true;
      }
    }
    return false;
  }

  /** Caches per-worker terms and the largest ones for {@link #evaluateSwap}; returns objective. */
  double beginStep() {
    pairWorker = NO_WORKER;
    double squares = 0;
    double maxCompute = 0;
    double maxAllToAll = 0;
    double maxMigration = 0;
    for (int worker = 0; worker < workers; worker++) {
      double compute = computeSecondsOf(state.workerTokens[worker]);
      double allToAll =
          allToAllSecondsOf(
              state.sendIntraTokens[worker],
              state.sendInterTokens[worker],
              state.recvIntraTokens[worker],
              state.recvInterTokens[worker]);
      workerComputeSeconds[worker] = compute;
      workerAllToAllSeconds[worker] = allToAll;
      maxCompute = max(maxCompute, compute);
      maxAllToAll = max(maxAllToAll, allToAll);
      maxMigration = max(maxMigration, state.migrationSeconds[worker]);
      receiveOnlyAllToAll[worker] =
          allToAllScale
              * (latencySeconds
                  + state.recvIntraTokens[worker] * intraSecondsPerToken
                  + state.recvInterTokens[worker] * interSecondsPerToken);
      squares += compute * compute + allToAll * allToAll;
    }
    topThree(workerComputeSeconds, 0, workers, topByCompute, 0);
    topThree(workerAllToAllSeconds, 0, workers, topByAllToAll, 0);
    topThree(state.migrationSeconds, 0, workers, topByMigration, 0);
    for (int node = 0; node < nodes; node++) {
      int first = node * gpusPerNode;
      int end = Math.min(workers, first + gpusPerNode);
      double nodeMax = 0;
      for (int worker = first; worker < end; worker++) {
        nodeMax = max(nodeMax, workerAllToAllSeconds[worker]);
      }
      nodeMaxAllToAll[node] = nodeMax;
      topThree(receiveOnlyAllToAll, first, end, nodeTopByReceiveOnly, node * 3);
    }
    topThree(nodeMaxAllToAll, 0, nodes, topNodesByAllToAll, 0);
    sumOfSquares = squares;
    // what objective() would compute, from the same values in the same order
    lastSecondary = squares;
    lastLayerSeconds = maxAllToAll + maxCompute + state.syncSeconds;
    lastSwitchSeconds = maxMigration;
    return lastLayerSeconds + migrationWeight * maxMigration;
  }

  /**
   * The indices of the three largest of {@code values[from..to)} into {@code out[at..at + 3)},
   * largest first, the lowest index first among equal values, -1 where there are fewer.
   */
  private static void topThree(double[] values, int from, int to, int[] out, int at) {
    int first = -1;
    int second = -1;
    int third = -1;
    double firstValue = Double.NEGATIVE_INFINITY;
    double secondValue = Double.NEGATIVE_INFINITY;
    double thirdValue = Double.NEGATIVE_INFINITY;
    for (int i = from; i < to; i++) {
      double value = values[i];
      if (third >= 0 && !(value > thirdValue)) {
        continue;
      }
      if (first < 0 || value > firstValue) {
        third = second;
        thirdValue = secondValue;
        second = first;
        secondValue = firstValue;
        first = i;
        firstValue = value;
      } else if (second < 0 || value > secondValue) {
        third = second;
        thirdValue = secondValue;
        second = i;
        secondValue = value;
      } else {
        third = i;
        thirdValue = value;
      }
    }
    out[at] = first;
    out[at + 1] = second;
    out[at + 2] = third;
  }

  /**
   * The value of the first index of {@code top[at..at + 3)} (from {@link #topThree}) that is
   * neither {@code skipA} nor {@code skipB}, 0 when there is none.
   */
  private static double largestExcept(int[] top, int at, double[] values, int skipA, int skipB) {
    for (int i = at; i < at + 3; i++) {
      int index = top[i];
      if (index >= 0 && index != skipA && index != skipB) {
        return values[index];
      }
    }
    return 0;
  }

  /**
   * Caches what an evaluation of a swap between workers A and B takes from the untouched workers:
   * their largest compute, all-to-all and migration, and the receive-only floor of the all-to-all
   * of the other workers on A's and B's nodes.
   */
  private void preparePair(int workerA, int workerB, int nodeA, int nodeB) {
    pairEpochOf[workerB] = pairEpoch;
    pairOthersMaxCompute[workerB] =
        largestExcept(topByCompute, 0, workerComputeSeconds, workerA, workerB);
    pairOthersMaxMigration[workerB] =
        largestExcept(topByMigration, 0, state.migrationSeconds, workerA, workerB);
    if (nodeA == nodeB) {
      pairUntouchedAllToAll[workerB] =
          largestExcept(topByAllToAll, 0, workerAllToAllSeconds, workerA, workerB);
      pairAllToAllFloor[workerB] = pairUntouchedAllToAll[workerB];
    } else {
      pairUntouchedAllToAll[workerB] =
          largestExcept(topNodesByAllToAll, 0, nodeMaxAllToAll, nodeA, nodeB);
      // on a cross-node swap the other workers of the two nodes keep their receives
      pairAllToAllFloor[workerB] =
          max(
              pairUntouchedAllToAll[workerB],
              max(
                  largestExcept(
                      nodeTopByReceiveOnly, nodeA * 3, receiveOnlyAllToAll, workerA, workerB),
                  largestExcept(
                      nodeTopByReceiveOnly, nodeB * 3, receiveOnlyAllToAll, workerA, workerB)));
    }
  }

  /**
   * The objective after swapping slots {@code slotA} and {@code slotB} (different workers,
   * different experts), without changing the state; valid after {@link #beginStep()} until the next
   * change. Also sets {@link #lastSecondary()}. When a cheap lower bound already exceeds {@code
   * cutoff}, returns that bound instead (with an infinite secondary score).
   */
  double evaluateSwap(int slotA, int slotB, double cutoff) {
    int expertA = state.expertOfSlot[slotA];
    int expertB = state.expertOfSlot[slotB];
    int workerA = workerOfSlot[slotA];
    int workerB = workerOfSlot[slotB];
    int nodeA = nodeOfWorker[workerA];
    int nodeB = nodeOfWorker[workerB];
    double shareA = state.replicaShare[expertA];
    double shareB = state.replicaShare[expertB];
    double tokensToA = expertTokens[expertB] * shareB - expertTokens[expertA] * shareA;
    double computeA = computeSecondsOf(state.workerTokens[workerA] + tokensToA);
    double computeB = computeSecondsOf(state.workerTokens[workerB] - tokensToA);
    if (workerA != pairWorker) {
      pairWorker = workerA;
      if (++pairEpoch == Integer.MAX_VALUE) {
        Arrays.fill(pairEpochOf, 0);
        pairEpoch = 1;
      }
    }
    if (pairEpochOf[workerB] != pairEpoch) {
      preparePair(workerA, workerB, nodeA, nodeB);
    }
    double maxCompute = max(max(computeA, computeB), pairOthersMaxCompute[workerB]);
    double untouchedAllToAll = pairUntouchedAllToAll[workerB];
    double allToAllFloor = pairAllToAllFloor[workerB];
    double othersMigration = pairOthersMaxMigration[workerB];
    // cheapest bound first: compute, untouched all-to-all, sync and the others' migration
    double earlyBound =
        maxCompute
            + max(allToAllFloor, idleAllToAllSeconds)
            + (replicatedLayout ? 0 : state.syncSeconds)
            + migrationWeight * othersMigration;
    if (earlyBound > cutoff) {
      lastSecondary = Double.POSITIVE_INFINITY;
      return earlyBound;
    }
    double squares =
        sumOfSquares
            - workerComputeSeconds[workerA] * workerComputeSeconds[workerA]
            - workerComputeSeconds[workerB] * workerComputeSeconds[workerB]
            + computeA * computeA
            + computeB * computeB;

    double migrationA =
        migrationAfterTrade(workerA, state.migrationSeconds[workerA], expertA, expertB);
    double migrationB =
        migrationAfterTrade(workerB, state.migrationSeconds[workerB], expertB, expertA);
    double maxMigration = max(max(migrationA, migrationB), othersMigration);
    double sync = state.syncSeconds;
    if (nodeA != nodeB && (state.replicas[expertA] > 1 || state.replicas[expertB] > 1)) {
      sync +=
          syncChangeAfterMove(expertA, nodeA, nodeB) + syncChangeAfterMove(expertB, nodeB, nodeA);
    }
    double bound =
        maxCompute
            + max(allToAllFloor, idleAllToAllSeconds)
            + sync
            + migrationWeight * maxMigration;
    if (bound > cutoff) {
      lastSecondary = Double.POSITIVE_INFINITY;
      return bound;
    }

    // tokens the sources on workers A and B route to the two experts
    double tokensAForExpertA = sourceTokens(workerA, expertA);
    double tokensAForExpertB = sourceTokens(workerA, expertB);
    double tokensBForExpertA = sourceTokens(workerB, expertA);
    double tokensBForExpertB = sourceTokens(workerB, expertB);
    double maxAllToAll;
    if (nodeA == nodeB) {
      // inside one node only A's and B's own tokens of the two experts change between their sends
      double allToAllA =
          swappingWorkerAllToAll(
              workerA,
              tokensAForExpertA * shareA - tokensAForExpertB * shareB,
              0,
              expertB,
              expertA,
              shareB,
              shareA,
              tokensAForExpertB,
              tokensAForExpertA);
      double allToAllB =
          swappingWorkerAllToAll(
              workerB,
              tokensBForExpertB * shareB - tokensBForExpertA * shareA,
              0,
              expertA,
              expertB,
              shareA,
              shareB,
              tokensBForExpertA,
              tokensBForExpertB);
      maxAllToAll = max(max(allToAllA, allToAllB), untouchedAllToAll);
      squares +=
          allToAllA * allToAllA
              + allToAllB * allToAllB
              - workerAllToAllSeconds[workerA] * workerAllToAllSeconds[workerA]
              - workerAllToAllSeconds[workerB] * workerAllToAllSeconds[workerB];
    } else {
      // the two workers that change most first: often they already rule the move out. Across
      // nodes A and B keep their intra-node sends of the two experts and trade inter-node ones
      double allToAllA =
          swappingWorkerAllToAll(
              workerA,
              0,
              tokensAForExpertB * shareB - tokensAForExpertA * shareA,
              expertB,
              expertA,
              shareB,
              shareA,
              tokensAForExpertB,
              tokensAForExpertA);
      double allToAllB =
          swappingWorkerAllToAll(
              workerB,
              0,
              tokensBForExpertA * shareA - tokensBForExpertB * shareB,
              expertA,
              expertB,
              shareA,
              shareB,
              tokensBForExpertA,
              tokensBForExpertB);
      maxAllToAll = max(untouchedAllToAll, max(allToAllA, allToAllB));
      double weightedMigration = migrationWeight * maxMigration;
      // summed as the final value is, so that a bound above the cutoff implies the value is
      double partialBound = max(maxAllToAll, allToAllFloor) + maxCompute + sync + weightedMigration;
      if (partialBound > cutoff) {
        lastSecondary = Double.POSITIVE_INFINITY;
        return partialBound;
      }
      squares +=
          allToAllA * allToAllA
              + allToAllB * allToAllB
              - workerAllToAllSeconds[workerA] * workerAllToAllSeconds[workerA]
              - workerAllToAllSeconds[workerB] * workerAllToAllSeconds[workerB];
      for (int pass = 0; pass < 2; pass++) {
        int first = (pass == 0 ? nodeA : nodeB) * gpusPerNode;
        int end = Math.min(workers, first + gpusPerNode);
        double sign = pass == 0 ? 1 : -1;
        for (int worker = first; worker < end; worker++) {
          if (worker == workerA || worker == workerB) {
            continue;
          }
          double allToAll = bystanderAllToAll(worker, expertA, expertB, shareA, shareB, sign);
          if (allToAll > maxAllToAll) {
            maxAllToAll = allToAll;
            partialBound = maxAllToAll + maxCompute + sync + weightedMigration;
            if (partialBound > cutoff) {
              lastSecondary = Double.POSITIVE_INFINITY;
              return partialBound;
            }
          }
          squares +=
              allToAll * allToAll - workerAllToAllSeconds[worker] * workerAllToAllSeconds[worker];
        }
      }
    }
    lastSecondary = squares;
    lastLayerSeconds = maxAllToAll + maxCompute + sync;
    lastSwitchSeconds = maxMigration;
    return lastLayerSeconds + migrationWeight * maxMigration;
  }

  /** The change of {@code expert}'s sync seconds if one of its replicas moved between nodes. */
  private double syncChangeAfterMove(int expert, int fromNode, int toNode) {
    if (state.replicas[expert] <= 1) {
      return 0;
    }
    int nodesSpanned = state.nodesSpanned[expert];
    if (state.nodeReplicas[fromNode * experts + expert] == 1) {
      nodesSpanned--;
    }
    if (state.nodeReplicas[toNode * experts + expert] == 0) {
      nodesSpanned++;
    }
    return model.syncSeconds(state.replicas[expert], nodesSpanned > 1)
        - state.expertSyncSeconds[expert];
  }

  /**
   * All-to-all of {@code worker} (A or B) after the swap: its intra-node sends grow by {@code
   * sendIntraGrowth} and its inter-node sends fall by {@code sendInterDrop}; it receives expert
   * {@code gained} instead of {@code lost}, of which its own source routes {@code ownGainedTokens}
   * and {@code ownLostTokens} tokens.
   */
  private double swappingWorkerAllToAll(
      int worker,
      double sendIntraGrowth,
      double sendInterDrop,
      int gained,
      int lost,
      double gainedShare,
      double lostShare,
      double ownGainedTokens,
      double ownLostTokens) {
    int nodeCell = nodeOfWorker[worker] * experts;
    double nodeGained = nodeExpertTokens[nodeCell + gained];
    double nodeLost = nodeExpertTokens[nodeCell + lost];
    double recvIntra =
        state.recvIntraTokens[worker]
            + (gainedShare * (nodeGained - ownGainedTokens)
                - lostShare * (nodeLost - ownLostTokens));
    double recvInter =
        state.recvInterTokens[worker]
            + (gainedShare * (expertTokens[gained] - nodeGained)
                - lostShare * (expertTokens[lost] - nodeLost));
    return allToAllSecondsOf(
        state.sendIntraTokens[worker] + sendIntraGrowth,
        state.sendInterTokens[worker] - sendInterDrop,
        recvIntra,
        recvInter);
  }

  /**
   * All-to-all of {@code worker}, neither A nor B, on node A ({@code sign} 1) or node B ({@code
   * sign} -1) of a cross-node swap: its receives stay, and its tokens of expert B instead of those
   * of expert A stay in its node.
   */
  private double bystanderAllToAll(
      int worker, int expertA, int expertB, double shareA, double shareB, double sign) {
    if (worker >= sources) {
      return workerAllToAllSeconds[worker];
    }
    double keptInNode =
        sign * (load.tokens(worker, expertB) * shareB - load.tokens(worker, expertA) * shareA);
    return allToAllSecondsOf(
        state.sendIntraTokens[worker] + keptInNode,
        state.sendInterTokens[worker] - keptInNode,
        state.recvIntraTokens[worker],
        state.recvInterTokens[worker]);
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
