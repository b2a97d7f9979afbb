//===- FoldWeights.cpp - weight transformations at compile time ---------===//
#include "kiln/Transforms/Passes.h"
#include "kiln/Transforms/WeightData.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <cstring>

namespace kiln {
#define GEN_PASS_DEF_FOLDWEIGHTS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

struct FoldIntoConv : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BatchNormOp bn,
                                PatternRewriter &rewriter) const override {
    auto conv = bn.getInput().getDefiningOp<ConvOp>();
    if (!conv || !conv->hasOneUse())
      return rewriter.notifyMatchFailure(bn, "input is not a single-use conv");
    auto weightType = cast<RankedTensorType>(conv.getWeight().getType());
    if (!weightType.getElementType().isF32())
      return rewriter.notifyMatchFailure(bn, "weights are not f32");
    int64_t channels = weightType.getDimSize(0);
    auto weight = readFloatConstant(conv.getWeight());
    auto gamma = readFloatConstant(bn.getScale());
    auto beta = readFloatConstant(bn.getBias());
    auto mean = readFloatConstant(bn.getMean());
    auto var = readFloatConstant(bn.getVariance());
    if (!weight || !gamma || !beta || !mean || !var)
      return rewriter.notifyMatchFailure(bn, "parameters are not constants");
    std::optional<std::vector<float>> bias;
    if (Value b = conv.getBias()) {
      bias = readFloatConstant(b);
      if (!bias)
        return rewriter.notifyMatchFailure(bn, "conv bias is not constant");
    }
    for (auto *v : {&*gamma, &*beta, &*mean, &*var})
      if ((int64_t)v->size() != channels)
        return rewriter.notifyMatchFailure(bn, "parameter size mismatch");

    int64_t perChannel = weightType.getNumElements() / std::max<int64_t>(channels, 1);
    std::vector<float> newWeight(weight->size()), newBias(channels);
    double eps = bn.getEpsilon().convertToDouble();
    for (int64_t m = 0; m < channels; ++m) {
      double s = (double)(*gamma)[m] / std::sqrt((double)(*var)[m] + eps);
      for (int64_t i = 0; i < perChannel; ++i)
        newWeight[m * perChannel + i] = (float)((double)(*weight)[m * perChannel + i] * s);
      double b = bias ? (double)(*bias)[m] : 0.0;
      newBias[m] = (float)((b - (double)(*mean)[m]) * s + (double)(*beta)[m]);
    }

    Location loc = rewriter.getFusedLoc({conv.getLoc(), bn.getLoc()});
    Value w = makeFloatConstant(rewriter, loc, weightType, newWeight,
                                weightBlobName(conv.getWeight(), "_bn"));
    auto biasType = RankedTensorType::get({channels}, rewriter.getF32Type());
    Value b = makeFloatConstant(rewriter, loc, biasType, newBias, "bias_bn");
    auto folded = ConvOp::create(rewriter, loc, bn.getType(), conv.getInput(), w, b,
                                 conv.getStridesAttr(), conv.getPadsAttr(),
                                 conv.getDilationsAttr(), conv.getGroupAttr());
    rewriter.replaceOp(bn, folded.getResult());
    rewriter.eraseOp(conv);
    return success();
  }
};

/// transpose(constant) -> constant, by permuting the raw element bytes.
struct FoldConstantTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto bytes = readConstantBytes(op.getInput());
    if (!bytes)
      return rewriter.notifyMatchFailure(op, "input is not a dense constant");
    auto inType = cast<RankedTensorType>(op.getInput().getType());
    auto outType = cast<RankedTensorType>(op.getType());
    int64_t n = inType.getNumElements();
    if (n == 0 || (int64_t)bytes->size() % n != 0)
      return failure();
    int64_t width = bytes->size() / n;
    int64_t rank = inType.getRank();
    ArrayRef<int64_t> perm = op.getPermutation();
    // Strides of the input, in elements, visited in output order.
    SmallVector<int64_t> inStrides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * inType.getDimSize(d + 1);
    std::vector<char> out(bytes->size());
    SmallVector<int64_t> index(rank, 0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t src = 0;
      for (int64_t d = 0; d < rank; ++d)
        src += index[d] * inStrides[perm[d]];
      std::memcpy(&out[i * width], &(*bytes)[src * width], width);
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++index[d] < outType.getDimSize(d))
          break;
        index[d] = 0;
      }
    }
    Value folded = makeConstantFromBytes(rewriter, op.getLoc(), outType, out,
                                         weightBlobName(op.getInput(), "_t"));
    rewriter.replaceOp(op, folded);
    return success();
  }
};

struct FoldWeightsPass : kiln::impl::FoldWeightsBase<FoldWeightsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldIntoConv, FoldConstantTranspose>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
