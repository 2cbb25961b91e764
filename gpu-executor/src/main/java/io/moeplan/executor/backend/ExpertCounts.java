package io.moeplan.executor.backend;

/** Tokens routed to each expert, per rank: {@code counts[rank * experts + expert]}. */
public record ExpertCounts(int ranks, int experts, int[] counts) {

  /** Validates the array length. */
  public ExpertCounts {
    if (counts.length != ranks * experts) {
      throw new IllegalArgumentException("counts must hold ranks*experts entries");
    }
  }

  /** Assignments of a rank's tokens to an expert. */
  public int count(int rank, int expert) {
    return counts[rank * experts + expert];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExpertCounts c
        && c.ranks == ranks
        && c.experts == experts
        && java.util.Arrays.equals(c.counts, counts);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * ranks + experts) + java.util.Arrays.hashCode(counts);
  }

  @Override
  public String toString() {
    return "ExpertCounts[ranks="
        + ranks
        + ", experts="
        + experts
        + ", counts="
        + java.util.Arrays.toString(counts)
        + "]";
  }

  /** Assignments to each expert over all ranks. */
  public int[] totals() {
    int[] t = new int[experts];
    for (int r = 0; r < ranks; r++) {
      for (int e = 0; e < experts; e++) {
        t[e] += counts[r * experts + e];
      }
    }
    return t;
  }
}
