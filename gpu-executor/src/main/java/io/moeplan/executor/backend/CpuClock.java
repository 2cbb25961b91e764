package io.moeplan.executor.backend;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The clock the CPU backend times a worker's compute and copies with: the CPU time of the calling
 * thread where the JVM offers it, else wall time.
 *
 * <p>The CPU backend runs every worker of a layer in one thread, one after another, standing in for
 * workers that each have a device of their own. What such a worker would take is the work it does,
 * not the time its thread spent waiting for a core that the machine's other threads (the broker,
 * the job, the collector's pauses, other processes) held meanwhile; thread CPU time counts the
 * first and leaves out the second.
 */
public final class CpuClock {

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final boolean THREAD_TIME = threadTimeAvailable();

  private CpuClock() {}

  /** Nanoseconds on this clock; only differences between two calls on one thread mean anything. */
  public static long nanos() {
    return THREAD_TIME ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
  }

  /** Whether {@link #nanos} is the thread's CPU time (else wall time). */
  public static boolean threadTime() {
    return THREAD_TIME;
  }

  private static boolean threadTimeAvailable() {
    try {
      if (!THREADS.isCurrentThreadCpuTimeSupported()) {
        return false;
      }
      if (!THREADS.isThreadCpuTimeEnabled()) {
        THREADS.setThreadCpuTimeEnabled(true);
      }
      return THREADS.getCurrentThreadCpuTime() >= 0;
    } catch (UnsupportedOperationException | SecurityException e) {
      return false;
    }
  }
}
