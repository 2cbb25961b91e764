package io.moeplan.launcher;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeplan.planner.eplb.EplbRebalancer;
import io.moeplan.planner.eplb.EplbResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moeplan rebalance}: runs a replication-and-packing policy on a JSON load matrix. */
@Command(
    name = "rebalance",
    mixinStandardHelpOptions = true,
    description = {
      "Replicates heavy experts and packs the replicas onto GPUs for every layer of a load matrix,"
          + " with DeepSeek EPLB's policy and output (phy2log, log2phy, logcnt).",
      "The hierarchical policy runs when --nodes divides --groups, the global policy otherwise."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:placement printed", "2:invalid options or weights file"})
public final class RebalanceCommand implements Callable<Integer> {

  /** The policies {@code rebalance} offers. */
  enum Policy {
    EPLB("eplb");

    private final String cliName;

    Policy(String cliName) {
      this.cliName = cliName;
    }

    static List<String> cliNames() {
      List<String> names = new ArrayList<>();
      for (Policy policy : values()) {
        names.add(policy.cliName);
      }
      return names;
    }
  }

  /** Accepts the lower-case policy names (in any case) and lists them when the value is unknown. */
  static final class PolicyConverter implements CommandLine.ITypeConverter<Policy> {
    @Override
    public Policy convert(String value) {
      for (Policy policy : Policy.values()) {
        if (policy.cliName.equals(value.toLowerCase(Locale.ROOT))) {
          return policy;
        }
      }
      throw new CommandLine.TypeConversionException(
          "expected one of " + Policy.cliNames() + " but was '" + value + "'");
    }
  }

  /** The policy names for completion and for the help text. */
  static final class PolicyNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return Policy.cliNames().iterator();
    }
  }

  /** A problem with the command's input, reported as one line with exit code 2. */
  private static final class InputException extends Exception {
    InputException(String message) {
      super(message);
    }
  }

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--policy",
      required = true,
      paramLabel = "POLICY",
      converter = PolicyConverter.class,
      completionCandidates = PolicyNames.class,
      description = "Rebalance policy; valid values: ${COMPLETION-CANDIDATES}.")
  Policy policy;

  @Option(
      names = "--weights",
      required = true,
      paramLabel = "FILE",
      description =
          "JSON file with the load matrix [[...], ...]: one row per layer, one finite"
              + " non-negative number per logical expert, all rows the same length.")
  Path weightsFile;

  @Option(
      names = "--replicas",
      required = true,
      paramLabel = "R",
      description =
          "Physical experts per layer: at least the number of logical experts, a multiple of"
              + " --gpus.")
  int replicas;

  @Option(
      names = "--groups",
      required = true,
      paramLabel = "G",
      description =
          "Expert groups (consecutive expert ids); must divide the number of logical experts.")
  int groups;

  @Option(
      names = "--nodes",
      required = true,
      paramLabel = "N",
      description = "Nodes; must divide --gpus.")
  int nodes;

  @Option(
      names = "--gpus",
      required = true,
      paramLabel = "P",
      description = "GPUs over all nodes; each holds R/P physical experts.")
  int gpus;

  @Option(
      names = "--json",
      description = "Print one JSON object with the keys phy2log, log2phy and logcnt.")
  boolean json;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    EplbResult result;
    double[][] weight;
    try {
      weight = readWeights(weightsFile);
      checkSizes(weight[0].length);
      result = EplbRebalancer.rebalance(weight, replicas, groups, nodes, gpus);
    } catch (InputException | IllegalArgumentException e) {
      err.println("moeplan rebalance: " + e.getMessage());
      err.flush();
      return 2;
    }
    if (json) {
      Map<String, Object> object = new LinkedHashMap<>();
      object.put("phy2log", result.phy2log());
      object.put("log2phy", result.log2phy());
      object.put("logcnt", result.logcnt());
      out.println(new ObjectMapper().writeValueAsString(object));
    } else {
      printReadably(out, weight, result);
    }
    out.flush();
    return 0;
  }

  private void checkSizes(int experts) throws InputException {
    requirePositive("--replicas", replicas);
    requirePositive("--groups", groups);
    requirePositive("--nodes", nodes);
    requirePositive("--gpus", gpus);
    if (replicas < experts) {
      throw invalid(
          "--replicas",
          replicas
              + " is less than the "
              + experts
              + " logical experts per layer in "
              + weightsFile);
    }
    if (experts % groups != 0) {
      throw invalid(
          "--groups",
          groups
              + " does not divide the "
              + experts
              + " logical experts per layer in "
              + weightsFile);
    }
    if (gpus % nodes != 0) {
      throw invalid("--gpus", gpus + " is not a multiple of --nodes (" + nodes + ")");
    }
    if (replicas % gpus != 0) {
      throw invalid("--replicas", replicas + " is not a multiple of --gpus (" + gpus + ")");
    }
  }

  private static void requirePositive(String option, int value) throws InputException {
    if (value <= 0) {
      throw invalid(option, "must be positive, got " + value);
    }
  }

  private static InputException invalid(String option, String reason) {
    return new InputException("invalid value for option '" + option + "': " + reason);
  }

  /** Reads a rectangular matrix of finite non-negative numbers, naming the offending entry. */
  static double[][] readWeights(Path file) throws InputException {
    JsonNode root;
    try {
      root =
          new ObjectMapper()
              .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
              .readTree(Files.readString(file));
    } catch (NoSuchFileException e) {
      throw new InputException("--weights " + file + ": no such file");
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String position =
          at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new InputException(
          "--weights " + file + ": invalid JSON" + position + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new InputException("--weights " + file + ": cannot read: " + e);
    }
    String where = "--weights " + file + ": ";
    if (root == null || !root.isArray()) {
      throw new InputException(
          where + "expected an array of layers [[...], ...], found " + kind(root));
    }
    if (root.isEmpty()) {
      throw new InputException(where + "the load matrix has no layers");
    }
    double[][] weight = new double[root.size()][];
    for (int layer = 0; layer < root.size(); layer++) {
      JsonNode row = root.get(layer);
      if (!row.isArray()) {
        throw new InputException(
            where + "[" + layer + "] must be an array of expert loads, found " + kind(row));
      }
      if (row.isEmpty()) {
        throw new InputException(where + "[" + layer + "] has no experts");
      }
      if (row.size() != root.get(0).size()) {
        throw new InputException(
            where
                + "["
                + layer
                + "] has "
                + row.size()
                + " experts but [0] has "
                + root.get(0).size());
      }
      weight[layer] = new double[row.size()];
      for (int e = 0; e < row.size(); e++) {
        JsonNode entry = row.get(e);
        String field = where + "[" + layer + "][" + e + "]";
        if (!entry.isNumber()) {
          throw new InputException(field + " must be a number, found " + kind(entry));
        }
        double value = entry.doubleValue();
        if (!Double.isFinite(value) || value < 0) {
          throw new InputException(
              field + " must be finite and non-negative, found " + entry.asText());
        }
        weight[layer][e] = value;
      }
    }
    return weight;
  }

  private static String kind(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "nothing";
    }
    String type = node.getNodeType().toString().toLowerCase(Locale.ROOT);
    return node.isValueNode() ? type + " " + node : type;
  }

  private void printReadably(PrintWriter out, double[][] weight, EplbResult result) {
    boolean hierarchical = groups % nodes == 0;
    int perGpu = replicas / gpus;
    int experts = weight[0].length;
    out.printf(
        Locale.ROOT,
        "%s policy (%s): %d layers, %d logical experts, %d replicas on %d GPUs (%d each)"
            + ", %d groups on %d nodes%n",
        policy.cliName,
        hierarchical ? "hierarchical" : "global, --nodes does not divide --groups",
        weight.length,
        experts,
        replicas,
        gpus,
        perGpu,
        groups,
        nodes);
    for (int layer = 0; layer < weight.length; layer++) {
      int[] phy2log = result.phy2log()[layer];
      int[] logcnt = result.logcnt()[layer];
      double[] gpuLoad = new double[gpus];
      for (int p = 0; p < replicas; p++) {
        gpuLoad[p / perGpu] += weight[layer][phy2log[p]] / logcnt[phy2log[p]];
      }
      double maxLoad = 0;
      double totalLoad = 0;
      for (double load : gpuLoad) {
        maxLoad = Math.max(maxLoad, load);
        totalLoad += load;
      }
      double imbalance = totalLoad == 0 ? 1 : maxLoad * gpus / totalLoad;
      out.printf(Locale.ROOT, "layer %d (max/mean GPU load %.3f)%n", layer, imbalance);
      out.println("  phy2log (logical expert of each physical expert, by GPU):");
      for (int gpu = 0; gpu < gpus; gpu++) {
        StringBuilder line = new StringBuilder();
        for (int p = gpu * perGpu; p < (gpu + 1) * perGpu; p++) {
          line.append(' ').append(phy2log[p]);
        }
        out.printf(Locale.ROOT, "    gpu %d:%s  (load %s)%n", gpu, line, formatLoad(gpuLoad[gpu]));
      }
      StringBuilder counts = new StringBuilder();
      for (int count : logcnt) {
        counts.append(' ').append(count);
      }
      out.println("  logcnt (replicas of each logical expert):" + counts);
      out.println("  log2phy (physical experts of each logical expert, original first):");
      for (int e = 0; e < experts; e++) {
        StringBuilder line = new StringBuilder();
        for (int r = 0; r < logcnt[e]; r++) {
          line.append(' ').append(result.log2phy()[layer][e][r]);
        }
        out.printf(Locale.ROOT, "    expert %d:%s%n", e, line);
      }
    }
  }

  /** Formats a load with at most three decimals and no trailing zeros: 125, 121.5, 13.333. */
  private static String formatLoad(double load) {
    String text = String.format(Locale.ROOT, "%.3f", load);
    return text.replaceAll("\\.?0+$", "");
  }
}
