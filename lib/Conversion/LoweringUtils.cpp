//===- LoweringUtils.cpp - building blocks of the kiln lowering ----------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/AffineMap.h"

#include <limits>

using namespace mlir;
using namespace kiln;

bool kiln::isUnsignedInt(Type t) {
  auto it = dyn_cast<IntegerType>(t);
  return it && it.isUnsigned();
}

bool kiln::isUnsignedOrBool(Type t) { return isUnsignedInt(t) || t.isInteger(1); }

Value kiln::emptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
}

Value kiln::filledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                         Value value) {
  return linalg::FillOp::create(b, loc, ValueRange{value},
                                ValueRange{emptyTensor(b, loc, type)})
      .getResult(0);
}

/// Integer element types are signless in arith; unsigned kiln types keep
/// their bit width.
static Type arithType(Type et) {
  if (auto it = dyn_cast<IntegerType>(et); it && !it.isSignless())
    return IntegerType::get(et.getContext(), it.getWidth());
  return et;
}

Value kiln::scalarConstant(OpBuilder &b, Location loc, Type et, double value) {
  if (auto ft = dyn_cast<FloatType>(et))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  auto it = cast<IntegerType>(et);
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(arithType(it), APInt(it.getWidth(), (uint64_t)(int64_t)value, true)));
}

/// The highest value of `et` (+inf for floats), or the lowest (-inf).
static Value extremeValue(OpBuilder &b, Location loc, Type et, bool highest) {
  if (auto ft = dyn_cast<FloatType>(et))
    return arith::ConstantOp::create(
        b, loc, b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(), !highest)));
  auto it = cast<IntegerType>(et);
  unsigned width = it.getWidth();
  // i1 is unsigned: false < true.
  bool isUnsigned = it.isUnsigned() || width == 1;
  APInt v = highest ? (isUnsigned ? APInt::getMaxValue(width) : APInt::getSignedMaxValue(width))
                    : (isUnsigned ? APInt::getMinValue(width) : APInt::getSignedMinValue(width));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(arithType(it), v));
}

Value kiln::lowestValue(OpBuilder &b, Location loc, Type et) {
  return extremeValue(b, loc, et, /*highest=*/false);
}

Value kiln::highestValue(OpBuilder &b, Location loc, Type et) {
  return extremeValue(b, loc, et, /*highest=*/true);
}

AffineMap kiln::broadcastMap(ArrayRef<int64_t> shape, ArrayRef<int64_t> outShape,
                             MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  size_t off = outShape.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1 && outShape[i + off] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(i + off, ctx));
  }
  return AffineMap::get(outShape.size(), 0, exprs, ctx);
}

Value kiln::indexedGeneric(OpBuilder &b, Location loc, RankedTensorType resultType,
                           ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                           const BodyBuilder &body) {
  int64_t rank = resultType.getRank();
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, inputs, ValueRange{emptyTensor(b, loc, resultType)}, maps,
      iters, [&](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, body(nb, l, args.drop_back()));
      });
  return generic.getResult(0);
}

Value kiln::copyThrough(OpBuilder &b, Location loc, RankedTensorType resultType, Value input,
                        AffineMap map) {
  return indexedGeneric(b, loc, resultType, ValueRange{input}, {map},
                        [](OpBuilder &, Location, ValueRange args) { return args[0]; });
}

Value kiln::mapTensors(OpBuilder &b, Location loc, RankedTensorType resultType, ValueRange inputs,
                       const BodyBuilder &body) {
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(tensorType(in).getShape(), resultType.getShape(), b.getContext()));
  return indexedGeneric(b, loc, resultType, inputs, maps, body);
}

SmallVector<OpFoldResult> kiln::indexAttrs(OpBuilder &b, ArrayRef<int64_t> values) {
  return llvm::map_to_vector(values, [&](int64_t v) -> OpFoldResult { return b.getIndexAttr(v); });
}

Value kiln::padTensor(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> low,
                      ArrayRef<int64_t> high, Value value) {
  RankedTensorType type = tensorType(v);
  SmallVector<int64_t> shape(type.getShape());
  for (size_t d = 0; d < shape.size(); ++d)
    shape[d] += low[d] + high[d];
  return tensor::PadOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()), v,
                               indexAttrs(b, low), indexAttrs(b, high), value);
}

Value kiln::reshapeTensor(OpBuilder &b, Location loc, Value v,
                          ArrayRef<int64_t> shape) {
  RankedTensorType type = tensorType(v);
  if (type.getShape() == shape)
    return v;
  auto target = RankedTensorType::get(shape, type.getElementType());
  // Collapse to 1-D (or keep rank 0), then expand: both are views.
  Value flat = v;
  int64_t n = type.getNumElements();
  if (type.getRank() != 1) {
    SmallVector<ReassociationIndices> all;
    if (type.getRank() > 0) {
      ReassociationIndices group;
      for (int64_t d = 0; d < type.getRank(); ++d)
        group.push_back(d);
      all.push_back(group);
    }
    if (type.getRank() == 0)
      flat = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get({1}, type.getElementType()), v,
          ArrayRef<ReassociationIndices>{});
    else
      flat = tensor::CollapseShapeOp::create(
          b, loc, RankedTensorType::get({n}, type.getElementType()), v, all);
  }
  if (shape.size() == 1)
    return flat;
  SmallVector<ReassociationIndices> all;
  if (!shape.empty()) {
    ReassociationIndices group;
    for (size_t d = 0; d < shape.size(); ++d)
      group.push_back(d);
    all.push_back(group);
    return tensor::ExpandShapeOp::create(b, loc, target, flat, all);
  }
  return tensor::CollapseShapeOp::create(b, loc, target, flat,
                                         ArrayRef<ReassociationIndices>{});
}

Value kiln::broadcastTensor(OpBuilder &b, Location loc, Value v,
                            ArrayRef<int64_t> shape) {
  RankedTensorType type = tensorType(v);
  if (type.getShape() == shape)
    return v;
  return mapTensors(b, loc, RankedTensorType::get(shape, type.getElementType()),
                    ValueRange{v},
                    [](OpBuilder &, Location, ValueRange a) { return a[0]; });
}

SmallVector<int64_t> kiln::keepDimsShape(ArrayRef<int64_t> shape,
                                         ArrayRef<int64_t> axes) {
  SmallVector<int64_t> out(shape);
  for (int64_t a : axes)
    out[a] = 1;
  return out;
}

Value kiln::reduceTensor(
    OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> axes, Value init,
    const std::function<Value(OpBuilder &, Location, Value, Value)> &combine) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType type = tensorType(v);
  SmallVector<int64_t> outShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    bool reduced = llvm::is_contained(axes, d);
    iters.push_back(reduced ? utils::IteratorType::reduction
                            : utils::IteratorType::parallel);
    if (!reduced) {
      outShape.push_back(type.getDimSize(d));
      outExprs.push_back(getAffineDimExpr(d, ctx));
    }
  }
  auto outType = RankedTensorType::get(outShape, init.getType());
  Value acc = filledTensor(b, loc, outType, init);
  SmallVector<AffineMap> maps{
      AffineMap::getMultiDimIdentityMap(type.getRank(), ctx),
      AffineMap::get(type.getRank(), 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, ValueRange{v}, ValueRange{acc}, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, combine(nb, nloc, args[1], args[0]));
      });
  return generic.getResult(0);
}

/// `FloatOp` on floats; on integers `UnsignedOp` when `isUnsigned`, else
/// `SignedOp`.
template <typename FloatOp, typename SignedOp, typename UnsignedOp = SignedOp>
static Value scalarOp(OpBuilder &b, Location loc, Value x, Value y, bool isUnsigned = false) {
  if (isa<FloatType>(x.getType()))
    return FloatOp::create(b, loc, x, y);
  if (isUnsigned)
    return UnsignedOp::create(b, loc, x, y);
  return SignedOp::create(b, loc, x, y);
}

Value kiln::addScalars(OpBuilder &b, Location loc, Value x, Value y) {
  return scalarOp<arith::AddFOp, arith::AddIOp>(b, loc, x, y);
}

Value kiln::mulScalars(OpBuilder &b, Location loc, Value x, Value y) {
  return scalarOp<arith::MulFOp, arith::MulIOp>(b, loc, x, y);
}

Value kiln::maxScalars(OpBuilder &b, Location loc, Value x, Value y,
                       bool isUnsigned) {
  return scalarOp<arith::MaximumFOp, arith::MaxSIOp, arith::MaxUIOp>(b, loc, x, y, isUnsigned);
}

Value kiln::minScalars(OpBuilder &b, Location loc, Value x, Value y,
                       bool isUnsigned) {
  return scalarOp<arith::MinimumFOp, arith::MinSIOp, arith::MinUIOp>(b, loc, x, y, isUnsigned);
}

Value kiln::convertScalar(OpBuilder &b, Location loc, Value x, Type from,
                          Type to) {
  Type toA = arithType(to);
  if (from == to)
    return x;
  auto fromF = dyn_cast<FloatType>(from), toF = dyn_cast<FloatType>(to);
  if (to.isInteger(1)) {
    if (fromF)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x,
                                   scalarConstant(b, loc, from, 0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x,
                                 scalarConstant(b, loc, from, 0));
  }
  if (fromF && toF) {
    if (fromF.getWidth() < toF.getWidth())
      return arith::ExtFOp::create(b, loc, toF, x);
    if (fromF.getWidth() > toF.getWidth())
      return arith::TruncFOp::create(b, loc, toF, x);
    // Same width, different format (f16 <-> bf16): go through f32.
    Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), x);
    return arith::TruncFOp::create(b, loc, toF, wide);
  }
  bool fromUnsigned = isUnsignedOrBool(from);
  if (toF) {
    if (fromUnsigned)
      return arith::UIToFPOp::create(b, loc, toF, x);
    return arith::SIToFPOp::create(b, loc, toF, x);
  }
  if (fromF) {
    if (isUnsignedInt(to))
      return arith::FPToUIOp::create(b, loc, toA, x);
    return arith::FPToSIOp::create(b, loc, toA, x);
  }
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (fw < tw)
    return fromUnsigned ? (Value)arith::ExtUIOp::create(b, loc, toA, x)
                        : (Value)arith::ExtSIOp::create(b, loc, toA, x);
  if (fw > tw)
    return arith::TruncIOp::create(b, loc, toA, x);
  return x;
}
