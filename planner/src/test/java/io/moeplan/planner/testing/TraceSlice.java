package io.moeplan.planner.testing;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.trace.TraceReader;
import io.moeplan.planner.trace.TraceSample;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The committed slice of the real GPT-MoE expert-load trace (SmartMoE artifact): the first {@value
 * #SAMPLES} samples (iterations 1, 11, ..., 791), layers 0-{@value #LAST_LAYER}, all {@value
 * #RANKS} ranks, {@value #EXPERTS} experts. It is a test resource of planner, so tests of other
 * modules reach it through planner's test-jar; {@code traces/README.md} beside it says where it
 * comes from and how it was cut.
 *
 * <p>The slice is read from the test classpath as a stream, never from a path outside the
 * repository. A missing resource, or a request for more samples than the slice holds, throws: a
 * test that needs the trace fails instead of skipping.
 */
public final class TraceSlice {
  /** Classpath location of the gzip CSV. */
  public static final String RESOURCE = "/io/moeplan/planner/traces/gpt-moe-slice.csv.gz";

  /** Ranks of the trace; each (iteration, rank, layer) row sums to {@value #TOKENS_PER_ROW}. */
  public static final int RANKS = 16;

  /** Experts per layer. */
  public static final int EXPERTS = 32;

  /** The last layer in the slice (the first is 0). */
  public static final int LAST_LAYER = 7;

  /** Samples in the slice, one every 10 training iterations from iteration 1. */
  public static final int SAMPLES = 80;

  /** Tokens a rank routes per layer and sample: 4 micro-batches x 2048 tokens x top-2. */
  public static final int TOKENS_PER_ROW = 16384;

  private TraceSlice() {}

  /**
   * The slice as uncompressed CSV text ({@code iteration,rank,layer,e0,...,e31}); the caller closes
   * it.
   *
   * @throws IllegalStateException when the resource is not on the test classpath
   */
  public static InputStream open() throws IOException {
    InputStream raw = TraceSlice.class.getResourceAsStream(RESOURCE);
    if (raw == null) {
      throw missing();
    }
    try {
      return new GZIPInputStream(raw, 1 << 16);
    } catch (IOException | RuntimeException e) {
      raw.close();
      throw e;
    }
  }

  private static IllegalStateException missing() {
    return new IllegalStateException(
        "test fixture "
            + RESOURCE
            + " is not on the test classpath: it is committed under"
            + " planner/src/test/resources (other modules get it from planner's test-jar)");
  }

  /** A reader over the slice folding the ranks onto {@code workers}, keeping the given layers. */
  public static TraceReader reader(int workers, int firstLayer, int lastLayer) throws IOException {
    checkLayers(firstLayer, lastLayer);
    InputStream csv = open();
    try {
      return TraceReader.fromStream(RESOURCE, csv, workers, firstLayer, lastLayer);
    } catch (IOException | RuntimeException e) {
      csv.close();
      throw e;
    }
  }

  /**
   * The first {@code count} samples of layers {@code firstLayer..lastLayer}, ranks folded onto
   * {@code workers}.
   *
   * @throws IllegalArgumentException when the slice holds fewer than {@code count} samples
   */
  public static List<TraceSample> samples(int workers, int firstLayer, int lastLayer, int count)
      throws IOException {
    if (count > SAMPLES) {
      throw new IllegalArgumentException(
          count + " samples asked, the committed trace slice holds " + SAMPLES);
    }
    List<TraceSample> out = new ArrayList<>(count);
    try (TraceReader reader = reader(workers, firstLayer, lastLayer)) {
      while (out.size() < count) {
        TraceSample sample = reader.next();
        if (sample == null) {
          throw new IllegalStateException(
              RESOURCE + " ends after " + out.size() + " samples, " + count + " asked");
        }
        out.add(sample);
      }
    }
    return out;
  }

  /** The loads of one layer over the first {@code count} samples, ranks folded on workers. */
  public static List<LoadMatrix> layer(int layer, int workers, int count) throws IOException {
    List<LoadMatrix> out = new ArrayList<>(count);
    for (TraceSample sample : samples(workers, layer, layer, count)) {
      out.add(sample.layer(layer));
    }
    return out;
  }

  /**
   * Copies the gzip slice into {@code directory} (a test's temporary folder, which the test
   * framework deletes) for code that reads a trace from a path; returns the copy.
   */
  public static Path copyTo(Path directory) throws IOException {
    Path copy = directory.resolve("gpt-moe-slice.csv.gz");
    try (InputStream raw = TraceSlice.class.getResourceAsStream(RESOURCE)) {
      if (raw == null) {
        throw missing();
      }
      Files.copy(raw, copy);
    }
    return copy;
  }

  private static void checkLayers(int firstLayer, int lastLayer) {
    if (lastLayer > LAST_LAYER) {
      throw new IllegalArgumentException(
          "layers "
              + firstLayer
              + "-"
              + lastLayer
              + " asked, the committed trace slice holds layers 0-"
              + LAST_LAYER);
    }
  }
}
