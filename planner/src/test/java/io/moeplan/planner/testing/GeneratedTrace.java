package io.moeplan.planner.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/**
 * Small generated expert-load traces in the replay's CSV format, for tests that need a trace with
 * particular layers (say layers 5-7 only): every rank routes {@link #TOKENS_PER_ROW} assignments
 * per layer, most of them to one expert that moves with rank, layer and iteration.
 */
public final class GeneratedTrace {
  /** Assignments each (iteration, rank, layer) row sums to. */
  public static final int TOKENS_PER_ROW = 1024;

  private GeneratedTrace() {}

  /**
   * Writes a trace of {@code samples} sampled iterations (0, 10, 20, ...), ranks {@code 0..ranks-1}
   * and layers {@code firstLayer..lastLayer}; gzip when {@code file} ends in {@code .gz}.
   */
  public static Path write(
      Path file, int firstLayer, int lastLayer, int samples, int ranks, int experts)
      throws IOException {
    try (OutputStream raw = Files.newOutputStream(file);
        OutputStream body = file.toString().endsWith(".gz") ? new GZIPOutputStream(raw) : raw;
        Writer out = new OutputStreamWriter(body, StandardCharsets.UTF_8)) {
      StringBuilder header = new StringBuilder("iteration,rank,layer");
      for (int e = 0; e < experts; e++) {
        header.append(",e").append(e);
      }
      out.write(header.append('\n').toString());
      int small = TOKENS_PER_ROW / (2 * experts);
      for (int s = 0; s < samples; s++) {
        for (int rank = 0; rank < ranks; rank++) {
          for (int layer = firstLayer; layer <= lastLayer; layer++) {
            StringBuilder row = new StringBuilder();
            row.append(10 * s).append(',').append(rank).append(',').append(layer);
            int hot = (rank + layer + s / 3) % experts;
            for (int e = 0; e < experts; e++) {
              int count = e == hot ? TOKENS_PER_ROW - small * (experts - 1) : small;
              row.append(',').append(count);
            }
            out.write(row.append('\n').toString());
          }
        }
      }
    }
    return file;
  }
}
