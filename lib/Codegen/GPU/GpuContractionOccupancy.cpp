//===- GpuContractionOccupancy.cpp - register budget of tiled kernels ----===//
//
// Without a hint, ptxas may spill a few registers of a 256-thread tiled
// kernel to fit more blocks per SM; the spilled values (accumulators,
// prefetched tiles) sit on the hot path. One resident block is enough for
// these kernels: the hint lifts the register limit instead.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/GPU/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_GPUCONTRACTIONOCCUPANCY
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct GpuContractionOccupancyPass
    : kiln::impl::GpuContractionOccupancyBase<GpuContractionOccupancyPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::GPUFuncOp func) {
      if (func.isKernel() && func.getNumWorkgroupAttributions() > 0)
        func->setAttr("nvvm.minctasm", IntegerAttr::get(IntegerType::get(func.getContext(), 32), 1));
    });
  }
};
} // namespace
