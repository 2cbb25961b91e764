package io.moeplan.executor.cuda;

import io.moeplan.executor.backend.DispatchPlan;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.planner.placement.Placement;
import java.util.ArrayList;
import java.util.List;

/** The small host-built tables the dispatch and GEMM kernels read. */
final class DispatchTables {

  private DispatchTables() {}

  /**
   * The table of moe_assign_rows: totals[E] | replicaBase[E] | replicaCount[E] | replicaSlots[S] |
   * slotStart[S], where expert e's replicas are replicaSlots[replicaBase[e] ...], ascending.
   */
  static int[] replicaTable(int[] totals, Placement placement, int[] slotStart) {
    int experts = placement.expertCount();
    int slots = placement.slotCount();
    int[][] replicas = DispatchPlan.replicaSlots(placement);
    int[] t = new int[3 * experts + 2 * slots];
    int next = 0;
    for (int e = 0; e < experts; e++) {
      int[] reps = replicas[e];
      t[e] = totals[e];
      t[experts + e] = next;
      t[2 * experts + e] = reps.length;
      for (int r : reps) {
        t[3 * experts + next++] = r;
      }
    }
    System.arraycopy(slotStart, 0, t, 3 * experts + slots, slots);
    return t;
  }

  /**
   * GEMM row tiles: {slot, rowStart, rowEnd, 0} per tile of at most rowsPerTile rows, worker by
   * worker; worker w's tiles are [firstTile[w], firstTile[w + 1]).
   */
  record Tiles(int[] flat, int[] firstTile) {

    /** Number of tiles. */
    int count() {
      return firstTile[firstTile.length - 1];
    }
  }

  /** Cuts every slot's rows into tiles. */
  static Tiles tiles(int[] slotRows, int[] slotStart, SlotLayout layout, int rowsPerTile) {
    List<int[]> list = new ArrayList<>();
    int[] first = new int[layout.workers() + 1];
    for (int w = 0; w < layout.workers(); w++) {
      first[w] = list.size();
      for (int s = layout.firstSlot(w); s < layout.firstSlot(w) + layout.slotsPerWorker(); s++) {
        int end = slotStart[s] + slotRows[s];
        for (int r = slotStart[s]; r < end; r += rowsPerTile) {
          list.add(new int[] {s, r, Math.min(end, r + rowsPerTile), 0});
        }
      }
    }
    first[layout.workers()] = list.size();
    int[] flat = new int[Math.max(4, list.size() * 4)];
    for (int i = 0; i < list.size(); i++) {
      System.arraycopy(list.get(i), 0, flat, 4 * i, 4);
    }
    return new Tiles(flat, first);
  }
}
