//===- GenericBody.h - a linalg body computed at given loop values -*- C++ -*-===//
//
// GPU strategies that replace linalg ops by explicit loops compute an op's
// body for one iteration: its block arguments mapped to loaded or
// register values, its `linalg.index` ops to the iteration's loop values.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_CODEGEN_GENERICBODY_H
#define KILN_LIB_CODEGEN_GENERICBODY_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {

/// Clones the ops of `body` (a linalg op's region, block arguments already
/// in `map`) at `b`, with `linalg.index d` as `loops[d]`; returns the value
/// the body yields first.
mlir::Value cloneBodyAt(mlir::OpBuilder &b, mlir::Block *body, mlir::IRMapping &map,
                        mlir::ValueRange loops);

} // namespace kiln

#endif // KILN_LIB_CODEGEN_GENERICBODY_H
