package io.moeplan.planner.pool;

import io.moeplan.planner.spec.ParallelConfig;

/**
 * Tuning of the offline pool search.
 *
 * @param poolSize parallel configs kept in the pool (the best by modelled iteration time)
 * @param plansPerConfig plans kept per config: one per load regime, at most this many regimes
 * @param maxReplicationFactor bound on the slots of one expert-parallel group: {@code ep *
 *     slotsPerWorker <= maxReplicationFactor * expertCount} (at least 1; 1 means no spare slots
 *     beyond the fewest that hold every expert, unless that fewest already exceeds the bound)
 * @param memoryReserveFraction fraction of each GPU's memory kept for everything but the experts
 *     (activations, dense layers, communication buffers, allocator slack); in [0, 1)
 * @param microBatches micro-batches per iteration, for the pipeline bubble {@code (microBatches +
 *     pp - 1) / microBatches}
 * @param syntheticSamples load samples per layer drawn by the synthetic skew model when no history
 *     is given
 * @param seed seed of the synthetic skew model
 * @param poolVersion version written into the pool
 * @param parallel the one parallel config to search, or null to search every valid config; when
 *     set, the pool keeps only it (its plans per regime are still searched) and a config the
 *     cluster and model refuse fails the search ({@link RefusedConfigException})
 */
public record PoolOptions(
    int poolSize,
    int plansPerConfig,
    double maxReplicationFactor,
    double memoryReserveFraction,
    int microBatches,
    int syntheticSamples,
    long seed,
    long poolVersion,
    ParallelConfig parallel) {

  /** Default number of configs kept. */
  public static final int DEFAULT_POOL_SIZE = 3;

  /** Default number of plans (load regimes) per config. */
  public static final int DEFAULT_PLANS_PER_CONFIG = 4;

  /** Default bound on slots per group relative to the expert count. */
  public static final double DEFAULT_MAX_REPLICATION_FACTOR = 2.0;

  /**
   * Default memory reserve: 25% of the GPU for activations (selective recomputation keeps them to a
   * few GB at 2048-token micro-batches), dense layers and their optimizer state, NCCL buffers and
   * allocator fragmentation.
   */
  public static final double DEFAULT_MEMORY_RESERVE_FRACTION = 0.25;

  /** Default micro-batches per iteration (the trace's GPT-MoE runs 4). */
  public static final int DEFAULT_MICRO_BATCHES = 4;

  /** Default synthetic samples per layer. */
  public static final int DEFAULT_SYNTHETIC_SAMPLES = 16;

  /** Default seed of the synthetic skew model. */
  public static final long DEFAULT_SEED = 20230710L;

  /** Largest pool size or plans per config accepted. */
  public static final int MAX_COUNT = 1024;

  /** Validates the options; messages name the field. */
  public PoolOptions {
    requireRange("poolSize", poolSize, 1, MAX_COUNT);
    requireRange("plansPerConfig", plansPerConfig, 1, MAX_COUNT);
    if (!(maxReplicationFactor >= 1) || maxReplicationFactor > 64) {
      throw new IllegalArgumentException(
          "maxReplicationFactor must be in [1, 64], got " + maxReplicationFactor);
    }
    if (!(memoryReserveFraction >= 0 && memoryReserveFraction < 1)) {
      throw new IllegalArgumentException(
          "memoryReserveFraction must be in [0, 1), got " + memoryReserveFraction);
    }
    requireRange("microBatches", microBatches, 1, 1 << 20);
    requireRange("syntheticSamples", syntheticSamples, 1, MAX_COUNT);
    if (poolVersion < 0) {
      throw new IllegalArgumentException("poolVersion must be >= 0, got " + poolVersion);
    }
  }

  private static void requireRange(String field, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          field + " must be in [" + min + ", " + max + "], got " + value);
    }
  }

  /** The documented defaults, pool version 1. */
  public static PoolOptions defaults() {
    return new PoolOptions(
        DEFAULT_POOL_SIZE,
        DEFAULT_PLANS_PER_CONFIG,
        DEFAULT_MAX_REPLICATION_FACTOR,
        DEFAULT_MEMORY_RESERVE_FRACTION,
        DEFAULT_MICRO_BATCHES,
        DEFAULT_SYNTHETIC_SAMPLES,
        DEFAULT_SEED,
        1,
        null);
  }

  /** The same options with another pool size. */
  public PoolOptions withPoolSize(int size) {
    return new PoolOptions(
        size,
        plansPerConfig,
        maxReplicationFactor,
        memoryReserveFraction,
        microBatches,
        syntheticSamples,
        seed,
        poolVersion,
        parallel);
  }

  /** The same options with another number of plans per config. */
  public PoolOptions withPlansPerConfig(int plans) {
    return new PoolOptions(
        poolSize,
        plans,
        maxReplicationFactor,
        memoryReserveFraction,
        microBatches,
        syntheticSamples,
        seed,
        poolVersion,
        parallel);
  }

  /** The same options with another replication bound. */
  public PoolOptions withMaxReplicationFactor(double factor) {
    return new PoolOptions(
        poolSize,
        plansPerConfig,
        factor,
        memoryReserveFraction,
        microBatches,
        syntheticSamples,
        seed,
        poolVersion,
        parallel);
  }

  /** The same options with another memory reserve. */
  public PoolOptions withMemoryReserveFraction(double fraction) {
    return new PoolOptions(
        poolSize,
        plansPerConfig,
        maxReplicationFactor,
        fraction,
        microBatches,
        syntheticSamples,
        seed,
        poolVersion,
        parallel);
  }

  /** The same options with another synthetic sample count and seed. */
  public PoolOptions withSynthetic(int samples, long newSeed) {
    return new PoolOptions(
        poolSize,
        plansPerConfig,
        maxReplicationFactor,
        memoryReserveFraction,
        microBatches,
        samples,
        newSeed,
        poolVersion,
        parallel);
  }

  /** The same options with another pool version. */
  public PoolOptions withPoolVersion(long version) {
    return new PoolOptions(
        poolSize,
        plansPerConfig,
        maxReplicationFactor,
        memoryReserveFraction,
        microBatches,
        syntheticSamples,
        seed,
        version,
        parallel);
  }

  /**
   * The same options searching only {@code config} (null: every valid config), for a job whose
   * parallel layout is already fixed.
   */
  public PoolOptions withParallel(ParallelConfig config) {
    return new PoolOptions(
        poolSize,
        plansPerConfig,
        maxReplicationFactor,
        memoryReserveFraction,
        microBatches,
        syntheticSamples,
        seed,
        poolVersion,
        config);
  }
}
