package io.moeplan.planner.bench;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.policy.Decision;
import io.moeplan.planner.policy.GreedyPlacement;
import io.moeplan.planner.pool.LoadHistory;
import io.moeplan.planner.pool.SyntheticLoads;
import io.moeplan.planner.selector.OnlineSelector;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One decision of the online selector ({@link OnlineSelector#decide}) for one layer.
 *
 * <p>Loads come from the seeded {@link SyntheticLoads} skew model (GPT-MoE sizes, one rank per
 * worker); the estimate is sample {@value #ESTIMATE_SAMPLE}. The current placement is the static
 * layout (expert e in slot e), far from balanced under that skew, so the selector finds a better
 * placement and switches (checked at setup). The pool holds the greedy placements of {@code
 * poolPlacements} samples of another seed. Workers sit on nodes of {@code gpusPerNode} H100s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SelectorDecisionBenchmark {
  static final int ESTIMATE_SAMPLE = 8;

  /** experts x workers x slots per worker x pool placements x GPUs per node. */
  @Param({"32x8x4x4x4", "64x16x4x4x8", "256x64x4x64x8", "32x8x5x4x4", "256x64x5x64x8"})
  public String shape;

  private OnlineSelector selector;
  private Placement current;
  private LoadMatrix estimate;
  private List<Placement> pool;

  /** Builds the loads, the current placement and the pool; checks that the decision switches. */
  @Setup
  public void setUp() {
    String[] p = shape.split("x");
    int experts = Integer.parseInt(p[0]);
    int workers = Integer.parseInt(p[1]);
    int slots = Integer.parseInt(p[2]);
    int poolPlacements = Integer.parseInt(p[3]);
    int gpusPerNode = Integer.parseInt(p[4]);
    ModelSpec model =
        new ModelSpec(1, experts, 2, 2560, 10240, 2, 12, ModelSpec.gptMoe().tokensPerRank());
    ClusterSpec cluster = ClusterSpec.h100(workers / gpusPerNode, gpusPerNode);
    PerformanceModel perf =
        PerformanceModel.of(cluster, model, ParallelConfig.expertParallel(workers, slots));
    selector = new OnlineSelector(perf, SelectorOptions.defaults(10));

    LoadHistory history = SyntheticLoads.generate(model, workers, ESTIMATE_SAMPLE + 1, 17);
    estimate = history.sample(0, ESTIMATE_SAMPLE);
    Placement layout = Placement.staticLayout(workers, slots, experts);
    current = layout;

    LoadHistory other = SyntheticLoads.generate(model, workers, poolPlacements, 29);
    pool = new ArrayList<>();
    for (int i = 0; i < poolPlacements; i++) {
      pool.add(GreedyPlacement.place(other.sample(0, i).expertTotals(), layout));
    }
    Decision d = selector.decide(current, estimate, pool);
    if (!d.switches()) {
      throw new IllegalStateException("benchmark input does no work: " + d.reason());
    }
  }

  /** One keep-or-switch decision. */
  @Benchmark
  public Decision decide() {
    return selector.decide(current, estimate, pool);
  }
}
