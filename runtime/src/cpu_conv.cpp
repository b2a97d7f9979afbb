//===- cpu_conv.cpp - f32 2-D convolution as an implicit GEMM -------------===//
//
// kiln_cpu_conv2d: out[n][f][oh][ow] += sum over c, kh, kw of
// in[n][c][oh*SH - PT + kh*DH][ow*SW - PL + kw*DW] * w[f][c][kh][kw], zero
// outside the input. The product is the GEMM C[f][p] += A[f][k] * B[k][p]
// with k = (c, kh, kw) and p = (oh, ow), but B (the im2col matrix) is
// never stored: each panel of NR output positions over KC values of k is
// gathered from the input straight into the microkernel's panel layout,
// used at once by every row panel of A while it is in L1, and dropped.
// Padding is read as zeros by the gather, so the input is not padded
// first. A is the filter, packed by the compiler into the microkernel's
// row panels (or packed here per block when it is not a constant).
//
// The bias, a residual and a clamp (ReLU, ReLU6, Clip) are applied as the
// last slice of K is stored, so the output is written once.
//
// Work is split into blocks of (image, rows of F, columns of OH*OW) on the
// runtime's thread pool, as for kiln_cpu_sgemm.
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"
#include "cpu_gemm.h"
#include "cpu_profile.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KILN_CONV_X86 1
#endif

namespace {

struct Conv {
  int64_t N, C, H, W, F, KH, KW, OH, OW, SH, SW, DH, DW, PT, PL;
  const float *in;
  int64_t isn, isc, ish, isw;
  const float *w;
  int64_t wsf;
  float *out;
  int64_t osn, osf, osh, osw;
  int64_t K, P;          // C*KH*KW, OH*OW
  int64_t kc, mc, nc;    // cache blocks
  int64_t mBlocks, nBlocks;
  bool aPacked;          // w is in the microkernel's row panels over all of K
  bool outPlane;         // out's (oh, ow) plane is contiguous
  bool flat;             // 1x1, stride 1, no pads, a contiguous input plane
  // The epilogue: out = clamp((accumulate ? out : 0) + conv + bias[f] +
  // res[n][f][oh][ow], lo, hi), each part when present.
  bool accumulate, clamp, resPlane;
  const float *bias;
  int64_t bs;
  const float *res;
  int64_t rsn, rsf, rsh, rsw;
  float lo, hi;
  // Per k = (c, kh, kw): the input offset of the channel, and the window
  // offsets kh*DH, kw*DW; the filter offset of (c, kh, kw) when unpacked.
  std::vector<int64_t> kChannel, kFilter;
  std::vector<int32_t> kRow, kCol;
};

/// One run of consecutive output positions of a panel within one output
/// row: panel columns [j, j + len) are (oh, ow0 .. ow0 + len - 1).
struct Segment {
  int j, len;
  int64_t oh, ow0;
};

/// The panel columns j in [0, len) whose input column iw0 + j*sw is in
/// [0, W): [lo, hi), empty when hi <= lo.
inline void validColumns(int64_t iw0, int64_t sw, int64_t W, int len, int &lo, int &hi) {
  lo = iw0 >= 0 ? 0 : (int)std::min<int64_t>(len, (-iw0 + sw - 1) / sw);
  hi = iw0 >= W ? 0 : (int)std::min<int64_t>(len, (W - iw0 + sw - 1) / sw);
}

/// Where segment `seg` reads for the tap at window offsets (kr, kcol) of a
/// channel: its input row, the input column of its first position, and
/// its columns inside the input [a, b); false when none is.
inline bool segmentSpan(const Conv &p, const float *channel, const Segment &seg, int32_t kr,
                        int32_t kcol, const float *&row, int64_t &iw0, int &a, int &b) {
  int64_t ih = seg.oh * p.SH - p.PT + kr;
  if (ih < 0 || ih >= p.H)
    return false;
  iw0 = seg.ow0 * p.SW - p.PL + kcol;
  validColumns(iw0, p.SW, p.W, seg.len, a, b);
  row = channel + ih * p.ish;
  return b > a;
}

#ifdef KILN_CONV_X86
/// One panel row with AVX-512: each segment is a masked load (stride 1),
/// two pairs of masked loads and permutes (stride 2) or a masked gather
/// (other strides) into the lanes of its columns; lanes of
/// no segment and positions outside the input stay zero. Masked-off lanes
/// are never read, so the loads may start before or end after the row.
__attribute__((target("avx512f,bmi2"))) void packRowAvx512(const Conv &p, const float *channel,
                                                       const Segment *segs, int count,
                                                       int32_t kr, int32_t kcol, int width,
                                                       float *out) {
  __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int64_t step = p.SW * p.isw;
  bool contiguous = step == 1;
  bool gatherable = step > 0 && step * 32 < (int64_t(1) << 30);
  for (int s = 0; s < count; ++s) {
    const Segment &seg = segs[s];
    const float *row;
    int64_t iw0;
    int a, b;
    if (!segmentSpan(p, channel, seg, kr, kcol, row, iw0, a, b))
      continue;
    uint32_t mask = (uint32_t)((((uint64_t)1 << b) - 1) & ~(((uint64_t)1 << a) - 1)) << seg.j;
    // Lane j reads base[j * step]: base is where lane 0 would read.
    intptr_t base = (intptr_t)(row + iw0 * p.isw) - (intptr_t)seg.j * step * 4;
    if (contiguous) {
      lo = _mm512_mask_loadu_ps(lo, (__mmask16)mask, (const void *)base);
      hi = _mm512_mask_loadu_ps(hi, (__mmask16)(mask >> 16), (const void *)(base + 64));
    } else if (step == 2) {
      // Stride 2: lanes 0-15 are the even elements of base[0:32), lanes
      // 16-31 of base[32:64); each pair of masked loads keeps only the
      // elements of this segment's lanes, and one permute takes the even
      // ones.
      const __m512i even =
          _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
      uint64_t source = _pdep_u64(mask, 0x5555555555555555ull); // lane j: bit 2j
      const float *f = (const float *)base;
      if (mask & 0xFFFF) {
        __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps((__mmask16)source, f), even,
                                          _mm512_maskz_loadu_ps((__mmask16)(source >> 16), f + 16));
        lo = _mm512_mask_mov_ps(lo, (__mmask16)mask, v);
      }
      if (mask >> 16) {
        __m512 v = _mm512_permutex2var_ps(
            _mm512_maskz_loadu_ps((__mmask16)(source >> 32), f + 32), even,
            _mm512_maskz_loadu_ps((__mmask16)(source >> 48), f + 48));
        hi = _mm512_mask_mov_ps(hi, (__mmask16)(mask >> 16), v);
      }
    } else if (gatherable) {
      __m512i idx = _mm512_mullo_epi32(lanes, _mm512_set1_epi32((int32_t)step));
      lo = _mm512_mask_i32gather_ps(lo, (__mmask16)mask, idx, (const void *)base, 4);
      __m512i idx16 = _mm512_add_epi32(idx, _mm512_set1_epi32((int32_t)(16 * step)));
      hi = _mm512_mask_i32gather_ps(hi, (__mmask16)(mask >> 16), idx16, (const void *)base, 4);
    } else {
      alignas(64) float tmp[32];
      _mm512_store_ps(tmp, lo);
      _mm512_store_ps(tmp + 16, hi);
      for (int j = a; j < b; ++j)
        tmp[seg.j + j] = row[(iw0 + (int64_t)j * p.SW) * p.isw];
      lo = _mm512_load_ps(tmp);
      hi = _mm512_load_ps(tmp + 16);
    }
  }
  if (width == 32) {
    _mm512_storeu_ps(out, lo);
    _mm512_storeu_ps(out + 16, hi);
    return;
  }
  uint32_t all = (uint32_t)(((uint64_t)1 << width) - 1);
  _mm512_mask_storeu_ps(out, (__mmask16)all, lo);
  _mm512_mask_storeu_ps(out + 16, (__mmask16)(all >> 16), hi);
}
#endif

/// B[k0 : k0+kc][p0 : p0+cols] of image `img`, gathered from the input as
/// one panel: kc rows of `nr` <= 32 floats (zero past `cols` and outside
/// the input).
void packPanel(const Conv &p, const float *img, int64_t k0, int64_t kc, int64_t p0, int cols,
               int nr, bool avx512, float *out) {
  if (p.flat) {
    // A 1x1, stride-1, unpadded window over a contiguous plane: position p
    // is input element p of each channel.
    for (int64_t k = k0; k < k0 + kc; ++k, out += nr) {
      std::memcpy(out, img + p.kChannel[k] + p0, sizeof(float) * cols);
      std::memset(out + cols, 0, sizeof(float) * (nr - cols));
    }
    return;
  }
  Segment segs[64];
  int count = 0;
  for (int j = 0; j < cols;) {
    int64_t pos = p0 + j, oh = pos / p.OW, ow = pos % p.OW;
    int len = (int)std::min<int64_t>(cols - j, p.OW - ow);
    segs[count++] = Segment{j, len, oh, ow};
    j += len;
  }
  for (int64_t k = k0; k < k0 + kc; ++k, out += nr) {
    const float *channel = img + p.kChannel[k];
    int32_t kr = p.kRow[k], kcol = p.kCol[k];
#ifdef KILN_CONV_X86
    if (avx512) {
      packRowAvx512(p, channel, segs, count, kr, kcol, nr, out);
      continue;
    }
#endif
    std::memset(out, 0, sizeof(float) * nr);
    for (int s = 0; s < count; ++s) {
      const Segment &seg = segs[s];
      const float *row;
      int64_t iw0;
      int lo, hi;
      if (!segmentSpan(p, channel, seg, kr, kcol, row, iw0, lo, hi))
        continue;
      for (int j = lo; j < hi; ++j)
        out[seg.j + j] = row[(iw0 + (int64_t)j * p.SW) * p.isw];
    }
  }
}

/// A[m0 : m0+rows][k0 : k0+kc] of an unpacked filter as row panels.
void packFilter(const Conv &p, int64_t m0, int64_t rows, int64_t k0, int64_t kc, int mr,
                float *out) {
  for (int64_t r0 = 0; r0 < rows; r0 += mr) {
    int64_t n = std::min<int64_t>(mr, rows - r0);
    for (int64_t k = k0; k < k0 + kc; ++k, out += mr) {
      const float *src = p.w + (m0 + r0) * p.wsf + p.kFilter[k];
      int64_t r = 0;
      for (; r < n; ++r)
        out[r] = src[r * p.wsf];
      for (; r < mr; ++r)
        out[r] = 0.0f;
    }
  }
}

std::vector<float> &scratch(int which) {
  thread_local std::vector<float> buffers[2];
  return buffers[which];
}

void runBlock(const Conv &p, int64_t block) {
  const kiln_cpu::Microkernel &mk = kiln_cpu::microkernel();
  int64_t perImage = p.mBlocks * p.nBlocks;
  int64_t img = block / perImage, rest = block % perImage;
  int64_t m0 = (rest / p.nBlocks) * p.mc, n0 = (rest % p.nBlocks) * p.nc;
  int64_t rows = std::min(p.mc, p.F - m0), cols = std::min(p.nc, p.P - n0);
  int64_t rowPanels = (rows + mk.mr - 1) / mk.mr;
  std::vector<float> &ap = scratch(0), &bp = scratch(1);
  if (!p.aPacked)
    ap.resize(rowPanels * mk.mr * std::min(p.kc, p.K));
  bp.resize(mk.nr * std::min(p.kc, p.K));
  const float *image = p.in + img * p.isn;
  float *C = p.out + img * p.osn + m0 * p.osf;
  float tile[12 * 32];
  for (int64_t k0 = 0; k0 < p.K; k0 += p.kc) {
    int64_t kc = std::min(p.kc, p.K - k0);
    if (!p.aPacked)
      packFilter(p, m0, rows, k0, kc, mk.mr, ap.data());
    for (int64_t j0 = 0, jp = 0; j0 < cols; j0 += mk.nr, ++jp) {
      int nc = (int)std::min<int64_t>(mk.nr, cols - j0);
      packPanel(p, image, k0, kc, n0 + j0, nc, mk.nr, mk.avx512, bp.data());
      for (int64_t ip = 0; ip < rowPanels; ++ip) {
        int mr = (int)std::min<int64_t>(mk.mr, rows - ip * mk.mr);
        const float *apanel = p.aPacked ? p.w + ((m0 / mk.mr) + ip) * p.K * mk.mr + k0 * mk.mr
                                        : ap.data() + ip * mk.mr * kc;
        float *c = C + ip * mk.mr * p.osf;
#ifdef KILN_CONV_X86
        // The next filter panel of this slice is kc x MR floats a whole
        // panel (K x MR) away: asked for now, while this one computes, so
        // that a filter streaming from memory overlaps the arithmetic.
        if (p.aPacked && jp == 0 && ip + 1 < rowPanels) {
          const char *next = (const char *)(apanel + p.K * mk.mr);
          for (int64_t off = 0; off < kc * mk.mr * 4; off += 64)
            _mm_prefetch(next + off, _MM_HINT_T1);
        }
#endif
        // The epilogue comes with the last slice of K; the first slice
        // stores rather than adds unless the output holds a start value.
        kiln_cpu::TileEpilogue e;
        e.load = k0 > 0 || p.accumulate;
        bool last = k0 + kc == p.K;
        int64_t f = m0 + ip * mk.mr;
        if (last) {
          e.bias = p.bias ? p.bias + f * p.bs : nullptr;
          e.clamp = p.clamp, e.lo = p.lo, e.hi = p.hi;
        }
        bool residual = last && p.res;
        bool plain = e.load && !e.bias && !residual && !e.clamp;
        if (p.outPlane && (!residual || p.resPlane) && (!e.bias || p.bs == 1)) {
          if (residual) {
            e.res = p.res + img * p.rsn + f * p.rsf + (n0 + j0);
            e.ldr = p.rsf;
          }
          mk.fn(kc, apanel, bp.data(), c + (n0 + j0) * p.osw, p.osf, mr, nc,
                plain ? nullptr : &e);
          continue;
        }
        // An output (or residual) whose (oh, ow) plane is not one stride:
        // the tile goes through a local buffer.
        std::fill(tile, tile + mr * mk.nr, 0.0f);
        mk.fn(kc, apanel, bp.data(), tile, mk.nr, mr, nc, nullptr);
        for (int j = 0; j < nc; ++j) {
          int64_t pos = n0 + j0 + j, oh = pos / p.OW, ow = pos % p.OW;
          float *o = c + oh * p.osh + ow * p.osw;
          for (int r = 0; r < mr; ++r) {
            float v = tile[r * mk.nr + j] + (e.load ? o[r * p.osf] : 0.0f);
            if (e.bias)
              v += e.bias[r * p.bs];
            if (residual)
              v += p.res[img * p.rsn + (f + r) * p.rsf + oh * p.rsh + ow * p.rsw];
            if (e.clamp) {
              v = v < e.lo ? e.lo : v; // NaN stays NaN
              v = v > e.hi ? e.hi : v;
            }
            o[r * p.osf] = v;
          }
        }
      }
    }
  }
}

void runBlocks(void *ctx, int64_t begin, int64_t end) {
  const Conv &p = *static_cast<const Conv *>(ctx);
  for (int64_t block = begin; block < end; ++block)
    runBlock(p, block);
}

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

} // namespace



extern "C" void kiln_cpu_conv2d(int64_t N, int64_t C, int64_t H, int64_t W, int64_t F,
                                int64_t KH, int64_t KW, int64_t OH, int64_t OW, int64_t SH,
                                int64_t SW, int64_t DH, int64_t DW, int64_t PT, int64_t PL,
                                const float *in, int64_t isn, int64_t isc, int64_t ish,
                                int64_t isw, const float *w, int64_t wsf, int64_t wsc,
                                int64_t wsh, int64_t wsw, float *out, int64_t osn,
                                int64_t osf, int64_t osh, int64_t osw, int64_t aPanel,
                                const float *bias, int64_t bs, const float *res, int64_t rsn,
                                int64_t rsf, int64_t rsh, int64_t rsw, float lo, float hi,
                                int64_t flags) {
  if (N <= 0 || C <= 0 || F <= 0 || KH <= 0 || KW <= 0 || OH <= 0 || OW <= 0)
    return;
  kiln_cpu_profile::Scope profile(
      "conv",
      kiln_cpu_profile::enabled()
          ? std::to_string(N) + "x" + std::to_string(C) + "x" + std::to_string(H) + "x" +
                std::to_string(W) + " -> " + std::to_string(F) + " k" + std::to_string(KH) +
                "x" + std::to_string(KW) + " s" + std::to_string(SH)
          : std::string(),
      2.0 * N * F * OH * OW * C * KH * KW);
  const kiln_cpu::Microkernel &mk = kiln_cpu::microkernel();
  Conv p{};
  p.N = N, p.C = C, p.H = H, p.W = W, p.F = F, p.KH = KH, p.KW = KW, p.OH = OH, p.OW = OW;
  p.SH = SH, p.SW = SW, p.DH = DH, p.DW = DW, p.PT = PT, p.PL = PL;
  p.in = in, p.isn = isn, p.isc = isc, p.ish = ish, p.isw = isw;
  p.out = out, p.osn = osn, p.osf = osf, p.osh = osh, p.osw = osw;
  p.K = C * KH * KW, p.P = OH * OW;
  p.outPlane = osw == 1 && osh == OW;
  p.flat = KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && H == OH &&
           W == OW && isw == 1 && ish == W;
  p.accumulate = flags & KILN_CONV_ACCUMULATE;
  p.clamp = flags & KILN_CONV_CLAMP;
  p.lo = lo, p.hi = hi;
  p.bias = bias, p.bs = bs;
  p.res = res, p.rsn = rsn, p.rsf = rsf, p.rsh = rsh, p.rsw = rsw;
  p.resPlane = rsw == 1 && rsh == OW;
  p.kChannel.resize(p.K), p.kFilter.resize(p.K), p.kRow.resize(p.K), p.kCol.resize(p.K);
  for (int64_t c = 0, k = 0; c < C; ++c)
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw, ++k) {
        p.kChannel[k] = c * isc;
        p.kFilter[k] = c * wsc + kh * wsh + kw * wsw;
        p.kRow[k] = (int32_t)(kh * DH);
        p.kCol[k] = (int32_t)(kw * DW);
      }
  // The filter: in this CPU's row panels as the compiler packed it, or
  // strided (packed per block); panels of another width are unpacked.
  std::vector<float> unpacked;
  p.w = w, p.wsf = wsf;
  if (aPanel == mk.mr) {
    p.aPacked = true;
  } else if (aPanel > 0) {
    unpacked.resize(F * p.K);
    for (int64_t f = 0; f < F; ++f)
      for (int64_t k = 0; k < p.K; ++k)
        unpacked[f * p.K + k] = w[(f / aPanel) * p.K * aPanel + k * aPanel + f % aPanel];
    p.w = unpacked.data(), p.wsf = p.K;
    for (int64_t k = 0; k < p.K; ++k)
      p.kFilter[k] = k;
  }
  // Blocks: up to 512 filters against runs of up to 1024 output positions,
  // split until every thread has one. Each block gathers its own panels of
  // the input and reads its own rows of the filter, so more blocks than
  // threads would only gather (rows split) or stream the filter (columns
  // split) more than once.
  p.kc = std::min<int64_t>(p.K, 256);
  int threads = std::max(1, kiln_get_num_threads());
  int64_t mB = (F + 511) / 512, nB = (p.P + 1023) / 1024;
  while (N * mB * nB < threads) {
    bool nSplits = p.P / (nB + 1) >= mk.nr, mSplits = F / (mB + 1) >= mk.mr;
    if (nSplits && (!mSplits || p.P / nB >= F / mB))
      ++nB;
    else if (mSplits)
      ++mB;
    else
      break;
  }
  p.mc = roundUp((F + mB - 1) / mB, mk.mr);
  p.nc = roundUp((p.P + nB - 1) / nB, mk.nr);
  p.mBlocks = (F + p.mc - 1) / p.mc;
  p.nBlocks = (p.P + p.nc - 1) / p.nc;
  kiln_parallel_for(N * p.mBlocks * p.nBlocks, runBlocks, &p);
}
