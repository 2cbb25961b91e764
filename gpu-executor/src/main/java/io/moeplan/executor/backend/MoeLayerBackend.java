package io.moeplan.executor.backend;

import io.moeplan.planner.placement.Placement;

/**
 * One MoE layer over the workers hosted by one process: gate, per-rank counts, dispatch to the
 * slots of a placement, expert FFN per slot, combine; and moving a slot's weights and optimizer
 * state to another slot.
 */
public interface MoeLayerBackend extends AutoCloseable {

  /** The layer's dimensions. */
  LayerShape shape();

  /** The slots this backend hosts. */
  SlotLayout layout();

  /** Sets the gate matrix (hidden x experts, row-major). */
  void loadGate(float[] gate);

  /** Sets a slot's fp32 weights and Adam state (bf16 compute weights are derived on GPU). */
  void loadSlot(int slot, SlotState state);

  /** Reads a slot's fp32 weights and Adam state. */
  SlotState readSlot(int slot);

  /** Gate GEMM, softmax and top-k for a batch. */
  Routing route(TokenBatch tokens);

  /**
   * Counts, dispatch under the placement (see {@link DispatchPlan}), expert FFN per worker (timed),
   * and combine. The placement must be of this layer's experts on its {@link #layout()}; every slot
   * serving an expert must hold that expert's weights.
   */
  LayerStep forward(TokenBatch tokens, Routing routing, Placement placement);

  /** Copies weights and optimizer state of one slot onto another. */
  CopyReport copySlot(int from, int to);

  /** Releases the backend's memory. */
  @Override
  void close();
}
