package io.moeplan.launcher.cluster;

import io.moeplan.launcher.CpuExecutorPool;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.launcher.kafka.KafkaSecurity;
import io.moeplan.schemas.DecisionWindows;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.kafka.common.Uuid;

/**
 * How the cluster's processes are configured and started: the files in {@code conf/} (the broker's
 * properties, Flink's {@code config.yaml}, the log4j2 configuration every process shares) and the
 * command line of the broker, the JobManager, the TaskManagers and the executors.
 */
final class ClusterConfiguration {

  /** Partitions of every topic the cluster creates, and the broker's default. */
  static final int KAFKA_PARTITIONS = 2;

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
  private final ClusterSettings settings;

  /** The configuration of the cluster {@code settings} describe. */
  ClusterConfiguration(ClusterSettings settings) {
    this.state = settings.stateDirectory();
    this.settings = settings;
  }

  /** The log4j2 configuration every process of the cluster in {@code state} logs with. */
  static Path logConfigFile(Path state) {
    return state.resolve("conf").resolve("log4j2.properties");
  }

  /**
   * Writes the files of {@code conf/} and formats the broker's (empty) data directory with a new
   * cluster id.
   */
  void write() throws IOException {
    writeLogConfig();
    Properties broker =
        EmbeddedKafkaBroker.singleNodeProperties(
            settings.kafkaPort(),
            settings.kafkaControllerPort(),
            state.resolve("kafka"),
            KAFKA_PARTITIONS);
    List<String> formatArguments = List.of();
    if (settings.secure()) {
      KafkaSecurity security = KafkaSecurity.prepare(securityDirectory(state), List.of(""));
      broker.putAll(
          security.serverProperties(settings.kafkaPort(), settings.kafkaControllerPort()));
      formatArguments = security.formatArguments();
      security.writeClientFiles("localhost:" + settings.kafkaPort());
    }
    EmbeddedKafkaBroker.format(
        broker, kafkaConfigFile(), Uuid.randomUuid().toString(), formatArguments);
    writeFlinkConfig();
  }

  /** Where a secured cluster keeps its CA, keys, secrets and client properties files. */
  static Path securityDirectory(Path state) {
    return state.resolve("security");
  }

  /** The client properties file of {@code user} of a secured cluster. */
  static Path clientFile(Path state, String user) {
    return securityDirectory(state).resolve(user + ".properties");
  }

  /** The broker's command line ({@code kafka.Kafka} on {@code conf/kafka.properties}). */
  List<String> kafkaCommand() {
    return List.of(
        "-Xmx512m",
        "-Xms512m",
        "-cp",
        classpath(settings.classpath()),
        "kafka.Kafka",
        kafkaConfigFile().toString());
  }

  /** The standalone JobManager's command line. */
  List<String> jobManagerCommand() {
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

  /**
   * The command line of the TaskManager {@code name}: the JVM memory split the distribution's
   * scripts compute, and its own resource id and RocksDB directory.
   */
  List<String> taskManagerCommand(String name) {
    Configuration flink = flinkConfiguration();
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
            TaskManagerOptions.TASK_MANAGER_RESOURCE_ID.key() + "=" + name,
            "-D",
            RocksDBOptions.LOCAL_DIRECTORIES.key() + "=" + rocksDbDirectory(name)));
    return command;
  }

  /** Where TaskManager {@code name} keeps its RocksDB files. */
  Path rocksDbDirectory(String name) {
    return state.resolve("rocksdb").resolve(name);
  }

  /**
   * The command line of a {@code moeplan executor} on the cluster's broker with these options (all
   * but {@code --bootstrap-servers}).
   */
  List<String> executorCommand(List<String> options) {
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
    if (settings.secure()) {
      command.addAll(
          List.of(
              "--kafka-config", clientFile(state, KafkaSecurity.tenantPrincipal("")).toString()));
    }
    command.addAll(options);
    return command;
  }

  /**
   * Options of executor process {@code index} (1-based) of {@code processes}: a CPU executor
   * hosting its share of the pool's ranks at the pool's small dimensions ({@link
   * PoolBootstrap#cpuPool}), so that the experts' float32 reference compute runs a few iterations
   * per second on a laptop.
   */
  List<String> executorOptions(int index) {
    CpuExecutorPool pool = PoolBootstrap.cpuPool(settings.pool().layers());
    int processes = settings.executors();
    int ranks = pool.ranks();
    int firstRank = (index - 1) * ranks / processes;
    int workers = index * ranks / processes - firstRank;
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
                Integer.toString(ranks),
                "--rate",
                "2"));
    command.addAll(pool.executorArguments());
    // the decision window of the job the executors follow
    command.addAll(
        List.of(
            DecisionWindows.WINDOW_ITERATIONS_FLAG,
            Integer.toString(settings.jobConfig().windowIterations()),
            DecisionWindows.LEAD_ITERATIONS_FLAG,
            Integer.toString(settings.jobConfig().leadIterations())));
    return command;
  }

  /**
   * The cluster's Flink configuration, written to conf/config.yaml: everything on localhost,
   * RocksDB with incremental checkpoints in {@code checkpoints/}, a fixed-delay restart on every
   * failure, and heartbeats often enough that a lost TaskManager is noticed within the settings'
   * timeout.
   */
  Configuration flinkConfiguration() {
    Configuration flink = new Configuration();
    flink.set(JobManagerOptions.ADDRESS, "localhost");
    flink.set(JobManagerOptions.PORT, settings.rpcPort());
    flink.set(JobManagerOptions.BIND_HOST, "localhost");
    flink.set(JobManagerOptions.TOTAL_PROCESS_MEMORY, MemorySize.parse("1024m"));
    flink.set(TaskManagerOptions.BIND_HOST, "localhost");
    flink.set(TaskManagerOptions.HOST, "localhost");
    flink.set(TaskManagerOptions.NUM_TASK_SLOTS, settings.slotsPerTaskManager());
    flink.set(
        TaskManagerOptions.TOTAL_PROCESS_MEMORY, MemorySize.parse(settings.taskManagerMemory()));
    flink.set(RestOptions.PORT, settings.restPort());
    flink.set(RestOptions.ADDRESS, "localhost");
    flink.set(RestOptions.BIND_ADDRESS, "localhost");
    flink.set(CoreOptions.DEFAULT_PARALLELISM, settings.parallelism());
    flink.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
    flink.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
    flink.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
    flink.set(
        CheckpointingOptions.CHECKPOINTS_DIRECTORY,
        state.resolve("checkpoints").toUri().toString());
    flink.set(HeartbeatManagerOptions.HEARTBEAT_INTERVAL, Duration.ofSeconds(1));
    flink.set(HeartbeatManagerOptions.HEARTBEAT_TIMEOUT, settings.heartbeatTimeout());
    flink.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, Integer.MAX_VALUE);
    flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
    flink.set(CoreOptions.TMP_DIRS, state.resolve("tmp").toString());
    flink.set(WebOptions.UPLOAD_DIR, state.resolve("web").toString());
    flink.set(WebOptions.TMP_DIR, state.resolve("web").toString());
    flink.set(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL, Duration.ofSeconds(1));
    flink.set(CoreOptions.FLINK_JVM_OPTIONS, String.join(" ", FLINK_JAVA_OPTS));
    return flink;
  }

  private Path kafkaConfigFile() {
    return state.resolve("conf").resolve("kafka.properties");
  }

  private void writeLogConfig() throws IOException {
    Files.writeString(
        logConfigFile(state),
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

  /**
   * Writes the {@link #flinkConfiguration} as Flink's {@code conf/config.yaml}, one {@code key:
   * value} line per option.
   */
  void writeFlinkConfig() throws IOException {
    StringBuilder yaml = new StringBuilder("# written by moeplan cluster up\n");
    new TreeMap<>(flinkConfiguration().toMap())
        .forEach(
            (key, value) -> yaml.append(key).append(": ").append(yamlValue(value)).append('\n'));
    Files.writeString(state.resolve("conf").resolve("config.yaml"), yaml.toString());
  }

  private static String yamlValue(String value) {
    return value.matches("[A-Za-z0-9_./:+-]+") ? value : "'" + value.replace("'", "''") + "'";
  }

  /** The launcher's jars the Flink processes run on: all but those {@link #NOT_FOR_FLINK}. */
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

  /** This JVM's classpath as jars, a wildcard entry expanded to the jars of its folder. */
  static List<Path> launcherClasspath() {
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
}
