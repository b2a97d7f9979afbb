//===- MergeGpuModules.cpp - one gpu.module for all kernels --------------===//
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Dialect/KilnGPU/KilnGPU.h"

#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_MERGEGPUMODULES
#define GEN_PASS_DEF_GPUCARRYSTRATEGY
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The strategy a kernel's body carries (kiln-gpu-carry-strategy) becomes
/// the kernel's attribute; no other op keeps it.
void adoptStrategy(gpu::GPUFuncOp func) {
  Attribute strategy;
  func.walk([&](Operation *op) {
    if (op == func.getOperation())
      return;
    if (Attribute a = op->getAttr(kiln::kStrategyAttr)) {
      if (!strategy)
        strategy = a;
      op->removeAttr(kiln::kStrategyAttr);
    }
  });
  if (!strategy)
    strategy = kiln::StrategyAttr::get(func.getContext(), kiln::StrategyKind::ThreadPerElement,
                                       {}, {}, 0, 0, kiln::Precision::FP32, false,
                                       "the direct mapping");
  func->setAttr(kiln::kStrategyAttr, strategy);
}

struct GpuCarryStrategyPass : public kiln::impl::GpuCarryStrategyBase<GpuCarryStrategyPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::LaunchOp launch) {
      Attribute strategy = launch->getAttr(kiln::kStrategyAttr);
      Block &body = launch.getBody().front();
      if (strategy && !body.empty())
        body.front().setAttr(kiln::kStrategyAttr, strategy);
    });
  }
};

struct MergeGpuModulesPass
    : public kiln::impl::MergeGpuModulesBase<MergeGpuModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernelModules(module.getOps<gpu::GPUModuleOp>());
    for (gpu::GPUModuleOp m : kernelModules)
      for (auto func : m.getOps<gpu::GPUFuncOp>())
        if (func.isKernel())
          adoptStrategy(func);
    if (kernelModules.size() < 2)
      return;
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPoint(kernelModules.front());
    auto merged = gpu::GPUModuleOp::create(b, module.getLoc(), "kiln_kernels");
    MLIRContext *ctx = module.getContext();
    // Each kernel takes its old module's (unique) name.
    DenseMap<StringAttr, StringAttr> renamed;
    for (gpu::GPUModuleOp old : kernelModules) {
      for (auto func : llvm::make_early_inc_range(old.getOps<gpu::GPUFuncOp>())) {
        func->moveBefore(merged.getBody(), merged.getBody()->end());
        renamed[StringAttr::get(ctx, old.getName() + "::" + func.getName())] =
            old.getNameAttr();
        func.setName(old.getName());
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      SymbolRefAttr kernel = launch.getKernel();
      auto key = StringAttr::get(
          ctx, kernel.getRootReference().str() + "::" + kernel.getLeafReference().str());
      auto it = renamed.find(key);
      if (it != renamed.end())
        launch.setKernelAttr(SymbolRefAttr::get(merged.getNameAttr(),
                                                {FlatSymbolRefAttr::get(it->second)}));
    });
    for (gpu::GPUModuleOp old : kernelModules)
      old.erase();
  }
};
} // namespace
