package io.moeplan.launcher.cluster;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What {@code moeplan cluster status} shows: each process and the job's state.
 *
 * @param stateDirectory where the cluster keeps its state
 * @param info the ports and job of the last {@code up}, if any
 * @param processes every process started there
 * @param job the job id and its state, or {@code none}
 */
public record ClusterStatus(
    Path stateDirectory, Optional<ClusterInfo> info, List<ProcessStatus> processes, String job) {

  /**
   * One process of the cluster.
   *
   * @param name its name ({@code kafka}, {@code jobmanager}, {@code taskmanager-N})
   * @param pid its recorded process id
   * @param running whether it runs
   * @param log its log file
   */
  public record ProcessStatus(String name, long pid, boolean running, Path log) {}

  /** Whether any process runs. */
  public boolean anyRunning() {
    return processes.stream().anyMatch(ProcessStatus::running);
  }

  /** Prints the status as a small table. */
  public void print(PrintStream out) {
    if (processes.isEmpty()) {
      out.printf("no cluster running in %s%n", stateDirectory);
      return;
    }
    out.printf("cluster in %s%n", stateDirectory);
    out.printf("%-14s %8s  %-8s %s%n", "process", "pid", "state", "log");
    for (ProcessStatus process : processes) {
      out.printf(
          "%-14s %8d  %-8s %s%n",
          process.name(), process.pid(), process.running() ? "running" : "stopped", process.log());
    }
    info.ifPresent(
        i ->
            out.printf(
                "Kafka %s, dashboard http://localhost:%d%n", i.bootstrapServers(), i.restPort()));
    Path security = ClusterConfiguration.securityDirectory(stateDirectory);
    if (Files.isDirectory(security)) {
      out.printf(
          "secured: SASL_SSL, SCRAM-SHA-512, ACLs; client properties per principal in %s%n",
          security);
    }
    out.printf("job: %s%n", job);
  }
}
