//===- cpu_gemm.h - the packed GEMM for other runtime kernels ---*- C++ -*-===//
//
// The runtime's CPU kernels that contain matrix products (attention) call
// the packed GEMM's microkernel on their own tiles, on the calling thread.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CPU_GEMM_H
#define KILN_RUNTIME_CPU_GEMM_H

#include <cstdint>

namespace kiln_cpu {

/// C[M x N] += A[M x K] * B[K x N] on the calling thread: A and B with
/// element strides, C with contiguous rows `ldc` apart. Meant for tiles of
/// a few hundred rows and columns (one cache block). With `b_packed`, B is
/// already in the microkernel's column panels (packColumns), with
/// `a_packed` A in its row panels (packRows); their strides are then
/// ignored.
void sgemmSerial(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_stride_m,
                 int64_t a_stride_k, const float *B, int64_t b_stride_k, int64_t b_stride_n,
                 float *C, int64_t ldc, bool b_packed = false, bool a_packed = false);

/// Floats of A[M x K] packed in row panels.
int64_t packedRowsSize(int64_t M, int64_t K);
/// A[M x K] (element strides) into the microkernel's row panels, each over
/// all of K, zero-padded: `packedRowsSize(M, K)` floats at `out`. Rows
/// from a multiple of sgemmRows() on start a panel.
void packRows(int64_t M, int64_t K, const float *A, int64_t a_stride_m, int64_t a_stride_k,
              float *out);

/// Floats of B[K x N] packed in column panels.
int64_t packedSize(int64_t K, int64_t N);
/// B[K x N] (element strides) into the microkernel's column panels, each
/// over all of K, zero-padded: `packedSize(K, N)` floats at `out`.
void packColumns(int64_t K, int64_t N, const float *B, int64_t b_stride_k, int64_t b_stride_n,
                 float *out);

/// The microkernel's rows: tiles of A are best a multiple of it.
int sgemmRows();

/// The microkernel itself, for kernels that pack their own operands (the
/// convolutions): C[0:rows, 0:cols] (rows `ldc` apart, unit column stride)
/// += a packed A panel (kc x mr, k-major) * a packed B panel (kc x nr).
/// Only rows x cols are stored (the x86 kernels compute only those rows;
/// all nr columns).
/// What a tile's store does besides adding the product: with `e` null,
/// C += A B. Otherwise C = clamp((load ? C : 0) + A B + bias[r] +
/// res[r][j], lo, hi), each part only when present (bias per row, res
/// rows `ldr` apart); the clamp propagates NaN like arith.maximumf and
/// minimumf.
struct TileEpilogue {
  bool load = true;
  const float *bias = nullptr;
  const float *res = nullptr;
  int64_t ldr = 0;
  bool clamp = false;
  float lo = 0, hi = 0;
};
using MicrokernelFn = void (*)(int64_t kc, const float *a, const float *b, float *c,
                               int64_t ldc, int rows, int cols, const TileEpilogue *e);
struct Microkernel {
  MicrokernelFn fn;
  int mr, nr;
  bool avx512; // the CPU runs AVX-512F and BMI2 (the packing may use them too)
};
const Microkernel &microkernel();

} // namespace kiln_cpu

#endif
