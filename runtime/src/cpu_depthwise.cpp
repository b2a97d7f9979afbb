//===- cpu_depthwise.cpp - depthwise 2-D convolution for CPU models -------===//
//
// kiln_cpu_depthwise_conv2d: one filter per channel; zero padding read in
// place (taps outside the input are skipped), and the bias, a residual and
// a clamp applied as the output is stored. Each (image, channel) plane is one task on the
// runtime's thread pool; a plane's output row accumulates its KH x KW
// shifted input rows, each a scaled vector add along the row. The row
// loops are compiled for AVX-512, AVX2 and baseline x86-64 and chosen
// when the library loads, so any x86-64 CPU runs the best it has.
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"
#include "cpu_profile.h"

#include <algorithm>
#include <cstdint>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
// GCC 12 reports the undefined first operand inside _mm512_max_ps and
// _mm512_min_ps as maybe uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&                       \
    defined(__has_attribute)
#if __has_attribute(target_clones)
#define KILN_ROW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef KILN_ROW_CLONES
#define KILN_ROW_CLONES
#endif

namespace {

struct Depthwise {
  int64_t N, C, OH, OW, KH, KW, SH, SW, DH, DW;
  const float *in;
  int64_t isn, isc, ish, isw;
  const float *w;
  int64_t wsc, wsh, wsw;
  float *out;
  int64_t osn, osc, osh, osw;
  // The input's extent and the top and left pads: taps outside read 0.
  int64_t H, W, PT, PL;
  // The epilogue: out = clamp((accumulate ? out : 0) + conv + bias[c] +
  // res[n][c][oh][ow], lo, hi), each part when present.
  const float *bias;
  int64_t bs;
  const float *res;
  int64_t rsn, rsc, rsh, rsw;
  float lo, hi;
  bool accumulate, clamp;
};

/// Output columns j in [0, len) whose input column iw0 + j*sw is in
/// [0, W): [lo, hi), empty when hi <= lo.
inline void validColumns(int64_t iw0, int64_t sw, int64_t W, int64_t len, int64_t &lo,
                         int64_t &hi) {
  lo = iw0 >= 0 ? 0 : std::min<int64_t>(len, (-iw0 + sw - 1) / sw);
  hi = iw0 >= W ? 0 : std::min<int64_t>(len, (W - iw0 + sw - 1) / sw);
}

inline float epilogue(const Depthwise &p, float v, const float *res) {
  if (res)
    v += *res;
  if (p.clamp) {
    v = v < p.lo ? p.lo : v; // NaN stays NaN
    v = v > p.hi ? p.hi : v;
  }
  return v;
}

/// One (image, channel) plane. Each output row accumulates in `row` (in
/// cache, contiguous) over the KH x KW window taps, each a scaled add of
/// the part of an input row inside the input; the loops live in one
/// function so that the row loop vectorizes without a call per tap.
KILN_ROW_CLONES void plane(const Depthwise &p, int64_t n, int64_t c, float *__restrict row) {
  const float *in = p.in + n * p.isn + c * p.isc;
  const float *w = p.w + c * p.wsc;
  float *out = p.out + n * p.osn + c * p.osc;
  const float *res = p.res ? p.res + n * p.rsn + c * p.rsc : nullptr;
  float start = p.bias ? p.bias[c * p.bs] : 0.0f;
  int64_t step = p.SW * p.isw, OW = p.OW;
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    float *o = out + oh * p.osh;
    for (int64_t j = 0; j < OW; ++j)
      row[j] = (p.accumulate ? o[j * p.osw] : 0.0f) + start;
    for (int64_t kh = 0; kh < p.KH; ++kh) {
      int64_t ih = oh * p.SH - p.PT + kh * p.DH;
      if (ih < 0 || ih >= p.H)
        continue;
      const float *src = in + ih * p.ish;
      for (int64_t kw = 0; kw < p.KW; ++kw) {
        float wv = w[kh * p.wsh + kw * p.wsw];
        int64_t iw0 = kw * p.DW - p.PL, a, b;
        validColumns(iw0, p.SW, p.W, OW, a, b);
        const float *__restrict s = src + iw0 * p.isw;
        if (step == 1)
          for (int64_t j = a; j < b; ++j)
            row[j] += wv * s[j];
        else
          for (int64_t j = a; j < b; ++j)
            row[j] += wv * s[j * step];
      }
    }
    for (int64_t j = 0; j < OW; ++j)
      o[j * p.osw] = epilogue(p, row[j], res ? res + oh * p.rsh + j * p.rsw : nullptr);
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/// The AVX-512 plane: rows in 16-wide vectors with a masked tail (the
/// short rows of late layers, 7 or 14 wide, would otherwise run scalar),
/// stride 2 read as two vectors whose even lanes are gathered by one
/// permute. Lanes whose tap falls outside the input are masked off: they
/// are neither read nor added (the pads are zeros).
__attribute__((target("avx512f"))) void planeAvx512(const Depthwise &p, int64_t n, int64_t c,
                                                      std::vector<uint32_t> &masks) {
  const float *in = p.in + n * p.isn + c * p.isc;
  const float *w = p.w + c * p.wsc;
  float *out = p.out + n * p.osn + c * p.osc;
  const float *res = p.res ? p.res + n * p.rsn + c * p.rsc : nullptr;
  __m512 start = _mm512_set1_ps(p.bias ? p.bias[c * p.bs] : 0.0f);
  __m512 lo = _mm512_set1_ps(p.lo), hi = _mm512_set1_ps(p.hi);
  int64_t OW = p.OW, vectors = (OW + 15) / 16;
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  // Which lanes of each 16-wide output vector each column tap kw reads
  // inside the input (and, for stride 2, which source elements): the same
  // for every row, so computed once per plane.
  masks.resize(vectors * p.KW * 2);
  for (int64_t v = 0; v < vectors; ++v)
    for (int64_t kw = 0; kw < p.KW; ++kw) {
      int64_t j0 = v * 16, left = std::min<int64_t>(OW - j0, 16), a, b;
      validColumns(j0 * p.SW + kw * p.DW - p.PL, p.SW, p.W, left, a, b);
      uint32_t lanes = b > a ? ((1u << b) - 1) & ~((1u << a) - 1) : 0, source = 0;
      for (int64_t j = a; j < b; ++j)
        source |= 1u << (2 * j); // element 2j of s[0:32), for stride 2
      masks[(v * p.KW + kw) * 2] = lanes;
      masks[(v * p.KW + kw) * 2 + 1] = source;
    }
  // A plain pointer: `masks` is thread-local, and each access through it
  // would look the thread's copy up again.
  const uint32_t *table = masks.data();
  // Up to 4 vectors of an output row at a time, each with its own
  // accumulator: a single vector's taps would be one chain of dependent
  // multiply-adds.
  constexpr int kChunk = 4;
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    float *o = out + oh * p.osh;
    for (int64_t v0 = 0; v0 < vectors; v0 += kChunk) {
      int nv = (int)std::min<int64_t>(kChunk, vectors - v0);
      __m512 acc[kChunk];
      __mmask16 m[kChunk];
#pragma GCC unroll 4
      for (int i = 0; i < kChunk; ++i) {
        int64_t j0 = (v0 + i) * 16;
        m[i] = i < nv ? (__mmask16)((1u << std::min<int64_t>(OW - j0, 16)) - 1) : 0;
        acc[i] = p.accumulate ? _mm512_add_ps(start, _mm512_maskz_loadu_ps(m[i], o + j0)) : start;
      }
      for (int64_t kh = 0; kh < p.KH; ++kh) {
        int64_t ih = oh * p.SH - p.PT + kh * p.DH;
        if (ih < 0 || ih >= p.H)
          continue;
        const float *src = in + ih * p.ish;
        for (int64_t kw = 0; kw < p.KW; ++kw) {
          __m512 wv = _mm512_set1_ps(w[kh * p.wsh + kw * p.wsw]);
          const uint32_t *mk = table + (v0 * p.KW + kw) * 2;
#pragma GCC unroll 4
          for (int i = 0; i < kChunk; ++i, mk += p.KW * 2) {
            if (i >= nv)
              break;
            // Lane j reads s[j * SW]; masked-off lanes are not read, so s
            // may point before the row.
            const float *s = (const float *)((intptr_t)src +
                                             ((v0 + i) * 16 * p.SW + kw * p.DW - p.PL) * 4);
            __m512 x;
            if (p.SW == 1)
              x = _mm512_maskz_loadu_ps((__mmask16)mk[0], s);
            else
              x = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps((__mmask16)mk[1], s), even,
                                         _mm512_maskz_loadu_ps((__mmask16)(mk[1] >> 16), s + 16));
            acc[i] = _mm512_fmadd_ps(wv, x, acc[i]);
          }
        }
      }
#pragma GCC unroll 4
      for (int i = 0; i < kChunk; ++i) {
        if (i >= nv)
          break;
        int64_t j0 = (v0 + i) * 16;
        __m512 v = acc[i];
        if (res)
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[i], res + oh * p.rsh + j0));
        if (p.clamp)
          v = _mm512_min_ps(hi, _mm512_max_ps(lo, v)); // NaN kept: value second
        _mm512_mask_storeu_ps(o + j0, m[i], v);
      }
    }
  }
}
#endif

void planes(void *ctx, int64_t begin, int64_t end) {
  const Depthwise &p = *static_cast<const Depthwise *>(ctx);
  thread_local std::vector<float> row;
  if ((int64_t)row.size() < p.OW)
    row.resize(p.OW);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // Unit-stride rows and columns out and in, stride 1 or 2 along the row.
  static const bool avx512 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
  }();
  if (avx512 && p.osw == 1 && p.isw == 1 && (p.SW == 1 || p.SW == 2) &&
      (!p.res || p.rsw == 1)) {
    thread_local std::vector<uint32_t> masks;
    for (int64_t index = begin; index < end; ++index)
      planeAvx512(p, index / p.C, index % p.C, masks);
    return;
  }
#endif
  for (int64_t index = begin; index < end; ++index)
    plane(p, index / p.C, index % p.C, row.data());
}

} // namespace

extern "C" void kiln_cpu_depthwise_conv2d(
    int64_t N, int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
    int64_t SW, int64_t DH, int64_t DW, const float *in, int64_t isn, int64_t isc, int64_t ish,
    int64_t isw, const float *w, int64_t wsc, int64_t wsh, int64_t wsw, float *out,
    int64_t osn, int64_t osc, int64_t osh, int64_t osw, int64_t H, int64_t W, int64_t PT,
    int64_t PL, const float *bias, int64_t bs, const float *res, int64_t rsn, int64_t rsc,
    int64_t rsh, int64_t rsw, float lo, float hi, int64_t flags) {
  if (N <= 0 || C <= 0 || OH <= 0 || OW <= 0)
    return;
  Depthwise p{N,   C,   OH,  OW,  KH,  KW,   SH,  SW,  DH,  DW,   in,  isn,   isc,
              ish, isw, w,   wsc, wsh, wsw,  out, osn, osc, osh,  osw, H,     W,
              PT,  PL,  bias, bs, res, rsn,  rsc, rsh, rsw, lo,   hi,
              (flags & KILN_CONV_ACCUMULATE) != 0, (flags & KILN_CONV_CLAMP) != 0};
  kiln_cpu_profile::Scope profile(
      "depthwise", std::to_string(N * C) + "x" + std::to_string(OH) + "x" + std::to_string(OW) +
                       " k" + std::to_string(KH) + "x" + std::to_string(KW) + " s" +
                       std::to_string(SH),
      2.0 * N * C * OH * OW * KH * KW);
  kiln_parallel_for(N * C, planes, &p);
}
