//===- Passes.h - passes shared by every target -----------------*- C++ -*-===//
#ifndef KILN_CODEGEN_COMMON_PASSES_H
#define KILN_CODEGEN_COMMON_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Codegen/Common/Passes.h.inc"

/// Bytes of a dense buffer of static shape in the default memory space
/// (i1 as one byte); nullopt for any other memref.
std::optional<int64_t> denseBufferBytes(mlir::MemRefType type);

/// The buffer of `tensor` as a read-only memref of any strided layout
/// (bufferization.to_buffer): for kernels built on tensors, before
/// bufferization, that read their operands by address and strides.
mlir::Value readOnlyBuffer(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tensor);

/// The buffer a memref view ultimately looks into (through every
/// ViewLikeOpInterface op, upstream's walk); any other value is its own root.
inline mlir::Value rootBuffer(mlir::Value v) {
  auto memref = llvm::dyn_cast<mlir::MemrefValue>(v);
  return memref ? mlir::memref::skipViewLikeOps(memref) : v;
}

#define GEN_PASS_REGISTRATION
#include "kiln/Codegen/Common/Passes.h.inc"

} // namespace kiln

#endif // KILN_CODEGEN_COMMON_PASSES_H
