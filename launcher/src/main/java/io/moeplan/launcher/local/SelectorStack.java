package io.moeplan.launcher.local;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.flink.job.PlanSelectorJob;
import io.moeplan.launcher.Directories;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.launcher.kafka.KafkaSecurity;
import io.moeplan.poolloader.PoolPublisher;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The services every {@code moeplan local} mode runs on one machine: an embedded Kafka broker with
 * moeplan's topics, a plan pool published for the job, and a Flink MiniCluster with its dashboard
 * running {@link PlanSelectorJob} (checkpoints and RocksDB in a temporary directory). {@link
 * #start} returns once the job runs; {@link #close()} cancels it, stops the broker and deletes the
 * directory. What drives the job's loads is up to the caller: {@link LocalStack}'s in-process
 * executor, or an outside training job ({@link ExternalStack}).
 */
public final class SelectorStack implements AutoCloseable {

  /**
   * Where and how the stack runs.
   *
   * @param kafkaPort Kafka port (0 picks a free one)
   * @param uiPort Flink dashboard port
   * @param windowIterations the job's replan interval F
   * @param leadIterations the lead of a decision's effective iteration
   */
  public record Ports(int kafkaPort, int uiPort, int windowIterations, int leadIterations) {}

  /**
   * Who may use the stack's broker, and which topics the job serves.
   *
   * @param secure whether the broker is secured (SASL_SSL, SCRAM users, ACLs; see {@link
   *     KafkaSecurity}): the job, the pool loader and the tenant each connect as their own
   *     principal
   * @param topicPrefix the tenant's topic prefix ({@code P.moe.expert-load}, ...); empty for the
   *     plain topics
   */
  public record Access(boolean secure, String topicPrefix) {
    /** A plain broker and the plain topics, as before security existed. */
    public static final Access PLAIN = new Access(false, "");

    /** Checks the prefix. */
    public Access {
      KafkaSecurity.checkTenants(List.of(topicPrefix));
    }

    /** The name of a registered topic under this prefix. */
    public String topic(String name) {
      return Topics.prefixed(topicPrefix, name);
    }
  }

  private static final Duration START_BOUND = Duration.ofSeconds(60);
  private static final Duration CANCEL_BOUND = Duration.ofSeconds(30);

  private final Path workDirectory;
  private final int uiPort;
  private final Access access;
  private EmbeddedKafkaBroker broker;
  private JobClient job;

  private SelectorStack(Path workDirectory, int uiPort, Access access) {
    this.workDirectory = workDirectory;
    this.uiPort = uiPort;
    this.access = access;
  }

  /**
   * Starts the broker, publishes {@code pool} to {@link Topics#PLAN_POOL} and submits the
   * plan-selector job; returns once every task of the job runs. Whatever started is stopped again
   * when a later step fails.
   */
  public static SelectorStack start(Ports ports, PlanPool pool) throws Exception {
    return start(ports, pool, List.of());
  }

  /**
   * As {@link #start(Ports, PlanPool)}, with further options of the plan-selector job as its
   * command line takes them (e.g. {@code --static true}); the broker address, window, lead and
   * checkpoint directory are the stack's.
   *
   * @throws IllegalArgumentException when the job refuses an option, before anything starts
   */
  public static SelectorStack start(Ports ports, PlanPool pool, List<String> jobArguments)
      throws Exception {
    return start(ports, Access.PLAIN, pool, jobArguments);
  }

  /**
   * As {@link #start(Ports, PlanPool, List)}, on a broker secured or not and for the topics of a
   * tenant's prefix as {@code access} says; a secured broker's keys and client files are in {@link
   * #securityDirectory()}.
   */
  public static SelectorStack start(
      Ports ports, Access access, PlanPool pool, List<String> jobArguments) throws Exception {
    // refused here, before the broker starts, rather than after it
    List<String> check = new ArrayList<>(List.of("--bootstrap-servers", "localhost:9092"));
    check.addAll(jobArguments);
    PlanSelectorConfig.fromArgs(check.toArray(String[]::new));
    SelectorStack stack =
        new SelectorStack(Files.createTempDirectory("moeplan-local-"), ports.uiPort(), access);
    try {
      stack.broker =
          EmbeddedKafkaBroker.builder()
              .port(ports.kafkaPort())
              .dataDirectory(stack.workDirectory.resolve("kafka"))
              .secure(access.secure())
              .tenants(List.of(access.topicPrefix()))
              .build()
              .start();
      PoolPublisher.publish(
          pool,
          access.topic(Topics.PLAN_POOL.name()),
          access.secure()
              ? stack.broker.clientProperties(KafkaSecurity.POOL_LOADER)
              : stack.broker.clientProperties());
      List<String> arguments = new ArrayList<>(jobArguments);
      if (!access.topicPrefix().isEmpty()) {
        arguments.addAll(List.of("--topic-prefix", access.topicPrefix()));
      }
      if (access.secure()) {
        arguments.addAll(
            List.of(
                "--kafka-config",
                stack.broker.security().clientPropertiesFile(KafkaSecurity.JOB).toString()));
      }
      arguments.addAll(
          List.of(
              "--bootstrap-servers",
              stack.broker.bootstrapServers(),
              DecisionWindows.WINDOW_ITERATIONS_FLAG,
              Integer.toString(ports.windowIterations()),
              DecisionWindows.LEAD_ITERATIONS_FLAG,
              Integer.toString(ports.leadIterations()),
              "--checkpoint-dir",
              stack.checkpointDirectory().toUri().toString()));
      PlanSelectorConfig config = PlanSelectorConfig.fromArgs(arguments.toArray(String[]::new));
      stack.job = stack.submit(config);
      awaitRunning(stack.job);
      return stack;
    } catch (Exception | Error e) {
      stack.close();
      throw e;
    }
  }

  /** {@code host:port} of the broker. */
  public String bootstrapServers() {
    return broker.bootstrapServers();
  }

  /**
   * Client properties that reach the broker, to be extended by producers and consumers: on a
   * secured broker those of the tenant's principal (its executors and training job).
   */
  public Properties clientProperties() {
    return access.secure()
        ? broker.clientProperties(KafkaSecurity.tenantPrincipal(access.topicPrefix()))
        : broker.clientProperties();
  }

  /** Who may use the broker and which topics the job serves. */
  public Access access() {
    return access;
  }

  /**
   * The client properties file of the tenant's principal on a secured broker ({@code
   * --kafka-config} of moeplan's commands and the Python client).
   */
  public Path tenantClientFile() {
    return broker
        .security()
        .clientPropertiesFile(KafkaSecurity.tenantPrincipal(access.topicPrefix()));
  }

  /** Where a secured broker keeps its CA, keys and client properties files. */
  public Path securityDirectory() {
    return broker.security().directory();
  }

  /** The Flink dashboard's address. */
  public String dashboardUrl() {
    return "http://localhost:" + uiPort;
  }

  /** The plan-selector job's Flink id. */
  public JobID flinkJobId() {
    return job.getJobID();
  }

  /** Where the job writes its checkpoints. */
  public Path checkpointDirectory() {
    return workDirectory.resolve("checkpoints");
  }

  /** Cancels the job (waiting, bounded, until it ended), stops the broker, deletes the files. */
  @Override
  public void close() throws Exception {
    try {
      if (job != null) {
        cancelAndAwait(job);
      }
    } finally {
      try {
        if (broker != null) {
          broker.close();
        }
      } finally {
        Directories.deleteRecursively(workDirectory);
      }
    }
  }

  private JobClient submit(PlanSelectorConfig config) throws Exception {
    Configuration flink = PlanSelectorJob.flinkConfiguration(config);
    flink.set(RestOptions.PORT, uiPort);
    flink.set(RestOptions.BIND_ADDRESS, "localhost");
    flink.set(TaskManagerOptions.NUM_TASK_SLOTS, config.parallelism());
    // the dashboard refreshes metrics every second instead of every ten
    flink.set(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL, Duration.ofSeconds(1));
    flink.set(RocksDBOptions.LOCAL_DIRECTORIES, workDirectory.resolve("rocksdb").toString());
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(flink);
    PlanSelectorJob.attachKafka(env, config);
    return env.executeAsync(PlanSelectorJob.JOB_NAME);
  }

  /** Waits (bounded) until every task of the job runs, so the first windows are not stalled. */
  private static void awaitRunning(JobClient job) throws Exception {
    long deadline = System.nanoTime() + START_BOUND.toNanos();
    while (job.getJobStatus().get() != JobStatus.RUNNING) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "the plan-selector job did not start within " + START_BOUND.toSeconds() + " s");
      }
      Thread.sleep(50);
    }
  }

  /** Cancels the job and waits (bounded) until it ended, so no checkpoint is left half-written. */
  private static void cancelAndAwait(JobClient job) throws Exception {
    try {
      job.cancel().get();
    } catch (ExecutionException | IllegalStateException e) {
      return; // the job already ended, or its MiniCluster shut down
    }
    long deadline = System.nanoTime() + CANCEL_BOUND.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (job.getJobStatus().get().isGloballyTerminalState()) {
          return;
        }
      } catch (ExecutionException | IllegalStateException e) {
        return; // the job's MiniCluster no longer knows it, or has shut down: it has ended
      }
      Thread.sleep(50);
    }
  }
}
