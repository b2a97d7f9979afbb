//===- InlineKernels.cpp - dissolve kernel groups into tagged ops --------===//
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_INLINEKERNELS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {
struct InlineKernelsPass : kiln::impl::InlineKernelsBase<InlineKernelsPass> {
  void runOnOperation() override {
    SmallVector<KernelOp> kernels;
    getOperation().walk([&](KernelOp k) { kernels.push_back(k); });
    IRRewriter rewriter(&getContext());
    for (auto [index, kernel] : llvm::enumerate(kernels)) {
      Block &body = kernel.getBody().front();
      auto yield = cast<YieldOp>(body.getTerminator());
      for (Operation &op : body.without_terminator()) {
        if (matchPattern(&op, m_Constant()) || isa<tensor::EmptyOp>(op))
          continue;
        setKernelTag(&op, index, kernel.getKind());
      }
      // A kernel may yield one of its own arguments (an op of the group
      // folded away, e.g. a pad by zero): that value is the kernel's input,
      // since the block's arguments go away when it is inlined.
      SmallVector<Value> results;
      for (Value v : yield.getValues()) {
        auto arg = dyn_cast<BlockArgument>(v);
        results.push_back(arg && arg.getOwner() == &body ? kernel.getInputs()[arg.getArgNumber()]
                                                         : v);
      }
      rewriter.eraseOp(yield);
      rewriter.inlineBlockBefore(&body, kernel, kernel.getInputs());
      rewriter.replaceOp(kernel, results);
    }
  }
};
} // namespace
