package io.moeplan.executor.placement;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.executor.backend.CopyReport;
import io.moeplan.executor.backend.CpuMoeLayer;
import io.moeplan.executor.backend.LayerShape;
import io.moeplan.executor.backend.LayerStep;
import io.moeplan.executor.backend.MoeLayerBackend;
import io.moeplan.executor.backend.Reference;
import io.moeplan.executor.backend.Routing;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.executor.backend.SlotState;
import io.moeplan.executor.backend.TokenBatch;
import io.moeplan.planner.placement.Placement;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MigrationTest {

  private static final LayerShape SHAPE = new LayerShape(16, 24, 6, 2);
  private static final SlotLayout LAYOUT = new SlotLayout(3, 3);

  @Test
  void everySlotHoldsItsNewExpertsWeightsAndAdamStateAfterASwitch() {
    Placement from = placement(0, 1, 2, 3, 4, 5, 0, 1, 2);
    Placement to = placement(5, 0, 3, 1, 2, 4, 4, 5, 0);
    try (CpuMoeLayer layer = loaded(from)) {
      MigrationReport report = Migration.apply(layer, from, to);
      assertHoldsExperts(layer, to);
      assertThat(report.slotsChanged()).isEqualTo(9);
      assertThat(report.bytes()).isEqualTo(9 * 12L * SHAPE.paramsPerExpert());
    }
  }

  @Test
  void reportsWhatEachWorkerReceivedAndPaysTheSlowestWorker() {
    // worker 0 (slots 0-2) gets two new experts, worker 1 none, worker 2 (slots 6-8) one
    Placement from = placement(0, 1, 2, 3, 4, 5, 0, 1, 2);
    Placement to = placement(3, 4, 2, 3, 4, 5, 0, 1, 5);
    try (CpuMoeLayer layer = loaded(from)) {
      MigrationReport report = Migration.apply(layer, from, to);
      assertHoldsExperts(layer, to);
      long slotBytes = 12L * SHAPE.paramsPerExpert();
      assertThat(report.workerBytes()).containsExactly(2 * slotBytes, 0, slotBytes);
      assertThat(report.workerMillis()[0]).isPositive();
      assertThat(report.workerMillis()[1]).isZero();
      assertThat(report.workerMillis()[2]).isPositive();
      assertThat(report.paidMillis())
          .isEqualTo(Math.max(report.workerMillis()[0], report.workerMillis()[2]))
          .isLessThanOrEqualTo(report.millis());
      assertThat(report.bytes()).isEqualTo(3 * slotBytes);
    }
  }

  @Test
  void expertsSwappingSlotsAreStagedSoNoSourceIsOverwrittenBeforeItIsRead() {
    // slots 0 and 1 swap, slots 2, 3, 4 rotate: only cycles, every target also a source
    Placement from = placement(0, 1, 2, 3, 4, 5, 5, 5, 5);
    Placement to = placement(1, 0, 3, 4, 2, 5, 5, 5, 5);
    try (CpuMoeLayer layer = loaded(from)) {
      MigrationReport report = Migration.apply(layer, from, to);
      assertHoldsExperts(layer, to);
      assertThat(report.staged()).isEqualTo(2);
      assertThat(report.slotsChanged()).isEqualTo(5);
    }
  }

  @Test
  void copiesFromASlotThatKeepsItsExpertWhenOneExists() {
    Placement from = placement(0, 1, 2, 3, 4, 5, 0, 1, 2);
    Placement to = placement(1, 1, 2, 3, 4, 5, 5, 0, 2);
    // expert 1 lives in slots 1 (kept) and 7 (overwritten): slot 0 copies from 1; expert 0 only
    // in slots 0 and 6, both overwritten: slot 7 copies from 0
    int[] sources = Migration.sources(from, to);
    assertThat(sources[0]).isEqualTo(1);
    assertThat(sources[6]).isEqualTo(5);
    assertThat(sources[7]).isEqualTo(0);
    try (TestingRecordingLayer layer = new TestingRecordingLayer(loaded(from))) {
      Migration.apply(layer, from, to);
      // slot 0 is read (for slot 7) before it is written (from slot 1)
      assertThat(layer.copies).containsExactly("5->6", "0->7", "1->0");
      assertHoldsExperts(layer.delegate, to);
    }
  }

  @Test
  void forwardAfterASwitchMatchesTheReferenceOnTheNewPlacement() {
    Placement from = placement(0, 1, 2, 3, 4, 5, 0, 1, 2);
    Placement to = placement(2, 1, 0, 5, 3, 4, 3, 4, 5);
    try (CpuMoeLayer layer = loaded(from)) {
      float[] gate = new float[SHAPE.hidden() * SHAPE.experts()];
      SplittableRandom random = new SplittableRandom(11);
      for (int i = 0; i < gate.length; i++) {
        gate[i] = (float) random.nextGaussian();
      }
      layer.loadGate(gate);
      TokenBatch tokens = TokenBatch.random(3, 20, SHAPE.hidden(), 5);
      Routing routing = layer.route(tokens);
      Migration.apply(layer, from, to);
      LayerStep step = layer.forward(tokens, routing, to);
      float[] expected = referenceOutput(tokens, routing);
      assertThat(Reference.relativeError(step.output(), expected)).isLessThan(1e-5);
    }
  }

  /** Every token's output computed from the experts' original states, slot-free. */
  private static float[] referenceOutput(TokenBatch tokens, Routing routing) {
    int hidden = SHAPE.hidden();
    float[] out = new float[tokens.tokens() * hidden];
    for (int t = 0; t < tokens.tokens(); t++) {
      float[] x = new float[hidden];
      System.arraycopy(tokens.embeddings(), t * hidden, x, 0, hidden);
      for (int j = 0; j < routing.topK(); j++) {
        int expert = routing.experts()[t * routing.topK() + j];
        float w = routing.weights()[t * routing.topK() + j];
        float[] y = Reference.expertFfn(x, state(expert).master(), SHAPE);
        for (int h = 0; h < hidden; h++) {
          out[t * hidden + h] += w * y[h];
        }
      }
    }
    return out;
  }

  private static void assertHoldsExperts(MoeLayerBackend layer, Placement placement) {
    for (int slot = 0; slot < placement.slotCount(); slot++) {
      SlotState expected = state(placement.expertAt(slot));
      SlotState actual = layer.readSlot(slot);
      assertThat(actual.master()).as("weights of slot %d", slot).isEqualTo(expected.master());
      assertThat(actual.adamM()).as("Adam m of slot %d", slot).isEqualTo(expected.adamM());
      assertThat(actual.adamV()).as("Adam v of slot %d", slot).isEqualTo(expected.adamV());
    }
  }

  private static CpuMoeLayer loaded(Placement placement) {
    CpuMoeLayer layer = new CpuMoeLayer(SHAPE, LAYOUT);
    for (int slot = 0; slot < placement.slotCount(); slot++) {
      layer.loadSlot(slot, state(placement.expertAt(slot)));
    }
    return layer;
  }

  private static SlotState state(int expert) {
    return SlotState.random(SHAPE, 100 + expert);
  }

  private static Placement placement(int... experts) {
    return LAYOUT.placement(experts, SHAPE.experts());
  }

  /** Records the order of slot copies of a CPU layer. */
  private static final class TestingRecordingLayer implements MoeLayerBackend {
    final CpuMoeLayer delegate;
    final List<String> copies = new ArrayList<>();

    TestingRecordingLayer(CpuMoeLayer delegate) {
      this.delegate = delegate;
    }

    @Override
    public LayerShape shape() {
      return delegate.shape();
    }

    @Override
    public SlotLayout layout() {
      return delegate.layout();
    }

    @Override
    public void loadGate(float[] gate) {
      delegate.loadGate(gate);
    }

    @Override
    public void loadSlot(int slot, SlotState state) {
      copies.add("staged->" + slot);
      delegate.loadSlot(slot, state);
    }

    @Override
    public SlotState readSlot(int slot) {
      return delegate.readSlot(slot);
    }

    @Override
    public Routing route(TokenBatch tokens) {
      return delegate.route(tokens);
    }

    @Override
    public LayerStep forward(TokenBatch tokens, Routing routing, Placement placement) {
      return delegate.forward(tokens, routing, placement);
    }

    @Override
    public CopyReport copySlot(int from, int to) {
      copies.add(from + "->" + to);
      return delegate.copySlot(from, to);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
