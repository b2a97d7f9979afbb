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
  LogicalResult matchAndRewrite(ReduceOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
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
          return rewriter.notifyMatchFailure(op, "integer ReduceL2");
        r = mapOne(b, loc, r, [](OpBuilder &nb, Location l, Value v) -> Value {
          return math::SqrtOp::create(nb, l, v);
        });
      }
      break;
    }
    case ReduceKind::LogSum:
      if (!isa<FloatType>(et))
        return rewriter.notifyMatchFailure(op, "integer ReduceLogSum");
      r = mapOne(b, loc, sumOver(b, loc, x, axes),
                 [](OpBuilder &nb, Location l, Value v) -> Value {
                   return math::LogOp::create(nb, l, v);
                 });
      break;
    case ReduceKind::LogSumExp: {
      if (!isa<FloatType>(et))
        return rewriter.notifyMatchFailure(op, "integer ReduceLogSumExp");
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
    rewriter.replaceOp(op, reshapeTensor(b, loc, r, op.getType().getShape()));
    return success();
  }
};

struct SoftmaxLowering : KilnLowering<SoftmaxOp> {
  using KilnLowering::KilnLowering;
  LogicalResult matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
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
    Value r;
    if (op.getLog())
      r = mapTwo(b, loc, shifted, s, [](OpBuilder &nb, Location l, Value v, Value sv) -> Value {
        return arith::SubFOp::create(nb, l, v, math::LogOp::create(nb, l, sv));
      });
    else
      r = mapTwo(b, loc, e, s, [](OpBuilder &nb, Location l, Value v, Value sv) -> Value {
        return arith::DivFOp::create(nb, l, v, sv);
      });
    rewriter.replaceOp(op, r);
    return success();
  }
};

/// Reshapes a per-channel parameter [C] to broadcast against dim 1 of a
/// rank-`rank` tensor: [C, 1, ..., 1].
Value channelParam(OpBuilder &b, Location loc, Value p, int64_t rank) {
  SmallVector<int64_t> shape{tensorType(p).getDimSize(0)};
  shape.append(rank - 2, 1);
  return reshapeTensor(b, loc, p, shape);
}

struct BatchNormLowering : KilnLowering<BatchNormOp> {
  using KilnLowering::KilnLowering;
  LogicalResult matchAndRewrite(BatchNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    int64_t rank = tensorType(x).getRank();
    double eps = op.getEpsilon().convertToDouble();
    SmallVector<Value> ins{x};
    for (Value p : {adaptor.getScale(), adaptor.getBias(), adaptor.getMean(),
                    adaptor.getVariance()})
      ins.push_back(channelParam(rewriter, loc, p, rank));
    Value r = mapTensors(
        rewriter, loc, tensorType(x), ins,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value epsV = scalarConstant(b, l, a[0].getType(), eps);
          Value denom = math::SqrtOp::create(b, l, arith::AddFOp::create(b, l, a[4], epsV));
          Value norm = arith::DivFOp::create(b, l, arith::SubFOp::create(b, l, a[0], a[3]), denom);
          return arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, norm, a[1]), a[2]);
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

/// (x - mean) / sqrt(var + eps) over `axes`, with the statistics computed
/// in two passes.
Value normalize(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes,
                double eps) {
  ArrayRef<int64_t> shape = tensorType(x).getShape();
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
  LogicalResult matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    SmallVector<int64_t> axes;
    for (int64_t d = op.getAxis(); d < tensorType(x).getRank(); ++d)
      axes.push_back(d);
    Value y = normalize(rewriter, loc, x, axes, op.getEpsilon().convertToDouble());
    y = mapTwo(rewriter, loc, y, adaptor.getScale(),
               [](OpBuilder &b, Location l, Value v, Value s) -> Value {
                 return arith::MulFOp::create(b, l, v, s);
               });
    if (Value bias = adaptor.getBias())
      y = mapTwo(rewriter, loc, y, bias, [](OpBuilder &b, Location l, Value v, Value s) -> Value {
        return arith::AddFOp::create(b, l, v, s);
      });
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct InstanceNormLowering : KilnLowering<InstanceNormOp> {
  using KilnLowering::KilnLowering;
  LogicalResult matchAndRewrite(InstanceNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    int64_t rank = tensorType(x).getRank();
    SmallVector<int64_t> axes;
    for (int64_t d = 2; d < rank; ++d)
      axes.push_back(d);
    Value y = normalize(rewriter, loc, x, axes, op.getEpsilon().convertToDouble());
    Value s = channelParam(rewriter, loc, adaptor.getScale(), rank);
    Value bias = channelParam(rewriter, loc, adaptor.getBias(), rank);
    y = mapTensors(rewriter, loc, tensorType(y), ValueRange{y, s, bias},
                   [](OpBuilder &b, Location l, ValueRange a) -> Value {
                     return arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, a[0], a[1]), a[2]);
                   });
    rewriter.replaceOp(op, y);
    return success();
  }
};

} // namespace

void kiln::populateReductionToLinalgPatterns(const TypeConverter &converter,
                                             RewritePatternSet &patterns) {
  patterns.add<ReduceLowering, SoftmaxLowering, BatchNormLowering,
               LayerNormLowering, InstanceNormLowering>(converter,
                                                        patterns.getContext());
}
