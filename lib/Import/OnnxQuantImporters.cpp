//===- OnnxQuantImporters.cpp - quantization ops -------------------------===//
//
// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and the integer
// contractions (MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv),
// composed of kiln ops. Integer contractions run in int32: the 8-bit
// operands are widened, their zero points subtracted, and the product
// accumulated exactly; only the requantization of QLinear* uses floating
// point (as ONNX defines it). QDQ models (DequantizeLinear -> Conv ->
// QuantizeLinear) import op by op.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::detail;

namespace {

using B = BinaryKind;

/// The integer types a quantized tensor may have, with their ranges.
std::optional<std::pair<int64_t, int64_t>> quantRange(Type t) {
  auto it = dyn_cast<IntegerType>(t);
  if (!it || (it.getWidth() != 8 && it.getWidth() != 16))
    return std::nullopt;
  int64_t w = it.getWidth();
  if (it.isUnsigned())
    return std::pair<int64_t, int64_t>{0, (int64_t(1) << w) - 1};
  return std::pair<int64_t, int64_t>{-(int64_t(1) << (w - 1)), (int64_t(1) << (w - 1)) - 1};
}

std::string rangeTypes() { return "int8, uint8, int16 or uint16"; }

/// A scale or zero point (input `i`, named `what`) shaped to broadcast
/// against `x`: a scalar (or one-element tensor) as a scalar; per axis a
/// 1-D tensor of x's size along `axis`; with `blockSize` > 0 a tensor of
/// x's rank whose `axis` dim holds ceil(size / blockSize) blocks, each
/// repeated blockSize times along the axis.
FailureOr<Value> quantParam(NodeContext &nc, Value param, StringRef what,
                            ArrayRef<int64_t> xs, int64_t axis, int64_t blockSize) {
  ArrayRef<int64_t> ps = shapeOf(param);
  int64_t rank = xs.size();
  if (product(ps) == 1)
    return nc.reshape(param, {});
  // The axis matters only here, for a scale or zero point of several values.
  TRY(a, nc.normalizeAxis(axis, rank));
  axis = a;
  if (blockSize <= 0) {
    if (ps.size() != 1 || rank == 0 || ps[0] != xs[axis])
      return nc.error() << what << " of shape " << shapeToString(ps)
                        << " must be a scalar or hold one value per index of axis " << axis
                        << " of the input " << shapeToString(xs);
    SmallVector<int64_t> dims(rank, 1);
    dims[axis] = ps[0];
    return nc.reshape(param, dims);
  }
  int64_t blocks = (xs[axis] + blockSize - 1) / blockSize;
  bool ok = (int64_t)ps.size() == rank;
  for (int64_t d = 0; ok && d < rank; ++d)
    ok = ps[d] == (d == axis ? blocks : xs[d]);
  if (!ok)
    return nc.error() << what << " of shape " << shapeToString(ps) << " does not block the input "
                      << shapeToString(xs) << " by " << blockSize << " along axis " << axis;
  SmallVector<int64_t> split(ps), repeated(ps), merged(ps);
  split.insert(split.begin() + axis + 1, 1);
  repeated.insert(repeated.begin() + axis + 1, blockSize);
  merged[axis] = blocks * blockSize;
  TRY(s, nc.reshape(param, split));
  TRY(r, nc.create<BroadcastOp>(RankedTensorType::get(repeated, elementTypeOf(param)), s));
  TRY(m, nc.reshape(r, merged));
  if (merged[axis] == xs[axis])
    return m;
  SmallVector<int64_t> starts(rank, 0), steps(rank, 1);
  return nc.create<SliceOp>(RankedTensorType::get(xs, elementTypeOf(param)), m, starts, steps);
}

/// The axis and block size attributes of a (De)QuantizeLinear node.
struct QuantAxis {
  int64_t axis = 1, blockSize = 0;
};

FailureOr<QuantAxis> readQuantAxis(NodeContext &nc) {
  QuantAxis q;
  q.blockSize = nc.attrInt("block_size", 0);
  if (q.blockSize < 0)
    return nc.error() << "block_size " << q.blockSize << " must not be negative";
  // Checked against the input's rank only for a scale of several values.
  q.axis = nc.attrInt("axis", 1);
  return q;
}

/// The element type named by an `output_dtype` attribute (0: none given).
FailureOr<Type> outputDtype(NodeContext &nc) {
  int64_t code = nc.attrInt("output_dtype", 0);
  if (code == 0)
    return Type();
  Type t = convertElementType(nc.ctx(), code);
  if (!t)
    return nc.error() << "output_dtype " << onnxTypeName(code) << " is not supported";
  return t;
}

/// Rounds `v` (f32) half to even, adds the zero point (a float tensor or
/// null), clamps to `type`'s range and converts to `type`.
FailureOr<Value> saturateTo(NodeContext &nc, Value v, Value zeroPoint, Type type) {
  Type f32 = Float32Type::get(nc.ctx());
  auto range = *quantRange(type);
  TRY(r, nc.unary(UnaryKind::Round, v));
  Value y = r;
  if (zeroPoint) {
    TRY(shifted, nc.binary(B::Add, y, zeroPoint));
    y = shifted;
  }
  TRY(lo, nc.binary(B::Max, y, nc.scalarConstant(f32, range.first)));
  TRY(hi, nc.binary(B::Min, lo, nc.scalarConstant(f32, range.second)));
  return nc.castTo(hi, type);
}

FailureOr<Value> asF32(NodeContext &nc, Value v) {
  Type f32 = Float32Type::get(nc.ctx());
  if (elementTypeOf(v) == f32)
    return v;
  return nc.castTo(v, f32);
}

/// QuantizeLinear: y = saturate(round(x / scale) + zero_point), the type
/// of y that of the zero point, else output_dtype, else uint8. The
/// division and rounding run in f32.
FailureOr<Value> importQuantizeLinear(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(scale, nc.requiredInput(1));
  Type xt = elementTypeOf(x);
  if (!isa<FloatType>(xt) && !xt.isSignlessInteger(32))
    return nc.error() << "input x must be float or int32, got " << xt;
  if (!isa<FloatType>(elementTypeOf(scale)))
    return nc.error() << "y_scale must be a floating-point tensor, got " << elementTypeOf(scale);
  if (nc.attrInt("precision", 0) != 0)
    return nc.error() << "the precision attribute is not supported";
  ArrayRef<int64_t> xs = shapeOf(x);
  TRY(qa, readQuantAxis(nc));
  TRY(requested, outputDtype(nc));
  if (isFourBitConstant(nc, 2))
    return nc.error() << "quantizing to a 4-bit type is not supported (4-bit tensors are read "
                         "as constant weights)";
  Value zp = nc.input(2);
  Type yt = zp ? elementTypeOf(zp) : requested ? requested : Type(IntegerType::get(nc.ctx(), 8, IntegerType::Unsigned));
  if (zp && requested && requested != yt)
    return nc.error() << "output_dtype " << requested << " differs from the zero point's type "
                      << yt;
  if (!quantRange(yt))
    return nc.error() << "quantizing to " << yt << " is not supported (" << rangeTypes() << " are)";
  TRY(s, quantParam(nc, scale, "y_scale", xs, qa.axis, qa.blockSize));
  TRY(xf, asF32(nc, x));
  TRY(sf, asF32(nc, s));
  TRY(q, nc.binary(B::Div, xf, sf));
  Value zf;
  if (zp) {
    TRY(z, quantParam(nc, zp, "y_zero_point", xs, qa.axis, qa.blockSize));
    TRY(zw, asF32(nc, z));
    zf = zw;
  }
  return saturateTo(nc, q, zf, yt);
}

/// DequantizeLinear: y = (x - zero_point) * scale, computed in f32 and
/// returned in the scale's type (or output_dtype).
FailureOr<Value> importDequantizeLinear(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(scale, nc.requiredInput(1));
  Type xt = elementTypeOf(x);
  if (!quantRange(xt) && !xt.isSignlessInteger(32))
    return nc.error() << "dequantizing " << xt << " is not supported (" << rangeTypes()
                      << " or int32 are)";
  Type st = elementTypeOf(scale);
  if (!isa<FloatType>(st))
    return nc.error() << "x_scale must be a floating-point tensor, got " << st;
  ArrayRef<int64_t> xs = shapeOf(x);
  TRY(qa, readQuantAxis(nc));
  TRY(requested, outputDtype(nc));
  Type yt = requested ? requested : st;
  if (!isa<FloatType>(yt))
    return nc.error() << "output_dtype " << yt << " is not a floating-point type";
  TRY(xf, asF32(nc, x));
  Value centered = xf;
  if (Value zp = nc.input(2)) {
    if (elementTypeOf(zp) != xt)
      return nc.error() << "x_zero_point has type " << elementTypeOf(zp) << ", x has " << xt;
    TRY(z, quantParam(nc, zp, "x_zero_point", xs, qa.axis, qa.blockSize));
    TRY(zf, asF32(nc, z));
    TRY(c, nc.binary(B::Sub, xf, zf));
    centered = c;
  }
  TRY(s, quantParam(nc, scale, "x_scale", xs, qa.axis, qa.blockSize));
  TRY(sf, asF32(nc, s));
  TRY(y, nc.binary(B::Mul, centered, sf));
  if (yt == elementTypeOf(y))
    return y;
  return nc.castTo(y, yt);
}

/// DynamicQuantizeLinear: uint8 quantization of x over the range
/// [min(0, min x), max(0, max x)]; outputs y, its scale and zero point.
LogicalResult importDynamicQuantizeLinear(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  Type f32 = Float32Type::get(nc.ctx());
  if (elementTypeOf(x) != f32)
    return nc.error() << "input must be float32, got " << elementTypeOf(x);
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < (int64_t)shapeOf(x).size(); ++d)
    all.push_back(d);
  auto c = [&](double v) { return nc.scalarConstant(f32, v); };
  TRY(mx, nc.reduce(ReduceKind::Max, x, all, /*keepDims=*/false));
  TRY(mn, nc.reduce(ReduceKind::Min, x, all, /*keepDims=*/false));
  TRY(hi, nc.binary(B::Max, mx, c(0)));
  TRY(lo, nc.binary(B::Min, mn, c(0)));
  TRY(width, nc.binary(B::Sub, hi, lo));
  // A range of zero width (x all zero) gets scale 1/255, as ONNX defines.
  TRY(empty, nc.binary(B::Eq, width, c(0)));
  TRY(w1, nc.create<SelectOp>(nc.inferred(), empty, c(1), width));
  TRY(scale, nc.binary(B::Div, w1, c(255)));
  TRY(ratio, nc.binary(B::Div, lo, scale));
  TRY(zp0, nc.binary(B::Sub, c(0), ratio));
  TRY(zpc, nc.binary(B::Min, zp0, c(255)));
  TRY(zpc2, nc.binary(B::Max, zpc, c(0)));
  TRY(zpr, nc.unary(UnaryKind::Round, zpc2));
  TRY(q, nc.binary(B::Div, x, scale));
  Type u8 = IntegerType::get(nc.ctx(), 8, IntegerType::Unsigned);
  TRY(y, saturateTo(nc, q, zpr, u8));
  TRY(zp, nc.castTo(zpr, u8));
  nc.setOutput(0, y);
  nc.setOutput(1, scale);
  nc.setOutput(2, zp);
  return success();
}

/// A scale or zero point `v`: one value as a scalar; several, when
/// `shape` is given, reshaped to it (their count must match), else as
/// they are.
FailureOr<Value> scalarOrShaped(NodeContext &nc, Value v,
                                const std::optional<SmallVector<int64_t>> &shape,
                                const std::string &what) {
  if (product(shapeOf(v)) == 1)
    return nc.reshape(v, {});
  if (!shape)
    return v;
  if (product(shapeOf(v)) != product(*shape))
    return nc.error() << what << " has shape " << shapeToString(shapeOf(v))
                      << ", expected a scalar or " << product(*shape) << " values";
  return nc.reshape(v, *shape);
}

/// Quantized input `qi` widened to int32 with zero point `zi` (an input
/// index, absent allowed) subtracted; `zpShape` reshapes a non-scalar zero
/// point to broadcast (empty: as given).
FailureOr<Value> widenedCentered(NodeContext &nc, int qi, int zi, StringRef what,
                                 std::optional<SmallVector<int64_t>> zpShape = std::nullopt) {
  TRY(q, nc.requiredInput(qi));
  Type qt = elementTypeOf(q);
  auto it = dyn_cast<IntegerType>(qt);
  if (!it || it.getWidth() != 8)
    return nc.error() << what << " must be int8 or uint8, got " << qt;
  Type i32 = IntegerType::get(nc.ctx(), 32);
  TRY(wide, nc.castTo(q, i32));
  if (!nc.hasInput(zi))
    return wide;
  TRY(zp, nc.requiredInput(zi));
  if (elementTypeOf(zp) != qt)
    return nc.error() << "the zero point of " << what << " has type " << elementTypeOf(zp)
                      << ", " << what << " has " << qt;
  TRY(z, scalarOrShaped(nc, zp, zpShape, "the zero point of " + what.str()));
  TRY(zw, nc.castTo(z, i32));
  TRY(c, nc.binary(B::Sub, wide, zw));
  if (shapeOf(c) != shapeOf(wide))
    return nc.error() << "the zero point of " << what << " of shape "
                      << shapeToString(shapeOf(zp)) << " does not broadcast to "
                      << shapeToString(shapeOf(q));
  return c;
}

/// The per-row zero point shape of a matmul's left operand (a 1-D zero
/// point of M values applies to row m), when it has one.
std::optional<SmallVector<int64_t>> rowShape(NodeContext &nc, int qi) {
  Value a = nc.input(qi);
  if (!a || shapeOf(a).size() < 2)
    return std::nullopt;
  return SmallVector<int64_t>{shapeOf(a)[shapeOf(a).size() - 2], 1};
}

/// The per-output-channel shape of a conv weight's zero point or scale:
/// [M, 1, ..., 1].
std::optional<SmallVector<int64_t>> channelShape(NodeContext &nc, int wi) {
  Value w = nc.input(wi);
  if (!w || shapeOf(w).empty())
    return std::nullopt;
  SmallVector<int64_t> s(shapeOf(w).size(), 1);
  s[0] = shapeOf(w)[0];
  return s;
}

FailureOr<Value> importMatMulInteger(NodeContext &nc) {
  TRY(a, widenedCentered(nc, 0, 2, "A", rowShape(nc, 0)));
  TRY(b, widenedCentered(nc, 1, 3, "B"));
  return nc.create<MatMulOp>(nc.inferred(), a, b);
}

FailureOr<Value> importConvInteger(NodeContext &nc) {
  TRY(x, widenedCentered(nc, 0, 2, "x"));
  TRY(w, widenedCentered(nc, 1, 3, "w", channelShape(nc, 1)));
  return buildConv(nc, x, w, Value());
}

/// The product of two float scales divided by a third, as an f32 tensor
/// shaped to broadcast against an int32 accumulator; each scale reshaped
/// by its own rule.
FailureOr<Value> requantScale(NodeContext &nc, int ai, std::optional<SmallVector<int64_t>> aShape,
                              int bi, std::optional<SmallVector<int64_t>> bShape, int yi) {
  auto scale = [&](int i, std::optional<SmallVector<int64_t>> shape) -> FailureOr<Value> {
    TRY(s, nc.requiredInput(i));
    if (!isa<FloatType>(elementTypeOf(s)))
      return nc.error() << "scale input " << i << " must be floating-point, got "
                        << elementTypeOf(s);
    TRY(v, scalarOrShaped(nc, s, shape, "scale input " + std::to_string(i)));
    return asF32(nc, v);
  };
  TRY(sa, scale(ai, aShape));
  TRY(sb, scale(bi, bShape));
  TRY(sy, scale(yi, std::nullopt));
  TRY(ab, nc.binary(B::Mul, sa, sb));
  return nc.binary(B::Div, ab, sy);
}

/// Requantizes the int32 accumulator `acc` by `multiplier` to the type of
/// the output zero point (input `zi`; the type of input `fallback` when
/// absent).
FailureOr<Value> requantize(NodeContext &nc, Value acc, Value multiplier, int zi, int fallback) {
  TRY(accf, asF32(nc, acc));
  TRY(scaled, nc.binary(B::Mul, accf, multiplier));
  Type yt = elementTypeOf(nc.input(fallback));
  Value zf;
  if (nc.hasInput(zi)) {
    TRY(zp, nc.requiredInput(zi));
    yt = elementTypeOf(zp);
    TRY(z, scalarOrShaped(nc, zp, std::nullopt, "y_zero_point"));
    TRY(zw, asF32(nc, z));
    zf = zw;
  }
  if (!quantRange(yt))
    return nc.error() << "output type " << yt << " is not supported (" << rangeTypes() << " are)";
  TRY(y, saturateTo(nc, scaled, zf, yt));
  if (shapeOf(y) != shapeOf(acc))
    return nc.error() << "the output scale or zero point does not broadcast to the result "
                      << shapeToString(shapeOf(acc));
  return y;
}

/// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp).
FailureOr<Value> importQLinearMatMul(NodeContext &nc) {
  TRY(a, widenedCentered(nc, 0, 2, "a", rowShape(nc, 0)));
  TRY(b, widenedCentered(nc, 3, 5, "b"));
  TRY(acc, nc.create<MatMulOp>(nc.inferred(), a, b));
  TRY(m, requantScale(nc, 1, rowShape(nc, 0), 4, std::nullopt, 6));
  return requantize(nc, acc, m, 7, 0);
}

/// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B): the
/// int32 bias is added to the accumulator before requantization.
FailureOr<Value> importQLinearConv(NodeContext &nc) {
  TRY(x, widenedCentered(nc, 0, 2, "x"));
  TRY(w, widenedCentered(nc, 3, 5, "w", channelShape(nc, 3)));
  Value bias;
  if (nc.hasInput(8)) {
    TRY(b, nc.requiredInput(8));
    if (!elementTypeOf(b).isSignlessInteger(32))
      return nc.error() << "bias must be int32, got " << elementTypeOf(b);
    bias = b;
  }
  TRY(acc, buildConv(nc, x, w, bias));
  std::optional<SmallVector<int64_t>> perChannel;
  if (shapeOf(acc).size() >= 2) {
    SmallVector<int64_t> s(shapeOf(acc).size() - 1, 1);
    s[0] = shapeOf(acc)[1];
    perChannel = s;
  }
  TRY(m, requantScale(nc, 1, std::nullopt, 4, perChannel, 6));
  return requantize(nc, acc, m, 7, 0);
}

} // namespace

void kiln::detail::addQuantizationImporters(llvm::StringMap<OpImporter> &t) {
  t["QuantizeLinear"] = oneOutput(importQuantizeLinear);
  t["DequantizeLinear"] = oneOutput(importDequantizeLinear);
  t["DynamicQuantizeLinear"] = importDynamicQuantizeLinear;
  t["MatMulInteger"] = oneOutput(importMatMulInteger);
  t["ConvInteger"] = oneOutput(importConvInteger);
  t["QLinearMatMul"] = oneOutput(importQLinearMatMul);
  t["QLinearConv"] = oneOutput(importQLinearConv);
}
