//===- cpu_depthwise.cpp - depthwise 2-D convolution for CPU models -------===//
//
// kiln_cpu_depthwise_conv2d: one filter per channel, over an input the
// graph has already padded. Each (image, channel) plane is one task on the
// runtime's thread pool; a plane's output row accumulates its KH x KW
// shifted input rows, each a scaled vector add along the row. The row
// loops are compiled for AVX-512, AVX2 and baseline x86-64 and chosen
// when the library loads, so any x86-64 CPU runs the best it has.
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"
#include "cpu_profile.h"

#include <cstdint>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
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
};

/// One (image, channel) plane. Each output row accumulates in `row` (in
/// cache, contiguous) over the KH x KW window taps, each a scaled add of
/// an input row; the loops live in one function so that the row loop
/// vectorizes without a call per tap.
KILN_ROW_CLONES void plane(const Depthwise &p, int64_t n, int64_t c, float *__restrict row) {
  const float *in = p.in + n * p.isn + c * p.isc;
  const float *w = p.w + c * p.wsc;
  float *out = p.out + n * p.osn + c * p.osc;
  int64_t step = p.SW * p.isw, OW = p.OW;
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    float *o = out + oh * p.osh;
    for (int64_t j = 0; j < OW; ++j)
      row[j] = o[j * p.osw];
    for (int64_t kh = 0; kh < p.KH; ++kh) {
      const float *src = in + (oh * p.SH + kh * p.DH) * p.ish;
      for (int64_t kw = 0; kw < p.KW; ++kw) {
        float wv = w[kh * p.wsh + kw * p.wsw];
        const float *__restrict s = src + kw * p.DW * p.isw;
        if (step == 1)
          for (int64_t j = 0; j < OW; ++j)
            row[j] += wv * s[j];
        else if (step == 2)
          for (int64_t j = 0; j < OW; ++j)
            row[j] += wv * s[2 * j];
        else
          for (int64_t j = 0; j < OW; ++j)
            row[j] += wv * s[j * step];
      }
    }
    for (int64_t j = 0; j < OW; ++j)
      o[j * p.osw] = row[j];
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/// The AVX-512 plane: rows in 16-wide vectors with a masked tail (the
/// short rows of late layers, 7 or 14 wide, would otherwise run scalar),
/// stride 2 read as two vectors whose even lanes are gathered by one
/// permute.
__attribute__((target("avx512f"))) void planeAvx512(const Depthwise &p, int64_t n, int64_t c,
                                                      float *__restrict row) {
  const float *in = p.in + n * p.isn + c * p.isc;
  const float *w = p.w + c * p.wsc;
  float *out = p.out + n * p.osn + c * p.osc;
  int64_t OW = p.OW;
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    float *o = out + oh * p.osh;
    for (int64_t j0 = 0; j0 < OW; j0 += 16) {
      int64_t left = OW - j0;
      __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
      __m512 acc = _mm512_maskz_loadu_ps(m, o + j0);
      for (int64_t kh = 0; kh < p.KH; ++kh) {
        const float *src = in + (oh * p.SH + kh * p.DH) * p.ish;
        for (int64_t kw = 0; kw < p.KW; ++kw) {
          __m512 wv = _mm512_set1_ps(w[kh * p.wsh + kw * p.wsw]);
          const float *s = src + kw * p.DW + j0 * p.SW;
          __m512 x;
          if (p.SW == 1) {
            x = _mm512_maskz_loadu_ps(m, s);
          } else {
            // Lanes 2j of s[0:32), j < left; the first vector covers
            // j < 8. Only the elements read are loaded (masked), so no
            // read goes past the input's last row.
            __mmask16 lo = (__mmask16)(left >= 8 ? 0x7FFF : (1u << (2 * left - 1)) - 1);
            __mmask16 hi = left > 8 ? (__mmask16)(left >= 16 ? 0x7FFF
                                                             : (1u << (2 * (left - 8) - 1)) - 1)
                                    : (__mmask16)0;
            x = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lo, s), even,
                                       _mm512_maskz_loadu_ps(hi, s + 16));
          }
          acc = _mm512_fmadd_ps(wv, x, acc);
        }
      }
      _mm512_mask_storeu_ps(o + j0, m, acc);
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
  if (avx512 && p.osw == 1 && p.isw == 1 && (p.SW == 1 || p.SW == 2)) {
    for (int64_t index = begin; index < end; ++index)
      planeAvx512(p, index / p.C, index % p.C, row.data());
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
    int64_t osn, int64_t osc, int64_t osh, int64_t osw) {
  if (N <= 0 || C <= 0 || OH <= 0 || OW <= 0)
    return;
  Depthwise p{N,   C,   OH,  OW,  KH, KW,  SH,  SW,  DH,  DW,  in,  isn, isc,
              ish, isw, w,   wsc, wsh, wsw, out, osn, osc, osh, osw};
  kiln_cpu_profile::Scope profile(
      "depthwise", std::to_string(N * C) + "x" + std::to_string(OH) + "x" + std::to_string(OW) +
                       " k" + std::to_string(KH) + "x" + std::to_string(KW) + " s" +
                       std::to_string(SH),
      2.0 * N * C * OH * OW * KH * KW);
  kiln_parallel_for(N * C, planes, &p);
}
