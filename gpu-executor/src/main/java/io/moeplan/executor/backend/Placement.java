package io.moeplan.executor.backend;

import java.util.Arrays;

/**
 * Which expert each slot serves. An expert may have several replicas (slots); every expert has at
 * least one.
 */
public record Placement(int[] expertOfSlot) {

  /** Copies the array so the placement stays immutable. */
  public Placement {
    expertOfSlot = expertOfSlot.clone();
  }

  /** Round-robin placement: slot s serves expert s mod experts. */
  public static Placement roundRobin(SlotLayout layout, int experts) {
    int[] e = new int[layout.slots()];
    for (int s = 0; s < e.length; s++) {
      e[s] = s % experts;
    }
    return new Placement(e);
  }

  /** The expert served by a slot. */
  public int expertOf(int slot) {
    return expertOfSlot[slot];
  }

  /** Number of slots. */
  public int slots() {
    return expertOfSlot.length;
  }

  /** The slots serving an expert, in ascending order. */
  public int[] replicas(int expert) {
    return Arrays.stream(indices()).filter(s -> expertOfSlot[s] == expert).toArray();
  }

  /** Throws unless the placement fills exactly the layout's slots and covers every expert. */
  public void validate(SlotLayout layout, int experts) {
    if (expertOfSlot.length != layout.slots()) {
      throw new IllegalArgumentException(
          "placement has " + expertOfSlot.length + " slots, layout " + layout.slots());
    }
    boolean[] seen = new boolean[experts];
    for (int s = 0; s < expertOfSlot.length; s++) {
      int e = expertOfSlot[s];
      if (e < 0 || e >= experts) {
        throw new IllegalArgumentException("slot " + s + " names expert " + e + " of " + experts);
      }
      seen[e] = true;
    }
    for (int e = 0; e < experts; e++) {
      if (!seen[e]) {
        throw new IllegalArgumentException("expert " + e + " has no slot");
      }
    }
  }

  private int[] indices() {
    int[] idx = new int[expertOfSlot.length];
    Arrays.setAll(idx, i -> i);
    return idx;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Placement p && Arrays.equals(expertOfSlot, p.expertOfSlot);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(expertOfSlot);
  }

  @Override
  public String toString() {
    return "Placement" + Arrays.toString(expertOfSlot);
  }
}
