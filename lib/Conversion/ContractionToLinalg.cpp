//===- ContractionToLinalg.cpp - matmul, convolutions, normalizations ----===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

using namespace mlir;
using namespace kiln;

namespace {

/// numpy matmul: promote 1-D operands, broadcast and flatten the batch
/// dimensions, run linalg.batch_matmul (or linalg.matmul), then restore the
/// result shape. A right operand without batch dimensions (a weight) is
/// shared by every batch: the left operand's rows are then collapsed into
/// one matrix and multiplied by it in a single linalg.matmul, so the
/// weight is never copied per batch.
struct MatMulLowering : KilnLowering<MatMulOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(MatMulOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    Type et = type.getElementType();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    SmallVector<int64_t> l(tensorType(lhs).getShape()), r(tensorType(rhs).getShape());
    if (l.size() == 1)
      l.insert(l.begin(), 1);
    if (r.size() == 1)
      r.push_back(1);
    int64_t m = l[l.size() - 2], k = l.back(), n = r.back();
    auto batch = broadcastShapes(ArrayRef<int64_t>(l).drop_back(2),
                                 ArrayRef<int64_t>(r).drop_back(2));
    if (failed(batch))
      return rewriter.notifyMatchFailure(op, "incompatible batch dims");
    int64_t b = 1;
    for (int64_t d : *batch)
      b *= d;
    auto full = [&](SmallVector<int64_t> tail) {
      SmallVector<int64_t> s(*batch);
      s.append(tail.begin(), tail.end());
      return s;
    };
    lhs = reshapeTensor(rewriter, loc, lhs, l);
    rhs = reshapeTensor(rewriter, loc, rhs, r);
    Value zero = scalarConstant(rewriter, loc, et, 0);
    Value out;
    if (r.size() == 2 && l.size() > 2) {
      int64_t rows = 1;
      for (int64_t d : ArrayRef<int64_t>(l).drop_back())
        rows *= d;
      ReassociationIndices outer;
      for (int64_t d = 0; d + 1 < (int64_t)l.size(); ++d)
        outer.push_back(d);
      lhs = tensor::CollapseShapeOp::create(
          rewriter, loc, RankedTensorType::get({rows, k}, et), lhs,
          ArrayRef<ReassociationIndices>{outer, {(int64_t)l.size() - 1}});
      auto t = RankedTensorType::get({rows, n}, et);
      out = linalg::MatmulOp::create(rewriter, loc, TypeRange{t},
                                     ValueRange{lhs, rhs},
                                     ValueRange{filledTensor(rewriter, loc, t, zero)})
                .getResult(0);
    } else if (batch->empty()) {
      auto t = RankedTensorType::get({m, n}, et);
      out = linalg::MatmulOp::create(rewriter, loc, TypeRange{t},
                                     ValueRange{lhs, rhs},
                                     ValueRange{filledTensor(rewriter, loc, t, zero)})
                .getResult(0);
    } else {
      lhs = broadcastTensor(rewriter, loc, lhs, full({m, k}));
      rhs = broadcastTensor(rewriter, loc, rhs, full({k, n}));
      lhs = reshapeTensor(rewriter, loc, lhs, {b, m, k});
      rhs = reshapeTensor(rewriter, loc, rhs, {b, k, n});
      auto t = RankedTensorType::get({b, m, n}, et);
      out = linalg::BatchMatmulOp::create(
                rewriter, loc, TypeRange{t}, ValueRange{lhs, rhs},
                ValueRange{filledTensor(rewriter, loc, t, zero)})
                .getResult(0);
    }
    return reshapeTensor(rewriter, loc, out, type.getShape());
  }
};

/// Splits dimension `dim` of `v` into `outer` x (size / outer).
Value splitDim(OpBuilder &b, Location loc, Value v, int64_t dim, int64_t outer) {
  RankedTensorType type = tensorType(v);
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] /= outer;
  shape.insert(shape.begin() + dim, outer);
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0, r = 0; d < type.getRank(); ++d) {
    if (d == dim) {
      groups.push_back({r, r + 1});
      r += 2;
    } else {
      groups.push_back({r++});
    }
  }
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), v, groups);
}

/// Merges dimensions `dim` and `dim + 1` of `v`.
Value mergeDims(OpBuilder &b, Location loc, Value v, int64_t dim) {
  RankedTensorType type = tensorType(v);
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] *= shape[dim + 1];
  shape.erase(shape.begin() + dim + 1);
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (d == dim + 1)
      continue;
    if (d == dim)
      groups.push_back({d, d + 1});
    else
      groups.push_back({d});
  }
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), v, groups);
}

/// The accumulator a convolution starts from: the bias broadcast along the
/// channel dimension 1, or zeros. Starting from the bias saves a separate
/// pass over the output.
Value convInit(OpBuilder &b, Location loc, RankedTensorType type, Value bias) {
  if (!bias)
    return filledTensor(b, loc, type,
                        scalarConstant(b, loc, type.getElementType(), 0));
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (d != 1)
      dims.push_back(d);
  return linalg::BroadcastOp::create(b, loc, bias, emptyTensor(b, loc, type),
                                     dims)
      .getResult()[0];
}

template <typename NamedConvOp>
Value namedConv(OpBuilder &b, Location loc, Value input, Value weight,
                Value init, ArrayRef<int64_t> strides,
                ArrayRef<int64_t> dilations) {
  return NamedConvOp::create(b, loc, TypeRange{init.getType()},
                             ValueRange{input, weight}, ValueRange{init},
                             b.getI64TensorAttr(strides),
                             b.getI64TensorAttr(dilations))
      .getResult(0);
}

/// Accumulates the convolution of an already padded `input` (N x C x D...)
/// with `weight` (M x C/group x K...) onto `init` (N x M x O...).
///
/// Ungrouped 1-D/2-D/3-D convolutions use linalg's named ops, which later
/// tiling and vectorization recognize. Everything else becomes one generic
/// over (n, g, m, o..., c, k...) on views that split the channels into
/// groups, so grouped and depthwise convolutions stay a single loop nest.
Value convolve(OpBuilder &b, Location loc, Value input, Value weight,
               Value init, ArrayRef<int64_t> strides,
               ArrayRef<int64_t> dilations, int64_t group) {
  int64_t n = tensorType(input).getRank() - 2;
  if (group == 1 && n == 1)
    return namedConv<linalg::Conv1DNcwFcwOp>(b, loc, input, weight, init,
                                             strides, dilations);
  if (group == 1 && n == 2)
    return namedConv<linalg::Conv2DNchwFchwOp>(b, loc, input, weight, init,
                                               strides, dilations);
  if (group == 1 && n == 3)
    return namedConv<linalg::Conv3DNcdhwFcdhwOp>(b, loc, input, weight, init,
                                                 strides, dilations);

  MLIRContext *ctx = b.getContext();
  Value x = splitDim(b, loc, input, 1, group);   // N x G x C/G x D...
  Value w = splitDim(b, loc, weight, 0, group);  // G x M/G x C/G x K...
  Value acc = splitDim(b, loc, init, 1, group);  // N x G x M/G x O...
  auto dim = [&](int64_t d) { return getAffineDimExpr(d, ctx); };
  // Loop order: n, g, m, o_1..o_n (parallel), then c, k_1..k_n (reduction).
  int64_t c = 3 + n, k = 4 + n, numLoops = 4 + 2 * n;
  SmallVector<AffineExpr> xExprs{dim(0), dim(1), dim(c)}, wExprs{dim(1), dim(2), dim(c)},
      outExprs{dim(0), dim(1), dim(2)};
  for (int64_t i = 0; i < n; ++i) {
    xExprs.push_back(dim(3 + i) * strides[i] + dim(k + i) * dilations[i]);
    wExprs.push_back(dim(k + i));
    outExprs.push_back(dim(3 + i));
  }
  SmallVector<AffineMap> maps{AffineMap::get(numLoops, 0, xExprs, ctx),
                              AffineMap::get(numLoops, 0, wExprs, ctx),
                              AffineMap::get(numLoops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iters(3 + n, utils::IteratorType::parallel);
  iters.append(1 + n, utils::IteratorType::reduction);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{acc.getType()}, ValueRange{x, w}, ValueRange{acc},
      maps, iters, [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value prod = mulScalars(nb, nloc, args[0], args[1]);
        linalg::YieldOp::create(nb, nloc, addScalars(nb, nloc, args[2], prod));
      });
  return mergeDims(b, loc, generic.getResult(0), 1);
}

struct ConvLowering : KilnLowering<ConvOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(ConvOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    Value x = adaptor.getInput();
    int64_t n = tensorType(x).getRank() - 2;
    ArrayRef<int64_t> pads = op.getPads();
    if (llvm::any_of(pads, [](int64_t p) { return p != 0; })) {
      // Batch and channel dims are not padded.
      SmallVector<int64_t> low(2, 0), high(2, 0);
      llvm::append_range(low, pads.take_front(n));
      llvm::append_range(high, pads.drop_front(n));
      x = padTensor(rewriter, loc, x, low, high,
                    scalarConstant(rewriter, loc, type.getElementType(), 0));
    }
    Value init = convInit(rewriter, loc, type, adaptor.getBias());
    return convolve(rewriter, loc, x, adaptor.getWeight(), init, op.getStrides(), op.getDilations(),
                    op.getGroup());
  }
};

/// Transposed convolution as a stride-1 convolution: the input is spread
/// out by the stride (zeros between elements) and padded by the kernel
/// extent less the op's pads, and the kernel is flipped spatially with its
/// channel dimensions swapped per group.
struct ConvTransposeLowering : KilnLowering<ConvTransposeOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(ConvTransposeOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    Value x = adaptor.getInput(), w = adaptor.getWeight();
    Type et = type.getElementType();
    ArrayRef<int64_t> inShape = tensorType(x).getShape(),
                      kShape = tensorType(w).getShape();
    int64_t n = inShape.size() - 2, group = op.getGroup();
    ArrayRef<int64_t> strides = op.getStrides(), pads = op.getPads(),
                      dilations = op.getDilations(),
                      outPad = op.getOutputPadding();

    // Scatter the input into zeros at its padded, strided positions in one
    // insert_slice; pads larger than the kernel extent make the leading or
    // trailing amount negative, and those rows are cropped afterwards.
    SmallVector<int64_t> spreadShape(inShape.take_front(2)),
        insertAt(2, 0), insertStrides(2, 1), cropAt(2, 0),
        cropShape(inShape.take_front(2));
    bool spread = false, crop = false;
    for (int64_t i = 0; i < n; ++i) {
      int64_t extent = (kShape[2 + i] - 1) * dilations[i];
      int64_t lead = extent - pads[i];
      int64_t trail = extent - pads[n + i] + outPad[i];
      int64_t size = (inShape[2 + i] - 1) * strides[i] + 1 +
                     std::max<int64_t>(lead, 0) + std::max<int64_t>(trail, 0);
      spreadShape.push_back(size);
      insertAt.push_back(std::max<int64_t>(lead, 0));
      insertStrides.push_back(strides[i]);
      cropAt.push_back(std::max<int64_t>(-lead, 0));
      cropShape.push_back(size - std::max<int64_t>(-lead, 0) -
                          std::max<int64_t>(-trail, 0));
      spread |= size != inShape[2 + i];
      crop |= lead < 0 || trail < 0;
    }
    if (spread) {
      auto spreadType = RankedTensorType::get(spreadShape, et);
      Value zeros = filledTensor(rewriter, loc, spreadType,
                                 scalarConstant(rewriter, loc, et, 0));
      x = tensor::InsertSliceOp::create(rewriter, loc, x, zeros,
                                        indexAttrs(rewriter, insertAt),
                                        indexAttrs(rewriter, inShape),
                                        indexAttrs(rewriter, insertStrides));
    }
    if (crop) {
      SmallVector<int64_t> ones(n + 2, 1);
      x = tensor::ExtractSliceOp::create(rewriter, loc,
                                         RankedTensorType::get(cropShape, et), x,
                                         indexAttrs(rewriter, cropAt),
                                         indexAttrs(rewriter, cropShape),
                                         indexAttrs(rewriter, ones));
    }

    // weight[g*C/G + c, m, k...] -> flipped[g, m, c, K-1-k...], then
    // [M, C/G, K...] as an ordinary convolution weight.
    int64_t inPerGroup = kShape[0] / group, outPerGroup = kShape[1];
    Value grouped = splitDim(rewriter, loc, w, 0, group); // G x C/G x M/G x K...
    SmallVector<int64_t> flippedShape{group, outPerGroup, inPerGroup};
    flippedShape.append(kShape.begin() + 2, kShape.end());
    auto flippedType = RankedTensorType::get(flippedShape, et);
    MLIRContext *ctx = rewriter.getContext();
    auto dim = [&](int64_t d) { return getAffineDimExpr(d, ctx); };
    SmallVector<AffineExpr> readExprs{dim(0), dim(2), dim(1)};
    for (int64_t i = 0; i < n; ++i)
      readExprs.push_back(kShape[2 + i] - 1 - dim(3 + i));
    Value flipped =
        copyThrough(rewriter, loc, flippedType, grouped, AffineMap::get(n + 3, 0, readExprs, ctx));
    flipped = mergeDims(rewriter, loc, flipped, 0);

    Value init = convInit(rewriter, loc, type, adaptor.getBias());
    SmallVector<int64_t> unitStrides(n, 1);
    return convolve(rewriter, loc, x, flipped, init, unitStrides, dilations, group);
  }
};

} // namespace

void kiln::populateContractionToLinalgPatterns(const TypeConverter &converter,
                                               RewritePatternSet &patterns) {
  patterns.add<MatMulLowering, ConvLowering, ConvTransposeLowering>(
      converter, patterns.getContext());
}
