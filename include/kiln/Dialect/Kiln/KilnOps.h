//===- KilnOps.h - kiln dialect -------------------------------*- C++ -*-===//
#ifndef KILN_DIALECT_KILNOPS_H
#define KILN_DIALECT_KILNOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "kiln/Dialect/Kiln/KilnDialect.h.inc"
#include "kiln/Dialect/Kiln/KilnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/Kiln/KilnAttrs.h.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/Kiln/KilnOps.h.inc"

namespace kiln {

/// Numpy-style broadcast of two static shapes; failure if incompatible.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// True if `from` broadcasts to exactly `to` under numpy rules.
bool isBroadcastableTo(llvm::ArrayRef<int64_t> from, llvm::ArrayRef<int64_t> to);

/// Whether a binary kind yields i1 regardless of its operand type.
bool isComparison(BinaryKind kind);

/// Whether a binary kind works on i1 operands only.
bool isLogical(BinaryKind kind);

/// Prints a shape as 1x3x224x224 (or "scalar" for rank 0).
std::string shapeToString(llvm::ArrayRef<int64_t> shape);

/// The discardable attributes that tag each op of a dissolved kernel group
/// (kiln-inline-kernels): the group's index in its function and its kind,
/// a `#kiln.kernel_kind` attribute.
inline constexpr llvm::StringLiteral kKernelIdAttr = "kiln.kernel";
inline constexpr llvm::StringLiteral kKernelKindAttr = "kiln.kernel_kind";
/// On the function (then the module) whose kernel groups were inlined: per
/// kernel index a dictionary {name, kind, flops, bytes, nodes}.
inline constexpr llvm::StringLiteral kKernelTableAttr = "kiln.kernels";

/// The kernel group `op` belongs to, if it carries the tag.
std::optional<int64_t> getKernelId(mlir::Operation *op);
/// The kind of the kernel group `op` belongs to, if it carries the tag.
std::optional<KernelKind> getKernelKind(mlir::Operation *op);
/// Tags `op` as a member of kernel group `id` of kind `kind`.
void setKernelTag(mlir::Operation *op, int64_t id, KernelKind kind);
/// Copies the kernel tag of `from` (if any) onto `to`.
void copyKernelTag(mlir::Operation *from, mlir::Operation *to);

} // namespace kiln

#endif // KILN_DIALECT_KILNOPS_H
