package io.moeplan.launcher.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Where this JVM's CPU time goes between {@link #start} and {@link #stop}: the CPU time of each
 * Java thread, grouped by thread name with subtask indexes and numbers taken out (so the two
 * subtasks of a Flink operator chain, or Kafka's eight request handlers, count as one), and the
 * rest of the process (the JIT compiler, the garbage collector, native threads such as RocksDB's,
 * threads that ended) as one more group.
 */
final class CpuProfile {

  /** One group of threads and its share of the process's CPU time. */
  record Share(String group, double fraction) {}

  /** The measurement: process CPU cores busy on average, and the largest shares. */
  record Result(double coresBusy, List<Share> shares) {}

  static final String OTHER = "rest of the process: JIT compiler, GC, native and ended threads";

  private static final Pattern SUBTASK = Pattern.compile(" \\(\\d+/\\d+\\)(#\\d+)?");
  private static final Pattern NUMBER = Pattern.compile("\\d+");

  private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
  private final Map<Long, Long> startCpu;
  private final long startProcessCpu;
  private final long startNanos;

  private CpuProfile() {
    startCpu = threadCpu(threads);
    startProcessCpu = processCpuNanos();
    startNanos = System.nanoTime();
  }

  /** Starts measuring; empty when this JVM does not measure thread or process CPU time. */
  static java.util.Optional<CpuProfile> start() {
    ThreadMXBean bean = ManagementFactory.getThreadMXBean();
    if (!bean.isThreadCpuTimeSupported() || processCpuNanos() < 0) {
      return java.util.Optional.empty();
    }
    if (!bean.isThreadCpuTimeEnabled()) {
      bean.setThreadCpuTimeEnabled(true);
    }
    return java.util.Optional.of(new CpuProfile());
  }

  /** The shares since {@link #start}, largest first, at most {@code top} of them. */
  Result stop(int top) {
    return stop(top, Map.of());
  }

  /**
   * As {@link #stop(int)}, with the CPU time of threads that started after {@link #start} and ended
   * before this call, by group: their time is in the process's, not in any live thread's.
   */
  Result stop(int top, Map<String, Long> endedThreads) {
    long elapsed = System.nanoTime() - startNanos;
    long process = processCpuNanos() - startProcessCpu;
    Map<Long, Long> endCpu = threadCpu(threads);
    Map<String, Long> byGroup = new HashMap<>();
    long javaThreads = 0;
    for (Map.Entry<String, Long> ended : endedThreads.entrySet()) {
      if (ended.getValue() > 0) {
        byGroup.merge(ended.getKey(), ended.getValue(), Long::sum);
        javaThreads += ended.getValue();
      }
    }
    for (Map.Entry<Long, Long> entry : endCpu.entrySet()) {
      long used = entry.getValue() - startCpu.getOrDefault(entry.getKey(), 0L);
      ThreadInfo info = threads.getThreadInfo(entry.getKey());
      if (used <= 0 || info == null) {
        continue;
      }
      byGroup.merge(group(info.getThreadName()), used, Long::sum);
      javaThreads += used;
    }
    return new Result(process / (double) elapsed, shares(byGroup, process - javaThreads, top));
  }

  /**
   * The shares of the groups and of the rest of the process ({@code otherNanos}, when positive) in
   * their total, largest first, at most {@code top}.
   */
  static List<Share> shares(Map<String, Long> byGroup, long otherNanos, int top) {
    Map<String, Long> all = new HashMap<>(byGroup);
    if (otherNanos > 0) {
      all.merge(OTHER, otherNanos, Long::sum);
    }
    double total = all.values().stream().mapToLong(Long::longValue).sum();
    List<Share> shares = new ArrayList<>();
    all.forEach((group, nanos) -> shares.add(new Share(group, nanos / total)));
    shares.sort(Comparator.comparingDouble(Share::fraction).reversed().thenComparing(Share::group));
    return shares.subList(0, Math.min(top, shares.size()));
  }

  /** A thread's group: its name without subtask indexes and with numbers replaced by '#'. */
  static String group(String threadName) {
    String name = SUBTASK.matcher(threadName).replaceAll("");
    return NUMBER.matcher(name).replaceAll("#");
  }

  private static Map<Long, Long> threadCpu(ThreadMXBean bean) {
    Map<Long, Long> cpu = new HashMap<>();
    for (long id : bean.getAllThreadIds()) {
      long nanos = bean.getThreadCpuTime(id);
      if (nanos >= 0) {
        cpu.put(id, nanos);
      }
    }
    return cpu;
  }

  private static long processCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return -1;
  }
}
