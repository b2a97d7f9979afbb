//===- GpuEmulation.cpp - GPU kernels as per-thread CPU functions --------===//
//
// The kernels keep every index computation, bounds guard and memory access
// of the GPU code; only what the hardware provides (ids, dimensions,
// barriers, warp shuffles, shared memory) is redirected to the runtime
// (runtime/src/gpu_emulation.cpp), which runs the threads.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/Emulation/Passes.h"

#include "kiln_emulation_abi.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/Support/raw_ostream.h"

namespace kiln {
#define GEN_PASS_DEF_GPUEMULATION
#include "kiln/Codegen/Emulation/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

// Slots of the runtime's thread context (int64 each), as the runtime
// defines them; the x, y, z slots of a dimension are consecutive.
enum ContextSlot : int64_t {
  kThreadId = KILN_EMU_SLOT_THREAD_ID_X,
  kBlockId = KILN_EMU_SLOT_BLOCK_ID_X,
  kBlockDim = KILN_EMU_SLOT_BLOCK_DIM_X,
  kGridDim = KILN_EMU_SLOT_GRID_DIM_X,
  kStaticSharedOffset = KILN_EMU_SLOT_STATIC_SHARED_OFFSET,
  kLaneId = KILN_EMU_SLOT_LANE_ID,
};

bool isSpace(Attribute space, gpu::AddressSpace which, int64_t number) {
  if (!space)
    return false;
  if (auto a = dyn_cast<gpu::AddressSpaceAttr>(space))
    return a.getValue() == which;
  if (auto i = dyn_cast<IntegerAttr>(space))
    return i.getInt() == number;
  return false;
}

bool isWorkgroup(Attribute space) {
  return isSpace(space, gpu::AddressSpace::Workgroup, 3);
}

/// On the CPU every buffer is in the one address space.
Type stripMemorySpace(Type t) {
  auto m = dyn_cast<MemRefType>(t);
  if (!m || !m.getMemorySpace())
    return t;
  return MemRefType::get(m.getShape(), m.getElementType(), m.getLayout());
}

int64_t bufferBytes(MemRefType t) {
  return t.getNumElements() * ((t.getElementTypeBitWidth() + 7) / 8);
}

struct KernelInfo {
  std::string suffix;
  int64_t staticSharedBytes = 0;
  // bit 0: synchronizes (barriers, warp collectives); bit 1: its shared
  // memory accesses call the runtime's checker.
  int64_t flags = 0;
};

/// The memref a shared-memory access goes through, or null.
Value sharedAccessMemref(Operation *op) {
  Value m;
  if (auto o = dyn_cast<memref::LoadOp>(op))
    m = o.getMemRef();
  else if (auto o = dyn_cast<memref::StoreOp>(op))
    m = o.getMemRef();
  else if (auto o = dyn_cast<vector::LoadOp>(op))
    m = o.getBase();
  else if (auto o = dyn_cast<vector::StoreOp>(op))
    m = o.getBase();
  else
    return Value();
  auto t = dyn_cast<MemRefType>(m.getType());
  return t && isWorkgroup(t.getMemorySpace()) ? m : Value();
}

/// The kernel's flags (KernelInfo::flags), from its ops.
int64_t kernelFlags(Operation *kernel) {
  int64_t flags = 0;
  kernel->walk([&](Operation *op) {
    if (isa<gpu::BarrierOp, gpu::ShuffleOp, nvgpu::MmaSyncOp>(op))
      flags |= 1;
    if (isa<nvgpu::DeviceAsyncCopyOp, nvgpu::LdMatrixOp>(op) || sharedAccessMemref(op))
      flags |= 3;
  });
  return flags;
}

struct GpuEmulationPass : public kiln::impl::GpuEmulationBase<GpuEmulationPass> {
  using GpuEmulationBase::GpuEmulationBase;
  ModuleOp module;
  Type ptrType, i64Type, i32Type, indexType;
  int64_t siteCounter = 0;

  func::FuncOp runtimeFunc(StringRef name, FunctionType type) {
    if (auto f = module.lookupSymbol<func::FuncOp>(name))
      return f;
    OpBuilder b(module.getBodyRegion());
    auto f = func::FuncOp::create(b, module.getLoc(), name, type);
    f.setPrivate();
    return f;
  }

  Value loadSlot(OpBuilder &b, Location loc, Value ctx, int64_t slot) {
    Value addr = LLVM::GEPOp::create(b, loc, ptrType, i64Type, ctx,
                                     ArrayRef<LLVM::GEPArg>{(int32_t)slot});
    Value v = LLVM::LoadOp::create(b, loc, i64Type, addr);
    return arith::IndexCastOp::create(b, loc, indexType, v);
  }

  /// One 32-bit shuffle through the runtime: (value, valid).
  std::pair<Value, Value> shuffle32(OpBuilder &b, Location loc, Value ctx, Value v,
                                    Value offset, Value width, gpu::ShuffleMode mode) {
    auto fn = runtimeFunc("kiln_emu_shuffle",
                          FunctionType::get(b.getContext(),
                                            {ptrType, i32Type, i32Type, i32Type, i32Type},
                                            {i64Type}));
    int32_t m = mode == gpu::ShuffleMode::XOR    ? 0
                : mode == gpu::ShuffleMode::UP   ? 1
                : mode == gpu::ShuffleMode::DOWN ? 2
                                                 : 3;
    Value modeValue = arith::ConstantIntOp::create(b, loc, i32Type, m);
    Value r = func::CallOp::create(b, loc, fn, ValueRange{ctx, v, offset, width, modeValue})
                  .getResult(0);
    Value value = arith::TruncIOp::create(b, loc, i32Type, r);
    Value c32 = arith::ConstantIntOp::create(b, loc, i64Type, 32);
    Value bit = arith::TruncIOp::create(b, loc, b.getI1Type(),
                                        arith::ShRUIOp::create(b, loc, r, c32));
    return {value, bit};
  }

  LogicalResult lowerShuffle(gpu::ShuffleOp op, Value ctx) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type t = op.getValue().getType();
    unsigned bits = t.isIntOrFloat() ? t.getIntOrFloatBitWidth() : 0;
    if (bits != 32 && bits != 64)
      return op.emitOpError("GPU emulation shuffles 32- and 64-bit scalars, not ") << t;
    Type intType = b.getIntegerType(bits);
    Value v = isa<FloatType>(t) ? arith::BitcastOp::create(b, loc, intType, op.getValue())
                                : op.getValue();
    Value result, valid;
    if (bits == 32) {
      std::tie(result, valid) =
          shuffle32(b, loc, ctx, v, op.getOffset(), op.getWidth(), op.getMode());
    } else {
      // Like the NVVM lowering: two 32-bit shuffles.
      Value lo = arith::TruncIOp::create(b, loc, i32Type, v);
      Value c32 = arith::ConstantIntOp::create(b, loc, i64Type, 32);
      Value hi = arith::TruncIOp::create(b, loc, i32Type, arith::ShRUIOp::create(b, loc, v, c32));
      auto [rlo, vlo] = shuffle32(b, loc, ctx, lo, op.getOffset(), op.getWidth(), op.getMode());
      auto [rhi, vhi] = shuffle32(b, loc, ctx, hi, op.getOffset(), op.getWidth(), op.getMode());
      (void)vhi;
      Value wlo = arith::ExtUIOp::create(b, loc, i64Type, rlo);
      Value whi = arith::ShLIOp::create(b, loc, arith::ExtUIOp::create(b, loc, i64Type, rhi), c32);
      result = arith::OrIOp::create(b, loc, wlo, whi);
      valid = vlo;
    }
    if (isa<FloatType>(t))
      result = arith::BitcastOp::create(b, loc, t, result);
    op.getShuffleResult().replaceAllUsesWith(result);
    op.getValid().replaceAllUsesWith(valid);
    op.erase();
    return success();
  }

  /// The byte address (i64) of element `indices` of `mem`.
  Value elementAddress(OpBuilder &b, Location loc, Value mem, ValueRange indices) {
    auto type = cast<MemRefType>(mem.getType());
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, mem);
    Value linear = meta.getOffset();
    for (auto [i, idx] : llvm::enumerate(indices))
      linear = arith::AddIOp::create(b, loc, linear,
                                     arith::MulIOp::create(b, loc, idx, meta.getStrides()[i]));
    int64_t bytes = (type.getElementTypeBitWidth() + 7) / 8;
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, mem);
    Value addr = arith::AddIOp::create(
        b, loc, base,
        arith::MulIOp::create(b, loc, linear, arith::ConstantIndexOp::create(b, loc, bytes)));
    return arith::IndexCastOp::create(b, loc, i64Type, addr);
  }

  /// A constant string naming the instruction for the checker's reports:
  /// "kernel\top #N\tlocation", N numbering the instructions.
  Value siteString(OpBuilder &b, Location loc, StringRef kernel, StringRef opName,
                   Location where) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << kernel << "\t" << opName << " #" << siteCounter << "\t";
    if (auto f = dyn_cast<FileLineColLoc>(where))
      os << f.getFilename().getValue() << ":" << f.getLine() << ":" << f.getColumn();
    else if (auto n = dyn_cast<NameLoc>(where))
      os << n.getName().getValue();
    else if (auto fused = dyn_cast<FusedLoc>(where); fused && !fused.getLocations().empty())
      where.print(os);
    text.push_back('\0');
    std::string name = "kiln_emu_site_" + std::to_string(siteCounter++);
    return LLVM::createGlobalString(loc, b, name, text, LLVM::Linkage::Internal);
  }

  /// A shared-memory load or store: the checker sees it first.
  void checkSharedAccess(Operation *op, Value ctx, StringRef kernel) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    Value mem;
    ValueRange indices;
    int64_t bytes;
    bool write;
    auto elemBytes = [](Type t) -> int64_t {
      if (auto v = dyn_cast<VectorType>(t))
        return v.getNumElements() * ((v.getElementTypeBitWidth() + 7) / 8);
      return (t.getIntOrFloatBitWidth() + 7) / 8;
    };
    if (auto o = dyn_cast<memref::LoadOp>(op)) {
      mem = o.getMemRef(), indices = o.getIndices(), write = false;
      bytes = elemBytes(o.getType());
    } else if (auto o = dyn_cast<memref::StoreOp>(op)) {
      mem = o.getMemRef(), indices = o.getIndices(), write = true;
      bytes = elemBytes(o.getValueToStore().getType());
    } else if (auto o = dyn_cast<vector::LoadOp>(op)) {
      mem = o.getBase(), indices = o.getIndices(), write = false;
      bytes = elemBytes(o.getVectorType());
    } else {
      auto st = cast<vector::StoreOp>(op);
      mem = st.getBase(), indices = st.getIndices(), write = true;
      bytes = elemBytes(st.getVectorType());
    }
    auto fn = runtimeFunc("kiln_emu_smem",
                          FunctionType::get(b.getContext(),
                                            {ptrType, ptrType, i64Type, i32Type, i32Type}, {}));
    Value site = siteString(b, loc, kernel, write ? "store" : "load", loc);
    Value addr = elementAddress(b, loc, mem, indices);
    func::CallOp::create(b, loc, fn,
                         ValueRange{ctx, site, addr,
                                    arith::ConstantIntOp::create(b, loc, i32Type, bytes),
                                    arith::ConstantIntOp::create(b, loc, i32Type, write)});
  }

  /// nvgpu.device_async_copy: the runtime holds the copy until its group
  /// is waited on. Tokens only order the ops; they have no value here.
  LogicalResult lowerAsyncCopy(nvgpu::DeviceAsyncCopyOp op, Value ctx, StringRef kernel) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto srcType = cast<MemRefType>(op.getSrc().getType());
    int64_t elemBytes = (srcType.getElementTypeBitWidth() + 7) / 8;
    int64_t n = op.getDstElements().getZExtValue();
    Value dst = elementAddress(b, loc, op.getDst(), op.getDstIndices());
    Value src = elementAddress(b, loc, op.getSrc(), op.getSrcIndices());
    Value srcBytes;
    if (Value e = op.getSrcElements())
      srcBytes = arith::IndexCastOp::create(
          b, loc, i32Type,
          arith::MulIOp::create(b, loc, e, arith::ConstantIndexOp::create(b, loc, elemBytes)));
    else
      srcBytes = arith::ConstantIntOp::create(b, loc, i32Type, n * elemBytes);
    auto fn = runtimeFunc(
        "kiln_emu_cp_async",
        FunctionType::get(b.getContext(), {ptrType, ptrType, i64Type, i64Type, i32Type, i32Type},
                          {}));
    Value site = siteString(b, loc, kernel, "cp.async", loc);
    func::CallOp::create(b, loc, fn,
                         ValueRange{ctx, site, dst, src,
                                    arith::ConstantIntOp::create(b, loc, i32Type, n * elemBytes),
                                    srcBytes});
    op.getAsyncToken().dropAllUses();
    return success();
  }

  /// nvgpu.ldmatrix as the runtime's warp collective: the lane's row
  /// address in, one 32-bit register per tile out, reassembled into the
  /// op's vector (tiles x (32 / element bits)).
  LogicalResult lowerLdMatrix(nvgpu::LdMatrixOp op, Value ctx, Value buffer, StringRef kernel) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto resType = cast<VectorType>(op.getRes().getType());
    Type et = resType.getElementType();
    unsigned bits = et.getIntOrFloatBitWidth();
    if (resType.getRank() != 2 || (bits != 16 && bits != 32) ||
        resType.getShape()[1] != 32 / bits)
      return op.emitOpError("GPU emulation runs ldmatrix with 16- or 32-bit elements, not ")
             << resType;
    int32_t tiles = op.getNumTiles();
    Value addr = elementAddress(b, loc, op.getSrcMemref(), op.getIndices());
    auto fn = runtimeFunc("kiln_emu_ldmatrix",
                          FunctionType::get(b.getContext(),
                                            {ptrType, ptrType, i64Type, i32Type, i32Type, ptrType},
                                            {}));
    Value site = siteString(b, loc, kernel, "ldmatrix", loc);
    func::CallOp::create(b, loc, fn,
                         ValueRange{ctx, site, addr,
                                    arith::ConstantIntOp::create(b, loc, i32Type, tiles),
                                    arith::ConstantIntOp::create(b, loc, i32Type,
                                                                 op.getTranspose() ? 1 : 0),
                                    buffer});
    SmallVector<Value> elems;
    for (int32_t t = 0; t < tiles; ++t) {
      Value a = LLVM::GEPOp::create(b, loc, ptrType, i32Type, buffer, ArrayRef<LLVM::GEPArg>{t});
      Value word = LLVM::LoadOp::create(b, loc, i32Type, a);
      if (bits == 32) {
        elems.push_back(arith::BitcastOp::create(b, loc, et, word));
        continue;
      }
      Value pair = LLVM::BitcastOp::create(b, loc, VectorType::get({2}, et), word);
      for (int64_t e = 0; e < 2; ++e)
        elems.push_back(vector::ExtractOp::create(b, loc, pair, ArrayRef<int64_t>{e}));
    }
    op.getRes().replaceAllUsesWith(
        vector::FromElementsOp::create(b, loc, resType, elems).getResult());
    return success();
  }

  /// nvgpu.mma.sync as a warp collective of the runtime: the lane's A, B
  /// and C fragment elements, as f32 (f16 and bf16 extend exactly), go to a
  /// 16-float buffer (A at 0, B at 8, C at 12); kiln_emu_mma(ctx, kind,
  /// buffer) leaves the lane's D fragment at 12. Kind 0: m16n8k16 f16,
  /// kind 1: m16n8k8 tf32, kind 2: m16n8k16 bf16; f32 accumulators only.
  LogicalResult lowerMmaSync(nvgpu::MmaSyncOp op, Value ctx, Value buffer) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto aType = cast<VectorType>(op.getMatrixA().getType());
    auto bType = cast<VectorType>(op.getMatrixB().getType());
    auto cType = cast<VectorType>(op.getMatrixC().getType());
    std::array<int64_t, 3> shape = op.getMmaShapeAsArray();
    Type ae = aType.getElementType();
    Type f32 = b.getF32Type();
    int32_t kind;
    if (shape == std::array<int64_t, 3>{16, 8, 16} && (ae.isF16() || ae.isBF16()) &&
        aType.getShape() == ArrayRef<int64_t>{4, 2} && bType.getShape() == ArrayRef<int64_t>{2, 2} &&
        bType.getElementType() == ae)
      kind = ae.isF16() ? 0 : 2;
    else if (shape == std::array<int64_t, 3>{16, 8, 8} && ae.isF32() && op.getTf32EnabledAttr() &&
             aType.getShape() == ArrayRef<int64_t>{4, 1} &&
             bType.getShape() == ArrayRef<int64_t>{2, 1})
      kind = 1;
    else
      return op.emitOpError("GPU emulation runs mma.sync m16n8k16 with f16/bf16 "
                            "inputs and m16n8k8 tf32, not this shape and type");
    if (!cType.getElementType().isF32() || cType.getShape() != ArrayRef<int64_t>{2, 2})
      return op.emitOpError("GPU emulation runs mma.sync with f32 accumulators "
                            "(vector<2x2xf32>) only");
    auto store = [&](Value vec, int64_t base) {
      auto vt = cast<VectorType>(vec.getType());
      int64_t cols = vt.getShape()[1];
      for (int64_t r = 0; r < vt.getShape()[0]; ++r)
        for (int64_t e = 0; e < cols; ++e) {
          Value v = vector::ExtractOp::create(b, loc, vec, ArrayRef<int64_t>{r, e});
          if (!v.getType().isF32())
            v = arith::ExtFOp::create(b, loc, f32, v);
          Value addr = LLVM::GEPOp::create(b, loc, ptrType, f32, buffer,
                                           ArrayRef<LLVM::GEPArg>{(int32_t)(base + r * cols + e)});
          LLVM::StoreOp::create(b, loc, v, addr);
        }
    };
    store(op.getMatrixA(), 0);
    store(op.getMatrixB(), 8);
    store(op.getMatrixC(), 12);
    auto fn = runtimeFunc("kiln_emu_mma", FunctionType::get(b.getContext(),
                                                            {ptrType, i32Type, ptrType}, {}));
    Value kindValue = arith::ConstantIntOp::create(b, loc, i32Type, kind);
    func::CallOp::create(b, loc, fn, ValueRange{ctx, kindValue, buffer});
    SmallVector<Value> d;
    for (int32_t i = 0; i < 4; ++i) {
      Value addr = LLVM::GEPOp::create(b, loc, ptrType, f32, buffer,
                                       ArrayRef<LLVM::GEPArg>{12 + i});
      d.push_back(LLVM::LoadOp::create(b, loc, f32, addr));
    }
    op.getRes().replaceAllUsesWith(vector::FromElementsOp::create(b, loc, cType, d).getResult());
    op.erase();
    return success();
  }

  FailureOr<KernelInfo> convertKernel(gpu::GPUModuleOp gpuModule, gpu::GPUFuncOp kernel) {
    MLIRContext *ctx = module.getContext();
    KernelInfo info;
    info.suffix = (gpuModule.getName() + "_" + kernel.getName()).str();
    Location loc = kernel.getLoc();

    FunctionType ft = kernel.getFunctionType();
    unsigned numInputs = ft.getNumInputs();
    unsigned numWorkgroup = kernel.getNumWorkgroupAttributions();
    unsigned numPrivate = kernel.getNumPrivateAttributions();
    auto sharedType = MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
    SmallVector<Type> inputs{ptrType, sharedType};
    for (Type t : ft.getInputs())
      inputs.push_back(stripMemorySpace(t));

    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    auto func = func::FuncOp::create(b, loc, "kiln_emu_kernel_" + info.suffix,
                                     FunctionType::get(ctx, inputs, {}));
    func.setPrivate();
    func.getBody().takeBody(kernel.getBody());
    Block &entry = func.front();
    Value ctxArg = entry.insertArgument(0u, ptrType, loc);
    Value shared = entry.insertArgument(1u, sharedType, loc);

    // Shared-memory loads and stores, found while their types still say so.
    SmallVector<Operation *> sharedAccesses;
    func.walk([&](Operation *op) {
      if (sharedAccessMemref(op))
        sharedAccesses.push_back(op);
    });
    info.flags = kernelFlags(func);

    // Strip memory spaces everywhere in the body.
    func.walk([&](Operation *op) {
      for (Value r : op->getResults())
        r.setType(stripMemorySpace(r.getType()));
      for (Region &region : op->getRegions())
        for (Block &block : region)
          for (BlockArgument a : block.getArguments())
            a.setType(stripMemorySpace(a.getType()));
    });
    for (Block &block : func.getBody())
      for (BlockArgument a : block.getArguments())
        a.setType(stripMemorySpace(a.getType()));

    b.setInsertionPointToStart(&entry);
    Value staticBase;
    auto sharedView = [&](MemRefType t, Location l) -> FailureOr<Value> {
      if (!t.hasStaticShape() || !t.getLayout().isIdentity())
        return emitError(l) << "GPU emulation needs shared memory of a static, "
                               "contiguous type, not "
                            << t;
      if (!staticBase) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(&entry);
        staticBase = loadSlot(b, loc, ctxArg, kStaticSharedOffset);
      }
      int64_t offset = (info.staticSharedBytes + 15) / 16 * 16;
      info.staticSharedBytes = offset + bufferBytes(t);
      Value off = arith::AddIOp::create(
          b, l, staticBase, arith::ConstantIndexOp::create(b, l, offset));
      return memref::ViewOp::create(b, l, cast<MemRefType>(stripMemorySpace(t)), shared,
                                    off, ValueRange{})
          .getResult();
    };

    // Attributions follow the arguments (now shifted by two).
    for (unsigned k = 0; k < numWorkgroup; ++k) {
      BlockArgument a = entry.getArgument(2 + numInputs + k);
      auto view = sharedView(cast<MemRefType>(a.getType()), loc);
      if (failed(view))
        return failure();
      a.replaceAllUsesWith(*view);
    }
    for (unsigned k = 0; k < numPrivate; ++k) {
      BlockArgument a = entry.getArgument(2 + numInputs + numWorkgroup + k);
      Value alloca = memref::AllocaOp::create(b, loc, cast<MemRefType>(a.getType()));
      a.replaceAllUsesWith(alloca);
    }
    if (numWorkgroup + numPrivate)
      entry.eraseArguments(2 + numInputs, numWorkgroup + numPrivate);

    // Workgroup globals become views; other globals move to the host module.
    DenseMap<StringAttr, Value> globalViews;
    SymbolTable kernelSymbols(gpuModule);
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) { ops.push_back(op); });
    for (Operation *op : ops) {
      auto get = dyn_cast<memref::GetGlobalOp>(op);
      if (!get)
        continue;
      auto global = kernelSymbols.lookup<memref::GlobalOp>(get.getNameAttr().getAttr());
      if (!global)
        continue;
      if (isWorkgroup(global.getType().getMemorySpace())) {
        Value &view = globalViews[global.getSymNameAttr()];
        if (!view) {
          OpBuilder::InsertionGuard g(b);
          auto v = sharedView(global.getType(), global.getLoc());
          if (failed(v))
            return failure();
          view = *v;
        }
        get.replaceAllUsesWith(view);
        get.erase();
        continue;
      }
      if (!module.lookupSymbol(global.getSymNameAttr())) {
        OpBuilder mb(module.getBodyRegion());
        auto clone = cast<memref::GlobalOp>(mb.clone(*global));
        clone.setType(cast<MemRefType>(stripMemorySpace(global.getType())));
      }
    }

    for (Operation *op : sharedAccesses)
      checkSharedAccess(op, ctxArg, info.suffix);

    Value mmaBuffer; // one per kernel, in the entry block (not per loop trip)
    Value ldmBuffer;
    ops.clear();
    func.walk([&](Operation *op) { ops.push_back(op); });
    for (Operation *op : ops) {
      OpBuilder ob(op);
      Location l = op->getLoc();
      auto dimSlot = [&](int64_t base, gpu::Dimension d) {
        return loadSlot(ob, l, ctxArg, base + (int64_t)d);
      };
      if (auto o = dyn_cast<gpu::ThreadIdOp>(op)) {
        o.replaceAllUsesWith(dimSlot(kThreadId, o.getDimension()));
      } else if (auto o = dyn_cast<gpu::BlockIdOp>(op)) {
        o.replaceAllUsesWith(dimSlot(kBlockId, o.getDimension()));
      } else if (auto o = dyn_cast<gpu::BlockDimOp>(op)) {
        o.replaceAllUsesWith(dimSlot(kBlockDim, o.getDimension()));
      } else if (auto o = dyn_cast<gpu::GridDimOp>(op)) {
        o.replaceAllUsesWith(dimSlot(kGridDim, o.getDimension()));
      } else if (auto o = dyn_cast<gpu::GlobalIdOp>(op)) {
        Value id = arith::AddIOp::create(
            ob, l,
            arith::MulIOp::create(ob, l, dimSlot(kBlockId, o.getDimension()),
                                  dimSlot(kBlockDim, o.getDimension())),
            dimSlot(kThreadId, o.getDimension()));
        o.replaceAllUsesWith(id);
      } else if (auto o = dyn_cast<gpu::LaneIdOp>(op)) {
        o.replaceAllUsesWith(loadSlot(ob, l, ctxArg, kLaneId));
      } else if (isa<gpu::BarrierOp>(op)) {
        auto fn = runtimeFunc("kiln_emu_barrier", FunctionType::get(ctx, {ptrType}, {}));
        func::CallOp::create(ob, l, fn, ValueRange{ctxArg});
      } else if (auto o = dyn_cast<gpu::ShuffleOp>(op)) {
        if (failed(lowerShuffle(o, ctxArg)))
          return failure();
        continue;
      } else if (auto o = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op)) {
        if (failed(lowerAsyncCopy(o, ctxArg, info.suffix)))
          return failure();
      } else if (isa<nvgpu::DeviceAsyncCreateGroupOp>(op)) {
        auto fn = runtimeFunc("kiln_emu_cp_async_commit", FunctionType::get(ctx, {ptrType}, {}));
        func::CallOp::create(ob, l, fn, ValueRange{ctxArg});
        op->getResult(0).dropAllUses();
      } else if (auto o = dyn_cast<nvgpu::DeviceAsyncWaitOp>(op)) {
        auto fn = runtimeFunc("kiln_emu_cp_async_wait",
                              FunctionType::get(ctx, {ptrType, i32Type}, {}));
        int32_t n = o.getNumGroups() ? (int32_t)*o.getNumGroups() : 0;
        func::CallOp::create(ob, l, fn,
                             ValueRange{ctxArg, arith::ConstantIntOp::create(ob, l, i32Type, n)});
      } else if (auto o = dyn_cast<nvgpu::LdMatrixOp>(op)) {
        if (!ldmBuffer) {
          OpBuilder eb(&entry, entry.begin());
          Value n = LLVM::ConstantOp::create(eb, loc, i64Type, eb.getI64IntegerAttr(4));
          ldmBuffer = LLVM::AllocaOp::create(eb, loc, ptrType, i32Type, n, 16);
        }
        if (failed(lowerLdMatrix(o, ctxArg, ldmBuffer, info.suffix)))
          return failure();
      } else if (auto o = dyn_cast<nvgpu::MmaSyncOp>(op)) {
        if (!mmaBuffer) {
          OpBuilder eb(&entry, entry.begin());
          Value n = LLVM::ConstantOp::create(eb, loc, i64Type, eb.getI64IntegerAttr(16));
          mmaBuffer = LLVM::AllocaOp::create(eb, loc, ptrType, eb.getF32Type(), n, 16);
        }
        if (failed(lowerMmaSync(o, ctxArg, mmaBuffer)))
          return failure();
        continue;
      } else if (auto o = dyn_cast<gpu::DynamicSharedMemoryOp>(op)) {
        o.replaceAllUsesWith(shared);
      } else if (auto o = dyn_cast<gpu::ReturnOp>(op)) {
        func::ReturnOp::create(ob, l);
      } else if (StringRef ns = op->getName().getDialectNamespace();
                 ns == "gpu" || ns == "nvgpu" || ns == "nvvm") {
        return op->emitOpError("is not supported by GPU emulation");
      } else {
        continue;
      }
      op->erase();
    }
    return info;
  }

  /// What a launch must tell the runtime about a kernel, without
  /// converting it: the same offsets as convertKernel assigns.
  KernelInfo analyzeKernel(gpu::GPUModuleOp gpuModule, gpu::GPUFuncOp kernel) {
    KernelInfo info;
    info.suffix = (gpuModule.getName() + "_" + kernel.getName()).str();
    auto add = [&](MemRefType t) {
      if (!t.hasStaticShape())
        return; // convertKernel reports it
      info.staticSharedBytes = (info.staticSharedBytes + 15) / 16 * 16 + bufferBytes(t);
    };
    for (BlockArgument a : kernel.getWorkgroupAttributions())
      add(cast<MemRefType>(a.getType()));
    SymbolTable kernelSymbols(gpuModule);
    DenseSet<StringAttr> seen;
    info.flags = kernelFlags(kernel);
    kernel.walk([&](Operation *op) {
      auto get = dyn_cast<memref::GetGlobalOp>(op);
      if (!get)
        return;
      auto global = kernelSymbols.lookup<memref::GlobalOp>(get.getNameAttr().getAttr());
      if (global && isWorkgroup(global.getType().getMemorySpace()) &&
          seen.insert(global.getSymNameAttr()).second)
        add(global.getType());
    });
    return info;
  }

  void runOnOperation() override {
    module = getOperation();
    MLIRContext *ctx = module.getContext();
    ptrType = LLVM::LLVMPointerType::get(ctx);
    i64Type = IntegerType::get(ctx, 64);
    i32Type = IntegerType::get(ctx, 32);
    indexType = IndexType::get(ctx);

    llvm::StringMap<KernelInfo> kernels;
    SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
    for (gpu::GPUModuleOp gpuModule : gpuModules)
      for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>())
        if (kernel.isKernel())
          kernels[(gpuModule.getName() + "::" + kernel.getName()).str()] =
              analyzeKernel(gpuModule, kernel);
    if (convertLaunches && failed(rewriteLaunches(kernels)))
      return signalPassFailure();
    if (!convertKernels)
      return;
    for (gpu::GPUModuleOp gpuModule : gpuModules) {
      for (auto kernel : llvm::make_early_inc_range(gpuModule.getOps<gpu::GPUFuncOp>())) {
        if (!kernel.isKernel())
          continue;
        auto expected = kernels[(gpuModule.getName() + "::" + kernel.getName()).str()];
        auto info = convertKernel(gpuModule, kernel);
        if (failed(info))
          return signalPassFailure();
        if (info->staticSharedBytes != expected.staticSharedBytes ||
            info->flags != expected.flags) {
          module.emitError("GPU emulation: inconsistent shared memory layout of kernel ")
              << info->suffix;
          return signalPassFailure();
        }
      }
    }
    for (gpu::GPUModuleOp gpuModule : gpuModules)
      gpuModule.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }

  LogicalResult rewriteLaunches(const llvm::StringMap<KernelInfo> &kernels) {
    MLIRContext *ctx = module.getContext();
    WalkResult walk = module.walk([&](gpu::LaunchFuncOp launch) {
      if (!launch.getAsyncDependencies().empty() || launch.getAsyncToken() ||
          launch.getAsyncObject() || launch.hasClusterSize()) {
        launch.emitOpError("GPU emulation runs synchronous launches without "
                           "clusters only");
        return WalkResult::interrupt();
      }
      SymbolRefAttr sym = launch.getKernel();
      auto it = kernels.find((sym.getRootReference().getValue() + "::" +
                              sym.getLeafReference().getValue())
                                 .str());
      if (it == kernels.end()) {
        launch.emitOpError("launches an unknown kernel ") << sym;
        return WalkResult::interrupt();
      }
      const KernelInfo &info = it->second;
      OpBuilder b(launch);
      Location loc = launch.getLoc();
      auto index = [&](Value v) -> Value {
        if (v.getType().isIndex())
          return v;
        return arith::IndexCastOp::create(b, loc, indexType, v);
      };
      SmallVector<Value> operands{
          arith::ConstantIndexOp::create(b, loc, info.staticSharedBytes),
          arith::ConstantIndexOp::create(b, loc, info.flags),
          index(launch.getGridSizeX()),  index(launch.getGridSizeY()),
          index(launch.getGridSizeZ()),  index(launch.getBlockSizeX()),
          index(launch.getBlockSizeY()), index(launch.getBlockSizeZ())};
      if (Value dyn = launch.getDynamicSharedMemorySize())
        operands.push_back(index(dyn));
      else
        operands.push_back(arith::ConstantIndexOp::create(b, loc, 0));
      for (Value v : launch.getKernelOperands())
        operands.push_back(v);
      SmallVector<Type> types;
      for (Value v : operands)
        types.push_back(v.getType());
      auto fn = runtimeFunc("kiln_emu_launch_" + info.suffix,
                            FunctionType::get(ctx, types, {}));
      if (fn.getFunctionType() != FunctionType::get(ctx, types, {})) {
        launch.emitOpError("launches kernel ") << sym << " with other argument types than before";
        return WalkResult::interrupt();
      }
      func::CallOp::create(b, loc, fn, operands);
      launch.erase();
      return WalkResult::advance();
    });
    return failure(walk.wasInterrupted());
  }
};

} // namespace
