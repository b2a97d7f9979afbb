//===- cpu_attention.cpp - fused f32 attention for CPU models -------------===//
//
// kiln_cpu_attention: out = softmax(Q K^T * scale + mask) V per (batch,
// head), the flash-attention way: the query rows are split into tiles, and
// each tile walks the keys and values in blocks, keeping a running row
// maximum m, a running row sum l and an unnormalized output O:
//
//   S = Q_tile K_block^T * scale + mask      (Br x Bc, never more)
//   m' = max(m, rowmax S);  P = exp(S - m');  alpha = exp(m - m')
//   l = l * alpha + rowsum P;  O = O * alpha + P V_block
//
// and writes O / l at the end. The sequence x sequence score matrix never
// exists: memory is one Br x Bc tile per thread. Both products run on the
// packed GEMM's microkernel (cpu_gemm.h); the exponentials are vectorized
// (AVX-512, AVX2 or plain C++, chosen from the CPU when it runs). Tiles of
// (batch, head, query rows) are the thread pool's tasks.
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"
#include "cpu_gemm.h"
#include "cpu_profile.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
/// Keys per block: the score tile of a task is Br x kBlockKeys.
constexpr int64_t kBlockKeys = 128;

//===----------------------------------------------------------------------===//
// One row of the online softmax, vectorized over W lanes
//===----------------------------------------------------------------------===//

// The vector helpers are always inlined into functions of their ISA; GCC's
// note about vector arguments of other ISAs does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

template <int W> struct Vectors {
  typedef float F __attribute__((vector_size(4 * W)));
  typedef int32_t I __attribute__((vector_size(4 * W)));
};
template <int W> using FloatV = typename Vectors<W>::F;
template <int W> using IntV = typename Vectors<W>::I;

template <int W> inline __attribute__((always_inline)) FloatV<W> splat(float x) {
  FloatV<W> v;
  for (int i = 0; i < W; ++i)
    v[i] = x;
  return v;
}

/// exp(x) for x <= 0 or NaN (scores minus their maximum): Cody-Waite range
/// reduction to r in [-ln2/2, ln2/2] and a degree-6 polynomial (relative
/// error about 1.2e-7); below ln(FLT_MIN) the result is 0, NaN stays NaN.
template <int W> inline __attribute__((always_inline)) FloatV<W> expNonPositive(FloatV<W> x) {
  const FloatV<W> lo = splat<W>(-87.33654f);
  IntV<W> under = x < lo;
  FloatV<W> xc = under ? lo : x; // NaN compares false and stays
  const FloatV<W> magic = splat<W>(12582912.0f); // 1.5 * 2^23: rounds to integer
  FloatV<W> t = xc * splat<W>(1.44269504f) + magic;
  FloatV<W> n = t - magic;
  FloatV<W> r = xc - n * splat<W>(0.693145751953125f);
  r = r - n * splat<W>(1.428606765330187e-06f);
  FloatV<W> p = splat<W>(1.0f / 720);
  p = p * r + splat<W>(1.0f / 120);
  p = p * r + splat<W>(1.0f / 24);
  p = p * r + splat<W>(1.0f / 6);
  p = p * r + splat<W>(0.5f);
  p = p * r + splat<W>(1.0f);
  p = p * r + splat<W>(1.0f);
  IntV<W> ni = __builtin_convertvector(n, IntV<W>);
  FloatV<W> two = (FloatV<W>)((ni + 127) << 23);
  FloatV<W> e = p * two;
  return under ? splat<W>(0.0f) : e;
}

/// The softmax step of one score row `s` (`cols` valid entries, storage a
/// multiple of W): s = s * scale + mask, keys past `visible` (causal) at
/// -inf; then s becomes P = exp(s - m'), `m` and `l` move on, and the
/// factor for the row's earlier output is returned.
template <int W>
inline __attribute__((always_inline)) float softmaxRow(float *s, int64_t cols, float scale,
                                                       const float *mask, int64_t maskStride,
                                                       int64_t visible, float &m, float &l) {
  int64_t padded = (cols + W - 1) / W * W;
  int64_t valid = std::min(cols, std::max<int64_t>(visible, 0));
  if (mask && maskStride == 1) {
    for (int64_t j = 0; j < valid; ++j)
      s[j] = s[j] * scale + mask[j];
  } else if (mask) {
    for (int64_t j = 0; j < valid; ++j)
      s[j] = s[j] * scale + mask[j * maskStride];
  } else {
    for (int64_t j = 0; j < valid; ++j)
      s[j] = s[j] * scale;
  }
  for (int64_t j = valid; j < padded; ++j)
    s[j] = kNegInf;
  FloatV<W> vmax = splat<W>(kNegInf);
  for (int64_t j = 0; j < padded; j += W) {
    FloatV<W> x;
    std::memcpy(&x, s + j, sizeof(x));
    IntV<W> bigger = x > vmax;
    vmax = bigger ? x : vmax;
  }
  float rowMax = kNegInf;
  for (int i = 0; i < W; ++i)
    rowMax = std::max(rowMax, vmax[i]);
  float mNew = std::max(m, rowMax);
  if (mNew == kNegInf) {
    // Every key so far masked: nothing to add (l stays 0).
    std::memset(s, 0, sizeof(float) * padded);
    return 1.0f;
  }
  float alpha = m == kNegInf ? 0.0f : std::exp(m - mNew);
  FloatV<W> vm = splat<W>(mNew), vsum = splat<W>(0.0f);
  for (int64_t j = 0; j < padded; j += W) {
    FloatV<W> x;
    std::memcpy(&x, s + j, sizeof(x));
    FloatV<W> p = expNonPositive<W>(x - vm);
    std::memcpy(s + j, &p, sizeof(p));
    vsum += p;
  }
  float sum = 0.0f;
  for (int i = 0; i < W; ++i)
    sum += vsum[i];
  m = mNew;
  l = l * alpha + sum;
  return alpha;
}

struct Problem {
  int64_t B, H, Hkv, Sq, Sk, D, Dv;
  const float *q;
  int64_t qsb, qsh, qss, qsd;
  const float *k;
  int64_t ksb, ksh, kss, ksd;
  const float *v;
  int64_t vsb, vsh, vss, vsd;
  const float *mask;
  int64_t msb, msh, msq, msk;
  float *out;
  int64_t osb, osh, oss, osd;
  float scale;
  int64_t causalOffset;
  bool causal, zeroNanRows;
  int64_t rowsPerTile, tilesPerHead;
  // K^T and V of each key/value head packed once for the microkernel:
  // K^T as column panels over all keys (head stride kPackStride), V as one
  // panel set per key block (block stride vBlockStride, head stride
  // vPackStride).
  float *kPacked, *vPacked;
  int64_t kPackStride, vBlockStride, vPackStride;
};

/// Packs K^T and V of one (batch, key/value head) per task.
void packHeads(void *ctx, int64_t begin, int64_t end) {
  const Problem &p = *static_cast<const Problem *>(ctx);
  for (int64_t t = begin; t < end; ++t) {
    int64_t b = t / p.Hkv, hk = t % p.Hkv;
    const float *k = p.k + b * p.ksb + hk * p.ksh, *v = p.v + b * p.vsb + hk * p.vsh;
    // B[d][j] = K[j][d].
    kiln_cpu::packColumns(p.D, p.Sk, k, p.ksd, p.kss, p.kPacked + t * p.kPackStride);
    for (int64_t j0 = 0, blk = 0; j0 < p.Sk; j0 += kBlockKeys, ++blk)
      kiln_cpu::packColumns(std::min(kBlockKeys, p.Sk - j0), p.Dv, v + j0 * p.vss, p.vss, p.vsd,
                            p.vPacked + t * p.vPackStride + blk * p.vBlockStride);
  }
}

using RowFn = float (*)(float *s, int64_t cols, float scale, const float *mask,
                        int64_t maskStride, int64_t visible, float &m, float &l);

float rowPortable(float *s, int64_t cols, float scale, const float *mask, int64_t maskStride,
                  int64_t visible, float &m, float &l) {
  return softmaxRow<4>(s, cols, scale, mask, maskStride, visible, m, l);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma"))) float rowAvx2(float *s, int64_t cols, float scale,
                                                  const float *mask, int64_t maskStride,
                                                  int64_t visible, float &m, float &l) {
  return softmaxRow<8>(s, cols, scale, mask, maskStride, visible, m, l);
}
__attribute__((target("avx512f,avx512dq"))) float
rowAvx512(float *s, int64_t cols, float scale, const float *mask, int64_t maskStride,
          int64_t visible, float &m, float &l) {
  return softmaxRow<16>(s, cols, scale, mask, maskStride, visible, m, l);
}
#endif

RowFn rowKernel() {
  static const RowFn fn = [] {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    std::string cap = std::getenv("KILN_CPU_GEMM_ISA") ? std::getenv("KILN_CPU_GEMM_ISA") : "";
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        cap != "avx2" && cap != "portable")
      return (RowFn)rowAvx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cap != "portable")
      return (RowFn)rowAvx2;
#endif
    return (RowFn)rowPortable;
  }();
  return fn;
}

/// One task: query rows [r0, r0 + rows) of one (batch, head).
void runTile(const Problem &p, int64_t task) {
  int64_t bh = task / p.tilesPerHead, tile = task % p.tilesPerHead;
  int64_t b = bh / p.H, h = bh % p.H, hk = h / (p.H / p.Hkv);
  int64_t r0 = tile * p.rowsPerTile, rows = std::min(p.rowsPerTile, p.Sq - r0);
  const float *q = p.q + b * p.qsb + h * p.qsh + r0 * p.qss;
  const float *kPanels = p.kPacked + (b * p.Hkv + hk) * p.kPackStride;
  const float *vBlocks = p.vPacked + (b * p.Hkv + hk) * p.vPackStride;
  const float *mask = p.mask ? p.mask + b * p.msb + h * p.msh + r0 * p.msq : nullptr;
  thread_local std::vector<float> scores, acc, rowMax, rowSum;
  constexpr int64_t ld = kBlockKeys; // a multiple of every vector width
  scores.resize(rows * ld);
  acc.assign(rows * p.Dv, 0.0f);
  rowMax.assign(rows, kNegInf);
  rowSum.assign(rows, 0.0f);
  RowFn row = rowKernel();
  // Keys a causal tile can see: up to its last row's limit.
  int64_t keys = p.Sk;
  if (p.causal)
    keys = std::clamp<int64_t>(r0 + rows - 1 + p.causalOffset + 1, 0, p.Sk);
  for (int64_t j0 = 0; j0 < keys; j0 += kBlockKeys) {
    // Whole key blocks (V is packed by block); keys a causal row does not
    // see weigh 0.
    int64_t cols = std::min(kBlockKeys, p.Sk - j0);
    std::fill(scores.begin(), scores.end(), 0.0f);
    // S = Q K^T from K^T's panels (key blocks start at a panel).
    kiln_cpu::sgemmSerial(rows, cols, p.D, q, p.qss, p.qsd, kPanels + j0 * p.D, 0, 0,
                          scores.data(), ld, /*b_packed=*/true);
    for (int64_t i = 0; i < rows; ++i) {
      int64_t visible = p.causal ? r0 + i + p.causalOffset + 1 - j0 : cols;
      const float *maskRow = mask ? mask + i * p.msq + j0 * p.msk : nullptr;
      float alpha = row(scores.data() + i * ld, cols, p.scale, maskRow, p.msk,
                        std::min(visible, cols), rowMax[i], rowSum[i]);
      if (alpha != 1.0f) {
        float *o = acc.data() + i * p.Dv;
        for (int64_t d = 0; d < p.Dv; ++d)
          o[d] *= alpha;
      }
    }
    // O += P V_block.
    kiln_cpu::sgemmSerial(rows, p.Dv, cols, scores.data(), ld, 1,
                          vBlocks + (j0 / kBlockKeys) * p.vBlockStride, 0, 0, acc.data(), p.Dv,
                          /*b_packed=*/true);
  }
  float *out = p.out + b * p.osb + h * p.osh + r0 * p.oss;
  for (int64_t i = 0; i < rows; ++i) {
    float l = rowSum[i];
    // A row that every key masks has l = 0: NaN like the softmax it
    // replaces, or 0 when asked (exports that zero NaN probabilities).
    bool zero = p.zeroNanRows && !(l > 0.0f);
    float inv = 1.0f / l;
    const float *o = acc.data() + i * p.Dv;
    float *dst = out + i * p.oss;
    for (int64_t d = 0; d < p.Dv; ++d)
      dst[d * p.osd] = zero ? 0.0f : o[d] * inv;
  }
}

void runTiles(void *ctx, int64_t begin, int64_t end) {
  const Problem &p = *static_cast<const Problem *>(ctx);
  for (int64_t t = begin; t < end; ++t)
    runTile(p, t);
}

} // namespace

extern "C" void kiln_cpu_attention(
    int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv,
    const float *q, int64_t qsb, int64_t qsh, int64_t qss, int64_t qsd, const float *k,
    int64_t ksb, int64_t ksh, int64_t kss, int64_t ksd, const float *v, int64_t vsb,
    int64_t vsh, int64_t vss, int64_t vsd, const float *mask, int64_t msb, int64_t msh,
    int64_t msq, int64_t msk, float *out, int64_t osb, int64_t osh, int64_t oss, int64_t osd,
    float scale, int64_t causalOffset, int64_t flags) {
  if (B <= 0 || H <= 0 || Sq <= 0 || Dv <= 0)
    return;
  if (Hkv <= 0 || H % Hkv != 0)
    Hkv = H; // not a grouping the compiler emits; read one key head per head
  kiln_cpu_profile::Scope profile(
      "attention",
      std::to_string(B) + "x" + std::to_string(H) + "x" + std::to_string(Sq) + "x" +
          std::to_string(Sk) + "x" + std::to_string(D) + " (b x heads x q x kv x d)",
      2.0 * B * H * Sq * Sk * (D + Dv));
  Problem p{B,   H,   Hkv, Sq,   Sk,  D,   Dv,   q,    qsb,          qsh,
            qss, qsd, k,   ksb,  ksh, kss, ksd,  v,    vsb,          vsh,
            vss, vsd, mask, msb, msh, msq, msk,  out,  osb,          osh,
            oss, osd, scale, causalOffset, (flags & KILN_ATTENTION_CAUSAL) != 0,
            (flags & KILN_ATTENTION_ZERO_NAN_ROWS) != 0, 0, 0};
  if (Sk <= 0) {
    // No keys: the product with an empty V is 0.
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < Sq; ++i)
          for (int64_t d = 0; d < Dv; ++d)
            out[b * osb + h * osh + i * oss + d * osd] = 0.0f;
    return;
  }
  // Query tiles: a few microkernel panels tall, smaller when the heads
  // alone do not give every thread a few tasks.
  int threads = std::max(1, kiln_get_num_threads());
  int64_t mr = kiln_cpu::sgemmRows();
  int64_t rowsPerTile = 4 * mr;
  while (rowsPerTile > mr && B * H * ((Sq + rowsPerTile - 1) / rowsPerTile) < 4 * threads)
    rowsPerTile -= mr;
  p.rowsPerTile = std::min(rowsPerTile, Sq);
  p.tilesPerHead = (Sq + p.rowsPerTile - 1) / p.rowsPerTile;
  // K and V packed once per call (every query tile of a head reads them).
  p.kPackStride = kiln_cpu::packedSize(D, Sk);
  p.vBlockStride = kiln_cpu::packedSize(kBlockKeys, Dv);
  p.vPackStride = p.vBlockStride * ((Sk + kBlockKeys - 1) / kBlockKeys);
  std::unique_ptr<float[]> packed(new float[B * Hkv * (p.kPackStride + p.vPackStride)]);
  p.kPacked = packed.get();
  p.vPacked = p.kPacked + B * Hkv * p.kPackStride;
  kiln_parallel_for(B * Hkv, packHeads, &p);
  kiln_parallel_for(B * H * p.tilesPerHead, runTiles, &p);
}
