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
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Codegen/GPU/Strategies.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"

namespace kiln {
#define GEN_PASS_DEF_GPUREDUCTION
#include "kiln/Codegen/GPU/Passes.h.inc"
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

/// A reduction over one loop that a block per row can compute.
struct RowReduction {
  int64_t r = -1, k = 0, rows = 1;
  SmallVector<int64_t> ranges;
  OpOperand *init = nullptr;
  FloatType elemType;
  AffineMap outMap;
  Combiner comb;
};

std::optional<RowReduction> matchRowReduction(linalg::GenericOp op, int64_t minRowSize,
                                              std::string &why) {
  auto fail = [&](const char *reason) -> std::optional<RowReduction> {
    why = reason;
    return std::nullopt;
  };
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1)
    return fail("not on buffers with one output");
  // Contractions (matmul-like) belong to the contraction strategies.
  if (linalg::isaContractionOpInterface(op) ||
      kiln::getKernelKind(op) == kiln::KernelKind::Contraction)
    return fail("part of a contraction");
  RowReduction m;
  for (auto [i, it] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (it != utils::IteratorType::reduction)
      continue;
    if (m.r >= 0)
      return fail("more than one reduction loop");
    m.r = i;
  }
  if (m.r < 0)
    return fail("no reduction loop");
  m.ranges = op.getStaticLoopRanges();
  if (llvm::any_of(m.ranges, ShapedType::isDynamic))
    return fail("dynamic loop ranges");
  m.k = m.ranges[m.r];
  if (m.k < minRowSize)
    return fail("rows shorter than the minimum row size");
  m.init = op.getDpsInitOperand(0);
  auto outType = dyn_cast<MemRefType>(m.init->get().getType());
  m.elemType = outType ? dyn_cast<FloatType>(outType.getElementType()) : FloatType();
  if (!m.elemType || !m.elemType.isF32())
    return fail("not an f32 result");
  m.outMap = op.getMatchingIndexingMap(m.init);
  if (m.outMap.isFunctionOfDim(m.r) || !m.outMap.isProjectedPermutation())
    return fail("the output is not a projection of the parallel loops");
  auto comb = matchCombiner(op);
  if (failed(comb))
    return fail("the combiner is not addf, maximumf, minimumf, maxnumf or minnumf");
  m.comb = *comb;
  for (auto [i, n] : llvm::enumerate(m.ranges))
    if ((int64_t)i != m.r)
      m.rows *= n;
  return m;
}

/// Threads per row: a warp for rows under 256 elements, else 256.
int64_t rowThreads(int64_t k) { return k >= 256 ? 256 : 32; }

struct GpuReductionPass : public kiln::impl::GpuReductionBase<GpuReductionPass> {
  using GpuReductionBase::GpuReductionBase;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> chosen;
    getOperation().walk([&](linalg::GenericOp op) {
      if (kiln::hasStrategy(op, kiln::StrategyKind::Reduction))
        chosen.push_back(op);
    });
    for (linalg::GenericOp op : chosen) {
      std::string why;
      std::optional<RowReduction> m = matchRowReduction(op, /*minRowSize=*/1, why);
      if (!m) {
        op.emitError("the reduction strategy chosen for this op does not apply: ") << why;
        return signalPassFailure();
      }
      rewrite(op, *m, kiln::getStrategy(op).getThreads());
    }
  }

  void rewrite(linalg::GenericOp op, const RowReduction &m, int64_t threads) {
    int64_t r = m.r, k = m.k, rows = m.rows;
    ArrayRef<int64_t> ranges = m.ranges;
    OpOperand *init = m.init;
    FloatType elemType = m.elemType;
    AffineMap outMap = m.outMap;
    const Combiner *comb = &m.comb;
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
    if (Attribute strategy = op->getAttr(kiln::kStrategyAttr))
      launch->setAttr(kiln::kStrategyAttr, strategy);
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

    // Within a warp: upstream's subgroup reduction. Across warps: through
    // shared memory by hand, since upstream's gpu.all_reduce lowering only
    // applies to outlined kernels and this runs on gpu.launch bodies.
    auto warpReduce = [&](Value v) { return kiln::warpReduce(b, loc, v, comb->op); };
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

std::optional<int64_t> kiln::chooseReduction(linalg::GenericOp op, int64_t minRowSize,
                                                  std::string &why) {
  std::optional<RowReduction> m = matchRowReduction(op, minRowSize, why);
  if (!m)
    return std::nullopt;
  return rowThreads(m->k);
}

Value kiln::warpReduce(OpBuilder &b, Location loc, Value v, Operation *combiner) {
  std::optional<gpu::AllReduceOperation> kind =
      llvm::TypeSwitch<Operation *, std::optional<gpu::AllReduceOperation>>(combiner)
          .Case([](arith::AddFOp) { return gpu::AllReduceOperation::ADD; })
          .Case([](arith::MaximumFOp) { return gpu::AllReduceOperation::MAXIMUMF; })
          .Case([](arith::MinimumFOp) { return gpu::AllReduceOperation::MINIMUMF; })
          .Case([](arith::MaxNumFOp) { return gpu::AllReduceOperation::MAXNUMF; })
          .Case([](arith::MinNumFOp) { return gpu::AllReduceOperation::MINNUMF; })
          .Default([](Operation *) { return std::nullopt; });
  if (!kind)
    return Value();
  return gpu::SubgroupReduceOp::create(b, loc, v, *kind, /*uniform=*/true);
}
