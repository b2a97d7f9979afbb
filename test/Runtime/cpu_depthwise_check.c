/* kiln_cpu_depthwise_conv2d against a direct loop in double precision on
 * random data: 3x3 and 5x5 windows, strides 1 and 2, dilation 2, batches,
 * rows longer than the runtime's row buffer, a strided (non-contiguous)
 * input and output, 1 to 3 threads.
 * Usage: cpu_depthwise_check */
#include "kiln_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "Inputs/check_random.h"

typedef struct {
  long long N, C, OH, OW, KH, KW, SH, SW, DH, DW;
  int spread; /* 1: input and output columns 2 apart (non-contiguous rows) */
} Case;

static double check(Case c, int threads) {
  long long IH = (c.OH - 1) * c.SH + (c.KH - 1) * c.DH + 1;
  long long IW = (c.OW - 1) * c.SW + (c.KW - 1) * c.DW + 1;
  long long step = c.spread ? 2 : 1;
  long long isw = step, ish = IW * step, isc = IH * ish, isn = c.C * isc;
  long long osw = step, osh = c.OW * step, osc = c.OH * osh, osn = c.C * osc;
  float *in = malloc(sizeof(float) * c.N * isn);
  float *w = malloc(sizeof(float) * c.C * c.KH * c.KW);
  float *out = malloc(sizeof(float) * c.N * osn), *out0 = malloc(sizeof(float) * c.N * osn);
  for (long long i = 0; i < c.N * isn; ++i) in[i] = randf();
  for (long long i = 0; i < c.C * c.KH * c.KW; ++i) w[i] = randf();
  for (long long i = 0; i < c.N * osn; ++i) out[i] = out0[i] = randf();
  kiln_set_num_threads(threads);
  kiln_cpu_depthwise_conv2d(c.N, c.C, c.OH, c.OW, c.KH, c.KW, c.SH, c.SW, c.DH, c.DW, in, isn,
                            isc, ish, isw, w, c.KH * c.KW, c.KW, 1, out, osn, osc, osh, osw);
  double worst = 0;
  for (long long n = 0; n < c.N; ++n)
    for (long long ch = 0; ch < c.C; ++ch)
      for (long long oh = 0; oh < c.OH; ++oh)
        for (long long ow = 0; ow < c.OW; ++ow) {
          long long o = n * osn + ch * osc + oh * osh + ow * osw;
          double sum = out0[o], mag = fabs(sum);
          for (long long kh = 0; kh < c.KH; ++kh)
            for (long long kw = 0; kw < c.KW; ++kw) {
              double p = (double)w[(ch * c.KH + kh) * c.KW + kw] *
                         in[n * isn + ch * isc + (oh * c.SH + kh * c.DH) * ish +
                            (ow * c.SW + kw * c.DW) * isw];
              sum += p;
              mag += fabs(p);
            }
          double err = fabs(out[o] - sum) / (mag + 1e-30);
          if (err > worst) worst = err;
        }
  /* Between the spread output columns nothing is written. */
  if (c.spread)
    for (long long i = 1; i < c.N * osn; i += 2)
      if (out[i] != out0[i]) worst = 1;
  free(in); free(w); free(out); free(out0);
  return worst;
}

int main(void) {
  seed_random(2463534242ull);
  Case cases[] = {
      {1, 32, 56, 56, 3, 3, 1, 1, 1, 1, 0}, {2, 7, 13, 17, 3, 3, 2, 2, 1, 1, 0},
      {1, 5, 9, 11, 5, 5, 1, 1, 2, 2, 0},   {1, 3, 4, 4100, 3, 3, 1, 1, 1, 1, 0},
      {1, 4, 6, 9, 3, 3, 2, 1, 1, 2, 1},    {1, 3, 2, 4100, 3, 3, 1, 2, 1, 1, 1},
  };
  int n = sizeof(cases) / sizeof(cases[0]), failures = 0;
  double worst = 0;
  for (int threads = 1; threads <= 3; ++threads)
    for (int i = 0; i < n; ++i) {
      double err = check(cases[i], threads);
      if (err > worst) worst = err;
      if (err > 1e-5) {
        printf("FAIL: case %d with %d threads: relative error %g\n", i, threads, err);
        ++failures;
      }
    }
  if (!failures)
    printf("OK: %d depthwise convolutions x 3 thread counts, largest relative error %.1e\n", n,
           worst);
  return failures != 0;
}
