//===- CudaArtifact.cpp - compiled models for NVIDIA GPUs ----------------===//
//
// A CUDA model library holds the PTX of every kernel (and a cubin when
// ptxas is available at compile time), the weights as host constants, and
// host code. The host code calls nothing but Kiln's runtime: it asks for
// its device arena and the device copies of the weights, launches the
// kernels in order and copies on the device, all through `kiln_cuda_*`
// functions (kiln_runtime.h). The runtime owns the context, the stream,
// device memory and the uploads and downloads.
//
// The lowering has three steps:
//  1. memref level, after the kernel pipeline: results become caller
//     buffers, intermediates are planned into one arena, and `main` takes
//     the runtime's execution handle as its first argument. Allocations
//     become offsets into the device arena (kiln_cuda_arena) and globals
//     become device weights (kiln_cuda_weight); any other host access to
//     memory is rejected, since every buffer lives on the device.
//  2. upstream GPU/NVVM lowering: kernels to PTX (gpu.binary), host code to
//     the LLVM dialect, launches left as gpu.launch_func with their
//     operands expanded exactly as the kernels' parameters.
//  3. LLVM level: each launch packs its parameters into an array of
//     pointers and calls kiln_cuda_launch; device copies call the runtime;
//     the PTX, kernel names and weight table become exported symbols.
//
//===----------------------------------------------------------------------===//
#include "kiln/Target/CudaArtifact.h"
#include "HostArtifact.h"
#include "Ptxas.h"
#include "RawWeights.h"
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln_runtime.h"

#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace kiln;

namespace {

/// Device allocations are aligned like cuMemAlloc's (256 bytes), so that
/// the kernels' vector accesses stay aligned inside the arena.
constexpr int64_t kDeviceAlignment = 256;

int64_t alignUp(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

/// What the host lowering learns about the model on the way.
struct HostPlan {
  SmallVector<std::string> weightNames; // memref.global symbols, by index
  SmallVector<int64_t> weightBytes;
  SmallVector<bool> weightElided; // left out of the library, filled at load
  int64_t arenaBytes = 0;
  SmallVector<std::string> kernelNames; // by index, as kiln_cuda_launch uses
  std::string ptx;
};

LLVM::LLVMFuncOp declareRuntimeFn(ModuleOp module, StringRef name, Type result,
                                  ArrayRef<Type> params) {
  if (auto f = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return f;
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  return LLVM::LLVMFuncOp::create(b, module.getLoc(), name,
                                  LLVM::LLVMFunctionType::get(result, params));
}

/// Host operations that only compute addresses and sizes, or that the
/// later steps turn into runtime calls. Anything else in `main` would read
/// or write device memory from the CPU.
bool isHostSafe(Operation *op) {
  if (isa<arith::ArithDialect, LLVM::LLVMDialect, ub::UBDialect>(op->getDialect()))
    return true;
  return isa<memref::GetGlobalOp, memref::AllocOp, memref::DeallocOp, memref::CopyOp,
             memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
             memref::ReinterpretCastOp, memref::ViewOp, memref::CastOp,
             memref::ExtractStridedMetadataOp, memref::DimOp,
             memref::ExtractAlignedPointerAsIndexOp, gpu::LaunchFuncOp, func::ReturnOp,
             UnrealizedConversionCastOp>(op);
}

/// Step 1: device memory for `main`'s allocations and globals.
LogicalResult rewriteHostMemory(ModuleOp module, func::FuncOp main, HostPlan &plan,
                                const CudaArtifactOptions &options) {
  MLIRContext *ctx = module.getContext();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);

  WalkResult safe = main.walk([&](Operation *op) {
    if (op == main.getOperation() || isHostSafe(op))
      return WalkResult::advance();
    if (op->hasTrait<OpTrait::IsTerminator>() || op->getNumRegions())
      op->emitError() << "the CUDA target cannot run this model yet: its host code keeps "
                         "a loop that was not mapped to a GPU kernel ('"
                      << op->getName() << "'), e.g. a reduction over every dimension";
    else
      op->emitError() << "the CUDA target cannot run this model yet: its host code would "
                         "access device memory from the CPU ('"
                      << op->getName() << "')";
    return WalkResult::interrupt();
  });
  if (safe.wasInterrupted())
    return failure();
  for (auto launch : main.getOps<gpu::LaunchFuncOp>())
    if (!launch.getAsyncDependencies().empty() || launch.getAsyncToken() ||
        launch.hasClusterSize())
      return launch.emitError("the CUDA target launches kernels in order on one stream: "
                              "asynchronous or clustered launches are not supported");

  if (failed(main.insertArgument(0, ptrType, DictionaryAttr(), main.getLoc())))
    return main.emitError("cannot add the runtime handle to @main");
  Value exec = main.getArgument(0);
  auto arenaFn = declareRuntimeFn(module, "kiln_cuda_arena", ptrType, {ptrType, i64});
  auto weightFn = declareRuntimeFn(module, "kiln_cuda_weight", ptrType, {ptrType, i64});
  LLVMTypeConverter converter(ctx);
  OpBuilder b(ctx);

  auto replaceWithDevicePointer = [&](Operation *op, MemRefType type, Value pointer) {
    Value desc = MemRefDescriptor::fromStaticShape(b, op->getLoc(), converter, type, pointer);
    Value memref = UnrealizedConversionCastOp::create(b, op->getLoc(), type, desc).getResult(0);
    op->getResult(0).replaceAllUsesWith(memref);
    op->erase();
  };

  // Every allocation is a static slice of the arena: the memory plan has
  // already put the intermediates into one allocation with liveness-based
  // offsets; anything it left out gets its own slice after it.
  SmallVector<memref::AllocOp> allocs;
  main.walk([&](memref::AllocOp a) { allocs.push_back(a); });
  SmallVector<int64_t> offsets;
  for (memref::AllocOp a : allocs) {
    auto bytes = kiln::denseBufferBytes(a.getType());
    if (!bytes || !a.getDynamicSizes().empty())
      return a.emitError() << "the CUDA target needs static, dense intermediate buffers, got "
                           << a.getType();
    offsets.push_back(plan.arenaBytes);
    plan.arenaBytes = alignUp(plan.arenaBytes + std::max<int64_t>(*bytes, 1), kDeviceAlignment);
  }
  b.setInsertionPointToStart(&main.getBody().front());
  Value arena;
  if (!allocs.empty()) {
    Value size = LLVM::ConstantOp::create(b, main.getLoc(), i64,
                                          b.getI64IntegerAttr(plan.arenaBytes));
    arena = LLVM::CallOp::create(b, main.getLoc(), arenaFn, ValueRange{exec, size}).getResult();
  }
  for (auto [a, offset] : llvm::zip(allocs, offsets)) {
    b.setInsertionPoint(a);
    Value off = LLVM::ConstantOp::create(b, a.getLoc(), i64, b.getI64IntegerAttr(offset));
    Value p = LLVM::GEPOp::create(b, a.getLoc(), ptrType, b.getI8Type(), arena,
                                  ArrayRef<LLVM::GEPArg>{off});
    replaceWithDevicePointer(a, a.getType(), p);
  }

  // Weights live on the device from load on; the host code asks for them
  // by index in the library's weight table.
  DenseMap<StringAttr, int64_t> weightIndex;
  SmallVector<memref::GetGlobalOp> globals;
  main.walk([&](memref::GetGlobalOp g) { globals.push_back(g); });
  for (memref::GetGlobalOp g : globals) {
    auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(g, g.getNameAttr());
    auto bytes = kiln::denseBufferBytes(g.getType());
    if (!global || !bytes)
      return g.emitError() << "the CUDA target needs static, dense weights, got "
                           << g.getType();
    if (!global.getConstant())
      return g.emitError() << "the CUDA target supports constant weights only ('"
                           << g.getName() << "' is mutable)";
    auto [it, inserted] = weightIndex.try_emplace(g.getNameAttr().getAttr(), (int64_t)plan.weightNames.size());
    if (inserted) {
      plan.weightNames.push_back(g.getName().str());
      plan.weightBytes.push_back(*bytes);
      plan.weightElided.push_back(options.elideWeightBytes > 0 &&
                                  *bytes >= options.elideWeightBytes &&
                                  g.getType().getElementType().isF32());
    }
    b.setInsertionPoint(g);
    Value index = LLVM::ConstantOp::create(b, g.getLoc(), i64, b.getI64IntegerAttr(it->second));
    Value p = LLVM::CallOp::create(b, g.getLoc(), weightFn, ValueRange{exec, index}).getResult();
    replaceWithDevicePointer(g, g.getType(), p);
  }
  // Elided weights keep their slot in the weight table, not their bytes.
  for (auto [name, elided] : llvm::zip(plan.weightNames, plan.weightElided)) {
    auto global = module.lookupSymbol<memref::GlobalOp>(name);
    if (elided && global && SymbolTable::symbolKnownUseEmpty(global, module))
      global.erase();
  }
  // The arena belongs to the runtime.
  SmallVector<memref::DeallocOp> deallocs;
  main.walk([&](memref::DeallocOp d) { deallocs.push_back(d); });
  for (memref::DeallocOp d : deallocs)
    d.erase();
  return success();
}

/// Step 3: launches, device copies, and the library's exported symbols.
LogicalResult finishHostCode(ModuleOp module, HostPlan &plan, const ModelSignature &sig,
                             const CudaArtifactOptions &options) {
  MLIRContext *ctx = module.getContext();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  auto i32 = IntegerType::get(ctx, 32);
  auto voidType = LLVM::LLVMVoidType::get(ctx);
  auto main = module.lookupSymbol<LLVM::LLVMFuncOp>("main");
  if (!main || main.isExternal())
    return module.emitError("the host code has no @main after lowering");
  Value exec = main.getArgument(0);

  // The PTX of every kernel, in one module.
  SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
  for (gpu::BinaryOp binary : binaries) {
    for (Attribute object : binary.getObjects()) {
      auto obj = cast<gpu::ObjectAttr>(object);
      if (obj.getFormat() != gpu::CompilationTarget::Assembly)
        return binary.emitError("expected the kernels as PTX text");
      if (!plan.ptx.empty())
        return binary.emitError("expected one GPU module with every kernel");
      plan.ptx = obj.getObject().str();
    }
    binary.erase();
  }
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());

  auto launchFn = declareRuntimeFn(module, "kiln_cuda_launch", voidType,
                                   {ptrType, i32, i64, i64, i64, i64, i64, i64, i32, ptrType});
  auto memcpyFn = declareRuntimeFn(module, "kiln_cuda_memcpy", voidType,
                                   {ptrType, ptrType, ptrType, i64});
  auto stridedFn = declareRuntimeFn(module, "kiln_cuda_copy_strided", voidType,
                                    {ptrType, i64, ptrType, ptrType});

  OpBuilder b(ctx);
  Block &entryBlock = main.getBody().front();
  SmallVector<gpu::LaunchFuncOp> launches;
  main.walk([&](gpu::LaunchFuncOp l) { launches.push_back(l); });
  // cuLaunchKernel's kernelParams: one pointer per kernel parameter, to a
  // slot holding its value. The driver copies the values at each launch
  // (and at graph capture), so all launches share one set of 8-byte slots
  // and one pointer array, filled once: the host code's stack stays small
  // however many kernels the model has.
  size_t maxParams = 1;
  for (gpu::LaunchFuncOp launch : launches) {
    maxParams = std::max<size_t>(maxParams, launch.getKernelOperands().size());
    for (Value p : launch.getKernelOperands()) {
      Type t = p.getType();
      bool fits = isa<LLVM::LLVMPointerType>(t) ||
                  (t.isIntOrFloat() && t.getIntOrFloatBitWidth() <= 64);
      if (!fits)
        return launch.emitError() << "kernel '" << launch.getKernelName().getValue()
                                  << "' takes a parameter of type " << t
                                  << ", which the CUDA host code cannot pass";
    }
  }
  Value slots, array;
  if (!launches.empty()) {
    Location loc = main.getLoc();
    b.setInsertionPointToStart(&entryBlock);
    Value count = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(maxParams));
    slots = LLVM::AllocaOp::create(b, loc, ptrType, i64, count, /*alignment=*/8);
    array = LLVM::AllocaOp::create(b, loc, ptrType, ptrType, count, /*alignment=*/8);
    for (size_t k = 0; k < maxParams; ++k) {
      Value slot = LLVM::GEPOp::create(b, loc, ptrType, i64, slots,
                                       ArrayRef<LLVM::GEPArg>{(int32_t)k});
      Value entry = LLVM::GEPOp::create(b, loc, ptrType, ptrType, array,
                                        ArrayRef<LLVM::GEPArg>{(int32_t)k});
      LLVM::StoreOp::create(b, loc, slot, entry);
    }
  }
  for (gpu::LaunchFuncOp launch : launches) {
    std::string name = launch.getKernelName().str();
    auto found = llvm::find(plan.kernelNames, name);
    int32_t index = found - plan.kernelNames.begin();
    if (found == plan.kernelNames.end())
      plan.kernelNames.push_back(name);
    Location loc = launch.getLoc();
    b.setInsertionPoint(launch);
    for (auto [k, p] : llvm::enumerate(launch.getKernelOperands())) {
      Value slot = LLVM::GEPOp::create(b, loc, ptrType, i64, slots,
                                       ArrayRef<LLVM::GEPArg>{(int32_t)k});
      LLVM::StoreOp::create(b, loc, p, slot);
    }
    auto toI64 = [&](Value v) -> Value {
      if (v.getType() == i64)
        return v;
      return LLVM::ZExtOp::create(b, loc, i64, v);
    };
    Value smem = launch.getDynamicSharedMemorySize();
    if (!smem)
      smem = LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(0));
    Value kernel = LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(index));
    LLVM::CallOp::create(b, loc, launchFn,
                         ValueRange{exec, kernel, toI64(launch.getGridSizeX()),
                                    toI64(launch.getGridSizeY()), toI64(launch.getGridSizeZ()),
                                    toI64(launch.getBlockSizeX()), toI64(launch.getBlockSizeY()),
                                    toI64(launch.getBlockSizeZ()), smem, array});
    launch.erase();
  }

  // Copies between device buffers: contiguous ones were lowered to the
  // memcpy intrinsic, strided ones to memrefCopy with unranked descriptors.
  SmallVector<Operation *> copies;
  main.walk([&](Operation *op) {
    if (isa<LLVM::MemcpyOp>(op))
      copies.push_back(op);
    else if (auto call = dyn_cast<LLVM::CallOp>(op))
      if (call.getCallee() == "memrefCopy")
        copies.push_back(op);
  });
  for (Operation *op : copies) {
    b.setInsertionPoint(op);
    if (auto mc = dyn_cast<LLVM::MemcpyOp>(op)) {
      Value len = mc.getLen();
      if (len.getType() != i64)
        len = LLVM::ZExtOp::create(b, op->getLoc(), i64, len);
      LLVM::CallOp::create(b, op->getLoc(), memcpyFn,
                           ValueRange{exec, mc.getDst(), mc.getSrc(), len});
    } else {
      auto call = cast<LLVM::CallOp>(op);
      LLVM::CallOp::create(b, op->getLoc(), stridedFn,
                           ValueRange{exec, call.getOperand(0), call.getOperand(1),
                                      call.getOperand(2)});
    }
    op->erase();
  }
  // Nothing else may call out of the host code: it runs with the runtime
  // alone.
  WalkResult calls = main.walk([&](LLVM::CallOp call) {
    auto callee = call.getCallee();
    if (callee && !callee->starts_with("kiln_cuda_")) {
      call.emitError() << "host code of a CUDA model calls '" << *callee
                       << "', which Kiln's runtime does not provide";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (calls.wasInterrupted())
    return failure();
  if (auto copyDecl = module.lookupSymbol<LLVM::LLVMFuncOp>("memrefCopy"))
    if (SymbolTable::symbolKnownUseEmpty(copyDecl, module))
      copyDecl.erase();

  // Exported symbols.
  b.setInsertionPointToEnd(module.getBody());
  Location loc = module.getLoc();
  auto addString = [&](StringRef name, StringRef text, bool nulTerminated) {
    std::string data = text.str();
    if (nulTerminated || data.empty())
      data.push_back('\0');
    auto type = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), data.size());
    LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true, LLVM::Linkage::External, name,
                           b.getStringAttr(data));
  };
  auto addI64 = [&](StringRef name, int64_t value) {
    LLVM::GlobalOp::create(b, loc, i64, /*isConstant=*/true, LLVM::Linkage::External, name,
                           b.getI64IntegerAttr(value));
  };
  addString(KILN_MODEL_SIGNATURE_SYMBOL, serializeSignature(sig), true);
  addString(KILN_CUDA_PTX_SYMBOL, plan.ptx, true);
  addString(KILN_CUDA_ARCH_SYMBOL, options.pipeline.gpuArch, true);
  std::string kernels;
  for (const std::string &k : plan.kernelNames)
    kernels += k + "\n";
  addString(KILN_CUDA_KERNELS_SYMBOL, kernels, true);
  addI64(KILN_CUDA_ARENA_BYTES_SYMBOL, plan.arenaBytes);
  addI64(KILN_CUDA_NUM_WEIGHTS_SYMBOL, plan.weightNames.size());

  // kiln_cuda_weights(const void **data, int64_t *bytes): the host address
  // and size of each weight, which the runtime uploads once at load; an
  // elided weight has a null address and is filled by the runtime.
  {
    auto fn = LLVM::LLVMFuncOp::create(
        b, loc, KILN_CUDA_WEIGHTS_SYMBOL,
        LLVM::LLVMFunctionType::get(voidType, {ptrType, ptrType}));
    Block *body = fn.addEntryBlock(b);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(body);
    for (auto [k, name] : llvm::enumerate(plan.weightNames)) {
      Value addr;
      if (plan.weightElided[k]) {
        addr = LLVM::ZeroOp::create(b, loc, ptrType);
      } else {
        auto global = module.lookupSymbol<LLVM::GlobalOp>(name);
        if (!global)
          return module.emitError() << "weight '" << name << "' has no global after lowering";
        addr = LLVM::AddressOfOp::create(b, loc, global);
      }
      Value dataSlot = LLVM::GEPOp::create(b, loc, ptrType, ptrType, body->getArgument(0),
                                           ArrayRef<LLVM::GEPArg>{(int32_t)k});
      LLVM::StoreOp::create(b, loc, addr, dataSlot);
      Value size = LLVM::ConstantOp::create(b, loc, i64,
                                            b.getI64IntegerAttr(plan.weightBytes[k]));
      Value sizeSlot = LLVM::GEPOp::create(b, loc, ptrType, i64, body->getArgument(1),
                                           ArrayRef<LLVM::GEPArg>{(int32_t)k});
      LLVM::StoreOp::create(b, loc, size, sizeSlot);
    }
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }

  // kiln_cuda_model_entry(void *exec, void **descriptors): calls main's C
  // interface with one descriptor pointer per input and output; every
  // descriptor points to device memory.
  {
    auto callee = module.lookupSymbol<LLVM::LLVMFuncOp>("_mlir_ciface_main");
    if (!callee)
      return module.emitError("the host code has no C interface for @main");
    auto fn = LLVM::LLVMFuncOp::create(
        b, loc, KILN_CUDA_ENTRY_SYMBOL,
        LLVM::LLVMFunctionType::get(voidType, {ptrType, ptrType}));
    Block *body = fn.addEntryBlock(b);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(body);
    SmallVector<Value> args{body->getArgument(0)};
    unsigned n = sig.numTensors();
    for (unsigned i = 0; i < n; ++i) {
      Value slot = LLVM::GEPOp::create(b, loc, ptrType, ptrType, body->getArgument(1),
                                       ArrayRef<LLVM::GEPArg>{(int32_t)i});
      args.push_back(LLVM::LoadOp::create(b, loc, ptrType, slot));
    }
    if (callee.getNumArguments() != args.size())
      return module.emitError() << "the host entry takes " << callee.getNumArguments()
                                << " arguments, the signature has " << n << " tensors";
    LLVM::CallOp::create(b, loc, callee, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    // Only the model ABI leaves the library.
    for (LLVM::LLVMFuncOp f : {main, callee})
      f.setLinkage(LLVM::Linkage::Internal);
  }
  return success();
}

/// ptxas from PATH, CUDA_HOME/bin or /usr/local/cuda/bin.
std::optional<std::string> findPtxas() {
  if (auto p = llvm::sys::findProgramByName("ptxas"))
    return *p;
  SmallVector<StringRef> dirs;
  std::string home;
  for (const char *var : {"CUDA_HOME", "CUDA_ROOT", "CUDA_PATH"})
    if (const char *v = getenv(var)) {
      home = std::string(v) + "/bin";
      dirs.push_back(home);
      break;
    }
  dirs.push_back("/usr/local/cuda/bin");
  if (auto p = llvm::sys::findProgramByName("ptxas", dirs))
    return *p;
  return std::nullopt;
}

/// Assembles the PTX for `arch`. nullopt when ptxas is not installed; an
/// error when it rejects the PTX.
FailureOr<std::optional<std::string>> assembleCubin(ModuleOp module, StringRef ptx,
                                                    StringRef arch) {
  auto ptxas = findPtxas();
  if (!ptxas || ptx.empty())
    return std::optional<std::string>();
  SmallString<128> ptxPath, cubinPath, logPath;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("kiln-kernels", "ptx", fd, ptxPath))
    return module.emitError("cannot create a temporary PTX file");
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << ptx;
  }
  if (llvm::sys::fs::createTemporaryFile("kiln-kernels", "cubin", cubinPath) ||
      llvm::sys::fs::createTemporaryFile("kiln-ptxas", "log", logPath))
    return module.emitError("cannot create temporary files for ptxas");
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(ptxPath);
    llvm::sys::fs::remove(cubinPath);
    llvm::sys::fs::remove(logPath);
  });
  std::string archFlag = "-arch=" + arch.str();
  SmallVector<StringRef> args{*ptxas, archFlag, "-O3", ptxPath, "-o", cubinPath};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath), StringRef(logPath)};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects, 0, 0, &err);
  if (rc != 0) {
    std::string log;
    if (auto buf = llvm::MemoryBuffer::getFile(logPath))
      log = (*buf)->getBuffer().trim().str();
    return module.emitError() << "ptxas rejected the kernels for " << arch << ": "
                              << (log.empty() ? err : log);
  }
  auto buf = llvm::MemoryBuffer::getFile(cubinPath);
  if (!buf)
    return module.emitError("cannot read the cubin ptxas wrote");
  return std::optional<std::string>((*buf)->getBuffer().str());
}

} // namespace

std::optional<std::string> kiln::findPtxasTool() { return findPtxas(); }

void kiln::useDefaultCudaToolkit() {
  if (!getenv("CUDA_HOME") && !getenv("CUDA_ROOT") && !getenv("CUDA_PATH") &&
      llvm::sys::fs::exists("/usr/local/cuda/nvvm/libdevice"))
    setenv("CUDA_HOME", "/usr/local/cuda", 0);
}

FailureOr<ModelSignature> kiln::lowerToCudaHostLLVM(ModuleOp module,
                                                    const CudaArtifactOptions &options) {
  MLIRContext *ctx = module.getContext();
  if (options.pipeline.target != Target::CUDA || options.pipeline.emulation)
    return module.emitError("a CUDA model library needs the CUDA target without emulation");
  if (llvm::Error e = verifyOptions(options.pipeline, Stage::Ptx))
    return module.emitError(llvm::toString(std::move(e)));
  auto sig = prepareModelEntry(module);
  if (failed(sig))
    return failure();
  ctx->loadDialect<LLVM::LLVMDialect, gpu::GPUDialect, ub::UBDialect>();
  useDefaultCudaToolkit();

  {
    PassManager pm(ctx);
    applyDebugOptions(pm, options.pipeline);
    buildPipeline(pm, options.pipeline, Stage::Kiln, Stage::Gpu);
    // The caller (the runtime) owns the outputs; intermediates share one
    // arena with liveness-based offsets.
    bufferization::BufferResultsToOutParamsPassOptions outParams;
    outParams.modifyPublicFunctions = true;
    outParams.hoistStaticAllocs = true;
    pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
    pm.addNestedPass<func::FuncOp>(kiln::createMemoryPlan());
    if (failed(pm.run(module)))
      return failure();
  }
  HostPlan plan;
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (failed(rewriteHostMemory(module, main, plan, options)))
    return failure();
  {
    PassManager pm(ctx);
    applyDebugOptions(pm, options.pipeline);
    buildGpuToPtxPipeline(pm, options.pipeline.gpuArch);
    if (failed(pm.run(module)))
      return failure();
  }
  if (failed(finishHostCode(module, plan, *sig, options)))
    return failure();
  // The cubin, when ptxas is here; the driver JIT-compiles the PTX
  // otherwise (or on a device of another architecture).
  std::string cubin;
  if (options.cubin) {
    auto assembled = assembleCubin(module, plan.ptx, options.pipeline.gpuArch);
    if (failed(assembled))
      return failure();
    if (*assembled)
      cubin = std::move(**assembled);
  }
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  auto i8 = IntegerType::get(ctx, 8);
  std::string cubinData = cubin.empty() ? std::string(1, '\0') : cubin;
  LLVM::GlobalOp::create(b, module.getLoc(), LLVM::LLVMArrayType::get(i8, cubinData.size()),
                         /*isConstant=*/true, LLVM::Linkage::External, KILN_CUDA_CUBIN_SYMBOL,
                         b.getStringAttr(cubinData));
  LLVM::GlobalOp::create(b, module.getLoc(), IntegerType::get(ctx, 64), /*isConstant=*/true,
                         LLVM::Linkage::External, KILN_CUDA_CUBIN_SIZE_SYMBOL,
                         b.getI64IntegerAttr(cubin.size()));
  return sig;
}

LogicalResult kiln::emitCudaArtifact(ModuleOp module, CpuArtifact kind, StringRef outputPath,
                                     const CudaArtifactOptions &options) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  if (failed(lowerToCudaHostLLVM(module, options)))
    return failure();

  RawWeights weights = RawWeights::detach(module);
  if (failed(placeWeights(module, weights, options.pipeline.weights, outputPath)))
    return failure();
  llvm::LLVMContext llvmCtx;
  auto llvmModule = translateModuleToLLVMIR(module, llvmCtx, "kiln_cuda_model");
  if (!llvmModule)
    return module.emitError("translation of the host code to LLVM IR failed");
  // The host code only sequences runtime calls: a generic CPU is enough and
  // keeps the library portable across hosts. The kiln_cuda_* functions come
  // from libkiln_runtime, which the process that loads the model has loaded
  // already, so nothing more is linked.
  return emitHostArtifact(module, *llvmModule, kind, outputPath,
                          {"generic", 2, llvm::CodeGenOptLevel::Default,
                           "kiln-cuda-model", {}, /*recordCpuFeatures=*/false, &weights});
}
