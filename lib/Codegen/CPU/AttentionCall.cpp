//===- AttentionCall.cpp - kiln.attention as the runtime's fused kernel ---===//
#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Dialect/Kiln/KilnOps.h"
#include "kiln_runtime.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "kiln-cpu-attention-to-call"

namespace kiln {
#define GEN_PASS_DEF_CPUATTENTIONTOCALL
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr const char *kAttentionFunction = "kiln_cpu_attention";

struct CpuAttentionToCallPass
    : kiln::impl::CpuAttentionToCallBase<CpuAttentionToCallPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<kiln::AttentionOp> ops;
    module.walk([&](kiln::AttentionOp op) { ops.push_back(op); });
    if (ops.empty())
      return;
    func::FuncOp callee = declare(module);
    for (kiln::AttentionOp op : ops) {
      if (!op.getQuery().getType().getElementType().isF32() ||
          !op.getType().hasStaticShape()) {
        op.emitOpError() << "the CPU's attention kernel takes static f32 tensors";
        return signalPassFailure();
      }
      rewrite(op, callee);
    }
  }

  /// kiln_cpu_attention: 32 index values (sizes, then address and four
  /// strides of Q, K, V, mask and output), the scale, the causal offset
  /// and the flags.
  func::FuncOp declare(ModuleOp module) {
    if (auto f = module.lookupSymbol<func::FuncOp>(kAttentionFunction))
      return f;
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    SmallVector<Type> args(32, b.getIndexType());
    args.push_back(b.getF32Type());
    args.push_back(b.getIndexType());
    args.push_back(b.getIndexType());
    auto f = func::FuncOp::create(b, module.getLoc(), kAttentionFunction,
                                  b.getFunctionType(args, {}));
    f.setPrivate();
    return f;
  }

  /// Appends the address of `memref` and its element strides along
  /// [batch, heads, rows, columns]; a memref of lower rank is aligned to
  /// the right, and its size-1 dimensions (broadcast) get stride 0.
  void addOperand(OpBuilder &b, Location loc, Value memref, SmallVectorImpl<Value> &args) {
    auto constant = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    auto type = cast<MemRefType>(memref.getType());
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    Value offsetBytes = arith::MulIOp::create(b, loc, meta.getOffset(), constant(4));
    args.push_back(arith::AddIOp::create(b, loc, base, offsetBytes));
    int64_t rank = type.getRank();
    for (int64_t d = rank - 4; d < rank; ++d)
      args.push_back(d < 0 || type.getDimSize(d) == 1 ? Value(constant(0))
                                                      : meta.getStrides()[d]);
  }

  void rewrite(kiln::AttentionOp op, func::FuncOp callee) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto constant = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    // Any layout the operands' buffers have: read by address and strides.
    auto buffer = [&](Value tensor) { return kiln::readOnlyBuffer(b, loc, tensor); };
    ArrayRef<int64_t> q = op.getQuery().getType().getShape(),
                      k = op.getKey().getType().getShape(),
                      v = op.getValue().getType().getShape();
    SmallVector<Value> operands{buffer(op.getQuery()), buffer(op.getKey()),
                                buffer(op.getValue())};
    if (Value mask = op.getMask())
      operands.push_back(buffer(mask));
    auto resultType = op.getType();
    auto outType = MemRefType::get(resultType.getShape(), resultType.getElementType());
    Value out = memref::AllocOp::create(b, loc, outType, b.getI64IntegerAttr(64));
    operands.push_back(out);
    // The call reads addresses, not memrefs: inside a region that uses the
    // buffers (and stays a region until LLVM), so that the memory plan sees
    // them live across the call.
    auto region = scf::ExecuteRegionOp::create(b, loc, TypeRange{}, /*no_inline=*/true);
    kiln::copyKernelTag(op, region);
    b.setInsertionPointToStart(&region.getRegion().emplaceBlock());
    SmallVector<Value> args;
    for (int64_t size : {q[0], q[1], k[1], q[2], k[2], q[3], v[3]})
      args.push_back(constant(size));
    for (Value operand : ArrayRef<Value>(operands).drop_back())
      addOperand(b, loc, operand, args);
    if (!op.getMask())
      for (int i = 0; i < 5; ++i)
        args.push_back(constant(0));
    addOperand(b, loc, out, args);
    args.push_back(arith::ConstantOp::create(b, loc, b.getF32FloatAttr(
                                                         op.getScale().convertToFloat())));
    std::optional<int64_t> causal = op.getCausalOffset();
    args.push_back(constant(causal.value_or(0)));
    int64_t flags = (causal ? KILN_ATTENTION_CAUSAL : 0) |
                    (op.getZeroNanRows() ? KILN_ATTENTION_ZERO_NAN_ROWS : 0);
    args.push_back(constant(flags));
    func::CallOp::create(b, loc, callee, args);
    scf::YieldOp::create(b, loc);
    b.setInsertionPointAfter(region);
    Value result = bufferization::ToTensorOp::create(b, loc, resultType, out,
                                                     /*restrict=*/b.getUnitAttr(),
                                                     /*writable=*/b.getUnitAttr());
    LLVM_DEBUG(llvm::dbgs() << "runtime attention call at " << loc << "\n");
    op.replaceAllUsesWith(result);
    op.erase();
  }
};

} // namespace
