package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class RebalanceCommandTest {

  /** DeepSeek EPLB's README example: 2 layers x 12 experts. */
  private static final String README_WEIGHTS =
      "[[90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],\n"
          + " [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27]]";

  private static final String[] README_SIZES = {
    "--replicas", "16", "--groups", "4", "--nodes", "2", "--gpus", "8"
  };

  @TempDir Path dir;

  /** The exit code and the two streams of one run. */
  private record Run(int exitCode, String out, String err) {}

  private Run rebalance(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out));
    commandLine.setErr(new PrintWriter(err));
    List<String> all = new ArrayList<>(List.of("rebalance"));
    all.addAll(List.of(args));
    int exitCode = commandLine.execute(all.toArray(String[]::new));
    return new Run(exitCode, out.toString(), err.toString());
  }

  private Run rebalanceFile(String json, String... args) throws IOException {
    Path file = weightsFile(json);
    List<String> all = new ArrayList<>(List.of("--policy", "eplb", "--weights", file.toString()));
    all.addAll(List.of(args));
    return rebalance(all.toArray(String[]::new));
  }

  private Path weightsFile(String json) throws IOException {
    Path file = dir.resolve("weights.json");
    Files.writeString(file, json);
    return file;
  }

  @Test
  void printsJsonWithExactlyPhy2logLog2phyAndLogcnt() throws IOException {
    Run run = rebalanceFile(README_WEIGHTS, concat(README_SIZES, "--json"));

    assertThat(run.exitCode()).as(run.err()).isZero();
    JsonNode json = new ObjectMapper().readTree(run.out());
    assertThat(json.fieldNames()).toIterable().containsExactly("phy2log", "log2phy", "logcnt");
    assertThat(json.get("phy2log").toString())
        .isEqualTo("[[5,6,5,7,8,4,3,4,10,9,10,2,0,1,11,1],[7,10,6,8,6,11,8,9,2,4,5,1,5,0,3,1]]");
    assertThat(json.get("logcnt").get(0).toString()).isEqualTo("[1,2,1,1,2,2,1,1,1,1,2,1]");
    assertThat(json.get("log2phy").get(0).get(1).toString()).isEqualTo("[15,13,-1,-1,-1]");
  }

  @Test
  void printsEachLayerReadably() throws IOException {
    Run run = rebalanceFile(README_WEIGHTS, README_SIZES);

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("eplb policy (hierarchical): 2 layers, 12 logical experts, 16 replicas")
        .contains("layer 0 (max/mean GPU load ")
        // GPU 0 of layer 0 holds experts 5 and 6: 165/2 + 39 = 121.5.
        .contains("    gpu 0: 5 6  (load 121.5)")
        .contains("  logcnt (replicas of each logical expert): 1 2 1 1 2 2 1 1 1 1 2 1")
        .contains("    expert 1: 15 13\n")
        .contains("layer 1 (max/mean GPU load ")
        .contains("    gpu 0: 7 10  (load 173)");
    assertThat(run.err()).isEmpty();
  }

  @Test
  void namesTheGlobalPolicyWhenNodesDoNotDivideGroups() throws IOException {
    Run run =
        rebalanceFile(
            README_WEIGHTS, "--replicas", "16", "--groups", "3", "--nodes", "2", "--gpus", "8");

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).contains("eplb policy (global, --nodes does not divide --groups)");
  }

  @Test
  void acceptsThePolicyNameInAnyCase() throws IOException {
    Path file = weightsFile(README_WEIGHTS);

    Run run =
        rebalance(
            concat(
                new String[] {"--policy", "EPLB", "--weights", file.toString()},
                concat(README_SIZES, "--json")));

    assertThat(run.exitCode()).as(run.err()).isZero();
  }

  @Test
  void rejectsAnUnknownPolicyListingTheValidOnes() throws IOException {
    Path file = weightsFile(README_WEIGHTS);

    Run run =
        rebalance(
            concat(new String[] {"--policy", "lpt", "--weights", file.toString()}, README_SIZES));

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("--policy").contains("[eplb]").contains("'lpt'");
  }

  @Test
  void rejectsAMissingRequiredOption() throws IOException {
    Run run = rebalanceFile(README_WEIGHTS, "--replicas", "16", "--nodes", "2", "--gpus", "8");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("Missing required option").contains("--groups");
  }

  @Test
  void reportsInvalidJsonWithTheFileAndPosition() throws IOException {
    Run run = rebalanceFile("[[1, 2],\n [3, x]]", README_SIZES);

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .contains("--weights " + dir.resolve("weights.json"))
        .contains("invalid JSON at line 2, column");
    assertThat(run.out()).isEmpty();
  }

  @Test
  void reportsTrailingContentAfterTheMatrix() throws IOException {
    Run run = rebalanceFile("[[1, 2]] [[3, 4]]", README_SIZES);

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("invalid JSON at line 1, column");
  }

  @Test
  void reportsAMissingFile() {
    Run run =
        rebalance(
            concat(
                new String[] {
                  "--policy", "eplb", "--weights", dir.resolve("absent.json").toString()
                },
                README_SIZES));

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("absent.json").contains("no such file");
  }

  @Test
  void namesTheEntryThatIsNotAValidLoad() throws IOException {
    assertThat(rebalanceFile("[[1, 2], [3, \"4\"]]", README_SIZES).err())
        .contains("[1][1] must be a number, found string \"4\"");
    assertThat(rebalanceFile("[[1, 2], [3, -4]]", README_SIZES).err())
        .contains("[1][1] must be finite and non-negative, found -4");
    assertThat(rebalanceFile("[[1, 1e999]]", README_SIZES).err())
        .contains("[0][1] must be finite and non-negative");
    assertThat(rebalanceFile("[[1, null]]", README_SIZES).err())
        .contains("[0][1] must be a number, found null");
  }

  @Test
  void rejectsMatricesThatAreNotRectangular() throws IOException {
    assertThat(rebalanceFile("{\"weights\": []}", README_SIZES).err())
        .contains("expected an array of layers [[...], ...], found object");
    assertThat(rebalanceFile("", README_SIZES).err()).contains("found nothing");
    assertThat(rebalanceFile("[]", README_SIZES).err()).contains("the load matrix has no layers");
    assertThat(rebalanceFile("[[1, 2], 3]", README_SIZES).err())
        .contains("[1] must be an array of expert loads, found number 3");
    assertThat(rebalanceFile("[[]]", README_SIZES).err()).contains("[0] has no experts");
    Run ragged = rebalanceFile("[[1, 2, 3], [4, 5]]", README_SIZES);
    assertThat(ragged.exitCode()).isEqualTo(2);
    assertThat(ragged.err()).contains("[1] has 2 experts but [0] has 3");
  }

  @Test
  void namesTheOptionThatBreaksADivisibilityRule() throws IOException {
    assertThat(
            rebalanceFile(
                    README_WEIGHTS,
                    "--replicas",
                    "10",
                    "--groups",
                    "4",
                    "--nodes",
                    "2",
                    "--gpus",
                    "2")
                .err())
        .contains("option '--replicas': 10 is less than the 12 logical experts per layer");
    assertThat(
            rebalanceFile(
                    README_WEIGHTS,
                    "--replicas",
                    "16",
                    "--groups",
                    "5",
                    "--nodes",
                    "1",
                    "--gpus",
                    "8")
                .err())
        .contains("option '--groups': 5 does not divide the 12 logical experts");
    assertThat(
            rebalanceFile(
                    README_WEIGHTS,
                    "--replicas",
                    "16",
                    "--groups",
                    "4",
                    "--nodes",
                    "3",
                    "--gpus",
                    "8")
                .err())
        .contains("option '--gpus': 8 is not a multiple of --nodes (3)");
    Run run =
        rebalanceFile(
            README_WEIGHTS, "--replicas", "20", "--groups", "4", "--nodes", "2", "--gpus", "8");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("option '--replicas': 20 is not a multiple of --gpus (8)");
  }

  @Test
  void rejectsSizesThatAreNotPositive() throws IOException {
    Run run =
        rebalanceFile(
            README_WEIGHTS, "--replicas", "16", "--groups", "4", "--nodes", "0", "--gpus", "8");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("option '--nodes': must be positive, got 0");
  }

  private static String[] concat(String[] first, String... rest) {
    List<String> all = new ArrayList<>(List.of(first));
    all.addAll(List.of(rest));
    return all.toArray(String[]::new);
  }
}
