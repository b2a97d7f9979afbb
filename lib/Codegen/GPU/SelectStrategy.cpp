//===- SelectStrategy.cpp - the GPU strategy of every op, chosen once ----===//
//
// Asks each GPU strategy, in priority order, whether it takes an op (or a
// kernel group) and records the answer as a #kiln_gpu.strategy attribute.
// The order is the order in which the strategies used to try their luck:
// tiled contractions first (they also claim their epilogue, folded operand
// producers and accumulator init), then one launch per row for reduction
// groups, one thread per output element for the contraction groups left
// and windowed reductions, a block per row for single reductions,
// vectorized elementwise kernels, and the direct mapping for the rest.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Codegen/GPU/Strategies.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/Debug.h"

#include <map>

#define DEBUG_TYPE "kiln-gpu-select-strategy"

namespace kiln {
#define GEN_PASS_DEF_GPUSELECTSTRATEGY
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Threads per block of the one-element-per-thread strategies (8 warps).
constexpr int64_t kBlockThreads = 256;

/// Inside a kernel or a loop nest some earlier step built: no strategy
/// takes such an op; the direct mapping handles what is left there.
bool isNested(Operation *op) {
  return op->getParentOfType<scf::ForallOp>() || op->getParentOfType<mlir::gpu::LaunchOp>() ||
         op->getParentOfType<scf::ParallelOp>();
}

struct GpuSelectStrategyPass : kiln::impl::GpuSelectStrategyBase<GpuSelectStrategyPass> {
  using GpuSelectStrategyBase::GpuSelectStrategyBase;

  /// Why the better strategies passed an op over, for its note.
  llvm::DenseMap<Operation *, std::string> passedOver;

  void passOver(Operation *op, StringRef strategy, StringRef why) {
    std::string &note = passedOver[op];
    if (!note.empty())
      note += "; ";
    note += ("not " + strategy + ": " + why).str();
  }

  StrategyAttr simple(StrategyKind kind, int64_t threads, StringRef note) {
    return StrategyAttr::get(&getContext(), kind, {}, {}, threads, /*stages=*/0,
                             Precision::FP32, /*tensorCores=*/false, note);
  }

  void decide(Operation *op, StrategyAttr strategy) {
    setStrategy(op, strategy);
    LLVM_DEBUG(llvm::dbgs() << op->getName() << " at " << op->getLoc() << " -> " << strategy
                            << "\n");
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<Operation *> ops;
    func.walk([&](linalg::LinalgOp op) {
      op->removeAttr(kStrategyAttr);
      ops.push_back(op);
    });
    auto decided = [](Operation *op) { return static_cast<bool>(getStrategy(op)); };

    // Tiled contractions, with what their kernels compute too.
    for (Operation *op : ops) {
      if (decided(op))
        continue;
      std::string why;
      std::optional<TiledContractionChoice> choice = chooseTiledContraction(op, precision, why);
      if (!choice) {
        if (kiln::getKernelKind(op) == kiln::KernelKind::Contraction &&
            cast<linalg::LinalgOp>(op).getNumReductionLoops() != 0)
          passOver(op, "tiled", why);
        continue;
      }
      decide(op, choice->strategy);
      // The note starts with the contraction's shape.
      StringRef shape = choice->strategy.getNote().split(';').first;
      for (Operation *fused : choice->fused)
        if (!decided(fused))
          decide(fused, simple(StrategyKind::Fused, 0,
                               "computed by the tiled contraction of " + shape.str()));
    }

    // One launch per row for each reduction group, unless a member lies
    // nested or was claimed above.
    std::map<int64_t, SmallVector<Operation *>> reductionGroups;
    for (Operation *op : ops)
      if (std::optional<int64_t> id = kiln::getKernelId(op))
        if (kiln::getKernelKind(op) == kiln::KernelKind::Reduction)
          reductionGroups[*id].push_back(op);
    for (auto &[id, group] : reductionGroups) {
      if (llvm::any_of(group, decided))
        continue;
      SmallVector<Operation *> members;
      int64_t threads = 0;
      std::string why;
      if (!chooseRowKernel(group, members, threads, why)) {
        for (Operation *op : group)
          passOver(op, "a row kernel", why);
        continue;
      }
      std::string note = std::to_string(members.size()) + " ops";
      for (Operation *op : members)
        decide(op, simple(StrategyKind::RowKernel, threads, note));
    }

    // One thread per output element for the rest of a kernel group with
    // one contraction or windowed reduction.
    llvm::MapVector<int64_t, SmallVector<Operation *>> groups;
    for (Block &block : func.getBody())
      for (Operation &op : block)
        if (std::optional<int64_t> id = kiln::getKernelId(&op))
          if (!decided(&op))
            groups[*id].push_back(&op);
    for (auto &[id, group] : groups) {
      bool anyReduction = llvm::any_of(group, [](Operation *op) {
        auto l = dyn_cast<linalg::LinalgOp>(op);
        return l && l.getNumReductionLoops() != 0;
      });
      if (!anyReduction)
        continue;
      std::string why;
      if (!chooseDirectContraction(group, why)) {
        for (Operation *op : group)
          passOver(op, "a direct contraction", why);
        continue;
      }
      for (Operation *op : group)
        decide(op, simple(StrategyKind::DirectContraction, kBlockThreads,
                          "group of " + std::to_string(group.size()) + " ops"));
    }

    for (Operation *op : ops) {
      if (decided(op) || isNested(op))
        continue;
      auto generic = dyn_cast<linalg::GenericOp>(op);
      if (!generic || generic.getNumReductionLoops() == 0)
        continue;
      std::string why;
      if (std::optional<int64_t> threads = chooseReduction(generic, minRowSize, why))
        decide(op, simple(StrategyKind::Reduction, *threads, "a block per output element"));
      else
        passOver(op, "a block per row", why);
    }

    for (Operation &op : func.getBody().getOps()) {
      auto generic = dyn_cast<linalg::GenericOp>(op);
      if (!generic || decided(generic) || generic.getNumReductionLoops() != 0)
        continue;
      std::string why;
      if (chooseElementwise(generic, why))
        decide(generic, simple(StrategyKind::Elementwise, kBlockThreads, "16-byte vectors"));
      else
        passOver(generic, "vectorized", why);
    }

    for (Operation *op : ops)
      if (!decided(op))
        decide(op, simple(StrategyKind::ThreadPerElement, kBlockThreads, passedOver.lookup(op)));
  }
};

} // namespace
