package io.moeplan.executor.backend;

import io.moeplan.planner.placement.Placement;
import java.util.SplittableRandom;

/** Vocabulary for MoE layer tests: shapes, seeded inputs and routings built by hand. */
public final class MoeFixtures {

  private MoeFixtures() {}

  /** A layer of the given dimensions. */
  public static LayerShape shape(int hidden, int ffn, int experts, int topK) {
    return new LayerShape(hidden, ffn, experts, topK);
  }

  /** Seeded gate matrix (hidden x experts), uniform in +-1/sqrt(hidden). */
  public static float[] randomGate(LayerShape shape, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float scale = (float) (1 / Math.sqrt(shape.hidden()));
    float[] g = new float[shape.hidden() * shape.experts()];
    for (int i = 0; i < g.length; i++) {
      g[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
    }
    return g;
  }

  /** A routing with one choice per token, given as expert ids, all weights 1. */
  public static Routing topOne(int... experts) {
    float[] w = new float[experts.length];
    java.util.Arrays.fill(w, 1f);
    return new Routing(experts.length, 1, experts.clone(), w);
  }

  /** A placement of {@code experts} experts on {@code layout} from the expert of each slot. */
  public static Placement slots(SlotLayout layout, int experts, int... expertOfSlot) {
    return layout.placement(expertOfSlot, experts);
  }

  /** A placement of every slot on one worker, of as many experts as the largest id names. */
  public static Placement slots(int... expertOfSlot) {
    int experts = java.util.Arrays.stream(expertOfSlot).max().orElse(0) + 1;
    return Placement.of(expertOfSlot, 1, expertOfSlot.length, experts);
  }

  /**
   * Loads every slot with the seeded state of the expert it serves, so replicas of an expert hold
   * identical weights.
   */
  public static void loadExperts(MoeLayerBackend layer, Placement placement, long seed) {
    for (int s = 0; s < placement.slotCount(); s++) {
      layer.loadSlot(s, SlotState.random(layer.shape(), seed + placement.expertAt(s)));
    }
  }
}
