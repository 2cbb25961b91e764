package io.moeplan.executor.placement;

import io.moeplan.executor.backend.CopyReport;
import io.moeplan.executor.backend.DispatchPlan;
import io.moeplan.executor.backend.MoeLayerBackend;
import io.moeplan.executor.backend.SlotState;
import io.moeplan.planner.placement.Placement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Moves a layer's expert weights and Adam state from one placement to another on a backend.
 *
 * <p>Every slot whose expert changes is a target; it copies from a slot that holds its new expert
 * in the old placement, preferring a slot that keeps its expert (it is never overwritten). Copies
 * run in an order where no slot is overwritten while a later copy still reads it: a target is
 * written only once every copy reading from it is done. When only cycles are left (experts swapping
 * slots), one slot of the cycle is staged through host memory ({@link MoeLayerBackend#readSlot})
 * and the copies that read it load the staged state instead. The gate needs no change of its own:
 * dispatch maps expert ids to slots through the placement handed to {@code forward}.
 */
public final class Migration {

  private static final int STAGED = -2;

  private Migration() {}

  /**
   * For every slot, the slot of the old placement it copies from, or -1 where the slot keeps its
   * expert.
   */
  static int[] sources(Placement from, Placement to) {
    if (from.slotCount() != to.slotCount() || from.expertCount() != to.expertCount()) {
      throw new IllegalArgumentException(
          "placements differ in slots or experts: "
              + from.slotCount()
              + " slots of "
              + from.expertCount()
              + " experts vs "
              + to.slotCount()
              + " of "
              + to.expertCount());
    }
    int[][] replicas = DispatchPlan.replicaSlots(from);
    int[] source = new int[to.slotCount()];
    Arrays.fill(source, -1);
    for (int slot = 0; slot < to.slotCount(); slot++) {
      int expert = to.expertAt(slot);
      if (from.expertAt(slot) == expert) {
        continue;
      }
      // a valid placement gives every expert a slot, so there is always a holder
      int[] holders = replicas[expert];
      int chosen = holders[0];
      for (int holder : holders) {
        if (to.expertAt(holder) == from.expertAt(holder)) {
          chosen = holder;
          break;
        }
      }
      source[slot] = chosen;
    }
    return source;
  }

  /**
   * Applies the switch on {@code backend}: afterwards every slot holds the weights and optimizer
   * state of its expert under {@code to}, as the slot that held it under {@code from} had them.
   */
  public static MigrationReport apply(MoeLayerBackend backend, Placement from, Placement to) {
    long started = System.nanoTime();
    int[] source = sources(from, to);
    int slots = source.length;
    // readers[s]: pending copies that still read slot s; staged sources are encoded as -2 - s
    int[] readers = new int[slots];
    List<Integer> pending = new ArrayList<>();
    for (int slot = 0; slot < slots; slot++) {
      if (source[slot] >= 0) {
        pending.add(slot);
        readers[source[slot]]++;
      }
    }
    int changed = pending.size();
    int stagedCount = 0;
    long bytes = 0;
    long[] workerBytes = new long[to.workerCount()];
    double[] workerMillis = new double[to.workerCount()];
    SlotState[] staged = new SlotState[slots];
    while (!pending.isEmpty()) {
      int next = -1;
      for (int slot : pending) {
        if (readers[slot] == 0) {
          next = slot;
          break;
        }
      }
      if (next < 0) {
        // only cycles remain: stage one slot of a cycle and let its readers load the copy
        int cut = pending.get(0);
        long t0 = System.nanoTime();
        staged[cut] = backend.readSlot(cut);
        workerMillis[to.workerOf(cut)] += (System.nanoTime() - t0) / 1e6;
        stagedCount++;
        for (int slot : pending) {
          if (source[slot] == cut) {
            source[slot] = STAGED - cut;
          }
        }
        readers[cut] = 0;
        continue;
      }
      int from0 = source[next];
      if (from0 >= 0) {
        CopyReport copy = backend.copySlot(from0, next);
        bytes += copy.bytes();
        workerBytes[to.workerOf(next)] += copy.bytes();
        workerMillis[to.workerOf(next)] += copy.millis();
        readers[from0]--;
      } else {
        SlotState state = staged[STAGED - from0];
        long t0 = System.nanoTime();
        backend.loadSlot(next, state);
        workerMillis[to.workerOf(next)] += (System.nanoTime() - t0) / 1e6;
        bytes += 12L * state.params();
        workerBytes[to.workerOf(next)] += 12L * state.params();
      }
      pending.remove(Integer.valueOf(next));
    }
    return new MigrationReport(
        changed,
        stagedCount,
        bytes,
        (System.nanoTime() - started) / 1e6,
        workerBytes,
        workerMillis);
  }
}
