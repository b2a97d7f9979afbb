//===- WindowToLinalg.cpp - max and average pooling ----------------------===//
#include "LoweringUtils.h"

#include "mlir/IR/AffineMap.h"

using namespace mlir;
using namespace kiln;

namespace {

/// How many taps of each window along one spatial dimension land in
/// [begin, end) of the padded input, per output position.
SmallVector<double> tapsInside(int64_t outSize, int64_t kernel, int64_t stride, int64_t dilation,
                               int64_t begin, int64_t end) {
  SmallVector<double> counts;
  for (int64_t o = 0; o < outSize; ++o) {
    int64_t c = 0;
    for (int64_t k = 0; k < kernel; ++k) {
      int64_t p = o * stride + k * dilation;
      c += p >= begin && p < end;
    }
    counts.push_back(c);
  }
  return counts;
}

/// Pooling as one linalg.generic over (n, c, o..., k...) on an input padded
/// with the combiner's neutral value: -inf (or the type's minimum) for max,
/// 0 for avg. The end padding is extended where ceil_mode lets the last
/// window run past the padded input, so every window reads in bounds and
/// the extension contributes nothing. A kernel-shaped tensor.empty input
/// gives the reduction loops their sizes, as in linalg's named pooling ops.
///
/// Average pooling then divides by the number of counted positions per
/// window. The window and the counted region are both boxes, so that count
/// is a product of one count per spatial dimension, known at compile time:
/// dimensions where it varies get a small 1-D constant, the rest fold into
/// one scalar.
struct PoolLowering : KilnLowering<PoolOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(PoolOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    bool isMax = op.getKind() == PoolKind::Max;
    Type et = type.getElementType();
    Type kilnEt = op.getInput().getType().getElementType();
    bool isUnsigned = isUnsignedInt(kilnEt);
    Value x = adaptor.getInput();
    ArrayRef<int64_t> inShape = tensorType(x).getShape(), outShape = type.getShape();
    ArrayRef<int64_t> kernel = op.getKernelShape(), strides = op.getStrides(),
                      pads = op.getPads(), dilations = op.getDilations();
    int64_t n = inShape.size() - 2;

    // Max needs the neutral value of the unsigned type, not of its signless
    // conversion.
    Value neutral = isMax ? lowestValue(rewriter, loc, kilnEt)
                          : scalarConstant(rewriter, loc, et, 0);
    SmallVector<int64_t> low(2, 0), high(2, 0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t needed =
          (outShape[2 + i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1;
      int64_t padded = inShape[2 + i] + pads[i] + pads[n + i];
      low.push_back(pads[i]);
      high.push_back(pads[n + i] + std::max<int64_t>(needed - padded, 0));
    }
    if (llvm::any_of(llvm::concat<int64_t>(low, high), [](int64_t p) { return p != 0; }))
      x = padTensor(rewriter, loc, x, low, high, neutral);

    // Loops: n, c, o_1..o_n (parallel), k_1..k_n (reduction).
    MLIRContext *ctx = rewriter.getContext();
    auto dim = [&](int64_t d) { return getAffineDimExpr(d, ctx); };
    int64_t numLoops = 2 + 2 * n;
    SmallVector<AffineExpr> xExprs{dim(0), dim(1)}, kExprs, outExprs{dim(0), dim(1)};
    for (int64_t i = 0; i < n; ++i) {
      xExprs.push_back(dim(2 + i) * strides[i] + dim(2 + n + i) * dilations[i]);
      kExprs.push_back(dim(2 + n + i));
      outExprs.push_back(dim(2 + i));
    }
    SmallVector<AffineMap> maps{AffineMap::get(numLoops, 0, xExprs, ctx),
                                AffineMap::get(numLoops, 0, kExprs, ctx),
                                AffineMap::get(numLoops, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iters(2 + n, utils::IteratorType::parallel);
    iters.append(n, utils::IteratorType::reduction);
    Value window = emptyTensor(rewriter, loc, RankedTensorType::get(kernel, et));
    Value acc = filledTensor(rewriter, loc, type, neutral);
    Value pooled =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{type}, ValueRange{x, window}, ValueRange{acc}, maps, iters,
            [&](OpBuilder &nb, Location nloc, ValueRange args) {
              Value r = isMax ? maxScalars(nb, nloc, args[2], args[0], isUnsigned)
                              : addScalars(nb, nloc, args[2], args[0]);
              linalg::YieldOp::create(nb, nloc, r);
            })
            .getResult(0);
    if (isMax)
      return pooled;

    // Counted positions along each dimension, in padded coordinates: the
    // input alone, or the input and its pads with count_include_pad; never
    // the ceil_mode extension.
    bool includePad = op.getCountIncludePad();
    double uniform = 1;
    SmallVector<Value> counts;
    for (int64_t i = 0; i < n; ++i) {
      int64_t begin = includePad ? 0 : pads[i];
      int64_t end = pads[i] + inShape[2 + i] + (includePad ? pads[n + i] : 0);
      SmallVector<double> perOutput =
          tapsInside(outShape[2 + i], kernel[i], strides[i], dilations[i], begin, end);
      if (llvm::all_equal(perOutput)) {
        uniform *= perOutput.front();
        continue;
      }
      SmallVector<int64_t> shape(n + 2, 1);
      shape[2 + i] = outShape[2 + i];
      auto countType = RankedTensorType::get(shape, et);
      SmallVector<Attribute> values = llvm::map_to_vector(
          perOutput, [&](double c) -> Attribute { return rewriter.getFloatAttr(et, c); });
      counts.push_back(arith::ConstantOp::create(rewriter, loc, countType,
                                                 DenseElementsAttr::get(countType, values)));
    }
    SmallVector<Value> operands{pooled};
    operands.append(counts);
    return mapTensors(
        rewriter, loc, type, operands, [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value divisor = uniform != 1 || args.size() == 1
                              ? scalarConstant(nb, nloc, et, uniform)
                              : Value();
          for (Value c : args.drop_front())
            divisor = divisor ? mulScalars(nb, nloc, divisor, c) : c;
          return arith::DivFOp::create(nb, nloc, args[0], divisor).getResult();
        });
  }
};

} // namespace

void kiln::populateWindowToLinalgPatterns(const TypeConverter &converter,
                                          RewritePatternSet &patterns) {
  patterns.add<PoolLowering>(converter, patterns.getContext());
}
