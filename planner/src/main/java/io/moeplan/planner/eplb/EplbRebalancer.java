package io.moeplan.planner.eplb;

import java.util.Arrays;

/**
 * DeepSeek EPLB-compatible expert rebalancing: replicates heavy experts and packs the replicas onto
 * GPUs so that every GPU holds the same number of physical experts and a similar load.
 *
 * <p>The hierarchical policy runs when the expert groups divide evenly over the nodes: (1) groups
 * of consecutive experts are packed onto nodes, balanced by group load, the same number of groups
 * per node; (2) within each node, redundant replicas are added one at a time, each to the expert
 * with the largest load per replica; (3) each node's replicas are packed onto its GPUs, balanced by
 * load per replica, the same number per GPU. Otherwise the global policy runs, which is the same
 * with one group and one node. Ties are broken towards the lower index everywhere, so the result is
 * a pure function of the input.
 *
 * <p>Arithmetic is in double precision; DeepSeek's reference computes in float32, so the two can
 * differ only where float32 rounding creates or breaks an exact tie.
 */
public final class EplbRebalancer {

  /** The most array entries a result may hold (512 MiB of ints); larger requests are refused. */
  public static final long MAX_RESULT_ENTRIES = 1L << 27;

  private EplbRebalancer() {}

  /**
   * Places {@code numReplicas} physical experts over {@code numGpus} GPUs for every layer of {@code
   * weight[layer][logicalExpert]} (non-negative, finite loads).
   *
   * @throws IllegalArgumentException naming the offending values when the sizes are not positive,
   *     do not divide as required, or the weights are empty, ragged, negative or not finite
   */
  public static EplbResult rebalance(
      double[][] weight, int numReplicas, int numGroups, int numNodes, int numGpus) {
    int numLogical = validateWeights(weight);
    validateSizes(weight.length, numLogical, numReplicas, numGroups, numNodes, numGpus);

    boolean hierarchical = numGroups % numNodes == 0;
    Layout layout =
        hierarchical
            ? new Layout(numLogical, numReplicas, numGroups, numNodes, numGpus)
            : new Layout(numLogical, numReplicas, 1, 1, numGpus);

    int numLayers = weight.length;
    int width = numReplicas - numLogical + 1;
    int[][] phy2log = new int[numLayers][];
    int[][][] log2phy = new int[numLayers][][];
    int[][] logcnt = new int[numLayers][];
    LayerWorkspace workspace = new LayerWorkspace(layout);
    for (int layer = 0; layer < numLayers; layer++) {
      int[] layerPhy2log = new int[numReplicas];
      int[] layerPhyRank = new int[numReplicas];
      int[] layerLogcnt = new int[numLogical];
      workspace.rebalanceLayer(weight[layer], layerPhy2log, layerPhyRank, layerLogcnt);

      int[][] layerLog2phy = new int[numLogical][width];
      for (int[] replicas : layerLog2phy) {
        Arrays.fill(replicas, -1);
      }
      for (int p = 0; p < numReplicas; p++) {
        layerLog2phy[layerPhy2log[p]][layerPhyRank[p]] = p;
      }
      phy2log[layer] = layerPhy2log;
      log2phy[layer] = layerLog2phy;
      logcnt[layer] = layerLogcnt;
    }
    return new EplbResult(phy2log, log2phy, logcnt);
  }

  /** Returns the number of logical experts after checking the matrix shape and values. */
  private static int validateWeights(double[][] weight) {
    if (weight == null || weight.length == 0) {
      throw new IllegalArgumentException("weight must have at least one layer");
    }
    if (weight[0] == null || weight[0].length == 0) {
      throw new IllegalArgumentException("weight must have at least one logical expert per layer");
    }
    int numLogical = weight[0].length;
    for (int layer = 0; layer < weight.length; layer++) {
      double[] row = weight[layer];
      if (row == null || row.length != numLogical) {
        throw new IllegalArgumentException(
            "weight is ragged: layer "
                + layer
                + " has "
                + (row == null ? "no row" : row.length + " experts")
                + " but layer 0 has "
                + numLogical);
      }
      for (int e = 0; e < numLogical; e++) {
        double w = row[e];
        if (!Double.isFinite(w) || w < 0) {
          throw new IllegalArgumentException(
              "weight[" + layer + "][" + e + "] must be finite and non-negative, got " + w);
        }
      }
    }
    return numLogical;
  }

  private static void validateSizes(
      int numLayers, int numLogical, int numReplicas, int numGroups, int numNodes, int numGpus) {
    requirePositive("numReplicas", numReplicas);
    requirePositive("numGroups", numGroups);
    requirePositive("numNodes", numNodes);
    requirePositive("numGpus", numGpus);
    if (numReplicas < numLogical) {
      throw new IllegalArgumentException(
          "numReplicas ("
              + numReplicas
              + ") must be at least the number of logical experts ("
              + numLogical
              + ")");
    }
    requireMultiple("number of logical experts", numLogical, "numGroups", numGroups);
    requireMultiple("numGpus", numGpus, "numNodes", numNodes);
    requireMultiple("numReplicas", numReplicas, "numGpus", numGpus);
    long width = (long) numReplicas - numLogical + 1;
    long entries = numLayers * (2L * numLogical + numReplicas + numLogical * width);
    if (entries > MAX_RESULT_ENTRIES) {
      throw new IllegalArgumentException(
          "the result for "
              + numLayers
              + " layers, "
              + numLogical
              + " logical experts and numReplicas ("
              + numReplicas
              + ") would hold "
              + entries
              + " entries, more than the limit of "
              + MAX_RESULT_ENTRIES);
    }
  }

  private static void requirePositive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
  }

  private static void requireMultiple(String name, int value, String divisorName, int divisor) {
    if (value % divisor != 0) {
      throw new IllegalArgumentException(
          name + " (" + value + ") must be a multiple of " + divisorName + " (" + divisor + ")");
    }
  }

  /** The sizes the policy works with (one group and one node for the global policy). */
  private record Layout(int numLogical, int numReplicas, int numGroups, int numNodes, int numGpus) {
    int groupSize() {
      return numLogical / numGroups;
    }

    int groupsPerNode() {
      return numGroups / numNodes;
    }

    int logicalPerNode() {
      return numLogical / numNodes;
    }

    int physicalPerNode() {
      return numReplicas / numNodes;
    }

    int gpusPerNode() {
      return numGpus / numNodes;
    }

    int physicalPerGpu() {
      return numReplicas / numGpus;
    }
  }

  /** Scratch arrays reused across the layers of one call. */
  private static final class LayerWorkspace {
    private final Layout layout;
    private final double[] groupLoad;
    private final Packing groupPacking;
    private final int[] nodeLocalToLogical;
    private final double[] nodeLoad;
    private final int[] phyToLocal;
    private final int[] phyRank;
    private final int[] localCount;
    private final double[] loadPerReplica;
    private final double[] phyWeight;
    private final Packing gpuPacking;

    LayerWorkspace(Layout layout) {
      this.layout = layout;
      this.groupLoad = new double[layout.numGroups()];
      this.groupPacking = new Packing(layout.numGroups());
      this.nodeLocalToLogical = new int[layout.numLogical()];
      this.nodeLoad = new double[layout.logicalPerNode()];
      this.phyToLocal = new int[layout.physicalPerNode()];
      this.phyRank = new int[layout.physicalPerNode()];
      this.localCount = new int[layout.logicalPerNode()];
      this.loadPerReplica = new double[layout.logicalPerNode()];
      this.phyWeight = new double[layout.physicalPerNode()];
      this.gpuPacking = new Packing(layout.physicalPerNode());
    }

    /** Fills one layer's phy2log, replica rank of every physical expert, and logcnt. */
    void rebalanceLayer(double[] weight, int[] phy2log, int[] phyRankOut, int[] logcnt) {
      int groupSize = layout.groupSize();
      int groupsPerNode = layout.groupsPerNode();
      int logicalPerNode = layout.logicalPerNode();
      int physicalPerNode = layout.physicalPerNode();
      int physicalPerGpu = layout.physicalPerGpu();

      // (1) groups onto nodes; node n owns the node-local ids [n * logicalPerNode, ...).
      for (int g = 0; g < layout.numGroups(); g++) {
        double sum = 0;
        for (int j = 0; j < groupSize; j++) {
          sum += weight[g * groupSize + j];
        }
        groupLoad[g] = sum;
      }
      groupPacking.pack(groupLoad, layout.numNodes());
      for (int g = 0; g < layout.numGroups(); g++) {
        int first = (groupPacking.pack[g] * groupsPerNode + groupPacking.rank[g]) * groupSize;
        for (int j = 0; j < groupSize; j++) {
          nodeLocalToLogical[first + j] = g * groupSize + j;
        }
      }

      for (int node = 0; node < layout.numNodes(); node++) {
        int localBase = node * logicalPerNode;
        for (int i = 0; i < logicalPerNode; i++) {
          // + 0.0 turns -0.0 into 0.0 so that the two tie, as they compare equal.
          nodeLoad[i] = weight[nodeLocalToLogical[localBase + i]] + 0.0;
        }

        // (2) redundant replicas, each to the expert with the largest load per replica.
        for (int i = 0; i < logicalPerNode; i++) {
          phyToLocal[i] = i;
          phyRank[i] = 0;
          localCount[i] = 1;
          loadPerReplica[i] = nodeLoad[i];
        }
        for (int p = logicalPerNode; p < physicalPerNode; p++) {
          int best = 0;
          for (int i = 1; i < logicalPerNode; i++) {
            if (loadPerReplica[i] > loadPerReplica[best]) {
              best = i;
            }
          }
          phyToLocal[p] = best;
          phyRank[p] = localCount[best];
          localCount[best]++;
          loadPerReplica[best] = nodeLoad[best] / localCount[best];
        }

        // (3) the node's physical experts onto its GPUs, by their final load per replica.
        for (int p = 0; p < physicalPerNode; p++) {
          phyWeight[p] = loadPerReplica[phyToLocal[p]];
        }
        gpuPacking.pack(phyWeight, layout.gpusPerNode());
        int phyBase = node * physicalPerNode;
        for (int p = 0; p < physicalPerNode; p++) {
          int slot = phyBase + gpuPacking.pack[p] * physicalPerGpu + gpuPacking.rank[p];
          phy2log[slot] = nodeLocalToLogical[localBase + phyToLocal[p]];
          phyRankOut[slot] = phyRank[p];
        }
        for (int i = 0; i < logicalPerNode; i++) {
          logcnt[nodeLocalToLogical[localBase + i]] = localCount[i];
        }
      }
    }
  }

  /**
   * Balanced packing of n weighted items into packs of equal item count: items by weight descending
   * (lower index first on equal weight), each into the lightest pack that still has room (lowest
   * pack index on ties); with one item per pack, item i goes to pack i.
   */
  static final class Packing {
    final int[] pack;
    final int[] rank;
    private final Integer[] order;

    Packing(int numItems) {
      this.pack = new int[numItems];
      this.rank = new int[numItems];
      this.order = new Integer[numItems];
    }

    void pack(double[] weights, int numPacks) {
      int numItems = pack.length;
      int perPack = numItems / numPacks;
      if (perPack == 1) {
        for (int i = 0; i < numItems; i++) {
          pack[i] = i;
          rank[i] = 0;
        }
        return;
      }
      for (int i = 0; i < numItems; i++) {
        order[i] = i;
      }
      // Arrays.sort on objects is stable, so equal weights keep ascending index order.
      Arrays.sort(order, (a, b) -> Double.compare(weights[b] + 0.0, weights[a] + 0.0));
      double[] packLoad = new double[numPacks];
      int[] packItems = new int[numPacks];
      for (int k = 0; k < numItems; k++) {
        int item = order[k];
        int best = -1;
        for (int p = 0; p < numPacks; p++) {
          if (packItems[p] < perPack && (best < 0 || packLoad[p] < packLoad[best])) {
            best = p;
          }
        }
        pack[item] = best;
        rank[item] = packItems[best];
        packLoad[best] += weights[item];
        packItems[best]++;
      }
    }
  }
}
