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

struct ConvertKilnToLinalgPass
    : public kiln::impl::ConvertKilnToLinalgBase<ConvertKilnToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
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
