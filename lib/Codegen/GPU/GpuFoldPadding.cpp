//===- GpuFoldPadding.cpp - padded window inputs read in place -----------===//
//
// A convolution or pooling with pads reads a padded copy of its input.
// After bufferization that copy is a buffer P, filled with the pad value,
// whose interior (one subview) receives a memref.copy of the input X: on
// the GPU a fill kernel and a strided copy before every padded window op.
//
// The fill is still a linalg op when the strategies start, and the readers
// are only loads once they are done, so the rewrite has two halves:
// kiln-gpu-mark-padding (before the strategies) decides which buffers
// qualify and gives their fill a form no strategy takes, a tagged store
// loop; kiln-gpu-fold-padding (after them) replaces every load of P by a
// predicated load of X, and every one-element asynchronous copy from P
// (the pipelined contraction's window gathers; zero pads only) by a copy
// from X whose source size is 0 outside it, and removes the fill, the copy
// and P. Both halves
// check the same structure, so the second is correct on its own and the
// first only chooses. They share that check, hence one file.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/Common/Padding.h"
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Codegen/GPU/Passes.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_GPUMARKPADDING
#define GEN_PASS_DEF_GPUFOLDPADDING
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

using kiln::constantFloat;
using kiln::linalgFillValue;
using kiln::PaddedBuffer;
using kiln::UseKind;

namespace {

/// A barrier and the commit and wait of asynchronous copies only order
/// accesses (the copies' writes are their own effects).
bool gpuOrderingOnly(Operation *op) {
  return isa<gpu::BarrierOp, nvgpu::DeviceAsyncCreateGroupOp, nvgpu::DeviceAsyncWaitOp>(op);
}

std::optional<PaddedBuffer>
matchPadded(memref::AllocOp alloc,
            function_ref<UseKind(OpOperand &, Operation *top)> classify) {
  return kiln::matchPadded(alloc, classify, gpuOrderingOnly);
}

constexpr StringLiteral kFillTag = "kiln.padding_fill";

/// Whether `read` is the input of a window op (reduction loops, and an
/// input index that combines loops, like y * stride + ky) whose combiner
/// has `pad` as its identity: 0 for sums (of products: convolutions,
/// average pooling), -inf for maxima (max pooling).
bool padIsIdentity(OpOperand &read, FloatAttr pad) {
  auto reader = cast<linalg::LinalgOp>(read.getOwner());
  if (reader.getNumReductionLoops() == 0 || reader->getNumResults() != 0 ||
      llvm::all_of(reader.getMatchingIndexingMap(&read).getResults(),
                   [](AffineExpr e) { return isa<AffineDimExpr, AffineConstantExpr>(e); }))
    return false;
  Operation *yield = reader.getBlock()->getTerminator();
  if (yield->getNumOperands() != 1)
    return false;
  Operation *combiner = yield->getOperand(0).getDefiningOp();
  if (!combiner)
    return false;
  const APFloat &v = pad.getValue();
  if (isa<arith::AddFOp>(combiner))
    return v.isPosZero();
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combiner))
    return v.isInfinity() && v.isNegative();
  return false;
}

struct GpuMarkPaddingPass : kiln::impl::GpuMarkPaddingBase<GpuMarkPaddingPass> {
  void runOnOperation() override {
    SmallVector<memref::AllocOp> allocs;
    getOperation().walk([&](memref::AllocOp a) { allocs.push_back(a); });
    for (memref::AllocOp alloc : allocs) {
      Value buffer = alloc.getResult();
      FloatAttr pad;
      bool readersOk = true;
      auto classify = [&](OpOperand &use, Operation *top) {
        Operation *user = use.getOwner();
        if (user != top)
          return UseKind::Other;
        if (FloatAttr v = linalgFillValue(user, buffer)) {
          pad = v;
          return UseKind::Fill;
        }
        auto reader = dyn_cast<linalg::LinalgOp>(user);
        if (reader && reader.hasPureBufferSemantics() && reader.isDpsInput(&use))
          return UseKind::Read;
        return UseKind::Other;
      };
      std::optional<PaddedBuffer> p = matchPadded(alloc, classify);
      if (!p)
        continue;
      for (OpOperand *read : p->reads)
        readersOk &= padIsIdentity(*read, pad);
      if (!readersOk)
        continue;

      // The same fill as a store loop over P that the strategies leave.
      OpBuilder b(p->fill);
      Location loc = p->fill->getLoc();
      MemRefType type = alloc.getType();
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      SmallVector<Value> lbs(type.getRank(), zero), steps(type.getRank(), one), ubs;
      for (int64_t s : type.getShape())
        ubs.push_back(arith::ConstantIndexOp::create(b, loc, s));
      auto loop = scf::ParallelOp::create(
          b, loc, lbs, ubs, steps, [&](OpBuilder &b, Location loc, ValueRange ivs) {
            Value v = arith::ConstantOp::create(b, loc, pad);
            memref::StoreOp::create(b, loc, v, buffer, ivs);
          });
      loop->setAttr(kFillTag, b.getUnitAttr());
      p->fill->erase();
    }
  }
};

/// The pad value of a tagged fill loop whose body only stores it to all of
/// one buffer (its store is returned in `store`), or null.
FloatAttr taggedFillValue(scf::ParallelOp loop, memref::StoreOp &store) {
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (isMemoryEffectFree(&op))
      continue;
    auto s = dyn_cast<memref::StoreOp>(op);
    if (!s || store)
      return {};
    store = s;
  }
  if (!store || loop.getNumReductions() != 0)
    return {};
  auto type = dyn_cast<MemRefType>(store.getMemRef().getType());
  if (!type || !type.hasStaticShape() || loop.getNumLoops() != type.getShape().size() ||
      !llvm::equal(store.getIndices(), loop.getInductionVars()))
    return {};
  for (auto [lb, ub, step, s] : llvm::zip(loop.getLowerBound(), loop.getUpperBound(),
                                          loop.getStep(), type.getShape())) {
    if (getConstantIntValue(lb) != 0 || getConstantIntValue(ub) != s ||
        getConstantIntValue(step) != 1)
      return {};
  }
  return constantFloat(store.getValueToStore());
}

struct GpuFoldPaddingPass : kiln::impl::GpuFoldPaddingBase<GpuFoldPaddingPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> fills;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (loop->hasAttr(kFillTag))
        fills.push_back(loop);
    });
    for (scf::ParallelOp loop : fills) {
      loop->removeAttr(kFillTag);
      memref::StoreOp store;
      FloatAttr pad = taggedFillValue(loop, store);
      auto alloc = store ? store.getMemRef().getDefiningOp<memref::AllocOp>() : nullptr;
      if (!pad || !alloc)
        continue;
      std::optional<PaddedBuffer> p =
          matchPadded(alloc, [&](OpOperand &use, Operation *top) {
            if (use.getOwner() == store.getOperation())
              return UseKind::Fill;
            if (isa<memref::LoadOp>(use.getOwner()) && top != loop.getOperation())
              return UseKind::Read;
            // cp.async zero-fills what it does not read: zero pads only.
            if (auto copy = dyn_cast<nvgpu::DeviceAsyncCopyOp>(use.getOwner()))
              if (&use == &copy.getSrcMutable() && copy.getDstElements().getZExtValue() == 1 &&
                  pad.getValue().isZero() && top != loop.getOperation())
                return UseKind::Read;
            return UseKind::Other;
          });
      if (p)
        fold(*p, pad);
    }
  }

  /// P[i] becomes X[i - low] inside the interior and the pad value outside,
  /// with the index into X clamped to 0 where it would leave X.
  void fold(PaddedBuffer &p, FloatAttr pad) {
    Value x = p.copy.getSource();
    ArrayRef<int64_t> shape = p.alloc.getType().getShape();
    for (OpOperand *read : p.reads) {
      Operation *reader = read->getOwner();
      auto copy = dyn_cast<nvgpu::DeviceAsyncCopyOp>(reader);
      OpBuilder b(reader);
      Location loc = reader->getLoc();
      Value inside;
      SmallVector<Value> idx;
      ValueRange indices = copy ? copy.getSrcIndices()
                                : cast<memref::LoadOp>(reader).getIndices();
      for (auto [d, i] : llvm::enumerate(indices)) {
        if (p.low[d] == 0 && p.size[d] == shape[d]) {
          idx.push_back(i);
          continue;
        }
        Value j = i;
        if (p.low[d] != 0)
          j = arith::SubIOp::create(b, loc, i,
                                    arith::ConstantIndexOp::create(b, loc, p.low[d]));
        // i < low wraps around to a huge unsigned value.
        Value ok = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, j,
                                         arith::ConstantIndexOp::create(b, loc, p.size[d]));
        idx.push_back(arith::SelectOp::create(
            b, loc, ok, j, arith::ConstantIndexOp::create(b, loc, 0)));
        inside = inside ? arith::AndIOp::create(b, loc, inside, ok).getResult() : ok;
      }
      if (copy) {
        // One element read from X inside, none (a zero) outside.
        Value n = copy.getSrcElements() ? copy.getSrcElements()
                                        : arith::ConstantIndexOp::create(b, loc, 1).getResult();
        if (inside)
          n = arith::SelectOp::create(b, loc, inside, n,
                                      arith::ConstantIndexOp::create(b, loc, 0));
        auto folded = nvgpu::DeviceAsyncCopyOp::create(
            b, loc, copy.getAsyncToken().getType(), copy.getDst(), copy.getDstIndices(), x, idx,
            copy.getDstElementsAttr(), n, copy.getBypassL1Attr());
        copy.getAsyncToken().replaceAllUsesWith(folded.getAsyncToken());
        copy.erase();
        continue;
      }
      auto load = cast<memref::LoadOp>(reader);
      Value v = memref::LoadOp::create(b, loc, x, idx);
      if (inside)
        v = arith::SelectOp::create(b, loc, inside, v,
                                    arith::ConstantOp::create(b, loc, pad));
      load.replaceAllUsesWith(v);
      load.erase();
    }
    memref::SubViewOp view = p.interior;
    p.copy.erase();
    view.erase();
    p.fill->erase();
    for (Operation *user : llvm::make_early_inc_range(p.alloc->getUsers()))
      user->erase(); // deallocs
    p.alloc.erase();
  }
};

} // namespace
