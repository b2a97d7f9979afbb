//===- GemmCall.cpp - f32 contractions as calls to the runtime's GEMM -----===//
#include "kiln/Codegen/CPU/Gemm.h"
#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "kiln-cpu-contraction-to-call"

namespace kiln {
#define GEN_PASS_DEF_CPUCONTRACTIONTOCALL
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

static constexpr const char *kGemmFunction = "kiln_cpu_sgemm";

std::optional<kiln::CpuGemmLoops> kiln::matchCpuGemm(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op) || op.hasIndexSemantics())
    return std::nullopt;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<ShapedType>(operand.get().getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        type.getRank() != op.getMatchingIndexingMap(&operand).getNumResults())
      return std::nullopt;
  }
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims) || dims->k.size() != 1 ||
      op.getNumLoops() !=
          dims->k.size() + dims->m.size() + dims->n.size() + dims->batch.size())
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  // M and N are the innermost m and n loops; any other loop longer than 1
  // (a batch loop, or an outer m or n loop such as the image index of an
  // im2col convolution) becomes the one batch loop, with stride 0 in the
  // operand that does not walk it.
  CpuGemmLoops loops;
  loops.k = dims->k.front();
  SmallVector<int64_t> outer;
  auto pick = [&](ArrayRef<unsigned> list, int64_t &chosen) {
    for (unsigned d : llvm::reverse(list)) {
      if (chosen < 0)
        chosen = d;
      else if (ranges[d] > 1)
        outer.push_back(d);
    }
  };
  pick(dims->m, loops.m);
  pick(dims->n, loops.n);
  for (unsigned d : dims->batch)
    if (ranges[d] > 1)
      outer.push_back(d);
  if (outer.size() > 1)
    return std::nullopt;
  if (!outer.empty())
    loops.batch = outer.front();
  // Below a few thousand multiply-adds the call and packing cost more than
  // the inline register blocks.
  int64_t work = 1;
  for (int64_t size : ranges)
    work *= size;
  if (work < 4096)
    return std::nullopt;
  return loops;
}

namespace {

struct CpuContractionToCallPass
    : public kiln::impl::CpuContractionToCallBase<CpuContractionToCallPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, kiln::CpuGemmLoops>> gemms;
    module.walk([&](linalg::LinalgOp op) {
      if (!op.hasPureBufferSemantics())
        return;
      if (auto loops = kiln::matchCpuGemm(op))
        gemms.push_back({op, *loops});
    });
    if (gemms.empty())
      return;
    OpBuilder b(module.getBodyRegion());
    auto callee = module.lookupSymbol<func::FuncOp>(kGemmFunction);
    if (!callee) {
      b.setInsertionPointToEnd(module.getBody());
      SmallVector<Type> args(16, b.getIndexType());
      callee = func::FuncOp::create(b, module.getLoc(), kGemmFunction,
                                    b.getFunctionType(args, {}));
      callee.setPrivate();
    }
    for (auto [op, loops] : gemms)
      rewrite(op, loops, callee);
  }

  void rewrite(linalg::LinalgOp op, const kiln::CpuGemmLoops &loops, func::FuncOp callee) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto constant = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    auto size = [&](int64_t loop) { return constant(loop < 0 ? 1 : ranges[loop]); };
    SmallVector<Value> args{size(loops.batch), size(loops.m), size(loops.n), size(loops.k)};
    // Each operand: its address, then its element stride along the loops
    // it walks (0 along a loop it does not).
    auto addOperand = [&](OpOperand &operand, std::array<int64_t, 3> order) {
      Value memref = operand.get();
      auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
      Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
      Value offsetBytes = arith::MulIOp::create(b, loc, meta.getOffset(), constant(4));
      args.push_back(arith::AddIOp::create(b, loc, base, offsetBytes));
      AffineMap map = op.getMatchingIndexingMap(&operand);
      for (int64_t loop : order) {
        Value stride = constant(0);
        for (unsigned i = 0; i < map.getNumResults(); ++i)
          if (loop >= 0 && map.getDimPosition(i) == (unsigned)loop)
            stride = meta.getStrides()[i];
        args.push_back(stride);
      }
    };
    addOperand(*op.getDpsInputOperand(0), {loops.batch, loops.m, loops.k});
    addOperand(*op.getDpsInputOperand(1), {loops.batch, loops.k, loops.n});
    addOperand(*op.getDpsInitOperand(0), {loops.batch, loops.m, loops.n});
    func::CallOp::create(b, loc, callee, args);
    LLVM_DEBUG(llvm::dbgs() << "runtime GEMM call for " << op->getName() << " at " << loc
                            << "\n");
    op->erase();
  }
};

} // namespace
