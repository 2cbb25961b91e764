package io.moeplan.tests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.moeplan.launcher.cluster.ClusterSettings;
import io.moeplan.schemas.Topic;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What the tests on the multi-process cluster share: settings on free ports that run the project's
 * own launcher build and job jar (the test is skipped when they are not built), and bounded
 * polling.
 */
final class ClusterProcesses {

  private static final Duration READ_BOUND = Duration.ofSeconds(60);

  private ClusterProcesses() {}

  /**
   * Settings for a cluster in {@code state} on free ports, from the launcher build and shaded job
   * jar above the working directory; skips the calling test when either is missing.
   */
  static ClusterSettings.Builder settings(Path state) throws IOException {
    Optional<Path> root = projectRoot();
    assumeTrue(
        root.isPresent(),
        "no launcher build (launcher/target/moeplan-launcher.jar and lib/) above the working"
            + " directory: run 'mvn -B -DskipTests install' first");
    Optional<Path> jobJar = jobJar(root.get());
    assumeTrue(
        jobJar.isPresent(),
        "no shaded job jar flink-jobs/target/moeplan-flink-jobs-*-job.jar: run 'mvn -B"
            + " -DskipTests install' first");
    return ClusterSettings.builder(state, launcherClasspath(root.get()), jobJar.get())
        .kafkaPort(freePort())
        .kafkaControllerPort(freePort())
        .restPort(freePort())
        .rpcPort(freePort());
  }

  /** A file found by walking up from the working directory. */
  static Optional<Path> walkUp(Path relative) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve(relative))) {
        return Optional.of(dir.resolve(relative));
      }
    }
    return Optional.empty();
  }

  /** Polls the condition (each call may block briefly) until it holds or the bound passes. */
  static void awaitTrue(BooleanSupplier condition, Duration bound, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + bound.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not reached within " + bound + ": " + what);
      }
      Thread.sleep(100);
    }
  }

  /**
   * Every record of a topic from the beginning to the end offsets it has when called, decoded as
   * {@code codecs} says, in partition order.
   */
  static <K, V> List<V> readAll(String bootstrapServers, String topic, Topic<K, V> codecs) {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      consumer
          .partitionsFor(topic, READ_BOUND)
          .forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, READ_BOUND);
      List<V> values = new ArrayList<>();
      long deadline = System.nanoTime() + READ_BOUND.toNanos();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("topic " + topic + " not read to " + end + " in " + READ_BOUND);
        }
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          if (record.offset() < end.get(new TopicPartition(topic, record.partition()))) {
            values.add(codecs.valueCodec().decode(record.value()));
          }
        }
      }
      return values;
    }
  }

  /** The project root: the folder whose launcher build the cluster runs from. */
  private static Optional<Path> projectRoot() {
    return walkUp(Path.of("launcher", "target", "moeplan-launcher.jar"))
        .map(jar -> jar.getParent().getParent().getParent())
        .filter(root -> Files.isDirectory(root.resolve("launcher/target/lib")));
  }

  private static Optional<Path> jobJar(Path root) throws IOException {
    Path target = root.resolve("flink-jobs/target");
    if (!Files.isDirectory(target)) {
      return Optional.empty();
    }
    try (DirectoryStream<Path> jars =
        Files.newDirectoryStream(target, "moeplan-flink-jobs-*-job.jar")) {
      for (Path jar : jars) {
        return Optional.of(jar);
      }
    }
    return Optional.empty();
  }

  /** The launcher jar and its runtime libraries, as the moeplan script runs them. */
  private static List<Path> launcherClasspath(Path root) throws IOException {
    List<Path> jars = new ArrayList<>();
    jars.add(root.resolve("launcher/target/moeplan-launcher.jar"));
    try (Stream<Path> lib = Files.list(root.resolve("launcher/target/lib"))) {
      lib.filter(jar -> jar.toString().endsWith(".jar")).sorted().forEach(jars::add);
    }
    return jars;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
