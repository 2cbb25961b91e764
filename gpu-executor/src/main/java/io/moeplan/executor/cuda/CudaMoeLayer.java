package io.moeplan.executor.cuda;

import static io.moeplan.executor.cuda.CudaKernels.blocks;
import static io.moeplan.executor.cuda.CudaKernels.launch;
import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD32;

import io.moeplan.executor.backend.CopyReport;
import io.moeplan.executor.backend.DispatchPlan;
import io.moeplan.executor.backend.ExpertCounts;
import io.moeplan.executor.backend.LayerShape;
import io.moeplan.executor.backend.LayerStep;
import io.moeplan.executor.backend.MoeLayerBackend;
import io.moeplan.executor.backend.Routing;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.executor.backend.SlotState;
import io.moeplan.executor.backend.TokenBatch;
import io.moeplan.planner.placement.Placement;
import java.util.List;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/**
 * The MoE layer on one CUDA device through the JCuda driver API. Each slot holds bf16 compute
 * weights and fp32 master weights with Adam m and v (14 bytes per parameter); the expert GEMMs run
 * on tensor cores with fp32 accumulation, launched per worker between CUDA events.
 *
 * <p>Requires hidden and ffn to be multiples of 256 and at most 64 experts. A batch is uploaded by
 * {@link #route}; {@link #forward} reuses that upload when given the same batch instance.
 */
public final class CudaMoeLayer implements MoeLayerBackend {

  private static final int NAN_F32 = 0x7FC00000;
  private static final int NAN_BF16_PAIR = 0x7FC07FC0;

  private final LayerShape shape;
  private final SlotLayout layout;
  private final CUdevice device = new CUdevice();
  private final CUcontext context = new CUcontext();
  private final CudaKernels kernels;
  private final long params;
  private final DeviceBuffer gate = new DeviceBuffer();
  private final DeviceBuffer weightsBf16 = new DeviceBuffer();
  private final DeviceBuffer master = new DeviceBuffer();
  private final DeviceBuffer adamM = new DeviceBuffer();
  private final DeviceBuffer adamV = new DeviceBuffer();
  private final DeviceBuffer x = new DeviceBuffer();
  private final DeviceBuffer logits = new DeviceBuffer();
  private final DeviceBuffer ids = new DeviceBuffer();
  private final DeviceBuffer weights = new DeviceBuffer();
  private final DeviceBuffer counts = new DeviceBuffer();
  private final DeviceBuffer chunkCounts = new DeviceBuffer();
  private final DeviceBuffer table = new DeviceBuffer();
  private final DeviceBuffer tiles = new DeviceBuffer();
  private final DeviceBuffer rowOf = new DeviceBuffer();
  private final DeviceBuffer dispatched = new DeviceBuffer();
  private final DeviceBuffer hidden = new DeviceBuffer();
  private final DeviceBuffer expertOut = new DeviceBuffer();
  private final DeviceBuffer out = new DeviceBuffer();
  private final DeviceBuffer scratch = new DeviceBuffer();
  private final CUevent stepStart;
  private final CUevent stepEnd;
  private final CUevent[] workerStart;
  private final CUevent[] workerMid;
  private final CUevent[] workerEnd;
  private GemmVariant gemm = GemmVariant.BK32;
  private TokenBatch uploaded;
  private int lastRows;
  private int lastAssignments;
  private double lastLayerMillis;
  private double[] lastGemmMillis = new double[2];

  /** Opens device 0 (primary context), loads the kernels and allocates the slots. */
  public CudaMoeLayer(LayerShape shape, SlotLayout layout) {
    checkShape(shape);
    this.shape = shape;
    this.layout = layout;
    JCudaDriver.setExceptionsEnabled(true);
    cuInit(0);
    cuDeviceGet(device, 0);
    cuDevicePrimaryCtxRetain(context, device);
    cuCtxSetCurrent(context);
    this.kernels = CudaKernels.load();
    this.params = shape.paramsPerExpert();
    long slotParams = params * layout.slots();
    gate.ensure((long) shape.hidden() * shape.experts() * Sizeof.FLOAT);
    weightsBf16.ensure(slotParams * 2);
    master.ensure(slotParams * Sizeof.FLOAT);
    adamM.ensure(slotParams * Sizeof.FLOAT);
    adamV.ensure(slotParams * Sizeof.FLOAT);
    stepStart = event();
    stepEnd = event();
    workerStart = new CUevent[layout.workers()];
    workerMid = new CUevent[layout.workers()];
    workerEnd = new CUevent[layout.workers()];
    for (int w = 0; w < layout.workers(); w++) {
      workerStart[w] = event();
      workerMid[w] = event();
      workerEnd[w] = event();
    }
  }

  @Override
  public LayerShape shape() {
    return shape;
  }

  @Override
  public SlotLayout layout() {
    return layout;
  }

  @Override
  public void loadGate(float[] values) {
    shape.checkGate(values);
    cuCtxSetCurrent(context);
    cuMemcpyHtoD(gate.ptr(), Pointer.to(values), (long) values.length * Sizeof.FLOAT);
  }

  @Override
  public void loadSlot(int slot, SlotState state) {
    layout.checkSlot(slot);
    if (state.params() != params) {
      throw new IllegalArgumentException(
          "slot state has " + state.params() + " params, shape " + params);
    }
    cuCtxSetCurrent(context);
    long bytes = params * Sizeof.FLOAT;
    cuMemcpyHtoD(slotF32(master, slot), Pointer.to(state.master()), bytes);
    cuMemcpyHtoD(slotF32(adamM, slot), Pointer.to(state.adamM()), bytes);
    cuMemcpyHtoD(slotF32(adamV, slot), Pointer.to(state.adamV()), bytes);
    refreshBf16(slot);
  }

  /**
   * Fills a slot with seeded device-side random state (weights uniform in +-1/sqrt(hidden), Adam
   * moments small and non-zero) without a host copy; for benchmarks at full size.
   */
  public void randomizeSlot(int slot, long seed) {
    layout.checkSlot(slot);
    cuCtxSetCurrent(context);
    float scale = (float) (1.0 / Math.sqrt(shape.hidden()));
    int grid = 4096;
    launch(
        kernels.fillUniform, grid, 1, 256, 0, slotF32(master, slot), params, seed, -scale, scale);
    launch(
        kernels.fillUniform,
        grid,
        1,
        256,
        0,
        slotF32(adamM, slot),
        params,
        seed + 1,
        -1e-3f,
        1e-3f);
    launch(
        kernels.fillUniform, grid, 1, 256, 0, slotF32(adamV, slot), params, seed + 2, 1e-8f, 1e-6f);
    refreshBf16(slot);
    cuCtxSynchronize();
  }

  @Override
  public SlotState readSlot(int slot) {
    layout.checkSlot(slot);
    cuCtxSetCurrent(context);
    int n = Math.toIntExact(params);
    float[] w = new float[n];
    float[] m = new float[n];
    float[] v = new float[n];
    long bytes = params * Sizeof.FLOAT;
    cuMemcpyDtoH(Pointer.to(w), slotF32(master, slot), bytes);
    cuMemcpyDtoH(Pointer.to(m), slotF32(adamM, slot), bytes);
    cuMemcpyDtoH(Pointer.to(v), slotF32(adamV, slot), bytes);
    return new SlotState(w, m, v);
  }

  @Override
  public Routing route(TokenBatch batch) {
    cuCtxSetCurrent(context);
    upload(batch);
    int t = batch.tokens();
    int e = shape.experts();
    int k = shape.topK();
    logits.ensure((long) t * e * Sizeof.FLOAT);
    ids.ensure((long) t * k * Sizeof.INT);
    weights.ensure((long) t * k * Sizeof.FLOAT);
    launch(
        kernels.gateLogits,
        blocks((long) t * e, 256),
        1,
        256,
        0,
        x.ptr(),
        gate.ptr(),
        logits.ptr(),
        t,
        shape.hidden(),
        e);
    launch(
        kernels.softmaxTopK,
        blocks(t, 128),
        1,
        128,
        0,
        logits.ptr(),
        ids.ptr(),
        weights.ptr(),
        t,
        e,
        k);
    int[] expertIds = new int[t * k];
    float[] w = new float[t * k];
    cuMemcpyDtoH(Pointer.to(expertIds), ids.ptr(), (long) t * k * Sizeof.INT);
    cuMemcpyDtoH(Pointer.to(w), weights.ptr(), (long) t * k * Sizeof.FLOAT);
    return new Routing(t, k, expertIds, w);
  }

  @Override
  public LayerStep forward(TokenBatch batch, Routing routing, Placement placement) {
    layout.check(placement, shape.experts());
    if (routing.tokens() != batch.tokens() || routing.topK() != shape.topK()) {
      throw new IllegalArgumentException("routing does not match the batch and topK");
    }
    cuCtxSetCurrent(context);
    if (batch != uploaded) {
      upload(batch);
    }
    int a = routing.assignments();
    int e = shape.experts();
    int h = shape.hidden();
    int f = shape.ffn();
    ids.ensure((long) a * Sizeof.INT);
    weights.ensure((long) a * Sizeof.FLOAT);
    cuMemcpyHtoD(ids.ptr(), Pointer.to(routing.experts()), (long) a * Sizeof.INT);
    cuMemcpyHtoD(weights.ptr(), Pointer.to(routing.weights()), (long) a * Sizeof.FLOAT);

    cuEventRecord(stepStart, null);
    ExpertCounts expertCounts = countRanks(batch, routing);
    int[] slotRows = DispatchPlan.slotRows(expertCounts.totals(), placement);
    int[] slotStart = DispatchPlan.starts(slotRows);
    int rows = a;
    uploadTable(expertCounts.totals(), placement, slotStart);
    int[] workerTiles = uploadTiles(slotRows, slotStart);

    int chunks = blocks(a, CudaKernels.CHUNK);
    chunkCounts.ensure((long) chunks * e * Sizeof.INT);
    rowOf.ensure((long) a * Sizeof.INT);
    dispatched.ensure((long) rows * h * 2);
    hidden.ensure((long) rows * f * 2);
    expertOut.ensure((long) rows * h * Sizeof.FLOAT);
    out.ensure((long) batch.tokens() * h * Sizeof.FLOAT);
    launch(
        kernels.chunkCounts, chunks, 1, CudaKernels.CHUNK, 0, ids.ptr(), chunkCounts.ptr(), a, e);
    launch(kernels.chunkOffsets, 1, 1, 64, 0, chunkCounts.ptr(), chunks, e);
    launch(
        kernels.assignRows,
        chunks,
        1,
        CudaKernels.CHUNK,
        0,
        ids.ptr(),
        chunkCounts.ptr(),
        table.ptr(),
        rowOf.ptr(),
        a,
        e);
    launch(kernels.permute, a, 1, 256, 0, x.ptr(), rowOf.ptr(), dispatched.ptr(), shape.topK(), h);

    CUdeviceptr w2 = weightsBf16.ptr().withByteOffset((long) shape.w1Size() * 2);
    for (int w = 0; w < layout.workers(); w++) {
      int first = workerTiles[w];
      int count = workerTiles[w + 1] - first;
      CUdeviceptr workerTileTable = tiles.ptr().withByteOffset(16L * first);
      cuEventRecord(workerStart[w], null);
      launch(
          kernels.gemmGelu(gemm),
          f / CudaKernels.GEMM_BN,
          count,
          256,
          gemm.sharedBytes,
          dispatched.ptr(),
          weightsBf16.ptr(),
          params,
          hidden.ptr(),
          workerTileTable,
          h,
          f);
      cuEventRecord(workerMid[w], null);
      launch(
          kernels.gemmF32(gemm),
          h / CudaKernels.GEMM_BN,
          count,
          256,
          gemm.sharedBytes,
          hidden.ptr(),
          w2,
          params,
          expertOut.ptr(),
          workerTileTable,
          f,
          h);
      cuEventRecord(workerEnd[w], null);
    }
    launch(
        kernels.combine,
        batch.tokens(),
        1,
        256,
        0,
        expertOut.ptr(),
        rowOf.ptr(),
        weights.ptr(),
        out.ptr(),
        shape.topK(),
        h);
    cuEventRecord(stepEnd, null);

    float[] output = new float[batch.tokens() * h];
    cuMemcpyDtoH(Pointer.to(output), out.ptr(), (long) output.length * Sizeof.FLOAT);
    cuEventSynchronize(stepEnd);
    double[] millis = new double[layout.workers()];
    lastGemmMillis = new double[2];
    for (int w = 0; w < millis.length; w++) {
      millis[w] = elapsed(workerStart[w], workerEnd[w]);
      lastGemmMillis[0] += elapsed(workerStart[w], workerMid[w]);
      lastGemmMillis[1] += elapsed(workerMid[w], workerEnd[w]);
    }
    lastLayerMillis = elapsed(stepStart, stepEnd);
    lastRows = rows;
    lastAssignments = a;
    return new LayerStep(output, expertCounts, slotRows, millis);
  }

  @Override
  public CopyReport copySlot(int from, int to) {
    layout.checkSlot(from);
    layout.checkSlot(to);
    cuCtxSetCurrent(context);
    if (from == to) {
      return new CopyReport(from, to, 0, 0);
    }
    long f32 = params * Sizeof.FLOAT;
    cuEventRecord(stepStart, null);
    cuMemcpyDtoD(slotBf16(to), slotBf16(from), params * 2);
    cuMemcpyDtoD(slotF32(master, to), slotF32(master, from), f32);
    cuMemcpyDtoD(slotF32(adamM, to), slotF32(adamM, from), f32);
    cuMemcpyDtoD(slotF32(adamV, to), slotF32(adamV, from), f32);
    cuEventRecord(stepEnd, null);
    cuEventSynchronize(stepEnd);
    return new CopyReport(from, to, params * 14, elapsed(stepStart, stepEnd));
  }

  @Override
  public void close() {
    cuCtxSetCurrent(context);
    cuCtxSynchronize();
    for (DeviceBuffer b :
        List.of(
            gate,
            weightsBf16,
            master,
            adamM,
            adamV,
            x,
            logits,
            ids,
            weights,
            counts,
            chunkCounts,
            table,
            tiles,
            rowOf,
            dispatched,
            hidden,
            expertOut,
            out,
            scratch)) {
      b.close();
    }
    cuEventDestroy(stepStart);
    cuEventDestroy(stepEnd);
    for (int w = 0; w < workerStart.length; w++) {
      cuEventDestroy(workerStart[w]);
      cuEventDestroy(workerMid[w]);
      cuEventDestroy(workerEnd[w]);
    }
    kernels.close();
    cuDevicePrimaryCtxRelease(device);
  }

  /** Selects the expert GEMM configuration used by later forwards. */
  void useGemm(GemmVariant variant) {
    this.gemm = variant;
  }

  /** Milliseconds between the first and last event of the last forward (CUDA events). */
  double lastLayerMillis() {
    return lastLayerMillis;
  }

  /**
   * Milliseconds of the last forward in the first and the second expert GEMM, summed over workers.
   */
  double[] lastGemmMillis() {
    return lastGemmMillis.clone();
  }

  /** Gate logits of the last route (tokens x experts). */
  float[] lastLogits(int tokens) {
    return downloadF32(logits, (long) tokens * shape.experts());
  }

  /** Dispatched row of each assignment of the last forward. */
  int[] lastRowOfAssignment() {
    int[] r = new int[lastAssignments];
    cuMemcpyDtoH(Pointer.to(r), rowOf.ptr(), (long) r.length * Sizeof.INT);
    return r;
  }

  /** Dispatched activations of the last forward (rows x hidden), bf16 values widened. */
  float[] lastDispatched() {
    return downloadBf16(dispatched, (long) lastRows * shape.hidden());
  }

  /** GELU(x W1) of the last forward (rows x ffn), bf16 values widened. */
  float[] lastHidden() {
    return downloadBf16(hidden, (long) lastRows * shape.ffn());
  }

  /** h W2 of the last forward (rows x hidden). */
  float[] lastExpertOut() {
    return downloadF32(expertOut, (long) lastRows * shape.hidden());
  }

  /** Fills every per-step buffer with NaN so unwritten outputs fail the checks. */
  void poisonStepBuffers() {
    cuCtxSetCurrent(context);
    for (DeviceBuffer b : List.of(logits, rowOf, expertOut, out)) {
      if (b.capacity() > 0) {
        cuMemsetD32(b.ptr(), NAN_F32, b.capacity() / 4);
      }
    }
    for (DeviceBuffer b : List.of(dispatched, hidden)) {
      if (b.capacity() > 0) {
        cuMemsetD32(b.ptr(), NAN_BF16_PAIR, b.capacity() / 4);
      }
    }
    cuCtxSynchronize();
  }

  private ExpertCounts countRanks(TokenBatch batch, Routing routing) {
    int e = shape.experts();
    int n = batch.ranks() * e;
    counts.ensure((long) n * Sizeof.INT);
    cuMemsetD32(counts.ptr(), 0, n);
    launch(
        kernels.rankCounts,
        blocks(routing.assignments(), 256),
        1,
        256,
        0,
        ids.ptr(),
        counts.ptr(),
        routing.assignments(),
        routing.topK(),
        batch.tokensPerRank(),
        e);
    int[] c = new int[n];
    cuMemcpyDtoH(Pointer.to(c), counts.ptr(), (long) n * Sizeof.INT);
    return new ExpertCounts(batch.ranks(), e, c);
  }

  private void uploadTable(int[] totals, Placement placement, int[] slotStart) {
    int[] t = DispatchTables.replicaTable(totals, placement, slotStart);
    table.ensure((long) t.length * Sizeof.INT);
    cuMemcpyHtoD(table.ptr(), Pointer.to(t), (long) t.length * Sizeof.INT);
  }

  /** Uploads the GEMM row tiles; returns each worker's first tile. */
  private int[] uploadTiles(int[] slotRows, int[] slotStart) {
    DispatchTables.Tiles t = DispatchTables.tiles(slotRows, slotStart, layout, CudaKernels.GEMM_BM);
    tiles.ensure((long) t.flat().length * Sizeof.INT);
    cuMemcpyHtoD(tiles.ptr(), Pointer.to(t.flat()), (long) t.flat().length * Sizeof.INT);
    return t.firstTile();
  }

  private void upload(TokenBatch batch) {
    if (batch.hidden() != shape.hidden()) {
      throw new IllegalArgumentException(
          "tokens have hidden " + batch.hidden() + ", layer " + shape.hidden());
    }
    long bytes = (long) batch.embeddings().length * Sizeof.FLOAT;
    x.ensure(bytes);
    cuMemcpyHtoD(x.ptr(), Pointer.to(batch.embeddings()), bytes);
    uploaded = batch;
  }

  private void refreshBf16(int slot) {
    launch(kernels.f32ToBf16, 4096, 1, 256, 0, slotF32(master, slot), slotBf16(slot), params);
  }

  private CUdeviceptr slotF32(DeviceBuffer buffer, int slot) {
    return buffer.ptr().withByteOffset(slot * params * Sizeof.FLOAT);
  }

  private CUdeviceptr slotBf16(int slot) {
    return weightsBf16.ptr().withByteOffset(slot * params * 2);
  }

  private float[] downloadF32(DeviceBuffer b, long n) {
    cuCtxSetCurrent(context);
    float[] v = new float[Math.toIntExact(n)];
    cuMemcpyDtoH(Pointer.to(v), b.ptr(), n * Sizeof.FLOAT);
    return v;
  }

  private float[] downloadBf16(DeviceBuffer b, long n) {
    cuCtxSetCurrent(context);
    CUdeviceptr tmp = scratch.ensure(n * Sizeof.FLOAT);
    launch(kernels.bf16ToF32, 4096, 1, 256, 0, b.ptr(), tmp, n);
    return downloadF32(scratch, n);
  }

  private static double elapsed(CUevent a, CUevent b) {
    float[] ms = new float[1];
    cuEventElapsedTime(ms, a, b);
    return ms[0];
  }

  private static CUevent event() {
    CUevent e = new CUevent();
    cuEventCreate(e, 0);
    return e;
  }

  private static void checkShape(LayerShape shape) {
    if (shape.hidden() % CudaKernels.GEMM_BN != 0 || shape.ffn() % CudaKernels.GEMM_BN != 0) {
      throw new IllegalArgumentException(
          "the CUDA backend needs hidden and ffn to be multiples of 256: "
              + shape.hidden()
              + ", "
              + shape.ffn());
    }
    if (shape.experts() > 64) {
      throw new IllegalArgumentException("the CUDA backend supports at most 64 experts");
    }
  }
}
