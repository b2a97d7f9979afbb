//===- PointwiseToLinalg.cpp - constants and elementwise ops -------------===//
#include "LoweringUtils.h"

#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace kiln;

namespace {

Value floatConst(OpBuilder &b, Location loc, Type t, double v) {
  return scalarConstant(b, loc, t, v);
}

/// The scalar body of a unary kind.
Value unaryBody(OpBuilder &b, Location loc, UnaryOp op, Value x) {
  Type t = x.getType();
  bool isFloat = isa<FloatType>(t);
  double alpha = op.getAlpha() ? op.getAlpha()->convertToDouble() : 0;
  double beta = op.getBeta() ? op.getBeta()->convertToDouble() : 0;
  auto c = [&](double v) { return floatConst(b, loc, t, v); };
  switch (op.getKind()) {
  case UnaryKind::Neg:
    if (isFloat)
      return arith::NegFOp::create(b, loc, x);
    return arith::SubIOp::create(b, loc, c(0), x);
  case UnaryKind::Abs:
    if (isFloat)
      return math::AbsFOp::create(b, loc, x);
    if (isUnsignedInt(op.getInput().getType().getElementType()))
      return x;
    return math::AbsIOp::create(b, loc, x);
  case UnaryKind::Sqrt: return math::SqrtOp::create(b, loc, x);
  case UnaryKind::Reciprocal: return arith::DivFOp::create(b, loc, c(1), x);
  case UnaryKind::Exp: return math::ExpOp::create(b, loc, x);
  case UnaryKind::Log: return math::LogOp::create(b, loc, x);
  case UnaryKind::Erf: return math::ErfOp::create(b, loc, x);
  case UnaryKind::Tanh: return math::TanhOp::create(b, loc, x);
  case UnaryKind::Sigmoid: {
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
    return arith::DivFOp::create(b, loc, c(1), arith::AddFOp::create(b, loc, c(1), e));
  }
  case UnaryKind::Relu:
    return maxScalars(b, loc, x, c(0));
  case UnaryKind::LeakyRelu: {
    Value neg = arith::MulFOp::create(b, loc, x, c(alpha));
    Value ge = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, x, c(0));
    return arith::SelectOp::create(b, loc, ge, x, neg);
  }
  case UnaryKind::Elu:
  case UnaryKind::Selu: {
    Value em1 = arith::SubFOp::create(b, loc, math::ExpOp::create(b, loc, x), c(1));
    Value neg = arith::MulFOp::create(b, loc, em1, c(alpha));
    Value gt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, c(0));
    Value r = arith::SelectOp::create(b, loc, gt, x, neg);
    if (op.getKind() == UnaryKind::Selu)
      r = arith::MulFOp::create(b, loc, r, c(beta));
    return r;
  }
  case UnaryKind::HardSigmoid:
  case UnaryKind::HardSwish: {
    double a = op.getKind() == UnaryKind::HardSwish ? 1.0 / 6.0 : alpha;
    double bb = op.getKind() == UnaryKind::HardSwish ? 0.5 : beta;
    Value lin = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, x, c(a)), c(bb));
    Value hs = minScalars(b, loc, maxScalars(b, loc, lin, c(0)), c(1));
    if (op.getKind() == UnaryKind::HardSwish)
      return arith::MulFOp::create(b, loc, x, hs);
    return hs;
  }
  case UnaryKind::Softplus:
    return math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, x));
  case UnaryKind::Floor: return math::FloorOp::create(b, loc, x);
  case UnaryKind::Ceil: return math::CeilOp::create(b, loc, x);
  case UnaryKind::Round: return math::RoundEvenOp::create(b, loc, x);
  case UnaryKind::Sin: return math::SinOp::create(b, loc, x);
  case UnaryKind::Cos: return math::CosOp::create(b, loc, x);
  case UnaryKind::Tan: return math::TanOp::create(b, loc, x);
  case UnaryKind::Asin: return math::AsinOp::create(b, loc, x);
  case UnaryKind::Acos: return math::AcosOp::create(b, loc, x);
  case UnaryKind::Atan: return math::AtanOp::create(b, loc, x);
  case UnaryKind::Sinh: return math::SinhOp::create(b, loc, x);
  case UnaryKind::Cosh: return math::CoshOp::create(b, loc, x);
  case UnaryKind::Asinh: return math::AsinhOp::create(b, loc, x);
  case UnaryKind::Acosh: return math::AcoshOp::create(b, loc, x);
  case UnaryKind::Atanh: return math::AtanhOp::create(b, loc, x);
  case UnaryKind::Not:
    return arith::XOrIOp::create(b, loc, x, scalarConstant(b, loc, t, 1));
  case UnaryKind::Sign: {
    Value zero = c(0);
    Value one = c(1), minusOne = c(-1);
    Value gt, lt;
    if (isFloat) {
      gt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, zero);
      lt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, zero);
    } else {
      bool u = isUnsignedInt(op.getInput().getType().getElementType());
      gt = arith::CmpIOp::create(b, loc, u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt, x, zero);
      lt = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, zero);
      if (u)
        lt = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
    }
    Value r = arith::SelectOp::create(b, loc, lt, minusOne, zero);
    return arith::SelectOp::create(b, loc, gt, one, r);
  }
  }
  llvm_unreachable("unknown unary kind");
}

struct ConstantLowering : KilnLowering<ConstantOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(ConstantOp op, OpAdaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    Attribute value = op.getValue();
    if (type != op.getType()) {
      if (auto dense = dyn_cast<DenseElementsAttr>(value))
        value = dense.bitcast(type.getElementType());
      else if (auto res = dyn_cast<DenseResourceElementsAttr>(value))
        value = DenseResourceElementsAttr::get(type, res.getRawHandle());
      else
        return rewriter.notifyMatchFailure(op, "unsupported constant");
    }
    return arith::ConstantOp::create(rewriter, loc, type, cast<TypedAttr>(value)).getResult();
  }
};

struct UnaryLowering : KilnLowering<UnaryOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(UnaryOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    return mapTensors(
        rewriter, loc, type, adaptor.getInput(),
        [&](OpBuilder &b, Location loc, ValueRange a) { return unaryBody(b, loc, op, a[0]); });
  }
};

Value binaryBody(OpBuilder &b, Location loc, BinaryKind kind, Type kilnType,
                 Value x, Value y) {
  bool f = isa<FloatType>(kilnType);
  bool u = isUnsignedOrBool(kilnType);
  using P = arith::CmpIPredicate;
  using FP = arith::CmpFPredicate;
  auto cmp = [&](FP fp, P sp, P up) -> Value {
    if (f)
      return arith::CmpFOp::create(b, loc, fp, x, y);
    return arith::CmpIOp::create(b, loc, u ? up : sp, x, y);
  };
  switch (kind) {
  case BinaryKind::Add: return addScalars(b, loc, x, y);
  case BinaryKind::Sub:
    return f ? (Value)arith::SubFOp::create(b, loc, x, y)
             : (Value)arith::SubIOp::create(b, loc, x, y);
  case BinaryKind::Mul: return mulScalars(b, loc, x, y);
  case BinaryKind::Div:
    if (f)
      return arith::DivFOp::create(b, loc, x, y);
    return u ? (Value)arith::DivUIOp::create(b, loc, x, y)
             : (Value)arith::DivSIOp::create(b, loc, x, y);
  case BinaryKind::Pow:
    if (f)
      return math::PowFOp::create(b, loc, x, y);
    return math::IPowIOp::create(b, loc, x, y);
  case BinaryKind::Max: return maxScalars(b, loc, x, y, u);
  case BinaryKind::Min: return minScalars(b, loc, x, y, u);
  case BinaryKind::And: return arith::AndIOp::create(b, loc, x, y);
  case BinaryKind::Or: return arith::OrIOp::create(b, loc, x, y);
  case BinaryKind::Xor: return arith::XOrIOp::create(b, loc, x, y);
  case BinaryKind::Eq: return cmp(FP::OEQ, P::eq, P::eq);
  case BinaryKind::Lt: return cmp(FP::OLT, P::slt, P::ult);
  case BinaryKind::Le: return cmp(FP::OLE, P::sle, P::ule);
  case BinaryKind::Gt: return cmp(FP::OGT, P::sgt, P::ugt);
  case BinaryKind::Ge: return cmp(FP::OGE, P::sge, P::uge);
  case BinaryKind::FMod:
  case BinaryKind::Mod: {
    if (f)
      return arith::RemFOp::create(b, loc, x, y);
    if (u)
      return arith::RemUIOp::create(b, loc, x, y);
    Value r = arith::RemSIOp::create(b, loc, x, y);
    if (kind == BinaryKind::FMod)
      return r;
    // Python-style: a non-zero remainder takes the sign of the divisor.
    Value zero = scalarConstant(b, loc, x.getType(), 0);
    Value rNeg = arith::CmpIOp::create(b, loc, P::slt, r, zero);
    Value yNeg = arith::CmpIOp::create(b, loc, P::slt, y, zero);
    Value nonZero = arith::CmpIOp::create(b, loc, P::ne, r, zero);
    Value fix = arith::AndIOp::create(
        b, loc, nonZero, arith::XOrIOp::create(b, loc, rNeg, yNeg));
    return arith::SelectOp::create(b, loc, fix, arith::AddIOp::create(b, loc, r, y), r);
  }
  }
  llvm_unreachable("unknown binary kind");
}

struct BinaryLowering : KilnLowering<BinaryOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(BinaryOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    Type kilnType = op.getLhs().getType().getElementType();
    return mapTensors(rewriter, loc, type, ValueRange{adaptor.getLhs(), adaptor.getRhs()},
                      [&](OpBuilder &b, Location loc, ValueRange a) {
                        return binaryBody(b, loc, op.getKind(), kilnType, a[0], a[1]);
                      });
  }
};

struct SelectLowering : KilnLowering<SelectOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(SelectOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    return mapTensors(
        rewriter, loc, type,
        ValueRange{adaptor.getCondition(), adaptor.getTrueValue(), adaptor.getFalseValue()},
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          return arith::SelectOp::create(b, loc, a[0], a[1], a[2]);
        });
  }
};

struct CastLowering : KilnLowering<CastOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(CastOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    Type from = op.getInput().getType().getElementType();
    Type to = op.getType().getElementType();
    return mapTensors(rewriter, loc, type, adaptor.getInput(),
                      [&](OpBuilder &b, Location loc, ValueRange a) {
                        return convertScalar(b, loc, a[0], from, to);
                      });
  }
};

} // namespace

void kiln::populatePointwiseToLinalgPatterns(const TypeConverter &converter,
                                             RewritePatternSet &patterns) {
  patterns.add<ConstantLowering, UnaryLowering, BinaryLowering, SelectLowering,
               CastLowering>(converter, patterns.getContext());
}
