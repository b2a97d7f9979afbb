/* kiln_cpu_conv2d against a direct loop in double precision on random
 * data: 1x1, 3x3, 7x7 and 1x5 windows, strides 1 to 3, dilation 2,
 * padding on every side (asymmetric, larger than the window reach, and
 * none), batches, planes narrower and wider than a panel, a strided input
 * and output, a filter that is strided, packed in this CPU's row panels
 * or in panels of another width, and 1 to 3 threads.
 * Usage: cpu_conv_check */
#include "kiln_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "Inputs/check_random.h"

typedef struct {
  long long N, C, H, W, F, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR;
  int spread; /* 1: input and output columns 2 apart, channels padded */
  int panel;  /* filter: 0 strided, -1 / -2 panels as wide as this CPU's
                 microkernel's rows / columns, > 0 that width */
} Case;

/* The epilogue variants every case runs with: accumulate into the output
 * or not, a bias (strided or not), a residual (laid out like the output,
 * or spread), a clamp. */
typedef struct {
  int accumulate, bias, residual, clamp;
} Epilogue;

static double check(Case c, Epilogue ep, int threads) {
  long long OH = (c.H + c.PT + c.PB - (c.KH - 1) * c.DH - 1) / c.SH + 1;
  long long OW = (c.W + c.PL + c.PR - (c.KW - 1) * c.DW - 1) / c.SW + 1;
  long long step = c.spread ? 2 : 1;
  long long isw = step, ish = c.W * step + (c.spread ? 3 : 0), isc = c.H * ish,
            isn = c.C * isc + (c.spread ? 5 : 0);
  long long osw = step, osh = OW * step, osf = OH * osh + (c.spread ? 1 : 0),
            osn = c.F * osf;
  long long K = c.C * c.KH * c.KW;
  float *in = malloc(sizeof(float) * c.N * isn);
  /* The filter: F x C x KH x KW, with its f stride padded when spread. */
  long long wsf = K + (c.spread ? 3 : 0);
  float *w = malloc(sizeof(float) * c.F * wsf);
  float *out = malloc(sizeof(float) * c.N * osn), *out0 = malloc(sizeof(float) * c.N * osn);
  for (long long i = 0; i < c.N * isn; ++i) in[i] = randf();
  for (long long i = 0; i < c.F * wsf; ++i) w[i] = randf();
  for (long long i = 0; i < c.N * osn; ++i) out[i] = out0[i] = randf();
  /* Bias: F values (every other one when bias == 2); residual: like the
   * output, or with its columns 3 apart (residual == 2). */
  long long bs = ep.bias == 2 ? 2 : 1;
  float *bias = malloc(sizeof(float) * c.F * 2);
  for (long long i = 0; i < c.F * 2; ++i) bias[i] = randf();
  long long rsw = ep.residual == 2 ? 3 : 1, rsh = OW * rsw, rsf = OH * rsh, rsn = c.F * rsf;
  float *res = malloc(sizeof(float) * c.N * rsn);
  for (long long i = 0; i < c.N * rsn; ++i) res[i] = randf();
  float lo = -0.25f, hi = 0.5f;
  int64_t rows, cols;
  kiln_cpu_sgemm_panels(&rows, &cols);
  long long width = c.panel == -1 ? rows : c.panel == -2 ? cols : c.panel;
  const float *filter = w;
  float *panels = NULL;
  if (width > 0) {
    long long count = (c.F + width - 1) / width;
    panels = calloc(count * width * K, sizeof(float));
    for (long long f = 0; f < c.F; ++f)
      for (long long k = 0; k < K; ++k)
        panels[(f / width) * K * width + k * width + f % width] = w[f * wsf + k];
    filter = panels;
  }
  kiln_set_num_threads(threads);
  kiln_cpu_conv2d(c.N, c.C, c.H, c.W, c.F, c.KH, c.KW, OH, OW, c.SH, c.SW, c.DH, c.DW, c.PT,
                  c.PL, in, isn, isc, ish, isw, filter, wsf, c.KH * c.KW, c.KW, 1, out, osn,
                  osf, osh, osw, width, ep.bias ? bias : NULL, bs, ep.residual ? res : NULL,
                  rsn, rsf, rsh, rsw, lo, hi,
                  (ep.accumulate ? KILN_CONV_ACCUMULATE : 0) | (ep.clamp ? KILN_CONV_CLAMP : 0));
  double worst = 0;
  for (long long n = 0; n < c.N; ++n)
    for (long long f = 0; f < c.F; ++f)
      for (long long oh = 0; oh < OH; ++oh)
        for (long long ow = 0; ow < OW; ++ow) {
          long long o = n * osn + f * osf + oh * osh + ow * osw;
          double sum = ep.accumulate ? out0[o] : 0, mag = fabs(sum);
          if (ep.bias) {
            sum += bias[f * bs];
            mag += fabs(bias[f * bs]);
          }
          if (ep.residual) {
            double r = res[n * rsn + f * rsf + oh * rsh + ow * rsw];
            sum += r;
            mag += fabs(r);
          }
          for (long long ch = 0; ch < c.C; ++ch)
            for (long long kh = 0; kh < c.KH; ++kh)
              for (long long kw = 0; kw < c.KW; ++kw) {
                long long ih = oh * c.SH - c.PT + kh * c.DH, iw = ow * c.SW - c.PL + kw * c.DW;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W)
                  continue;
                double p = (double)w[f * wsf + (ch * c.KH + kh) * c.KW + kw] *
                           in[n * isn + ch * isc + ih * ish + iw * isw];
                sum += p;
                mag += fabs(p);
              }
          /* The clamp moves values no further apart, so the clamped
           * result is within rounding of the clamped sum. */
          if (ep.clamp) {
            sum = sum < lo ? lo : sum > hi ? hi : sum;
            if (!(out[o] >= lo && out[o] <= hi)) worst = 1;
          }
          double err = fabs(out[o] - sum) / (mag + 1e-30);
          if (err > worst) worst = err;
        }
  /* Between the spread output columns nothing is written. */
  if (c.spread)
    for (long long n = 0; n < c.N; ++n)
      for (long long f = 0; f < c.F; ++f)
        for (long long i = 0; i < osf; ++i) {
          long long o = n * osn + f * osf + i;
          int written = i < OH * osh && i % 2 == 0;
          if (!written && out[o] != out0[o]) worst = 1;
        }
  free(in); free(w); free(out); free(out0); free(panels); free(bias); free(res);
  return worst;
}

int main(void) {
  seed_random(88172645463325252ull);
  Case cases[] = {
      /* N  C   H   W   F  KH KW SH SW DH DW PT PL PB PR spread panel */
      {1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, -1},
      {1, 3, 37, 41, 20, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 0, -1},
      {2, 16, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, -1},
      {1, 8, 15, 13, 13, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0, -1},
      {1, 5, 11, 19, 7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0},
      {3, 4, 9, 10, 17, 1, 5, 1, 3, 1, 1, 0, 4, 1, 0, 0, 8},
      {1, 6, 12, 9, 25, 3, 3, 2, 1, 1, 1, 0, 1, 2, 0, 1, 0},
      {1, 2, 5, 6, 3, 3, 3, 1, 1, 1, 1, 4, 5, 4, 5, 1, -1},
      {1, 300, 4, 4, 50, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, -1},
      {1, 4, 3, 70, 9, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 0, 4},
      /* Small images against many filters; a foreign panel width. */
      {1, 64, 7, 7, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, -2},
      {2, 20, 4, 5, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0},
      {1, 40, 9, 9, 33, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 8},
      {1, 300, 3, 3, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, -2},
      /* 1x1, stride 1: positions are a contiguous run of the plane. */
      {2, 24, 7, 9, 40, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, -1},
      {1, 16, 5, 13, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, -1},
  };
  Epilogue epilogues[] = {
      {1, 0, 0, 0}, /* out += conv */
      {0, 1, 0, 1}, /* out = clamp(conv + bias) */
      {0, 2, 1, 0}, /* out = conv + strided bias + residual */
      {1, 1, 2, 1}, /* all of it, a spread residual */
  };
  int n = sizeof(cases) / sizeof(cases[0]), failures = 0;
  int ne = sizeof(epilogues) / sizeof(epilogues[0]);
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
    printf("OK: %d convolutions x %d epilogues x 3 thread counts, largest relative error %.1e\n",
           n, ne, worst);
  return failures != 0;
}
