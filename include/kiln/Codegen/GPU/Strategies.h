//===- Strategies.h - what each GPU strategy takes -------------*- C++ -*-===//
//
// The analyses of the GPU kernel strategies, separate from their rewrites:
// kiln-gpu-select-strategy asks each, in priority order, whether it takes
// an op (or a kernel group) and with which parameters, and records the
// answer as a #kiln_gpu.strategy attribute that the strategy passes read.
// None of these functions changes the IR.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_GPU_STRATEGIES_H
#define KILN_CODEGEN_GPU_STRATEGIES_H

#include "kiln/Dialect/KilnGPU/KilnGPU.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>
#include <string>

namespace kiln {

/// The tiled contraction's choice for one contraction: its strategy
/// (tiles, threads, stages, precision, tensor cores) and the ops its kernel
/// computes too (epilogue, folded operand producers, accumulator init).
struct TiledContractionChoice {
  StrategyAttr strategy;
  llvm::SmallVector<mlir::Operation *> fused;
};

/// Whether the tiled shared-memory strategy takes `op` (matmul,
/// batch_matmul, generic contraction, NCHW convolution on static f32
/// buffers); if not, `why` says what was missing.
std::optional<TiledContractionChoice> chooseTiledContraction(mlir::Operation *op,
                                                             Precision precision,
                                                             std::string &why);

/// The block tile [BM, BN, BK] and micro-tile [TM, TN] the tiled strategy
/// uses for an M x N x K contraction, and whether tensor cores compute it
/// at `precision`.
struct TileChoice {
  int64_t bm, bn, bk, tm, tn;
  bool tensorCores;
};
TileChoice chooseTiles(int64_t m, int64_t n, int64_t k, Precision precision);

/// Whether one launch per row takes the reduction kernel group `group`
/// (its ops in program order); on success `members` also holds the copies
/// between them and `threads` the threads per row (1: a thread per row).
bool chooseRowKernel(llvm::ArrayRef<mlir::Operation *> group,
                     llvm::SmallVectorImpl<mlir::Operation *> &members, int64_t &threads,
                     std::string &why);

/// Whether one thread per output element takes the kernel group `group`
/// (a contraction group the tiled strategy left, or a windowed reduction).
bool chooseDirectContraction(llvm::ArrayRef<mlir::Operation *> group, std::string &why);

/// Threads per block if a block per row takes the single-loop reduction
/// `op` (rows of at least `minRowSize`).
std::optional<int64_t> chooseReduction(mlir::linalg::GenericOp op, int64_t minRowSize,
                                       std::string &why);

/// Whether the vectorized elementwise kernel takes `op`.
bool chooseElementwise(mlir::linalg::GenericOp op, std::string &why);

/// `v` combined across the 32 lanes of a warp with `combiner` (an addf,
/// maximumf, minimumf, maxnumf or minnumf), every lane getting the result:
/// a `gpu.subgroup_reduce`, which kiln-gpu-lower-subgroup-reduce turns into
/// xor shuffles. Null for any other combiner.
mlir::Value warpReduce(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                       mlir::Operation *combiner);

} // namespace kiln

#endif // KILN_CODEGEN_GPU_STRATEGIES_H
