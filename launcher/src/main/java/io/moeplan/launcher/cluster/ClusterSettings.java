package io.moeplan.launcher.cluster;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.schemas.JobIds;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@link LocalCluster} starts: where it keeps its state, its ports, its size, the jars it runs
 * and whether it submits the job and publishes a pool.
 *
 * @param stateDirectory PIDs, ports, logs, Kafka data and checkpoints
 * @param kafkaPort the broker's client port
 * @param kafkaControllerPort the broker's KRaft controller port
 * @param restPort the Flink dashboard and REST port
 * @param rpcPort the JobManager's RPC port
 * @param taskManagers number of TaskManager processes
 * @param slotsPerTaskManager task slots of each TaskManager
 * @param taskManagerMemory {@code taskmanager.memory.process.size} of each TaskManager
 * @param heartbeatTimeout how long the JobManager waits before it declares a silent TaskManager
 *     lost
 * @param classpath the launcher's jars: the broker runs on all of them, Flink on its own subset
 * @param jobJar the shaded job jar submitted to the cluster
 * @param submitJob whether {@link LocalCluster#up()} submits the plan-selector job
 * @param jobArguments arguments of the job (its {@code --option value} pairs) besides the bootstrap
 *     servers and checkpoint directory the cluster sets
 * @param jobConfig the job's settings as the cluster submits it, parsed once from {@code
 *     jobArguments} with the cluster's bootstrap servers and parallelism: e.g. the decision window
 *     the executors follow
 * @param parallelism the job's parallelism
 * @param pool whether {@link LocalCluster#up()} builds and publishes a pool, and for which job
 * @param executors CPU executor processes {@code up} starts for the pool's job (they need a pool),
 *     sharing its ranks
 * @param secure whether the broker runs SASL_SSL with SCRAM users and ACLs, every process
 *     connecting as its own principal with the client files in {@code security/} ({@link
 *     io.moeplan.launcher.kafka.KafkaSecurity})
 */
public record ClusterSettings(
    Path stateDirectory,
    int kafkaPort,
    int kafkaControllerPort,
    int restPort,
    int rpcPort,
    int taskManagers,
    int slotsPerTaskManager,
    String taskManagerMemory,
    Duration heartbeatTimeout,
    List<Path> classpath,
    Path jobJar,
    boolean submitJob,
    List<String> jobArguments,
    PlanSelectorConfig jobConfig,
    int parallelism,
    PoolSettings pool,
    int executors,
    boolean secure) {

  /**
   * The pool {@code up} builds with the built-in example specs and publishes.
   *
   * @param jobId the training job the pool is for
   * @param layers MoE layers of the model
   */
  public record PoolSettings(String jobId, int layers) {

    /** Checks the job id ({@link JobIds}) and the layers. */
    public PoolSettings {
      JobIds.requireValid(jobId);
      if (layers < 1) {
        throw new IllegalArgumentException("layers must be >= 1, got " + layers);
      }
    }
  }

  /** Checks the values, naming the setting of a bad one. */
  public ClusterSettings {
    requirePort(kafkaPort, "kafka port");
    requirePort(kafkaControllerPort, "kafka controller port");
    requirePort(restPort, "dashboard port");
    requirePort(rpcPort, "JobManager RPC port");
    if (taskManagers < 1) {
      throw new IllegalArgumentException("task managers must be >= 1, got " + taskManagers);
    }
    if (slotsPerTaskManager < 1) {
      throw new IllegalArgumentException("slots must be >= 1, got " + slotsPerTaskManager);
    }
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism must be >= 1, got " + parallelism);
    }
    if (parallelism > taskManagers * slotsPerTaskManager) {
      throw new IllegalArgumentException(
          "parallelism "
              + parallelism
              + " needs more slots than "
              + taskManagers
              + " task managers x "
              + slotsPerTaskManager
              + " slots");
    }
    if (executors < 0) {
      throw new IllegalArgumentException("executors must be >= 0, got " + executors);
    }
    if (executors > 0 && pool == null) {
      throw new IllegalArgumentException("executors need the pool that up publishes");
    }
    Objects.requireNonNull(jobConfig, "jobConfig");
    stateDirectory = stateDirectory.toAbsolutePath().normalize();
    classpath = List.copyOf(classpath);
    jobArguments = List.copyOf(jobArguments);
  }

  /** Settings with the defaults of {@code moeplan cluster up} on the given state directory. */
  public static Builder builder(Path stateDirectory, List<Path> classpath, Path jobJar) {
    return new Builder(stateDirectory, classpath, jobJar);
  }

  private static void requirePort(int port, String name) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(name + " must be in 1..65535, got " + port);
    }
  }

  /** Builds {@link ClusterSettings}; every value but the directory and the jars has a default. */
  public static final class Builder {
    private final Path stateDirectory;
    private final List<Path> classpath;
    private final Path jobJar;
    private int kafkaPort = 9092;
    private int kafkaControllerPort = 9093;
    private int restPort = 8081;
    private int rpcPort = 6123;
    private int taskManagers = 2;
    private int slotsPerTaskManager = 2;
    private String taskManagerMemory = "1280m";
    private Duration heartbeatTimeout = Duration.ofSeconds(10);
    private boolean submitJob = true;
    private final List<String> jobArguments = new ArrayList<>();
    private int parallelism = 2;
    private PoolSettings pool = new PoolSettings("default", 12);
    private int executors;
    private boolean secure;

    private Builder(Path stateDirectory, List<Path> classpath, Path jobJar) {
      this.stateDirectory = stateDirectory;
      this.classpath = classpath;
      this.jobJar = jobJar;
    }

    /** The broker's client port (default 9092). */
    public Builder kafkaPort(int value) {
      kafkaPort = value;
      return this;
    }

    /** The broker's controller port (default 9093). */
    public Builder kafkaControllerPort(int value) {
      kafkaControllerPort = value;
      return this;
    }

    /** The dashboard and REST port (default 8081). */
    public Builder restPort(int value) {
      restPort = value;
      return this;
    }

    /** The JobManager's RPC port (default 6123). */
    public Builder rpcPort(int value) {
      rpcPort = value;
      return this;
    }

    /** TaskManager processes (default 2). */
    public Builder taskManagers(int value) {
      taskManagers = value;
      return this;
    }

    /** Slots per TaskManager (default 2, so one TaskManager can run the whole job). */
    public Builder slotsPerTaskManager(int value) {
      slotsPerTaskManager = value;
      return this;
    }

    /** Process memory of each TaskManager (default 1280m). */
    public Builder taskManagerMemory(String value) {
      taskManagerMemory = value;
      return this;
    }

    /** How long a silent TaskManager counts as alive (default 10 s). */
    public Builder heartbeatTimeout(Duration value) {
      heartbeatTimeout = value;
      return this;
    }

    /** Whether {@code up} submits the job (default true). */
    public Builder submitJob(boolean value) {
      submitJob = value;
      return this;
    }

    /** Adds job arguments ({@code --option value} pairs). */
    public Builder jobArguments(List<String> values) {
      jobArguments.addAll(values);
      return this;
    }

    /** The job's parallelism (default 2). */
    public Builder parallelism(int value) {
      parallelism = value;
      return this;
    }

    /** The pool {@code up} publishes, or null for none (default: job "default", 12 layers). */
    public Builder pool(PoolSettings value) {
      pool = value;
      return this;
    }

    /** Whether the broker is secured (default false). */
    public Builder secure(boolean value) {
      secure = value;
      return this;
    }

    /** CPU executor processes for the pool's job (default 0). */
    public Builder executors(int value) {
      executors = value;
      return this;
    }

    /** The job's arguments parsed as the job parses them, with the cluster's own. */
    private PlanSelectorConfig jobConfig() {
      List<String> arguments =
          new ArrayList<>(
              List.of(
                  "--bootstrap-servers",
                  "localhost:" + kafkaPort,
                  "--parallelism",
                  Integer.toString(parallelism)));
      arguments.addAll(jobArguments);
      try {
        return PlanSelectorConfig.fromArgs(arguments.toArray(String[]::new));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "job arguments " + jobArguments + ": " + e.getMessage(), e);
      }
    }

    /**
     * The settings.
     *
     * @throws IllegalArgumentException naming a bad value, or a job argument the job would refuse
     */
    public ClusterSettings build() {
      return new ClusterSettings(
          stateDirectory,
          kafkaPort,
          kafkaControllerPort,
          restPort,
          rpcPort,
          taskManagers,
          slotsPerTaskManager,
          taskManagerMemory,
          heartbeatTimeout,
          classpath,
          jobJar,
          submitJob,
          jobArguments,
          jobConfig(),
          parallelism,
          pool,
          executors,
          secure);
    }
  }
}
