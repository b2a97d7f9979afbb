//===- SplitHostCode.cpp - long host functions cut into bounded ones ------===//
#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_SPLITHOSTCODE
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Ops of a run that may be recomputed inside it instead of passed in:
/// no effects, no regions (constants, weights' get_global, views, index
/// arithmetic).
bool isRecomputable(Operation *op) {
  return op->getNumRegions() == 0 && op->getNumResults() > 0 &&
         (isMemoryEffectFree(op) || isa<memref::GetGlobalOp>(op));
}

/// Top-level ops left in the calling function: stack allocations (their
/// memory ends with the function) and heap allocations (the model's arena:
/// each run recomputes its views of it from the one pointer).
bool staysInPlace(Operation *op) {
  return isa<memref::AllocaOp, memref::AllocOp>(op) || op->hasTrait<OpTrait::IsTerminator>();
}

struct SplitHostCodePass : kiln::impl::SplitHostCodeBase<SplitHostCodePass> {
  using SplitHostCodeBase::SplitHostCodeBase;

  void runOnOperation() override {
    if (opsPerFunction <= 0)
      return;
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> funcs;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && func.getBody().hasOneBlock())
        funcs.push_back(func);
    int counter = 0;
    for (func::FuncOp func : funcs)
      split(func, counter);
  }

  void split(func::FuncOp func, int &counter) {
    Block &body = func.getBody().front();
    // Nested op count of each top-level op.
    int64_t total = 0;
    llvm::DenseMap<Operation *, int64_t> size;
    for (Operation &op : body) {
      int64_t n = 0;
      op.walk([&](Operation *) { ++n; });
      size[&op] = n;
      total += n;
    }
    if (total <= opsPerFunction)
      return;
    // Runs of consecutive ops, each under the budget. A recomputable op is
    // left out of runs (each run that uses it recomputes it) unless it
    // reads a value of the current run.
    SmallVector<SmallVector<Operation *>> runs(1);
    llvm::SmallPtrSet<Operation *, 32> current;
    int64_t inRun = 0;
    auto startRun = [&] {
      if (!runs.back().empty())
        runs.emplace_back();
      current.clear();
      inRun = 0;
    };
    for (Operation &op : body) {
      bool readsRun = llvm::any_of(op.getOperands(), [&](Value v) {
        return v.getDefiningOp() && current.contains(v.getDefiningOp());
      });
      // Left where it is, before the call that replaces the run; one that
      // reads the run comes after it.
      if (staysInPlace(&op)) {
        if (readsRun)
          startRun();
        continue;
      }
      if (isRecomputable(&op)) {
        if (readsRun) {
          runs.back().push_back(&op);
          current.insert(&op);
        }
        continue;
      }
      if (inRun > 0 && inRun + size[&op] > opsPerFunction)
        startRun();
      runs.back().push_back(&op);
      current.insert(&op);
      inRun += size[&op];
    }
    for (ArrayRef<Operation *> run : runs)
      if (!run.empty())
        outline(func, run, counter++);
  }

  /// Moves `run` (consecutive top-level ops of `func`, in order) into a new
  /// function called in its place.
  void outline(func::FuncOp func, ArrayRef<Operation *> run, int index) {
    llvm::SmallPtrSet<Operation *, 32> members(run.begin(), run.end());
    auto topLevel = [&](Operation *op) {
      while (op && op->getParentOp() != func.getOperation())
        op = op->getParentOp();
      return op;
    };
    auto inRun = [&](Operation *op) { return members.contains(topLevel(op)); };
    // Values defined before the run: recomputed inside (with what they
    // read, transitively) where possible, else passed as arguments.
    SetVector<Value> arguments;
    SetVector<Operation *> recomputed;
    std::function<void(Value)> need = [&](Value v) {
      if (auto arg = dyn_cast<BlockArgument>(v)) {
        if (arg.getOwner()->getParentOp() == func.getOperation())
          arguments.insert(v);
        return; // else a block argument inside the run
      }
      Operation *def = v.getDefiningOp();
      if (inRun(def) || recomputed.contains(def) || arguments.contains(v))
        return;
      if (isRecomputable(def)) {
        for (Value operand : def->getOperands())
          need(operand);
        recomputed.insert(def); // after what it reads: a valid order
        return;
      }
      arguments.insert(v);
    };
    for (Operation *op : run)
      op->walk([&](Operation *nested) {
        for (Value operand : nested->getOperands())
          need(operand);
      });
    // Values of the run that ops after it read.
    SetVector<Value> results;
    for (Operation *op : run)
      for (Value r : op->getResults())
        for (OpOperand &use : r.getUses())
          if (!inRun(use.getOwner()))
            results.insert(r);

    Operation *next = run.back()->getNextNode();
    OpBuilder mb(func);
    SmallVector<Type> argTypes, resultTypes;
    for (Value v : arguments)
      argTypes.push_back(v.getType());
    for (Value v : results)
      resultTypes.push_back(v.getType());
    Location loc = run.front()->getLoc();
    auto part = func::FuncOp::create(mb, loc,
                                     (func.getSymName() + "_part_" + Twine(index)).str(),
                                     mb.getFunctionType(argTypes, resultTypes));
    part.setPrivate();
    // LLVM inlines a function called once, and the point is to keep the
    // pieces apart.
    part->setAttr("passthrough", mb.getArrayAttr({mb.getStringAttr("noinline")}));
    Block *entry = part.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    for (auto [v, arg] : llvm::zip(arguments, entry->getArguments()))
      map.map(v, arg);
    for (Operation *def : recomputed)
      b.clone(*def, map);
    for (Operation *op : run) {
      op->remove();
      b.insert(op);
    }
    auto inside = [&](OpOperand &use) { return part->isProperAncestor(use.getOwner()); };
    for (Value v : arguments)
      v.replaceUsesWithIf(map.lookup(v), inside);
    for (Operation *def : recomputed)
      for (Value r : def->getResults())
        r.replaceUsesWithIf(map.lookup(r), inside);
    func::ReturnOp::create(b, loc, results.getArrayRef());

    OpBuilder cb(next);
    auto call = func::CallOp::create(cb, loc, part, arguments.getArrayRef());
    for (auto [i, r] : llvm::enumerate(results)) {
      Value value = r;
      value.replaceUsesWithIf(call.getResult(i), [&](OpOperand &use) { return !inside(use); });
    }
  }
};

} // namespace
