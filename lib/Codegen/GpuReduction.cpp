//===- GpuReduction.cpp - GPU strategy for row reductions ----------------===//
//
// A reduction over one loop (sum, max, min of any elementwise expression of
// its inputs) becomes one gpu.launch with one block per output element
// ("row"). Each thread folds a strided slice of the row in a register; a
// warp combines its 32 partial results with xor shuffles; with more than
// one warp per row the warps' results meet in shared memory after a
// barrier and the first warp combines them the same way. Rows of fewer than
// 256 elements get one warp, longer rows 256 threads.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_GPUREDUCTION
#include "kiln/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The combining op of a reduction body and its identity, or nothing.
struct Combiner {
  Operation *op = nullptr;
  Value other; // the value folded into the accumulator
};

FailureOr<Combiner> matchCombiner(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return failure();
  Operation *comb = yield.getOperand(0).getDefiningOp();
  if (!comb || comb->getBlock() != &body ||
      !isa<arith::AddFOp, arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
           arith::MinNumFOp>(comb))
    return failure();
  BlockArgument acc = body.getArguments().back();
  if (!acc.hasOneUse())
    return failure();
  Combiner c;
  c.op = comb;
  if (comb->getOperand(0) == acc)
    c.other = comb->getOperand(1);
  else if (comb->getOperand(1) == acc)
    c.other = comb->getOperand(0);
  else
    return failure();
  return c;
}

TypedAttr identityOf(Operation *comb, FloatType t) {
  const llvm::fltSemantics &sem = t.getFloatSemantics();
  if (isa<arith::AddFOp>(comb))
    return FloatAttr::get(t, 0.0);
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(comb))
    return FloatAttr::get(t, APFloat::getInf(sem, /*Negative=*/true));
  return FloatAttr::get(t, APFloat::getInf(sem, /*Negative=*/false));
}

struct GpuReductionPass : public kiln::impl::GpuReductionBase<GpuReductionPass> {
  using GpuReductionBase::GpuReductionBase;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op->getParentOfType<gpu::LaunchOp>() || op->getParentOfType<scf::ParallelOp>() ||
          op->getParentOfType<scf::ForallOp>())
        return;
      candidates.push_back(op);
    });
    for (linalg::GenericOp op : candidates)
      rewrite(op);
  }

  void rewrite(linalg::GenericOp op) {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1)
      return;
    // Contractions (matmul-like) belong to the contraction strategy.
    if (linalg::isaContractionOpInterface(op))
      return;
    if (auto kind = op->getAttrOfType<StringAttr>("kiln.kernel_kind"))
      if (kind.getValue() == "contraction")
        return;
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    int64_t r = -1;
    for (auto [i, it] : llvm::enumerate(iters)) {
      if (it != utils::IteratorType::reduction)
        continue;
      if (r >= 0)
        return; // one reduction loop only
      r = i;
    }
    if (r < 0)
      return;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic))
      return;
    int64_t k = ranges[r];
    if (k < minRowSize)
      return;
    OpOperand *init = op.getDpsInitOperand(0);
    auto outType = dyn_cast<MemRefType>(init->get().getType());
    auto elemType = outType ? dyn_cast<FloatType>(outType.getElementType()) : FloatType();
    if (!elemType || !elemType.isF32())
      return;
    AffineMap outMap = op.getMatchingIndexingMap(init);
    if (outMap.isFunctionOfDim(r) || !outMap.isProjectedPermutation())
      return;
    auto comb = matchCombiner(op);
    if (failed(comb))
      return;
    int64_t rows = 1;
    for (auto [i, n] : llvm::enumerate(ranges))
      if ((int64_t)i != r)
        rows *= n;

    int64_t threads = k >= 256 ? 256 : 32;
    int64_t warps = threads / 32;
    Location loc = op.getLoc();
    OpBuilder b(op);
    auto cst = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
    Value one = cst(1);
    SmallVector<Type> workgroup;
    auto sharedType = MemRefType::get(
        {warps}, elemType,
        MemRefLayoutAttrInterface{},
        gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup));
    if (warps > 1)
      workgroup.push_back(sharedType);
    auto launch = gpu::LaunchOp::create(b, loc, cst(rows), one, one, cst(threads), one, one,
                                        /*dynamicSharedMemorySize=*/nullptr,
                                        /*asyncTokenType=*/nullptr, ValueRange{},
                                        workgroup);
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    Value row = launch.getBlockIds().x;
    Value tid = launch.getThreadIds().x;

    // The row's loop indices, the reduction loop's left open.
    SmallVector<Value> ivs(ranges.size());
    Value rest = row;
    for (int64_t i = ranges.size() - 1; i >= 0; --i) {
      if (i == r)
        continue;
      Value n = cst(ranges[i]);
      ivs[i] = arith::RemUIOp::create(b, loc, rest, n);
      rest = arith::DivUIOp::create(b, loc, rest, n);
    }

    Operation *combOp = comb->op;
    Value identity = arith::ConstantOp::create(b, loc, identityOf(combOp, elemType));
    auto combine = [&](OpBuilder &ob, Value x, Value y) -> Value {
      OperationState state(loc, combOp->getName(), ValueRange{x, y}, {elemType},
                           combOp->getAttrs());
      return ob.create(state)->getResult(0);
    };

    // Each thread folds elements tid, tid + threads, ... of the row.
    auto loop = scf::ForOp::create(b, loc, tid, cst(k), cst(threads), ValueRange{identity});
    {
      OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
      SmallVector<Value> idx(ivs);
      idx[r] = loop.getInductionVar();
      IRMapping map;
      Block &gbody = op.getRegion().front();
      for (OpOperand *in : op.getDpsInputOperands()) {
        AffineMap m = op.getMatchingIndexingMap(in);
        Value v = in->get();
        if (isa<MemRefType>(v.getType())) {
          SmallVector<Value> at;
          for (unsigned e = 0; e < m.getNumResults(); ++e)
            at.push_back(affine::AffineApplyOp::create(lb, loc, m.getSubMap({e}), idx));
          v = memref::LoadOp::create(lb, loc, in->get(), at);
        }
        map.map(gbody.getArgument(in->getOperandNumber()), v);
      }
      for (Operation &o : gbody.without_terminator()) {
        if (&o == combOp)
          continue;
        if (auto index = dyn_cast<linalg::IndexOp>(o)) {
          map.map(index.getResult(), idx[index.getDim()]);
          continue;
        }
        lb.clone(o, map);
      }
      Value x = map.lookupOrDefault(comb->other);
      Value acc = combine(lb, loop.getRegionIterArgs()[0], x);
      scf::YieldOp::create(lb, loc, acc);
    }
    Value partial = loop.getResult(0);

    Type i32 = b.getI32Type();
    auto warpReduce = [&](Value v) {
      Value width = arith::ConstantIntOp::create(b, loc, i32, 32);
      for (int64_t off = 16; off >= 1; off /= 2) {
        Value o = arith::ConstantIntOp::create(b, loc, i32, off);
        auto sh = gpu::ShuffleOp::create(b, loc, v, o, width, gpu::ShuffleMode::XOR);
        v = combine(b, v, sh.getShuffleResult());
      }
      return v;
    };
    Value total = warpReduce(partial);
    Value lane = arith::RemUIOp::create(b, loc, tid, cst(32));
    Value zero = cst(0);
    if (warps > 1) {
      Value shared = body.getArguments().back();
      Value warp = arith::DivUIOp::create(b, loc, tid, cst(32));
      Value isLane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, zero);
      auto store = scf::IfOp::create(b, loc, isLane0, /*withElse=*/false);
      {
        OpBuilder ib = store.getThenBodyBuilder();
        memref::StoreOp::create(ib, loc, total, shared, ValueRange{warp});
      }
      gpu::BarrierOp::create(b, loc);
      // Every lane of the first warp reads one warp's result (or the identity).
      Value has = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, lane, cst(warps));
      Value safeLane = arith::SelectOp::create(b, loc, has, lane, zero);
      Value got = memref::LoadOp::create(b, loc, shared, ValueRange{safeLane});
      Value v = arith::SelectOp::create(b, loc, has, got, identity);
      total = warpReduce(v);
    }
    // Thread 0 folds the total into the output's initial value.
    Value isThread0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, zero);
    auto write = scf::IfOp::create(b, loc, isThread0, /*withElse=*/false);
    {
      OpBuilder ib = write.getThenBodyBuilder();
      SmallVector<Value> at;
      for (AffineExpr e : outMap.getResults())
        at.push_back(ivs[cast<AffineDimExpr>(e).getPosition()]);
      Value old = memref::LoadOp::create(ib, loc, init->get(), at);
      memref::StoreOp::create(ib, loc, combine(ib, old, total), init->get(), at);
    }
    gpu::TerminatorOp::create(b, loc);
    op.erase();
  }
};

} // namespace
