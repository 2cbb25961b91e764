package io.moeplan.launcher.cluster;

import io.moeplan.launcher.CpuExecutorPool;
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

/**
 * The pool the cluster's job starts with, built from the built-in example specs (2 nodes x 4 H100,
 * GPT-MoE shape) and published: for the CPU executors the cluster starts ({@link CpuExecutorPool},
 * the dimensions {@code moeplan local} runs too), or for the H100 cluster itself when it starts
 * none.
 */
final class PoolBootstrap {

  private PoolBootstrap() {}

  /** The pool of {@code layers} MoE layers for the cluster's CPU executors. */
  static CpuExecutorPool cpuPool(int layers) {
    return CpuExecutorPool.withDefaultDims(exampleCluster(), exampleModel(layers));
  }

  /**
   * Builds and publishes the job's pool: for the example H100 cluster and GPT-MoE shape, or, when
   * the cluster runs CPU executors, for those executors' workers and dimensions, so the selector
   * plans for the computation that actually runs.
   */
  static void publish(
      ClusterSettings.PoolSettings pool,
      boolean forCpuExecutors,
      Properties client,
      PrintStream out) {
    String bootstrapServers = client.getProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
    long started = System.nanoTime();
    Pool built =
        forCpuExecutors
            ? cpuPool(pool.layers()).search(PoolOptions.defaults(), null)
            : new PoolSearch(exampleCluster(), exampleModel(pool.layers()), PoolOptions.defaults())
                .search(ProgressListener.NONE);
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

  private static ClusterSpec exampleCluster() {
    return SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class);
  }

  private static ModelSpec exampleModel(int layers) {
    return SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class).withMoeLayers(layers);
  }
}
