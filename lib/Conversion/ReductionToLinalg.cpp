//===- ReductionToLinalg.cpp - reductions, softmax, normalizations -------===//
#include "LoweringUtils.h"

using namespace mlir;
using namespace kiln;

namespace {

using Combine = std::function<Value(OpBuilder &, Location, Value, Value)>;

Value sumOver(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> axes) {
  Type et = tensorType(v).getElementType();
  return reduceTensor(b, loc, v, axes, scalarConstant(b, loc, et, 0),
                      [](OpBuilder &nb, Location l, Value acc, Value x) {
                        return addScalars(nb, l, acc, x);
                      });
}

Value maxOver(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> axes,
              bool isUnsigned) {
  Type et = tensorType(v).getElementType();
  return reduceTensor(b, loc, v, axes, lowestValue(b, loc, et),
                      [=](OpBuilder &nb, Location l, Value acc, Value x) {
                        return maxScalars(nb, l, acc, x, isUnsigned);
                      });
}

int64_t countOf(ArrayRef<int64_t> shape, ArrayRef<int64_t> axes) {
  int64_t n = 1;
  for (int64_t a : axes)
    n *= shape[a];
  return n;
}

/// Applies `fn` elementwise to a tensor.
Value mapOne(OpBuilder &b, Location loc, Value v,
             const std::function<Value(OpBuilder &, Location, Value)> &fn) {
  return mapTensors(b, loc, tensorType(v), ValueRange{v},
                    [&](OpBuilder &nb, Location l, ValueRange a) { return fn(nb, l, a[0]); });
}

/// `lhs op rhs` with numpy broadcasting; the result has lhs's shape.
Value mapTwo(OpBuilder &b, Location loc, Value lhs, Value rhs,
             const std::function<Value(OpBuilder &, Location, Value, Value)> &fn) {
  return mapTensors(b, loc, tensorType(lhs), ValueRange{lhs, rhs},
                    [&](OpBuilder &nb, Location l, ValueRange a) { return fn(nb, l, a[0], a[1]); });
}

struct ReduceLowering : KilnLowering<ReduceOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(ReduceOp op, OpAdaptor adaptor, RankedTensorType, Location loc,
                         ConversionPatternRewriter &b) const override {
    Value x = adaptor.getInput();
    Type et = tensorType(x).getElementType();
    bool u = isUnsignedInt(op.getInput().getType().getElementType());
    ArrayRef<int64_t> axes = op.getAxes();
    ArrayRef<int64_t> shape = tensorType(x).getShape();
    auto c = [&](double v) { return scalarConstant(b, loc, et, v); };
    Value r;
    switch (op.getKind()) {
    case ReduceKind::Sum:
      r = sumOver(b, loc, x, axes);
      break;
    case ReduceKind::Mean: {
      Value s = sumOver(b, loc, x, axes);
      Value n = c((double)countOf(shape, axes));
      r = mapOne(b, loc, s, [&](OpBuilder &nb, Location l, Value v) -> Value {
        if (isa<FloatType>(et))
          return arith::DivFOp::create(nb, l, v, n);
        return arith::DivSIOp::create(nb, l, v, n);
      });
      break;
    }
    case ReduceKind::Max:
      r = maxOver(b, loc, x, axes, u);
      break;
    case ReduceKind::Min:
      r = reduceTensor(b, loc, x, axes, highestValue(b, loc, et),
                       [=](OpBuilder &nb, Location l, Value acc, Value v) {
                         return minScalars(nb, l, acc, v, u);
                       });
      break;
    case ReduceKind::Prod:
      r = reduceTensor(b, loc, x, axes, c(1),
                       [](OpBuilder &nb, Location l, Value acc, Value v) {
                         return mulScalars(nb, l, acc, v);
                       });
      break;
    case ReduceKind::L1:
      r = reduceTensor(b, loc, x, axes, c(0),
                       [&](OpBuilder &nb, Location l, Value acc, Value v) -> Value {
                         Value a = isa<FloatType>(et) ? (Value)math::AbsFOp::create(nb, l, v)
                                                      : (Value)math::AbsIOp::create(nb, l, v);
                         return addScalars(nb, l, acc, a);
                       });
      break;
    case ReduceKind::L2:
    case ReduceKind::SumSquare: {
      r = reduceTensor(b, loc, x, axes, c(0),
                       [](OpBuilder &nb, Location l, Value acc, Value v) {
                         return addScalars(nb, l, acc, mulScalars(nb, l, v, v));
                       });
      if (op.getKind() == ReduceKind::L2) {
        if (!isa<FloatType>(et))
          return b.notifyMatchFailure(op, "integer ReduceL2");
        r = mapOne(b, loc, r, [](OpBuilder &nb, Location l, Value v) -> Value {
          return math::SqrtOp::create(nb, l, v);
        });
      }
      break;
    }
    case ReduceKind::LogSum:
      if (!isa<FloatType>(et))
        return b.notifyMatchFailure(op, "integer ReduceLogSum");
      r = mapOne(b, loc, sumOver(b, loc, x, axes),
                 [](OpBuilder &nb, Location l, Value v) -> Value {
                   return math::LogOp::create(nb, l, v);
                 });
      break;
    case ReduceKind::LogSumExp: {
      if (!isa<FloatType>(et))
        return b.notifyMatchFailure(op, "integer ReduceLogSumExp");
      // max-stabilized: m + log(sum(exp(x - m)))
      Value m = maxOver(b, loc, x, axes, false);
      Value mk = reshapeTensor(b, loc, m, keepDimsShape(shape, axes));
      Value e = mapTwo(b, loc, x, mk, [](OpBuilder &nb, Location l, Value v, Value mv) -> Value {
        return math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, v, mv));
      });
      Value s = sumOver(b, loc, e, axes);
      r = mapTwo(b, loc, s, m, [](OpBuilder &nb, Location l, Value sv, Value mv) -> Value {
        return arith::AddFOp::create(nb, l, math::LogOp::create(nb, l, sv), mv);
      });
      break;
    }
    }
    return reshapeTensor(b, loc, r, op.getType().getShape());
  }
};

struct SoftmaxLowering : KilnLowering<SoftmaxOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(SoftmaxOp op, OpAdaptor adaptor, RankedTensorType, Location loc,
                         ConversionPatternRewriter &b) const override {
    Value x = adaptor.getInput();
    ArrayRef<int64_t> shape = tensorType(x).getShape();
    SmallVector<int64_t> axes{(int64_t)op.getAxis()};
    SmallVector<int64_t> kept = keepDimsShape(shape, axes);
    Value m = reshapeTensor(b, loc, maxOver(b, loc, x, axes, false), kept);
    Value shifted = mapTwo(b, loc, x, m, [](OpBuilder &nb, Location l, Value v, Value mv) -> Value {
      return arith::SubFOp::create(nb, l, v, mv);
    });
    Value e = mapOne(b, loc, shifted, [](OpBuilder &nb, Location l, Value v) -> Value {
      return math::ExpOp::create(nb, l, v);
    });
    Value s = reshapeTensor(b, loc, sumOver(b, loc, e, axes), kept);
    if (op.getLog())
      return mapTwo(b, loc, shifted, s, [](OpBuilder &nb, Location l, Value v, Value sv) -> Value {
        return arith::SubFOp::create(nb, l, v, math::LogOp::create(nb, l, sv));
      });
    return mapTwo(b, loc, e, s, [](OpBuilder &nb, Location l, Value v, Value sv) -> Value {
      return arith::DivFOp::create(nb, l, v, sv);
    });
  }
};

/// `x` followed by the per-channel parameters `params`, each [C] reshaped
/// to [C, 1, ..., 1] to broadcast against dim 1 of `x`: the operands of a
/// per-channel map over `x`.
SmallVector<Value> withChannelParams(OpBuilder &b, Location loc, Value x, ValueRange params) {
  SmallVector<Value> operands{x};
  for (Value p : params) {
    SmallVector<int64_t> shape{tensorType(p).getDimSize(0)};
    shape.append(tensorType(x).getRank() - 2, 1);
    operands.push_back(reshapeTensor(b, loc, p, shape));
  }
  return operands;
}

struct BatchNormLowering : KilnLowering<BatchNormOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(BatchNormOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    double eps = op.getEpsilon().convertToDouble();
    SmallVector<Value> ins = withChannelParams(
        rewriter, loc, adaptor.getInput(),
        {adaptor.getScale(), adaptor.getBias(), adaptor.getMean(), adaptor.getVariance()});
    return mapTensors(
        rewriter, loc, type, ins,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value epsV = scalarConstant(b, l, a[0].getType(), eps);
          Value denom = math::SqrtOp::create(b, l, arith::AddFOp::create(b, l, a[4], epsV));
          Value norm = arith::DivFOp::create(b, l, arith::SubFOp::create(b, l, a[0], a[3]), denom);
          return arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, norm, a[1]), a[2]);
        });
  }
};

/// (x - mean) / sqrt(var + eps) over the axes from `first` on (what layer
/// and instance normalization share), with the statistics computed in two
/// passes.
Value normalize(OpBuilder &b, Location loc, Value x, int64_t first, double eps) {
  ArrayRef<int64_t> shape = tensorType(x).getShape();
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(first, shape.size()));
  Type et = tensorType(x).getElementType();
  SmallVector<int64_t> kept = keepDimsShape(shape, axes);
  Value n = scalarConstant(b, loc, et, (double)countOf(shape, axes));
  Value mean = mapOne(b, loc, reshapeTensor(b, loc, sumOver(b, loc, x, axes), kept),
                      [&](OpBuilder &nb, Location l, Value v) -> Value {
                        return arith::DivFOp::create(nb, l, v, n);
                      });
  Value diff = mapTwo(b, loc, x, mean, [](OpBuilder &nb, Location l, Value v, Value m) -> Value {
    return arith::SubFOp::create(nb, l, v, m);
  });
  Value sq = mapOne(b, loc, diff, [](OpBuilder &nb, Location l, Value v) -> Value {
    return arith::MulFOp::create(nb, l, v, v);
  });
  Value inv = mapOne(b, loc, reshapeTensor(b, loc, sumOver(b, loc, sq, axes), kept),
                     [&](OpBuilder &nb, Location l, Value v) -> Value {
                       Value var = arith::DivFOp::create(nb, l, v, n);
                       Value e = scalarConstant(nb, l, et, eps);
                       return math::RsqrtOp::create(nb, l, arith::AddFOp::create(nb, l, var, e));
                     });
  return mapTwo(b, loc, diff, inv, [](OpBuilder &nb, Location l, Value d, Value i) -> Value {
    return arith::MulFOp::create(nb, l, d, i);
  });
}

struct LayerNormLowering : KilnLowering<LayerNormOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(LayerNormOp op, OpAdaptor adaptor, RankedTensorType, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    Value y = normalize(rewriter, loc, adaptor.getInput(), op.getAxis(),
                        op.getEpsilon().convertToDouble());
    y = mapTwo(rewriter, loc, y, adaptor.getScale(),
               [](OpBuilder &b, Location l, Value v, Value s) -> Value {
                 return arith::MulFOp::create(b, l, v, s);
               });
    if (Value bias = adaptor.getBias())
      y = mapTwo(rewriter, loc, y, bias, [](OpBuilder &b, Location l, Value v, Value s) -> Value {
        return arith::AddFOp::create(b, l, v, s);
      });
    return y;
  }
};

struct InstanceNormLowering : KilnLowering<InstanceNormOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(InstanceNormOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    // Instance statistics are per sample and channel: over the spatial dims.
    Value y = normalize(rewriter, loc, adaptor.getInput(), /*first=*/2,
                        op.getEpsilon().convertToDouble());
    return mapTensors(rewriter, loc, type,
                      withChannelParams(rewriter, loc, y, {adaptor.getScale(), adaptor.getBias()}),
                      [](OpBuilder &b, Location l, ValueRange a) -> Value {
                        return arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, a[0], a[1]),
                                                     a[2]);
                      });
  }
};

/// `x` strictly beats `y` as a maximum (`wantMax`) or minimum. NaN beats
/// every number either way, as in numpy's argmax/argmin, so that NaNs are
/// found rather than silently skipped.
Value beats(OpBuilder &b, Location loc, Value x, Value y, bool wantMax,
            bool isUnsigned) {
  if (isa<FloatType>(x.getType())) {
    Value strict = arith::CmpFOp::create(
        b, loc, wantMax ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT, x, y);
    Value xNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
    Value yNum = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ORD, y, y);
    return arith::OrIOp::create(b, loc, strict,
                                arith::AndIOp::create(b, loc, xNan, yNum));
  }
  arith::CmpIPredicate pred =
      wantMax ? (isUnsigned ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt)
              : (isUnsigned ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt);
  return arith::CmpIOp::create(b, loc, pred, x, y);
}

/// Equality in which NaN equals NaN, so ties between NaNs break by index.
Value sameKey(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType())) {
    Value eq = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x, y);
    Value xNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
    Value yNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, y, y);
    return arith::OrIOp::create(b, loc, eq, arith::AndIOp::create(b, loc, xNan, yNan));
  }
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
}

/// (value, index) pairs ordered by value, then index: `winsOver` is true when
/// (x, ix) comes first. Breaking ties by index makes the order total, so a
/// reduction with it gives the same answer in any iteration order.
Value winsOver(OpBuilder &b, Location loc, Value x, Value ix, Value y, Value iy,
               bool wantMax, bool isUnsigned, bool lowerIndexFirst) {
  Value better = beats(b, loc, x, y, wantMax, isUnsigned);
  Value indexFirst = arith::CmpIOp::create(
      b, loc, lowerIndexFirst ? arith::CmpIPredicate::slt : arith::CmpIPredicate::sgt,
      ix, iy);
  Value tie = arith::AndIOp::create(b, loc, sameKey(b, loc, x, y), indexFirst);
  return arith::OrIOp::create(b, loc, better, tie);
}

/// Maps of a generic iterating over a rank-`rank` tensor: identity, and the
/// one that drops `axis` (for per-row accumulators).
std::pair<AffineMap, AffineMap> rowMaps(MLIRContext *ctx, int64_t rank, int64_t axis) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      exprs.push_back(getAffineDimExpr(d, ctx));
  return {AffineMap::getMultiDimIdentityMap(rank, ctx),
          AffineMap::get(rank, 0, exprs, ctx)};
}

SmallVector<int64_t> dropAxis(ArrayRef<int64_t> shape, int64_t axis) {
  SmallVector<int64_t> out(shape);
  out.erase(out.begin() + axis);
  return out;
}

Value axisIndexI64(OpBuilder &b, Location loc, int64_t axis) {
  Value i = linalg::IndexOp::create(b, loc, axis);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), i);
}

/// Says, for an element of a selection (its scalar, the kept value and
/// the kept index), whether the element replaces the kept pair and what
/// its index is.
using Pick = llvm::function_ref<std::pair<Value, Value>(OpBuilder &, Location, ValueRange)>;

/// A generic that walks `x` along `axis` and keeps one (value, index) pair
/// per row, starting from `initV` and `initI`: what ArgMax/ArgMin computes
/// and what each pass of TopK does.
linalg::GenericOp selectAlongAxis(OpBuilder &b, Location loc, Value x, int64_t axis, Value initV,
                                  Value initI, Pick pick) {
  int64_t rank = tensorType(x).getRank();
  auto [id, row] = rowMaps(b.getContext(), rank, axis);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters[axis] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
      b, loc, TypeRange{initV.getType(), initI.getType()}, ValueRange{x}, ValueRange{initV, initI},
      SmallVector<AffineMap>{id, row, row}, iters, [&](OpBuilder &nb, Location l, ValueRange args) {
        auto [take, i] = pick(nb, l, args);
        linalg::YieldOp::create(nb, l,
                                ValueRange{arith::SelectOp::create(nb, l, take, args[0], args[1]),
                                           arith::SelectOp::create(nb, l, take, i, args[2])});
      });
}

struct ArgReduceLowering : KilnLowering<ArgReduceOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(ArgReduceOp op, OpAdaptor adaptor, RankedTensorType, Location loc,
                         ConversionPatternRewriter &b) const override {
    Value x = adaptor.getInput();
    Type origEt = op.getInput().getType().getElementType();
    bool u = isUnsignedOrBool(origEt);
    bool wantMax = op.getKind() == ArgKind::Max;
    bool lowerFirst = !op.getSelectLastIndex();
    int64_t axis = op.getAxis();
    SmallVector<int64_t> rowShape = dropAxis(tensorType(x).getShape(), axis);
    auto valType = RankedTensorType::get(rowShape, tensorType(x).getElementType());
    auto idxType = RankedTensorType::get(rowShape, b.getI64Type());
    // Starting from the weakest value at index 0 is right even when every
    // element equals it: the tie-break then settles on the first or last.
    Value initV = filledTensor(b, loc, valType,
                               wantMax ? lowestValue(b, loc, origEt)
                                       : highestValue(b, loc, origEt));
    Value initI = filledTensor(b, loc, idxType, scalarConstant(b, loc, b.getI64Type(), 0));
    auto generic = selectAlongAxis(
        b, loc, x, axis, initV, initI,
        [&](OpBuilder &nb, Location l, ValueRange args) -> std::pair<Value, Value> {
          Value i = axisIndexI64(nb, l, axis);
          return {winsOver(nb, l, args[0], i, args[1], args[2], wantMax, u, lowerFirst), i};
        });
    return reshapeTensor(b, loc, generic.getResult(1), op.getType().getShape());
  }
};

/// A scan is not a linalg op. A scalar loop nest walks the input in
/// row-major order (so every row meets its axis positions in order),
/// carrying one running sum per row: O(n) per row. It moves elements with
/// tensor.extract/insert rather than slices, whose dynamic offsets would
/// need affine.apply after the CPU pipeline has lowered affine.
struct CumSumLowering : KilnLowering<CumSumOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(CumSumOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &b) const override {
    Value x = adaptor.getInput();
    if (type.getNumElements() == 0)
      return x;
    int64_t axis = op.getAxis(), rank = type.getRank();
    bool exclusive = op.getExclusive(), reverse = op.getReverse();
    Type et = type.getElementType();
    auto rowType = RankedTensorType::get(dropAxis(type.getShape(), axis), et);
    Value acc0 = filledTensor(b, loc, rowType, scalarConstant(b, loc, et, 0));
    SmallVector<Value> lbs, ubs, steps;
    for (int64_t d = 0; d < rank; ++d) {
      lbs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
      ubs.push_back(arith::ConstantIndexOp::create(b, loc, type.getDimSize(d)));
      steps.push_back(arith::ConstantIndexOp::create(b, loc, 1));
    }
    Value last = arith::ConstantIndexOp::create(b, loc, type.getDimSize(axis) - 1);
    scf::LoopNest nest = scf::buildLoopNest(
        b, loc, lbs, ubs, steps, ValueRange{acc0, emptyTensor(b, loc, type)},
        [&](OpBuilder &nb, Location l, ValueRange ivs,
            ValueRange iter) -> scf::ValueVector {
          SmallVector<Value> at(ivs);
          if (reverse)
            at[axis] = arith::SubIOp::create(nb, l, last, ivs[axis]);
          SmallVector<Value> row(at);
          row.erase(row.begin() + axis);
          Value before = tensor::ExtractOp::create(nb, l, iter[0], row);
          Value v = tensor::ExtractOp::create(nb, l, x, at);
          Value after = addScalars(nb, l, before, v);
          Value acc = tensor::InsertOp::create(nb, l, after, iter[0], row);
          Value res = tensor::InsertOp::create(nb, l, exclusive ? before : after,
                                               iter[1], at);
          return {acc, res};
        });
    return nest.results[1];
  }
};

/// Selection rather than a sort: pass j reduces each row to the best
/// element that comes after pick j-1 in the (value, index) order, so k
/// passes give the sorted top k in O(n*k) per row with no scratch mask.
/// TopK has two results, so it is not a KilnLowering and replaces the op
/// itself.
struct TopKLowering : OpConversionPattern<TopKOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TopKOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value x = adaptor.getInput();
    RankedTensorType valuesType = convertedType(*getTypeConverter(), op.getValues());
    RankedTensorType indicesType = convertedType(*getTypeConverter(), op.getIndices());
    Type et = tensorType(x).getElementType(), i64 = b.getI64Type();
    int64_t axis = op.getAxis(), k = op.getK(), rank = tensorType(x).getRank();
    if (valuesType.getNumElements() == 0) {
      rewriter.replaceOp(op, ValueRange{emptyTensor(b, loc, valuesType),
                                        emptyTensor(b, loc, indicesType)});
      return success();
    }
    bool u = isUnsignedOrBool(op.getInput().getType().getElementType());
    bool largest = op.getLargest();
    // `first(a, ia, c, ic)`: a is output before c. NaN sorts above every
    // number (numpy's order), and equal values keep the lower index first.
    auto first = [&](OpBuilder &nb, Location l, Value a, Value ia, Value c,
                     Value ic) -> Value {
      if (largest)
        return winsOver(nb, l, a, ia, c, ic, /*wantMax=*/true, u, true);
      Value better = beats(nb, l, c, a, /*wantMax=*/true, u);
      Value tie = arith::AndIOp::create(
          nb, l, sameKey(nb, l, a, c),
          arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, ia, ic));
      return arith::OrIOp::create(nb, l, better, tie);
    };

    SmallVector<int64_t> rowShape = dropAxis(tensorType(x).getShape(), axis);
    auto rowV = RankedTensorType::get(rowShape, et);
    auto rowI = RankedTensorType::get(rowShape, i64);
    auto [id, row] = rowMaps(b.getContext(), rank, axis);
    SmallVector<utils::IteratorType> mapIters(rank, utils::IteratorType::parallel);
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    Value ck = arith::ConstantIndexOp::create(b, loc, k);
    // The loop carries only the results, updated in place: pass j reads
    // pick j-1 back from them with tensor.extract, and stores its picks with
    // a masked write of column j (O(k) per row and pass, within the O(n)
    // of the pass itself). Dynamic-offset slices would need affine.apply
    // after the CPU pipeline has lowered affine.
    // The per-pass accumulators are carried too, so that they are allocated
    // once rather than in every pass.
    auto loop = scf::ForOp::create(
        b, loc, c0, ck, c1,
        ValueRange{emptyTensor(b, loc, valuesType), emptyTensor(b, loc, indicesType),
                   emptyTensor(b, loc, rowV), emptyTensor(b, loc, rowI)},
        [&](OpBuilder &nb, Location l, Value j, ValueRange iter) {
          Value isFirst = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, j, c0);
          Value prevAt = arith::MaxSIOp::create(
              nb, l, arith::SubIOp::create(nb, l, j, c1), c0);
          // Index -1 marks a row that has no candidate yet.
          Value accV = linalg::FillOp::create(nb, l, ValueRange{scalarConstant(nb, l, et, 0)},
                                              ValueRange{iter[2]})
                           .getResult(0);
          Value accI = linalg::FillOp::create(nb, l, ValueRange{scalarConstant(nb, l, i64, -1)},
                                              ValueRange{iter[3]})
                           .getResult(0);
          auto pass = selectAlongAxis(
              nb, l, x, axis, accV, accI,
              [&](OpBuilder &gb, Location gl, ValueRange a) -> std::pair<Value, Value> {
                SmallVector<Value> at;
                for (int64_t d = 0; d < rank; ++d)
                  at.push_back(d == axis ? prevAt : (Value)linalg::IndexOp::create(gb, gl, d));
                Value prevV = tensor::ExtractOp::create(gb, gl, iter[0], at);
                Value prevI = tensor::ExtractOp::create(gb, gl, iter[1], at);
                Value i = axisIndexI64(gb, gl, axis);
                Value candidate = arith::OrIOp::create(
                    gb, gl, isFirst, first(gb, gl, prevV, prevI, a[0], i));
                Value none = arith::CmpIOp::create(
                    gb, gl, arith::CmpIPredicate::slt, a[2],
                    scalarConstant(gb, gl, i64, 0));
                Value better = arith::OrIOp::create(
                    gb, gl, none, first(gb, gl, a[0], i, a[1], a[2]));
                return {arith::AndIOp::create(gb, gl, candidate, better), i};
              });
          auto store = linalg::GenericOp::create(
              nb, l, TypeRange{valuesType, indicesType},
              ValueRange{pass.getResult(0), pass.getResult(1)},
              ValueRange{iter[0], iter[1]}, SmallVector<AffineMap>{row, row, id, id},
              mapIters, [&](OpBuilder &gb, Location gl, ValueRange a) {
                Value here = arith::CmpIOp::create(
                    gb, gl, arith::CmpIPredicate::eq,
                    linalg::IndexOp::create(gb, gl, axis), j);
                linalg::YieldOp::create(
                    gb, gl, ValueRange{arith::SelectOp::create(gb, gl, here, a[0], a[2]),
                                       arith::SelectOp::create(gb, gl, here, a[1], a[3])});
              });
          scf::YieldOp::create(nb, l, ValueRange{store.getResult(0), store.getResult(1),
                                                 pass.getResult(0), pass.getResult(1)});
        });
    rewriter.replaceOp(op, ValueRange{loop.getResult(0), loop.getResult(1)});
    return success();
  }
};

} // namespace

void kiln::populateReductionToLinalgPatterns(const TypeConverter &converter,
                                             RewritePatternSet &patterns) {
  patterns.add<ReduceLowering, SoftmaxLowering, BatchNormLowering,
               LayerNormLowering, InstanceNormLowering, ArgReduceLowering,
               CumSumLowering, TopKLowering>(converter, patterns.getContext());
}
