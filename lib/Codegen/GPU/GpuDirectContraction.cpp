//===- GpuDirectContraction.cpp - a kernel group as one direct launch ----===//
//
// The contraction groups that the tiled strategy does not take (depthwise
// and grouped convolutions, windowed reductions such as pooling) reach the
// direct mapping as several ops that each become their own launch: the
// output's init (a bias broadcast or a fill), the contraction accumulating
// into the output in memory, then each elementwise epilogue op reading and
// writing the output again. Here the whole group becomes one gpu.launch of
// one thread per output element: the init value, the accumulation over the
// reduction loops and the epilogue stay in a register, and each buffer the
// group writes is stored once.
//
// Legality is a comparison of linear element offsets. Every access of an op
// of the group to a buffer that the group writes is composed with that
// buffer's strides into offset + sum(coefficient * loop) (loops and
// dimensions of extent 1 count as 0), and each op's loops are matched to
// the contraction's parallel loops by coefficient and extent. The group is
// taken only if every such access, seen from the thread's output element,
// is that same element: no op reads another thread's element of a buffer
// the group writes, and nothing outside the group between its first and
// last op touches those buffers.
//
// Padded inputs are not this pass's business: kiln-gpu-mark-padding (before
// the strategies) and kiln-gpu-fold-padding (after them) turn the loads
// of a padded copy into predicated loads of the unpadded input, the loads
// of this kernel included, and drop the fill and the copy.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Codegen/GPU/Strategies.h"
#include "llvm/Support/Debug.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "kiln/Codegen/Common/GenericBody.h"

#include "kiln/Codegen/Common/LinearForm.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <functional>

namespace kiln {
#define GEN_PASS_DEF_GPUDIRECTCONTRACTION
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

#define DEBUG_TYPE "kiln-gpu-direct-contraction"

using namespace mlir;

namespace {

// Loop roles in `Member::role`: an index into the thread's parallel loops,
// or one of these.
constexpr int kUnit = -1;      // extent 1: always 0
constexpr int kReduction = -2; // a reduction loop of the contraction

using Linear = kiln::LinearForm;
using kiln::linearize;

/// The element offset (in elements of the root buffer) that `operand` of
/// `op` accesses, over the op's loops.
std::optional<Linear> accessOffset(linalg::LinalgOp op, OpOperand &operand) {
  auto type = cast<MemRefType>(operand.get().getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || ShapedType::isDynamic(offset) ||
      llvm::any_of(strides, ShapedType::isDynamic))
    return std::nullopt;
  AffineMap map = op.getMatchingIndexingMap(&operand);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  Linear total;
  total.offset = offset;
  total.coef.assign(ranges.size(), 0);
  for (unsigned r = 0; r < map.getNumResults(); ++r) {
    if (type.getDimSize(r) == 1)
      continue;
    std::optional<Linear> l = linearize(map.getResult(r), ranges.size());
    if (!l)
      return std::nullopt;
    total.offset += strides[r] * l->offset;
    for (auto [t, c] : llvm::zip(total.coef, l->coef))
      t += strides[r] * c;
  }
  for (auto [c, range] : llvm::zip(total.coef, ranges))
    if (range == 1)
      c = 0;
  return total;
}

/// Whether distinct points of the box `extents` have distinct offsets
/// under `coef` (a mixed-radix check on the coefficients sorted by size).
bool injective(ArrayRef<int64_t> coef, ArrayRef<int64_t> extents) {
  SmallVector<std::pair<int64_t, int64_t>> dims;
  for (auto [c, e] : llvm::zip(coef, extents)) {
    if (e == 1)
      continue;
    if (c == 0)
      return false;
    dims.push_back({std::abs(c), e});
  }
  llvm::sort(dims);
  int64_t reach = 0; // the largest offset difference of the smaller dims
  for (auto [c, e] : dims) {
    if (c <= reach)
      return false;
    reach += c * (e - 1);
  }
  return true;
}

/// One op of the group and the role of each of its loops.
struct Member {
  linalg::LinalgOp op;
  SmallVector<int> role;
};

/// Whether `op` (with what it nests) may write memory; ops of unknown
/// effect may.
bool mayWrite(Operation *op) {
  if (isMemoryEffectFree(op))
    return false;
  if (auto iface = dyn_cast<MemoryEffectOpInterface>(op)) {
    if (!iface.hasEffect<MemoryEffects::Write>() && !iface.hasEffect<MemoryEffects::Free>() &&
        !op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return false;
  }
  return true;
}

/// The roots of every memref value `op` and the ops nested in it use.
llvm::SmallDenseSet<Value> memrefRoots(Operation *op) {
  llvm::SmallDenseSet<Value> roots;
  op->walk([&](Operation *inner) {
    for (Value v : inner->getOperands())
      if (isa<MemRefType>(v.getType()))
        roots.insert(kiln::rootBuffer(v));
  });
  return roots;
}

/// What the rewrite of one group needs, found by its analysis.
struct DirectPlan {
  SmallVector<Member> members;
  linalg::LinalgOp contraction;
  SmallVector<int64_t> extents, outCoef;
  Operation *launchPoint = nullptr;
  SmallVector<linalg::LinalgOp> ops;
};

/// The analysis and the rewrite of one kernel group.
struct DirectContraction {
  /// The group's ops as linalg ops on buffers of static f32 shape, or
  /// empty when any is not.
  SmallVector<linalg::LinalgOp> asLinalg(ArrayRef<Operation *> ops) {
    SmallVector<linalg::LinalgOp> result;
    Block *block = ops.front()->getBlock();
    for (Operation *op : ops) {
      auto l = dyn_cast<linalg::LinalgOp>(op);
      if (!l || op->getBlock() != block || !l.hasPureBufferSemantics() ||
          l.getNumDpsInits() != 1 || op->getNumResults() != 0 ||
          l.hasDynamicShape() || !l.getBlock())
        return {};
      for (OpOperand &o : op->getOpOperands()) {
        auto t = dyn_cast<MemRefType>(o.get().getType());
        Type elem = t ? t.getElementType() : o.get().getType();
        if ((t && !t.hasStaticShape()) || !elem.isF32())
          return {};
      }
      for (Operation &inner : l.getBlock()->without_terminator())
        if (!isMemoryEffectFree(&inner) || inner.getNumRegions() != 0)
          return {};
      result.push_back(l);
    }
    return result;
  }

  /// Which groups this strategy takes: contraction groups left by the
  /// tiled strategy, and reduction groups over windows (several reduction
  /// loops, which kiln-gpu-reduction leaves to the direct mapping).
  bool wanted(linalg::LinalgOp contraction) {
    std::optional<kiln::KernelKind> kind = kiln::getKernelKind(contraction);
    if (kind == kiln::KernelKind::Contraction)
      return true;
    if (kind != kiln::KernelKind::Reduction)
      return false;
    int64_t windowLoops = 0;
    for (auto [it, range] : llvm::zip(contraction.getIteratorTypesArray(),
                                      contraction.getStaticLoopRanges()))
      windowLoops += it == utils::IteratorType::reduction && range > 1;
    return windowLoops > 1;
  }

  /// Proves the group can run as one thread per output element; `plan`
  /// gets what emit() needs, `why` what failed.
  bool analyzeGroup(ArrayRef<Operation *> ops, DirectPlan &plan, std::string &why) {
    auto fail = [&](const char *reason) {
      why = reason;
      return false;
    };
    SmallVector<linalg::LinalgOp> linalgOps = asLinalg(ops);
    if (linalgOps.empty())
      return fail("not all linalg ops on static f32 buffers in one block");
    linalg::LinalgOp contraction;
    for (linalg::LinalgOp op : linalgOps) {
      if (op.getNumReductionLoops() == 0)
        continue;
      if (contraction)
        return fail("more than one op with reduction loops");
      contraction = op;
    }
    if (!contraction)
      return fail("no op with reduction loops");
    if (!wanted(contraction))
      return fail("neither a contraction group nor a windowed reduction");
    // The accumulator starts from the output's value.
    OpOperand *cInit = contraction.getDpsInitOperand(0);
    if (!contraction.payloadUsesValueFromOperand(cInit))
      return fail("the accumulator does not start from the output");

    llvm::SmallDenseSet<Value> written;
    for (linalg::LinalgOp op : linalgOps)
      written.insert(kiln::rootBuffer(op.getDpsInitOperand(0)->get()));

    // The thread's element: the contraction's parallel loops of extent > 1.
    SmallVector<int64_t> cRanges = contraction.getStaticLoopRanges();
    SmallVector<utils::IteratorType> cIters = contraction.getIteratorTypesArray();
    std::optional<Linear> cOut = accessOffset(contraction, *cInit);
    if (!cOut)
      return fail("the output is not a linear access");
    Member cMember{contraction, {}};
    SmallVector<int64_t> extents;
    SmallVector<int64_t> outCoef; // of the thread's loops, in the output
    for (unsigned k = 0; k < cRanges.size(); ++k) {
      if (cRanges[k] == 1) {
        cMember.role.push_back(kUnit);
      } else if (cIters[k] == utils::IteratorType::reduction) {
        if (cOut->coef[k] != 0)
          return fail("the output depends on a reduction loop");
        cMember.role.push_back(kReduction);
      } else {
        cMember.role.push_back(extents.size());
        extents.push_back(cRanges[k]);
        outCoef.push_back(cOut->coef[k]);
      }
    }
    if (!injective(outCoef, extents))
      return fail("output elements are not one per thread");
    // A reduction over everything stays with the direct mapping's
    // one-thread kernel; windows (pooling) have output elements to spread.
    if (extents.empty() &&
        kiln::getKernelKind(contraction) != kiln::KernelKind::Contraction)
      return fail("a reduction over everything (no output elements to spread)");

    // The offset each written buffer is accessed at, over the thread's loops.
    llvm::DenseMap<Value, Linear> element;
    auto toThread = [&](const Linear &l, const Member &m) -> std::optional<Linear> {
      Linear t;
      t.offset = l.offset;
      t.coef.assign(extents.size(), 0);
      for (auto [c, role] : llvm::zip(l.coef, m.role)) {
        if (c == 0)
          continue;
        if (role < 0)
          return std::nullopt; // depends on a reduction loop
        t.coef[role] += c;
      }
      return t;
    };
    // Every access of `m` to a written buffer is the thread's element.
    auto checkAccesses = [&](const Member &m) {
      for (OpOperand &o : m.op->getOpOperands()) {
        if (!isa<MemRefType>(o.get().getType()))
          continue;
        Value root = kiln::rootBuffer(o.get());
        if (!written.contains(root))
          continue;
        // The contraction reads no written buffer except as its output.
        if (m.op == contraction && &o != cInit)
          return false;
        std::optional<Linear> l = accessOffset(m.op, o);
        if (!l)
          return false;
        std::optional<Linear> t = toThread(*l, m);
        if (!t)
          return false;
        auto [it, inserted] = element.try_emplace(root, *t);
        if (inserted ? !injective(t->coef, extents) : !(it->second == *t))
          return false;
      }
      return true;
    };
    element[kiln::rootBuffer(cInit->get())] = toThread(*cOut, cMember).value();

    SmallVector<Member> members;
    for (linalg::LinalgOp op : linalgOps) {
      if (op == contraction) {
        members.push_back(cMember);
        continue;
      }
      // Match the op's loops to the thread's through an access to a buffer
      // whose element is already known.
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      std::optional<Member> matched;
      for (OpOperand &o : op->getOpOperands()) {
        if (!isa<MemRefType>(o.get().getType()))
          continue;
        auto known = element.find(kiln::rootBuffer(o.get()));
        if (known == element.end())
          continue;
        std::optional<Linear> l = accessOffset(op, o);
        if (!l)
          return fail("an access of a group op is not linear");
        Member m{op, {}};
        SmallVector<bool> used(extents.size(), false);
        for (auto [c, range] : llvm::zip(l->coef, ranges)) {
          if (range == 1) {
            m.role.push_back(kUnit);
            continue;
          }
          int found = -1;
          for (unsigned j = 0; j < extents.size(); ++j)
            if (!used[j] && c != 0 && known->second.coef[j] == c && extents[j] == range)
              found = j;
          if (found < 0)
            return fail("a group op's loops do not match the thread's element");
          used[found] = true;
          m.role.push_back(found);
        }
        if (llvm::is_contained(used, false))
          return fail("a group op's loops do not match the thread's element");
        matched = std::move(m);
        break;
      }
      if (!matched)
        return fail("a group op reads no buffer whose element is known");
      members.push_back(std::move(*matched));
    }
    for (const Member &m : members)
      if (!checkAccesses(m))
        return fail("a written buffer is accessed at another element than the thread's");

    // Ops outside the group between its first and last op: none touches a
    // buffer the group writes, and none writes what an earlier op of the
    // group reads (the launch reads it after them).
    Operation *first = linalgOps.front(), *last = linalgOps.back();
    llvm::SmallDenseSet<Operation *> inGroup;
    for (linalg::LinalgOp op : linalgOps)
      inGroup.insert(op);
    llvm::SmallDenseSet<Value> readSoFar;
    for (Operation *op = first; op != last; op = op->getNextNode()) {
      if (inGroup.contains(op)) {
        for (Value r : memrefRoots(op))
          readSoFar.insert(r);
        continue;
      }
      llvm::SmallDenseSet<Value> roots = memrefRoots(op);
      for (Value r : roots) {
        if (written.contains(r))
          return fail("an op between the group's ops touches a buffer the group writes");
        if (mayWrite(op) && readSoFar.contains(r))
          return fail("an op between the group's ops writes what the group reads");
      }
    }

    plan.members = std::move(members);
    plan.contraction = contraction;
    plan.extents = std::move(extents);
    plan.outCoef = std::move(outCoef);
    plan.launchPoint = last;
    plan.ops = std::move(linalgOps);
    return true;
  }

  void rewriteGroup(DirectPlan &plan) {
    emit(plan.members, plan.contraction, plan.extents, plan.outCoef, plan.launchPoint);
    for (linalg::LinalgOp op : plan.ops)
      op->erase();
  }

  void emit(ArrayRef<Member> members, linalg::LinalgOp contraction, ArrayRef<int64_t> extents,
            ArrayRef<int64_t> outCoef, Operation *launchPoint) {
    Location loc = contraction.getLoc();
    OpBuilder b(launchPoint);
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    int64_t n = 1;
    for (int64_t e : extents)
      n *= e;
    // At most the strategy's threads per block.
    int64_t threads = std::min(n, kiln::getStrategy(contraction).getThreads());
    int64_t blocks = (n + threads - 1) / threads;
    Value one = cst(b, 1);
    auto launch = gpu::LaunchOp::create(b, loc, cst(b, blocks), one, one, cst(b, threads), one,
                                        one);
    if (Attribute strategy = contraction->getAttr(kiln::kStrategyAttr))
      launch->setAttr(kiln::kStrategyAttr, strategy);
    b.setInsertionPointToStart(&launch.getBody().front());
    Value tid = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, cst(b, threads)),
        launch.getThreadIds().x);
    if (blocks * threads != n) {
      Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid, cst(b, n));
      auto guard = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
      b.setInsertionPoint(guard.thenBlock()->getTerminator());
    }
    // Consecutive threads on the loop with the smallest stride in the output.
    SmallVector<unsigned> order(extents.size());
    for (unsigned j = 0; j < order.size(); ++j)
      order[j] = j;
    llvm::stable_sort(order, [&](unsigned a, unsigned c) {
      return std::abs(outCoef[a]) > std::abs(outCoef[c]);
    });
    SmallVector<Value> thread(extents.size());
    Value rest = tid;
    for (unsigned j : llvm::reverse(order)) {
      if (j == order.front()) {
        thread[j] = rest;
        break;
      }
      Value e = cst(b, extents[j]);
      thread[j] = arith::RemUIOp::create(b, loc, rest, e);
      rest = arith::DivUIOp::create(b, loc, rest, e);
    }
    Value zero = cst(b, 0);

    auto indices = [&](OpBuilder &ob, AffineMap map, ArrayRef<Value> loops) {
      SmallVector<Value> at;
      for (unsigned r = 0; r < map.getNumResults(); ++r)
        at.push_back(affine::AffineApplyOp::create(ob, loc, map.getSubMap({r}), loops));
      return at;
    };
    // The current value of each written buffer's element, and where its
    // last writer puts it.
    llvm::MapVector<Value, Value> regs;
    llvm::DenseMap<Value, std::pair<OpOperand *, SmallVector<Value>>> lastWrite;

    // The value of `o` (an operand of `m`) at the thread's loops `loops`.
    auto operandValue = [&](OpBuilder &ob, const Member &m, OpOperand &o,
                            ArrayRef<Value> loops) -> Value {
      linalg::LinalgOp op = m.op;
      if (!isa<MemRefType>(o.get().getType()))
        return o.get();
      Value root = kiln::rootBuffer(o.get());
      if (auto it = regs.find(root); it != regs.end())
        return it->second;
      AffineMap map = op.getMatchingIndexingMap(&o);
      SmallVector<Value> at = indices(ob, map, loops);
      return memref::LoadOp::create(ob, loc, o.get(), at);
    };
    // The op's body at `loops`, with `outValue` for its output argument.
    auto body = [&](OpBuilder &ob, const Member &m, ArrayRef<Value> loops,
                    Value outValue) -> Value {
      linalg::LinalgOp op = m.op;
      Block *block = op.getBlock();
      IRMapping map;
      for (OpOperand *input : op.getDpsInputOperands()) {
        BlockArgument arg = op.getMatchingBlockArgument(input);
        if (!arg.use_empty())
          map.map(arg, operandValue(ob, m, *input, loops));
      }
      map.map(op.getMatchingBlockArgument(op.getDpsInitOperand(0)), outValue);
      return kiln::cloneBodyAt(ob, block, map, loops);
    };

    for (const Member &m : members) {
      SmallVector<Value> loops;
      for (int role : m.role)
        loops.push_back(role >= 0 ? thread[role] : zero);
      linalg::LinalgOp op = m.op;
      OpOperand *init = op.getDpsInitOperand(0);
      Value root = kiln::rootBuffer(init->get());
      Value out;
      if (op.payloadUsesValueFromOperand(init))
        out = operandValue(b, m, *init, loops);
      Value result;
      if (op != contraction) {
        result = body(b, m, loops, out);
      } else {
        // Nested loops over the reduction loops, the accumulator carried.
        SmallVector<unsigned> reductions;
        SmallVector<int64_t> ranges = op.getStaticLoopRanges();
        for (auto [k, role] : llvm::enumerate(m.role))
          if (role == kReduction)
            reductions.push_back(k);
        std::function<Value(OpBuilder &, unsigned, Value)> nest =
            [&](OpBuilder &ob, unsigned level, Value acc) -> Value {
          if (level == reductions.size())
            return body(ob, m, loops, acc);
          unsigned k = reductions[level];
          auto loop = scf::ForOp::create(
              ob, loc, cst(ob, 0), cst(ob, ranges[k]), cst(ob, 1), ValueRange{acc},
              [&](OpBuilder &lb, Location, Value iv, ValueRange args) {
                loops[k] = iv;
                Value next = nest(lb, level + 1, args[0]);
                scf::YieldOp::create(lb, loc, next);
              });
          return loop.getResult(0);
        };
        result = nest(b, 0, out);
        for (unsigned k : reductions)
          loops[k] = zero;
      }
      regs[root] = result;
      lastWrite[root] = {init, loops};
    }
    for (auto &[root, value] : regs) {
      auto &[init, loops] = lastWrite[root];
      auto op = cast<linalg::LinalgOp>(init->getOwner());
      memref::StoreOp::create(b, loc, value, init->get(),
                              indices(b, op.getMatchingIndexingMap(init), loops));
    }
    OpBuilder tb(&launch.getBody().front(), launch.getBody().front().end());
    gpu::TerminatorOp::create(tb, loc);
  }
};

struct GpuDirectContractionPass
    : public kiln::impl::GpuDirectContractionBase<GpuDirectContractionPass> {
  using GpuDirectContractionBase::GpuDirectContractionBase;

  void runOnOperation() override {
    // The groups chosen for this strategy, in order of their first op,
    // each op in block order.
    llvm::MapVector<int64_t, SmallVector<Operation *>> groups;
    for (Block &block : getOperation().getBody())
      for (Operation &op : block)
        if (std::optional<int64_t> id = kiln::getKernelId(&op))
          if (kiln::hasStrategy(&op, kiln::StrategyKind::DirectContraction))
            groups[*id].push_back(&op);
    for (auto &[id, ops] : groups) {
      DirectContraction d;
      DirectPlan plan;
      std::string why;
      if (!d.analyzeGroup(ops, plan, why)) {
        ops.front()->emitError("the direct contraction chosen for kernel group ")
            << id << " does not apply: " << why;
        return signalPassFailure();
      }
      LLVM_DEBUG(llvm::dbgs() << "direct contraction for group " << id << ": "
                              << plan.ops.size() << " ops\n");
      d.rewriteGroup(plan);
    }
  }
};

} // namespace

bool kiln::chooseDirectContraction(ArrayRef<Operation *> group, std::string &why) {
  DirectContraction d;
  DirectPlan plan;
  return d.analyzeGroup(group, plan, why);
}
