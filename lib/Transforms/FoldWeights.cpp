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

/// The elements of a row-major constant (`bytes`, `width` bytes each, of
/// shape `inShape`) at the positions of `outShape`: output index i takes
/// input element sum_d (offset[d] + i[d] * step[d]) * stride[d], where
/// `dimOf` names the input dim each output dim walks (a permutation for
/// transposes, the identity for slices).
std::vector<char> copyElements(ArrayRef<char> bytes, int64_t width, ArrayRef<int64_t> inShape,
                               ArrayRef<int64_t> outShape, ArrayRef<int64_t> dimOf,
                               ArrayRef<int64_t> offset, ArrayRef<int64_t> step) {
  int64_t rank = inShape.size(), outN = 1;
  for (int64_t d : outShape)
    outN *= d;
  SmallVector<int64_t> inStrides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    inStrides[d] = inStrides[d + 1] * inShape[d + 1];
  std::vector<char> out(outN * width);
  SmallVector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < outN; ++i) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += (offset[d] + index[d] * step[d]) * inStrides[dimOf[d]];
    std::memcpy(&out[i * width], &bytes[src * width], width);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < outShape[d])
        break;
      index[d] = 0;
    }
  }
  return out;
}

/// Replaces `op` (one result, of input `input`, a constant) by a constant
/// of its result's elements, copied out as copyElements says.
LogicalResult foldByCopy(PatternRewriter &rewriter, Operation *op, Value input,
                         ArrayRef<int64_t> dimOf, ArrayRef<int64_t> offset,
                         ArrayRef<int64_t> step, StringRef blobSuffix) {
  auto bytes = readConstantBytes(input);
  if (!bytes)
    return rewriter.notifyMatchFailure(op, "input is not a dense constant");
  auto inType = cast<RankedTensorType>(input.getType());
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t n = inType.getNumElements();
  if (n == 0 || outType.getNumElements() == 0 || (int64_t)bytes->size() % n != 0)
    return failure();
  std::vector<char> out = copyElements(*bytes, bytes->size() / n, inType.getShape(),
                                       outType.getShape(), dimOf, offset, step);
  Value folded = makeConstantFromBytes(rewriter, op->getLoc(), outType, out,
                                       weightBlobName(input, blobSuffix));
  rewriter.replaceOp(op, folded);
  return success();
}

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
    int64_t rank = op.getPermutation().size();
    SmallVector<int64_t> zeros(rank, 0), ones(rank, 1);
    return foldByCopy(rewriter, op, op.getInput(), op.getPermutation(), zeros, ones, "_t");
  }
};

/// slice(constant) -> constant: the window's elements copied out (the
/// per-direction and per-gate weights of recurrent layers, for one).
struct FoldConstantSlice : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SliceOp op, PatternRewriter &rewriter) const override {
    SmallVector<int64_t> identity;
    for (int64_t d = 0; d < (int64_t)op.getStarts().size(); ++d)
      identity.push_back(d);
    return foldByCopy(rewriter, op, op.getInput(), identity, op.getStarts(), op.getSteps(),
                      "_s");
  }
};

/// reshape(constant) -> constant with the same bytes.
struct FoldConstantReshape : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    // Only the constant's last use: a reshaped copy beside the original
    // would store the weight twice.
    if (!op.getInput().getDefiningOp<ConstantOp>() || !op.getInput().hasOneUse())
      return failure();
    auto bytes = readConstantBytes(op.getInput());
    if (!bytes)
      return rewriter.notifyMatchFailure(op, "input is not a dense constant");
    Value folded = makeConstantFromBytes(rewriter, op.getLoc(),
                                         cast<RankedTensorType>(op.getType()), *bytes,
                                         weightBlobName(op.getInput(), "_r"));
    rewriter.replaceOp(op, folded);
    return success();
  }
};

struct FoldWeightsPass : kiln::impl::FoldWeightsBase<FoldWeightsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldIntoConv, FoldConstantTranspose, FoldConstantSlice, FoldConstantReshape>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
