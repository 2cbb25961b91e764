package io.moeplan.planner.eplb;

import java.util.Arrays;

/**
 * A replicated expert placement for every layer, in DeepSeek EPLB's layout.
 *
 * <p>Physical experts are numbered GPU-major: GPU {@code g} holds physical experts {@code [g * k,
 * (g + 1) * k)} where {@code k} is the number of physical experts per GPU, and nodes own
 * consecutive GPUs. The arrays are handed over to the caller and not copied.
 *
 * @param phy2log {@code phy2log[layer][p]}: the logical expert that physical expert {@code p} holds
 * @param log2phy {@code log2phy[layer][e][r]}: the physical expert of replica {@code r} of logical
 *     expert {@code e}, padded with {@code -1} to width {@code numReplicas - numLogical + 1};
 *     replica 0 is the original and the others follow in the order they were created
 * @param logcnt {@code logcnt[layer][e]}: the number of replicas of logical expert {@code e}
 */
public record EplbResult(int[][] phy2log, int[][][] log2phy, int[][] logcnt) {

  /** Two results are equal when all three arrays hold the same values. */
  @Override
  public boolean equals(Object other) {
    return other instanceof EplbResult that
        && Arrays.deepEquals(phy2log, that.phy2log)
        && Arrays.deepEquals(log2phy, that.log2phy)
        && Arrays.deepEquals(logcnt, that.logcnt);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Arrays.deepHashCode(phy2log) + Arrays.deepHashCode(log2phy))
        + Arrays.deepHashCode(logcnt);
  }

  @Override
  public String toString() {
    return "EplbResult[phy2log="
        + Arrays.deepToString(phy2log)
        + ", log2phy="
        + Arrays.deepToString(log2phy)
        + ", logcnt="
        + Arrays.deepToString(logcnt)
        + "]";
  }
}
