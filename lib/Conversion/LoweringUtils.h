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

/// A parallel linalg.generic over `resultType` whose inputs are read through
/// `inputMaps` and whose body yields `body(scalars of inputs)`.
mlir::Value indexedGeneric(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::RankedTensorType resultType, mlir::ValueRange inputs,
                           llvm::ArrayRef<mlir::AffineMap> inputMaps, const BodyBuilder &body);

/// A tensor of `resultType` whose elements are those of `input` read through
/// `map`, e.g. a permutation.
mlir::Value copyThrough(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType resultType,
                        mlir::Value input, mlir::AffineMap map);

/// linalg.generic computing `body(scalars of inputs)` per element of
/// `resultType`, with the inputs broadcast to it.
mlir::Value mapTensors(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::RankedTensorType resultType,
                       mlir::ValueRange inputs, const BodyBuilder &body);

/// Index attributes of `values`, as the offsets and sizes of slices and pads.
llvm::SmallVector<mlir::OpFoldResult> indexAttrs(mlir::OpBuilder &b,
                                                 llvm::ArrayRef<int64_t> values);

/// `v` padded by `low` and `high` elements per dimension with `value`.
mlir::Value padTensor(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                      llvm::ArrayRef<int64_t> low, llvm::ArrayRef<int64_t> high, mlir::Value value);

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
/// Whether `t` is an unsigned integer or i1 (false < true): the types whose
/// comparisons and extensions are unsigned.
bool isUnsignedOrBool(mlir::Type t);

/// The converted (signless) type of `v`.
inline mlir::RankedTensorType convertedType(const mlir::TypeConverter &converter, mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(converter.convertType(v.getType()));
}

/// Base of the lowering patterns of single-result kiln ops. A pattern
/// implements `lower`, which builds at `loc` (the op's location) the value
/// of the converted result type `type` that replaces the op, or fails,
/// leaving the op illegal; the base then replaces the op, so that every way
/// out of a lowering is a plain return.
template <typename OpT>
struct KilnLowering : public mlir::OpConversionPattern<OpT> {
  using Base = mlir::OpConversionPattern<OpT>;
  using Base::Base;
  using OpAdaptor = typename Base::OpAdaptor;

  virtual mlir::FailureOr<mlir::Value> lower(OpT op, OpAdaptor adaptor, mlir::RankedTensorType type,
                                             mlir::Location loc,
                                             mlir::ConversionPatternRewriter &rewriter) const = 0;

  mlir::LogicalResult matchAndRewrite(OpT op, OpAdaptor adaptor,
                                      mlir::ConversionPatternRewriter &rewriter) const final {
    mlir::RankedTensorType type = convertedType(*this->getTypeConverter(), op->getResult(0));
    mlir::FailureOr<mlir::Value> replacement = lower(op, adaptor, type, op.getLoc(), rewriter);
    if (mlir::failed(replacement))
      return mlir::failure();
    rewriter.replaceOp(op, *replacement);
    return mlir::success();
  }
};

} // namespace kiln

#endif // KILN_LIB_CONVERSION_LOWERINGUTILS_H
