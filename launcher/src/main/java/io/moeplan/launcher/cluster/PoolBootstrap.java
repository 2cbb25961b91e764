package io.moeplan.launcher.cluster;

import io.moeplan.executor.process.CpuWorkers;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import io.moeplan.poolloader.PoolPublisher;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.Topics;
import java.io.PrintStream;
import java.time.Instant;
import java.util.Properties;
import org.apache.kafka.clients.admin.AdminClientConfig;

/** The pool the cluster's job starts with: built from the built-in example specs and published. */
final class PoolBootstrap {

  /** Ranks of the built-in example cluster the pool is built for (2 nodes x 4 GPUs). */
  static final int RANKS = 8;

  /** Model width the cluster's CPU executors run (and its pool is built for). */
  static final int EXECUTOR_HIDDEN = 64;

  /** Expert FFN width of the cluster's CPU executors. */
  static final int EXECUTOR_FFN = 128;

  /** Tokens each rank of the cluster's CPU executors routes per layer and iteration. */
  static final int EXECUTOR_TOKENS_PER_RANK = 64;

  private PoolBootstrap() {}

  /**
   * Builds and publishes the job's pool: for the example H100 cluster and GPT-MoE shape, or, when
   * the cluster runs CPU executors, for those executors' workers and dimensions ({@link
   * CpuWorkers}), so the selector plans for the computation that actually runs.
   */
  static void publish(
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
}
