//===- KilnGPU.h - GPU code generation decisions ---------------*- C++ -*-===//
#ifndef KILN_DIALECT_KILNGPU_KILNGPU_H
#define KILN_DIALECT_KILNGPU_KILNGPU_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/Operation.h"

#include "kiln/Dialect/KilnGPU/KilnGPUDialect.h.inc"
#include "kiln/Dialect/KilnGPU/KilnGPUEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/KilnGPU/KilnGPUAttrs.h.inc"

namespace kiln {

/// The discardable attribute that carries an op's strategy.
inline constexpr llvm::StringLiteral kStrategyAttr = "kiln_gpu.strategy";

/// The strategy chosen for `op` (null if none was).
StrategyAttr getStrategy(mlir::Operation *op);
/// Whether `op` was given strategy `kind`.
bool hasStrategy(mlir::Operation *op, StrategyKind kind);
void setStrategy(mlir::Operation *op, StrategyAttr strategy);

} // namespace kiln

#endif // KILN_DIALECT_KILNGPU_KILNGPU_H
