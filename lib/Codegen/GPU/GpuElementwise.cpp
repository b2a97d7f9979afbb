//===- GpuElementwise.cpp - GPU strategy for elementwise ops -------------===//
//
// An elementwise linalg.generic becomes one gpu.launch in which each thread
// computes four consecutive elements at a time: operands read and written
// with the output's own (contiguous, row-major) layout move as one 16-byte
// vector, broadcast operands are read element by element. The grid is
// capped (`max-blocks`) and the threads stride over the vectors, so a large
// tensor does not need a block per 1024 elements; the last n % 4 elements
// are a scalar tail.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Codegen/GPU/Strategies.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_GPUELEMENTWISE
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr int64_t kVector = 4;

bool isContiguous(MemRefType t) {
  return t && t.hasStaticShape() && t.getLayout().isIdentity();
}

/// Whether the vectorized kernel computes `op`: all-parallel on buffers,
/// a contiguous output of 32-bit elements written through the identity,
/// at least one vector of elements, and some buffer input.
bool matchElementwise(linalg::GenericOp op, std::string &why) {
  auto fail = [&](const char *reason) {
    why = reason;
    return false;
  };
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0)
    return fail("not an all-parallel op on buffers with one output");
  // Kernel groups of matmul/conv and their epilogues belong to the
  // contraction strategies.
  if (kiln::getKernelKind(op) == kiln::KernelKind::Contraction)
    return fail("part of a contraction group");
  OpOperand *init = op.getDpsInitOperand(0);
  auto outType = dyn_cast<MemRefType>(init->get().getType());
  if (!isContiguous(outType) || !op.getMatchingIndexingMap(init).isIdentity() ||
      outType.getElementTypeBitWidth() != 32)
    return fail("the output is not a contiguous buffer of 32-bit elements written in order");
  if (outType.getNumElements() < kVector)
    return fail("fewer elements than one vector");
  // A body of constants only would fold into a vector constant that the
  // kernel outlining passes as a 16-byte kernel argument; leave such
  // fills to the direct mapping.
  if (llvm::none_of(op.getDpsInputOperands(), [](OpOperand *o) {
        return isa<MemRefType>(o->get().getType());
      }))
    return fail("no buffer input (a fill)");
  return true;
}

struct GpuElementwisePass : public kiln::impl::GpuElementwiseBase<GpuElementwisePass> {
  using GpuElementwiseBase::GpuElementwiseBase;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> chosen;
    for (Operation &op : getOperation().getBody().getOps())
      if (auto g = dyn_cast<linalg::GenericOp>(op))
        if (kiln::hasStrategy(g, kiln::StrategyKind::Elementwise))
          chosen.push_back(g);
    for (linalg::GenericOp op : chosen) {
      std::string why;
      if (!matchElementwise(op, why)) {
        op.emitError("the elementwise strategy chosen for this op does not apply: ") << why;
        return signalPassFailure();
      }
      rewrite(op);
    }
  }

  void rewrite(linalg::GenericOp op) {
    // Threads per block, as the strategy says.
    const int64_t kThreads = kiln::getStrategy(op).getThreads();
    OpOperand *init = op.getDpsInitOperand(0);
    auto outType = cast<MemRefType>(init->get().getType());
    int64_t n = outType.getNumElements();
    ArrayRef<int64_t> shape = outType.getShape();
    Block &gbody = op.getRegion().front();

    Location loc = op.getLoc();
    OpBuilder b(op);
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    // Operands that move as vectors: the output's layout, 32-bit elements.
    auto flat = [&](Value v) -> Value {
      auto t = cast<MemRefType>(v.getType());
      if (t.getRank() == 1)
        return v;
      SmallVector<ReassociationIndices> all(1);
      for (int64_t i = 0; i < t.getRank(); ++i)
        all[0].push_back(i);
      return memref::CollapseShapeOp::create(b, loc, v, all);
    };
    struct Operand {
      OpOperand *operand;
      Value flat; // set when read as vectors
    };
    SmallVector<Operand> operands;
    for (OpOperand &o : op->getOpOperands()) {
      if (&o == init && gbody.getArgument(o.getOperandNumber()).use_empty())
        continue;
      auto t = dyn_cast<MemRefType>(o.get().getType());
      bool vec = t && isContiguous(t) && t.getShape() == shape &&
                 t.getElementTypeBitWidth() == 32 &&
                 op.getMatchingIndexingMap(&o).isIdentity();
      operands.push_back({&o, vec ? flat(o.get()) : Value()});
    }
    Value outFlat = flat(init->get());

    int64_t vectors = n / kVector, tail = n % kVector;
    int64_t blocks = std::max<int64_t>(
        1, std::min<int64_t>(maxBlocks, (std::max(vectors, tail) + kThreads - 1) / kThreads));
    Value one = cst(b, 1);
    auto launch = gpu::LaunchOp::create(b, loc, cst(b, blocks), one, one, cst(b, kThreads),
                                        one, one);
    if (Attribute strategy = op->getAttr(kiln::kStrategyAttr))
      launch->setAttr(kiln::kStrategyAttr, strategy);
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    Value gid = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, cst(b, kThreads)),
        launch.getThreadIds().x);
    Type elemType = outType.getElementType();
    auto vecType = VectorType::get({kVector}, elemType);

    // The element at flat position e: one scalar result of the body.
    auto computeScalar = [&](OpBuilder &ob, Value e,
                             function_ref<Value(OpBuilder &, const Operand &)> vecElem) {
      SmallVector<Value> idx(shape.size());
      bool needIdx = false;
      for (const Operand &o : operands)
        needIdx |= !o.flat;
      needIdx |= !gbody.getOps<linalg::IndexOp>().empty();
      if (needIdx) {
        Value rest = e;
        for (int64_t i = shape.size() - 1; i >= 0; --i) {
          Value d = cst(ob, shape[i]);
          idx[i] = arith::RemUIOp::create(ob, loc, rest, d);
          rest = arith::DivUIOp::create(ob, loc, rest, d);
        }
      }
      IRMapping map;
      for (const Operand &o : operands) {
        Value v;
        if (o.flat) {
          v = vecElem(ob, o);
        } else if (isa<MemRefType>(o.operand->get().getType())) {
          AffineMap m = op.getMatchingIndexingMap(o.operand);
          SmallVector<Value> at;
          for (unsigned r = 0; r < m.getNumResults(); ++r)
            at.push_back(affine::AffineApplyOp::create(ob, loc, m.getSubMap({r}), idx));
          v = memref::LoadOp::create(ob, loc, o.operand->get(), at);
        } else {
          v = o.operand->get();
        }
        map.map(gbody.getArgument(o.operand->getOperandNumber()), v);
      }
      for (Operation &inner : gbody.without_terminator()) {
        if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
          map.map(index.getResult(), idx[index.getDim()]);
          continue;
        }
        ob.clone(inner, map);
      }
      return map.lookupOrDefault(gbody.getTerminator()->getOperand(0));
    };

    // Grid-stride loop over 16-byte vectors.
    if (vectors > 0) {
      auto loop = scf::ForOp::create(b, loc, gid, cst(b, vectors), cst(b, blocks * kThreads));
      OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
      Value e0 = arith::MulIOp::create(lb, loc, loop.getInductionVar(), cst(lb, kVector));
      llvm::DenseMap<Value, Value> loaded;
      for (const Operand &o : operands)
        if (o.flat) {
          // Each operand's own element type: a cast reads f32 and writes i32.
          auto operandVec = VectorType::get(
              {kVector}, cast<MemRefType>(o.flat.getType()).getElementType());
          loaded[o.flat] = vector::LoadOp::create(lb, loc, operandVec, o.flat, ValueRange{e0},
                                                  /*nontemporal=*/false, llvm::Align(16));
        }
      SmallVector<Value> results;
      for (int64_t j = 0; j < kVector; ++j) {
        Value e = arith::AddIOp::create(lb, loc, e0, cst(lb, j));
        results.push_back(computeScalar(lb, e, [&](OpBuilder &ob, const Operand &o) -> Value {
          return vector::ExtractOp::create(ob, loc, loaded[o.flat], ArrayRef<int64_t>{j});
        }));
      }
      Value res = vector::FromElementsOp::create(lb, loc, vecType, results);
      vector::StoreOp::create(lb, loc, res, outFlat, ValueRange{e0}, /*nontemporal=*/false,
                              llvm::Align(16));
    }
    // The scalar tail: one element per thread.
    if (tail > 0) {
      Value inTail = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, gid, cst(b, tail));
      auto ifOp = scf::IfOp::create(b, loc, inTail, /*withElse=*/false);
      OpBuilder ib = ifOp.getThenBodyBuilder();
      Value e = arith::AddIOp::create(ib, loc, gid, cst(ib, vectors * kVector));
      Value r = computeScalar(ib, e, [&](OpBuilder &ob, const Operand &o) -> Value {
        return memref::LoadOp::create(ob, loc, o.flat, ValueRange{e});
      });
      memref::StoreOp::create(ib, loc, r, outFlat, ValueRange{e});
    }
    gpu::TerminatorOp::create(b, loc);
    op.erase();
  }
};

} // namespace

bool kiln::chooseElementwise(linalg::GenericOp op, std::string &why) {
  return matchElementwise(op, why);
}
