package io.moeplan.planner.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.placement.Placement;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GreedyPlacementTest {

  @Test
  void heaviestExpertsGoToTheLeastLoadedWorker() {
    // LPT: 9 -> w0, 7 -> w1, 5 -> w1 (7 < 9), 1 -> w0
    Placement p = GreedyPlacement.place(new double[] {5, 9, 1, 7}, Placement.staticLayout(2, 2, 4));

    assertThat(p.workerHolds(0, 1)).isTrue();
    assertThat(p.workerHolds(0, 2)).isTrue();
    assertThat(p.workerHolds(1, 3)).isTrue();
    assertThat(p.workerHolds(1, 0)).isTrue();
    assertThat(GreedyPlacement.maxWorkerTokens(p, new double[] {5, 9, 1, 7})).isEqualTo(12);
  }

  @Test
  void exactTiesKeepTheExpertOnItsOldWorker() {
    // without stickiness: 0 -> w0, 1 -> w1, 2 -> w0 (tie), 3 -> w1; with it the old homes win
    Placement previous = Placement.of(new int[] {1, 3, 0, 2}, 2, 2, 4);

    Placement p = GreedyPlacement.place(new double[] {5, 5, 3, 3}, previous);

    assertThat(p).isEqualTo(previous);
  }

  @Test
  void spareSlotsReplicateTheLargestLoadPerReplica() {
    assertThat(GreedyPlacement.replicaCounts(new double[] {10, 3, 4}, 5)).containsExactly(3, 1, 1);
  }

  @Test
  void replicasOfOneExpertLandOnDifferentWorkers() {
    Placement p =
        GreedyPlacement.place(new double[] {30, 1, 1, 1}, Placement.staticLayout(3, 2, 4));

    assertThat(p.replicaCount(0)).isEqualTo(3);
    for (int w = 0; w < 3; w++) {
      assertThat(p.workerHolds(w, 0)).isTrue();
    }
  }

  @Test
  void itemsSortByWeightDescendingWithLowerIndexFirstOnTies() {
    Random random = new Random(5);
    for (int round = 0; round < 500; round++) {
      int n = random.nextInt(300);
      double[] weight = new double[n];
      boolean fewValues = random.nextBoolean();
      for (int i = 0; i < n; i++) {
        weight[i] = fewValues ? random.nextInt(4) : random.nextDouble();
      }
      Integer[] expected = new Integer[n];
      Arrays.setAll(expected, i -> i);
      Arrays.sort(
          expected, Comparator.comparingDouble((Integer i) -> -weight[i]).thenComparingInt(i -> i));
      assertThat(GreedyPlacement.sortByWeightDescending(weight))
          .containsExactly(Arrays.stream(expected).mapToInt(Integer::intValue).toArray());
    }
  }
}
