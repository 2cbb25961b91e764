package io.moeplan.planner.placement;

import io.moeplan.planner.spec.Limits;
import java.util.Arrays;

/**
 * Which expert occupies each slot of one MoE layer. Slot {@code s} lies on worker {@code s /
 * slotsPerWorker}. Valid when every expert has at least one slot and every id is in range; an
 * expert in several slots is replicated. Immutable.
 */
public final class Placement {
  private final int[] slotToExpert;
  private final int workerCount;
  private final int slotsPerWorker;
  private final int expertCount;
  private final int[] replicas;
  private final int hash;

  private Placement(int[] slotToExpert, int workerCount, int slotsPerWorker, int expertCount) {
    checkShape(workerCount, slotsPerWorker, expertCount);
    if (slotToExpert.length != workerCount * slotsPerWorker) {
      throw new IllegalArgumentException(
          "placement has "
              + slotToExpert.length
              + " slots, expected workerCount * slotsPerWorker = "
              + workerCount * slotsPerWorker);
    }
    int[] counts = new int[expertCount];
    for (int s = 0; s < slotToExpert.length; s++) {
      int e = slotToExpert[s];
      if (e < 0 || e >= expertCount) {
        throw new IllegalArgumentException(
            "slot " + s + " holds expert " + e + ", outside [0, " + expertCount + ")");
      }
      counts[e]++;
    }
    for (int e = 0; e < expertCount; e++) {
      if (counts[e] == 0) {
        throw new IllegalArgumentException("expert " + e + " has no slot");
      }
    }
    this.slotToExpert = slotToExpert;
    this.workerCount = workerCount;
    this.slotsPerWorker = slotsPerWorker;
    this.expertCount = expertCount;
    this.replicas = counts;
    this.hash = Arrays.hashCode(slotToExpert) * 31 + workerCount * 7 + expertCount;
  }

  /** A validated placement from a slot -> expert array (copied). */
  public static Placement of(
      int[] slotToExpert, int workerCount, int slotsPerWorker, int expertCount) {
    checkShape(workerCount, slotsPerWorker, expertCount);
    return new Placement(slotToExpert.clone(), workerCount, slotsPerWorker, expertCount);
  }

  /**
   * Static expert parallelism: slot s holds expert {@code s mod expertCount}, so expert e sits in
   * slot e and spare slots (when there are more slots than experts) take experts round-robin.
   */
  public static Placement staticLayout(int workerCount, int slotsPerWorker, int expertCount) {
    checkShape(workerCount, slotsPerWorker, expertCount);
    int slots = workerCount * slotsPerWorker;
    if (slots < expertCount) {
      throw new IllegalArgumentException(
          "workerCount * slotsPerWorker = "
              + slots
              + " slots cannot hold "
              + expertCount
              + " experts");
    }
    int[] s2e = new int[slots];
    for (int s = 0; s < slots; s++) {
      s2e[s] = s % expertCount;
    }
    return new Placement(s2e, workerCount, slotsPerWorker, expertCount);
  }

  private static void checkShape(int workerCount, int slotsPerWorker, int expertCount) {
    if (workerCount < 1 || workerCount > Limits.MAX_WORKERS) {
      throw new IllegalArgumentException(
          "workerCount must be in [1, " + Limits.MAX_WORKERS + "], got " + workerCount);
    }
    if (slotsPerWorker < 1 || slotsPerWorker > Limits.MAX_SLOTS_PER_WORKER) {
      throw new IllegalArgumentException(
          "slotsPerWorker must be in [1, "
              + Limits.MAX_SLOTS_PER_WORKER
              + "], got "
              + slotsPerWorker);
    }
    if ((long) workerCount * slotsPerWorker > Limits.MAX_SLOTS) {
      throw new IllegalArgumentException(
          "workerCount * slotsPerWorker must be <= "
              + Limits.MAX_SLOTS
              + ", got "
              + (long) workerCount * slotsPerWorker);
    }
    if (expertCount < 1 || expertCount > Limits.MAX_EXPERTS) {
      throw new IllegalArgumentException(
          "expertCount must be in [1, " + Limits.MAX_EXPERTS + "], got " + expertCount);
    }
  }

  /** Number of workers. */
  public int workerCount() {
    return workerCount;
  }

  /** Slots on each worker. */
  public int slotsPerWorker() {
    return slotsPerWorker;
  }

  /** Experts of the layer. */
  public int expertCount() {
    return expertCount;
  }

  /** Total slots: workerCount * slotsPerWorker. */
  public int slotCount() {
    return slotToExpert.length;
  }

  /** Expert in slot {@code slot}. */
  public int expertAt(int slot) {
    return slotToExpert[slot];
  }

  /** Worker that holds slot {@code slot}. */
  public int workerOf(int slot) {
    return slot / slotsPerWorker;
  }

  /** Replicas (slots) of expert {@code expert}. */
  public int replicaCount(int expert) {
    return replicas[expert];
  }

  /** Replica count of every expert (a copy). */
  public int[] replicaCounts() {
    return replicas.clone();
  }

  /** The slot -> expert array (a copy). */
  public int[] slotToExpert() {
    return slotToExpert.clone();
  }

  /** True when some expert has more than one slot. */
  public boolean isReplicated() {
    return slotToExpert.length > expertCount;
  }

  /** True when worker {@code worker} holds at least one replica of {@code expert}. */
  public boolean workerHolds(int worker, int expert) {
    int base = worker * slotsPerWorker;
    for (int i = 0; i < slotsPerWorker; i++) {
      if (slotToExpert[base + i] == expert) {
        return true;
      }
    }
    return false;
  }

  /** True when both placements put the same experts (as multisets) on every worker. */
  public boolean sameWorkerSets(Placement other) {
    if (other.workerCount != workerCount
        || other.slotsPerWorker != slotsPerWorker
        || other.expertCount != expertCount) {
      return false;
    }
    int[] a = new int[slotsPerWorker];
    int[] b = new int[slotsPerWorker];
    for (int w = 0; w < workerCount; w++) {
      System.arraycopy(slotToExpert, w * slotsPerWorker, a, 0, slotsPerWorker);
      System.arraycopy(other.slotToExpert, w * slotsPerWorker, b, 0, slotsPerWorker);
      Arrays.sort(a);
      Arrays.sort(b);
      if (!Arrays.equals(a, b)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof Placement p)) {
      return false;
    }
    return hash == p.hash
        && workerCount == p.workerCount
        && slotsPerWorker == p.slotsPerWorker
        && expertCount == p.expertCount
        && Arrays.equals(slotToExpert, p.slotToExpert);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("Placement[");
    for (int w = 0; w < workerCount; w++) {
      if (w > 0) {
        sb.append(" | ");
      }
      for (int i = 0; i < slotsPerWorker; i++) {
        if (i > 0) {
          sb.append(',');
        }
        sb.append(slotToExpert[w * slotsPerWorker + i]);
      }
    }
    return sb.append(']').toString();
  }
}
