//===- CpuParallelize.cpp - every remaining kernel on the thread pool -----===//
#include "kiln/Codegen/CPU/Gemm.h"
#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "kiln-cpu-parallelize"

namespace kiln {
#define GEN_PASS_DEF_CPUPARALLELIZE
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Whether `op` is a runtime convolution (implicit GEMM or depthwise).
bool isRuntimeConv(Operation *op) {
  auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(op);
  return linalgOp && (kiln::matchCpuConv(linalgOp) || kiln::matchCpuDepthwise(linalgOp));
}

/// Whether `op` is what a runtime convolution's call takes into its store
/// (kiln-cpu-contraction-to-call): the fill or broadcast that gives the
/// convolution's output its start value, or an elementwise op on the
/// convolution's result made of adds, maxima and minima. Those stay whole
/// ops next to the convolution; the call runs them on the thread pool.
bool foldsIntoRuntimeConv(linalg::LinalgOp op) {
  if (op->getNumResults() != 1)
    return false;
  if (isa<linalg::FillOp, linalg::BroadcastOp>(op.getOperation()) ||
      (isa<linalg::GenericOp>(op.getOperation()) && op.getNumDpsInputs() == 1 &&
       op.getNumReductionLoops() == 0 &&
       op.getBlock()->getTerminator()->getOperand(0) == op.getBlock()->getArgument(0))) {
    for (OpOperand &use : op->getResult(0).getUses())
      if (isRuntimeConv(use.getOwner()) &&
          cast<linalg::LinalgOp>(use.getOwner()).isDpsInit(&use))
        return true;
    return false;
  }
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || generic.getNumReductionLoops() != 0 || generic.getNumDpsInputs() > 2 ||
      !llvm::any_of(generic.getDpsInputs(),
                    [](Value v) { return isRuntimeConv(v.getDefiningOp()); }))
    return false;
  for (Operation &inner : generic.getRegion().front().without_terminator())
    if (!isa<arith::ConstantOp, arith::AddFOp, arith::MaximumFOp, arith::MinimumFOp>(inner))
      return false;
  return true;
}

struct CpuParallelizePass : public kiln::impl::CpuParallelizeBase<CpuParallelizePass> {
  using CpuParallelizeBase::CpuParallelizeBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<linalg::LinalgOp> ops;
    for (Operation &op : func.getBody().getOps())
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(&op))
        ops.push_back(linalgOp);
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      SmallVector<OpFoldResult> sizes = tileSizes(op, rewriter);
      if (sizes.empty())
        continue;
      auto tileable = dyn_cast<TilingInterface>(op.getOperation());
      if (!tileable)
        continue;
      scf::SCFTilingOptions options;
      options.setTileSizes(sizes);
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      rewriter.setInsertionPoint(op);
      auto tiled = scf::tileUsingSCF(rewriter, tileable, options);
      if (failed(tiled)) {
        LLVM_DEBUG(llvm::dbgs() << "left serial (tiling failed): " << op->getName() << " at "
                                << op.getLoc() << "\n");
        continue;
      }
      rewriter.replaceOp(op, tiled->replacements);
    }
  }

  /// Tiles of the outer parallel loops, so that there are about
  /// `minTasks` of them (whole innermost rows stay in a tile, so the row
  /// loop still vectorizes); empty to leave `op` serial: too little work,
  /// dynamic sizes, not on tensors, or a contraction that the runtime GEMM
  /// parallelizes itself.
  SmallVector<OpFoldResult> tileSizes(linalg::LinalgOp op, OpBuilder &b) {
    if (!op.hasPureTensorSemantics() || op.getNumLoops() == 0 || op->getNumResults() == 0 ||
        kiln::isCpuRuntimeCall(op) || foldsIntoRuntimeConv(op))
      return {};
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic))
      return {};
    int64_t work = 1;
    for (int64_t r : ranges)
      work *= std::max<int64_t>(r, 1);
    if (work < minWork)
      return {};
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    SmallVector<OpFoldResult> sizes(ranges.size(), b.getIndexAttr(0));
    int64_t tasks = 1;
    bool any = false;
    // The last loop is the contiguous row: never split.
    for (unsigned d = 0; d + 1 < ranges.size() && tasks < minTasks; ++d) {
      if (iterators[d] != utils::IteratorType::parallel || ranges[d] <= 1)
        continue;
      int64_t wanted = (minTasks + tasks - 1) / tasks;
      if (ranges[d] <= wanted) {
        sizes[d] = b.getIndexAttr(1);
        tasks *= ranges[d];
      } else {
        int64_t size = (ranges[d] + wanted - 1) / wanted;
        sizes[d] = b.getIndexAttr(size);
        tasks *= (ranges[d] + size - 1) / size;
      }
      any = true;
    }
    if (!any || tasks < 2)
      return {};
    return sizes;
  }
};

} // namespace
