package io.moeplan.executor.cuda;

/** A compiled configuration of the two expert GEMM kernels of expert_gemm.cu. */
enum GemmVariant {
  /** 128 x 256 x 32 block tiles, 4 stages: 96 KiB shared memory. */
  BK32("expert_gemm_gelu_bf16", "expert_gemm_f32", 32),
  /** 128 x 256 x 64 block tiles, 4 stages: 192 KiB shared memory. */
  BK64("expert_gemm_gelu_bf16_bk64", "expert_gemm_f32_bk64", 64);

  private static final int STAGES = 4;

  final String geluKernel;
  final String f32Kernel;
  final int sharedBytes;

  GemmVariant(String geluKernel, String f32Kernel, int bk) {
    this.geluKernel = geluKernel;
    this.f32Kernel = f32Kernel;
    this.sharedBytes = STAGES * (CudaKernels.GEMM_BM * bk + bk * CudaKernels.GEMM_BN) * 2;
  }
}
