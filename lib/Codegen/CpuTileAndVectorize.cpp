//===- CpuTileAndVectorize.cpp - register-blocked contractions -----------===//
#include "kiln/Codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace kiln {
#define GEN_PASS_DEF_CPUTILEANDVECTORIZE
#include "kiln/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The largest divisor of `size` that is at most `limit`: tiles then cover
/// the dimension exactly and keep static shapes (no masking).
int64_t largestDivisor(int64_t size, int64_t limit) {
  for (int64_t t = std::min(size, limit); t > 1; --t)
    if (size % t == 0)
      return t;
  return 1;
}

struct CpuTileAndVectorizePass
    : public kiln::impl::CpuTileAndVectorizeBase<CpuTileAndVectorizePass> {
  using CpuTileAndVectorizeBase::CpuTileAndVectorizeBase;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> candidates;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && op.hasIndexSemantics() == false &&
          linalg::isaContractionOpInterface(op) && op.getNumLoops() > 0 &&
          llvm::all_of(op.getStaticLoopRanges(),
                       [](int64_t s) { return !ShapedType::isDynamic(s); }))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : candidates) {
      auto dims = linalg::inferContractionDims(op);
      if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty())
        continue;
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      // The innermost m, n and k dims form the register block; every other
      // loop (batch, outer m/n/k dims) tiles by 1.
      unsigned m = dims->m.back(), n = dims->n.back(), k = dims->k.back();
      SmallVector<OpFoldResult> sizes(op.getNumLoops(), rewriter.getIndexAttr(1));
      sizes[m] = rewriter.getIndexAttr(largestDivisor(ranges[m], tileM));
      sizes[n] = rewriter.getIndexAttr(largestDivisor(ranges[n], tileN));
      sizes[k] = rewriter.getIndexAttr(largestDivisor(ranges[k], tileK));
      // Loop order: the unit-tiled loops, then m, n, and k innermost, so one
      // accumulator block is finished before the next starts.
      SmallVector<int64_t> order;
      for (unsigned d = 0; d < op.getNumLoops(); ++d)
        if (d != m && d != n && d != k)
          order.push_back(d);
      order.append({(int64_t)m, (int64_t)n, (int64_t)k});
      scf::SCFTilingOptions options;
      options.setTileSizes(sizes);
      options.setInterchange(order);
      rewriter.setInsertionPoint(op);
      auto tileable = dyn_cast<TilingInterface>(op.getOperation());
      if (!tileable)
        continue;
      auto tiled = scf::tileUsingSCF(rewriter, tileable, options);
      if (failed(tiled))
        continue;
      rewriter.replaceOp(op, tiled->replacements);
      Operation *block = tiled->tiledOps.back();
      rewriter.setInsertionPoint(block);
      auto vectorized = linalg::vectorize(rewriter, block, /*inputVectorSizes=*/{},
                                          /*inputScalableVecDims=*/{}, false, false,
                                          false, /*createNamedContraction=*/true);
      if (succeeded(vectorized))
        rewriter.replaceOp(block, vectorized->replacements);
    }
  }
};

} // namespace
