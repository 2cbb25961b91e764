package io.moeplan.launcher.cluster;

import io.moeplan.executor.process.CpuWorkers;
import io.moeplan.launcher.Directories;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.poolloader.PoolPublisher;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
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

  /** Ranks of the built-in example cluster the pool is built for (2 nodes x 4 GPUs). */
  private static final int POOL_RANKS = 8;

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);
  private static final int KAFKA_PARTITIONS = 2;

  /** The add-opens list of Flink's distribution ({@code env.java.opts.all}) for Java 17. */
  private static final List<String> FLINK_JAVA_OPTS =
      List.of(
          "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
          "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
          "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
          "--add-opens=java.base/java.lang=ALL-UNNAMED",
          "--add-opens=java.base/java.net=ALL-UNNAMED",
          "--add-opens=java.base/java.io=ALL-UNNAMED",
          "--add-opens=java.base/java.nio=ALL-UNNAMED",
          "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
          "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
          "--add-opens=java.base/java.text=ALL-UNNAMED",
          "--add-opens=java.base/java.time=ALL-UNNAMED",
          "--add-opens=java.base/java.util=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

  /**
   * Jars of the launcher that stay off the Flink processes' classpath: the job jar brings its own
   * copies, and a second copy loaded parent-first would clash with the job's.
   */
  private static final List<String> NOT_FOR_FLINK =
      List.of(
          "moeplan-",
          "kafka",
          "connect-",
          "flink-connector-kafka",
          "flink-avro",
          "avro",
          "scala-",
          "jackson-",
          "snakeyaml-2",
          "picocli",
          "zstd-jni",
          "lz4-java",
          "snappy-java");

  private final Path state;

  /** The cluster whose state is in {@code stateDirectory} (running or not). */
  public LocalCluster(Path stateDirectory) {
    this.state = stateDirectory.toAbsolutePath().normalize();
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
        List.of("pids", "logs", "conf", "kafka", "checkpoints", "rocksdb", "tmp", "web")) {
      Directories.deleteRecursively(state.resolve(folder));
      Files.createDirectories(state.resolve(folder));
    }
    Files.deleteIfExists(state.resolve("cluster.properties"));

    long started = System.nanoTime();
    writeLogConfig();
    Path kafkaConfig = state.resolve("conf").resolve("kafka.properties");
    EmbeddedKafkaBroker.format(
        EmbeddedKafkaBroker.singleNodeProperties(
            settings.kafkaPort(),
            settings.kafkaControllerPort(),
            state.resolve("kafka"),
            KAFKA_PARTITIONS),
        kafkaConfig,
        Uuid.randomUuid().toString());
    Configuration flink = flinkConfiguration(settings);
    writeFlinkConfig(flink);
    ClusterInfo info =
        new ClusterInfo(
            "localhost:" + settings.kafkaPort(),
            settings.restPort(),
            settings.taskManagers(),
            Optional.empty());
    info.store(state);

    start(KAFKA, kafkaCommand(settings, kafkaConfig));
    start(JOB_MANAGER, jobManagerCommand(settings));
    for (int index = 1; index <= settings.taskManagers(); index++) {
      startTaskManager(settings, index);
    }
    awaitKafka(info.bootstrapServers());
    createTopics(info.bootstrapServers(), Topics.ALL);
    out.printf("Kafka broker on %s%n", info.bootstrapServers());
    awaitTaskManagers(settings.restPort(), settings.taskManagers());
    out.printf(
        "Flink dashboard on http://localhost:%d (%d task managers x %d slots)%n",
        settings.restPort(), settings.taskManagers(), settings.slotsPerTaskManager());
    if (settings.pool() != null) {
      publishPool(settings.pool(), settings.executors() > 0, info.bootstrapServers(), out);
    }
    if (settings.submitJob()) {
      String jobId = submit(settings, settings.jobArguments());
      info = info.withJob(jobId);
      info.store(state);
      out.printf("plan-selector job %s submitted%n", jobId);
    }
    for (int index = 1; index <= settings.executors(); index++) {
      String name = executorName(index);
      startExecutor(settings, index, executorOptions(settings, index));
      out.printf("%s started (log %s)%n", name, state.resolve("logs").resolve(name + ".out"));
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
      Optional<ProcessHandle> process = process(name);
      if (process.isPresent()) {
        stop(process.get());
        stopped.add(name + " (pid " + process.get().pid() + ")");
      }
      Files.deleteIfExists(pidFile(name));
    }
    return stopped;
  }

  /** The state of every process and of the job. */
  public ClusterStatus status() {
    Optional<ClusterInfo> info = ClusterInfo.load(state);
    List<ClusterStatus.ProcessStatus> processes = new ArrayList<>();
    for (String name : processNames()) {
      Optional<Long> pid = recordedPid(name);
      processes.add(
          new ClusterStatus.ProcessStatus(
              name,
              pid.orElse(-1L),
              process(name).isPresent(),
              Files.exists(logFile(name))
                  ? logFile(name)
                  : state.resolve("logs").resolve(name + ".out")));
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
    return new ClusterStatus(state, info, processes, job);
  }

  /** Kills TaskManager {@code index} (1-based) with SIGKILL, as a machine failure would. */
  public void killTaskManager(int index) {
    kill(taskManagerName(index));
  }

  /**
   * Kills the Kafka broker with SIGKILL, as a machine failure would; its data stays in the state
   * directory for {@link #startKafka}.
   */
  public void killKafka() {
    kill(KAFKA);
  }

  /**
   * Starts the Kafka broker again on its data and ports, e.g. after {@link #killKafka}, and waits
   * until it serves clients.
   *
   * @throws IllegalStateException when it already runs or does not come up (the message names its
   *     log)
   */
  public void startKafka(ClusterSettings settings) throws IOException {
    if (process(KAFKA).isPresent()) {
      throw new IllegalStateException(KAFKA + " is already running");
    }
    start(KAFKA, kafkaCommand(settings, state.resolve("conf").resolve("kafka.properties")));
    awaitKafka("localhost:" + settings.kafkaPort());
  }

  /** Kills executor process {@code index} (1-based) with SIGKILL, as a machine failure would. */
  public void killExecutor(int index) {
    kill(executorName(index));
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
    List<String> options = new ArrayList<>(executorOptions(settings, index));
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
    if (process(name).isPresent()) {
      throw new IllegalStateException(name + " is already running");
    }
    List<String> command =
        new ArrayList<>(
            List.of(
                "-Xmx256m",
                "-cp",
                classpath(settings.classpath()),
                "io.moeplan.launcher.Moeplan",
                "executor",
                "--bootstrap-servers",
                "localhost:" + settings.kafkaPort()));
    command.addAll(options);
    start(name, command);
  }

  /** Name of executor process {@code index} (1-based). */
  public static String executorName(int index) {
    return "executor-" + index;
  }

  private void kill(String name) {
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

  /** Starts TaskManager {@code index} (1-based) again, e.g. after {@link #killTaskManager}. */
  public void startTaskManager(ClusterSettings settings, int index) throws IOException {
    String name = taskManagerName(index);
    if (process(name).isPresent()) {
      throw new IllegalStateException(name + " is already running");
    }
    Files.createDirectories(state.resolve("rocksdb").resolve(name));
    start(name, taskManagerCommand(settings, name));
  }

  /** Whether the named process of this cluster runs. */
  public boolean isAlive(String name) {
    return process(name).isPresent();
  }

  /** Name of TaskManager {@code index} (1-based). */
  public static String taskManagerName(int index) {
    return "taskmanager-" + index;
  }

  /** The log file of a process. */
  public Path logFile(String name) {
    return state.resolve("logs").resolve(name + ".log");
  }

  /**
   * The launcher's own classpath, as the {@code moeplan} script runs it: the broker, the Flink
   * processes and the launcher share the jars.
   */
  public static List<Path> launcherClasspath() {
    List<Path> jars = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (entry.isBlank()) {
        continue;
      }
      if (entry.endsWith("*")) {
        // a wildcard entry names every jar of its folder
        Path folder = Path.of(entry.substring(0, entry.length() - 1)).toAbsolutePath();
        try (Stream<Path> files = Files.list(folder)) {
          files.filter(file -> file.toString().endsWith(".jar")).sorted().forEach(jars::add);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot list classpath folder " + folder, e);
        }
      } else {
        jars.add(Path.of(entry).toAbsolutePath());
      }
    }
    return jars;
  }

  // ---- processes

  private List<String> runningProcesses() {
    return processNames().stream()
        .filter(name -> process(name).isPresent())
        .map(name -> name + " pid " + recordedPid(name).orElse(-1L))
        .toList();
  }

  private List<String> processNames() {
    try (Stream<Path> files = Files.list(state.resolve("pids"))) {
      return files
          .map(file -> file.getFileName().toString())
          .filter(name -> name.endsWith(".pid"))
          .map(name -> name.substring(0, name.length() - ".pid".length()))
          .sorted(Comparator.comparingInt(LocalCluster::stopOrder).reversed())
          .toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  private static int stopOrder(String name) {
    if (name.startsWith("executor")) {
      return 0;
    }
    return name.startsWith("taskmanager") ? 1 : name.equals(JOB_MANAGER) ? 2 : 3;
  }

  private Path pidFile(String name) {
    return state.resolve("pids").resolve(name + ".pid");
  }

  private Optional<Long> recordedPid(String name) {
    try {
      return Optional.of(Long.parseLong(Files.readString(pidFile(name)).trim()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** The live process recorded under {@code name}, if its command line still is ours. */
  private Optional<ProcessHandle> process(String name) {
    String marker = logFile(name).toString();
    return recordedPid(name)
        .flatMap(ProcessHandle::of)
        .filter(ProcessHandle::isAlive)
        .filter(handle -> handle.info().commandLine().map(c -> c.contains(marker)).orElse(true));
  }

  private void start(String name, List<String> command) throws IOException {
    List<String> full = new ArrayList<>();
    full.add(javaBinary());
    full.add("-Dlog.file=" + logFile(name));
    full.add("-Dlog4j2.configurationFile=" + state.resolve("conf").resolve("log4j2.properties"));
    full.addAll(command);
    Path output = state.resolve("logs").resolve(name + ".out");
    Process process =
        new ProcessBuilder(full)
            .directory(state.toFile())
            .redirectErrorStream(true)
            // appended: a restarted process keeps the output of the one it replaces
            .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    Files.writeString(pidFile(name), Long.toString(process.pid()) + "\n");
  }

  private static void stop(ProcessHandle process) {
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

  private List<String> kafkaCommand(ClusterSettings settings, Path kafkaConfig) {
    return List.of(
        "-Xmx512m",
        "-Xms512m",
        "-cp",
        classpath(settings.classpath()),
        "kafka.Kafka",
        kafkaConfig.toString());
  }

  /**
   * A CPU executor hosting its share of the pool's ranks, with the dimensions shrunk so that the
   * experts' float32 reference compute runs a few iterations per second on a laptop.
   */
  private static List<String> executorOptions(ClusterSettings settings, int index) {
    int processes = settings.executors();
    int firstRank = (index - 1) * POOL_RANKS / processes;
    int workers = index * POOL_RANKS / processes - firstRank;
    List<String> command =
        new ArrayList<>(
            List.of(
                "--job",
                settings.pool().jobId(),
                "--backend",
                "cpu",
                "--workers",
                Integer.toString(workers),
                "--first-rank",
                Integer.toString(firstRank),
                "--world-size",
                Integer.toString(POOL_RANKS),
                "--rate",
                "2",
                "--hidden",
                Integer.toString(EXECUTOR_HIDDEN),
                "--ffn",
                Integer.toString(EXECUTOR_FFN),
                "--tokens-per-rank",
                Integer.toString(EXECUTOR_TOKENS_PER_RANK)));
    jobOption(settings, "--window-iterations")
        .ifPresent(v -> command.addAll(List.of("--window", v)));
    jobOption(settings, "--lead-iterations").ifPresent(v -> command.addAll(List.of("--lead", v)));
    return command;
  }

  /** Model width the cluster's CPU executors run (and its pool is built for). */
  private static final int EXECUTOR_HIDDEN = 64;

  /** Expert FFN width of the cluster's CPU executors. */
  private static final int EXECUTOR_FFN = 128;

  /** Tokens each rank of the cluster's CPU executors routes per layer and iteration. */
  private static final int EXECUTOR_TOKENS_PER_RANK = 64;

  private static Optional<String> jobOption(ClusterSettings settings, String option) {
    List<String> arguments = settings.jobArguments();
    for (int i = 0; i + 1 < arguments.size(); i++) {
      if (arguments.get(i).equals(option)) {
        return Optional.of(arguments.get(i + 1));
      }
    }
    return Optional.empty();
  }

  private List<String> jobManagerCommand(ClusterSettings settings) {
    List<String> command = new ArrayList<>(List.of("-Xmx512m", "-Xms512m"));
    command.addAll(FLINK_JAVA_OPTS);
    command.addAll(
        List.of(
            "-cp",
            classpath(flinkClasspath(settings.classpath())),
            "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
            "--configDir",
            state.resolve("conf").toString(),
            "--executionMode",
            "cluster"));
    return command;
  }

  private List<String> taskManagerCommand(ClusterSettings settings, String name) {
    Configuration flink = flinkConfiguration(settings);
    // the memory split the distribution's scripts get from BashJavaUtils GET_TM_RESOURCE_PARAMS
    TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(flink);
    List<String> command =
        new ArrayList<>(
            Arrays.asList(ProcessMemoryUtils.generateJvmParametersStr(spec).split(" ")));
    command.addAll(FLINK_JAVA_OPTS);
    command.addAll(
        List.of(
            "-cp",
            classpath(flinkClasspath(settings.classpath())),
            "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
            "--configDir",
            state.resolve("conf").toString()));
    for (String token :
        TaskExecutorProcessUtils.generateDynamicConfigsStr(spec).trim().split(" ")) {
      if (!token.isBlank()) {
        command.add(token);
      }
    }
    command.addAll(
        List.of(
            "-D",
            "taskmanager.resource-id=" + name,
            "-D",
            "state.backend.rocksdb.localdir=" + state.resolve("rocksdb").resolve(name)));
    return command;
  }

  static List<Path> flinkClasspath(List<Path> classpath) {
    return classpath.stream()
        .filter(
            jar -> {
              String file = jar.getFileName().toString();
              return NOT_FOR_FLINK.stream().noneMatch(file::startsWith);
            })
        .toList();
  }

  private static String classpath(List<Path> jars) {
    return jars.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
  }

  // ---- configuration files

  private void writeLogConfig() throws IOException {
    Files.writeString(
        state.resolve("conf").resolve("log4j2.properties"),
        String.join(
            "\n",
            "# written by moeplan cluster up: every process logs to the file -Dlog.file names",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = file",
            "appender.file.type = File",
            "appender.file.name = file",
            "appender.file.fileName = ${sys:log.file}",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss.SSS} %-5p %c{1.} [%t] - %m%n",
            "logger.kafkaclients.name = org.apache.kafka.clients",
            "logger.kafkaclients.level = WARN",
            ""));
  }

  /** The cluster's Flink configuration, written to conf/config.yaml. */
  Configuration flinkConfiguration(ClusterSettings settings) {
    Map<String, String> values = new LinkedHashMap<>();
    values.put("jobmanager.rpc.address", "localhost");
    values.put("jobmanager.rpc.port", Integer.toString(settings.rpcPort()));
    values.put("jobmanager.bind-host", "localhost");
    values.put("jobmanager.memory.process.size", "1024m");
    values.put("taskmanager.bind-host", "localhost");
    values.put("taskmanager.host", "localhost");
    values.put("taskmanager.numberOfTaskSlots", Integer.toString(settings.slotsPerTaskManager()));
    values.put("taskmanager.memory.process.size", settings.taskManagerMemory());
    values.put("rest.port", Integer.toString(settings.restPort()));
    values.put("rest.address", "localhost");
    values.put("rest.bind-address", "localhost");
    values.put("parallelism.default", Integer.toString(settings.parallelism()));
    values.put("state.backend.type", "rocksdb");
    values.put("execution.checkpointing.incremental", "true");
    values.put("execution.checkpointing.storage", "filesystem");
    values.put("execution.checkpointing.dir", state.resolve("checkpoints").toUri().toString());
    values.put("heartbeat.interval", "1000");
    values.put("heartbeat.timeout", Long.toString(settings.heartbeatTimeout().toMillis()));
    values.put("restart-strategy.type", "fixed-delay");
    values.put("restart-strategy.fixed-delay.attempts", Integer.toString(Integer.MAX_VALUE));
    values.put("restart-strategy.fixed-delay.delay", "1 s");
    values.put("io.tmp.dirs", state.resolve("tmp").toString());
    values.put("web.upload.dir", state.resolve("web").toString());
    values.put("web.tmpdir", state.resolve("web").toString());
    values.put("metrics.fetcher.update-interval", "1000");
    return Configuration.fromMap(values);
  }

  private void writeFlinkConfig(Configuration flink) throws IOException {
    StringBuilder yaml = new StringBuilder("# written by moeplan cluster up\n");
    for (Map.Entry<String, String> entry : flink.toMap().entrySet()) {
      yaml.append(entry.getKey()).append(": ").append(yamlValue(entry.getValue())).append('\n');
    }
    yaml.append("env.java.opts.all: ").append(String.join(" ", FLINK_JAVA_OPTS)).append('\n');
    Files.writeString(state.resolve("conf").resolve("config.yaml"), yaml.toString());
  }

  private static String yamlValue(String value) {
    return value.matches("[A-Za-z0-9_./:+-]+") ? value : "'" + value.replace("'", "''") + "'";
  }

  // ---- readiness, topics, pool

  private void awaitKafka(String bootstrapServers) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    try (Admin admin = admin(bootstrapServers)) {
      while (true) {
        requireAlive(KAFKA);
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
    try (Admin admin = admin(bootstrapServers)) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (Topic<?, ?> topic : topics) {
        if (!existing.contains(topic.name())) {
          missing.add(
              new NewTopic(topic.name(), KAFKA_PARTITIONS, (short) 1)
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
      requireAlive(JOB_MANAGER);
      for (int index = 1; index <= expected; index++) {
        requireAlive(taskManagerName(index));
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

  private void requireAlive(String name) {
    if (process(name).isEmpty()) {
      throw new IllegalStateException(
          name + " exited while starting; see " + logFile(name) + " and its .out beside it");
    }
  }

  /**
   * Builds and publishes the job's pool: for the example H100 cluster and GPT-MoE shape, or, when
   * the cluster runs CPU executors, for those executors' workers and dimensions ({@link
   * CpuWorkers}), so the selector plans for the computation that actually runs.
   */
  private static void publishPool(
      ClusterSettings.PoolSettings pool,
      boolean forCpuExecutors,
      String bootstrapServers,
      PrintStream out) {
    long started = System.nanoTime();
    ClusterSpec example = SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class);
    ModelSpec gpt = SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class);
    ClusterSpec cluster =
        forCpuExecutors ? CpuWorkers.cluster(example.nodes(), example.gpusPerNode()) : example;
    ModelSpec model =
        forCpuExecutors
            ? CpuWorkers.model(
                pool.layers(),
                gpt.expertCount(),
                gpt.topK(),
                EXECUTOR_HIDDEN,
                EXECUTOR_FFN,
                EXECUTOR_TOKENS_PER_RANK)
            : gpt.withMoeLayers(pool.layers());
    Pool built =
        new PoolSearch(cluster, model, PoolOptions.defaults()).search(ProgressListener.NONE);
    Properties client = new Properties();
    client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    try {
      PoolPublisher.publish(
          PoolRecords.toRecord(built, pool.jobId(), Instant.now(), "moeplan cluster up"),
          Topics.PLAN_POOL.name(),
          client);
    } catch (Exception e) {
      throw new IllegalStateException("cannot publish the pool to " + bootstrapServers, e);
    }
    out.printf(
        "pool for job '%s' (%d plans, %d layers) built and published in %.1f s%n",
        pool.jobId(), built.plans().size(), pool.layers(), (System.nanoTime() - started) / 1e9);
  }

  private static Admin admin(String bootstrapServers) {
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
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
