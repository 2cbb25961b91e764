package io.moeplan.launcher;

import io.moeplan.planner.pool.ConfigScore;
import io.moeplan.planner.pool.LoadHistory;
import io.moeplan.planner.pool.Plan;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.poolloader.KafkaAccessErrors;
import io.moeplan.poolloader.PoolFiles;
import io.moeplan.poolloader.PoolPublisher;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.poolloader.TraceHistory;
import io.moeplan.schemas.JobIds;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Tenants;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moeplan pool}: builds plan pools offline and publishes them. */
@Command(
    name = "pool",
    mixinStandardHelpOptions = true,
    description = "Builds a plan pool from cluster and model specs, and publishes it to Kafka.",
    subcommands = {PoolCommand.Build.class, PoolCommand.Publish.class})
final class PoolCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code moeplan pool build}. */
  @Command(
      name = "build",
      mixinStandardHelpOptions = true,
      description = {
        "Searches the parallel configs valid for the cluster and model, keeps the best, and writes"
            + " a pool of plans (a placement per MoE layer for each load regime) to --out.",
        "With --parallel tp=N,pp=N,dp=N,ep=N,slots=N the job's fixed parallel config is the only"
            + " one searched; --start-layout gives the expert layout the job starts on.",
        "Without --trace the representative loads come from a seeded synthetic skew model."
      })
  static final class Build implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
        names = "--cluster",
        description =
            "Cluster spec (YAML or JSON). Default: the built-in example cluster-h100-2x8.yaml"
                + " (2 nodes x 8 H100, where the default model fits).")
    Path cluster;

    @Option(
        names = "--model",
        description =
            "Model spec (YAML or JSON). Default: the built-in example model-gpt-moe.yaml.")
    Path model;

    @Option(
        names = "--trace",
        description =
            "Build from this expert-load trace (CSV iteration,rank,layer,e0,...; .gz allowed)"
                + " instead of synthetic loads; its expert count must match the model's. Model"
                + " layer l takes the file's l-th layer in order, so a file of layers 12-23"
                + " serves a 12-layer model.")
    Path trace;

    @Option(
        names = "--trace-samples",
        defaultValue = "1000",
        description = "Trace samples (iterations) read at most. Default: ${DEFAULT-VALUE}.")
    int traceSamples;

    @Mixin JobLayoutOptions layout;

    @Option(names = "--out", required = true, description = "Pool file to write.")
    Path out;

    @Option(
        names = "--job",
        defaultValue = "default",
        description = "Job id the pool is for. Default: ${DEFAULT-VALUE}.")
    String job;

    @Option(
        names = "--pool-version",
        defaultValue = "1",
        description = "Version written into the pool. Default: ${DEFAULT-VALUE}.")
    long poolVersion;

    @Option(
        names = "--pool-size",
        defaultValue = "" + PoolOptions.DEFAULT_POOL_SIZE,
        description = "Parallel configs kept. Default: ${DEFAULT-VALUE}.")
    int poolSize;

    @Option(
        names = "--plans-per-config",
        defaultValue = "" + PoolOptions.DEFAULT_PLANS_PER_CONFIG,
        description = "Plans (load regimes) per kept config. Default: ${DEFAULT-VALUE}.")
    int plansPerConfig;

    @Option(
        names = "--seed",
        defaultValue = "" + PoolOptions.DEFAULT_SEED,
        description = "Seed of the synthetic loads. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() throws IOException {
      String problem = JobIds.problem(job);
      if (problem != null) {
        throw new ParameterException(spec.commandLine(), "--job: " + problem);
      }
      PrintWriter stdout = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      ClusterSpec clusterSpec =
          cluster == null
              ? SpecLoader.loadExample("cluster-h100-2x8.yaml", ClusterSpec.class)
              : SpecLoader.loadCluster(cluster);
      ModelSpec modelSpec =
          model == null
              ? SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class)
              : SpecLoader.loadModel(model);
      PoolOptions options;
      try {
        options =
            PoolOptions.defaults()
                .withPoolSize(poolSize)
                .withPlansPerConfig(plansPerConfig)
                .withPoolVersion(poolVersion);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage(), e);
      }
      options = options.withSynthetic(options.syntheticSamples(), seed);
      LoadHistory history = null;
      if (trace != null) {
        try {
          history = TraceHistory.read(trace, modelSpec.moeLayers(), traceSamples);
        } catch (IllegalArgumentException | NoSuchFileException e) {
          throw new ParameterException(spec.commandLine(), "--trace " + e.getMessage(), e);
        }
      }
      Pool pool =
          layout.search(spec, clusterSpec, modelSpec, options, history, new ProgressLine(err));
      PlanPool record = PoolRecords.toRecord(pool, job, Instant.now(), "moeplan pool build");
      PoolFiles.write(record, out);
      printSummary(pool, stdout);
      stdout.printf("wrote %s (%d bytes) for job '%s'%n", out, Files.size(out), job);
      return 0;
    }

    private static void printSummary(Pool pool, PrintWriter out) {
      out.printf(
          "pool v%d: %d plans from %s, search %d ms, jobs start on the %s layout%n",
          pool.poolVersion(),
          pool.plans().size(),
          pool.loadSource(),
          pool.searchMillis(),
          pool.startLayout().source());
      out.printf(
          "%-5s %-26s %14s %12s%n", "plan", "config (tp,pp,dp,ep,slots)", "ms/iteration", "regime");
      for (Plan plan : pool.plans()) {
        var c = plan.parallel();
        out.printf(
            "%-5d %-26s %14.3f %11.0f%%%n",
            plan.planId(),
            String.format("%d,%d,%d,%d,%d", c.tp(), c.pp(), c.dp(), c.ep(), c.slotsPerWorker()),
            plan.predictedIterationSeconds() * 1e3,
            plan.regimeWeight() * 100);
      }
      if (!pool.ranking().isEmpty()) {
        ConfigScore best = pool.ranking().get(0);
        out.printf(
            "best config: %.3f ms/iteration with its placements vs %.3f ms static%n",
            best.iterationSeconds() * 1e3, best.staticIterationSeconds() * 1e3);
      }
    }
  }

  /** {@code moeplan pool publish}. */
  @Command(
      name = "publish",
      mixinStandardHelpOptions = true,
      description = "Publishes a pool file to the compacted plan-pool topic, keyed by its job.")
  static final class Publish implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--pool", required = true, description = "Pool file written by pool build.")
    Path poolFile;

    @Option(
        names = "--bootstrap-servers",
        required = true,
        description = "Kafka bootstrap servers, host:port[,host:port...].")
    String bootstrapServers;

    @Option(names = "--job", description = "Publish for this job id instead of the file's.")
    String job;

    @Option(
        names = "--topic",
        defaultValue = "moe.plan-pool",
        description = "Topic to publish to. Default: ${DEFAULT-VALUE}.")
    String topic;

    @Option(
        names = "--kafka-config",
        description =
            "Kafka producer properties file (security settings and any other client setting),"
                + " e.g. the moeplan-pool-loader.properties or tenant-PREFIX.properties a"
                + " secured moeplan broker writes.")
    Path kafkaConfig;

    @Option(
        names = "--topic-prefix",
        paramLabel = "PREFIX",
        description =
            "Publish to the tenant PREFIX's topic, PREFIX.<topic>; the job id must then start"
                + " with PREFIX. (the plan-selector job ignores other tenants' pools).")
    String topicPrefix;

    @Override
    public Integer call() throws Exception {
      PlanPool pool;
      try {
        pool = PoolFiles.read(poolFile);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--pool " + e.getMessage(), e);
      }
      if (job != null) {
        String problem = JobIds.problem(job);
        if (problem != null) {
          throw new ParameterException(spec.commandLine(), "--job: " + problem);
        }
        pool.setJobId(job);
      }
      String target = topic;
      if (topicPrefix != null) {
        String problem = Tenants.problem(topicPrefix);
        if (problem != null) {
          throw new ParameterException(spec.commandLine(), "--topic-prefix: " + problem);
        }
        String foreign = Tenants.notOwned(topicPrefix, pool.getJobId().toString());
        if (foreign != null) {
          throw new ParameterException(
              spec.commandLine(), "the pool's " + foreign + " (--job renames it)");
        }
        target = Topics.prefixed(topicPrefix, topic);
      }
      Properties properties = KafkaClientConfig.load(spec, kafkaConfig, bootstrapServers);
      RecordMetadata metadata;
      try {
        metadata = PoolPublisher.publish(pool, target, properties);
      } catch (ExecutionException | TimeoutException | KafkaException e) {
        Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
        spec.commandLine()
            .getErr()
            .printf("publish: %s%n", KafkaAccessErrors.explain(cause, "WRITE", target, properties));
        return 1;
      }
      spec.commandLine()
          .getOut()
          .printf(
              "published pool v%d of job '%s' (%d plans) to %s partition %d offset %d%n",
              pool.getPoolVersion(),
              pool.getJobId(),
              pool.getPlans().size(),
              metadata.topic(),
              metadata.partition(),
              metadata.offset());
      return 0;
    }
  }

  /**
   * Prints the search's progress on stderr: one rewritten line on a terminal, one line per finished
   * phase otherwise (logs, pipes).
   */
  static final class ProgressLine implements ProgressListener {
    private final PrintWriter err;
    private final boolean terminal = System.console() != null;

    ProgressLine(PrintWriter err) {
      this.err = err;
    }

    @Override
    public void onProgress(Phase phase, int done, int total) {
      String line =
          String.format("pool search: %-9s %d/%d", phase.name().toLowerCase(), done, total);
      if (terminal) {
        err.print("\r" + line + (phase == Phase.PLANS && done == total ? "\n" : ""));
      } else if (done == total) {
        err.println(line);
      }
      err.flush();
    }
  }
}
