//===- CpuTileAndVectorize.cpp - register-blocked contractions -----------===//
#include "kiln/Codegen/CPU/Gemm.h"
#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "kiln-cpu-tile-and-vectorize"

namespace kiln {
#define GEN_PASS_DEF_CPUTILEANDVECTORIZE
#include "kiln/Codegen/CPU/Passes.h.inc"
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
      if (!linalg::isaContractionOpInterface(op))
        return;
      if (gemmCalls && kiln::matchCpuGemm(op)) {
        LLVM_DEBUG(llvm::dbgs() << "left to the runtime GEMM: " << op->getName() << " at "
                                << op->getLoc() << "\n");
        return;
      }
      if (op.hasPureTensorSemantics() && op.hasIndexSemantics() == false &&
          op.getNumLoops() > 0 &&
          llvm::all_of(op.getStaticLoopRanges(),
                       [](int64_t s) { return !ShapedType::isDynamic(s); }))
        candidates.push_back(op);
      else
        LLVM_DEBUG(llvm::dbgs() << "not tiled (not on tensors, index semantics or dynamic "
                                   "loop ranges): "
                                << op->getName() << " at " << op->getLoc() << "\n");
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : candidates) {
      auto dims = linalg::inferContractionDims(op);
      if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty()) {
        LLVM_DEBUG(llvm::dbgs() << "not tiled (no M, N and K dimension): " << op->getName()
                                << " at " << op->getLoc() << "\n");
        continue;
      }
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      // The innermost m, n and k dims form the register block; every other
      // loop (batch, outer m/n/k dims) tiles by 1.
      unsigned m = dims->m.back(), n = dims->n.back(), k = dims->k.back();
      unsigned numLoops = op.getNumLoops();
      auto tileable = dyn_cast<TilingInterface>(op.getOperation());
      if (!tileable)
        continue;

      // Level 1, parallel: an scf.forall over every loop but n and k, with
      // m in register-block steps. Its iterations write disjoint rows, so
      // they may run on different cores.
      SmallVector<OpFoldResult> outer(numLoops, rewriter.getIndexAttr(0));
      for (unsigned d = 0; d < numLoops; ++d)
        if (d != n && d != k && !llvm::is_contained(dims->k, d))
          outer[d] = rewriter.getIndexAttr(1);
      outer[m] = rewriter.getIndexAttr(largestDivisor(ranges[m], tileM));
      scf::SCFTilingOptions parallel;
      parallel.setTileSizes(outer);
      parallel.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      rewriter.setInsertionPoint(op);
      auto rows = scf::tileUsingSCF(rewriter, tileable, parallel);
      if (failed(rows)) {
        LLVM_DEBUG(llvm::dbgs() << "not tiled (row tiling failed) at " << op->getLoc() << "\n");
        continue;
      }
      rewriter.replaceOp(op, rows->replacements);

      // Level 2, sequential: n blocks, then k innermost, so one accumulator
      // block is finished before the next starts.
      auto rowOp = cast<TilingInterface>(rows->tiledOps.back());
      SmallVector<OpFoldResult> inner(numLoops, rewriter.getIndexAttr(0));
      for (unsigned d : dims->k)
        inner[d] = rewriter.getIndexAttr(1);
      for (unsigned d : dims->n)
        inner[d] = rewriter.getIndexAttr(1);
      inner[n] = rewriter.getIndexAttr(largestDivisor(ranges[n], tileN));
      inner[k] = rewriter.getIndexAttr(largestDivisor(ranges[k], tileK));
      SmallVector<int64_t> order;
      for (unsigned d = 0; d < numLoops; ++d)
        if (d != n && d != k)
          order.push_back(d);
      order.append({(int64_t)n, (int64_t)k});
      scf::SCFTilingOptions options;
      options.setTileSizes(inner);
      options.setInterchange(order);
      rewriter.setInsertionPoint(rowOp);
      auto tiled = scf::tileUsingSCF(rewriter, rowOp, options);
      if (failed(tiled)) {
        LLVM_DEBUG(llvm::dbgs() << "register blocks not formed (tiling failed)\n");
        continue;
      }
      rewriter.replaceOp(rowOp, tiled->replacements);
      Operation *block = tiled->tiledOps.back();
      rewriter.setInsertionPoint(block);
      auto vectorized = linalg::vectorize(rewriter, block, /*inputVectorSizes=*/{},
                                          /*inputScalableVecDims=*/{}, false, false,
                                          false, /*createNamedContraction=*/true);
      if (succeeded(vectorized))
        rewriter.replaceOp(block, vectorized->replacements);
      else
        LLVM_DEBUG(llvm::dbgs() << "register block left scalar (vectorization failed) at "
                                << block->getLoc() << "\n");
    }
  }
};

} // namespace
