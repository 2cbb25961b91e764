package io.moeplan.executor.placement;

/**
 * What one placement switch of one layer moved: slots rewritten, bytes of weights and optimizer
 * state copied (slot copies plus slots staged through host memory to break cycles) and the time it
 * took.
 */
public record MigrationReport(int slotsChanged, int staged, long bytes, double millis) {

  /** Nothing moved. */
  public static final MigrationReport NONE = new MigrationReport(0, 0, 0, 0);

  /** The sum of two reports. */
  public MigrationReport plus(MigrationReport other) {
    return new MigrationReport(
        slotsChanged + other.slotsChanged,
        staged + other.staged,
        bytes + other.bytes,
        millis + other.millis);
  }
}
