package io.moeplan.planner.bench;

import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A whole offline pool search for 64 GPUs (8 nodes x 8 H100s) and GPT-MoE with 64 experts per
 * layer, on the synthetic skew model with the default options. Single shot: the first measured
 * search runs in a fresh JVM after one warm-up search.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(1)
public class PoolSearchBenchmark {
  private final PoolSearch search =
      new PoolSearch(
          ClusterSpec.h100(8, 8), ModelSpec.gptMoe().withExpertCount(64), PoolOptions.defaults());

  /** One search. */
  @Benchmark
  public Pool search() {
    return search.search(ProgressListener.NONE);
  }
}
