//===- LowerBf16MmaSync.cpp - bf16 nvgpu.mma.sync to nvvm.mma.sync -------===//
//
// nvgpu.mma.sync accepts bf16 fragments, but upstream's NVGPU-to-NVVM
// conversion only deduces PTX types for f16, tf32, f64 and integers. NVVM's
// mma.sync does take bf16 multiplicands, each pair of bf16 values packed in
// one 32-bit register (the lower half holds the fragment's first element),
// with the PTX type named explicitly. This pass rewrites bf16 mma.sync into
// that form ahead of the NVVM lowering; everything else is left to it.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/GPU/Passes.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

namespace kiln {
#define GEN_PASS_DEF_LOWERBF16MMASYNC
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The rows of a bf16 fragment (vector<R x 2 x bf16>) as i32 registers.
static SmallVector<Value> packRows(OpBuilder &b, Location loc, Value frag) {
  auto type = cast<VectorType>(frag.getType());
  auto wordType = VectorType::get({1}, b.getI32Type());
  SmallVector<Value> regs;
  for (int64_t r = 0; r < type.getShape()[0]; ++r) {
    Value pair = vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{r});
    Value word = vector::BitCastOp::create(b, loc, wordType, pair);
    regs.push_back(vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0}));
  }
  return regs;
}

static LogicalResult lowerBf16MmaSync(nvgpu::MmaSyncOp op) {
  auto aType = cast<VectorType>(op.getMatrixA().getType());
  auto bType = cast<VectorType>(op.getMatrixB().getType());
  auto cType = cast<VectorType>(op.getMatrixC().getType());
  if (!cType.getElementType().isF32())
    return op.emitOpError("bf16 mma.sync lowers with f32 accumulators only, not ")
           << cType;
  if (!bType.getElementType().isBF16())
    return op.emitOpError("bf16 mma.sync needs bf16 B fragments, not ") << bType;
  if (aType.getRank() != 2 || aType.getShape()[1] != 2 || bType.getRank() != 2 ||
      bType.getShape()[1] != 2 || cType.getRank() != 2 || cType.getShape()[1] != 2)
    return op.emitOpError("bf16 mma.sync fragments must be vector<Nx2x...> "
                          "(pairs of values per register)");
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<Value> aRegs = packRows(b, loc, op.getMatrixA());
  SmallVector<Value> bRegs = packRows(b, loc, op.getMatrixB());
  SmallVector<Value> cRegs;
  for (int64_t r = 0; r < cType.getShape()[0]; ++r)
    for (int64_t e = 0; e < 2; ++e)
      cRegs.push_back(vector::ExtractOp::create(b, loc, op.getMatrixC(),
                                                ArrayRef<int64_t>{r, e}));
  Type f32 = b.getF32Type();
  auto resultType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(cRegs.size(), f32));
  std::array<int64_t, 3> shape = op.getMmaShapeAsArray();
  auto mma = NVVM::MmaOp::create(
      b, loc, resultType, aRegs, bRegs, cRegs, shape, /*b1Op=*/std::nullopt,
      /*intOverflow=*/std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
  SmallVector<Value> d;
  for (int64_t i = 0; i < (int64_t)cRegs.size(); ++i)
    d.push_back(LLVM::ExtractValueOp::create(b, loc, mma.getRes(), ArrayRef<int64_t>{i}));
  op.getRes().replaceAllUsesWith(
      vector::FromElementsOp::create(b, loc, cType, d).getResult());
  op.erase();
  return success();
}

struct LowerBf16MmaSyncPass
    : kiln::impl::LowerBf16MmaSyncBase<LowerBf16MmaSyncPass> {
  void runOnOperation() override {
    SmallVector<nvgpu::MmaSyncOp> ops;
    getOperation()->walk([&](nvgpu::MmaSyncOp op) {
      if (cast<VectorType>(op.getMatrixA().getType()).getElementType().isBF16())
        ops.push_back(op);
    });
    for (nvgpu::MmaSyncOp op : ops)
      if (failed(lowerBf16MmaSync(op)))
        return signalPassFailure();
  }
};

} // namespace
