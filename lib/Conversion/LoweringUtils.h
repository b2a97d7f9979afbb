//===- LoweringUtils.h - building blocks of the kiln lowering ---*- C++ -*-===//
#ifndef KILN_LIB_CONVERSION_LOWERINGUTILS_H
#define KILN_LIB_CONVERSION_LOWERINGUTILS_H

#include "kiln/Dialect/Kiln/KilnOps.h"
#include "kiln/Conversion/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <functional>

namespace kiln {

using BodyBuilder = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::ValueRange)>;

inline mlir::RankedTensorType tensorType(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

/// An uninitialized tensor of the given type.
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type);

/// A tensor of `type` filled with `value`.
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::RankedTensorType type, mlir::Value value);

/// A scalar constant of element type `et` (float, integer or i1).
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Type et, double value);

/// The most negative / most positive value of `et` (-inf/+inf for floats).
mlir::Value lowestValue(mlir::OpBuilder &b, mlir::Location loc, mlir::Type et);
mlir::Value highestValue(mlir::OpBuilder &b, mlir::Location loc, mlir::Type et);

/// Indexing map that reads an operand of `shape` broadcast numpy-style to
/// the iteration space of `outShape`.
mlir::AffineMap broadcastMap(llvm::ArrayRef<int64_t> shape,
                             llvm::ArrayRef<int64_t> outShape,
                             mlir::MLIRContext *ctx);

/// linalg.generic computing `body(scalars of inputs)` per element of
/// `resultType`, with the inputs broadcast to it.
mlir::Value mapTensors(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::RankedTensorType resultType,
                       mlir::ValueRange inputs, const BodyBuilder &body);

/// Reshapes a tensor (same elements, row-major) through collapse/expand.
mlir::Value reshapeTensor(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value v, llvm::ArrayRef<int64_t> shape);

/// Broadcasts `v` numpy-style to `shape` (a no-op when already equal).
mlir::Value broadcastTensor(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value v, llvm::ArrayRef<int64_t> shape);

/// Reduces `v` over `axes` (sorted), dropping them, starting from `init`
/// and combining with `combine(acc, element)`.
mlir::Value reduceTensor(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                         llvm::ArrayRef<int64_t> axes, mlir::Value init,
                         const std::function<mlir::Value(
                             mlir::OpBuilder &, mlir::Location, mlir::Value,
                             mlir::Value)> &combine);

/// Shape of `v` with `axes` (sorted) set to 1, i.e. the keep-dims shape.
llvm::SmallVector<int64_t> keepDimsShape(llvm::ArrayRef<int64_t> shape,
                                         llvm::ArrayRef<int64_t> axes);

/// Scalar arithmetic that picks float or integer ops by type.
mlir::Value addScalars(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       mlir::Value y);
mlir::Value mulScalars(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       mlir::Value y);
mlir::Value maxScalars(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       mlir::Value y, bool isUnsigned = false);
mlir::Value minScalars(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       mlir::Value y, bool isUnsigned = false);
/// Converts a scalar between element types with ONNX Cast semantics.
mlir::Value convertScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                          mlir::Type from, mlir::Type to);

bool isUnsignedInt(mlir::Type t);

} // namespace kiln

#endif // KILN_LIB_CONVERSION_LOWERINGUTILS_H

namespace kiln {
/// Base of the kiln lowering patterns: gives the converted (signless)
/// result type of an op.
template <typename OpT>
struct KilnLowering : public mlir::OpConversionPattern<OpT> {
  using mlir::OpConversionPattern<OpT>::OpConversionPattern;
  mlir::RankedTensorType convertedType(mlir::Value v) const {
    return mlir::cast<mlir::RankedTensorType>(
        this->getTypeConverter()->convertType(v.getType()));
  }
};
} // namespace kiln
