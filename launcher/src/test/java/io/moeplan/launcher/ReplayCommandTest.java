package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.testing.GeneratedTrace;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ReplayCommandTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @TempDir Path directory;

  private int replay(Path trace, String... more) throws Exception {
    Path model =
        Files.writeString(
            directory.resolve("model.yaml"),
            """
            moeLayers: 3
            expertCount: 8
            topK: 2
            hidden: 256
            ffnHidden: 1024
            bytesPerElement: 2
            optimizerBytesPerParam: 12
            tokensPerRank: 1024
            """);
    List<String> args =
        new ArrayList<>(
            List.of(
                "replay",
                "--trace",
                trace.toString(),
                "--model",
                model.toString(),
                "--workers",
                "4",
                "--slots-per-worker",
                "2",
                "--quiet"));
    args.addAll(List.of(more));
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args.toArray(String[]::new));
  }

  @Test
  void replaysTheLayersATraceHoldsWithItsOwnNumbers() throws Exception {
    Path trace = GeneratedTrace.write(directory.resolve("layers-5-7.csv.gz"), 5, 7, 12, 4, 8);

    assertThat(replay(trace)).as(err.toString()).isZero();

    assertThat(out.toString())
        .contains("12 windows of 10 iterations, layers 5-7")
        .contains("\nlayer 5\n")
        .contains("\nlayer 7\n")
        .doesNotContain("\nlayer 0\n");
  }

  @Test
  void layersSelectAmongTheTracesLayers() throws Exception {
    Path trace = GeneratedTrace.write(directory.resolve("layers-5-7.csv.gz"), 5, 7, 6, 4, 8);

    assertThat(replay(trace, "--layers", "6-7")).as(err.toString()).isZero();

    assertThat(out.toString()).contains("layers 6-7").doesNotContain("\nlayer 5\n");
  }

  @Test
  void aLayerRangeOutsideTheTraceNamesItsLayers() throws Exception {
    Path trace = GeneratedTrace.write(directory.resolve("layers-5-7.csv.gz"), 5, 7, 6, 4, 8);

    assertThat(replay(trace, "--layers", "0-3")).isEqualTo(2);

    assertThat(err.toString())
        .contains("layers-5-7.csv.gz")
        .contains("holds layers 5-7; layers 0-3 are not all among them");
  }
}
