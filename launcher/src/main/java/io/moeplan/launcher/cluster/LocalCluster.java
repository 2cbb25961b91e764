package io.moeplan.launcher.cluster;

import io.moeplan.launcher.Directories;
import io.moeplan.launcher.kafka.KafkaAccess;
import io.moeplan.launcher.kafka.KafkaSecurity;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;

/**
 * The moeplan topology as separate processes on this machine, started from the project's jars: a
 * Kafka broker ({@code kafka.Kafka}), a Flink standalone JobManager, TaskManagers, the
 * plan-selector job submitted through the REST API and a pool published for it.
 *
 * <p>Everything lives in the state directory: {@code pids/} (one file per process), {@code logs/},
 * {@code conf/}, {@code kafka/} (the broker's data), {@code checkpoints/}, {@code rocksdb/} and
 * {@code cluster.properties} (ports and the job id). Another launcher can stop or inspect the
 * cluster from that directory alone.
 */
public final class LocalCluster {

  /** Name of the broker process. */
  public static final String KAFKA = "kafka";

  /** Name of the JobManager process. */
  public static final String JOB_MANAGER = "jobmanager";

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);

  private final Path state;
  private final ProcessSupervisor processes;

  /** The cluster whose state is in {@code stateDirectory} (running or not). */
  public LocalCluster(Path stateDirectory) {
    this.state = stateDirectory.toAbsolutePath().normalize();
    this.processes = new ProcessSupervisor(state, ClusterConfiguration.logConfigFile(state));
  }

  /** The state directory. */
  public Path stateDirectory() {
    return state;
  }

  /**
   * Starts the broker, the JobManager and the TaskManagers, creates the topics, publishes the pool
   * and submits the job as {@code settings} say; waits until each is ready. Data of an earlier
   * cluster in the state directory is removed first.
   *
   * @throws IllegalStateException when a cluster already runs there, a port is taken, the job jar
   *     is missing, or a process does not come up (the message names its log)
   */
  public ClusterInfo up(ClusterSettings settings, PrintStream out) throws IOException {
    if (!settings.stateDirectory().equals(state)) {
      throw new IllegalArgumentException("settings are for " + settings.stateDirectory());
    }
    List<String> running = runningProcesses();
    if (!running.isEmpty()) {
      throw new IllegalStateException(
          "a cluster already runs from "
              + state
              + " ("
              + String.join(", ", running)
              + "); stop it with 'moeplan cluster down'");
    }
    if (settings.submitJob() && !Files.isRegularFile(settings.jobJar())) {
      throw new IllegalStateException(
          "job jar "
              + settings.jobJar()
              + " not found: build it with 'mvn -B -DskipTests install' in the project root, or"
              + " pass --job-jar");
    }
    checkFree(settings.kafkaPort(), "Kafka port (--kafka-port)");
    checkFree(settings.kafkaControllerPort(), "Kafka controller port (--kafka-controller-port)");
    checkFree(settings.restPort(), "Flink dashboard port (--ui-port)");
    checkFree(settings.rpcPort(), "JobManager RPC port (--rpc-port)");
    for (String folder :
        List.of(
            "pids", "logs", "conf", "kafka", "security", "checkpoints", "rocksdb", "tmp", "web")) {
      Directories.deleteRecursively(state.resolve(folder));
      Files.createDirectories(state.resolve(folder));
    }
    Files.deleteIfExists(state.resolve("cluster.properties"));

    long started = System.nanoTime();
    ClusterConfiguration configuration = new ClusterConfiguration(settings);
    configuration.write();
    ClusterInfo info =
        new ClusterInfo(
            "localhost:" + settings.kafkaPort(),
            settings.restPort(),
            settings.taskManagers(),
            Optional.empty());
    info.store(state);

    processes.start(KAFKA, configuration.kafkaCommand());
    processes.start(JOB_MANAGER, configuration.jobManagerCommand());
    for (int index = 1; index <= settings.taskManagers(); index++) {
      startTaskManager(settings, index);
    }
    awaitKafka(info.bootstrapServers());
    createTopics(adminProperties(info.bootstrapServers()), Topics.ALL);
    if (settings.secure()) {
      KafkaSecurity security =
          KafkaSecurity.prepare(ClusterConfiguration.securityDirectory(state), List.of(""));
      try (Admin admin = Admin.create(adminProperties(info.bootstrapServers()))) {
        KafkaAccess.grant(admin, security, info.bootstrapServers());
      }
      out.printf(
          "Kafka broker on %s (SASL_SSL, SCRAM-SHA-512, ACLs; client properties per principal in"
              + " %s)%n",
          info.bootstrapServers(), security.directory());
    } else {
      out.printf("Kafka broker on %s%n", info.bootstrapServers());
    }
    awaitTaskManagers(settings.restPort(), settings.taskManagers());
    out.printf(
        "Flink dashboard on http://localhost:%d (%d task managers x %d slots)%n",
        settings.restPort(), settings.taskManagers(), settings.slotsPerTaskManager());
    if (settings.pool() != null) {
      PoolBootstrap.publish(
          settings.pool(),
          settings.executors() > 0,
          clientProperties(info.bootstrapServers(), KafkaSecurity.POOL_LOADER),
          out);
    }
    if (settings.submitJob()) {
      String jobId = submit(settings, settings.jobArguments());
      info = info.withJob(jobId);
      info.store(state);
      out.printf("plan-selector job %s submitted%n", jobId);
    }
    for (int index = 1; index <= settings.executors(); index++) {
      String name = executorName(index);
      startExecutor(settings, index, configuration.executorOptions(index));
      out.printf("%s started (log %s)%n", name, processes.outputFile(name));
    }
    out.printf(
        "cluster up in %.1f s; state, logs and checkpoints in %s%n",
        (System.nanoTime() - started) / 1e9, state);
    return info;
  }

  /**
   * Uploads the job jar and runs the plan-selector job with these arguments plus the cluster's
   * bootstrap servers and checkpoint directory; returns the job id.
   */
  public String submit(ClusterSettings settings, List<String> jobArguments) throws IOException {
    FlinkRest rest = new FlinkRest(settings.restPort());
    String jarId = rest.upload(settings.jobJar());
    List<String> arguments = new ArrayList<>();
    arguments.addAll(
        List.of(
            "--bootstrap-servers",
            "localhost:" + settings.kafkaPort(),
            "--checkpoint-dir",
            state.resolve("checkpoints").toUri().toString(),
            "--parallelism",
            Integer.toString(settings.parallelism())));
    Path jobClient = ClusterConfiguration.clientFile(state, KafkaSecurity.JOB);
    if (Files.exists(jobClient)) {
      // the job reads its credentials from the file: no password in its arguments
      arguments.addAll(List.of("--kafka-config", jobClient.toString()));
    }
    arguments.addAll(jobArguments);
    return rest.run(jarId, arguments, settings.parallelism());
  }

  /** Stops every process of the cluster (the job first); does nothing when none runs. */
  public List<String> down() throws IOException {
    Optional<ClusterInfo> info = ClusterInfo.load(state);
    if (info.isPresent() && info.get().jobId().isPresent() && isAlive(JOB_MANAGER)) {
      try {
        new FlinkRest(info.get().restPort()).cancel(info.get().jobId().get());
      } catch (IOException e) {
        // the job may already be gone; the processes are stopped below either way
      }
    }
    List<String> stopped = new ArrayList<>();
    List<String> order = new ArrayList<>(processNames());
    // task managers, then the job manager, then the broker the job wrote to
    order.sort(Comparator.comparingInt(LocalCluster::stopOrder));
    for (String name : order) {
      processes.stop(name).ifPresent(pid -> stopped.add(name + " (pid " + pid + ")"));
    }
    return stopped;
  }

  /** The state of every process and of the job. */
  public ClusterStatus status() {
    Optional<ClusterInfo> info = ClusterInfo.load(state);
    List<ClusterStatus.ProcessStatus> statuses = new ArrayList<>();
    for (String name : processNames()) {
      statuses.add(
          new ClusterStatus.ProcessStatus(
              name,
              processes.recordedPid(name).orElse(-1L),
              processes.isAlive(name),
              Files.exists(logFile(name)) ? logFile(name) : processes.outputFile(name)));
    }
    String job = "none";
    if (info.isPresent() && info.get().jobId().isPresent()) {
      String jobId = info.get().jobId().get();
      try {
        job = jobId + " " + new FlinkRest(info.get().restPort()).jobState(jobId);
      } catch (IOException e) {
        job = jobId + " (dashboard not reachable)";
      }
    }
    return new ClusterStatus(state, info, statuses, job);
  }

  /** Kills TaskManager {@code index} (1-based) with SIGKILL, as a machine failure would. */
  public void killTaskManager(int index) {
    processes.kill(taskManagerName(index));
  }

  /**
   * Kills the Kafka broker with SIGKILL, as a machine failure would; its data stays in the state
   * directory for {@link #startKafka}.
   */
  public void killKafka() {
    processes.kill(KAFKA);
  }

  /**
   * Starts the Kafka broker again on its data and ports, e.g. after {@link #killKafka}, and waits
   * until it serves clients.
   *
   * @throws IllegalStateException when it already runs or does not come up (the message names its
   *     log)
   */
  public void startKafka(ClusterSettings settings) throws IOException {
    if (isAlive(KAFKA)) {
      throw new IllegalStateException(KAFKA + " is already running");
    }
    processes.start(KAFKA, new ClusterConfiguration(settings).kafkaCommand());
    awaitKafka("localhost:" + settings.kafkaPort());
  }

  /** Kills executor process {@code index} (1-based) with SIGKILL, as a machine failure would. */
  public void killExecutor(int index) {
    processes.kill(executorName(index));
  }

  /**
   * Starts executor process {@code index} (1-based) of the pool's job again, e.g. after {@link
   * #killExecutor}: it hosts the same ranks as {@code up} gave it and resumes at {@code
   * startIteration} on the placements of the latest decisions that took effect before it.
   */
  public void startExecutor(ClusterSettings settings, int index, long startIteration)
      throws IOException {
    if (settings.pool() == null || index < 1 || index > settings.executors()) {
      throw new IllegalArgumentException(
          "executor " + index + " is not one of the " + settings.executors() + " up starts");
    }
    List<String> options =
        new ArrayList<>(new ClusterConfiguration(settings).executorOptions(index));
    options.addAll(List.of("--start-iteration", Long.toString(startIteration)));
    startExecutor(settings, index, options);
  }

  /**
   * Starts a {@code moeplan executor} process named {@link #executorName executorName(index)} on
   * the cluster's broker with these options (all but {@code --bootstrap-servers}, e.g. {@code
   * --job}, {@code --workers}, {@code --start-iteration}); its output goes to {@code
   * logs/executor-INDEX.out}.
   */
  public void startExecutor(ClusterSettings settings, int index, List<String> options)
      throws IOException {
    String name = executorName(index);
    if (isAlive(name)) {
      throw new IllegalStateException(name + " is already running");
    }
    processes.start(name, new ClusterConfiguration(settings).executorCommand(options));
  }

  /** Name of executor process {@code index} (1-based). */
  public static String executorName(int index) {
    return "executor-" + index;
  }

  /** Starts TaskManager {@code index} (1-based) again, e.g. after {@link #killTaskManager}. */
  public void startTaskManager(ClusterSettings settings, int index) throws IOException {
    String name = taskManagerName(index);
    if (isAlive(name)) {
      throw new IllegalStateException(name + " is already running");
    }
    ClusterConfiguration configuration = new ClusterConfiguration(settings);
    Files.createDirectories(configuration.rocksDbDirectory(name));
    processes.start(name, configuration.taskManagerCommand(name));
  }

  /** Whether the named process of this cluster runs. */
  public boolean isAlive(String name) {
    return processes.isAlive(name);
  }

  /** Name of TaskManager {@code index} (1-based). */
  public static String taskManagerName(int index) {
    return "taskmanager-" + index;
  }

  /** The log file of a process. */
  public Path logFile(String name) {
    return processes.logFile(name);
  }

  /**
   * The launcher's own classpath, as the {@code moeplan} script runs it: the broker, the Flink
   * processes and the launcher share the jars.
   */
  public static List<Path> launcherClasspath() {
    return ClusterConfiguration.launcherClasspath();
  }

  private List<String> runningProcesses() {
    return processNames().stream()
        .filter(processes::isAlive)
        .map(name -> name + " pid " + processes.recordedPid(name).orElse(-1L))
        .toList();
  }

  /** The recorded processes: the broker, the JobManager, the TaskManagers, the executors. */
  private List<String> processNames() {
    return processes.names().stream()
        .sorted(Comparator.comparingInt(LocalCluster::stopOrder).reversed())
        .toList();
  }

  private static int stopOrder(String name) {
    if (name.startsWith("executor")) {
      return 0;
    }
    return name.startsWith("taskmanager") ? 1 : name.equals(JOB_MANAGER) ? 2 : 3;
  }

  // ---- readiness and topics

  private void awaitKafka(String bootstrapServers) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    try (Admin admin = admin(adminProperties(bootstrapServers))) {
      while (true) {
        processes.requireAlive(KAFKA);
        try {
          if (!admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty()) {
            return;
          }
        } catch (ExecutionException | TimeoutException e) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "Kafka broker not ready after " + READY_TIMEOUT + "; see " + logFile(KAFKA), e);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted waiting for Kafka", e);
        }
      }
    }
  }

  /** Creates the topics that do not exist yet, with the cluster's partition count. */
  public static void createTopics(String bootstrapServers, List<Topic<?, ?>> topics) {
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    createTopics(properties, topics);
  }

  /**
   * Creates the topics that do not exist yet, with the cluster's partition count, as the client of
   * {@code client} (the admin's on a secured cluster).
   */
  public static void createTopics(Properties client, List<Topic<?, ?>> topics) {
    String bootstrapServers = client.getProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
    try (Admin admin = admin(client)) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (Topic<?, ?> topic : topics) {
        if (!existing.contains(topic.name())) {
          missing.add(
              new NewTopic(topic.name(), ClusterConfiguration.KAFKA_PARTITIONS, (short) 1)
                  .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, topic.cleanupPolicy())));
        }
      }
      if (!missing.isEmpty()) {
        admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot create topics on " + bootstrapServers, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted creating topics", e);
    }
  }

  private void awaitTaskManagers(int restPort, int expected) {
    FlinkRest rest = new FlinkRest(restPort);
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (rest.taskManagers().orElse(0) < expected) {
      processes.requireAlive(JOB_MANAGER);
      for (int index = 1; index <= expected; index++) {
        processes.requireAlive(taskManagerName(index));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            expected
                + " task managers not registered after "
                + READY_TIMEOUT
                + "; see "
                + state.resolve("logs"));
      }
      pause(200);
    }
  }

  /**
   * Client settings of {@code user} on this cluster's broker: its client file on a secured cluster
   * (there is one when {@code security/} holds it), the bootstrap servers alone otherwise.
   */
  public Properties clientProperties(String bootstrapServers, String user) {
    Properties properties = new Properties();
    Path file = ClusterConfiguration.clientFile(state, user);
    if (Files.exists(file)) {
      try (InputStream in = Files.newInputStream(file)) {
        properties.load(in);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file, e);
      }
    }
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    return properties;
  }

  private Properties adminProperties(String bootstrapServers) {
    return clientProperties(bootstrapServers, KafkaSecurity.ADMIN);
  }

  private static Admin admin(Properties client) {
    Properties properties = new Properties();
    properties.putAll(client);
    properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
    return Admin.create(properties);
  }

  private static void checkFree(int port, String what) {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
    } catch (IOException e) {
      throw new IllegalStateException(
          "port " + port + " (" + what + ") is in use: free it or choose another port");
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
