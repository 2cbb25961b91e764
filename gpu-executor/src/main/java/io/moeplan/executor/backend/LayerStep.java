package io.moeplan.executor.backend;

/**
 * Result of one layer step: combined output (tokens x hidden), per-rank expert counts, tokens per
 * slot, and each worker's measured expert-FFN time in milliseconds.
 */
public record LayerStep(
    float[] output, ExpertCounts counts, int[] slotTokens, double[] workerMillis) {}
