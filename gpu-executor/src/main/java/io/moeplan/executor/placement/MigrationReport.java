package io.moeplan.executor.placement;

/**
 * What one placement switch of one layer moved: slots rewritten, bytes of weights and optimizer
 * state copied (slot copies plus slots staged through host memory to break cycles) and the time it
 * took, in all and per receiving worker.
 *
 * <p>{@code workerBytes[w]} and {@code workerMillis[w]} are what worker {@code w} received and how
 * long its copies took, as the backend timed them (CUDA events on GPU); staging a slot through host
 * memory counts for the worker whose slot is staged. Workers receive concurrently on a cluster, so
 * the time a training step pays for the switch is the slowest worker's, {@link #paidMillis()}, even
 * where one process makes every copy in turn, as the CPU backend does.
 *
 * @param slotsChanged slots whose expert changed
 * @param staged slots staged through host memory
 * @param bytes bytes moved, every worker together
 * @param millis wall time of the whole switch in this process
 * @param workerBytes bytes each worker received (empty for {@link #NONE})
 * @param workerMillis time of each worker's copies
 */
public record MigrationReport(
    int slotsChanged,
    int staged,
    long bytes,
    double millis,
    long[] workerBytes,
    double[] workerMillis) {

  /** Nothing moved. */
  public static final MigrationReport NONE =
      new MigrationReport(0, 0, 0, 0, new long[0], new double[0]);

  /** Checks that the per-worker arrays match. */
  public MigrationReport {
    if (workerBytes.length != workerMillis.length) {
      throw new IllegalArgumentException(
          "per-worker bytes and millis differ in length: "
              + workerBytes.length
              + " vs "
              + workerMillis.length);
    }
  }

  /** The time a step pays for this switch: the slowest worker's copies, in milliseconds. */
  public double paidMillis() {
    double max = 0;
    for (double ms : workerMillis) {
      max = Math.max(max, ms);
    }
    return max;
  }

  /** Bytes worker {@code worker} received (0 beyond the arrays). */
  public long workerBytes(int worker) {
    return worker < workerBytes.length ? workerBytes[worker] : 0;
  }

  /** Time of worker {@code worker}'s copies in milliseconds (0 beyond the arrays). */
  public double workerMillis(int worker) {
    return worker < workerMillis.length ? workerMillis[worker] : 0;
  }

  /** The sum of two reports, worker by worker. */
  public MigrationReport plus(MigrationReport other) {
    int workers = Math.max(workerBytes.length, other.workerBytes.length);
    long[] sumBytes = new long[workers];
    double[] sumMillis = new double[workers];
    for (int w = 0; w < workers; w++) {
      sumBytes[w] = workerBytes(w) + other.workerBytes(w);
      sumMillis[w] = workerMillis(w) + other.workerMillis(w);
    }
    return new MigrationReport(
        slotsChanged + other.slotsChanged,
        staged + other.staged,
        bytes + other.bytes,
        millis + other.millis,
        sumBytes,
        sumMillis);
  }
}
