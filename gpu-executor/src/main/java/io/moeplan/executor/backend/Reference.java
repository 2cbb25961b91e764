package io.moeplan.executor.backend;

/**
 * The plain-Java float32 definition of every stage of a MoE layer; the CPU backend composes these
 * and the CUDA kernels are checked against them.
 */
public final class Reference {

  private static final float GELU_C = (float) Math.sqrt(2.0 / Math.PI);

  private Reference() {}

  /** Gate logits: x (tokens x hidden) times gate (hidden x experts), row-major. */
  public static float[] gateLogits(float[] x, int tokens, int hidden, float[] gate, int experts) {
    float[] logits = new float[tokens * experts];
    for (int t = 0; t < tokens; t++) {
      int xo = t * hidden;
      int lo = t * experts;
      for (int h = 0; h < hidden; h++) {
        float xv = x[xo + h];
        int go = h * experts;
        for (int e = 0; e < experts; e++) {
          logits[lo + e] += xv * gate[go + e];
        }
      }
    }
    return logits;
  }

  /**
   * Softmax over each token's logits, then the topK most probable experts (ties: lower id first),
   * weights renormalised over the chosen ones.
   */
  public static Routing softmaxTopK(float[] logits, int tokens, int experts, int topK) {
    int[] ids = new int[tokens * topK];
    float[] weights = new float[tokens * topK];
    float[] prob = new float[experts];
    boolean[] taken = new boolean[experts];
    for (int t = 0; t < tokens; t++) {
      int lo = t * experts;
      float max = Float.NEGATIVE_INFINITY;
      for (int e = 0; e < experts; e++) {
        max = Math.max(max, logits[lo + e]);
      }
      float sum = 0;
      for (int e = 0; e < experts; e++) {
        prob[e] = (float) Math.exp(logits[lo + e] - max);
        sum += prob[e];
        taken[e] = false;
      }
      float chosen = 0;
      for (int j = 0; j < topK; j++) {
        int best = -1;
        for (int e = 0; e < experts; e++) {
          if (!taken[e] && (best < 0 || prob[e] > prob[best])) {
            best = e;
          }
        }
        taken[best] = true;
        ids[t * topK + j] = best;
        weights[t * topK + j] = prob[best] / sum;
        chosen += prob[best] / sum;
      }
      for (int j = 0; j < topK; j++) {
        weights[t * topK + j] /= chosen;
      }
    }
    return new Routing(tokens, topK, ids, weights);
  }

  /** Per-rank expert counts; token t belongs to rank t / tokensPerRank. */
  public static ExpertCounts rankCounts(
      Routing routing, int ranks, int tokensPerRank, int experts) {
    int[] counts = new int[ranks * experts];
    for (int i = 0; i < routing.assignments(); i++) {
      int rank = (i / routing.topK()) / tokensPerRank;
      counts[rank * experts + routing.experts()[i]]++;
    }
    return new ExpertCounts(ranks, experts, counts);
  }

  /** Dispatched activations (plan.rows() x hidden): each assignment's token row at its slot row. */
  public static float[] permute(float[] x, int hidden, Routing routing, DispatchPlan plan) {
    float[] xd = new float[plan.rows() * hidden];
    for (int i = 0; i < routing.assignments(); i++) {
      int t = i / routing.topK();
      System.arraycopy(x, t * hidden, xd, plan.rowOfAssignment()[i] * hidden, hidden);
    }
    return xd;
  }

  /** GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
  public static float gelu(float x) {
    return 0.5f * x * (1f + (float) Math.tanh(GELU_C * (x + 0.044715f * x * x * x)));
  }

  /** C (rows x n) = A (rows x k, row-major) times B (k x n, row-major, from element bOffset). */
  public static float[] matmul(float[] a, float[] b, int bOffset, GemmDims dims) {
    int n = dims.n();
    int k = dims.k();
    float[] c = new float[dims.rows() * n];
    for (int i = 0; i < dims.rows(); i++) {
      int ao = i * k;
      int co = i * n;
      for (int kk = 0; kk < k; kk++) {
        float av = a[ao + kk];
        int bo = bOffset + kk * n;
        for (int j = 0; j < n; j++) {
          c[co + j] += av * b[bo + j];
        }
      }
    }
    return c;
  }

  /** Applies {@link #gelu(float)} to every element, in place; returns the array. */
  public static float[] gelu(float[] v) {
    for (int i = 0; i < v.length; i++) {
      v[i] = gelu(v[i]);
    }
    return v;
  }

  /** Rows, inner and output widths of one GEMM. */
  public record GemmDims(int rows, int k, int n) {}

  /** First expert GEMM: GELU(x W1) for x (rows x hidden), W1 from the parameter vector. */
  public static float[] expertHidden(float[] x, float[] params, LayerShape shape) {
    int rows = x.length / shape.hidden();
    return gelu(matmul(x, params, 0, new GemmDims(rows, shape.hidden(), shape.ffn())));
  }

  /** Second expert GEMM: h W2 for h (rows x ffn), W2 from the parameter vector. */
  public static float[] expertOutput(float[] h, float[] params, LayerShape shape) {
    int rows = h.length / shape.ffn();
    return matmul(h, params, shape.w1Size(), new GemmDims(rows, shape.ffn(), shape.hidden()));
  }

  /** Expert FFN: y = GELU(x W1) W2 for x (rows x hidden); returns rows x hidden. */
  public static float[] expertFfn(float[] x, float[] params, LayerShape shape) {
    return expertOutput(expertHidden(x, params, shape), params, shape);
  }

  /** Combine: out[t] = sum over choices j of weight(t, j) * y[row of (t, j)]. */
  public static float[] combine(float[] y, int hidden, Routing routing, DispatchPlan plan) {
    float[] out = new float[routing.tokens() * hidden];
    for (int t = 0; t < routing.tokens(); t++) {
      for (int j = 0; j < routing.topK(); j++) {
        int i = t * routing.topK() + j;
        float w = routing.weights()[i];
        int yo = plan.rowOfAssignment()[i] * hidden;
        int oo = t * hidden;
        for (int h = 0; h < hidden; h++) {
          out[oo + h] += w * y[yo + h];
        }
      }
    }
    return out;
  }

  /** Rounds a float to the nearest bf16 (ties to even), returned as a float. */
  public static float toBf16(float v) {
    if (Float.isNaN(v)) {
      return v;
    }
    int bits = Float.floatToRawIntBits(v);
    int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
    return Float.intBitsToFloat(rounded & 0xFFFF0000);
  }

  /** ||a - ref|| / ||ref|| in double; NaN anywhere in a gives NaN, so it never passes a bound. */
  public static double relativeError(float[] a, float[] ref) {
    if (a.length != ref.length) {
      throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + ref.length);
    }
    double num = 0;
    double den = 0;
    for (int i = 0; i < a.length; i++) {
      double d = (double) a[i] - ref[i];
      num += d * d;
      den += (double) ref[i] * ref[i];
    }
    return Math.sqrt(num / den);
  }
}
