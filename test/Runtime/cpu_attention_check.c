/* kiln_cpu_attention against softmax(Q K^T * scale + mask) V computed
 * directly in double precision on random data: additive masks (full and
 * broadcast, -inf entries), causal masks aligned at the start and at the
 * end of the keys, grouped-query heads, key counts that are not a multiple
 * of the key block, one query row (decode), Q and the output in
 * [batch, sequence, heads, dim] layout (strided), rows that every key
 * masks (NaN, or 0 with KILN_ATTENTION_ZERO_NAN_ROWS), 1 to 3 threads.
 * Usage: cpu_attention_check */
#include "kiln_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "Inputs/check_random.h"

typedef struct {
  long long B, H, Hkv, Sq, Sk, D, Dv;
  int mask;      /* 0 none, 1 full [B,H,Sq,Sk], 2 key padding [B,1,1,Sk] */
  int causal;    /* 0 none, 1 aligned at the start, 2 aligned at the end */
  int bshd;      /* Q and out as [B, S, H, D] */
  int maskedRow; /* row 0 of every head masked everywhere */
  int zeroNan;
} Case;

static int failures = 0;

static void check(Case c, int threads) {
  long long qsd = 1, qss = c.bshd ? c.H * c.D : c.D, qsh = c.bshd ? c.D : c.Sq * c.D,
            qsb = c.H * c.Sq * c.D;
  long long ksb = c.Hkv * c.Sk * c.D, ksh = c.Sk * c.D, kss = c.D;
  long long vsb = c.Hkv * c.Sk * c.Dv, vsh = c.Sk * c.Dv, vss = c.Dv;
  long long osd = 1, oss = c.bshd ? c.H * c.Dv : c.Dv, osh = c.bshd ? c.Dv : c.Sq * c.Dv,
            osb = c.H * c.Sq * c.Dv;
  long long msb = 0, msh = 0, msq = 0, msk = 0, maskCount = 0;
  if (c.mask == 1)
    msk = 1, msq = c.Sk, msh = c.Sq * c.Sk, msb = c.H * c.Sq * c.Sk, maskCount = c.B * msb;
  if (c.mask == 2)
    msk = 1, msb = c.Sk, maskCount = c.B * c.Sk;
  float *q = malloc(sizeof(float) * c.B * qsb), *k = malloc(sizeof(float) * c.B * ksb + 4);
  float *v = malloc(sizeof(float) * c.B * vsb + 4), *out = malloc(sizeof(float) * c.B * osb);
  float *mask = maskCount ? malloc(sizeof(float) * maskCount) : NULL;
  for (long long i = 0; i < c.B * qsb; ++i) q[i] = randf();
  for (long long i = 0; i < c.B * ksb; ++i) k[i] = randf();
  for (long long i = 0; i < c.B * vsb; ++i) v[i] = randf();
  for (long long i = 0; i < maskCount; ++i) {
    float r = randf();
    mask[i] = r < -0.6f ? -INFINITY : r;
  }
  if (c.maskedRow && c.mask == 1)
    for (long long b = 0; b < c.B; ++b)
      for (long long h = 0; h < c.H; ++h)
        for (long long j = 0; j < c.Sk; ++j)
          mask[b * msb + h * msh + j] = -INFINITY;
  long long offset = c.causal == 2 ? c.Sk - c.Sq : 0;
  float scale = 1.0f / sqrtf((float)c.D);
  kiln_set_num_threads(threads);
  kiln_cpu_attention(c.B, c.H, c.Hkv, c.Sq, c.Sk, c.D, c.Dv, q, qsb, qsh, qss, qsd, k, ksb, ksh,
                     kss, 1, v, vsb, vsh, vss, 1, mask, msb, msh, msq, msk, out, osb, osh, oss,
                     osd, scale, offset,
                     (c.causal ? KILN_ATTENTION_CAUSAL : 0) |
                         (c.zeroNan ? KILN_ATTENTION_ZERO_NAN_ROWS : 0));
  double *s = malloc(sizeof(double) * c.Sk);
  double worst = 0;
  int wrongNan = 0;
  for (long long b = 0; b < c.B; ++b)
    for (long long h = 0; h < c.H; ++h) {
      long long g = h / (c.H / c.Hkv);
      for (long long i = 0; i < c.Sq; ++i) {
        double mx = -INFINITY;
        for (long long j = 0; j < c.Sk; ++j) {
          double dot = 0;
          for (long long d = 0; d < c.D; ++d)
            dot += (double)q[b * qsb + h * qsh + i * qss + d] * k[b * ksb + g * ksh + j * kss + d];
          dot = dot * scale;
          if (mask)
            dot += mask[b * msb + h * msh + i * msq + j * msk];
          if (c.causal && j > i + offset)
            dot = -INFINITY;
          s[j] = dot;
          if (dot > mx) mx = dot;
        }
        double sum = 0;
        for (long long j = 0; j < c.Sk; ++j) {
          s[j] = mx == -INFINITY ? 0 : exp(s[j] - mx);
          sum += s[j];
        }
        for (long long d = 0; d < c.Dv; ++d) {
          double acc = 0;
          for (long long j = 0; j < c.Sk; ++j)
            acc += s[j] * v[b * vsb + g * vsh + j * vss + d];
          float got = out[b * osb + h * osh + i * oss + d];
          if (sum == 0) {
            /* every key masked: NaN like a softmax over -inf, or 0; no
               keys at all: the empty product, 0 */
            if (c.zeroNan || c.Sk == 0 ? got != 0.0f : !isnan(got))
              wrongNan = 1;
            continue;
          }
          double want = acc / sum, err = fabs(got - want);
          if (!(err <= worst)) worst = isnan(err) ? INFINITY : err;
        }
      }
    }
  if (worst > 2e-5 || wrongNan) {
    printf("FAIL: B=%lld H=%lld Hkv=%lld Sq=%lld Sk=%lld D=%lld Dv=%lld mask=%d causal=%d "
           "bshd=%d masked=%d zero=%d threads=%d: max error %g%s\n",
           c.B, c.H, c.Hkv, c.Sq, c.Sk, c.D, c.Dv, c.mask, c.causal, c.bshd, c.maskedRow,
           c.zeroNan, threads, worst, wrongNan ? ", masked row wrong" : "");
    ++failures;
  }
  free(q), free(k), free(v), free(out), free(mask), free(s);
}

int main(void) {
  Case cases[] = {
      {1, 1, 1, 1, 1, 8, 8, 0, 0, 0, 0, 0},
      {2, 4, 4, 16, 16, 16, 16, 0, 0, 0, 0, 0},
      {2, 4, 4, 37, 300, 64, 64, 1, 0, 0, 0, 0},
      {2, 3, 3, 50, 50, 32, 48, 2, 0, 1, 0, 0},
      {1, 8, 2, 65, 65, 64, 64, 0, 1, 0, 0, 0},
      {1, 4, 1, 20, 140, 16, 16, 0, 2, 0, 0, 0},
      {2, 2, 2, 1, 257, 64, 64, 2, 2, 0, 0, 0},
      {1, 2, 2, 9, 9, 8, 8, 1, 0, 0, 1, 0},
      {1, 2, 2, 9, 9, 8, 8, 1, 0, 0, 1, 1},
      {1, 12, 12, 128, 128, 64, 64, 2, 1, 1, 0, 1},
      {1, 2, 2, 200, 200, 80, 72, 1, 2, 1, 0, 0},
      {1, 1, 1, 5, 0, 8, 8, 0, 0, 0, 0, 0},
  };
  int n = sizeof(cases) / sizeof(cases[0]);
  for (int t = 1; t <= 3; ++t)
    for (int i = 0; i < n; ++i)
      check(cases[i], t);
  if (failures)
    return 1;
  printf("OK: %d attention problems x 3 thread counts\n", n);
  return 0;
}
