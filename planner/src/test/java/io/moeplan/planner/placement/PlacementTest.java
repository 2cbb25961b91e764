package io.moeplan.planner.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PlacementTest {

  @Test
  void staticLayoutPutsExpertEInSlotE() {
    Placement p = Placement.staticLayout(2, 2, 4);

    assertThat(p.slotToExpert()).containsExactly(0, 1, 2, 3);
    assertThat(p.workerOf(3)).isEqualTo(1);
    assertThat(p.isReplicated()).isFalse();
  }

  @Test
  void staticLayoutGivesSpareSlotsRoundRobin() {
    Placement p = Placement.staticLayout(2, 3, 4);

    assertThat(p.slotToExpert()).containsExactly(0, 1, 2, 3, 0, 1);
    assertThat(p.replicaCounts()).containsExactly(2, 2, 1, 1);
    assertThat(p.isReplicated()).isTrue();
  }

  @Test
  void everyExpertNeedsASlot() {
    assertThatThrownBy(() -> Placement.of(new int[] {0, 0, 1, 1}, 2, 2, 3))
        .hasMessage("expert 2 has no slot");
  }

  @Test
  void expertIdsMustBeInRange() {
    assertThatThrownBy(() -> Placement.of(new int[] {0, 1, 2, 4}, 2, 2, 4))
        .hasMessage("slot 3 holds expert 4, outside [0, 4)");
  }

  @Test
  void slotCountMustMatchTheShape() {
    assertThatThrownBy(() -> Placement.of(new int[] {0, 1, 2}, 2, 2, 3))
        .hasMessageContaining("placement has 3 slots");
  }

  @Test
  void absurdShapesAreRefused() {
    assertThatThrownBy(() -> Placement.staticLayout(1_000_000, 64, 32))
        .hasMessageContaining("workerCount * slotsPerWorker must be <= 16777216");
    assertThatThrownBy(() -> Placement.staticLayout(8, 4, 100_000))
        .hasMessageContaining("expertCount must be in [1, 65536]");
  }

  @Test
  void equalityFollowsSlotsAndInputIsCopied() {
    int[] slots = {1, 0, 3, 2};
    Placement a = Placement.of(slots, 2, 2, 4);
    slots[0] = 0;
    Placement b = Placement.of(new int[] {1, 0, 3, 2}, 2, 2, 4);

    assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
    assertThat(a).isNotEqualTo(Placement.staticLayout(2, 2, 4));
  }

  @Test
  void sameWorkerSetsIgnoresSlotOrderInsideAWorker() {
    Placement a = Placement.of(new int[] {1, 0, 3, 2}, 2, 2, 4);

    assertThat(a.sameWorkerSets(Placement.staticLayout(2, 2, 4))).isTrue();
    assertThat(a.sameWorkerSets(Placement.of(new int[] {2, 0, 3, 1}, 2, 2, 4))).isFalse();
    assertThat(a.workerHolds(1, 2)).isTrue();
    assertThat(a.workerHolds(0, 2)).isFalse();
  }
}
