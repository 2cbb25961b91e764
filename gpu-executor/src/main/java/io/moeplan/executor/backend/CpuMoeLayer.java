package io.moeplan.executor.backend;

import io.moeplan.planner.placement.Placement;
import java.util.Arrays;

/**
 * The float32 reference backend: every stage is {@link Reference}; slots are Java arrays and a slot
 * copy is three array copies (12 bytes per parameter). Each worker's expert compute and each slot
 * copy is timed on {@link CpuClock}: the thread's CPU time, so that other threads and processes on
 * the machine do not count as the worker's time.
 */
public final class CpuMoeLayer implements MoeLayerBackend {

  private final LayerShape shape;
  private final SlotLayout layout;
  private final float[][] master;
  private final float[][] adamM;
  private final float[][] adamV;
  private float[] gate;

  /** A layer whose slots hold zero weights until {@link #loadSlot} and gate until loadGate. */
  public CpuMoeLayer(LayerShape shape, SlotLayout layout) {
    this.shape = shape;
    this.layout = layout;
    int params = Math.toIntExact(shape.paramsPerExpert());
    this.master = new float[layout.slots()][params];
    this.adamM = new float[layout.slots()][params];
    this.adamV = new float[layout.slots()][params];
    this.gate = new float[shape.hidden() * shape.experts()];
  }

  @Override
  public LayerShape shape() {
    return shape;
  }

  @Override
  public SlotLayout layout() {
    return layout;
  }

  @Override
  public void loadGate(float[] gate) {
    shape.checkGate(gate);
    this.gate = gate.clone();
  }

  @Override
  public void loadSlot(int slot, SlotState state) {
    layout.checkSlot(slot);
    checkParams(state);
    System.arraycopy(state.master(), 0, master[slot], 0, state.params());
    System.arraycopy(state.adamM(), 0, adamM[slot], 0, state.params());
    System.arraycopy(state.adamV(), 0, adamV[slot], 0, state.params());
  }

  @Override
  public SlotState readSlot(int slot) {
    layout.checkSlot(slot);
    return new SlotState(master[slot].clone(), adamM[slot].clone(), adamV[slot].clone());
  }

  @Override
  public Routing route(TokenBatch tokens) {
    checkTokens(tokens);
    float[] logits =
        Reference.gateLogits(
            tokens.embeddings(), tokens.tokens(), shape.hidden(), gate, shape.experts());
    return Reference.softmaxTopK(logits, tokens.tokens(), shape.experts(), shape.topK());
  }

  @Override
  public LayerStep forward(TokenBatch tokens, Routing routing, Placement placement) {
    checkTokens(tokens);
    layout.check(placement, shape.experts());
    ExpertCounts counts =
        Reference.rankCounts(routing, tokens.ranks(), tokens.tokensPerRank(), shape.experts());
    DispatchPlan plan = DispatchPlan.of(routing, placement);
    float[] xd = Reference.permute(tokens.embeddings(), shape.hidden(), routing, plan);
    float[] y = new float[plan.rows() * shape.hidden()];
    double[] millis = new double[layout.workers()];
    for (int w = 0; w < layout.workers(); w++) {
      long t0 = CpuClock.nanos();
      for (int s = layout.firstSlot(w); s < layout.firstSlot(w) + layout.slotsPerWorker(); s++) {
        int from = plan.slotStart()[s] * shape.hidden();
        int to = from + plan.slotRows()[s] * shape.hidden();
        float[] ys = Reference.expertFfn(Arrays.copyOfRange(xd, from, to), master[s], shape);
        System.arraycopy(ys, 0, y, from, ys.length);
      }
      millis[w] = (CpuClock.nanos() - t0) / 1e6;
    }
    float[] out = Reference.combine(y, shape.hidden(), routing, plan);
    return new LayerStep(out, counts, plan.slotRows().clone(), millis);
  }

  @Override
  public CopyReport copySlot(int from, int to) {
    layout.checkSlot(from);
    layout.checkSlot(to);
    long t0 = CpuClock.nanos();
    if (from != to) {
      System.arraycopy(master[from], 0, master[to], 0, master[from].length);
      System.arraycopy(adamM[from], 0, adamM[to], 0, adamM[from].length);
      System.arraycopy(adamV[from], 0, adamV[to], 0, adamV[from].length);
    }
    long bytes = from == to ? 0 : 12L * master[from].length;
    return new CopyReport(from, to, bytes, (CpuClock.nanos() - t0) / 1e6);
  }

  @Override
  public void close() {
    // heap arrays only
  }

  private void checkParams(SlotState state) {
    if (state.params() != shape.paramsPerExpert()) {
      throw new IllegalArgumentException(
          "slot state has " + state.params() + " params, shape " + shape.paramsPerExpert());
    }
  }

  private void checkTokens(TokenBatch tokens) {
    if (tokens.hidden() != shape.hidden()) {
      throw new IllegalArgumentException(
          "tokens have hidden " + tokens.hidden() + ", layer " + shape.hidden());
    }
  }
}
