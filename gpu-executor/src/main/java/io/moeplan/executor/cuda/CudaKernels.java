package io.moeplan.executor.cuda;

import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.EnumMap;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;

/** The kernels of the PTX resources, loaded into the current context, with a typed launcher. */
final class CudaKernels implements AutoCloseable {

  /** Rows of one GEMM block tile. */
  static final int GEMM_BM = 128;

  /** Columns of one GEMM block tile. */
  static final int GEMM_BN = 256;

  /** Assignments per block of the counting and position kernels. */
  static final int CHUNK = 256;

  final CUfunction gateLogits;
  final CUfunction softmaxTopK;
  final CUfunction rankCounts;
  final CUfunction chunkCounts;
  final CUfunction chunkOffsets;
  final CUfunction assignRows;
  final CUfunction permute;
  final CUfunction combine;
  final CUfunction f32ToBf16;
  final CUfunction bf16ToF32;
  final CUfunction fillUniform;
  private final EnumMap<GemmVariant, CUfunction[]> gemms = new EnumMap<>(GemmVariant.class);
  private final CUmodule moe;
  private final CUmodule gemm;

  private CudaKernels(CUmodule moe, CUmodule gemm) {
    this.moe = moe;
    this.gemm = gemm;
    gateLogits = function(moe, "moe_gate_logits");
    softmaxTopK = function(moe, "moe_softmax_topk");
    rankCounts = function(moe, "moe_rank_counts");
    chunkCounts = function(moe, "moe_chunk_counts");
    chunkOffsets = function(moe, "moe_chunk_offsets");
    assignRows = function(moe, "moe_assign_rows");
    permute = function(moe, "moe_permute");
    combine = function(moe, "moe_combine");
    f32ToBf16 = function(moe, "f32_to_bf16");
    bf16ToF32 = function(moe, "bf16_to_f32");
    fillUniform = function(moe, "fill_uniform");
    for (GemmVariant v : GemmVariant.values()) {
      CUfunction[] pair = {function(gemm, v.geluKernel), function(gemm, v.f32Kernel)};
      for (CUfunction f : pair) {
        cuFuncSetAttribute(
            f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, v.sharedBytes);
      }
      gemms.put(v, pair);
    }
  }

  /** The first expert GEMM (GELU, bf16 out) of a variant. */
  CUfunction gemmGelu(GemmVariant v) {
    return gemms.get(v)[0];
  }

  /** The second expert GEMM (fp32 out) of a variant. */
  CUfunction gemmF32(GemmVariant v) {
    return gemms.get(v)[1];
  }

  /** Loads both PTX modules from the classpath into the current context. */
  static CudaKernels load() {
    return new CudaKernels(module("moe_kernels.ptx"), module("expert_gemm.ptx"));
  }

  /** Launches f on a (gx, gy) grid of blocks of the given threads; args are pointers or numbers. */
  static void launch(CUfunction f, int gx, int gy, int threads, int sharedBytes, Object... args) {
    if (gx == 0 || gy == 0) {
      return;
    }
    Pointer[] ps = Arrays.stream(args).map(CudaKernels::param).toArray(Pointer[]::new);
    cuLaunchKernel(f, gx, gy, 1, threads, 1, 1, sharedBytes, null, Pointer.to(ps), null);
  }

  /** Blocks of the given size needed to cover n items. */
  static int blocks(long n, int perBlock) {
    return Math.toIntExact((n + perBlock - 1) / perBlock);
  }

  private static Pointer param(Object a) {
    if (a instanceof CUdeviceptr p) {
      return Pointer.to(p);
    } else if (a instanceof Integer i) {
      return Pointer.to(new int[] {i});
    } else if (a instanceof Long l) {
      return Pointer.to(new long[] {l});
    } else if (a instanceof Float f) {
      return Pointer.to(new float[] {f});
    }
    throw new IllegalArgumentException("unsupported kernel argument " + a);
  }

  private static CUfunction function(CUmodule m, String name) {
    CUfunction f = new CUfunction();
    cuModuleGetFunction(f, m, name);
    return f;
  }

  private static CUmodule module(String resource) {
    try (InputStream in = CudaKernels.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("PTX resource missing: " + resource);
      }
      byte[] ptx = in.readAllBytes();
      byte[] terminated = Arrays.copyOf(ptx, ptx.length + 1);
      CUmodule m = new CUmodule();
      cuModuleLoadData(m, terminated);
      return m;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    cuModuleUnload(moe);
    cuModuleUnload(gemm);
  }
}
