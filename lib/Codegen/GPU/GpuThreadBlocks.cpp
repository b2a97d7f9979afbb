//===- GpuThreadBlocks.cpp - parallel loops as grids of thread blocks ----===//
#include "kiln/Codegen/GPU/Passes.h"

#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_GPUTHREADBLOCKS
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct GpuThreadBlocksPass
    : public kiln::impl::GpuThreadBlocksBase<GpuThreadBlocksPass> {
  using GpuThreadBlocksBase::GpuThreadBlocksBase;

  SmallVector<scf::ParallelOp> outermostLoops() {
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    return loops;
  }

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    // Collapsing replaces each loop, so the 1-D loops are collected anew.
    for (scf::ParallelOp loop : outermostLoops()) {
      unsigned rank = loop.getNumLoops();
      if (rank < 2)
        continue;
      std::vector<unsigned> all;
      for (unsigned d = 0; d < rank; ++d)
        all.push_back(d);
      rewriter.setInsertionPoint(loop);
      collapseParallelLoops(rewriter, loop, {all});
    }
    for (scf::ParallelOp flat : outermostLoops()) {
      if (flat.getNumLoops() != 1)
        continue;
      auto lb = getConstantIntValue(flat.getLowerBound()[0]);
      auto ub = getConstantIntValue(flat.getUpperBound()[0]);
      auto step = getConstantIntValue(flat.getStep()[0]);
      int64_t tile = blockSize;
      if (lb && ub && step && *step > 0)
        tile = std::max<int64_t>(1, std::min<int64_t>(tile, (*ub - *lb + *step - 1) / *step));
      if (tile > 1)
        scf::tileParallelLoop(flat, {tile}, /*noMinMaxBounds=*/true);
    }
  }
};
} // namespace
