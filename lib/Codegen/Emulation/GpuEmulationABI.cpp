//===- GpuEmulationABI.cpp - launchers of emulated GPU kernels -----------===//
//
// After the lowering to LLVM, a launch is a call to the declared
// `kiln_emu_launch_<name>` with the launch geometry and the kernel's
// arguments (memrefs expanded into their descriptor fields). The runtime
// calls one uniform function per GPU thread, so the arguments travel in
// 8-byte slots, as in CUDA's kernel parameter array.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/Emulation/Passes.h"

#include "kiln_emulation_abi.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace kiln {
#define GEN_PASS_DEF_GPUEMULATIONABI
#include "kiln/Codegen/Emulation/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

// Launch geometry in front of the kernel arguments: static shared bytes,
// flags, grid x/y/z, block x/y/z, dynamic shared bytes.
constexpr unsigned kGeometryArgs = 9;
// Kernel arguments in front of the launch's: the thread context and the
// shared buffer's memref descriptor (allocated, aligned, offset, size, stride).
constexpr unsigned kKernelPrefixArgs = 6;
// ThreadContext slots holding the shared buffer and its size.
constexpr int32_t kSharedSlot = KILN_EMU_SLOT_SHARED_BASE,
                  kSharedBytesSlot = KILN_EMU_SLOT_SHARED_BYTES;

struct GpuEmulationABIPass
    : public kiln::impl::GpuEmulationABIBase<GpuEmulationABIPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Type i64 = IntegerType::get(ctx, 64);
    Type voidType = LLVM::LLVMVoidType::get(ctx);

    SmallVector<LLVM::LLVMFuncOp> launchers;
    for (auto f : module.getOps<LLVM::LLVMFuncOp>())
      if (f.isExternal() && f.getName().starts_with("kiln_emu_launch_"))
        launchers.push_back(f);
    if (launchers.empty())
      return;

    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    Location loc = module.getLoc();
    auto runtimeLaunch = module.lookupSymbol<LLVM::LLVMFuncOp>("kiln_emu_launch");
    if (!runtimeLaunch) {
      SmallVector<Type> params{ptr, ptr};
      params.append(kGeometryArgs, i64);
      runtimeLaunch = LLVM::LLVMFuncOp::create(
          b, loc, "kiln_emu_launch", LLVM::LLVMFunctionType::get(voidType, params));
    }

    for (LLVM::LLVMFuncOp launch : launchers) {
      StringRef suffix = launch.getName().drop_front(strlen("kiln_emu_launch_"));
      auto kernel =
          module.lookupSymbol<LLVM::LLVMFuncOp>(("kiln_emu_kernel_" + suffix).str());
      ArrayRef<Type> launchTypes = launch.getFunctionType().getParams();
      if (!kernel || launchTypes.size() < kGeometryArgs) {
        launch.emitError("no emulated kernel for this launch");
        return signalPassFailure();
      }
      ArrayRef<Type> argTypes = launchTypes.drop_front(kGeometryArgs);
      ArrayRef<Type> kernelTypes = kernel.getFunctionType().getParams();
      if (kernelTypes.size() != kKernelPrefixArgs + argTypes.size() ||
          kernelTypes.drop_front(kKernelPrefixArgs) != argTypes) {
        launch.emitError("launch arguments do not match emulated kernel ")
            << kernel.getName();
        return signalPassFailure();
      }
      for (Type t : argTypes)
        if (!isa<LLVM::LLVMPointerType>(t) &&
            !(t.isIntOrFloat() && t.getIntOrFloatBitWidth() <= 64)) {
          launch.emitError("GPU emulation passes kernel arguments in 8-byte slots, not ")
              << t;
          return signalPassFailure();
        }
      loc = launch.getLoc();

      // The thunk: one GPU thread.
      b.setInsertionPointToEnd(module.getBody());
      auto thunk = LLVM::LLVMFuncOp::create(
          b, loc, ("kiln_emu_thunk_" + suffix).str(),
          LLVM::LLVMFunctionType::get(voidType, {ptr, ptr}), LLVM::Linkage::Internal);
      Block *entry = thunk.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      Value slots = entry->getArgument(0), tctx = entry->getArgument(1);
      auto slotAddr = [&](Value base, int32_t k) -> Value {
        return LLVM::GEPOp::create(b, loc, ptr, i64, base, ArrayRef<LLVM::GEPArg>{k});
      };
      Value shared = LLVM::LoadOp::create(b, loc, ptr, slotAddr(tctx, kSharedSlot));
      Value sharedBytes = LLVM::LoadOp::create(b, loc, i64, slotAddr(tctx, kSharedBytesSlot));
      Value zero = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(0));
      Value one = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
      SmallVector<Value> args{tctx, shared, shared, zero, sharedBytes, one};
      for (unsigned k = 0; k < argTypes.size(); ++k)
        args.push_back(LLVM::LoadOp::create(b, loc, argTypes[k], slotAddr(slots, k)));
      LLVM::CallOp::create(b, loc, kernel, args);
      LLVM::ReturnOp::create(b, loc, ValueRange{});

      // The launcher: arguments into slots, then the runtime.
      Block *body = launch.addEntryBlock(b);
      b.setInsertionPointToStart(body);
      Value count = LLVM::ConstantOp::create(
          b, loc, i64, b.getI64IntegerAttr(std::max<int64_t>(argTypes.size(), 1)));
      Value argSlots = LLVM::AllocaOp::create(b, loc, ptr, i64, count);
      for (unsigned k = 0; k < argTypes.size(); ++k)
        LLVM::StoreOp::create(b, loc, body->getArgument(kGeometryArgs + k),
                              slotAddr(argSlots, k));
      Value thunkAddr = LLVM::AddressOfOp::create(b, loc, ptr, thunk.getName());
      SmallVector<Value> callArgs{thunkAddr, argSlots};
      for (unsigned k = 0; k < kGeometryArgs; ++k)
        callArgs.push_back(body->getArgument(k));
      LLVM::CallOp::create(b, loc, runtimeLaunch, callArgs);
      LLVM::ReturnOp::create(b, loc, ValueRange{});
    }
  }
};

} // namespace
