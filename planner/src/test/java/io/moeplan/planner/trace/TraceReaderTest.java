package io.moeplan.planner.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.testing.GeneratedTrace;
import io.moeplan.planner.testing.TraceSlice;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceReaderTest {
  private static final String CSV =
      """
      iteration,rank,layer,e0,e1,e2
      1,0,0,1,2,3
      1,0,1,10,20,30
      1,1,0,4,5,6
      1,1,1,40,50,60
      1,2,0,7,8,9
      1,2,1,70,80,90
      11,0,0,1,1,1
      11,1,0,2,2,2
      11,2,0,3,3,3
      """;

  private static TraceReader reader(String csv, int workers, int first, int last)
      throws IOException {
    return TraceReader.fromStream(
        "t.csv",
        new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)),
        workers,
        first,
        last);
  }

  @Test
  void groupsRowsByIterationAndFoldsRanksOntoWorkers() throws IOException {
    try (TraceReader r = reader(CSV, 2, 0, 1)) {
      TraceSample first = r.next();

      assertThat(first.iteration()).isEqualTo(1);
      assertThat(first.ranks()).isEqualTo(3);
      assertThat(first.layerCount()).isEqualTo(2);
      // rank 2 runs on worker 2 mod 2 = 0
      assertThat(first.layer(0).tokens(0, 0)).isEqualTo(1 + 7);
      assertThat(first.layer(0).tokens(1, 2)).isEqualTo(6);
      assertThat(first.layer(1).tokens(0, 1)).isEqualTo(20 + 80);

      TraceSample second = r.next();
      assertThat(second.iteration()).isEqualTo(11);
      assertThat(second.layerCount()).isEqualTo(1);
      assertThat(second.layer(0).expertTotals()).containsExactly(6, 6, 6);
      assertThat(r.next()).isNull();
    }
  }

  @Test
  void keepsOnlyTheRequestedLayers() throws IOException {
    try (TraceReader r = reader(CSV, 4, 1, 1)) {
      TraceSample first = r.next();

      assertThat(first.firstLayer()).isEqualTo(1);
      assertThat(first.layer(1).tokens(3, 0)).isZero();
      assertThat(first.layer(1).tokens(2, 0)).isEqualTo(70);
    }
  }

  @Test
  void malformedRowsNameFileAndLine() throws IOException {
    String shortRow = CSV.replace("1,1,0,4,5,6", "1,1,0,4,5");
    String badNumber = CSV.replace("1,1,0,4,5,6", "1,1,0,4,x,6");
    String longRow = CSV.replace("1,1,0,4,5,6", "1,1,0,4,5,6,7");

    try (TraceReader r = reader(shortRow, 2, 0, 1)) {
      assertThatThrownBy(r::next).hasMessage("t.csv:4: expected 6 fields, got 5");
    }
    try (TraceReader r = reader(badNumber, 2, 0, 1)) {
      assertThatThrownBy(r::next)
          .hasMessage("t.csv:4: field 'e1' must be a non-negative integer, got 'x'");
    }
    try (TraceReader r = reader(longRow, 2, 0, 1)) {
      assertThatThrownBy(r::next).hasMessage("t.csv:4: more than 6 fields");
    }
  }

  @Test
  void iterationsMustIncrease() throws IOException {
    try (TraceReader r = reader(CSV + "1,0,0,1,1,1\n", 2, 0, 1)) {
      r.next();
      r.next();
      assertThatThrownBy(r::next)
          .hasMessageContaining("t.csv:11: iteration 1 follows iteration 11");
    }
  }

  @Test
  void headerIsChecked() {
    assertThatThrownBy(() -> reader("iter,rank,layer,e0\n", 2, 0, 0))
        .isInstanceOf(TraceFormatException.class)
        .hasMessageStartingWith("t.csv:1: header must be iteration,rank,layer,e0,...");
  }

  @Test
  void traceSliceRowsSumToTokensPerRank(@TempDir Path directory) throws IOException {
    // read from a .gz path, as the replay and pool commands read a trace file
    Path gz = TraceSlice.copyTo(directory);
    try (TraceReader r = TraceReader.open(gz, 8, 0, 11)) {
      TraceSample first = r.next();

      assertThat(r.experts()).isEqualTo(32);
      assertThat(first.iteration()).isEqualTo(1);
      assertThat(first.ranks()).isEqualTo(16);
      // layers 0-11 asked; the slice holds layers 0-7 and layers beyond the file's are absent
      assertThat(first.layerCount()).isEqualTo(TraceSlice.LAST_LAYER + 1);
      // two ranks of 16384 routed tokens fold onto each of the 8 workers
      for (int layer = 0; layer <= TraceSlice.LAST_LAYER; layer++) {
        for (int w = 0; w < 8; w++) {
          assertThat(first.layer(layer).sourceTotal(w)).isEqualTo(2 * TraceSlice.TOKENS_PER_ROW);
        }
      }
      assertThat(r.next().iteration()).isEqualTo(11);
      int samples = 2;
      long last = 11;
      for (TraceSample s = r.next(); s != null; s = r.next()) {
        samples++;
        last = s.iteration();
      }
      assertThat(samples).isEqualTo(TraceSlice.SAMPLES);
      assertThat(last).isEqualTo(1 + 10 * (TraceSlice.SAMPLES - 1));
    }
  }

  @Test
  void readsEveryLayerOfATraceThatStartsAboveZeroKeepingItsNumbers(@TempDir Path directory)
      throws IOException {
    Path gz = GeneratedTrace.write(directory.resolve("l5-7.csv.gz"), 5, 7, 4, 2, 4);
    try (TraceReader r = TraceReader.open(gz, 2)) {
      assertThat(r.fileLayers()).containsExactly(5, 6, 7);
      assertThat(r.describeLayers()).isEqualTo("5-7");
      TraceSample first = r.next();
      assertThat(first.firstLayer()).isEqualTo(5);
      assertThat(first.layerCount()).isEqualTo(3);
      assertThat(first.layer(7).sourceTotal(1)).isEqualTo(GeneratedTrace.TOKENS_PER_ROW);
      int samples = 1;
      while (r.next() != null) {
        samples++;
      }
      assertThat(samples).isEqualTo(4);
    }
    try (TraceReader r = TraceReader.openLayers(gz, 2, 6, 7)) {
      TraceSample first = r.next();
      assertThat(first.firstLayer()).isEqualTo(6);
      assertThat(first.layerCount()).isEqualTo(2);
    }
  }

  @Test
  void aModelTakesTheFilesLayersInOrder(@TempDir Path directory) throws IOException {
    Path gz = GeneratedTrace.write(directory.resolve("l5-7.csv.gz"), 5, 7, 2, 2, 4);
    try (TraceReader r = TraceReader.openModelLayers(gz, 2, 2)) {
      TraceSample first = r.next();
      assertThat(first.firstLayer()).isEqualTo(5);
      assertThat(first.layerCount()).isEqualTo(2);
    }
    assertThatThrownBy(() -> TraceReader.openModelLayers(gz, 2, 4))
        .isInstanceOf(TraceFormatException.class)
        .hasMessageContaining("l5-7.csv.gz")
        .hasMessageContaining("holds 3 layer(s) (5-7), fewer than the 4 the model needs");
  }

  @Test
  void aLayerRangeOutsideTheFileNamesTheFilesLayers(@TempDir Path directory) throws IOException {
    Path gz = GeneratedTrace.write(directory.resolve("l5-7.csv.gz"), 5, 7, 2, 2, 4);
    assertThatThrownBy(() -> TraceReader.openLayers(gz, 2, 0, 3))
        .isInstanceOf(TraceFormatException.class)
        .hasMessageContaining("holds layers 5-7; layers 0-3 are not all among them");
    assertThatThrownBy(() -> TraceReader.openLayers(gz, 2, 6, 8))
        .hasMessageContaining("holds layers 5-7");
    try (TraceReader lenient = TraceReader.open(gz, 2, 0, 3)) {
      assertThatThrownBy(lenient::next)
          .hasMessageContaining("has no rows for layers 0-3 (the file holds layers 5-7)");
    }
  }

  @Test
  void refusesLayersWithAGapNamingThem() throws IOException {
    String gappy = "iteration,rank,layer,e0,e1\n0,0,2,1,1\n0,0,4,1,1\n10,0,2,1,1\n";
    assertThatThrownBy(
            () ->
                TraceReader.fromStream(
                    "gap.csv", new ByteArrayInputStream(gappy.getBytes(StandardCharsets.UTF_8)), 1))
        .hasMessageContaining("gap.csv: holds layers 2, 4")
        .hasMessageContaining("contiguous");
  }

  @Test
  void lineNumbersStayRightAcrossTheFirstIteration() throws IOException {
    String bad = "iteration,rank,layer,e0,e1\n0,0,3,1,1\n0,1,3,1,1\n10,0,3,1,1\n10,0,3,x,1\n";
    try (TraceReader r =
        TraceReader.fromStream(
            "bad.csv", new ByteArrayInputStream(bad.getBytes(StandardCharsets.UTF_8)), 2)) {
      assertThat(r.next().firstLayer()).isEqualTo(3);
      assertThatThrownBy(r::next).hasMessageStartingWith("bad.csv:5: field 'e0'");
    }
  }
}
