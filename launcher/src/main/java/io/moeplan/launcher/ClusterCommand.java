package io.moeplan.launcher;

import io.moeplan.launcher.cluster.ClusterSettings;
import io.moeplan.launcher.cluster.ClusterStatus;
import io.moeplan.launcher.cluster.FlinkRest;
import io.moeplan.launcher.cluster.LocalCluster;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code moeplan cluster}: the topology as separate processes on this machine. */
@Command(
    name = "cluster",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the topology as separate processes on this machine, from the project's jars: a Kafka"
          + " broker, a Flink standalone JobManager (dashboard on --ui-port) and TaskManagers,"
          + " the plan-selector job submitted through Flink's REST API, a plan pool built and"
          + " published for the job, and CPU executors running the job's ranks.",
      "State (PIDs, ports, logs, Kafka data, checkpoints) lives in --state-dir; 'down' and"
          + " 'status' find the cluster there."
    },
    subcommands = {
      ClusterCommand.Up.class,
      ClusterCommand.Down.class,
      ClusterCommand.Status.class,
      ClusterCommand.Submit.class
    })
final class ClusterCommand implements Runnable {

  static final String DEFAULT_STATE_DIR = ".moeplan/cluster";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The {@code --state-dir} option of up, down and status. */
  static final class StateDir {
    @Option(
        names = "--state-dir",
        defaultValue = DEFAULT_STATE_DIR,
        description = "Directory of the cluster's state. Default: ${DEFAULT-VALUE}.")
    Path dir;
  }

  /** {@code moeplan cluster up}. */
  @Command(
      name = "up",
      mixinStandardHelpOptions = true,
      description = {
        "Starts the broker, the JobManager and the TaskManagers, creates the topics, publishes a"
            + " pool built from the built-in example specs, submits the plan-selector job and"
            + " starts the executors; returns once all of it runs. The processes keep running after"
            + " this command ends.",
        "Data of an earlier cluster in --state-dir is removed first."
      })
  static final class Up implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Mixin StateDir state;

    @Option(
        names = "--kafka-port",
        defaultValue = "9092",
        description = "Kafka client port. Default: ${DEFAULT-VALUE}.")
    int kafkaPort;

    @Option(
        names = "--kafka-controller-port",
        defaultValue = "9093",
        description = "Kafka KRaft controller port. Default: ${DEFAULT-VALUE}.")
    int kafkaControllerPort;

    @Option(
        names = "--ui-port",
        defaultValue = "8081",
        description = "Flink dashboard and REST port. Default: ${DEFAULT-VALUE}.")
    int uiPort;

    @Option(
        names = "--rpc-port",
        defaultValue = "6123",
        description = "Flink JobManager RPC port. Default: ${DEFAULT-VALUE}.")
    int rpcPort;

    @Option(
        names = "--task-managers",
        defaultValue = "2",
        description = "TaskManager processes. Default: ${DEFAULT-VALUE}.")
    int taskManagers;

    @Option(
        names = "--slots",
        defaultValue = "2",
        description =
            "Task slots per TaskManager; with the default, one TaskManager can run the whole job"
                + " when the other fails. Default: ${DEFAULT-VALUE}.")
    int slots;

    @Option(
        names = "--parallelism",
        defaultValue = "2",
        description = "Parallelism of the job. Default: ${DEFAULT-VALUE}.")
    int parallelism;

    @Option(
        names = "--job-jar",
        description =
            "The shaded job jar to submit. Default: flink-jobs/target/moeplan-flink-jobs-*-job.jar"
                + " of this build.")
    Path jobJar;

    @Option(
        names = "--job",
        defaultValue = "default",
        description = "Training job id the published pool is for. Default: ${DEFAULT-VALUE}.")
    String job;

    @Option(
        names = "--layers",
        defaultValue = "12",
        description = "MoE layers of the pool's model. Default: ${DEFAULT-VALUE}.")
    int layers;

    @Option(names = "--no-pool", description = "Publish no pool (and start no executors).")
    boolean noPool;

    @Option(
        names = "--executors",
        defaultValue = "1",
        description =
            "CPU executor processes sharing the pool's 8 ranks (a gated synthetic token stream,"
                + " dimensions shrunk for a CPU), 0 for none. Default: ${DEFAULT-VALUE}.")
    int executors;

    @Option(
        names = "--secure",
        description =
            "Secure the broker: SASL_SSL with SCRAM-SHA-512 users, a CA and key pair generated"
                + " into STATE-DIR/security, ACLs per principal; the job, the pool loader and the"
                + " executors connect as their own principal with the client properties files"
                + " there (mode 600; passwords never printed). See docs/security.md.")
    boolean secure;

    @Option(names = "--no-job", description = "Start the processes but submit no job.")
    boolean noJob;

    @Option(
        names = "--job-option",
        description =
            "A further option of the plan-selector job, KEY=VALUE (e.g. window-iterations=20);"
                + " repeatable.")
    Map<String, String> jobOptions = Map.of();

    @Override
    public Integer call() throws IOException {
      if (layers < 1) {
        throw new ParameterException(spec.commandLine(), "--layers must be >= 1, got " + layers);
      }
      List<String> jobArguments = new ArrayList<>();
      jobOptions.forEach(
          (key, value) -> {
            jobArguments.add("--" + key);
            jobArguments.add(value);
          });
      ClusterSettings settings;
      try {
        settings =
            ClusterSettings.builder(
                    state.dir,
                    LocalCluster.launcherClasspath(),
                    jobJar != null ? jobJar : defaultJobJar())
                .kafkaPort(kafkaPort)
                .kafkaControllerPort(kafkaControllerPort)
                .restPort(uiPort)
                .rpcPort(rpcPort)
                .taskManagers(taskManagers)
                .slotsPerTaskManager(slots)
                .parallelism(parallelism)
                .submitJob(!noJob)
                .jobArguments(jobArguments)
                .pool(noPool ? null : new ClusterSettings.PoolSettings(job, layers))
                .executors(noPool || noJob ? 0 : executors)
                .secure(secure)
                .build();
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage(), e);
      }
      Files.createDirectories(settings.stateDirectory());
      LocalCluster cluster = new LocalCluster(settings.stateDirectory());
      try {
        cluster.up(settings, System.out);
      } catch (IllegalStateException | IOException e) {
        spec.commandLine().getErr().printf("cluster up: %s%n", e.getMessage());
        if (!e.getMessage().startsWith("a cluster already runs")) {
          cluster.down();
        }
        return 1;
      }
      System.out.println("stop it with: moeplan cluster down");
      return 0;
    }
  }

  /** The job jar next to this launcher's build: flink-jobs/target/*-job.jar. */
  static Path defaultJobJar() {
    Path root = Path.of("").toAbsolutePath();
    try {
      Path location =
          Path.of(ClusterCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      // launcher/target/moeplan-launcher.jar or launcher/target/classes
      if (location.getParent() != null
          && location.getParent().getParent() != null
          && location.getParent().getParent().getParent() != null) {
        root = location.getParent().getParent().getParent();
      }
    } catch (URISyntaxException | SecurityException e) {
      // fall back to the working directory
    }
    Path target = root.resolve("flink-jobs").resolve("target");
    if (Files.isDirectory(target)) {
      try (DirectoryStream<Path> jars =
          Files.newDirectoryStream(target, "moeplan-flink-jobs-*-job.jar")) {
        for (Path jar : jars) {
          return jar;
        }
      } catch (IOException e) {
        // reported as a missing jar below
      }
    }
    return target.resolve("moeplan-flink-jobs-job.jar");
  }

  /** {@code moeplan cluster submit}. */
  @Command(
      name = "submit",
      mixinStandardHelpOptions = true,
      description = {
        "Submits the plan-selector job to a running Flink cluster through its REST API: uploads"
            + " the job jar and runs it. Waits (up to --wait) until the cluster answers and has a"
            + " TaskManager, so it can run as a one-shot service beside the cluster.",
        "Prints the job id."
      })
  static final class Submit implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
        names = "--rest-address",
        defaultValue = "localhost:8081",
        description = "HOST:PORT of the JobManager's REST API. Default: ${DEFAULT-VALUE}.")
    String restAddress;

    @Option(
        names = "--job-jar",
        description =
            "The shaded job jar. Default: flink-jobs/target/moeplan-flink-jobs-*-job.jar of this"
                + " build.")
    Path jobJar;

    @Option(
        names = "--parallelism",
        defaultValue = "2",
        description = "Parallelism of the job. Default: ${DEFAULT-VALUE}.")
    int parallelism;

    @Option(
        names = "--wait",
        defaultValue = "120",
        description = "Seconds to wait for the cluster to answer. Default: ${DEFAULT-VALUE}.")
    int waitSeconds;

    @Parameters(
        paramLabel = "JOB-ARGUMENTS",
        description =
            "The job's own arguments after '--', e.g. -- --bootstrap-servers kafka:19092"
                + " --checkpoint-dir file:///checkpoints.")
    List<String> jobArguments = new ArrayList<>();

    @Override
    public Integer call() throws IOException, InterruptedException {
      int colon = restAddress.lastIndexOf(':');
      int port;
      try {
        port = Integer.parseInt(restAddress.substring(colon + 1));
      } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
        throw new ParameterException(
            spec.commandLine(), "--rest-address must be HOST:PORT, got '" + restAddress + "'");
      }
      if (colon <= 0) {
        throw new ParameterException(
            spec.commandLine(), "--rest-address must be HOST:PORT, got '" + restAddress + "'");
      }
      Path jar = jobJar != null ? jobJar : defaultJobJar();
      if (!Files.isRegularFile(jar)) {
        spec.commandLine()
            .getErr()
            .printf(
                "cluster submit: job jar %s not found: build it with 'mvn -B -DskipTests"
                    + " install', or pass --job-jar%n",
                jar);
        return 1;
      }
      FlinkRest rest = new FlinkRest(restAddress.substring(0, colon), port);
      long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
      while (rest.taskManagers().orElse(0) < 1) {
        if (System.nanoTime() > deadline) {
          spec.commandLine()
              .getErr()
              .printf(
                  "cluster submit: no Flink cluster with a TaskManager at %s after %d s%n",
                  rest.address(), waitSeconds);
          return 1;
        }
        Thread.sleep(500);
      }
      String jobId = rest.run(rest.upload(jar), jobArguments, parallelism);
      spec.commandLine().getOut().printf("submitted %s as job %s%n", jar.getFileName(), jobId);
      return 0;
    }
  }

  /** {@code moeplan cluster down}. */
  @Command(
      name = "down",
      mixinStandardHelpOptions = true,
      description =
          "Cancels the job and stops every process of the cluster; logs, Kafka data and"
              + " checkpoints stay in --state-dir. Running it again does nothing.")
  static final class Down implements Callable<Integer> {

    @Mixin StateDir state;

    @Override
    public Integer call() throws IOException {
      List<String> stopped = new LocalCluster(state.dir).down();
      if (stopped.isEmpty()) {
        System.out.printf("no cluster running in %s%n", state.dir.toAbsolutePath().normalize());
      } else {
        stopped.forEach(name -> System.out.printf("stopped %s%n", name));
      }
      return 0;
    }
  }

  /** {@code moeplan cluster status}. */
  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description =
          "Shows each process of the cluster (running or stopped, its log) and the job's state;"
              + " exits with 0 while any process runs, 3 when none does.")
  static final class Status implements Callable<Integer> {

    @Mixin StateDir state;

    @Override
    public Integer call() {
      ClusterStatus status = new LocalCluster(state.dir).status();
      status.print(System.out);
      return status.anyRunning() ? 0 : 3;
    }
  }
}
