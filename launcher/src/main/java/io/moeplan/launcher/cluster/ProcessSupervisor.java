package io.moeplan.launcher.cluster;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * The JVM child processes of a cluster, by name: each runs {@code java} with its log in {@code
 * logs/NAME.log} (and its console output appended to {@code logs/NAME.out}) and its pid in {@code
 * pids/NAME.pid}, so that another launcher finds, inspects and stops it from the state directory
 * alone. A recorded pid counts as the process only while its command line still names its log.
 */
final class ProcessSupervisor {

  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);

  private final Path state;
  private final Path logConfig;

  /** Processes recorded under {@code state}, logging as the log4j2 file {@code logConfig} says. */
  ProcessSupervisor(Path state, Path logConfig) {
    this.state = state;
    this.logConfig = logConfig;
  }

  /** Starts {@code java} with these arguments under {@code name} and records its pid. */
  void start(String name, List<String> arguments) throws IOException {
    List<String> full = new ArrayList<>();
    full.add(javaBinary());
    full.add("-Dlog.file=" + logFile(name));
    full.add("-Dlog4j2.configurationFile=" + logConfig);
    full.addAll(arguments);
    Process process =
        new ProcessBuilder(full)
            .directory(state.toFile())
            .redirectErrorStream(true)
            // appended: a restarted process keeps the output of the one it replaces
            .redirectOutput(ProcessBuilder.Redirect.appendTo(outputFile(name).toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    Files.writeString(pidFile(name), Long.toString(process.pid()) + "\n");
  }

  /**
   * Stops the process recorded under {@code name} (SIGTERM, SIGKILL after a grace period) and
   * forgets it; returns its pid when it was running.
   */
  Optional<Long> stop(String name) throws IOException {
    Optional<ProcessHandle> process = process(name);
    process.ifPresent(ProcessSupervisor::terminate);
    Files.deleteIfExists(pidFile(name));
    return process.map(ProcessHandle::pid);
  }

  /** Kills the process with SIGKILL, as a machine failure would, and waits until it is gone. */
  void kill(String name) {
    ProcessHandle process =
        process(name).orElseThrow(() -> new IllegalStateException(name + " is not running"));
    process.destroyForcibly();
    try {
      process.onExit().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(name + " did not die after SIGKILL", e);
    }
  }

  /** Whether the process recorded under {@code name} runs. */
  boolean isAlive(String name) {
    return process(name).isPresent();
  }

  /** Throws, naming its logs, when the process recorded under {@code name} no longer runs. */
  void requireAlive(String name) {
    if (!isAlive(name)) {
      throw new IllegalStateException(
          name + " exited while starting; see " + logFile(name) + " and its .out beside it");
    }
  }

  /** Names of every process with a pid file, running or not, in no particular order. */
  List<String> names() {
    try (Stream<Path> files = Files.list(state.resolve("pids"))) {
      return files
          .map(file -> file.getFileName().toString())
          .filter(name -> name.endsWith(".pid"))
          .map(name -> name.substring(0, name.length() - ".pid".length()))
          .toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  /** The pid recorded under {@code name}, if any. */
  Optional<Long> recordedPid(String name) {
    try {
      return Optional.of(Long.parseLong(Files.readString(pidFile(name)).trim()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** The log file of a process. */
  Path logFile(String name) {
    return state.resolve("logs").resolve(name + ".log");
  }

  /** The file its console output is appended to. */
  Path outputFile(String name) {
    return state.resolve("logs").resolve(name + ".out");
  }

  private Path pidFile(String name) {
    return state.resolve("pids").resolve(name + ".pid");
  }

  /** The live process recorded under {@code name}, if its command line still is ours. */
  private Optional<ProcessHandle> process(String name) {
    String marker = logFile(name).toString();
    return recordedPid(name)
        .flatMap(ProcessHandle::of)
        .filter(ProcessHandle::isAlive)
        .filter(handle -> handle.info().commandLine().map(c -> c.contains(marker)).orElse(true));
  }

  private static void terminate(ProcessHandle process) {
    process.destroy();
    try {
      process.onExit().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException | ExecutionException e) {
      process.destroyForcibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  private static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
