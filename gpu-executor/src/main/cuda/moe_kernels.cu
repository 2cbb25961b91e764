// MoE layer kernels other than the expert GEMMs: gate GEMM, softmax + top-k, counts,
// dispatch (stable positions and permutation), combine, and parameter conversions.
// Each kernel matches a stage of io.moeplan.executor.backend.Reference.
#include <cuda_bf16.h>
#include <stdint.h>

#define CHUNK 256
#define MAX_EXPERTS 64

extern "C" {

// logits[t * E + e] = sum_h x[t * H + h] * gate[h * E + e]; one thread per (token, expert).
__global__ void moe_gate_logits(const float* __restrict__ x, const float* __restrict__ gate,
                                float* __restrict__ logits, int tokens, int hidden, int experts) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long long)tokens * experts) return;
  int t = (int)(i / experts);
  int e = (int)(i % experts);
  const float* xr = x + (long long)t * hidden;
  float acc = 0.f;
  for (int h = 0; h < hidden; h++) {
    acc = fmaf(xr[h], gate[(long long)h * experts + e], acc);
  }
  logits[i] = acc;
}

// Softmax over each token's logits, top-k by probability (ties: lower id), weights renormalised
// over the chosen experts. One thread per token; experts <= MAX_EXPERTS.
__global__ void moe_softmax_topk(const float* __restrict__ logits, int* __restrict__ ids,
                                 float* __restrict__ weights, int tokens, int experts, int topK) {
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= tokens) return;
  const float* l = logits + (long long)t * experts;
  float mx = -INFINITY;
  for (int e = 0; e < experts; e++) mx = fmaxf(mx, l[e]);
  float sum = 0.f;
  for (int e = 0; e < experts; e++) sum += expf(l[e] - mx);
  unsigned long long taken = 0ull;
  float chosen = 0.f;
  for (int j = 0; j < topK; j++) {
    int best = -1;
    float bestP = 0.f;
    for (int e = 0; e < experts; e++) {
      if (taken & (1ull << e)) continue;
      float p = expf(l[e] - mx);
      if (best < 0 || p > bestP) {
        best = e;
        bestP = p;
      }
    }
    taken |= 1ull << best;
    ids[(long long)t * topK + j] = best;
    weights[(long long)t * topK + j] = bestP / sum;
    chosen += bestP / sum;
  }
  for (int j = 0; j < topK; j++) weights[(long long)t * topK + j] /= chosen;
}

// counts[rank * E + e] += 1 for each assignment; counts must be zeroed first.
__global__ void moe_rank_counts(const int* __restrict__ ids, int* __restrict__ counts,
                                int assignments, int topK, int tokensPerRank, int experts) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= assignments) return;
  int rank = (i / topK) / tokensPerRank;
  atomicAdd(&counts[rank * experts + ids[i]], 1);
}

// chunkCounts[c * E + e]: assignments to expert e inside chunk c (CHUNK assignments per block).
__global__ void moe_chunk_counts(const int* __restrict__ ids, int* __restrict__ chunkCounts,
                                 int assignments, int experts) {
  __shared__ int cnt[MAX_EXPERTS];
  if (threadIdx.x < experts) cnt[threadIdx.x] = 0;
  __syncthreads();
  int i = blockIdx.x * CHUNK + threadIdx.x;
  if (i < assignments) atomicAdd(&cnt[ids[i]], 1);
  __syncthreads();
  if (threadIdx.x < experts) chunkCounts[blockIdx.x * experts + threadIdx.x] = cnt[threadIdx.x];
}

// In place: chunkCounts becomes, per expert, the exclusive prefix over chunks. One thread per expert.
__global__ void moe_chunk_offsets(int* __restrict__ chunkCounts, int chunks, int experts) {
  int e = threadIdx.x;
  if (e >= experts) return;
  int run = 0;
  for (int c = 0; c < chunks; c++) {
    int v = chunkCounts[c * experts + e];
    chunkCounts[c * experts + e] = run;
    run += v;
  }
}

// rowOf[i]: the dispatched row of assignment i, per the even replica split of DispatchPlan.
// table = totals[E] | replicaBase[E] | replicaCount[E] | replicaSlots[slots] | slotStart[slots].
__global__ void moe_assign_rows(const int* __restrict__ ids, const int* __restrict__ chunkOffsets,
                                const int* __restrict__ table, int* __restrict__ rowOf,
                                int assignments, int experts) {
  __shared__ int sid[CHUNK];
  int i = blockIdx.x * CHUNK + threadIdx.x;
  sid[threadIdx.x] = i < assignments ? ids[i] : -1;
  __syncthreads();
  if (i >= assignments) return;
  int e = sid[threadIdx.x];
  int rank = 0;
  for (int j = 0; j < threadIdx.x; j++) rank += sid[j] == e;
  const int* totals = table;
  const int* replicaBase = table + experts;
  const int* replicaCount = table + 2 * experts;
  const int* replicaSlots = table + 3 * experts;
  int slots = replicaBase[experts - 1] + replicaCount[experts - 1];
  const int* slotStart = replicaSlots + slots;
  int p = chunkOffsets[blockIdx.x * experts + e] + rank;
  long long n = totals[e];
  long long k = replicaCount[e];
  int r = (int)((long long)p * k / n);
  int start = (int)((r * n + k - 1) / k);
  int slot = replicaSlots[replicaBase[e] + r];
  rowOf[i] = slotStart[slot] + p - start;
}

// xd[rowOf[i], :] = bf16(x[i / topK, :]); one block per assignment, hidden % 4 == 0.
__global__ void moe_permute(const float* __restrict__ x, const int* __restrict__ rowOf,
                            __nv_bfloat16* __restrict__ xd, int topK, int hidden) {
  int i = blockIdx.x;
  const float4* src = (const float4*)(x + (long long)(i / topK) * hidden);
  __nv_bfloat162* dst = (__nv_bfloat162*)(xd + (long long)rowOf[i] * hidden);
  for (int q = threadIdx.x; q < hidden / 4; q += blockDim.x) {
    float4 v = src[q];
    dst[2 * q] = __floats2bfloat162_rn(v.x, v.y);
    dst[2 * q + 1] = __floats2bfloat162_rn(v.z, v.w);
  }
}

// out[t, :] = sum_j weights[t * topK + j] * y[rowOf[t * topK + j], :]; one block per token.
__global__ void moe_combine(const float* __restrict__ y, const int* __restrict__ rowOf,
                            const float* __restrict__ weights, float* __restrict__ out, int topK,
                            int hidden) {
  int t = blockIdx.x;
  float4* o = (float4*)(out + (long long)t * hidden);
  for (int q = threadIdx.x; q < hidden / 4; q += blockDim.x) {
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int j = 0; j < topK; j++) {
      int i = t * topK + j;
      float w = weights[i];
      float4 v = ((const float4*)(y + (long long)rowOf[i] * hidden))[q];
      acc.x = fmaf(w, v.x, acc.x);
      acc.y = fmaf(w, v.y, acc.y);
      acc.z = fmaf(w, v.z, acc.z);
      acc.w = fmaf(w, v.w, acc.w);
    }
    o[q] = acc;
  }
}

// dst[i] = bf16(src[i]) (round to nearest even).
__global__ void f32_to_bf16(const float* __restrict__ src, __nv_bfloat16* __restrict__ dst,
                            long long n) {
  long long stride = (long long)gridDim.x * blockDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    dst[i] = __float2bfloat16_rn(src[i]);
  }
}

// dst[i] = bf16 value as float, for reading bf16 buffers back.
__global__ void bf16_to_f32(const __nv_bfloat16* __restrict__ src, float* __restrict__ dst,
                            long long n) {
  long long stride = (long long)gridDim.x * blockDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    dst[i] = __bfloat162float(src[i]);
  }
}

// dst[i] = lo + (hi - lo) * u(seed, i), u uniform in [0, 1) from splitmix64 of the index.
__global__ void fill_uniform(float* __restrict__ dst, long long n, unsigned long long seed,
                             float lo, float hi) {
  long long stride = (long long)gridDim.x * blockDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    unsigned long long z = seed + (unsigned long long)i * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    float u = (float)(z >> 40) * (1.0f / 16777216.0f);
    dst[i] = lo + (hi - lo) * u;
  }
}

}  // extern "C"
