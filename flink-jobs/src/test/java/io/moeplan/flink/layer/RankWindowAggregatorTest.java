package io.moeplan.flink.layer;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.flink.input.RankLoad;
import io.moeplan.flink.state.Harnesses;
import io.moeplan.flink.state.WriteBehindOperators;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Windows of 3 iterations; a rank of job "job" (world size 4) reports layers 0 and 2. */
class RankWindowAggregatorTest {

  private static final int F = 3;
  private static final long TIMEOUT = 1_000;

  private KeyedOneInputStreamOperatorTestHarness<String, RankLoad, LayerSample> harness;
  private long checkpoints;

  @BeforeEach
  void openHarness() throws Exception {
    harness = newHarness(null);
  }

  /** The operator the job runs, restored from {@code snapshot} when one is given. */
  private static KeyedOneInputStreamOperatorTestHarness<String, RankLoad, LayerSample> newHarness(
      OperatorSubtaskState snapshot) throws Exception {
    KeyedOneInputStreamOperatorTestHarness<String, RankLoad, LayerSample> harness =
        Harnesses.opened(
            new KeyedOneInputStreamOperatorTestHarness<>(
                WriteBehindOperators.keyed(new RankWindowAggregator(F, TIMEOUT)),
                load -> load.jobId + "/" + load.rank,
                Types.STRING),
            snapshot);
    harness.setProcessingTime(0);
    return harness;
  }

  /** Entries of the keyed state as a checkpoint now would hold them. */
  private int stateEntries() throws Exception {
    harness.snapshot(++checkpoints, 0);
    return harness.numKeyedStateEntries();
  }

  @AfterEach
  void closeHarness() throws Exception {
    harness.close();
  }

  @Test
  void emitsOneSamplePerLayerWithTheWindowsSumsOnceTheRankReportedItAll() throws Exception {
    harness.processElement(load(1, 3, 10), 0);
    harness.processElement(load(1, 4, 20), 0);
    assertThat(harness.extractOutputValues()).isEmpty();
    assertThat(stateEntries()).isEqualTo(1);

    harness.processElement(load(1, 5, 30), 0);

    List<LayerSample> samples = harness.extractOutputValues();
    assertThat(samples).extracting(s -> s.layer).containsExactly(0, 2);
    LayerSample layer0 = samples.get(0);
    assertThat(layer0.window).isEqualTo(1);
    assertThat(layer0.iterations).isEqualTo(F);
    assertThat(layer0.rank).isEqualTo(1);
    assertThat(layer0.worldSize).isEqualTo(4);
    assertThat(layer0.counts).containsExactly(60, 63, 66);
    assertThat(samples.get(1).counts).containsExactly(6, 6, 6);
    assertThat(stateEntries()).isZero();
    assertThat(harness.numProcessingTimeTimers()).isZero();
  }

  @Test
  void emitsWhatItHasWhenTheRankMovesOnToALaterWindow() throws Exception {
    harness.processElement(load(1, 0, 10), 0);
    harness.processElement(load(1, 4, 20), 0);

    List<LayerSample> samples = harness.extractOutputValues();
    assertThat(samples).hasSize(2);
    assertThat(samples.get(0).window).isZero();
    assertThat(samples.get(0).iterations).isEqualTo(1);
    assertThat(samples.get(0).counts).containsExactly(10, 11, 12);
    assertThat(harness.numProcessingTimeTimers()).as("the new window's timer").isEqualTo(1);
  }

  @Test
  void emitsWhatItHasWhenTheWindowTimesOut() throws Exception {
    harness.processElement(load(2, 6, 10), 0);
    harness.processElement(load(2, 7, 10), 0);

    harness.setProcessingTime(TIMEOUT);

    List<LayerSample> samples = harness.extractOutputValues();
    assertThat(samples).hasSize(2);
    assertThat(samples.get(0).window).isEqualTo(2);
    assertThat(samples.get(0).iterations).isEqualTo(2);
    assertThat(stateEntries()).isZero();
  }

  @Test
  void aRestoredOperatorContinuesTheWindowFromItsCheckpoint() throws Exception {
    harness.processElement(load(1, 3, 10), 0);
    harness.processElement(load(1, 4, 20), 0);
    OperatorSubtaskState snapshot = harness.snapshot(++checkpoints, 0);
    // after the checkpoint: lost with the failure, replayed from the source after the restore
    harness.processElement(load(1, 5, 1_000), 0);
    harness.close();
    harness = newHarness(snapshot);

    harness.processElement(load(1, 5, 30), 0);

    List<LayerSample> samples = harness.extractOutputValues();
    assertThat(samples).extracting(s -> s.layer).containsExactly(0, 2);
    assertThat(samples.get(0).iterations).isEqualTo(F);
    assertThat(samples.get(0).counts).containsExactly(60, 63, 66);
  }

  @Test
  void neverSumsLoadsOfTwoEpochsAndSaysWhichEpochASampleIsOf() throws Exception {
    harness.processElement(load(1, 3, 10), 0);
    RankLoad resumed = load(1, 4, 20);
    resumed.runId = "r";
    resumed.attempt = 1;

    harness.processElement(resumed, 0);
    List<LayerSample> atChange = List.copyOf(harness.extractOutputValues());
    harness.setProcessingTime(TIMEOUT);

    List<LayerSample> samples = harness.extractOutputValues();
    assertThat(atChange)
        .as("the old epoch's window goes out when the epoch changes")
        .extracting(s -> s.layer + ":" + s.runId + "." + s.attempt + ":" + s.iterations)
        .containsExactly("0:null.0:1", "2:null.0:1");
    assertThat(samples.get(0).counts).containsExactly(10, 11, 12);
    assertThat(samples.subList(2, 4))
        .extracting(s -> s.layer + ":" + s.runId + "." + s.attempt + ":" + s.iterations)
        .containsExactly("0:r.1:1", "2:r.1:1");
    assertThat(samples.get(2).window).isEqualTo(1);
    assertThat(samples.get(2).counts).containsExactly(20, 21, 22);
  }

  private static RankLoad load(int rank, long iteration, long base) {
    RankLoad load = new RankLoad();
    load.jobId = "job";
    load.rank = rank;
    load.worldSize = 4;
    load.iteration = iteration;
    load.layers = new int[] {0, 2};
    load.counts = new long[][] {{base, base + 1, base + 2}, {2, 2, 2}};
    load.producedAtMillis = iteration;
    return load;
  }
}
