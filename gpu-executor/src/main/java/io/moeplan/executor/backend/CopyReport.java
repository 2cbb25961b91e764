package io.moeplan.executor.backend;

/** What {@link MoeLayerBackend#copySlot} moved: bytes of weights and optimizer state, and time. */
public record CopyReport(int fromSlot, int toSlot, long bytes, double millis) {}
