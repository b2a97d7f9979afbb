//===- LinearForm.cpp - affine index expressions as linear forms ---------===//
#include "LinearForm.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;

std::optional<kiln::LinearForm> kiln::linearize(AffineExpr e, unsigned numDims) {
  LinearForm l;
  l.coef.assign(numDims, 0);
  if (auto d = dyn_cast<AffineDimExpr>(e)) {
    l.coef[d.getPosition()] = 1;
    return l;
  }
  if (auto c = dyn_cast<AffineConstantExpr>(e)) {
    l.offset = c.getValue();
    return l;
  }
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return std::nullopt;
  auto a = linearize(bin.getLHS(), numDims), b = linearize(bin.getRHS(), numDims);
  if (!a || !b)
    return std::nullopt;
  auto isConst = [](const LinearForm &x) {
    return llvm::all_of(x.coef, [](int64_t v) { return v == 0; });
  };
  if (e.getKind() == AffineExprKind::Add) {
    for (unsigned i = 0; i < numDims; ++i)
      l.coef[i] = a->coef[i] + b->coef[i];
    l.offset = a->offset + b->offset;
    return l;
  }
  if (e.getKind() == AffineExprKind::Mul) {
    if (!isConst(*a) && !isConst(*b))
      return std::nullopt;
    const LinearForm &v = isConst(*a) ? *b : *a;
    int64_t s = isConst(*a) ? a->offset : b->offset;
    for (unsigned i = 0; i < numDims; ++i)
      l.coef[i] = v.coef[i] * s;
    l.offset = v.offset * s;
    return l;
  }
  return std::nullopt;
}
