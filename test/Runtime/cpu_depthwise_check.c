/* kiln_cpu_depthwise_conv2d against a direct loop in double precision on
 * random data: 3x3 and 5x5 windows, strides 1 and 2, dilation 2, batches,
 * rows longer than the runtime's row buffer, a strided (non-contiguous)
 * input and output, zero padding read in place (symmetric, asymmetric,
 * wider than the window reach), the epilogue (start value, bias, residual,
 * clamp), 1 to 3 threads.
 * Usage: cpu_depthwise_check */
#include "kiln_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "Inputs/check_random.h"

typedef struct {
  long long N, C, OH, OW, KH, KW, SH, SW, DH, DW;
  int spread; /* 1: input and output columns 2 apart (non-contiguous rows) */
  long long PT, PL, PB, PR;
} Case;

typedef struct {
  int accumulate, bias, residual, clamp;
} Epilogue;

static double check(Case c, Epilogue ep, int threads) {
  long long H = (c.OH - 1) * c.SH + (c.KH - 1) * c.DH + 1 - c.PT - c.PB;
  long long W = (c.OW - 1) * c.SW + (c.KW - 1) * c.DW + 1 - c.PL - c.PR;
  long long step = c.spread ? 2 : 1;
  long long isw = step, ish = W * step, isc = H * ish, isn = c.C * isc;
  long long osw = step, osh = c.OW * step, osc = c.OH * osh, osn = c.C * osc;
  float *in = malloc(sizeof(float) * c.N * isn);
  float *w = malloc(sizeof(float) * c.C * c.KH * c.KW);
  float *out = malloc(sizeof(float) * c.N * osn), *out0 = malloc(sizeof(float) * c.N * osn);
  float *bias = malloc(sizeof(float) * c.C * 2);
  float *res = malloc(sizeof(float) * c.N * osn);
  for (long long i = 0; i < c.N * isn; ++i) in[i] = randf();
  for (long long i = 0; i < c.C * c.KH * c.KW; ++i) w[i] = randf();
  for (long long i = 0; i < c.N * osn; ++i) out[i] = out0[i] = randf();
  for (long long i = 0; i < c.C * 2; ++i) bias[i] = randf();
  for (long long i = 0; i < c.N * osn; ++i) res[i] = randf();
  long long bs = ep.bias == 2 ? 2 : 1;
  float lo = -0.25f, hi = 0.5f;
  kiln_set_num_threads(threads);
  kiln_cpu_depthwise_conv2d(c.N, c.C, c.OH, c.OW, c.KH, c.KW, c.SH, c.SW, c.DH, c.DW, in, isn,
                            isc, ish, isw, w, c.KH * c.KW, c.KW, 1, out, osn, osc, osh, osw, H,
                            W, c.PT, c.PL, ep.bias ? bias : NULL, bs, ep.residual ? res : NULL,
                            osn, osc, osh, osw, lo, hi,
                            (ep.accumulate ? KILN_CONV_ACCUMULATE : 0) |
                                (ep.clamp ? KILN_CONV_CLAMP : 0));
  double worst = 0;
  for (long long n = 0; n < c.N; ++n)
    for (long long ch = 0; ch < c.C; ++ch)
      for (long long oh = 0; oh < c.OH; ++oh)
        for (long long ow = 0; ow < c.OW; ++ow) {
          long long o = n * osn + ch * osc + oh * osh + ow * osw;
          double sum = ep.accumulate ? out0[o] : 0, mag = fabs(sum);
          if (ep.bias) { sum += bias[ch * bs]; mag += fabs(bias[ch * bs]); }
          if (ep.residual) { sum += res[o]; mag += fabs(res[o]); }
          for (long long kh = 0; kh < c.KH; ++kh)
            for (long long kw = 0; kw < c.KW; ++kw) {
              long long ih = oh * c.SH - c.PT + kh * c.DH, iw = ow * c.SW - c.PL + kw * c.DW;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                continue;
              double p = (double)w[(ch * c.KH + kh) * c.KW + kw] *
                         in[n * isn + ch * isc + ih * ish + iw * isw];
              sum += p;
              mag += fabs(p);
            }
          if (ep.clamp) {
            sum = sum < lo ? lo : sum > hi ? hi : sum;
            if (!(out[o] >= lo && out[o] <= hi)) worst = 1;
          }
          double err = fabs(out[o] - sum) / (mag + 1e-30);
          if (err > worst) worst = err;
        }
  /* Between the spread output columns nothing is written. */
  if (c.spread)
    for (long long i = 1; i < c.N * osn; i += 2)
      if (out[i] != out0[i]) worst = 1;
  free(in); free(w); free(out); free(out0); free(bias); free(res);
  return worst;
}

int main(void) {
  seed_random(2463534242ull);
  Case cases[] = {
      /* N C OH OW KH KW SH SW DH DW spread PT PL PB PR */
      {1, 32, 56, 56, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0},
      {2, 7, 13, 17, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 0},
      {1, 5, 9, 11, 5, 5, 1, 1, 2, 2, 0, 0, 0, 0, 0},
      {1, 3, 4, 4100, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0},
      {1, 4, 6, 9, 3, 3, 2, 1, 1, 2, 1, 0, 0, 0, 0},
      {1, 3, 2, 4100, 3, 3, 1, 2, 1, 1, 1, 0, 0, 0, 0},
      /* Padding read in place. */
      {1, 16, 28, 28, 3, 3, 1, 1, 1, 1, 0, 1, 1, 1, 1},
      {2, 6, 14, 14, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 0},
      {1, 5, 7, 7, 5, 5, 1, 1, 1, 1, 0, 2, 2, 2, 2},
      {1, 4, 9, 20, 3, 3, 1, 2, 2, 1, 0, 2, 0, 1, 3},
      {1, 3, 5, 6, 3, 3, 1, 1, 1, 1, 0, 3, 4, 2, 1},
      {1, 4, 6, 9, 3, 3, 2, 1, 1, 2, 1, 1, 1, 1, 1},
      {1, 2, 3, 37, 3, 3, 1, 2, 1, 1, 0, 1, 1, 1, 1},
  };
  Epilogue epilogues[] = {{1, 0, 0, 0}, {0, 1, 0, 1}, {0, 2, 1, 0}, {1, 1, 1, 1}};
  int n = sizeof(cases) / sizeof(cases[0]), ne = sizeof(epilogues) / sizeof(epilogues[0]);
  int failures = 0;
  double worst = 0;
  for (int threads = 1; threads <= 3; ++threads)
    for (int i = 0; i < n; ++i)
      for (int e = 0; e < ne; ++e) {
        double err = check(cases[i], epilogues[e], threads);
        if (err > worst) worst = err;
        if (err > 1e-5) {
          printf("FAIL: case %d, epilogue %d with %d threads: relative error %g\n", i, e,
                 threads, err);
          ++failures;
        }
      }
  if (!failures)
    printf("OK: %d depthwise convolutions x %d epilogues x 3 thread counts, largest relative "
           "error %.1e\n", n, ne, worst);
  return failures != 0;
}
