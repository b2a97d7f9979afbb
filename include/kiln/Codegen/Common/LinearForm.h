//===- LinearForm.h - affine index expressions as linear forms -*- C++ -*-===//
//
// The GPU strategies that prove accesses thread- or row-local compare the
// element offsets that ops reach in a buffer: each an affine function of
// the op's loops, kept as offset + sum(coef[i] * loop_i).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_CODEGEN_LINEARFORM_H
#define KILN_LIB_CODEGEN_LINEARFORM_H

#include "mlir/IR/AffineExpr.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace kiln {

/// offset + sum(coef[i] * d_i) over `coef.size()` loop dimensions.
struct LinearForm {
  int64_t offset = 0;
  llvm::SmallVector<int64_t> coef;
  bool operator==(const LinearForm &o) const {
    return offset == o.offset && coef == o.coef;
  }
};

/// `e` over `numDims` dimensions as a linear form; nullopt when it is not
/// one (floordiv, mod, symbols, a product of two dimension terms).
std::optional<LinearForm> linearize(mlir::AffineExpr e, unsigned numDims);

} // namespace kiln

#endif // KILN_LIB_CODEGEN_LINEARFORM_H
