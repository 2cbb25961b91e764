package io.moeplan.executor.backend;

import io.moeplan.planner.placement.Placement;

/**
 * Where each (token, expert) assignment goes: the slot rows of the dispatched activation matrix.
 *
 * <p>Rows are grouped by slot in slot order ({@code slotStart[s]}, {@code slotRows[s]} rows). An
 * expert with n assignments and k replicas (its slots in ascending order) splits them evenly in
 * token order: the assignment at position p (0-based, counting that expert's assignments in (token,
 * choice) order) goes to replica {@code floor(p * k / n)}, so replica sizes differ by at most one
 * and the split is deterministic on every backend.
 */
public record DispatchPlan(int[] slotStart, int[] slotRows, int[] rowOfAssignment, int rows) {

  /** The plan for a routing under a placement. */
  public static DispatchPlan of(Routing routing, Placement placement) {
    int experts = placement.expertCount();
    int[] totals = new int[experts];
    for (int e : routing.experts()) {
      totals[e]++;
    }
    int[][] replicas = replicaSlots(placement);
    int[] slotRows = slotRows(totals, replicas, placement.slotCount());
    int[] slotStart = starts(slotRows);
    int[] seen = new int[experts];
    int[] rowOf = new int[routing.assignments()];
    for (int i = 0; i < rowOf.length; i++) {
      int e = routing.experts()[i];
      int p = seen[e]++;
      int k = replicas[e].length;
      int r = replicaOf(p, k, totals[e]);
      rowOf[i] = slotStart[replicas[e][r]] + p - replicaStart(r, k, totals[e]);
    }
    return new DispatchPlan(slotStart, slotRows, rowOf, sum(slotRows));
  }

  /** Rows of each slot for the given per-expert totals (the even split described above). */
  public static int[] slotRows(int[] expertTotals, Placement placement) {
    return slotRows(expertTotals, replicaSlots(placement), placement.slotCount());
  }

  private static int[] slotRows(int[] expertTotals, int[][] replicas, int slots) {
    int[] rows = new int[slots];
    for (int e = 0; e < replicas.length; e++) {
      int[] reps = replicas[e];
      int n = expertTotals[e];
      for (int r = 0; r < reps.length; r++) {
        rows[reps[r]] = replicaStart(r + 1, reps.length, n) - replicaStart(r, reps.length, n);
      }
    }
    return rows;
  }

  /** The slots of every expert in ascending order, {@code [expert][replica]}, in one pass. */
  public static int[][] replicaSlots(Placement placement) {
    int experts = placement.expertCount();
    int[][] slots = new int[experts][];
    for (int e = 0; e < experts; e++) {
      slots[e] = new int[placement.replicaCount(e)];
    }
    int[] next = new int[experts];
    for (int s = 0; s < placement.slotCount(); s++) {
      int e = placement.expertAt(s);
      slots[e][next[e]++] = s;
    }
    return slots;
  }

  /** Exclusive prefix sums: the first row of each slot. */
  public static int[] starts(int[] slotRows) {
    int[] start = new int[slotRows.length];
    for (int s = 1; s < start.length; s++) {
      start[s] = start[s - 1] + slotRows[s - 1];
    }
    return start;
  }

  /** The replica receiving position p of n assignments split over k replicas. */
  static int replicaOf(int p, int k, int n) {
    return (int) ((long) p * k / n);
  }

  /** The first position handled by replica r: ceil(r * n / k). */
  static int replicaStart(int r, int k, int n) {
    return (int) (((long) r * n + k - 1) / k);
  }

  private static int sum(int[] a) {
    int s = 0;
    for (int x : a) {
      s += x;
    }
    return s;
  }
}
