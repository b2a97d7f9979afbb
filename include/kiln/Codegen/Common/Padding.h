//===- Padding.h - padded copies of window inputs, after bufferization ----===//
//
// A convolution or pooling with pads reads a padded copy P of its input X:
// after bufferization, P is allocated, filled with the pad value, and its
// interior (one subview) receives a memref.copy of X. Targets that read X
// in place (predicated GPU loads, the CPU's implicit-GEMM convolution)
// match that structure here.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_COMMON_PADDING_H
#define KILN_CODEGEN_COMMON_PADDING_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <optional>

namespace kiln {

/// Whether `op` or an op nested in it may write or free memory rooted at
/// `root`. Ops of unknown effect count as writing everything, except those
/// `orderingOnly` accepts (barriers and the like, which only order other
/// ops' accesses).
bool mayWrite(mlir::Operation *op, mlir::Value root,
              llvm::function_ref<bool(mlir::Operation *)> orderingOnly = nullptr);

enum class UseKind { Fill, Read, Other };

/// P = alloc; fill(P, c); S = subview P (the interior); copy(X, S); then
/// reads of P. `fill` is the op in P's block that writes c everywhere.
struct PaddedBuffer {
  mlir::memref::AllocOp alloc;
  mlir::Operation *fill = nullptr;
  mlir::memref::SubViewOp interior;
  mlir::memref::CopyOp copy;
  llvm::SmallVector<mlir::OpOperand *> reads;
  llvm::SmallVector<int64_t> low, size;
};

/// The padded-buffer structure around `alloc`, where `classify` tells the
/// fill and the reads among the uses of P (given each use's ancestor in
/// P's block). Every other use is the interior subview or a dealloc, the
/// fill comes before the copy and the copy before every read, and nothing
/// from the copy to the last read writes X (`orderingOnly` as for
/// mayWrite): a read of P[i] then sees X at i - low inside the interior
/// and the fill value outside it.
std::optional<PaddedBuffer>
matchPadded(mlir::memref::AllocOp alloc,
            llvm::function_ref<UseKind(mlir::OpOperand &, mlir::Operation *top)> classify,
            llvm::function_ref<bool(mlir::Operation *)> orderingOnly = nullptr);

/// The float constant `v` is, or null.
mlir::FloatAttr constantFloat(mlir::Value v);

/// The pad value of a linalg fill of all of `buffer` (linalg.fill, or a
/// linalg.map without inputs that yields a constant), or null.
mlir::FloatAttr linalgFillValue(mlir::Operation *op, mlir::Value buffer);

} // namespace kiln

#endif // KILN_CODEGEN_COMMON_PADDING_H
