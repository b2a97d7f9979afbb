//===- ContractionToLinalg.cpp - matmul, convolutions, normalizations ----===//
#include "LoweringUtils.h"

using namespace mlir;
using namespace kiln;

namespace {

/// numpy matmul: promote 1-D operands, broadcast and flatten the batch
/// dimensions, run linalg.batch_matmul (or linalg.matmul), then restore the
/// result shape.
struct MatMulLowering : KilnLowering<MatMulOp> {
  using KilnLowering::KilnLowering;
  LogicalResult matchAndRewrite(MatMulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType resultType = convertedType(op.getResult());
    Type et = resultType.getElementType();
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
    if (batch->empty()) {
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
    rewriter.replaceOp(op, reshapeTensor(rewriter, loc, out, resultType.getShape()));
    return success();
  }
};

} // namespace

void kiln::populateContractionToLinalgPatterns(const TypeConverter &converter,
                                               RewritePatternSet &patterns) {
  patterns.add<MatMulLowering>(converter, patterns.getContext());
}
