//===- GpuParallelOuter.cpp - no host loops in the direct GPU mapping ----===//
#include "kiln/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_GPUPARALLELOUTER
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct GpuParallelOuterPass
    : public kiln::impl::GpuParallelOuterBase<GpuParallelOuterPass> {
  using GpuParallelOuterBase::GpuParallelOuterBase;

  void interchange() {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) { ops.push_back(op); });
    for (linalg::GenericOp op : ops) {
      SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
      SmallVector<unsigned> parallel, reduction;
      for (auto [i, it] : llvm::enumerate(iterators))
        (it == utils::IteratorType::parallel ? parallel : reduction).push_back(i);
      if (parallel.empty() || reduction.empty() ||
          llvm::all_of(reduction, [&](unsigned r) { return r > parallel.back(); }))
        continue;
      // New loop i is old loop order[i]: parallel loops first.
      SmallVector<unsigned> order(parallel);
      order.append(reduction.begin(), reduction.end());
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order))) {
        op.emitOpError("cannot move its parallel loops outside its reductions");
        return signalPassFailure();
      }
    }
  }

  /// Linalg ops without a parallel loop (full reductions, rank-0 fills and
  /// elementwise ops) go into a one-iteration scf.parallel: one GPU thread.
  void wrap() {
    OpBuilder builder(&getContext());
    SmallVector<linalg::LinalgOp> ops;
    for (Block &block : getOperation().getBody())
      for (Operation &op : block)
        if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
          if (linalgOp.hasPureBufferSemantics() &&
              linalgOp.getNumParallelLoops() == 0)
            ops.push_back(linalgOp);
    for (linalg::LinalgOp op : ops) {
      builder.setInsertionPoint(op);
      Location loc = op.getLoc();
      Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
      Value one = arith::ConstantIndexOp::create(builder, loc, 1);
      auto parallel = scf::ParallelOp::create(builder, loc, ValueRange{zero},
                                              ValueRange{one}, ValueRange{one});
      op->moveBefore(parallel.getBody()->getTerminator());
    }
  }

  void runOnOperation() override {
    interchange();
    wrap();
  }
};
} // namespace
