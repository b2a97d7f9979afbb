//===- LinearForm.cpp - affine index expressions as linear forms ---------===//
#include "kiln/Codegen/Common/LinearForm.h"

#include "mlir/Analysis/FlatLinearValueConstraints.h"

using namespace mlir;

std::optional<kiln::LinearForm> kiln::linearize(AffineExpr e, unsigned numDims) {
  // Symbols have no place in a linear form over loops.
  bool hasSymbol = false;
  e.walk([&](AffineExpr x) { hasSymbol |= isa<AffineSymbolExpr>(x); });
  if (hasSymbol)
    return std::nullopt;
  // Upstream flattening: [coefficients of the dims, of local variables
  // (one per floordiv or mod), constant]. Local variables are not linear.
  SmallVector<int64_t> flat;
  if (failed(getFlattenedAffineExpr(e, numDims, /*numSymbols=*/0, &flat)) ||
      flat.size() != numDims + 1)
    return std::nullopt;
  LinearForm l;
  l.coef.assign(flat.begin(), flat.begin() + numDims);
  l.offset = flat.back();
  return l;
}
