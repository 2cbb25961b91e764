package io.moeplan.executor.backend;

import static io.moeplan.executor.backend.MoeFixtures.slots;
import static io.moeplan.executor.backend.MoeFixtures.topOne;
import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.placement.Placement;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

class DispatchPlanTest {

  @Test
  void splitsAnExpertEvenlyOverItsReplicasInTokenOrder() {
    // expert 0 on slots 0 and 2, expert 1 on slot 1; five tokens for expert 0
    DispatchPlan plan = DispatchPlan.of(topOne(0, 0, 1, 0, 0, 0), slots(0, 1, 0));

    // positions 0..4 go to replica floor(p * 2 / 5) = 0, 0, 0, 1, 1
    assertThat(plan.slotRows()).containsExactly(3, 1, 2);
    assertThat(plan.slotStart()).containsExactly(0, 3, 4);
    assertThat(plan.rowOfAssignment()).containsExactly(0, 1, 3, 2, 4, 5);
    assertThat(plan.rows()).isEqualTo(6);
  }

  @Test
  void anExpertWithoutTokensLeavesItsSlotsEmpty() {
    DispatchPlan plan = DispatchPlan.of(topOne(1, 1), slots(0, 1));

    assertThat(plan.slotRows()).containsExactly(0, 2);
    assertThat(plan.rowOfAssignment()).containsExactly(0, 1);
  }

  @RepeatedTest(20)
  void givesEverySlotRowToExactlyOneAssignmentOfTheSlotsExpert(RepetitionInfo repetition) {
    SplittableRandom rnd = new SplittableRandom(1000L + repetition.getCurrentRepetition());
    int experts = 2 + rnd.nextInt(6);
    int slotCount = experts + rnd.nextInt(6);
    int[] expertOfSlot = new int[slotCount];
    for (int s = 0; s < slotCount; s++) {
      expertOfSlot[s] = s < experts ? s : rnd.nextInt(experts);
    }
    Placement placement = Placement.of(expertOfSlot, 1, slotCount, experts);
    int[] ids = rnd.ints(1 + rnd.nextInt(300), 0, experts).toArray();

    DispatchPlan plan = DispatchPlan.of(topOne(ids), placement);

    int[] owner = new int[plan.rows()];
    Arrays.fill(owner, -1);
    for (int i = 0; i < ids.length; i++) {
      int row = plan.rowOfAssignment()[i];
      assertThat(owner[row]).as("row %d given twice", row).isEqualTo(-1);
      owner[row] = i;
      int slot = slotOfRow(plan, row);
      assertThat(placement.expertAt(slot)).isEqualTo(ids[i]);
    }
    assertThat(owner).doesNotContain(-1);
    int[][] replicas = DispatchPlan.replicaSlots(placement);
    for (int e = 0; e < experts; e++) {
      int[] sizes = Arrays.stream(replicas[e]).map(s -> plan.slotRows()[s]).toArray();
      int max = Arrays.stream(sizes).max().orElseThrow();
      int min = Arrays.stream(sizes).min().orElseThrow();
      assertThat(max - min).as("replica sizes of expert %d", e).isLessThanOrEqualTo(1);
    }
  }

  private static int slotOfRow(DispatchPlan plan, int row) {
    for (int s = 0; s < plan.slotRows().length; s++) {
      if (row >= plan.slotStart()[s] && row < plan.slotStart()[s] + plan.slotRows()[s]) {
        return s;
      }
    }
    throw new AssertionError("row " + row + " outside every slot");
  }
}
