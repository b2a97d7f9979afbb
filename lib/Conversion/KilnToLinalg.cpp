//===- KilnToLinalg.cpp - the kiln to linalg conversion pass -------------===//
//
// Tensors keep their shapes; integer element types become signless (arith's
// convention), and the patterns read signedness from the original kiln
// types where it matters (division, comparison, extension, conversion).
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Transforms/DialectConversion.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALG
#include "kiln/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

class SignlessTypeConverter : public TypeConverter {
public:
  SignlessTypeConverter() {
    addConversion([](Type t) { return t; });
    addConversion([](IntegerType t) -> Type {
      return IntegerType::get(t.getContext(), t.getWidth());
    });
    addConversion([this](RankedTensorType t) -> Type {
      return RankedTensorType::get(t.getShape(),
                                   convertType(t.getElementType()));
    });
  }
};

/// Kernel groups stay; their signatures become signless.
struct KernelSignature : OpConversionPattern<KernelOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KernelOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Type> results;
    if (failed(getTypeConverter()->convertTypes(op.getResultTypes(), results)))
      return failure();
    OperationState state(op.getLoc(), op->getName());
    state.addOperands(adaptor.getInputs());
    state.addTypes(results);
    state.addAttributes(op->getAttrs());
    state.addRegion();
    Operation *kernel = rewriter.create(state);
    Region *body = &kernel->getRegion(0);
    rewriter.inlineRegionBefore(op.getBody(), *body, body->end());
    if (failed(rewriter.convertRegionTypes(body, *getTypeConverter())))
      return failure();
    rewriter.replaceOp(op, kernel->getResults());
    return success();
  }
};

struct YieldSignature : OpConversionPattern<YieldOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(YieldOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<YieldOp>(op, adaptor.getValues());
    return success();
  }
};

/// Whether `op` is left for the target's fused kernel.
bool keptAttention(AttentionOp op, bool keepF32, bool keepHalf) {
  auto qt = op.getQuery().getType();
  Type et = qt.getElementType();
  bool kept = et.isF32() ? keepF32 : (et.isF16() || et.isBF16()) && keepHalf;
  return kept && qt.hasStaticShape() &&
         op.getKey().getType().hasStaticShape() && op.getValue().getType().hasStaticShape() &&
         (!op.getMask() || cast<RankedTensorType>(op.getMask().getType()).hasStaticShape());
}

/// kiln.attention as the ops it stands for: K and V repeated over query
/// heads, matmul(Q, K^T) * scale (+ mask) (+ causal bias), softmax, NaN
/// rows zeroed if asked, matmul with V.
void decomposeAttention(AttentionOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto qt = op.getQuery().getType();
  Type et = qt.getElementType();
  auto tensor = [&](ArrayRef<int64_t> shape) { return RankedTensorType::get(shape, et); };
  auto scalar = [&](double x) -> Value {
    auto t = RankedTensorType::get({}, et);
    return ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, b.getFloatAttr(et, x)));
  };
  ArrayRef<int64_t> q = qt.getShape(), kShape = op.getKey().getType().getShape();
  int64_t reps = ShapedType::isDynamic(q[1]) || ShapedType::isDynamic(kShape[1]) ||
                         kShape[1] == 0
                     ? 1
                     : q[1] / kShape[1];
  auto repeat = [&](Value t) -> Value {
    if (reps == 1)
      return t;
    ArrayRef<int64_t> s = cast<RankedTensorType>(t.getType()).getShape();
    Value r = ReshapeOp::create(b, loc, tensor({s[0], s[1], 1, s[2], s[3]}), t);
    Value x = BroadcastOp::create(b, loc, tensor({s[0], s[1], reps, s[2], s[3]}), r);
    return ReshapeOp::create(b, loc, tensor({s[0], s[1] * reps, s[2], s[3]}), x);
  };
  Value k = repeat(op.getKey()), v = repeat(op.getValue());
  ArrayRef<int64_t> ks = cast<RankedTensorType>(k.getType()).getShape();
  Value kt = TransposeOp::create(b, loc, tensor({ks[0], ks[1], ks[3], ks[2]}), k,
                                 b.getDenseI64ArrayAttr({0, 1, 3, 2}));
  auto scoresType = tensor({q[0], q[1], q[2], ks[2]});
  Value s = MatMulOp::create(b, loc, scoresType, op.getQuery(), kt);
  auto binary = [&](BinaryKind kind, Value lhs, Value rhs) -> Value {
    return BinaryOp::create(b, loc, lhs.getType(), BinaryKindAttr::get(b.getContext(), kind),
                            lhs, rhs);
  };
  s = binary(BinaryKind::Mul, s, scalar(op.getScale().convertToDouble()));
  if (Value mask = op.getMask())
    s = binary(BinaryKind::Add, s, mask);
  if (std::optional<int64_t> offset = op.getCausalOffset()) {
    int64_t sq = q[2], sk = ks[2];
    auto biasType = tensor({sq, sk});
    SmallVector<APFloat> bias;
    for (int64_t i = 0; i < sq; ++i)
      for (int64_t j = 0; j < sk; ++j)
        bias.push_back(APFloat(cast<FloatType>(et).getFloatSemantics(),
                               j <= i + *offset ? "0" : "-inf"));
    Value c = ConstantOp::create(b, loc, biasType, DenseElementsAttr::get(biasType, bias));
    s = binary(BinaryKind::Add, s, c);
  }
  Value p = SoftmaxOp::create(b, loc, scoresType, s, b.getI64IntegerAttr(3));
  if (op.getZeroNanRows()) {
    auto boolType = RankedTensorType::get(scoresType.getShape(), b.getI1Type());
    Value same = BinaryOp::create(b, loc, boolType,
                                  BinaryKindAttr::get(b.getContext(), BinaryKind::Eq), p, p);
    Value nan = UnaryOp::create(b, loc, boolType,
                                UnaryKindAttr::get(b.getContext(), UnaryKind::Not), same,
                                FloatAttr(), FloatAttr());
    p = SelectOp::create(b, loc, scoresType, nan, scalar(0.0), p);
  }
  Value out = MatMulOp::create(b, loc, op.getType(), p, v);
  op.replaceAllUsesWith(out);
  op.erase();
}

struct ConvertKilnToLinalgPass
    : public kiln::impl::ConvertKilnToLinalgBase<ConvertKilnToLinalgPass> {
  using ConvertKilnToLinalgBase::ConvertKilnToLinalgBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    SmallVector<AttentionOp> attentions;
    getOperation().walk([&](AttentionOp op) {
      if (!keptAttention(op, keepF32Attention, keepHalfAttention))
        attentions.push_back(op);
    });
    for (AttentionOp op : attentions)
      decomposeAttention(op);
    SignlessTypeConverter converter;
    RewritePatternSet patterns(ctx);
    populatePointwiseToLinalgPatterns(converter, patterns);
    populateContractionToLinalgPatterns(converter, patterns);
    populateDataMovementToLinalgPatterns(converter, patterns);
    populateReductionToLinalgPatterns(converter, patterns);
    populateWindowToLinalgPatterns(converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    patterns.add<KernelSignature, YieldSignature>(converter, ctx);

    ConversionTarget target(*ctx);
    target.addIllegalDialect<KilnDialect>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect,
                           scf::SCFDialect>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return converter.isSignatureLegal(op.getFunctionType());
    });
    // The body's arguments mirror the inputs, so legal inputs and results
    // make a legal kernel.
    target.addDynamicallyLegalOp<KernelOp>(
        [&](KernelOp op) { return converter.isLegal(op); });
    target.addDynamicallyLegalOp<AttentionOp>(
        [&](AttentionOp op) { return keptAttention(op, keepF32Attention, keepHalfAttention); });
    target.addDynamicallyLegalOp<YieldOp>(
        [&](YieldOp op) { return converter.isLegal(op); });
    target.addDynamicallyLegalOp<func::ReturnOp>(
        [&](func::ReturnOp op) { return converter.isLegal(op); });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
