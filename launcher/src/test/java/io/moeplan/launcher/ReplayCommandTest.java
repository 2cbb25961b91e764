package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.replay.ReplayEvaluator;
import io.moeplan.planner.testing.GeneratedTrace;
import io.moeplan.planner.testing.TraceSlice;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
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

  @Test
  void writesASelfContainedHtmlReportOfTheReplay() throws Exception {
    Path slice = TraceSlice.copyTo(directory);
    Path report = directory.resolve("out").resolve("replay.html");
    Files.createDirectories(report.getParent());
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));

    int code =
        commandLine.execute(
            "replay",
            "--trace",
            slice.toString(),
            "--layers",
            "6-7",
            "--quiet",
            "--report",
            report.toString());

    assertThat(code).as(err.toString()).isZero();
    String html = Files.readString(report);
    assertThat(html).startsWith("<!DOCTYPE html>").contains("</html>");
    for (String policy : ReplayEvaluator.POLICIES) {
      assertThat(html).contains("<td>" + policy + "</td>");
    }
    assertThat(html).contains("<h3>layer 6</h3>").contains("<h3>layer 7</h3>");
    assertThat(html).doesNotContain("<h3>layer 5</h3>");
    assertThat(html).containsPattern("(?i)window iterations</th><td>10<");
    // nothing outside the file: no web resources, every image a data URI
    assertThat(html).doesNotContainPattern("(?i)https?:");
    assertThat(html).doesNotContainPattern("(?i)(src|href)=\"(?!data:)");
    Matcher images =
        Pattern.compile("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"").matcher(html);
    int decoded = 0;
    while (images.find()) {
      BufferedImage image =
          ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(images.group(1))));
      assertThat(image).isNotNull();
      assertThat(image.getWidth()).isGreaterThan(100);
      decoded++;
    }
    assertThat(decoded).isGreaterThanOrEqualTo(3);
  }
}
