package io.moeplan.executor.workload;

import io.moeplan.executor.backend.MoeLayerBackend;
import io.moeplan.executor.backend.TokenBatch;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Token embeddings from a seeded, slowly drifting distribution, routed by a real gate.
 *
 * <p>Per layer, a token of rank r is {@code shared + own[r] + noise}: {@code shared} (entries of
 * standard deviation {@value #SHARED_SIGMA}) makes some experts popular with every rank, {@code
 * own[r]} (standard deviation {@value #RANK_SIGMA}) gives each rank experts of its own, and the
 * noise is standard normal. With gate entries of standard deviation {@code 1/sqrt(hidden)} these
 * become logit offsets of the same standard deviations, so each rank's routing is skewed and the
 * sum over ranks less so. Every iteration both means take a random-walk step of {@value
 * #DRIFT_SIGMA} per entry: popularity drifts slowly. The noise of an iteration depends only on the
 * seed, layer and iteration, and the means on the steps taken, so the same seed gives the same
 * stream and {@link #advanceTo} can skip ahead.
 */
public final class SyntheticWorkload implements Workload {

  /** Standard deviation of the mean shared by every rank. */
  public static final double SHARED_SIGMA = 1.0;

  /** Standard deviation of each rank's own mean. */
  public static final double RANK_SIGMA = 1.5;

  /** Standard deviation of the per-iteration step of every mean entry. */
  public static final double DRIFT_SIGMA = 0.03;

  private final WorkloadShape shape;
  private final long seed;
  private final Random drift;
  private final float[][] gates;
  private final double[][] shared;
  private final double[][][] own;
  private long iteration = -1;

  /** A stream for {@code shape}, seeded. */
  public SyntheticWorkload(WorkloadShape shape, long seed) {
    this.shape = shape;
    this.seed = seed;
    this.drift = new Random(seed);
    int hidden = shape.hidden();
    this.gates = new float[shape.layers()][];
    this.shared = new double[shape.layers()][hidden];
    this.own = new double[shape.layers()][shape.worldSize()][hidden];
    double gateScale = 1.0 / Math.sqrt(hidden);
    for (int layer = 0; layer < shape.layers(); layer++) {
      float[] gate = new float[hidden * shape.experts()];
      for (int i = 0; i < gate.length; i++) {
        gate[i] = (float) (drift.nextGaussian() * gateScale);
      }
      gates[layer] = gate;
      for (int h = 0; h < hidden; h++) {
        shared[layer][h] = SHARED_SIGMA * drift.nextGaussian();
      }
      // every rank of the world, so a process's ranks see the same stream whatever its first rank
      for (int rank = 0; rank < shape.worldSize(); rank++) {
        for (int h = 0; h < hidden; h++) {
          own[layer][rank][h] = RANK_SIGMA * drift.nextGaussian();
        }
      }
    }
  }

  @Override
  public float[] gate(int layer) {
    return gates[layer].clone();
  }

  @Override
  public void advanceTo(long target) {
    if (target < iteration) {
      throw new IllegalArgumentException(
          "cannot go back from iteration " + iteration + " to " + target);
    }
    while (iteration < target) {
      iteration++;
      if (iteration > 0) {
        step();
      }
    }
  }

  private void step() {
    for (int layer = 0; layer < shape.layers(); layer++) {
      for (int h = 0; h < shape.hidden(); h++) {
        shared[layer][h] += DRIFT_SIGMA * drift.nextGaussian();
      }
      for (double[] rankMean : own[layer]) {
        for (int h = 0; h < shape.hidden(); h++) {
          rankMean[h] += DRIFT_SIGMA * drift.nextGaussian();
        }
      }
    }
  }

  @Override
  public LayerInput input(int layer, MoeLayerBackend backend) {
    if (iteration < 0) {
      throw new IllegalStateException("call advanceTo first");
    }
    int hidden = shape.hidden();
    int tokens = shape.tokensPerRank();
    float[] x = new float[shape.ranks() * tokens * hidden];
    SplittableRandom noise =
        new SplittableRandom(seed * 0x9E3779B97F4A7C15L + iteration * 1_000_003L + layer);
    int i = 0;
    for (int r = 0; r < shape.ranks(); r++) {
      double[] mean = own[layer][shape.firstRank() + r];
      for (int t = 0; t < tokens; t++) {
        for (int h = 0; h < hidden; h++) {
          x[i++] = (float) (shared[layer][h] + mean[h] + noise.nextGaussian());
        }
      }
    }
    TokenBatch batch = new TokenBatch(shape.ranks(), tokens, hidden, x);
    return new LayerInput(batch, backend.route(batch));
  }

  @Override
  public String describe() {
    return "synthetic tokens through a real gate (seeded, drifting)";
  }
}
