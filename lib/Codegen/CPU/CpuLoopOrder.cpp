//===- CpuLoopOrder.cpp - contiguous innermost loops for reductions ------===//
#include "kiln/Codegen/CPU/Gemm.h"
#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "kiln-cpu-loop-order"

namespace kiln {
#define GEN_PASS_DEF_CPULOOPORDER
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The loop order that puts output dimension `j` (the output's innermost)
/// innermost, after the reduction loops; empty if it does not pay.
SmallVector<unsigned> innermostOutputOrder(linalg::LinalgOp op) {
  if (op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1)
    return {};
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (outMap.getNumResults() == 0)
    return {};
  auto last = dyn_cast<AffineDimExpr>(outMap.getResults().back());
  if (!last)
    return {};
  unsigned j = last.getPosition();
  unsigned n = op.getNumLoops();
  if (j == n - 1)
    return {};
  // Every input that uses j must use it in its innermost dimension, so the
  // new inner loop walks memory contiguously (or with a small stride).
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap m = op.getMatchingIndexingMap(in);
    bool uses = false;
    for (AffineExpr e : m.getResults())
      uses |= e.isFunctionOfDim(j);
    if (uses && (m.getNumResults() == 0 || !m.getResults().back().isFunctionOfDim(j))) {
      LLVM_DEBUG(llvm::dbgs() << "order kept (input " << in->getOperandNumber()
                              << " walks the output's innermost dimension with a stride) at "
                              << op->getLoc() << "\n");
      return {};
    }
  }
  SmallVector<unsigned> order;
  auto iters = op.getIteratorTypesArray();
  for (unsigned d = 0; d < n; ++d)
    if (d != j && iters[d] == utils::IteratorType::parallel)
      order.push_back(d);
  for (unsigned d = 0; d < n; ++d)
    if (iters[d] == utils::IteratorType::reduction)
      order.push_back(d);
  order.push_back(j);
  return order;
}

struct CpuLoopOrderPass : public kiln::impl::CpuLoopOrderBase<CpuLoopOrderPass> {
  void runOnOperation() override {
    // One rewrite per op, in a single walk: no fixpoint iteration needed.
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      // A convolution the runtime runs keeps its named form for the call.
      if (kiln::matchCpuConv(op))
        continue;
      SmallVector<unsigned> order = innermostOutputOrder(op);
      if (order.empty())
        continue;
      rewriter.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        auto g = linalg::generalizeNamedOp(rewriter, op);
        if (failed(g)) {
          LLVM_DEBUG(llvm::dbgs() << "order kept (cannot generalize " << op->getName() << ")\n");
          continue;
        }
        generic = *g;
      }
      (void)linalg::interchangeGenericOp(rewriter, generic, order);
    }
  }
};

} // namespace
