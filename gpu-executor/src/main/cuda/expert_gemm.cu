// Grouped expert GEMMs on tensor cores: C = A x B per slot, bf16 inputs, fp32 accumulation.
//
// A: dispatched rows (rows x K, row-major bf16); the rows of one slot are contiguous.
// B: the slot's weight matrix (K x N, row-major bf16) at B + slot * slotStride.
// C: rows x N, either bf16 after GELU (first GEMM) or fp32 (second GEMM).
// tiles: 4 ints per M tile {slot, rowStart, rowEnd, unused}; grid = (N / BN, tiles).
//
// Block tile 128 x 256 x BK, 8 warps (2 x 4) of 64 x 64 each, mma.sync m16n8k16 fed by ldmatrix
// from XOR-swizzled shared memory (conflict-free), a STAGES-deep cp.async pipeline. Two variants:
// BK 32 (4 stages, 96 KiB dynamic shared memory) and BK 64 (4 stages, 192 KiB).
// Requirements: K % BK == 0, N % 256 == 0, 16-byte aligned base pointers.
#include <cuda_bf16.h>
#include <stdint.h>

#define BM 128
#define BN 256
#define THREADS 256
#define WARPS_N 4
#define MI 4
#define NI 8

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return (uint32_t)__cvta_generic_to_shared(p);
}

// A tile rows are BK * 2 bytes. BK 32: 4 chunks of 16 bytes per row, chunk ^= (row / 2) % 4;
// BK 64: 8 chunks, chunk ^= row % 8. Either spreads the 8 rows one ldmatrix reads over all 8
// 16-byte bank groups.
template <int BK>
__device__ __forceinline__ uint32_t a_offset(int row, int chunk) {
  if (BK == 32) return row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4);
  return row * 128 + ((chunk ^ (row & 7)) << 4);
}

// B tile rows are 512 bytes (32 chunks); chunk ^= row % 8 does the same for ldmatrix.trans.
__device__ __forceinline__ uint32_t b_offset(int row, int chunk) {
  return row * 512 + ((chunk ^ (row & 7)) << 4);
}

__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int srcBytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(srcBytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ float gelu_tanh(float x) {
  return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

// Issues the cp.async copies of k tile kt into shared stage `stage`.
template <int BK>
__device__ __forceinline__ void load_stage(uint8_t* smem, int stage, int kt, const __nv_bfloat16* A,
                                           const __nv_bfloat16* B, int rowStart, int rowEnd,
                                           int n0, int K, int N) {
  constexpr int A_STAGE_BYTES = BM * BK * 2;
  constexpr int STAGE_BYTES = A_STAGE_BYTES + BK * BN * 2;
  constexpr int A_CHUNKS_PER_ROW = BK / 8;
  uint32_t sA = smem_addr(smem + stage * STAGE_BYTES);
  uint32_t sB = sA + A_STAGE_BYTES;
  int tid = threadIdx.x;
#pragma unroll
  for (int i = 0; i < (BM * BK / 8) / THREADS; i++) {
    int idx = tid + i * THREADS;
    int r = idx / A_CHUNKS_PER_ROW;
    int c = idx % A_CHUNKS_PER_ROW;
    int grow = rowStart + r;
    bool valid = grow < rowEnd;
    const __nv_bfloat16* src = A + (long long)(valid ? grow : rowStart) * K + kt * BK + c * 8;
    cp_async16(sA + a_offset<BK>(r, c), src, valid ? 16 : 0);
  }
#pragma unroll
  for (int i = 0; i < (BK * BN / 8) / THREADS; i++) {
    int idx = tid + i * THREADS;
    int k = idx >> 5;
    int c = idx & 31;
    const __nv_bfloat16* src = B + (long long)(kt * BK + k) * N + n0 + c * 8;
    cp_async16(sB + b_offset(k, c), src, 16);
  }
}

template <bool GELU_BF16_OUT, int BK, int STAGES>
__device__ __forceinline__ void gemm_tile(const __nv_bfloat16* __restrict__ A,
                                          const __nv_bfloat16* __restrict__ Bbase,
                                          long long slotStride, void* __restrict__ C,
                                          const int* __restrict__ tiles, int K, int N) {
  constexpr int A_STAGE_BYTES = BM * BK * 2;
  constexpr int STAGE_BYTES = A_STAGE_BYTES + BK * BN * 2;
  extern __shared__ __align__(128) uint8_t smem[];
  const int4 tile = reinterpret_cast<const int4*>(tiles)[blockIdx.y];
  const int slot = tile.x;
  const int rowStart = tile.y;
  const int rowEnd = tile.z;
  const int n0 = blockIdx.x * BN;
  const __nv_bfloat16* B = Bbase + slot * slotStride;

  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int wm = warp / WARPS_N;
  const int wn = warp % WARPS_N;

  float acc[MI][NI][4];
#pragma unroll
  for (int mi = 0; mi < MI; mi++)
#pragma unroll
    for (int ni = 0; ni < NI; ni++)
#pragma unroll
      for (int q = 0; q < 4; q++) acc[mi][ni][q] = 0.f;

  const int kTiles = K / BK;
#pragma unroll
  for (int s = 0; s < STAGES - 1; s++) {
    if (s < kTiles) load_stage<BK>(smem, s, s, A, B, rowStart, rowEnd, n0, K, N);
    cp_async_commit();
  }

  for (int kt = 0; kt < kTiles; kt++) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();
    // The stage refilled here was consumed in iteration kt - 1, which every thread has finished.
    int next = kt + STAGES - 1;
    if (next < kTiles) load_stage<BK>(smem, next % STAGES, next, A, B, rowStart, rowEnd, n0, K, N);
    cp_async_commit();

    uint32_t sA = smem_addr(smem + (kt % STAGES) * STAGE_BYTES);
    uint32_t sB = sA + A_STAGE_BYTES;
#pragma unroll
    for (int ks = 0; ks < BK / 16; ks++) {
      uint32_t a[MI][4];
      uint32_t b[NI][2];
#pragma unroll
      for (int mi = 0; mi < MI; mi++) {
        int r = wm * 64 + mi * 16 + (lane & 15);
        int c = ks * 2 + (lane >> 4);
        ldmatrix_x4(a[mi], sA + a_offset<BK>(r, c));
      }
#pragma unroll
      for (int nj = 0; nj < NI / 2; nj++) {
        uint32_t t[4];
        int k = ks * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
        int c = wn * 8 + nj * 2 + (lane >> 4);
        ldmatrix_x4_trans(t, sB + b_offset(k, c));
        b[2 * nj][0] = t[0];
        b[2 * nj][1] = t[1];
        b[2 * nj + 1][0] = t[2];
        b[2 * nj + 1][1] = t[3];
      }
#pragma unroll
      for (int mi = 0; mi < MI; mi++)
#pragma unroll
        for (int ni = 0; ni < NI; ni++) mma_bf16(acc[mi][ni], a[mi], b[ni][0], b[ni][1]);
    }
  }
  cp_async_wait<0>();

  const int g = lane >> 2;
  const int q = lane & 3;
#pragma unroll
  for (int mi = 0; mi < MI; mi++) {
#pragma unroll
    for (int half = 0; half < 2; half++) {
      int row = rowStart + wm * 64 + mi * 16 + g + half * 8;
      if (row >= rowEnd) continue;
#pragma unroll
      for (int ni = 0; ni < NI; ni++) {
        int col = n0 + wn * 64 + ni * 8 + q * 2;
        float v0 = acc[mi][ni][half * 2];
        float v1 = acc[mi][ni][half * 2 + 1];
        long long off = (long long)row * N + col;
        if (GELU_BF16_OUT) {
          reinterpret_cast<__nv_bfloat162*>(reinterpret_cast<__nv_bfloat16*>(C) + off)[0] =
              __floats2bfloat162_rn(gelu_tanh(v0), gelu_tanh(v1));
        } else {
          reinterpret_cast<float2*>(reinterpret_cast<float*>(C) + off)[0] = make_float2(v0, v1);
        }
      }
    }
  }
}

extern "C" {

// C (bf16) = GELU(A x B): the first expert GEMM (x W1). BK 32, 4 stages.
__global__ void __launch_bounds__(THREADS, 1)
    expert_gemm_gelu_bf16(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ B,
                          long long slotStride, __nv_bfloat16* __restrict__ C,
                          const int* __restrict__ tiles, int K, int N) {
  gemm_tile<true, 32, 4>(A, B, slotStride, C, tiles, K, N);
}

// C (fp32) = A x B: the second expert GEMM (h W2). BK 32, 4 stages.
__global__ void __launch_bounds__(THREADS, 1)
    expert_gemm_f32(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ B,
                    long long slotStride, float* __restrict__ C, const int* __restrict__ tiles,
                    int K, int N) {
  gemm_tile<false, 32, 4>(A, B, slotStride, C, tiles, K, N);
}

// The first expert GEMM with BK 64, 4 stages.
__global__ void __launch_bounds__(THREADS, 1)
    expert_gemm_gelu_bf16_bk64(const __nv_bfloat16* __restrict__ A,
                               const __nv_bfloat16* __restrict__ B, long long slotStride,
                               __nv_bfloat16* __restrict__ C, const int* __restrict__ tiles, int K,
                               int N) {
  gemm_tile<true, 64, 4>(A, B, slotStride, C, tiles, K, N);
}

// The second expert GEMM with BK 64, 4 stages.
__global__ void __launch_bounds__(THREADS, 1)
    expert_gemm_f32_bk64(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ B,
                         long long slotStride, float* __restrict__ C,
                         const int* __restrict__ tiles, int K, int N) {
  gemm_tile<false, 64, 4>(A, B, slotStride, C, tiles, K, N);
}

}  // extern "C"
