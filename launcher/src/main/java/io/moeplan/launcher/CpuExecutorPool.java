package io.moeplan.launcher;

import io.moeplan.executor.process.CpuWorkers;
import io.moeplan.executor.process.ExecutorSettings.DimOverrides;
import io.moeplan.planner.pool.LoadHistory;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import java.util.List;

/**
 * The pool for a run on CPU executors ({@code moeplan local}, and the executors {@code moeplan
 * cluster up} starts): searched for CPU workers in the shape of a cluster ({@link CpuWorkers}) and
 * for the model's layers and experts at the small dimensions the executors run, so that the
 * selector's modelled times and the executors' measured compute describe the same computation. The
 * executors get the same dimensions through {@link #executorArguments()}.
 */
public final class CpuExecutorPool {

  /** Model width a CPU executor runs by default. */
  public static final int DEFAULT_HIDDEN = 32;

  /** Expert FFN width a CPU executor runs by default. */
  public static final int DEFAULT_FFN = 64;

  /** Tokens each rank of a CPU executor routes per layer and iteration by default. */
  public static final int DEFAULT_TOKENS_PER_RANK = 32;

  /** The default dimensions: small enough that a CPU runs a few iterations per second. */
  public static final DimOverrides DEFAULT_DIMS =
      new DimOverrides(DEFAULT_HIDDEN, DEFAULT_FFN, DEFAULT_TOKENS_PER_RANK);

  private final ClusterSpec cluster;
  private final ModelSpec model;
  private final DimOverrides dims;

  /**
   * The pool for CPU executors running {@code model}'s layers and experts at {@code dims}, one rank
   * per GPU of {@code shape}.
   *
   * @throws IllegalArgumentException when a dimension is not positive
   */
  public CpuExecutorPool(ClusterSpec shape, ModelSpec model, DimOverrides dims) {
    if (dims.hidden() < 1 || dims.ffn() < 1 || dims.tokensPerRank() < 1) {
      throw new IllegalArgumentException(
          "--hidden, --ffn and --tokens-per-rank must be >= 1, got "
              + dims.hidden()
              + ", "
              + dims.ffn()
              + ", "
              + dims.tokensPerRank());
    }
    this.cluster = CpuWorkers.cluster(shape.nodes(), shape.gpusPerNode());
    this.model =
        CpuWorkers.model(
            model.moeLayers(),
            model.expertCount(),
            model.topK(),
            dims.hidden(),
            dims.ffn(),
            dims.tokensPerRank());
    this.dims = dims;
  }

  /** The pool for CPU executors at the {@linkplain #DEFAULT_DIMS default dimensions}. */
  public static CpuExecutorPool withDefaultDims(ClusterSpec shape, ModelSpec model) {
    return new CpuExecutorPool(shape, model, DEFAULT_DIMS);
  }

  /** The cluster's shape with CPU workers' constants. */
  public ClusterSpec cluster() {
    return cluster;
  }

  /** The model's layers and experts at the executors' dimensions. */
  public ModelSpec model() {
    return model;
  }

  /** The executors' dimensions. */
  public DimOverrides dims() {
    return dims;
  }

  /** Ranks of the run: one per worker of the cluster. */
  public int ranks() {
    return cluster.nodes() * cluster.gpusPerNode();
  }

  /** Searches the pool on {@code history}, or on synthetic loads when it is null. */
  public Pool search(PoolOptions options, LoadHistory history) {
    return new PoolSearch(cluster, model, options).search(history, ProgressListener.NONE);
  }

  /** The {@code moeplan executor} options that make it run these dimensions. */
  public List<String> executorArguments() {
    return List.of(
        "--hidden",
        Integer.toString(dims.hidden()),
        "--ffn",
        Integer.toString(dims.ffn()),
        "--tokens-per-rank",
        Integer.toString(dims.tokensPerRank()));
  }

  /** The dimensions in words, e.g. {@code hidden 32, ffn 64, 32 tokens per rank}. */
  public String describeDims() {
    return "hidden "
        + dims.hidden()
        + ", ffn "
        + dims.ffn()
        + ", "
        + dims.tokensPerRank()
        + " tokens per rank";
  }
}
