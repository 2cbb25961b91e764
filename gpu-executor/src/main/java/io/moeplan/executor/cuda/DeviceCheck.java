package io.moeplan.executor.cuda;

import io.moeplan.executor.backend.CpuMoeLayer;
import io.moeplan.executor.backend.DispatchPlan;
import io.moeplan.executor.backend.LayerShape;
import io.moeplan.executor.backend.LayerStep;
import io.moeplan.executor.backend.Reference;
import io.moeplan.executor.backend.Routing;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.executor.backend.SlotState;
import io.moeplan.executor.backend.TokenBatch;
import io.moeplan.planner.placement.Placement;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The device check: each CUDA kernel against the CPU reference on fresh random inputs, then timings
 * with CUDA events (warm-up, median). Usage: {@code DeviceCheck OUT_DIR [--quick]}; prints a table
 * last and exits 1 when a correctness check fails.
 */
public final class DeviceCheck {

  private static final double BF16 = 1e-2;
  private static final double F32 = 1e-5;
  private static final int WARMUP = 3;
  private static final int REPEATS = 20;

  private final PrintStream log;
  private final List<String[]> table = new ArrayList<>();
  private boolean failed;

  private DeviceCheck(PrintStream log) {
    this.log = log;
  }

  /** Runs the check; args: output folder for the log, then optionally --quick (no timings). */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args.length > 0 ? args[0] : ".");
    Files.createDirectories(dir);
    boolean quick = Arrays.asList(args).contains("--quick");
    try (PrintStream log =
        new PrintStream(Files.newOutputStream(dir.resolve("device-check.log")))) {
      DeviceCheck check = new DeviceCheck(log);
      check.say("CUDA: " + CudaAvailability.reason());
      if (!CudaAvailability.available()) {
        System.exit(2);
      }
      long seed = System.nanoTime();
      check.say("seed " + seed);
      check.section("correctness", () -> check.correctness(seed));
      if (!quick) {
        check.section("timings", () -> check.expertFfnTimings(seed + 1));
      }
      check.printTable();
      System.exit(check.failed ? 1 : 0);
    }
  }

  /** Runs one part; an exception fails the check but lets the next part run. */
  private void section(String name, Runnable part) {
    try {
      part.run();
    } catch (RuntimeException e) {
      failed = true;
      e.printStackTrace(log);
      e.printStackTrace();
      row(name, "aborted", "", "FAIL " + e);
    }
  }

  /** Every stage at a small shape with replicas and partial GEMM tiles, against the reference. */
  private void correctness(long seed) {
    LayerShape shape = new LayerShape(256, 512, 8, 2);
    SlotLayout layout = new SlotLayout(4, 3);
    Placement placement =
        layout.placement(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 3, 5}, shape.experts());
    TokenBatch batch = TokenBatch.random(4, 333, shape.hidden(), seed);
    float[] gate = randomGate(shape, seed + 1);
    try (CpuMoeLayer cpu = new CpuMoeLayer(shape, layout);
        CudaMoeLayer gpu = new CudaMoeLayer(shape, layout)) {
      cpu.loadGate(gate);
      gpu.loadGate(gate);
      for (int s = 0; s < layout.slots(); s++) {
        SlotState state = SlotState.random(shape, seed + 10 + placement.expertAt(s));
        cpu.loadSlot(s, state);
        gpu.loadSlot(s, state);
      }
      Routing routing = cpu.route(batch);
      // one unchecked pass allocates every step buffer, so the poison below reaches all of them
      gpu.route(batch);
      gpu.forward(batch, routing, placement);
      gpu.poisonStepBuffers();
      Routing gpuRouting = gpu.route(batch);
      float[] refLogits =
          Reference.gateLogits(
              batch.embeddings(), batch.tokens(), shape.hidden(), gate, shape.experts());
      compare("gate logits (fp32) rel err", gpu.lastLogits(batch.tokens()), refLogits, F32);
      compare("top-k weights rel err", gpuRouting.weights(), routing.weights(), 1e-4);
      double agree = agreement(gpuRouting.experts(), routing.experts());
      row("top-k expert ids agreeing", fmt(agree), ">= 0.99", agree >= 0.99 ? "PASS" : "FAIL");
      failed |= agree < 0.99;

      gpu.poisonStepBuffers();
      LayerStep expected = cpu.forward(batch, routing, placement);
      LayerStep actual = gpu.forward(batch, routing, placement);
      DispatchPlan plan = DispatchPlan.of(routing, placement);
      exact("per-rank counts", Arrays.equals(actual.counts().counts(), expected.counts().counts()));
      exact(
          "dispatch rows (permutation)",
          Arrays.equals(gpu.lastRowOfAssignment(), plan.rowOfAssignment()));
      float[] xd = Reference.permute(batch.embeddings(), shape.hidden(), routing, plan);
      float[] xdBf16 = xd.clone();
      for (int i = 0; i < xdBf16.length; i++) {
        xdBf16[i] = Reference.toBf16(xdBf16[i]);
      }
      exact("permute to bf16", Arrays.equals(gpu.lastDispatched(), xdBf16));
      float[] h = new float[plan.rows() * shape.ffn()];
      float[] y = new float[plan.rows() * shape.hidden()];
      for (int s = 0; s < layout.slots(); s++) {
        float[] w = cpu.readSlot(s).master();
        int start = plan.slotStart()[s];
        int rows = plan.slotRows()[s];
        float[] hs =
            Reference.expertHidden(
                Arrays.copyOfRange(xd, start * shape.hidden(), (start + rows) * shape.hidden()),
                w,
                shape);
        float[] ys = Reference.expertOutput(hs, w, shape);
        System.arraycopy(hs, 0, h, start * shape.ffn(), hs.length);
        System.arraycopy(ys, 0, y, start * shape.hidden(), ys.length);
      }
      compare("BK32 GEMM1+GELU rel err", gpu.lastHidden(), h, BF16);
      compare("BK32 GEMM2 rel err", gpu.lastExpertOut(), y, BF16);
      compare("combine: layer output rel err", actual.output(), expected.output(), BF16);
      gpu.useGemm(GemmVariant.BK64);
      gpu.poisonStepBuffers();
      LayerStep bk64 = gpu.forward(batch, routing, placement);
      compare("BK64 GEMM1+GELU rel err", gpu.lastHidden(), h, BF16);
      compare("BK64 GEMM2 rel err", gpu.lastExpertOut(), y, BF16);
      compare("BK64 layer output rel err", bk64.output(), expected.output(), BF16);
      gpu.useGemm(GemmVariant.BK32);
      LayerStep again = gpu.forward(batch, routing, placement);
      exact("second run bit-identical (no race)", Arrays.equals(again.output(), actual.output()));

      cpu.copySlot(3, 11);
      long copiedBytes = gpu.copySlot(3, 11).bytes();
      SlotState copied = gpu.readSlot(11);
      SlotState source = gpu.readSlot(3);
      exact(
          "copySlot weights + Adam m, v",
          Arrays.equals(copied.master(), source.master())
              && Arrays.equals(copied.adamM(), source.adamM())
              && Arrays.equals(copied.adamV(), source.adamV())
              && copiedBytes == 14L * shape.paramsPerExpert());
      Placement moved =
          layout.placement(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 3, 3}, shape.experts());
      LayerStep afterCpu = cpu.forward(batch, routing, moved);
      LayerStep afterGpu = gpu.forward(batch, routing, moved);
      compare("output after copySlot + new placement", afterGpu.output(), afterCpu.output(), BF16);
      say("worker ms at the small shape: " + Arrays.toString(actual.workerMillis()));
    }
  }

  /**
   * Expert FFN throughput at hidden 2560, FFN 10240, 8192 tokens per expert; a whole layer step.
   */
  private void expertFfnTimings(long seed) {
    LayerShape shape = new LayerShape(2560, 10240, 8, 2);
    SlotLayout layout = new SlotLayout(8, 1);
    Placement placement = layout.staticPlacement(shape.experts());
    int tokens = 32768;
    TokenBatch batch = TokenBatch.random(8, tokens / 8, shape.hidden(), seed);
    // token t goes to experts t mod 8 and (t + 1) mod 8: exactly 8192 tokens per expert
    int[] ids = new int[tokens * 2];
    float[] w = new float[tokens * 2];
    for (int t = 0; t < tokens; t++) {
      ids[2 * t] = t % 8;
      ids[2 * t + 1] = (t + 1) % 8;
      w[2 * t] = 0.625f;
      w[2 * t + 1] = 0.375f;
    }
    Routing even = new Routing(tokens, 2, ids, w);
    try (CudaMoeLayer gpu = new CudaMoeLayer(shape, layout)) {
      for (int s = 0; s < layout.slots(); s++) {
        gpu.randomizeSlot(s, seed + 100 * s);
      }
      gpu.loadGate(randomGate(shape, seed + 7));
      LayerStep step = null;
      GemmVariant fastest = GemmVariant.BK32;
      double best = Double.MAX_VALUE;
      for (GemmVariant v : GemmVariant.values()) {
        gpu.useGemm(v);
        double[] ffnMs = new double[REPEATS];
        double[] layerMs = new double[REPEATS];
        double[] gemm1Ms = new double[REPEATS];
        double[] gemm2Ms = new double[REPEATS];
        for (int i = 0; i < WARMUP + REPEATS; i++) {
          step = gpu.forward(batch, even, placement);
          if (i >= WARMUP) {
            ffnMs[i - WARMUP] = Arrays.stream(step.workerMillis()).sum();
            layerMs[i - WARMUP] = gpu.lastLayerMillis();
            gemm1Ms[i - WARMUP] = gpu.lastGemmMillis()[0];
            gemm2Ms[i - WARMUP] = gpu.lastGemmMillis()[1];
          }
        }
        say(v + " worker ms (last run): " + Arrays.toString(step.workerMillis()));
        say(v + " expert FFN ms per step, all runs: " + Arrays.toString(ffnMs));
        double perExpertMs = median(ffnMs) / layout.slots();
        double tflops = shape.ffnFlops(8192) / (perExpertMs * 1e-3) / 1e12;
        row(
            v + " expert FFN fwd, 8192 tok",
            fmt(tflops) + " TFLOP/s",
            ">= 300 (cuBLAS ~650)",
            tflops >= 300 ? "PASS" : "BELOW GOAL");
        row(
            "  per expert, median of " + REPEATS,
            fmt(perExpertMs) + " ms",
            "spread " + fmt(min(ffnMs) / layout.slots()) + "-" + fmt(max(ffnMs) / layout.slots()),
            "");
        double half = shape.ffnFlops(8192) / 2 * layout.slots();
        row(
            "  GEMM1+GELU | GEMM2 TFLOP/s",
            fmt(half / (median(gemm1Ms) * 1e-3) / 1e12)
                + " | "
                + fmt(half / (median(gemm2Ms) * 1e-3) / 1e12),
            "",
            "");
        row("  layer step, even routing (events)", fmt(median(layerMs)) + " ms", "", "");
        sampledOutputCheck(gpu, batch, even, step, placement);
        if (median(ffnMs) < best) {
          best = median(ffnMs);
          fastest = v;
        }
      }
      gpu.useGemm(fastest);
      say("layer steps below use " + fastest);

      Routing routed = gpu.route(batch);
      double[] gateRealMs = new double[REPEATS];
      for (int i = 0; i < WARMUP + REPEATS; i++) {
        step = gpu.forward(batch, routed, placement);
        if (i >= WARMUP) {
          gateRealMs[i - WARMUP] = gpu.lastLayerMillis();
        }
      }
      say("tokens per slot with the random gate: " + Arrays.toString(step.slotTokens()));
      say("worker ms with the random gate: " + Arrays.toString(step.workerMillis()));
      row(
          "layer step, random gate, " + fastest + " (events)",
          fmt(median(gateRealMs)) + " ms",
          "",
          "");
      double[] routeMs = new double[REPEATS];
      for (int i = 0; i < WARMUP + REPEATS; i++) {
        long t0 = System.nanoTime();
        gpu.route(batch);
        if (i >= WARMUP) {
          routeMs[i - WARMUP] = (System.nanoTime() - t0) / 1e6;
        }
      }
      row("route: upload + gate + top-k + download", fmt(median(routeMs)) + " ms wall", "", "");
      double[] copyMs = new double[REPEATS];
      long bytes = 0;
      for (int i = 0; i < WARMUP + REPEATS; i++) {
        var report = gpu.copySlot(0, 1);
        bytes = report.bytes();
        if (i >= WARMUP) {
          copyMs[i - WARMUP] = report.millis();
        }
      }
      double gbps = bytes / (median(copyMs) * 1e-3) / 1e9;
      row("copySlot (734 MB)", fmt(median(copyMs)) + " ms, " + fmt(gbps) + " GB/s", "~0.5 ms", "");
    }
  }

  /** A few tokens of the full-size output against the float32 reference. */
  private void sampledOutputCheck(
      CudaMoeLayer gpu, TokenBatch batch, Routing routing, LayerStep step, Placement placement) {
    LayerShape shape = gpu.shape();
    int hidden = shape.hidden();
    int[] sample = {0, 1, 4097, batch.tokens() - 1};
    float[] ref = new float[sample.length * hidden];
    float[] got = new float[sample.length * hidden];
    float[][] params = new float[shape.experts()][];
    int[][] replicas = DispatchPlan.replicaSlots(placement);
    for (int i = 0; i < sample.length; i++) {
      int t = sample[i];
      float[] xt = Arrays.copyOfRange(batch.embeddings(), t * hidden, (t + 1) * hidden);
      for (int j = 0; j < 2; j++) {
        int e = routing.experts()[2 * t + j];
        if (params[e] == null) {
          params[e] = gpu.readSlot(replicas[e][0]).master();
        }
        float[] y = Reference.expertFfn(xt, params[e], shape);
        for (int c = 0; c < hidden; c++) {
          ref[i * hidden + c] += routing.weights()[2 * t + j] * y[c];
        }
      }
      System.arraycopy(step.output(), t * hidden, got, i * hidden, hidden);
    }
    compare("  full-size output, 4 sampled tokens", got, ref, BF16);
  }

  /** Relative error within a limit; on failure logs where the arrays differ most. */
  private void compare(String what, float[] got, float[] ref, double limit) {
    double err = Reference.relativeError(got, ref);
    boolean ok = err <= limit;
    if (!ok) {
      logMismatch(what, got, ref);
    }
    failed |= !ok;
    row(
        what,
        String.format("%.2e", err),
        "<= " + String.format("%.0e", limit),
        ok ? "PASS" : "FAIL");
  }

  private void logMismatch(String what, float[] got, float[] ref) {
    int nans = 0;
    int worst = 0;
    double rms = 0;
    for (int i = 0; i < ref.length; i++) {
      rms += (double) ref[i] * ref[i];
      if (Float.isNaN(got[i])) {
        nans++;
      } else if (Math.abs(got[i] - ref[i]) > Math.abs(got[worst] - ref[worst])
          || Float.isNaN(got[worst])) {
        worst = i;
      }
    }
    rms = Math.sqrt(rms / ref.length);
    int off = 0;
    StringBuilder first = new StringBuilder();
    for (int i = 0; i < ref.length; i++) {
      if (Float.isNaN(got[i]) || Math.abs(got[i] - ref[i]) > 0.1 * rms) {
        if (off++ < 8) {
          first.append(String.format(" [%d] %.4g vs %.4g;", i, got[i], ref[i]));
        }
      }
    }
    say(
        String.format(
            "MISMATCH %s: %d of %d elements off by > 10%% of rms %.3g, %d NaN; worst [%d] %.4g vs"
                + " %.4g; first:%s",
            what, off, ref.length, rms, nans, worst, got[worst], ref[worst], first));
  }

  private void exact(String what, boolean ok) {
    failed |= !ok;
    row(what, ok ? "equal" : "differs", "exact", ok ? "PASS" : "FAIL");
  }

  private void row(String what, String result, String bound, String status) {
    table.add(new String[] {what, result, bound, status});
    say(String.format("%-42s %-24s %-22s %s", what, result, bound, status));
  }

  private void say(String line) {
    log.println(line);
    log.flush();
    System.out.println(line);
  }

  private void printTable() {
    System.out.println();
    System.out.println("== device check " + (failed ? "FAILED" : "passed") + " ==");
    for (String[] r : table) {
      System.out.printf("%-42s %-24s %-22s %s%n", r[0], r[1], r[2], r[3]);
      log.printf("%-42s %-24s %-22s %s%n", r[0], r[1], r[2], r[3]);
    }
  }

  private static float[] randomGate(LayerShape shape, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] g = new float[shape.hidden() * shape.experts()];
    double scale = 1 / Math.sqrt(shape.hidden());
    for (int i = 0; i < g.length; i++) {
      g[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
    }
    return g;
  }

  private static double agreement(int[] a, int[] b) {
    int same = 0;
    for (int i = 0; i < a.length; i++) {
      same += a[i] == b[i] ? 1 : 0;
    }
    return (double) same / a.length;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static double min(double[] v) {
    return Arrays.stream(v).min().orElse(Double.NaN);
  }

  private static double max(double[] v) {
    return Arrays.stream(v).max().orElse(Double.NaN);
  }

  private static String fmt(double v) {
    return String.format("%.3f", v);
  }
}
