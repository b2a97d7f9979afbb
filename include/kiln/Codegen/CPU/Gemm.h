//===- Gemm.h - contractions the CPU target runs as runtime GEMM calls ----===//
#ifndef KILN_CODEGEN_CPU_GEMM_H
#define KILN_CODEGEN_CPU_GEMM_H

#include <cstdint>
#include <optional>

namespace mlir::linalg {
class LinalgOp;
}

namespace kiln {

/// The loops of a contraction C[b][m][n] += A[b][m][k] * B[b][k][n]
/// (A = first input, B = second); -1 for a batch, m or n loop it lacks.
struct CpuGemmLoops {
  int64_t batch = -1, m = -1, n = -1, k = -1;
};

/// Whether `op` is an f32 contraction with static sizes, at most one loop
/// of each kind (batch, m, n; exactly one k) and enough work to be worth a
/// call to the runtime's packed GEMM (kiln_cpu_sgemm): at least `minWork`
/// multiply-adds. On tensors or on buffers alike.
constexpr int64_t kCpuGemmMinWork = 4096; // kiln-cpu-contraction-to-call min-work
std::optional<CpuGemmLoops> matchCpuGemm(mlir::linalg::LinalgOp op,
                                         int64_t minWork = kCpuGemmMinWork);

/// Whether `op` is an f32 depthwise 2-D convolution with static sizes (one
/// filter per channel: every input- and output-channel loop of length 1),
/// which runs as a call to kiln_cpu_depthwise_conv2d.
bool matchCpuDepthwise(mlir::linalg::LinalgOp op);

/// Whether `op` is an f32 `linalg.conv_2d_nchw_fchw` with static sizes and
/// at least kCpuGemmMinWork multiply-adds, which runs as a call to
/// kiln_cpu_conv2d (an implicit GEMM: no im2col copy). On tensors or on
/// buffers alike.
bool matchCpuConv(mlir::linalg::LinalgOp op);

/// Any of the three: the op becomes a runtime call, which parallelizes
/// itself.
bool isCpuRuntimeCall(mlir::linalg::LinalgOp op);

} // namespace kiln

#endif // KILN_CODEGEN_CPU_GEMM_H
