/* kiln_cpu_sgemm against a direct triple loop in double precision on
 * random data: sizes around the register and cache blocks (tails in M, N
 * and K), every operand transposed or strided, C column-major or fully
 * strided, batches with a broadcast operand, operands packed ahead of time
 * (in the microkernel's panels, and in panels of another width), 1 to 3
 * threads. Prints the
 * microkernel used and the largest error relative to sum |a*b|.
 * Usage: cpu_gemm_check */
#include "kiln_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "Inputs/check_random.h"

typedef struct {
  long long batch, M, N, K;
  int transA, transB, cLayout; /* cLayout: 0 row-major, 1 column-major, 2 strided */
  int broadcastB;
  int packA, packB; /* 0 strided, 1 this CPU's panels, 2 panels of 5 */
} Case;

/* X (rows x K, row-major) as panels of `width` rows over K, zero-padded. */
static float *packRows(const float *x, long long rows, long long K, long long width) {
  long long panels = (rows + width - 1) / width;
  float *out = calloc(panels * width * K, sizeof(float));
  for (long long r = 0; r < rows; ++r)
    for (long long k = 0; k < K; ++k)
      out[(r / width) * K * width + k * width + r % width] = x[r * K + k];
  return out;
}

static double check(Case c, int threads) {
  long long bs = c.batch, M = c.M, N = c.N, K = c.K;
  long long asb = c.packA ? 0 : M * K, asm_ = c.transA ? 1 : K, ask = c.transA ? M : 1;
  long long bsb = c.broadcastB ? 0 : K * N, bsk = c.transB ? 1 : N, bsn = c.transB ? K : 1;
  long long csm, csn, csb;
  if (c.cLayout == 0) { csm = N; csn = 1; csb = M * N; }
  else if (c.cLayout == 1) { csm = 1; csn = M; csb = M * N; }
  else { csm = 2 * N + 3; csn = 2; csb = M * (2 * N + 3); }
  float *A = malloc(sizeof(float) * bs * M * K);
  float *B = malloc(sizeof(float) * (c.broadcastB ? 1 : bs) * K * N);
  float *C = malloc(sizeof(float) * bs * csb);
  float *C0 = malloc(sizeof(float) * bs * csb);
  for (long long i = 0; i < bs * M * K; ++i) A[i] = randf();
  for (long long i = 0; i < (c.broadcastB ? 1 : bs) * K * N; ++i) B[i] = randf();
  for (long long i = 0; i < bs * csb; ++i) C[i] = C0[i] = randf();
  kiln_set_num_threads(threads);
  int64_t mr, nr;
  kiln_cpu_sgemm_panels(&mr, &nr);
  float *Ap = NULL, *Bp = NULL;
  long long aw = c.packA == 1 ? mr : c.packA == 2 ? 5 : 0;
  long long bw = c.packB == 1 ? nr : c.packB == 2 ? 5 : 0;
  if (aw) { /* A as rows x K (untransposed) for packing */
    float *rows = malloc(sizeof(float) * M * K);
    for (long long m = 0; m < M; ++m)
      for (long long k = 0; k < K; ++k) rows[m * K + k] = A[m * asm_ + k * ask];
    Ap = packRows(rows, M, K, aw);
    free(rows);
  }
  if (bw) { /* B^T as N x K for packing in column panels */
    float *cols = malloc(sizeof(float) * N * K);
    for (long long n = 0; n < N; ++n)
      for (long long k = 0; k < K; ++k) cols[n * K + k] = B[k * bsk + n * bsn];
    Bp = packRows(cols, N, K, bw);
    free(cols);
  }
  kiln_cpu_sgemm(bs, M, N, K, Ap ? Ap : A, asb, asm_, ask, Bp ? Bp : B, bsb, bsk, bsn, C, csb,
                 csm, csn, aw, bw);
  free(Ap);
  free(Bp);
  double worst = 0;
  for (long long b = 0; b < bs; ++b)
    for (long long m = 0; m < M; ++m)
      for (long long n = 0; n < N; ++n) {
        double sum = C0[b * csb + m * csm + n * csn], mag = fabs(sum);
        for (long long k = 0; k < K; ++k) {
          double p = (double)A[b * asb + m * asm_ + k * ask] * B[b * bsb + k * bsk + n * bsn];
          sum += p;
          mag += fabs(p);
        }
        double err = fabs(C[b * csb + m * csm + n * csn] - sum) / (mag + 1e-30);
        if (err > worst) worst = err;
      }
  /* Elements between the strided columns must be untouched. */
  if (c.cLayout == 2)
    for (long long b = 0; b < bs; ++b)
      for (long long m = 0; m < M; ++m)
        for (long long j = 0; j < csm; ++j)
          if ((j % 2 || j >= 2 * N) && C[b * csb + m * csm + j] != C0[b * csb + m * csm + j])
            worst = 1;
  free(A); free(B); free(C); free(C0);
  return worst;
}

int main(void) {
  seed_random(88172645463325252ull);
  Case cases[] = {
      {1, 1, 1, 1, 0, 0, 0, 0},       {1, 1, 1000, 512, 0, 1, 0, 0},
      {1, 64, 256, 576, 0, 0, 0, 0},  {1, 13, 33, 385, 0, 0, 0, 0},
      {1, 145, 1025, 17, 1, 0, 0, 0}, {1, 37, 29, 800, 1, 1, 0, 0},
      {1, 50, 70, 90, 0, 0, 1, 0},    {1, 23, 41, 19, 1, 1, 2, 0},
      {3, 12, 32, 64, 0, 0, 0, 1},    {4, 7, 100, 33, 0, 1, 1, 1},
      {2, 300, 5, 260, 0, 0, 0, 0},   {1, 6, 16, 1, 0, 0, 0, 0},
      {1, 64, 784, 576, 0, 0, 0, 0, 1, 0}, {1, 64, 768, 256, 0, 1, 0, 0, 0, 1},
      {3, 37, 45, 400, 1, 0, 0, 1, 1, 1}, {1, 29, 31, 33, 0, 0, 1, 0, 1, 1},
      {2, 13, 70, 20, 0, 0, 0, 1, 2, 2},  {1, 50, 3, 17, 0, 0, 2, 0, 2, 1},
  };
  int n = sizeof(cases) / sizeof(cases[0]), failures = 0;
  double worst = 0;
  for (int threads = 1; threads <= 3; ++threads)
    for (int i = 0; i < n; ++i) {
      double err = check(cases[i], threads);
      if (err > worst) worst = err;
      if (err > 1e-5) {
        printf("FAIL: case %d (%lldx%lldx%lldx%lld) with %d threads: relative error %g\n", i,
               cases[i].batch, cases[i].M, cases[i].N, cases[i].K, threads, err);
        ++failures;
      }
    }
  printf("kernel %s\n", kiln_cpu_sgemm_kernel());
  if (!failures)
    printf("OK: %d problems x 3 thread counts, largest relative error %.1e\n", n, worst);
  return failures != 0;
}
