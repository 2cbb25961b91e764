package io.moeplan.executor.workload;

import io.moeplan.executor.backend.MoeLayerBackend;
import io.moeplan.executor.backend.Routing;
import io.moeplan.executor.backend.TokenBatch;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Replays an expert-load trace (CSV {@code iteration,rank,layer,e0,...}) as routing: each process
 * rank routes exactly the trace's counts of its rank (trace ranks folded onto the world's ranks
 * {@code r mod worldSize}), each trace sample standing for {@code sampleIterations} iterations, the
 * file starting over at its end.
 *
 * <p>A rank's count row sums to its routed assignments. When that is not {@code tokensPerRank x
 * topK} (for example a small CPU demo replaying a full-size trace) the row is scaled to it by
 * largest remainder, keeping the distribution; when it matches, the counts are reproduced exactly.
 * Assignments are laid out expert by expert, position p going to token {@code p mod tokens} as its
 * choice {@code p / tokens}, so no token picks an expert twice; weights are {@code 1/topK}. The
 * embeddings are seeded random (the gate is not consulted).
 *
 * <p>Model layer {@code l} replays the file's {@code l}-th layer in order, whatever its number: a
 * file of layers 12-23 feeds a 12-layer model, its layer 12 as model layer 0.
 */
public final class TraceWorkload implements Workload {

  private final Path file;
  private final WorkloadShape shape;
  private final int sampleIterations;
  private final long seed;
  private final float[] zeroGate;
  private TraceReader reader;
  private TraceSample sample;
  private long iteration = -1;

  /** A replay of {@code file} for {@code shape}, each sample for {@code sampleIterations}. */
  public TraceWorkload(Path file, WorkloadShape shape, int sampleIterations, long seed)
      throws IOException {
    if (sampleIterations < 1) {
      throw new IllegalArgumentException(
          "iterations per trace sample must be >= 1, got " + sampleIterations);
    }
    this.file = file;
    this.shape = shape;
    this.sampleIterations = sampleIterations;
    this.seed = seed;
    this.zeroGate = new float[shape.hidden() * shape.experts()];
    this.reader = open();
    if (reader.experts() != shape.experts()) {
      throw new IllegalArgumentException(
          file + " has " + reader.experts() + " experts per layer, the model " + shape.experts());
    }
  }

  private TraceReader open() throws IOException {
    return TraceReader.openModelLayers(file, shape.worldSize(), shape.layers());
  }

  @Override
  public float[] gate(int layer) {
    return zeroGate.clone();
  }

  @Override
  public void advanceTo(long target) {
    if (target < iteration) {
      throw new IllegalArgumentException(
          "cannot go back from iteration " + iteration + " to " + target);
    }
    long firstSample = iteration < 0 ? 0 : iteration / sampleIterations + 1;
    long lastSample = target / sampleIterations;
    for (long s = firstSample; s <= lastSample; s++) {
      nextSample();
    }
    iteration = target;
  }

  private void nextSample() {
    try {
      sample = reader.next();
      if (sample == null) {
        reader.close();
        reader = open();
        sample = reader.next();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read trace " + file, e);
    }
    if (sample == null || sample.layerCount() < shape.layers()) {
      throw new IllegalArgumentException(
          file
              + " has fewer than "
              + shape.layers()
              + " layers of data from layer "
              + reader.firstLayer()
              + " (the file holds layers "
              + reader.describeLayers()
              + ")");
    }
  }

  @Override
  public LayerInput input(int layer, MoeLayerBackend backend) {
    if (sample == null) {
      throw new IllegalStateException("call advanceTo first");
    }
    int tokens = shape.tokensPerRank();
    int topK = shape.topK();
    int experts = shape.experts();
    LoadMatrix load = sample.loads().get(layer);
    int[] chosen = new int[shape.ranks() * tokens * topK];
    for (int r = 0; r < shape.ranks(); r++) {
      int[] counts = rankCounts(load, shape.firstRank() + r, tokens, topK);
      int base = r * tokens * topK;
      int position = 0;
      for (int e = 0; e < experts; e++) {
        for (int c = 0; c < counts[e]; c++, position++) {
          int token = position % tokens;
          int choice = position / tokens;
          chosen[base + token * topK + choice] = e;
        }
      }
    }
    float[] weights = new float[chosen.length];
    java.util.Arrays.fill(weights, 1f / topK);
    SplittableRandom random = new SplittableRandom(seed * 31 + iteration * 1_000_003L + layer);
    float[] x = new float[shape.ranks() * tokens * shape.hidden()];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian();
    }
    return new LayerInput(
        new TokenBatch(shape.ranks(), tokens, shape.hidden(), x),
        new Routing(shape.ranks() * tokens, topK, chosen, weights));
  }

  /**
   * The trace counts of a rank as exactly {@code tokens * topK} assignments, none above {@code
   * tokens}: reproduced when they already sum to that, scaled by largest remainder otherwise.
   */
  static int[] rankCounts(LoadMatrix load, int rank, int tokens, int topK) {
    int experts = load.experts();
    long target = (long) tokens * topK;
    double total = load.sourceTotal(rank);
    double[] exact = new double[experts];
    for (int e = 0; e < experts; e++) {
      exact[e] = total > 0 ? load.tokens(rank, e) * target / total : (double) target / experts;
    }
    int[] counts = new int[experts];
    double[] remainder = new double[experts];
    long assigned = 0;
    for (int e = 0; e < experts; e++) {
      counts[e] = (int) Math.min(tokens, Math.floor(exact[e] + 1e-9));
      remainder[e] = counts[e] < tokens ? exact[e] - counts[e] : Double.NEGATIVE_INFINITY;
      assigned += counts[e];
    }
    for (long left = target - assigned; left > 0; left--) {
      int best = -1;
      for (int e = 0; e < experts; e++) {
        if (counts[e] < tokens && (best < 0 || remainder[e] > remainder[best])) {
          best = e;
        }
      }
      counts[best]++;
      remainder[best] = counts[best] < tokens ? remainder[best] - 1 : Double.NEGATIVE_INFINITY;
    }
    return counts;
  }

  @Override
  public String describe() {
    return "trace "
        + file.getFileName()
        + " (each sample for "
        + sampleIterations
        + " iterations, "
        + shape.tokensPerRank()
        + " tokens per rank)";
  }
}
