//===- ConvToIm2col.cpp - 2-D convolution as im2col + contraction --------===//
#include "kiln/Codegen/CPU/Gemm.h"
#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_CONVTOIM2COL
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct Conv2DToIm2col : OpRewritePattern<linalg::Conv2DNchwFchwOp> {
  Conv2DToIm2col(MLIRContext *ctx, bool runtimeConvs)
      : OpRewritePattern(ctx), runtimeConvs(runtimeConvs) {}
  bool runtimeConvs;
  LogicalResult matchAndRewrite(linalg::Conv2DNchwFchwOp conv,
                                PatternRewriter &rewriter) const override {
    if (!conv.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(conv, "not on tensors");
    Value input = conv.getDpsInputs()[0], filter = conv.getDpsInputs()[1];
    Value init = conv.getDpsInits()[0];
    auto inType = cast<RankedTensorType>(input.getType());
    auto fType = cast<RankedTensorType>(filter.getType());
    auto outType = cast<RankedTensorType>(init.getType());
    if (!inType.hasStaticShape() || !fType.hasStaticShape() || !outType.hasStaticShape())
      return rewriter.notifyMatchFailure(conv, "dynamic shapes: left as a direct convolution");
    Location loc = conv.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type et = outType.getElementType();
    int64_t n = inType.getDimSize(0), c = inType.getDimSize(1);
    int64_t f = fType.getDimSize(0), kh = fType.getDimSize(2), kw = fType.getDimSize(3);
    int64_t oh = outType.getDimSize(2), ow = outType.getDimSize(3);
    auto strides = llvm::to_vector(conv.getStrides().getValues<int64_t>());
    auto dilations = llvm::to_vector(conv.getDilations().getValues<int64_t>());
    int64_t k = c * kh * kw, p = oh * ow;

    // The columns: [N, C*KH*KW, OH*OW]. A 1x1, stride-1 convolution reads
    // the input as it is.
    Value columns;
    bool pointwise = kh == 1 && kw == 1 && strides[0] == 1 && strides[1] == 1 &&
                     inType.getDimSize(2) == oh && inType.getDimSize(3) == ow;
    if (runtimeConvs && kiln::matchCpuConv(conv))
      return rewriter.notifyMatchFailure(conv, "left to the runtime's implicit GEMM");
    if (pointwise) {
      columns = tensor::CollapseShapeOp::create(
          rewriter, loc, RankedTensorType::get({n, c, p}, et), input,
          ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
    } else {
      auto colType = RankedTensorType::get({n, c, kh, kw, oh, ow}, et);
      AffineExpr dn, dc, dkh, dkw, doh, dow;
      bindDims(ctx, dn, dc, dkh, dkw, doh, dow);
      AffineMap inMap = AffineMap::get(
          6, 0, {dn, dc, doh * strides[0] + dkh * dilations[0], dow * strides[1] + dkw * dilations[1]},
          ctx);
      SmallVector<utils::IteratorType> par(6, utils::IteratorType::parallel);
      Value empty = tensor::EmptyOp::create(rewriter, loc, colType.getShape(), et);
      auto copy = linalg::GenericOp::create(
          rewriter, loc, TypeRange{colType}, ValueRange{input}, ValueRange{empty},
          ArrayRef<AffineMap>{inMap, AffineMap::getMultiDimIdentityMap(6, ctx)}, par,
          [](OpBuilder &b, Location l, ValueRange args) {
            linalg::YieldOp::create(b, l, args[0]);
          });
      kiln::copyKernelTag(conv, copy);
      columns = tensor::CollapseShapeOp::create(
          rewriter, loc, RankedTensorType::get({n, k, p}, et), copy.getResult(0),
          ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}, {4, 5}});
    }
    Value weights = tensor::CollapseShapeOp::create(
        rewriter, loc, RankedTensorType::get({f, k}, et), filter,
        ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
    auto accType = RankedTensorType::get({n, f, p}, et);
    Value acc = tensor::CollapseShapeOp::create(
        rewriter, loc, accType, init, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});

    // out[n, f, p] += w[f, k] * col[n, k, p]
    AffineExpr dn, df, dp, dk;
    bindDims(ctx, dn, df, dp, dk);
    SmallVector<AffineMap> maps{AffineMap::get(4, 0, {df, dk}, ctx),
                                AffineMap::get(4, 0, {dn, dk, dp}, ctx),
                                AffineMap::get(4, 0, {dn, df, dp}, ctx)};
    SmallVector<utils::IteratorType> iters{
        utils::IteratorType::parallel, utils::IteratorType::parallel,
        utils::IteratorType::parallel, utils::IteratorType::reduction};
    bool isFloat = isa<FloatType>(et);
    auto contraction = linalg::GenericOp::create(
        rewriter, loc, TypeRange{accType}, ValueRange{weights, columns}, ValueRange{acc},
        maps, iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value prod = isFloat ? (Value)arith::MulFOp::create(b, l, a[0], a[1])
                               : (Value)arith::MulIOp::create(b, l, a[0], a[1]);
          Value sum = isFloat ? (Value)arith::AddFOp::create(b, l, a[2], prod)
                              : (Value)arith::AddIOp::create(b, l, a[2], prod);
          linalg::YieldOp::create(b, l, sum);
        });
    kiln::copyKernelTag(conv, contraction);
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(
        conv, outType, contraction.getResult(0),
        ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
    return success();
  }
};

struct ConvToIm2colPass : public kiln::impl::ConvToIm2colBase<ConvToIm2colPass> {
  using ConvToIm2colBase::ConvToIm2colBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<Conv2DToIm2col>(&getContext(), runtimeConvs);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
