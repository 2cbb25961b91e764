package io.moeplan.executor.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.executor.backend.DispatchPlan;
import io.moeplan.executor.backend.Routing;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.planner.placement.Placement;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

class DispatchTablesTest {

  @Test
  void replicaTableListsEachExpertsSlotsAfterTotalsBasesAndCounts() {
    Placement placement = Placement.of(new int[] {1, 0, 1}, 1, 3, 2);

    int[] table = DispatchTables.replicaTable(new int[] {4, 6}, placement, new int[] {0, 3, 7});

    assertThat(table).containsExactly(4, 6, 0, 1, 1, 2, 1, 0, 2, 0, 3, 7);
  }

  @Test
  void tilesCutEachSlotIntoRowBlocksWorkerByWorker() {
    DispatchTables.Tiles tiles =
        DispatchTables.tiles(
            new int[] {130, 0, 7}, new int[] {0, 130, 130}, new SlotLayout(3, 1), 128);

    assertThat(tiles.flat()).containsExactly(0, 0, 128, 0, 0, 128, 130, 0, 2, 130, 137, 0);
    assertThat(tiles.firstTile()).containsExactly(0, 2, 2, 3);
    assertThat(tiles.count()).isEqualTo(3);
  }

  @RepeatedTest(10)
  void theTableGivesEveryAssignmentTheRowOfTheDispatchPlan(RepetitionInfo repetition) {
    SplittableRandom rnd = new SplittableRandom(repetition.getCurrentRepetition());
    int experts = 2 + rnd.nextInt(5);
    int[] expertOfSlot = new int[experts + rnd.nextInt(5)];
    for (int s = 0; s < expertOfSlot.length; s++) {
      expertOfSlot[s] = s < experts ? s : rnd.nextInt(experts);
    }
    Placement placement = Placement.of(expertOfSlot, 1, expertOfSlot.length, experts);
    int[] ids = rnd.ints(1 + rnd.nextInt(700), 0, experts).toArray();
    Routing routing = new Routing(ids.length, 1, ids, new float[ids.length]);
    DispatchPlan plan = DispatchPlan.of(routing, placement);
    int[] totals = new int[experts];
    for (int e : ids) {
      totals[e]++;
    }

    int[] table = DispatchTables.replicaTable(totals, placement, plan.slotStart());

    int[] seen = new int[experts];
    for (int i = 0; i < ids.length; i++) {
      assertThat(rowAsTheKernelComputesIt(table, experts, ids[i], seen[ids[i]]++))
          .isEqualTo(plan.rowOfAssignment()[i]);
    }
  }

  /** The arithmetic of moe_assign_rows for position p of expert e. */
  private static int rowAsTheKernelComputesIt(int[] table, int experts, int e, int p) {
    int slots = table[experts + experts - 1] + table[2 * experts + experts - 1];
    long n = table[e];
    long k = table[2 * experts + e];
    int r = (int) (p * k / n);
    int start = (int) ((r * n + k - 1) / k);
    int slot = table[3 * experts + table[experts + e] + r];
    return table[3 * experts + slots + slot] + p - start;
  }
}
