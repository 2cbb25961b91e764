package io.moeplan.planner.selector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The fast evaluator against the reference {@link PerformanceModel#evaluate} on random inputs. */
class IncrementalEvaluatorTest {
  private static final PerformanceModel MODEL =
      new PerformanceModel(4, 6e-4, 4.4e-7, 5120, 3e11, 4e10, 3e-5, 1.05e8, 734_003_200L, 1.0);

  private static LoadMatrix randomLoad(Random random, int sources, int experts) {
    double[][] rows = new double[sources][experts];
    for (double[] row : rows) {
      for (int e = 0; e < experts; e++) {
        row[e] = random.nextDouble() < 0.2 ? 0 : random.nextInt(4000);
      }
    }
    return LoadMatrix.of(rows);
  }

  private static Placement randomPlacement(Random random, int workers, int slots, int experts) {
    int[] s2e = new int[workers * slots];
    for (int i = 0; i < s2e.length; i++) {
      s2e[i] = i < experts ? i : random.nextInt(experts);
    }
    for (int i = s2e.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = s2e[i];
      s2e[i] = s2e[j];
      s2e[j] = t;
    }
    return Placement.of(s2e, workers, slots, experts);
  }

  private static double reference(Placement p, Placement from, LoadMatrix load, double weight) {
    return reference(MODEL, p, from, load, weight);
  }

  private static double reference(
      PerformanceModel model, Placement p, Placement from, LoadMatrix load, double weight) {
    return model.layerSeconds(p, load) + weight * model.switchCost(from, p).seconds();
  }

  @ParameterizedTest
  @CsvSource({"8, 4, 32", "8, 5, 32", "12, 2, 20"})
  void aResetEvaluatorGivesTheValuesOfAFreshOne(int workers, int slots, int experts) {
    Random random = new Random(workers * 17L + slots);
    IncrementalEvaluator reused = new IncrementalEvaluator(MODEL, workers, slots, experts);
    for (int round = 0; round < 15; round++) {
      // loads with fewer sources than workers too, so nothing of a larger load may linger
      int sources = 1 + random.nextInt(workers);
      LoadMatrix load = randomLoad(random, sources, experts);
      Placement from = randomPlacement(random, workers, slots, experts);
      Placement start = randomPlacement(random, workers, slots, experts);
      double weight = random.nextDouble();
      reused.reset(load, from, weight);
      IncrementalEvaluator fresh =
          new IncrementalEvaluator(MODEL, load, workers, slots, from, weight);
      reused.load(start);
      fresh.load(start);
      assertThat(reused.objective()).isEqualTo(fresh.objective());
      assertThat(reused.lowerBound(from, Double.POSITIVE_INFINITY))
          .isEqualTo(fresh.lowerBound(from, Double.POSITIVE_INFINITY));
      for (int move = 0; move < 20; move++) {
        double expected = fresh.beginStep();
        assertThat(reused.beginStep()).isEqualTo(expected);
        int x = random.nextInt(workers * slots);
        int y = random.nextInt(workers * slots);
        if (x / slots == y / slots || fresh.expertAt(x) == fresh.expertAt(y)) {
          continue;
        }
        assertThat(reused.evaluateSwap(x, y, Double.POSITIVE_INFINITY))
            .isEqualTo(fresh.evaluateSwap(x, y, Double.POSITIVE_INFINITY));
        assertThat(reused.lastSecondary()).isEqualTo(fresh.lastSecondary());
        reused.swap(x, y);
        fresh.swap(x, y);
      }
      assertThat(reused.slotToExpert()).containsExactly(fresh.slotToExpert());
      reused.save(0);
    }
    reused.reset(
        randomLoad(random, workers, experts), Placement.staticLayout(workers, slots, experts), 0);
    assertThatThrownBy(() -> reused.restore(0))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("nothing saved");
  }

  @Test
  void resetRefusesAnotherShape() {
    IncrementalEvaluator ev = new IncrementalEvaluator(MODEL, 8, 4, 32);
    Random random = new Random(5);

    assertThatThrownBy(
            () -> ev.reset(randomLoad(random, 8, 16), Placement.staticLayout(8, 4, 32), 0.1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("load has 16");
    assertThatThrownBy(
            () -> ev.reset(randomLoad(random, 9, 32), Placement.staticLayout(8, 4, 32), 0.1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("9 sources");
    assertThatThrownBy(
            () -> ev.reset(randomLoad(random, 8, 32), Placement.staticLayout(8, 5, 32), 0.1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("8 workers x 4 slots");
  }

  @ParameterizedTest
  @CsvSource({
    "8, 4, 32, 8, 0",
    "8, 5, 32, 8, 0",
    "12, 2, 20, 9, 0",
    "16, 2, 32, 16, 0",
    "12, 2, 20, 9, 2e9",
    "16, 2, 32, 16, 2e9"
  })
  void swapsAndReplacementsAgreeWithTheReferenceModel(
      int workers, int slots, int experts, int sources, double migrationBandwidth) {
    PerformanceModel model = MODEL.withMigrationBandwidth(migrationBandwidth);
    Random random = new Random(workers * 31L + slots);
    double weight = 0.11;
    for (int round = 0; round < 20; round++) {
      LoadMatrix load = randomLoad(random, sources, experts);
      Placement from = randomPlacement(random, workers, slots, experts);
      Placement start = randomPlacement(random, workers, slots, experts);
      IncrementalEvaluator ev = new IncrementalEvaluator(model, load, workers, slots, from, weight);
      ev.load(start);
      double expected = reference(model, start, from, load, weight);
      assertThat(ev.objective()).isCloseTo(expected, within(1e-9 * expected));
      assertThat(ev.lowerBound(start, Double.POSITIVE_INFINITY))
          .isLessThanOrEqualTo(expected * (1 + 1e-12));

      for (int move = 0; move < 30; move++) {
        ev.beginStep();
        int x = random.nextInt(workers * slots);
        int y = random.nextInt(workers * slots);
        if (x / slots == y / slots || ev.expertAt(x) == ev.expertAt(y)) {
          continue;
        }
        double predicted = ev.evaluateSwap(x, y, Double.POSITIVE_INFINITY);
        ev.swap(x, y);
        Placement now = Placement.of(ev.slotToExpert(), workers, slots, experts);
        double actual = reference(model, now, from, load, weight);
        assertThat(predicted).isCloseTo(actual, within(1e-9 * actual));
        assertThat(ev.objective()).isCloseTo(actual, within(1e-9 * actual));
      }
      if (workers * slots > experts) {
        for (int move = 0; move < 10; move++) {
          int x = random.nextInt(workers * slots);
          int f = random.nextInt(experts);
          if (ev.replicas(ev.expertAt(x)) < 2 || ev.expertAt(x) == f) {
            continue;
          }
          double predicted = ev.evaluateReplace(x, f);
          double predictedSecondary = ev.lastSecondary();
          ev.replace(x, f);
          Placement now = Placement.of(ev.slotToExpert(), workers, slots, experts);
          double actual = reference(model, now, from, load, weight);
          assertThat(predicted).isCloseTo(actual, within(1e-9 * actual));
          assertThat(ev.objective()).isCloseTo(actual, within(1e-9 * actual));
          assertThat(predictedSecondary)
              .isCloseTo(ev.lastSecondary(), within(1e-9 * ev.lastSecondary()));
        }
      }
    }
  }

  /** The index pair the selector's scan would pick, comparing as OnlineSelector does. */
  private static int[] bestSwap(IncrementalEvaluator ev, int slotCount, int slots, boolean pruned) {
    double bestJ = ev.beginStep();
    double bestSec = ev.lastSecondary();
    int[] best = {-1, -1};
    for (int x = 0; x < slotCount; x++) {
      for (int y = 0; y < slotCount; y++) {
        if (x / slots == y / slots || ev.expertAt(x) == ev.expertAt(y)) {
          continue;
        }
        double tol = 1e-12 * Math.abs(bestJ);
        double j = ev.evaluateSwap(x, y, pruned ? bestJ + tol : Double.POSITIVE_INFINITY);
        double sec = ev.lastSecondary();
        if (j < bestJ - tol || (j <= bestJ + tol && sec < bestSec * (1 - 1e-9))) {
          bestJ = j;
          bestSec = sec;
          best = new int[] {x, y};
        }
      }
    }
    return best;
  }

  @ParameterizedTest
  @CsvSource({"8, 4, 32, 8", "12, 4, 48, 12", "16, 2, 32, 16", "12, 3, 30, 9", "8, 5, 32, 8"})
  void prunedSwapScanPicksWhatTheExhaustiveScanPicks(
      int workers, int slots, int experts, int sources) {
    Random random = new Random(workers * 131L + slots * 7L + experts);
    for (int round = 0; round < 25; round++) {
      LoadMatrix load = randomLoad(random, sources, experts);
      Placement from = randomPlacement(random, workers, slots, experts);
      IncrementalEvaluator pruned =
          new IncrementalEvaluator(MODEL, load, workers, slots, from, 0.05);
      IncrementalEvaluator exhaustive =
          new IncrementalEvaluator(MODEL, load, workers, slots, from, 0.05);
      Placement start = randomPlacement(random, workers, slots, experts);
      pruned.load(start);
      exhaustive.load(start);
      for (int step = 0; step < 6; step++) {
        int[] a = bestSwap(pruned, workers * slots, slots, true);
        int[] b = bestSwap(exhaustive, workers * slots, slots, false);
        assertThat(a).containsExactly(b);
        if (a[0] < 0) {
          break;
        }
        pruned.swap(a[0], a[1]);
        exhaustive.swap(b[0], b[1]);
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"8, 4, 32, 8", "16, 2, 32, 16", "12, 3, 30, 9"})
  void aCutoffOnlyEverReturnsABoundAboveItOrTheExactValue(
      int workers, int slots, int experts, int sources) {
    Random random = new Random(workers * 17L + slots);
    for (int round = 0; round < 20; round++) {
      LoadMatrix load = randomLoad(random, sources, experts);
      Placement from = randomPlacement(random, workers, slots, experts);
      IncrementalEvaluator ev = new IncrementalEvaluator(MODEL, load, workers, slots, from, 0.05);
      ev.load(randomPlacement(random, workers, slots, experts));
      double now = ev.beginStep();
      for (int move = 0; move < 60; move++) {
        int x = random.nextInt(workers * slots);
        int y = random.nextInt(workers * slots);
        if (x / slots == y / slots || ev.expertAt(x) == ev.expertAt(y)) {
          continue;
        }
        double exact = ev.evaluateSwap(x, y, Double.POSITIVE_INFINITY);
        double exactSecondary = ev.lastSecondary();
        double cutoff = now * (0.9 + 0.2 * random.nextDouble());
        double cut = ev.evaluateSwap(x, y, cutoff);
        if (cut > cutoff) {
          assertThat(exact).isGreaterThanOrEqualTo(cut);
        } else {
          assertThat(cut).isEqualTo(exact);
          assertThat(ev.lastSecondary()).isEqualTo(exactSecondary);
        }
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"8, 4, 32, 8", "8, 5, 32, 8", "12, 2, 20, 9", "16, 2, 32, 16"})
  void restoringASavedStateContinuesExactlyAsReloadingThePlacement(
      int workers, int slots, int experts, int sources) {
    Random random = new Random(workers * 17L + slots * 5L + experts);
    for (int round = 0; round < 10; round++) {
      LoadMatrix load = randomLoad(random, sources, experts);
      Placement from = randomPlacement(random, workers, slots, experts);
      Placement first = randomPlacement(random, workers, slots, experts);
      Placement second = randomPlacement(random, workers, slots, experts);
      IncrementalEvaluator restored =
          new IncrementalEvaluator(MODEL, load, workers, slots, from, 0.07);
      IncrementalEvaluator reloaded =
          new IncrementalEvaluator(MODEL, load, workers, slots, from, 0.07);
      restored.load(first);
      restored.save(0);
      restored.load(second);
      restored.save(1);
      for (int y = slots; y < workers * slots; y++) {
        int e = restored.expertAt(0);
        int f = restored.expertAt(y);
        if (e != f && !restored.workerHolds(y / slots, e) && !restored.workerHolds(0, f)) {
          restored.swap(0, y);
          break;
        }
      }
      restored.restore(0);
      reloaded.load(first);
      assertThat(restored.beginStep()).isEqualTo(reloaded.beginStep());
      assertThat(restored.lastSecondary()).isEqualTo(reloaded.lastSecondary());
      assertThat(bestSwap(restored, workers * slots, slots, true))
          .containsExactly(bestSwap(reloaded, workers * slots, slots, true));
      restored.restore(1);
      reloaded.load(second);
      assertThat(restored.slotToExpert()).containsExactly(reloaded.slotToExpert());
      assertThat(restored.beginStep()).isEqualTo(reloaded.beginStep());
      assertThat(bestSwap(restored, workers * slots, slots, true))
          .containsExactly(bestSwap(reloaded, workers * slots, slots, true));
    }
  }

  @ParameterizedTest
  @CsvSource({"8, 4, 32, 8", "8, 5, 32, 8", "16, 2, 32, 16"})
  void aLowerBoundReachesTheCutoffWhateverWasBoundedBefore(
      int workers, int slots, int experts, int sources) {
    Random random = new Random(workers * 7L + slots * 3L + experts);
    for (int round = 0; round < 10; round++) {
      LoadMatrix load = randomLoad(random, sources, experts);
      Placement from = randomPlacement(random, workers, slots, experts);
      IncrementalEvaluator used = new IncrementalEvaluator(MODEL, load, workers, slots, from, 0.2);
      Placement[] placements = new Placement[12];
      double[] exact = new double[placements.length];
      for (int i = 0; i < placements.length; i++) {
        placements[i] = randomPlacement(random, workers, slots, experts);
        IncrementalEvaluator fresh =
            new IncrementalEvaluator(MODEL, load, workers, slots, from, 0.2);
        exact[i] = fresh.lowerBound(placements[i], Double.POSITIVE_INFINITY);
      }
      for (int i = 0; i < placements.length; i++) {
        double cutoff = exact[(i + 5) % exact.length];
        double bound = used.lowerBound(placements[i], cutoff);
        assertThat(bound >= cutoff).isEqualTo(exact[i] >= cutoff);
        if (bound < cutoff) {
          assertThat(bound).isEqualTo(exact[i]);
        }
      }
    }
  }
}
