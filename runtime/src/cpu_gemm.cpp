//===- cpu_gemm.cpp - packed f32 matrix multiplication for CPU models -----===//
//
// kiln_cpu_sgemm: C[b][m][n] += sum_k A[b][m][k] * B[b][k][n] over strided
// f32 views. Compiled models call it for their f32 contractions (matmuls,
// convolutions as im2col): one kernel in the runtime, not one copy of
// unrolled vector code per layer in every model.
//
// The work is split into blocks of C (batch x MC rows x NC columns), run
// on the runtime's thread pool. Within a block, for each KC-deep slice of
// K, A and B are packed into panels (MR rows, resp. NR columns, interleaved
// along k, zero-padded), and a register-blocked microkernel computes each
// MR x NR tile of C from one A panel and one B panel. The microkernel is
// chosen once per process from the CPU's extensions: AVX-512 (12 x 32),
// AVX2 + FMA (6 x 16) or portable C++ (4 x 16). The CPU is checked at run
// time, so the runtime itself runs on any x86-64 machine.
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"
#include "cpu_gemm.h"
#include "cpu_profile.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
// GCC 12 reports the undefined first operand inside _mm512_max_ps and
// _mm512_min_ps as maybe uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define KILN_GEMM_X86 1
#endif

namespace {

constexpr int kMaxMR = 12, kMaxNR = 32;

/// One microkernel: C[0:rows, 0:cols] (row stride ldc, unit column stride)
/// += packed A panel (kc x MR) * packed B panel (kc x NR). The x86 ones
/// compute only the rows they store (a tail of fewer than MR rows is
/// cheaper), all NR columns.
using kiln_cpu::TileEpilogue;
using KernelFn = kiln_cpu::MicrokernelFn;

/// The epilogue of one value (scalar kernels and tails).
inline float epilogueValue(const TileEpilogue &e, float c, float v, int r, int j) {
  v += e.load ? c : 0.0f;
  if (e.bias)
    v += e.bias[r];
  if (e.res)
    v += e.res[r * e.ldr + j];
  if (e.clamp) {
    v = v < e.lo ? e.lo : v; // NaN stays NaN
    v = v > e.hi ? e.hi : v;
  }
  return v;
}

struct KernelInfo {
  KernelFn fn;
  const char *name;
  int mr, nr;
  int64_t mc, kc, nc; // cache blocks
};

template <int MR, int NR>
void kernelPortable(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                    int rows, int cols, const TileEpilogue *e) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j)
        acc[r][j] += a[r] * b[j];
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < cols; ++j) {
      float &out = c[r * ldc + j];
      out = e ? epilogueValue(*e, out, acc[r][j], r, j) : out + acc[r][j];
    }
}

#ifdef KILN_GEMM_X86
/// The AVX2 tile of R <= 6 rows (A panels are 6 wide whatever R is): a
/// tail of fewer rows costs its rows only, not a whole tile.
template <int R>
__attribute__((target("avx2,fma"))) void tileAvx2(int64_t kc, const float *a, const float *b,
                                                  float *c, int64_t ldc, int cols,
                                                  const TileEpilogue *e) {
  constexpr int MR = 6;
  __m256 acc[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, a += MR, b += 16) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      __m256 av = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  if (cols == 16 && !e) {
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      float *row = c + r * ldc;
      _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[r][0]));
      _mm256_storeu_ps(row + 8, _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[r][1]));
    }
    return;
  }
  alignas(32) float tile[16];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm256_store_ps(tile, acc[r][0]);
    _mm256_store_ps(tile + 8, acc[r][1]);
    for (int j = 0; j < cols; ++j) {
      float &out = c[r * ldc + j];
      out = e ? epilogueValue(*e, out, tile[j], r, j) : out + tile[j];
    }
  }
}

void kernelAvx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int rows,
                int cols, const TileEpilogue *e) {
  switch (rows) {
  case 1: return tileAvx2<1>(kc, a, b, c, ldc, cols, e);
  case 2: return tileAvx2<2>(kc, a, b, c, ldc, cols, e);
  case 3: return tileAvx2<3>(kc, a, b, c, ldc, cols, e);
  case 4: return tileAvx2<4>(kc, a, b, c, ldc, cols, e);
  case 5: return tileAvx2<5>(kc, a, b, c, ldc, cols, e);
  default: return tileAvx2<6>(kc, a, b, c, ldc, cols, e);
  }
}

/// The AVX-512 tile of R <= 12 rows (A panels are 12 wide whatever R is).
template <int R>
__attribute__((target("avx512f,fma"))) void tileAvx512(int64_t kc, const float *a,
                                                       const float *b, float *c, int64_t ldc,
                                                       int cols, const TileEpilogue *e) {
  constexpr int MR = 12;
  __m512 acc[R][2];
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, a += MR, b += 32) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      __m512 av = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  __mmask16 m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
  __mmask16 m1 = cols >= 32   ? (__mmask16)0xFFFF
                 : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1)
                             : (__mmask16)0;
  if (!e) {
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      float *row = c + r * ldc;
      _mm512_mask_storeu_ps(row, m0,
                            _mm512_add_ps(_mm512_maskz_loadu_ps(m0, row), acc[r][0]));
      _mm512_mask_storeu_ps(row + 16, m1,
                            _mm512_add_ps(_mm512_maskz_loadu_ps(m1, row + 16), acc[r][1]));
    }
    return;
  }
  // max_ps / min_ps return their second operand when either is NaN: with
  // the value second, NaN propagates as arith.maximumf / minimumf do.
  // Unrolled like the product, so that acc stays in registers.
  __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    float *row = c + r * ldc;
    __m512 v0 = acc[r][0], v1 = acc[r][1];
    if (e->load) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
    }
    if (e->bias) {
      __m512 bv = _mm512_set1_ps(e->bias[r]);
      v0 = _mm512_add_ps(v0, bv);
      v1 = _mm512_add_ps(v1, bv);
    }
    if (e->res) {
      const float *rr = e->res + r * e->ldr;
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, rr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, rr + 16));
    }
    if (e->clamp) {
      v0 = _mm512_min_ps(hi, _mm512_max_ps(lo, v0));
      v1 = _mm512_min_ps(hi, _mm512_max_ps(lo, v1));
    }
    _mm512_mask_storeu_ps(row, m0, v0);
    _mm512_mask_storeu_ps(row + 16, m1, v1);
  }
}

void kernelAvx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int rows,
                  int cols, const TileEpilogue *e) {
  switch (rows) {
  case 1: return tileAvx512<1>(kc, a, b, c, ldc, cols, e);
  case 2: return tileAvx512<2>(kc, a, b, c, ldc, cols, e);
  case 3: return tileAvx512<3>(kc, a, b, c, ldc, cols, e);
  case 4: return tileAvx512<4>(kc, a, b, c, ldc, cols, e);
  case 5: return tileAvx512<5>(kc, a, b, c, ldc, cols, e);
  case 6: return tileAvx512<6>(kc, a, b, c, ldc, cols, e);
  case 7: return tileAvx512<7>(kc, a, b, c, ldc, cols, e);
  case 8: return tileAvx512<8>(kc, a, b, c, ldc, cols, e);
  case 9: return tileAvx512<9>(kc, a, b, c, ldc, cols, e);
  case 10: return tileAvx512<10>(kc, a, b, c, ldc, cols, e);
  case 11: return tileAvx512<11>(kc, a, b, c, ldc, cols, e);
  default: return tileAvx512<12>(kc, a, b, c, ldc, cols, e);
  }
}
#endif

/// The microkernel for this CPU; KILN_CPU_GEMM_ISA=avx2|portable picks a
/// smaller one (for tests and comparisons), never one the CPU lacks.
const KernelInfo &kernel() {
  static const KernelInfo info = [] {
    const char *env = std::getenv("KILN_CPU_GEMM_ISA");
    std::string cap = env ? env : "";
#ifdef KILN_GEMM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && cap != "avx2" && cap != "portable")
      return KernelInfo{kernelAvx512, "avx512", 12, 32, 144, 384, 1024};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cap != "portable")
      return KernelInfo{kernelAvx2, "avx2", 6, 16, 96, 256, 512};
#endif
    return KernelInfo{kernelPortable<4, 16>, "portable", 4, 16, 64, 256, 512};
  }();
  return info;
}

struct Problem {
  int64_t batch, M, N, K;
  const float *A;
  int64_t asb, asm_, ask;
  const float *B;
  int64_t bsb, bsk, bsn;
  float *C;
  int64_t csb, csm, csn;
  int64_t mc, nc, mBlocks, nBlocks;
  // Operands packed ahead of time (weights, by the compiler) in the
  // microkernel's own panels over the whole of K; 0 when not.
  int64_t aPanel, bPanel;
};

/// Panels of MR rows of A[m0:m0+rows, k0:k0+kc], k-major within a panel.
void packA(const Problem &p, const float *a, int64_t rows, int64_t kc, int mr, float *out) {
  for (int64_t r0 = 0; r0 < rows; r0 += mr) {
    int64_t n = std::min<int64_t>(mr, rows - r0);
    for (int64_t k = 0; k < kc; ++k) {
      const float *src = a + r0 * p.asm_ + k * p.ask;
      int64_t r = 0;
      for (; r < n; ++r)
        out[r] = src[r * p.asm_];
      for (; r < mr; ++r)
        out[r] = 0.0f;
      out += mr;
    }
  }
}

/// Panels of NR columns of B[k0:k0+kc, n0:n0+cols], k-major within a panel.
void packB(const Problem &p, const float *b, int64_t kc, int64_t cols, int nr, float *out) {
  for (int64_t j0 = 0; j0 < cols; j0 += nr) {
    int64_t n = std::min<int64_t>(nr, cols - j0);
    for (int64_t k = 0; k < kc; ++k) {
      const float *src = b + k * p.bsk + j0 * p.bsn;
      if (p.bsn == 1 && n == nr) {
        std::memcpy(out, src, sizeof(float) * nr);
      } else {
        int64_t j = 0;
        for (; j < n; ++j)
          out[j] = src[j * p.bsn];
        for (; j < nr; ++j)
          out[j] = 0.0f;
      }
      out += nr;
    }
  }
}

/// Per-thread packing buffers, kept between calls.
std::vector<float> &scratch(int which) {
  thread_local std::vector<float> buffers[2];
  return buffers[which];
}

void runBlock(const Problem &p, int64_t block) {
  const KernelInfo &ki = kernel();
  int64_t perBatch = p.mBlocks * p.nBlocks;
  int64_t b = block / perBatch, rest = block % perBatch;
  int64_t m0 = (rest / p.nBlocks) * p.mc, n0 = (rest % p.nBlocks) * p.nc;
  int64_t rows = std::min(p.mc, p.M - m0), cols = std::min(p.nc, p.N - n0);
  int64_t kcMax = std::min(ki.kc, p.K);
  int64_t rowPanels = (rows + ki.mr - 1) / ki.mr, colPanels = (cols + ki.nr - 1) / ki.nr;
  std::vector<float> &ap = scratch(0), &bp = scratch(1);
  if (!p.aPanel)
    ap.resize(rowPanels * ki.mr * kcMax);
  if (!p.bPanel)
    bp.resize(colPanels * ki.nr * kcMax);
  const float *A = p.A + b * p.asb + m0 * p.asm_;
  const float *B = p.B + b * p.bsb + n0 * p.bsn;
  float *C = p.C + b * p.csb + m0 * p.csm + n0 * p.csn;
  bool direct = p.csn == 1;
  float tile[kMaxMR * kMaxNR];
  // Prepacked panels: panel i of the whole operand starts at i * K * width.
  const float *aPre = p.aPanel ? p.A + (m0 / ki.mr) * p.K * ki.mr : nullptr;
  const float *bPre = p.bPanel ? p.B + (n0 / ki.nr) * p.K * ki.nr : nullptr;
  for (int64_t k0 = 0; k0 < p.K; k0 += ki.kc) {
    int64_t kc = std::min(ki.kc, p.K - k0);
    if (!aPre)
      packA(p, A + k0 * p.ask, rows, kc, ki.mr, ap.data());
    if (!bPre)
      packB(p, B + k0 * p.bsk, kc, cols, ki.nr, bp.data());
    for (int64_t jp = 0; jp < colPanels; ++jp) {
      int nc = (int)std::min<int64_t>(ki.nr, cols - jp * ki.nr);
      const float *bpanel = bPre ? bPre + jp * p.K * ki.nr + k0 * ki.nr
                                 : bp.data() + jp * ki.nr * kc;
      for (int64_t ip = 0; ip < rowPanels; ++ip) {
        int mr = (int)std::min<int64_t>(ki.mr, rows - ip * ki.mr);
        const float *apanel = aPre ? aPre + ip * p.K * ki.mr + k0 * ki.mr
                                   : ap.data() + ip * ki.mr * kc;
        float *c = C + ip * ki.mr * p.csm + jp * ki.nr * p.csn;
        if (direct) {
          ki.fn(kc, apanel, bpanel, c, p.csm, mr, nc, nullptr);
          continue;
        }
        // A C whose columns are not contiguous: the tile goes through a
        // local buffer.
        std::fill(tile, tile + mr * ki.nr, 0.0f);
        ki.fn(kc, apanel, bpanel, tile, ki.nr, mr, nc, nullptr);
        for (int r = 0; r < mr; ++r)
          for (int j = 0; j < nc; ++j)
            c[r * p.csm + j * p.csn] += tile[r * ki.nr + j];
      }
    }
  }
}

void runBlocks(void *ctx, int64_t begin, int64_t end) {
  const Problem &p = *static_cast<const Problem *>(ctx);
  for (int64_t block = begin; block < end; ++block)
    runBlock(p, block);
}

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/// `outer` x `inner` row-major from panels of `width` outer rows, each over
/// all of `inner` (the layout prepacked operands come in).
void unpackPanels(const float *panels, int64_t outer, int64_t inner, int64_t width,
                  std::vector<float> &out) {
  out.resize(outer * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      out[o * inner + i] = panels[(o / width) * inner * width + i * width + o % width];
}

} // namespace

extern "C" void kiln_cpu_sgemm(int64_t batch, int64_t M, int64_t N, int64_t K,
                               const float *A, int64_t asb, int64_t asm_, int64_t ask,
                               const float *B, int64_t bsb, int64_t bsk, int64_t bsn,
                               float *C, int64_t csb, int64_t csm, int64_t csn,
                               int64_t aPanel, int64_t bPanel) {
  if (batch <= 0 || M <= 0 || N <= 0 || K <= 0)
    return;
  kiln_cpu_profile::Scope profile(
      "gemm", std::to_string(batch) + "x" + std::to_string(M) + "x" + std::to_string(N) + "x" +
                  std::to_string(K) + " (b x M x N x K)",
      2.0 * batch * M * N * K);
  // C's columns contiguous is the fast case; a C contiguous along m is the
  // transposed problem: C^T = B^T A^T (B's column panels are then A's row
  // panels).
  if (csn != 1 && csm == 1) {
    std::swap(M, N);
    std::swap(A, B);
    std::swap(asb, bsb);
    int64_t newAsm = bsn, newAsk = bsk, newBsk = ask, newBsn = asm_;
    asm_ = newAsm, ask = newAsk, bsk = newBsk, bsn = newBsn;
    std::swap(csm, csn);
    std::swap(aPanel, bPanel);
  }
  const KernelInfo &ki = kernel();
  // Panels of another width than this CPU's microkernel (a library built
  // for another CPU, or KILN_CPU_GEMM_ISA): unpacked once per call.
  std::vector<float> unpackedA, unpackedB;
  if (aPanel && aPanel != ki.mr) {
    unpackPanels(A, M, K, aPanel, unpackedA); // A[m][k]
    A = unpackedA.data(), asb = 0, asm_ = K, ask = 1, aPanel = 0;
  }
  if (bPanel && bPanel != ki.nr) {
    unpackPanels(B, N, K, bPanel, unpackedB); // B^T[n][k]
    B = unpackedB.data(), bsb = 0, bsk = 1, bsn = K, bPanel = 0;
  }
  Problem p{batch, M, N, K, A, asb, asm_, ask, B, bsb, bsk, bsn, C, csb, csm, csn,
            0, 0, 0, 0, aPanel, bPanel};
  // Blocks of C: at most cache-sized, then more of them until every thread
  // has about four (small matrices, one row of a fully connected layer),
  // all of about the same size so that no thread waits for a big one.
  int threads = std::max(1, kiln_get_num_threads());
  int64_t mB = (M + ki.mc - 1) / ki.mc, nB = (N + ki.nc - 1) / ki.nc;
  int64_t target = threads > 1 ? 4 * threads : 1;
  while (batch * mB * nB < target) {
    bool nSplits = N / (nB + 1) >= ki.nr, mSplits = M / (mB + 1) >= ki.mr;
    if (nSplits && (!mSplits || N / nB >= M / mB))
      ++nB;
    else if (mSplits)
      ++mB;
    else
      break;
  }
  p.mc = roundUp((M + mB - 1) / mB, ki.mr);
  p.nc = roundUp((N + nB - 1) / nB, ki.nr);
  p.mBlocks = (M + p.mc - 1) / p.mc;
  p.nBlocks = (N + p.nc - 1) / p.nc;
  auto blocks = [&] { return batch * p.mBlocks * p.nBlocks; };
  kiln_parallel_for(blocks(), runBlocks, &p);
}

void kiln_cpu::sgemmSerial(int64_t M, int64_t N, int64_t K, const float *A, int64_t asm_,
                           int64_t ask, const float *B, int64_t bsk, int64_t bsn, float *C,
                           int64_t ldc, bool bPacked, bool aPacked) {
  if (M <= 0 || N <= 0 || K <= 0)
    return;
  const KernelInfo &ki = kernel();
  // One block of C: the caller keeps its problems cache-sized.
  Problem p{1, M, N, K, A, 0, asm_, ask, B, 0, bsk, bsn, C, 0, ldc, 1,
            roundUp(M, ki.mr), roundUp(N, ki.nr), 1, 1, aPacked ? ki.mr : 0,
            bPacked ? ki.nr : 0};
  runBlock(p, 0);
}

int64_t kiln_cpu::packedRowsSize(int64_t M, int64_t K) { return roundUp(M, kernel().mr) * K; }

void kiln_cpu::packRows(int64_t M, int64_t K, const float *A, int64_t asm_, int64_t ask,
                        float *out) {
  const KernelInfo &ki = kernel();
  Problem p{};
  p.asm_ = asm_, p.ask = ask;
  // Panels over all of K: one panel of K x MR per MR rows.
  for (int64_t r0 = 0; r0 < M; r0 += ki.mr)
    packA(p, A + r0 * asm_, std::min<int64_t>(ki.mr, M - r0), K, ki.mr,
          out + (r0 / ki.mr) * K * ki.mr);
}

int64_t kiln_cpu::packedSize(int64_t K, int64_t N) {
  return roundUp(N, kernel().nr) * K;
}

void kiln_cpu::packColumns(int64_t K, int64_t N, const float *B, int64_t bsk, int64_t bsn,
                           float *out) {
  const KernelInfo &ki = kernel();
  Problem p{};
  p.bsk = bsk, p.bsn = bsn;
  packB(p, B, K, N, ki.nr, out);
}

int kiln_cpu::sgemmRows() { return kernel().mr; }

const kiln_cpu::Microkernel &kiln_cpu::microkernel() {
  static const Microkernel info = [] {
    const KernelInfo &ki = kernel();
    bool avx512 = std::string(ki.name) == "avx512";
#ifdef KILN_GEMM_X86
    avx512 = avx512 && __builtin_cpu_supports("bmi2");
#endif
    return Microkernel{ki.fn, ki.mr, ki.nr, avx512};
  }();
  return info;
}

extern "C" const char *kiln_cpu_sgemm_kernel(void) { return kernel().name; }

extern "C" void kiln_cpu_sgemm_panels(int64_t *rows, int64_t *cols) {
  *rows = kernel().mr;
  *cols = kernel().nr;
}
