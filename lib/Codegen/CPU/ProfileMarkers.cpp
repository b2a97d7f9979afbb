//===- ProfileMarkers.cpp - bracket each kernel's code with runtime calls -===//
#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_CPUPROFILEMARKERS
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr StringLiteral kBegin = "kiln_profile_begin";
constexpr StringLiteral kEnd = "kiln_profile_end";

/// Whether a top-level op of the function does work a profile should see.
bool doesWork(Operation *op) {
  if (op->getNumRegions() > 0)
    return true;
  if (auto call = dyn_cast<func::CallOp>(op))
    return call.getCallee() != kBegin && call.getCallee() != kEnd;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  return effects && effects.hasEffect<MemoryEffects::Write>();
}

/// The kernel of the first op inside `op` (or `op` itself) that has one.
std::optional<int64_t> kernelOf(Operation *op) {
  std::optional<int64_t> found;
  op->walk<WalkOrder::PreOrder>([&](Operation *inner) {
    found = kiln::getKernelId(inner);
    return found ? WalkResult::interrupt() : WalkResult::advance();
  });
  return found;
}

struct CpuProfileMarkersPass
    : public kiln::impl::CpuProfileMarkersBase<CpuProfileMarkersPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal())
        continue;
      if (Attribute table = func->getAttr(kiln::kKernelTableAttr)) {
        func->removeAttr(kiln::kKernelTableAttr);
        if (!module->hasAttr(kiln::kKernelTableAttr))
          module->setAttr(kiln::kKernelTableAttr, table);
      }
      if (func.getBody().hasOneBlock())
        mark(func.getBody().front());
    }
  }

  void mark(Block &block) {
    SmallVector<Operation *> work;
    SmallVector<std::optional<int64_t>> ids;
    for (Operation &op : block.without_terminator())
      if (doesWork(&op)) {
        work.push_back(&op);
        ids.push_back(kernelOf(&op));
      }
    // Untagged work joins the kernel after it, else the one before.
    std::optional<int64_t> next;
    for (size_t i = work.size(); i-- > 0;) {
      if (ids[i])
        next = ids[i];
      else
        ids[i] = next;
    }
    std::optional<int64_t> prev;
    for (size_t i = 0; i < work.size(); ++i) {
      if (ids[i])
        prev = ids[i];
      else
        ids[i] = prev;
    }
    if (work.empty() || !ids.front())
      return; // no kernel tags at all
    ModuleOp module = getOperation();
    OpBuilder b(module.getContext());
    declare(b, kBegin);
    declare(b, kEnd);
    size_t start = 0;
    for (size_t i = 1; i <= work.size(); ++i) {
      if (i < work.size() && ids[i] == ids[start])
        continue;
      Operation *first = work[start], *last = work[i - 1];
      int64_t id = *ids[start];
      b.setInsertionPoint(first);
      Value v = arith::ConstantIntOp::create(b, first->getLoc(), id, 32);
      func::CallOp::create(b, first->getLoc(), kBegin, TypeRange{}, ValueRange{v});
      b.setInsertionPointAfter(last);
      Value w = arith::ConstantIntOp::create(b, last->getLoc(), id, 32);
      func::CallOp::create(b, last->getLoc(), kEnd, TypeRange{}, ValueRange{w});
      start = i;
    }
  }

  void declare(OpBuilder &b, StringRef name) {
    ModuleOp module = getOperation();
    if (module.lookupSymbol(name))
      return;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    auto type = b.getFunctionType({b.getI32Type()}, {});
    auto f = func::FuncOp::create(b, module.getLoc(), name, type);
    f.setPrivate();
  }
};

} // namespace
