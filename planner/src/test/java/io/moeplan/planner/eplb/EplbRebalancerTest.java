package io.moeplan.planner.eplb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class EplbRebalancerTest {

  /** The example of DeepSeek EPLB's README: 2 layers, 12 experts, 16 replicas, 4 groups. */
  private static final double[][] README_WEIGHT = {
    {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
    {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}
  };

  @Test
  void reproducesTheDeepSeekReadmeExample() {
    EplbResult result = EplbRebalancer.rebalance(README_WEIGHT, 16, 4, 2, 8);

    assertThat(result.phy2log())
        .isDeepEqualTo(
            new int[][] {
              {5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1},
              {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}
            });
    assertThat(result.logcnt())
        .isDeepEqualTo(
            new int[][] {
              {1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1},
              {1, 2, 1, 1, 1, 2, 2, 1, 2, 1, 1, 1}
            });
    // Expert 1 of layer 0: the original went to physical 15, its replica (created later) to 13.
    assertThat(result.log2phy()[0][1]).containsExactly(15, 13, -1, -1, -1);
    assertInvariants(README_WEIGHT, 16, result);
  }

  @Test
  void hierarchicalPolicyPacksGroupsOntoNodesThenReplicasOntoGpus() {
    // 4 experts in 4 groups of one, 2 nodes, 4 GPUs (2 per node), 8 replicas (2 per GPU).
    // (1) group loads 10, 40, 30, 20 by weight: 1 -> node 0 (both empty, lowest index),
    //     2 -> node 1 (0 < 40), 3 -> node 1 (30 < 40), 0 -> node 0 (the only one with room).
    //     Node 0 holds experts [1, 0], node 1 holds [2, 3].
    // (2) node 0 adds 2 replicas: expert 1 (40 > 10), expert 1 again (40/2 = 20 > 10): counts 3, 1.
    //     node 1 adds 2 replicas: expert 2 (30 > 20), expert 3 (20 > 30/2): counts 2, 2.
    // (3) node 0's physical experts [1, 0, 1, 1] weigh [13.3, 10, 13.3, 13.3]; by weight the order
    //     is local 0, 2, 3, 1: 0 -> gpu 0, 2 -> gpu 1, 3 -> gpu 0 (13.3 ties 13.3, lowest index),
    //     1 -> gpu 1 (only room). GPU 0 = [1 (replica 0), 1 (replica 2)], GPU 1 = [1 (replica 1),
    // 0].
    //     node 1's [2, 3, 2, 3] weigh [15, 10, 15, 10]: order 0, 2, 1, 3: 0 -> gpu 2, 2 -> gpu 3,
    //     1 -> gpu 2 (tie), 3 -> gpu 3. GPU 2 = [2, 3], GPU 3 = [2, 3].
    double[][] weight = {{10, 40, 30, 20}};

    EplbResult result = EplbRebalancer.rebalance(weight, 8, 4, 2, 4);

    // Nothing keeps two replicas of one expert off the same GPU: GPU 0 holds expert 1 twice.
    assertThat(result.phy2log()).isDeepEqualTo(new int[][] {{1, 1, 1, 0, 2, 3, 2, 3}});
    assertThat(result.logcnt()).isDeepEqualTo(new int[][] {{1, 3, 2, 2}});
    assertThat(result.log2phy())
        .isDeepEqualTo(
            new int[][][] {
              {{3, -1, -1, -1, -1}, {0, 2, 1, -1, -1}, {4, 6, -1, -1, -1}, {5, 7, -1, -1, -1}}
            });
    assertInvariants(weight, 8, result);
  }

  @Test
  void globalPolicyReplicatesAcrossAllExpertsThenPacksOntoAllGpus() {
    // One group cannot spread over 2 nodes, so the global policy runs (one group, one node).
    // Replicas: expert 1 (40), expert 2 (30), expert 1 (20 ties expert 3's 20, lowest index),
    // expert 3 (20 > 15): counts 1, 3, 2, 2. Physical [0, 1, 2, 3, 1, 2, 1, 3] weigh
    // [10, 13.3, 15, 10, 13.3, 15, 13.3, 10]; by weight: 2, 5, 1, 4, 6, 0, 3, 7.
    // 2 -> gpu 0, 5 -> gpu 1, 1 -> gpu 2, 4 -> gpu 3, 6 -> gpu 2 (13.3 tie, lowest), 0 -> gpu 3
    // (13.3 < 15), 3 -> gpu 0 (15 tie), 7 -> gpu 1. GPU loads 25, 25, 26.7, 23.3.
    double[][] weight = {{10, 40, 30, 20}};

    EplbResult result = EplbRebalancer.rebalance(weight, 8, 1, 2, 4);

    assertThat(result.phy2log()).isDeepEqualTo(new int[][] {{2, 3, 2, 3, 1, 1, 1, 0}});
    assertThat(result.logcnt()).isDeepEqualTo(new int[][] {{1, 3, 2, 2}});
    assertThat(result.log2phy()[0][1]).containsExactly(4, 6, 5, -1, -1);
    assertThat(result.log2phy()[0][0]).containsExactly(7, -1, -1, -1, -1);
  }

  @Test
  void groupsThatDoNotDivideOverNodesFallBackToTheGlobalPolicy() {
    EplbResult uneven = EplbRebalancer.rebalance(README_WEIGHT, 16, 3, 2, 8);
    EplbResult global = EplbRebalancer.rebalance(README_WEIGHT, 16, 1, 1, 8);

    assertThat(uneven).isEqualTo(global);
    assertThat(uneven).isNotEqualTo(EplbRebalancer.rebalance(README_WEIGHT, 16, 4, 2, 8));
  }

  @Test
  void onePhysicalExpertPerGpuKeepsExpertIOnGpuI() {
    EplbResult result = EplbRebalancer.rebalance(new double[][] {{1, 100, 5, 7}}, 4, 1, 1, 4);

    assertThat(result.phy2log()).isDeepEqualTo(new int[][] {{0, 1, 2, 3}});
    assertThat(result.log2phy()).isDeepEqualTo(new int[][][] {{{0}, {1}, {2}, {3}}});
  }

  @Test
  void balancedPackingPutsTheHeaviestItemsIntoTheLightestPackWithRoom() {
    EplbRebalancer.Packing packing = new EplbRebalancer.Packing(6);

    // By weight: 1 (9), 3 (7), 5 (5), 0 (4), 2 (4), 4 (1); two packs of three items.
    // 1 -> pack 0 (9); 3 -> pack 1 (7); 5 -> pack 1 (7 < 9: 12); 0 -> pack 0 (9 < 12: 13);
    // 2 -> pack 1 (12 < 13: 16, full); 4 -> pack 0 (the only one with room).
    packing.pack(new double[] {4, 9, 4, 7, 1, 5}, 2);

    assertThat(packing.pack).containsExactly(0, 0, 1, 1, 0, 1);
    assertThat(packing.rank).containsExactly(1, 0, 2, 0, 2, 1);
  }

  @Test
  void balancedPackingBreaksEqualWeightsTowardsLowerItemAndPackIndex() {
    EplbRebalancer.Packing packing = new EplbRebalancer.Packing(4);

    packing.pack(new double[] {2, 2, 2, 2}, 2);

    // Item 0 -> pack 0, 1 -> pack 1, 2 -> pack 0 (2 ties 2), 3 -> pack 1.
    assertThat(packing.pack).containsExactly(0, 1, 0, 1);
    assertThat(packing.rank).containsExactly(0, 0, 1, 1);
  }

  @Test
  void replicasGoToTheExpertWithTheLargestLoadPerReplica() {
    Random random = new Random(7);
    for (int trial = 0; trial < 50; trial++) {
      double[][] weight = randomWeight(random, 3, 16);
      EplbResult result = EplbRebalancer.rebalance(weight, 40, 1, 1, 8);
      for (int layer = 0; layer < weight.length; layer++) {
        double[] load = weight[layer];
        int[] count = result.logcnt()[layer];
        // When e got its last replica, load/(count-1) was the largest ratio, hence at least every
        // final ratio load/count (ratios only fall as replicas are added).
        double maxFinalRatio = 0;
        for (int e = 0; e < load.length; e++) {
          maxFinalRatio = Math.max(maxFinalRatio, load[e] / count[e]);
        }
        for (int e = 0; e < load.length; e++) {
          if (count[e] > 1) {
            assertThat(load[e] / (count[e] - 1)).isGreaterThanOrEqualTo(maxFinalRatio);
          }
        }
      }
    }
  }

  @Test
  void hierarchicalPolicyKeepsWholeGroupsAndTheirReplicasOnOneNode() {
    Random random = new Random(11);
    int numLogical = 32;
    int numGroups = 8;
    int numNodes = 4;
    int numGpus = 8;
    int numReplicas = 48;
    double[][] weight = randomWeight(random, 5, numLogical);

    EplbResult result = EplbRebalancer.rebalance(weight, numReplicas, numGroups, numNodes, numGpus);

    int groupSize = numLogical / numGroups;
    int physicalPerNode = numReplicas / numNodes;
    for (int layer = 0; layer < weight.length; layer++) {
      int[] nodeOfGroup = new int[numGroups];
      Arrays.fill(nodeOfGroup, -1);
      int[] groupsOnNode = new int[numNodes];
      for (int p = 0; p < numReplicas; p++) {
        int group = result.phy2log()[layer][p] / groupSize;
        int node = p / physicalPerNode;
        if (nodeOfGroup[group] < 0) {
          nodeOfGroup[group] = node;
          groupsOnNode[node]++;
        }
        assertThat(node)
            .as("node of group %d in layer %d", group, layer)
            .isEqualTo(nodeOfGroup[group]);
      }
      assertThat(groupsOnNode).containsOnly(numGroups / numNodes);
    }
    assertInvariants(weight, numReplicas, result);
  }

  @Test
  void randomInputsGiveConsistentPlacements() {
    Random random = new Random(42);
    int[][] configs = {
      // numLogical, numReplicas, numGroups, numNodes, numGpus
      {12, 16, 4, 2, 8}, {16, 16, 4, 2, 4}, {16, 24, 8, 4, 8}, {8, 64, 2, 2, 8},
      {10, 12, 5, 2, 4}, {6, 18, 3, 1, 3}, {64, 72, 8, 2, 8}, {20, 40, 4, 1, 40}
    };
    for (int[] config : configs) {
      for (int trial = 0; trial < 20; trial++) {
        double[][] weight = randomWeight(random, 4, config[0]);
        EplbResult result =
            EplbRebalancer.rebalance(weight, config[1], config[2], config[3], config[4]);
        assertInvariants(weight, config[1], result);
        assertThat(EplbRebalancer.rebalance(weight, config[1], config[2], config[3], config[4]))
            .isEqualTo(result);
      }
    }
  }

  @Test
  void zeroLoadsStillPlaceEveryExpert() {
    double[][] weight = {{0, 0, 0, 0}, {0, -0.0, 5, 0}};

    EplbResult result = EplbRebalancer.rebalance(weight, 8, 2, 2, 4);

    assertInvariants(weight, 8, result);
    // All ratios tie at 0, so the first expert of each node takes the node's redundant replicas.
    assertThat(result.logcnt()[0]).containsExactly(3, 1, 3, 1);
  }

  @Test
  void doesNotModifyTheInput() {
    double[][] weight = {README_WEIGHT[0].clone(), README_WEIGHT[1].clone()};

    EplbRebalancer.rebalance(weight, 16, 4, 2, 8);

    assertThat(weight).isDeepEqualTo(README_WEIGHT);
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.SECONDS)
  void handlesDeepSeekV3Size() {
    // 61 layers x 256 experts x 288 replicas, 8 groups over 4 nodes of 8 GPUs.
    double[][] weight = randomWeight(new Random(3), 61, 256);

    EplbResult result = EplbRebalancer.rebalance(weight, 288, 8, 4, 32);

    assertInvariants(weight, 288, result);
  }

  @Test
  void rejectsEmptyOrRaggedWeights() {
    assertRejected(new double[0][], 4, 1, 1, 1, "at least one layer");
    assertRejected(null, 4, 1, 1, 1, "at least one layer");
    assertRejected(new double[][] {{}}, 4, 1, 1, 1, "at least one logical expert");
    assertRejected(new double[][] {{1, 2}, {3}}, 4, 1, 1, 1, "layer 1 has 1 experts");
    assertRejected(new double[][] {{1, 2}, null}, 4, 1, 1, 1, "layer 1 has no row");
  }

  @Test
  void rejectsNegativeOrNonFiniteWeights() {
    assertRejected(new double[][] {{1, 2}, {3, -1}}, 4, 1, 1, 1, "weight[1][1]", "-1.0");
    assertRejected(new double[][] {{Double.NaN, 2}}, 4, 1, 1, 1, "weight[0][0]", "NaN");
    assertRejected(
        new double[][] {{1, Double.POSITIVE_INFINITY}}, 4, 1, 1, 1, "weight[0][1]", "Infinity");
  }

  @Test
  void rejectsSizesThatAreNotPositive() {
    double[][] weight = {{1, 2}};
    assertRejected(weight, 0, 1, 1, 1, "numReplicas must be positive, got 0");
    assertRejected(weight, 2, -1, 1, 1, "numGroups must be positive, got -1");
    assertRejected(weight, 2, 1, 0, 1, "numNodes must be positive, got 0");
    assertRejected(weight, 2, 1, 1, 0, "numGpus must be positive, got 0");
  }

  @Test
  void rejectsSizesThatDoNotDivide() {
    double[][] weight = {{1, 2, 3, 4}};
    assertRejected(weight, 3, 1, 1, 1, "numReplicas (3)", "logical experts (4)");
    assertRejected(weight, 8, 3, 1, 1, "logical experts (4)", "multiple of numGroups (3)");
    assertRejected(weight, 8, 2, 2, 3, "numGpus (3)", "multiple of numNodes (2)");
    assertRejected(weight, 6, 2, 2, 4, "numReplicas (6)", "multiple of numGpus (4)");
  }

  @Test
  void rejectsResultsBeyondTheSizeLimit() {
    assertRejected(new double[100][1000], 1_000_000, 1, 1, 1, "numReplicas (1000000)", "limit");
  }

  private static void assertRejected(
      double[][] weight, int replicas, int groups, int nodes, int gpus, String... fragments) {
    assertThatThrownBy(() -> EplbRebalancer.rebalance(weight, replicas, groups, nodes, gpus))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .contains(fragments);
  }

  private static double[][] randomWeight(Random random, int layers, int experts) {
    double[][] weight = new double[layers][experts];
    for (double[] row : weight) {
      for (int e = 0; e < experts; e++) {
        // Integers from a skewed range, with some exact ties and zeros.
        row[e] = random.nextInt(4) == 0 ? random.nextInt(3) : random.nextInt(1000);
      }
    }
    return weight;
  }

  /** Checks the layout every result must have, whatever the policy chose. */
  private static void assertInvariants(double[][] weight, int numReplicas, EplbResult result) {
    int numLayers = weight.length;
    int numLogical = weight[0].length;
    int width = numReplicas - numLogical + 1;
    assertThat(result.phy2log()).hasNumberOfRows(numLayers);
    assertThat(result.log2phy()).hasDimensions(numLayers, numLogical);
    assertThat(result.logcnt()).hasNumberOfRows(numLayers);
    for (int layer = 0; layer < numLayers; layer++) {
      int[] phy2log = result.phy2log()[layer];
      int[] logcnt = result.logcnt()[layer];
      assertThat(phy2log).hasSize(numReplicas);
      assertThat(logcnt).hasSize(numLogical);
      int[] seen = new int[numLogical];
      for (int expert : phy2log) {
        assertThat(expert).isBetween(0, numLogical - 1);
        seen[expert]++;
      }
      assertThat(seen).as("replicas per expert in layer %d", layer).containsExactly(logcnt);
      assertThat(Arrays.stream(logcnt).min().getAsInt()).isGreaterThanOrEqualTo(1);
      for (int e = 0; e < numLogical; e++) {
        int[] replicas = result.log2phy()[layer][e];
        assertThat(replicas).hasSize(width);
        for (int r = 0; r < width; r++) {
          if (r < logcnt[e]) {
            assertThat(phy2log[replicas[r]]).isEqualTo(e);
          } else {
            assertThat(replicas[r]).isEqualTo(-1);
          }
        }
        assertThat(Arrays.stream(replicas, 0, logcnt[e]).distinct().count()).isEqualTo(logcnt[e]);
      }
    }
  }
}
