package io.moeplan.executor.backend;

import java.util.SplittableRandom;

/**
 * One slot's expert parameters in fp32 (W1 then W2, see {@link LayerShape#paramsPerExpert()}) and
 * its Adam moments, each the same length.
 */
public record SlotState(float[] master, float[] adamM, float[] adamV) {

  /** Validates that the three vectors have the same length. */
  public SlotState {
    if (adamM.length != master.length || adamV.length != master.length) {
      throw new IllegalArgumentException("master, adamM and adamV must have the same length");
    }
  }

  /**
   * Seeded random state: weights uniform in +-1/sqrt(hidden) (so activations keep their scale),
   * first moments small and signed, second moments small and positive; never zero.
   */
  public static SlotState random(LayerShape shape, long seed) {
    int n = Math.toIntExact(shape.paramsPerExpert());
    SplittableRandom rnd = new SplittableRandom(seed);
    float scale = (float) (1.0 / Math.sqrt(shape.hidden()));
    float[] w = new float[n];
    float[] m = new float[n];
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
      m[i] = (float) ((rnd.nextDouble() * 2 - 1) * 1e-3);
      v[i] = (float) (rnd.nextDouble() * 1e-6 + 1e-8);
    }
    return new SlotState(w, m, v);
  }

  /** Number of parameters. */
  public int params() {
    return master.length;
  }
}
