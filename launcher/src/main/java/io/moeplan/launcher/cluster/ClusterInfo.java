package io.moeplan.launcher.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;

/**
 * Where a running cluster answers, kept in {@code cluster.properties} of its state directory.
 *
 * @param bootstrapServers the broker's client address
 * @param restPort the Flink dashboard and REST port
 * @param taskManagers number of TaskManagers started
 * @param jobId the plan-selector job's id, once submitted
 */
public record ClusterInfo(
    String bootstrapServers, int restPort, int taskManagers, Optional<String> jobId) {

  private static final String FILE = "cluster.properties";

  /** The same cluster with its job submitted. */
  public ClusterInfo withJob(String id) {
    return new ClusterInfo(bootstrapServers, restPort, taskManagers, Optional.of(id));
  }

  /** Writes the file into {@code stateDirectory}. */
  public void store(Path stateDirectory) {
    Properties properties = new Properties();
    properties.setProperty("bootstrap.servers", bootstrapServers);
    properties.setProperty("rest.port", Integer.toString(restPort));
    properties.setProperty("taskmanagers", Integer.toString(taskManagers));
    jobId.ifPresent(id -> properties.setProperty("job.id", id));
    try (OutputStream out = Files.newOutputStream(stateDirectory.resolve(FILE))) {
      properties.store(out, "moeplan cluster");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + stateDirectory.resolve(FILE), e);
    }
  }

  /** Reads the file of {@code stateDirectory}, if a cluster was started there. */
  public static Optional<ClusterInfo> load(Path stateDirectory) {
    Path file = stateDirectory.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    Properties properties = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      properties.load(in);
      return Optional.of(
          new ClusterInfo(
              properties.getProperty("bootstrap.servers"),
              Integer.parseInt(properties.getProperty("rest.port")),
              Integer.parseInt(properties.getProperty("taskmanagers")),
              Optional.ofNullable(properties.getProperty("job.id"))));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
