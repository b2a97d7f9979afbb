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

Value kiln::lowestValue(OpBuilder &b, Location loc, Type et) {
  if (auto ft = dyn_cast<FloatType>(et))
    return arith::ConstantOp::create(
        b, loc, b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(), true)));
  auto it = cast<IntegerType>(et);
  APInt v = it.isUnsigned() || it.getWidth() == 1 ? APInt::getMinValue(it.getWidth())
                                                  : APInt::getSignedMinValue(it.getWidth());
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(arithType(it), v));
}

Value kiln::highestValue(OpBuilder &b, Location loc, Type et) {
  if (auto ft = dyn_cast<FloatType>(et))
    return arith::ConstantOp::create(
        b, loc, b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(), false)));
  auto it = cast<IntegerType>(et);
  APInt v = it.isUnsigned() || it.getWidth() == 1 ? APInt::getMaxValue(it.getWidth())
                                                  : APInt::getSignedMaxValue(it.getWidth());
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(arithType(it), v));
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

Value kiln::mapTensors(OpBuilder &b, Location loc, RankedTensorType resultType,
                       ValueRange inputs, const BodyBuilder &body) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> outShape = resultType.getShape();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(tensorType(in).getShape(), outShape, ctx));
  maps.push_back(AffineMap::getMultiDimIdentityMap(outShape.size(), ctx));
  SmallVector<utils::IteratorType> iters(outShape.size(),
                                         utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, inputs,
      ValueRange{emptyTensor(b, loc, resultType)}, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value r = body(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, r);
      });
  return generic.getResult(0);
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

Value kiln::addScalars(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::AddFOp::create(b, loc, x, y);
  return arith::AddIOp::create(b, loc, x, y);
}

Value kiln::mulScalars(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::MulFOp::create(b, loc, x, y);
  return arith::MulIOp::create(b, loc, x, y);
}

Value kiln::maxScalars(OpBuilder &b, Location loc, Value x, Value y,
                       bool isUnsigned) {
  if (isa<FloatType>(x.getType()))
    return arith::MaximumFOp::create(b, loc, x, y);
  if (isUnsigned)
    return arith::MaxUIOp::create(b, loc, x, y);
  return arith::MaxSIOp::create(b, loc, x, y);
}

Value kiln::minScalars(OpBuilder &b, Location loc, Value x, Value y,
                       bool isUnsigned) {
  if (isa<FloatType>(x.getType()))
    return arith::MinimumFOp::create(b, loc, x, y);
  if (isUnsigned)
    return arith::MinUIOp::create(b, loc, x, y);
  return arith::MinSIOp::create(b, loc, x, y);
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
  bool fromUnsigned = isUnsignedInt(from) || from.isInteger(1);
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
