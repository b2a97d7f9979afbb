//===- WeightData.h - read and write constant weights ----------*- C++ -*-===//
#ifndef KILN_TRANSFORMS_WEIGHTDATA_H
#define KILN_TRANSFORMS_WEIGHTDATA_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// The elements of an f32 `kiln.constant` (dense or resource blob), or
/// nothing if `value` is not one.
std::optional<std::vector<float>> readFloatConstant(mlir::Value value);

/// A `kiln.constant` holding `data`: a resource blob named after
/// `blobName` when large, dense elements when small.
mlir::Value makeFloatConstant(mlir::OpBuilder &builder, mlir::Location loc,
                              mlir::RankedTensorType type,
                              llvm::ArrayRef<float> data, llvm::StringRef blobName);

/// The row-major bytes of a non-splat dense or resource-blob attribute of
/// static shape whose elements are whole bytes (not i1), exactly its element
/// count times the element width; nothing otherwise. The bytes live as long
/// as the attribute's context.
std::optional<llvm::ArrayRef<char>> denseBytes(mlir::ElementsAttr attr);

/// The raw bytes of a non-splat, non-bool `kiln.constant` (dense or
/// resource blob), row-major (a copy of denseBytes); nothing otherwise.
std::optional<std::vector<char>> readConstantBytes(mlir::Value value);

/// A `kiln.constant` of `type` from raw row-major bytes: a resource blob
/// when large, dense elements when small.
mlir::Value makeConstantFromBytes(mlir::OpBuilder &builder, mlir::Location loc,
                                  mlir::RankedTensorType type,
                                  llvm::ArrayRef<char> bytes, llvm::StringRef blobName);

/// A blob name derived from the constant behind `value` plus `suffix`.
std::string weightBlobName(mlir::Value value, llvm::StringRef suffix);

} // namespace kiln

#endif // KILN_TRANSFORMS_WEIGHTDATA_H
