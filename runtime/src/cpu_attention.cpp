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
// exists: memory is one Bc x Br tile per thread. Both products run on the
// packed GEMM's microkernel (cpu_gemm.h) with no packing in the loop: K
// (as the product's rows) and V are packed once per head, the query tile
// once per tile, and the scores are computed transposed (S^T = K Q^T), so
// the softmax runs along the tile's rows with one vector lane per query
// (AVX-512, AVX2 or plain C++, chosen from the CPU when it runs) and
// P^T is already the layout the second product reads. Tiles of (batch,
// head, query rows) are the thread pool's tasks.
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

/// The online-softmax step over one block of transposed scores: `sT` has
/// `keys` rows of `lanes` queries (row stride `ld`, a multiple of W).
/// Entries become sT * scale + mask (keys a causal query does not see:
/// -inf), then P = exp(x - m') with m' each query's new running maximum;
/// `m`, `l` move on and `alpha` receives each query's factor for its
/// earlier output. Query lanes past `lanes` are computed but never read.
struct BlockArgs {
  float *sT;
  int64_t ld, keys, lanes;
  float scale;
  const float *mask; // at (first query, first key) or null
  int64_t msq, msk;
  bool causal;
  int64_t lastVisible0; // causal: query 0's last visible key, relative to the block
  float *m, *l, *alpha;
};

template <int W> inline __attribute__((always_inline)) void softmaxBlock(const BlockArgs &a) {
  const FloatV<W> ninf = splat<W>(kNegInf);
  for (int64_t c = 0; c < a.lanes; c += W) {
    int64_t n = std::min<int64_t>(W, a.lanes - c);
    FloatV<W> vmax = ninf;
    FloatV<W> lane;
    for (int i = 0; i < W; ++i)
      lane[i] = (float)(c + i);
    for (int64_t j = 0; j < a.keys; ++j) {
      float *row = a.sT + j * a.ld + c;
      FloatV<W> x;
      std::memcpy(&x, row, sizeof(x));
      x = x * splat<W>(a.scale);
      if (a.mask) {
        const float *mrow = a.mask + j * a.msk + c * a.msq;
        FloatV<W> mv;
        if (a.msq == 0) {
          mv = splat<W>(mrow[0]);
        } else if (a.msq == 1 && n == W) {
          std::memcpy(&mv, mrow, sizeof(mv));
        } else {
          for (int i = 0; i < W; ++i)
            mv[i] = i < n ? mrow[i * a.msq] : 0.0f;
        }
        x = x + mv;
      }
      if (a.causal) {
        // Query c + i sees key j iff j <= lastVisible0 + c + i.
        IntV<W> hidden = splat<W>((float)(j - a.lastVisible0)) > lane;
        x = hidden ? ninf : x;
      }
      std::memcpy(row, &x, sizeof(x));
      IntV<W> bigger = x > vmax;
      vmax = bigger ? x : vmax;
    }
    FloatV<W> mOld, lOld;
    std::memcpy(&mOld, a.m + c, sizeof(mOld));
    std::memcpy(&lOld, a.l + c, sizeof(lOld));
    FloatV<W> mNew = mOld > vmax ? mOld : vmax;
    IntV<W> dead = mNew == ninf; // every key so far masked
    FloatV<W> shift = dead ? splat<W>(0.0f) : mNew;
    FloatV<W> alpha = expNonPositive<W>(mOld - shift);
    alpha = dead ? splat<W>(1.0f) : alpha;
    FloatV<W> sum = splat<W>(0.0f);
    for (int64_t j = 0; j < a.keys; ++j) {
      float *row = a.sT + j * a.ld + c;
      FloatV<W> x;
      std::memcpy(&x, row, sizeof(x));
      FloatV<W> p = expNonPositive<W>(x - shift); // exp(-inf) = 0 on dead lanes
      sum += p;
      std::memcpy(row, &p, sizeof(p));
    }
    FloatV<W> lNew = lOld * alpha + sum;
    std::memcpy(a.m + c, &mNew, sizeof(mNew));
    std::memcpy(a.l + c, &lNew, sizeof(lNew));
    std::memcpy(a.alpha + c, &alpha, sizeof(alpha));
  }
}

using BlockFn = void (*)(const BlockArgs &);

void blockPortable(const BlockArgs &a) { softmaxBlock<4>(a); }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma"))) void blockAvx2(const BlockArgs &a) { softmaxBlock<8>(a); }
__attribute__((target("avx512f,avx512dq"))) void blockAvx512(const BlockArgs &a) {
  softmaxBlock<16>(a);
}
#endif

/// The vector width for this CPU (KILN_CPU_GEMM_ISA=avx2|portable asks
/// for a smaller one, as for the GEMM).
BlockFn blockKernel() {
  static const BlockFn fn = [] {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    std::string cap = std::getenv("KILN_CPU_GEMM_ISA") ? std::getenv("KILN_CPU_GEMM_ISA") : "";
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        cap != "avx2" && cap != "portable")
      return (BlockFn)blockAvx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cap != "portable")
      return (BlockFn)blockAvx2;
#endif
    return (BlockFn)blockPortable;
  }();
  return fn;
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
  /// Keys per block (a multiple of the microkernel's rows).
  int64_t blockKeys;
  // K and V of each key/value head packed once for the microkernel: K as
  // row panels over D for all keys (head stride kPackStride), V as one
  // column-panel set per key block (block stride vBlockStride, head stride
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
    kiln_cpu::packRows(p.Sk, p.D, k, p.kss, p.ksd, p.kPacked + t * p.kPackStride);
    for (int64_t j0 = 0, blk = 0; j0 < p.Sk; j0 += p.blockKeys, ++blk)
      kiln_cpu::packColumns(std::min(p.blockKeys, p.Sk - j0), p.Dv, v + j0 * p.vss, p.vss, p.vsd,
                            p.vPacked + t * p.vPackStride + blk * p.vBlockStride);
  }
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
  thread_local std::vector<float> scoresT, qT, acc, rowMax, rowSum, alpha;
  int64_t ld = (rows + 15) / 16 * 16; // query lanes, a multiple of every vector width
  scoresT.resize(p.blockKeys * ld);
  qT.resize(kiln_cpu::packedSize(p.D, rows));
  acc.assign(rows * p.Dv, 0.0f);
  rowMax.assign(ld, kNegInf);
  rowSum.assign(ld, 0.0f);
  alpha.resize(ld);
  // B[d][i] = Q[i][d], packed once for every key block.
  kiln_cpu::packColumns(p.D, rows, q, p.qsd, p.qss, qT.data());
  BlockFn softmax = blockKernel();
  // Keys a causal tile can see: up to its last row's limit.
  int64_t keys = p.Sk;
  if (p.causal)
    keys = std::clamp<int64_t>(r0 + rows - 1 + p.causalOffset + 1, 0, p.Sk);
  for (int64_t j0 = 0; j0 < keys; j0 += p.blockKeys) {
    // Whole key blocks (K and V are packed by block); keys a causal row
    // does not see weigh 0.
    int64_t cols = std::min(p.blockKeys, p.Sk - j0);
    std::fill(scoresT.begin(), scoresT.begin() + cols * ld, 0.0f);
    // S^T = K_block Q^T, both operands packed.
    kiln_cpu::sgemmSerial(cols, rows, p.D, kPanels + j0 * p.D, 0, 0, qT.data(), 0, 0,
                          scoresT.data(), ld, /*b_packed=*/true, /*a_packed=*/true);
    BlockArgs args{scoresT.data(), ld, cols, rows, p.scale,
                   mask ? mask + j0 * p.msk : nullptr, p.msq, p.msk, p.causal,
                   r0 + p.causalOffset - j0, rowMax.data(), rowSum.data(), alpha.data()};
    softmax(args);
    for (int64_t i = 0; i < rows; ++i)
      if (alpha[i] != 1.0f) {
        float *o = acc.data() + i * p.Dv;
        for (int64_t d = 0; d < p.Dv; ++d)
          o[d] *= alpha[i];
      }
    // O += P V_block, P[i][j] = P^T[j][i].
    kiln_cpu::sgemmSerial(rows, p.Dv, cols, scoresT.data(), 1, ld,
                          vBlocks + (j0 / p.blockKeys) * p.vBlockStride, 0, 0, acc.data(), p.Dv,
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
            (flags & KILN_ATTENTION_ZERO_NAN_ROWS) != 0, 0, 0, 0};
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
  int64_t rowsPerTile = 8 * mr;
  while (rowsPerTile > mr && B * H * ((Sq + rowsPerTile - 1) / rowsPerTile) < 4 * threads)
    rowsPerTile -= mr;
  // Tiles of equal size (128 rows: two of 64, not 96 + 32).
  int64_t tiles = (Sq + rowsPerTile - 1) / rowsPerTile;
  p.rowsPerTile = std::min(((Sq + tiles - 1) / tiles + mr - 1) / mr * mr, Sq);
  p.tilesPerHead = (Sq + p.rowsPerTile - 1) / p.rowsPerTile;
  // Key blocks of about 128 keys, whole microkernel panels
  // (balanced: 128 keys are one block of 132, not 120 + 8).
  int64_t blocks = (Sk + 127) / 128;
  p.blockKeys = ((Sk + blocks - 1) / blocks + mr - 1) / mr * mr;
  // K and V packed once per call (every query tile of a head reads them).
  p.kPackStride = kiln_cpu::packedRowsSize(Sk, D);
  p.vBlockStride = kiln_cpu::packedSize(p.blockKeys, Dv);
  p.vPackStride = p.vBlockStride * ((Sk + p.blockKeys - 1) / p.blockKeys);
  std::unique_ptr<float[]> packed(new float[B * Hkv * (p.kPackStride + p.vPackStride)]);
  p.kPacked = packed.get();
  p.vPacked = p.kPacked + B * Hkv * p.kPackStride;
  kiln_parallel_for(B * Hkv, packHeads, &p);
  kiln_parallel_for(B * H * p.tilesPerHead, runTiles, &p);
}
