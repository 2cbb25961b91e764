package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeplan.planner.replay.BaselineSweep;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code moeplan replay} with baseline settings and {@code --tune}, on a small synthetic trace. */
class ReplayTuneTest {
  @TempDir Path dir;

  private record Run(int exitCode, String out, String err) {}

  private Run replay(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out));
    commandLine.setErr(new PrintWriter(err));
    List<String> all = new ArrayList<>(List.of("replay"));
    all.addAll(List.of(args));
    int exitCode = commandLine.execute(all.toArray(String[]::new));
    return new Run(exitCode, out.toString(), err.toString());
  }

  /** 60 samples of one layer, 2 ranks, 32 experts; the hot pair of experts drifts every 10. */
  private Path trace() throws IOException {
    StringBuilder csv = new StringBuilder("iteration,rank,layer");
    for (int e = 0; e < 32; e++) {
      csv.append(",e").append(e);
    }
    csv.append('\n');
    for (int i = 0; i < 60; i++) {
      for (int rank = 0; rank < 2; rank++) {
        csv.append(1 + 10 * i).append(',').append(rank).append(",0");
        for (int e = 0; e < 32; e++) {
          int hot = (i / 10) * 5 % 32;
          long tokens = 200 + 7L * ((e * 13 + i + rank) % 11);
          if (e == hot || e == (hot + 1) % 32) {
            tokens += 4000;
          }
          csv.append(',').append(tokens);
        }
        csv.append('\n');
      }
    }
    Path file = dir.resolve("drift.csv");
    Files.writeString(file, csv);
    return file;
  }

  @Test
  void policiesTakeSettingsAndAreNamedWithThemInJson() throws IOException {
    Run run =
        replay(
            "--trace",
            trace().toString(),
            "--layers",
            "0-0",
            "--quiet",
            "--json",
            "--policies",
            "eplb,eplb(interval=100,window=50),smartmoe(threshold=0.1),flexmoe");

    assertThat(run.exitCode()).as(run.err()).isZero();
    JsonNode policies = new ObjectMapper().readTree(run.out()).get("policies");
    assertThat(policies.get("eplb").get("label").asText()).isEqualTo("eplb(interval=10,window=10)");
    assertThat(policies.get("eplb(interval=100,window=50)").get("label").asText())
        .isEqualTo("eplb(interval=100,window=50)");
    assertThat(policies.get("smartmoe(threshold=0.1)").get("label").asText())
        .isEqualTo("smartmoe(threshold=0.1)");
    assertThat(policies.get("flexmoe").get("label").asText()).isEqualTo("flexmoe(threshold=1.2)");
    // every 100 iterations: at most 5 rebalances in 600 iterations
    assertThat(policies.get("eplb(interval=100,window=50)").get("switches").asLong())
        .isLessThanOrEqualTo(5);
  }

  @Test
  void badSettingsAreRefusedWithExitCodeTwo() throws IOException {
    Run run = replay("--trace", trace().toString(), "--policies", "eplb(interval=15)");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("multiple of the window iterations (10)");
    assertThat(replay("--trace", trace().toString(), "--tune", "--policies", "eplb").exitCode())
        .isEqualTo(2);
  }

  @Test
  void tuneReportsEachBaselineAtItsBestAndTheWholeGrid() throws IOException {
    Run run = replay("--trace", trace().toString(), "--layers", "0-0", "--tune", "--json");

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.err()).contains("replayed 60 windows");
    JsonNode root = new ObjectMapper().readTree(run.out());
    JsonNode grid = root.get("grid");
    assertThat(grid.size()).isEqualTo(BaselineSweep.policies(10).size());
    for (String baseline : BaselineSweep.TUNED) {
      JsonNode best = root.get("best").get(baseline);
      assertThat(best.get("label").asText()).startsWith(baseline + "(");
      double lowest = Double.MAX_VALUE;
      int settings = 0;
      for (Iterator<String> it = grid.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        if (name.startsWith(baseline + "(")) {
          settings++;
          lowest = Math.min(lowest, grid.get(name).get("modelledMsPerIteration").asDouble());
        }
      }
      assertThat(best.get("modelledMsPerIteration").asDouble()).isEqualTo(lowest);
      assertThat(best.get("settingsTried").asInt()).isEqualTo(settings);
    }
    assertThat(root.get("headline").fieldNames())
        .toIterable()
        .contains("static", "selector", "oracle");
  }

  @Test
  void tuneTablesShowTheBestSettingsThenTheGrid() throws IOException {
    Run run = replay("--trace", trace().toString(), "--layers", "0-0", "--tune", "--quiet");

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("each baseline at its best setting", "eplb best of 40", "grid (all layers")
        .contains("eplb(interval=2500,window=1000)", "flexmoe(threshold=1.05)");
  }

  @Test
  void theHelpTextStatesTheGridInUse() {
    assertThat(TuneReport.GRID_HELP).isEqualTo(TuneReport.gridHelpComputed());
    assertThat(BaselineSweep.grid(10)).hasSize(54);
  }
}
