//===- DataMovementToLinalg.cpp - views, copies and index-driven ops -----===//
#include "LoweringUtils.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace kiln;

namespace {

/// Reshape and Broadcast: the input brought to the result's shape by
/// `toShape`, which is all that either op does.
template <typename OpT, Value (*toShape)(OpBuilder &, Location, Value, ArrayRef<int64_t>)>
struct ToShapeLowering : KilnLowering<OpT> {
  using KilnLowering<OpT>::KilnLowering;
  FailureOr<Value> lower(OpT op, typename OpT::Adaptor adaptor, RankedTensorType, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    return toShape(rewriter, loc, adaptor.getInput(), op.getType().getShape());
  }
};
using ReshapeLowering = ToShapeLowering<ReshapeOp, reshapeTensor>;
using BroadcastLowering = ToShapeLowering<BroadcastOp, broadcastTensor>;

struct TransposeLowering : KilnLowering<TransposeOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(TransposeOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    // A generic rather than linalg.transpose: elementwise fusion then folds
    // the permutation into the indexing of the kernel's other ops.
    SmallVector<unsigned> perm(op.getPermutation().begin(), op.getPermutation().end());
    AffineMap read = inversePermutation(AffineMap::getPermutationMap(perm, rewriter.getContext()));
    return copyThrough(rewriter, loc, type, adaptor.getInput(), read);
  }
};

struct ConcatLowering : KilnLowering<ConcatOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(ConcatOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    int64_t axis = op.getAxis(), offset = 0;
    Value acc = emptyTensor(rewriter, loc, type);
    for (Value in : adaptor.getInputs()) {
      ArrayRef<int64_t> shape = tensorType(in).getShape();
      SmallVector<int64_t> at(shape.size(), 0), ones(shape.size(), 1);
      at[axis] = offset;
      acc = tensor::InsertSliceOp::create(rewriter, loc, in, acc, indexAttrs(rewriter, at),
                                          indexAttrs(rewriter, shape), indexAttrs(rewriter, ones));
      offset += shape[axis];
    }
    return acc;
  }
};

struct SliceLowering : KilnLowering<SliceOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(SliceOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    ArrayRef<int64_t> starts = op.getStarts(), steps = op.getSteps();
    if (llvm::all_of(steps, [](int64_t s) { return s > 0; }))
      return tensor::ExtractSliceOp::create(
                 rewriter, loc, type, adaptor.getInput(), indexAttrs(rewriter, starts),
                 indexAttrs(rewriter, type.getShape()), indexAttrs(rewriter, steps))
          .getResult();
    // Negative steps: a generic reading input[start + i * step].
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < type.getRank(); ++d)
      exprs.push_back(getAffineDimExpr(d, ctx) * steps[d] + starts[d]);
    return copyThrough(rewriter, loc, type, adaptor.getInput(),
                       AffineMap::get(type.getRank(), 0, exprs, ctx));
  }
};

/// `linalg.index` of every result dimension, for bodies that compute their
/// own read coordinates.
SmallVector<Value> loopIndices(OpBuilder &b, Location loc, int64_t rank) {
  SmallVector<Value> ivs;
  for (int64_t d = 0; d < rank; ++d)
    ivs.push_back(linalg::IndexOp::create(b, loc, d));
  return ivs;
}

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value clampIndex(OpBuilder &b, Location loc, Value i, int64_t lo, int64_t hi) {
  i = arith::MaxSIOp::create(b, loc, i, indexConst(b, loc, lo));
  return arith::MinSIOp::create(b, loc, i, indexConst(b, loc, hi));
}

/// An ONNX index read from an i32/i64 tensor as a position along a dim of
/// `size`: negative values count from the end, and the result is clamped
/// into [0, size) so that a bad index can never read outside the buffer.
Value normalizeIndex(OpBuilder &b, Location loc, Value raw, int64_t size) {
  Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i,
                                    indexConst(b, loc, 0));
  Value wrapped = arith::AddIOp::create(b, loc, i, indexConst(b, loc, size));
  i = arith::SelectOp::create(b, loc, neg, wrapped, i);
  return clampIndex(b, loc, i, 0, size - 1);
}

struct GatherLowering : KilnLowering<GatherOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(GatherOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    int64_t axis = op.getAxis(), rank = type.getRank();
    int64_t q = tensorType(indices).getRank();
    int64_t size = tensorType(data).getDimSize(axis);
    if (size == 0 && type.getNumElements() != 0)
      return rewriter.notifyMatchFailure(op, "gather from an empty axis");
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> idxExprs;
    for (int64_t d = 0; d < q; ++d)
      idxExprs.push_back(getAffineDimExpr(axis + d, ctx));
    AffineMap idxMap = AffineMap::get(rank, 0, idxExprs, ctx);
    return indexedGeneric(
        rewriter, loc, type, ValueRange{indices}, {idxMap},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          SmallVector<Value> ivs = loopIndices(b, l, rank);
          SmallVector<Value> coords(ivs.begin(), ivs.begin() + axis);
          coords.push_back(normalizeIndex(b, l, args[0], size));
          coords.append(ivs.begin() + axis + q, ivs.end());
          return tensor::ExtractOp::create(b, l, data, coords);
        });
  }
};

struct GatherElementsLowering : KilnLowering<GatherElementsOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(GatherElementsOp op, OpAdaptor adaptor, RankedTensorType type,
                         Location loc, ConversionPatternRewriter &rewriter) const override {
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    ArrayRef<int64_t> dataShape = tensorType(data).getShape();
    int64_t axis = op.getAxis(), rank = type.getRank();
    if (type.getNumElements() == 0)
      return emptyTensor(rewriter, loc, type);
    // Off the axis, indices may only be smaller than data or broadcast
    // from a size-1 data dim (take_along_axis); anything else would read
    // outside the buffer.
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis ? dataShape[d] != 1 && dataShape[d] < type.getDimSize(d)
                    : dataShape[d] == 0)
        return rewriter.notifyMatchFailure(op, "indices do not fit the data");
    MLIRContext *ctx = rewriter.getContext();
    return indexedGeneric(
        rewriter, loc, type, ValueRange{indices},
        {AffineMap::getMultiDimIdentityMap(rank, ctx)},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          SmallVector<Value> coords = loopIndices(b, l, rank);
          for (int64_t d = 0; d < rank; ++d)
            if (d != axis && dataShape[d] == 1)
              coords[d] = indexConst(b, l, 0);
          coords[axis] = normalizeIndex(b, l, args[0], dataShape[axis]);
          return tensor::ExtractOp::create(b, l, data, coords);
        });
  }
};

struct PadLowering : KilnLowering<PadOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(PadOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &rewriter) const override {
    Value x = adaptor.getInput();
    ArrayRef<int64_t> pads = op.getPads();
    int64_t rank = type.getRank();
    if (type.getNumElements() == 0)
      return emptyTensor(rewriter, loc, type);
    // Negative pads crop first; reflection and edges are then taken from
    // what is left, as onnxruntime does.
    SmallVector<int64_t> lo, cropAt, cropped;
    bool crops = false;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t b = pads[d], e = pads[rank + d];
      crops |= b < 0 || e < 0;
      lo.push_back(std::max<int64_t>(b, 0));
      cropAt.push_back(std::max<int64_t>(-b, 0));
      cropped.push_back(tensorType(x).getDimSize(d) + std::min<int64_t>(b, 0) +
                        std::min<int64_t>(e, 0));
    }
    SmallVector<OpFoldResult> sizes = indexAttrs(rewriter, cropped);
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    if (crops)
      x = tensor::ExtractSliceOp::create(rewriter, loc,
                                         RankedTensorType::get(cropped, type.getElementType()), x,
                                         indexAttrs(rewriter, cropAt), sizes, strides);

    if (op.getMode() == PadMode::Constant) {
      Value v = scalarConstant(rewriter, loc, type.getElementType(),
                               op.getValue().convertToDouble());
      Value acc = filledTensor(rewriter, loc, type, v);
      if (tensorType(x).getNumElements() == 0)
        return acc;
      return tensor::InsertSliceOp::create(rewriter, loc, x, acc, indexAttrs(rewriter, lo), sizes,
                                           strides)
          .getResult();
    }

    bool reflect = op.getMode() == PadMode::Reflect;
    for (int64_t n : cropped)
      if (n == 0)
        return rewriter.notifyMatchFailure(op, "edge or reflect pad of an empty dim");
    return indexedGeneric(
        rewriter, loc, type, ValueRange{}, {}, [&](OpBuilder &b, Location l, ValueRange) -> Value {
          SmallVector<Value> coords = loopIndices(b, l, rank);
          for (int64_t d = 0; d < rank; ++d) {
            int64_t n = cropped[d];
            if (n == type.getDimSize(d))
              continue;
            Value i = arith::SubIOp::create(b, l, coords[d], indexConst(b, l, lo[d]));
            if (reflect && n > 1) {
              // numpy's reflection (what the ONNX reference runs), which is
              // periodic in 2(n-1), so any pad size stays in bounds:
              // i -> |i| mod 2(n-1), then mirror about n-1.
              Value zero = indexConst(b, l, 0), last = indexConst(b, l, n - 1);
              i = arith::MaxSIOp::create(b, l, i, arith::SubIOp::create(b, l, zero, i));
              i = arith::RemSIOp::create(b, l, i, indexConst(b, l, 2 * (n - 1)));
              Value fromEnd = arith::SubIOp::create(b, l, last, i);
              Value absEnd = arith::MaxSIOp::create(
                  b, l, fromEnd, arith::SubIOp::create(b, l, zero, fromEnd));
              coords[d] = arith::SubIOp::create(b, l, last, absEnd);
            } else {
              // Edges; a size-1 dim reflects to its only element as well.
              coords[d] = clampIndex(b, l, i, 0, n - 1);
            }
          }
          return tensor::ExtractOp::create(b, l, x, coords);
        });
  }
};

/// Where output position `o` of a resized dim reads the input, following
/// the ONNX reference implementation (in double, so that nearest rounding
/// decisions match it exactly).
double resizeSourceCoord(CoordMode mode, int64_t o, int64_t in, double scale) {
  // The reference derives the output width from the scale, not from the
  // integer output size.
  double outWidth = scale * (double)in;
  double x = (double)o;
  switch (mode) {
  case CoordMode::AlignCorners:
    return outWidth == 1 ? 0.0 : x * (double)(in - 1) / (outWidth - 1);
  case CoordMode::Asymmetric:
    return x / scale;
  case CoordMode::PytorchHalfPixel:
    return outWidth == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
  case CoordMode::HalfPixel:
    return (x + 0.5) / scale - 0.5;
  }
  llvm_unreachable("unknown coord mode");
}

int64_t nearestSource(NearestMode mode, double x, int64_t in) {
  double fl = std::floor(x);
  int64_t i = (int64_t)fl;
  if (x != fl) {
    double ratio = x - fl;
    bool up = false;
    switch (mode) {
    case NearestMode::RoundPreferFloor:
      up = ratio > 0.5;
      break;
    case NearestMode::RoundPreferCeil:
      up = ratio >= 0.5;
      break;
    case NearestMode::Floor:
      break;
    case NearestMode::Ceil:
      up = true;
      break;
    }
    i += up;
  }
  return std::clamp<int64_t>(i, 0, in - 1);
}

/// A 1-D constant table read by the resize generic along result dim `d`.
struct ResizeTable {
  Value table;
  AffineMap map;
};

ResizeTable resizeTable(OpBuilder &b, Location loc, int64_t d, int64_t rank,
                        Type et, ArrayRef<double> values) {
  auto type = RankedTensorType::get({(int64_t)values.size()}, et);
  DenseElementsAttr attr;
  if (isa<IntegerType>(et)) {
    SmallVector<int64_t> ints(values.begin(), values.end());
    attr = DenseElementsAttr::get(type, ArrayRef<int64_t>(ints));
  } else if (et.isF64()) {
    attr = DenseElementsAttr::get(type, values);
  } else {
    SmallVector<float> floats(values.begin(), values.end());
    attr = DenseElementsAttr::get(type, ArrayRef<float>(floats));
  }
  Value t = arith::ConstantOp::create(b, loc, cast<TypedAttr>(attr));
  return {t, AffineMap::get(rank, 0, getAffineDimExpr(d, b.getContext()))};
}

struct ResizeLowering : KilnLowering<ResizeOp> {
  using KilnLowering::KilnLowering;
  FailureOr<Value> lower(ResizeOp op, OpAdaptor adaptor, RankedTensorType type, Location loc,
                         ConversionPatternRewriter &b) const override {
    Value x = adaptor.getInput();
    int64_t rank = type.getRank();
    Type et = type.getElementType();
    if (type.getNumElements() == 0)
      return emptyTensor(b, loc, type);
    if (tensorType(x).getNumElements() == 0)
      return b.notifyMatchFailure(op, "resize of an empty input");
    bool linear = op.getMode() == ResizeMode::Linear;
    // Narrow floats interpolate in f32.
    Type ct = et.getIntOrFloatBitWidth() < 32 ? b.getF32Type() : et;
    Type i64 = b.getI64Type();

    // Source positions are static, so each resized dim gets constant tables
    // of where to read (and, for linear, the two neighbours and the weight
    // of the upper one) instead of float math per element.
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    SmallVector<int64_t> resized;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t in = tensorType(x).getDimSize(d), out = type.getDimSize(d);
      double scale = op.getScales()[d];
      if (in == out && scale == 1.0)
        continue;
      resized.push_back(d);
      SmallVector<double> idx, hi, w;
      for (int64_t o = 0; o < out; ++o) {
        double c = resizeSourceCoord(op.getCoordMode(), o, in, scale);
        if (!linear) {
          idx.push_back((double)nearestSource(op.getNearestMode(), c, in));
          continue;
        }
        // Clamping the coordinate is what the reference's edge padding of
        // the neighbours amounts to.
        c = std::clamp(c, 0.0, (double)(in - 1));
        double fl = std::floor(c);
        idx.push_back(fl);
        hi.push_back(std::min<double>(fl + 1, in - 1));
        w.push_back(c - fl);
      }
      for (auto [vals, t] : {std::pair{&idx, i64}, std::pair{&hi, i64},
                             std::pair{&w, ct}}) {
        if (vals->empty())
          continue;
        ResizeTable table = resizeTable(b, loc, d, rank, t, *vals);
        inputs.push_back(table.table);
        maps.push_back(table.map);
      }
    }

    return indexedGeneric(
        b, loc, type, inputs, maps, [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
          SmallVector<Value> coords = loopIndices(nb, l, rank);
          auto asIndex = [&](Value v) -> Value {
            return arith::IndexCastOp::create(nb, l, nb.getIndexType(), v);
          };
          if (!linear) {
            for (auto [k, d] : llvm::enumerate(resized))
              coords[d] = asIndex(args[k]);
            return tensor::ExtractOp::create(nb, l, x, coords);
          }
          // Multilinear: lerp over the resized dims one at a time, the
          // 2^k corners read recursively.
          std::function<Value(size_t)> corner = [&](size_t k) -> Value {
            if (k == resized.size()) {
              Value v = tensor::ExtractOp::create(nb, l, x, coords);
              return convertScalar(nb, l, v, et, ct);
            }
            int64_t d = resized[k];
            coords[d] = asIndex(args[3 * k]);
            Value v0 = corner(k + 1);
            coords[d] = asIndex(args[3 * k + 1]);
            Value v1 = corner(k + 1);
            Value diff = arith::SubFOp::create(nb, l, v1, v0);
            return arith::AddFOp::create(
                nb, l, v0, arith::MulFOp::create(nb, l, args[3 * k + 2], diff));
          };
          return convertScalar(nb, l, corner(0), ct, et);
        });
  }
};

} // namespace

void kiln::populateDataMovementToLinalgPatterns(const TypeConverter &converter,
                                                RewritePatternSet &patterns) {
  patterns.add<ReshapeLowering, TransposeLowering, BroadcastLowering,
               ConcatLowering, SliceLowering, GatherLowering,
               GatherElementsLowering, PadLowering, ResizeLowering>(
      converter, patterns.getContext());
}
