//===- LowerSubgroupReduce.cpp - warp reductions as xor shuffles ---------===//
#include "kiln/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_GPULOWERSUBGROUPREDUCE
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct GpuLowerSubgroupReducePass
    : public kiln::impl::GpuLowerSubgroupReduceBase<GpuLowerSubgroupReducePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // NVIDIA warps are 32 lanes; shuffles move 32 bits.
    populateGpuLowerSubgroupReduceToShufflePatterns(patterns, /*subgroupSize=*/32,
                                                    /*shuffleBitwidth=*/32);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
