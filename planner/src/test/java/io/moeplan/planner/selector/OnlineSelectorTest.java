package io.moeplan.planner.selector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.policy.Decision;
import io.moeplan.planner.policy.DecisionAction;
import io.moeplan.planner.policy.StaticPolicy;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.planner.testing.TraceSlice;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OnlineSelectorTest {
  private static final PerformanceModel MODEL =
      PerformanceModel.of(
          ClusterSpec.h100(2, 4), ModelSpec.gptMoe(), ParallelConfig.expertParallel(8, 4));

  /** Per-rank skewed load: rank s prefers experts 4s..4s+3 and, strongly, expert (3s) mod 32. */
  private static LoadMatrix skewedLoad(long seed) {
    Random random = new Random(seed);
    double[][] rows = new double[8][32];
    for (int s = 0; s < 8; s++) {
      for (int e = 0; e < 32; e++) {
        rows[s][e] = 200 + random.nextInt(200);
      }
      rows[s][(3 * s) % 32] += 12000;
      rows[s][(3 * s + 1) % 32] += 6000;
    }
    return LoadMatrix.of(rows);
  }

  private static OnlineSelector selector(double horizon) {
    return new OnlineSelector(MODEL, SelectorOptions.defaults(10).withHorizon(horizon));
  }

  @Test
  void sameInputsGiveTheSameDecision() {
    Placement start = Placement.staticLayout(8, 4, 32);
    LoadMatrix load = skewedLoad(1);

    Decision first = selector(10).decide(start, load, List.of());
    Decision second = selector(10).decide(start, load, List.of());

    assertThat(second).isEqualTo(first);
  }

  @Test
  void oneSelectorDecidesFromManyThreadsAndShapesAsFromOne() throws Exception {
    OnlineSelector shared = selector(10);
    List<Placement> currents =
        List.of(
            Placement.staticLayout(8, 4, 32),
            Placement.staticLayout(8, 5, 32),
            Placement.staticLayout(8, 2, 16));
    List<Decision> expected = new java.util.ArrayList<>();
    for (int i = 0; i < 12; i++) {
      Placement current = currents.get(i % currents.size());
      expected.add(selector(10).decide(current, loadFor(current, i), List.of()));
    }
    java.util.concurrent.ExecutorService threads =
        java.util.concurrent.Executors.newFixedThreadPool(3);
    try {
      List<java.util.concurrent.Future<Decision>> futures = new java.util.ArrayList<>();
      for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 12; i++) {
          int at = i;
          Placement current = currents.get(i % currents.size());
          futures.add(
              threads.submit(() -> shared.decide(current, loadFor(current, at), List.of())));
        }
      }
      for (int k = 0; k < futures.size(); k++) {
        assertThat(futures.get(k).get(60, java.util.concurrent.TimeUnit.SECONDS))
            .isEqualTo(expected.get(k % 12));
      }
    } finally {
      threads.shutdownNow();
    }
  }

  /** A skewed load of the placement's expert count, one source per worker. */
  private static LoadMatrix loadFor(Placement current, long seed) {
    Random random = new Random(seed);
    int experts = current.expertCount();
    double[][] rows = new double[current.workerCount()][experts];
    for (int s = 0; s < rows.length; s++) {
      for (int e = 0; e < experts; e++) {
        rows[s][e] = 100 + random.nextInt(300);
      }
      rows[s][random.nextInt(experts)] += 9000;
    }
    return LoadMatrix.of(rows);
  }

  @Test
  void keepsWhenTheGainDoesNotPayTheMigration() {
    Placement start = Placement.staticLayout(8, 4, 32);
    Placement faster = selector(10).search(start, skewedLoad(2), List.of(), 0);

    Decision d = selector(0.01).decide(start, skewedLoad(2), List.of(faster));

    assertThat(MODEL.layerSeconds(faster, skewedLoad(2)))
        .isLessThan(MODEL.layerSeconds(start, skewedLoad(2)));
    assertThat(d.action()).isEqualTo(DecisionAction.KEEP);
    assertThat(d.placement()).isEqualTo(start);
    assertThat(d.migrationBytes()).isZero();
  }

  @Test
  void switchesWhenGainExceedsMigrationCost() {
    Decision d = selector(1000).decide(Placement.staticLayout(8, 4, 32), skewedLoad(2), List.of());

    assertThat(d.action()).isEqualTo(DecisionAction.SWITCH);
    double gain = (d.predictedCurrentSeconds() - d.predictedNewSeconds()) * 1000;
    assertThat(gain).isGreaterThan(d.migrationSeconds() * (1 + SelectorOptions.DEFAULT_MARGIN));
    assertThat(d.migrationBytes()).isPositive();
    assertThat(d.predictedNewSeconds())
        .isEqualTo(
            MODEL.layerSeconds(d.placement(), skewedLoad(2)),
            org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void keepsTheCurrentPlacementWhenNothingBeatsIt() {
    OnlineSelector oracle = selector(10);
    Placement best = oracle.search(Placement.staticLayout(8, 4, 32), skewedLoad(3), List.of(), 0);

    Decision d = selector(1000).decide(best, skewedLoad(3), List.of());

    assertThat(d.action()).isEqualTo(DecisionAction.KEEP);
  }

  @Test
  void poolPlacementsAreCandidates() {
    LoadMatrix load = skewedLoad(4);
    Placement good = selector(10).search(Placement.staticLayout(8, 4, 32), load, List.of(), 0);
    OnlineSelector noSearch = new OnlineSelector(MODEL, new SelectorOptions(1e6, 0.1, 0.5, 0, 16));

    Decision d = noSearch.decide(Placement.staticLayout(8, 4, 32), load, List.of(good));

    assertThat(d.action()).isEqualTo(DecisionAction.SWITCH);
    assertThat(d.predictedNewSeconds()).isLessThanOrEqualTo(MODEL.layerSeconds(good, load) + 1e-12);
  }

  @Test
  void estimatorIsAnExponentialMovingAverageOfWindowMeans() {
    LoadEstimator estimator = new LoadEstimator(0.25);
    LoadMatrix first = LoadMatrix.of(new double[][] {{8, 0}});
    LoadMatrix second = LoadMatrix.of(new double[][] {{0, 8}});

    LoadMatrix estimate = estimator.next(estimator.next(null, first), second);

    assertThat(estimate.toFlatArray()).containsExactly(6, 2);
    assertThat(LoadEstimator.windowMean(List.of(first, second)).toFlatArray())
        .containsExactly(4, 4);
  }

  @Test
  void beatsStaticOnASliceOfTheTrace() throws IOException {
    List<LoadMatrix> loads = TraceSlice.layer(6, 8, 40);
    SelectorPolicy selector = new SelectorPolicy(selector(10), List.of());
    StaticPolicy fixed = new StaticPolicy(MODEL);
    Placement current = Placement.staticLayout(8, 4, 32);
    double selectorSeconds = 0;
    double staticSeconds = 0;
    for (LoadMatrix load : loads) {
      selectorSeconds += 10 * MODEL.layerSeconds(current, load);
      staticSeconds +=
          10 * fixed.decide(Placement.staticLayout(8, 4, 32), load).predictedCurrentSeconds();
      Decision d = selector.decide(current, load);
      if (d.switches()) {
        selectorSeconds += MODEL.switchCost(current, d.placement()).seconds();
      }
      current = d.placement();
    }

    assertThat(selectorSeconds).isLessThan(0.8 * staticSeconds);
  }

  private static final PerformanceModel REPLICATED =
      PerformanceModel.of(
          ClusterSpec.h100(2, 4), ModelSpec.gptMoe(), ParallelConfig.expertParallel(8, 5));

  /** Every rank sends most of its tokens to experts 0 and 1, the rest spread with noise. */
  private static LoadMatrix twoHotExperts(long seed) {
    Random random = new Random(seed);
    double[][] rows = new double[8][32];
    for (int s = 0; s < 8; s++) {
      for (int e = 0; e < 32; e++) {
        rows[s][e] = 100 + random.nextInt(400);
      }
      rows[s][0] += 3000 + random.nextInt(1000);
      rows[s][1] += 1500 + random.nextInt(1000);
    }
    return LoadMatrix.of(rows);
  }

  /**
   * Descends by the best single swap or single replica move (any slot of an expert with replicas
   * given to any expert) until none improves: a placement no one-slot move improves.
   */
  private static Placement singleMoveOptimum(Placement start, LoadMatrix load) {
    int[] slots = start.slotToExpert();
    int spw = start.slotsPerWorker();
    double current = REPLICATED.layerSeconds(start, load);
    while (true) {
      int[] bestSlots = null;
      double best = current * (1 - 1e-12);
      for (int x = 0; x < slots.length; x++) {
        for (int y = x + 1; y < slots.length; y++) {
          int[] trial = slots.clone();
          trial[x] = slots[y];
          trial[y] = slots[x];
          double t = seconds(trial, spw, load);
          if (t < best) {
            best = t;
            bestSlots = trial;
          }
        }
        for (int e = 0; e < 32; e++) {
          int[] trial = slots.clone();
          trial[x] = e;
          double t = seconds(trial, spw, load);
          if (t < best) {
            best = t;
            bestSlots = trial;
          }
        }
      }
      if (bestSlots == null) {
        return Placement.of(slots, 8, spw, 32);
      }
      slots = bestSlots;
      current = best;
    }
  }

  /** Seconds of a slot assignment, infinite when it is not a valid placement. */
  private static double seconds(int[] slots, int spw, LoadMatrix load) {
    boolean[] seen = new boolean[32];
    for (int i = 0; i < slots.length; i++) {
      seen[slots[i]] = true;
      for (int j = (i / spw) * spw; j < i; j++) {
        if (slots[j] == slots[i]) {
          return Double.POSITIVE_INFINITY;
        }
      }
    }
    for (boolean s : seen) {
      if (!s) {
        return Double.POSITIVE_INFINITY;
      }
    }
    return REPLICATED.layerSeconds(Placement.of(slots, 8, spw, 32), load);
  }

  @Test
  void replicatedSearchEscapesWhatNoOneSlotMoveImproves() {
    // seed 14: a placement no swap and no one-slot change of replica counts improves, but moving
    // (or removing) all of an expert's replicas on one node in one step opens a better one
    LoadMatrix load = twoHotExperts(14);
    Placement stuck = singleMoveOptimum(Placement.staticLayout(8, 5, 32), load);
    OnlineSelector selector =
        new OnlineSelector(REPLICATED, SelectorOptions.defaults(10).withHorizon(100));

    Placement improved = selector.improve(stuck, load, 0);

    // every one-slot move of stuck is no better, so the gain is the compound moves'
    assertThat(REPLICATED.layerSeconds(improved, load))
        .isLessThan(0.95 * REPLICATED.layerSeconds(stuck, load));
  }

  @Test
  void replicatedMovesLeaveTheEvaluatorExact() {
    // the static 8 x 5 layout has experts 0-7 on both nodes: evacuations and group moves are tried
    // (applied, scored and undone) at every step; the result must still be priced exactly
    OnlineSelector selector =
        new OnlineSelector(REPLICATED, SelectorOptions.defaults(10).withHorizon(1000));
    for (long seed = 1; seed <= 5; seed++) {
      LoadMatrix load = twoHotExperts(seed);
      Placement start = Placement.staticLayout(8, 5, 32);

      Decision d = selector.decide(start, load, List.of());

      assertThat(d.action()).isEqualTo(DecisionAction.SWITCH);
      assertThat(d.predictedNewSeconds())
          .isCloseTo(REPLICATED.layerSeconds(d.placement(), load), within(1e-12));
      assertThat(d.predictedCurrentSeconds())
          .isCloseTo(REPLICATED.layerSeconds(start, load), within(1e-12));
    }
  }
}
