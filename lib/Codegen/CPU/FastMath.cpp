//===- FastMath.cpp - vectorizable erf and tanh for CPU kernels -----------===//
#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_CPUFASTMATH
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct CpuFastMathPass : public kiln::impl::CpuFastMathBase<CpuFastMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // erf (GELU) and tanh: polynomial approximations made of arithmetic,
    // which LLVM vectorizes with the loop around them; libm's erff and
    // tanhf are scalar calls.
    populatePolynomialApproximateErfPattern(patterns);
    populatePolynomialApproximateTanhPattern(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
