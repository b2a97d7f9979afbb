//===- OnnxOpImporters.cpp - one converter per ONNX op type --------------===//
//
// Each converter normalizes an ONNX op onto kiln ops. Shape-valued inputs
// (Reshape's shape, Slice's starts, ...) must be compile-time constants;
// PyTorch's shape subgraphs (Shape -> Gather -> Concat -> Reshape) reach
// that state because every kiln op folds when its operands are constants.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <map>

#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

using namespace mlir;
using namespace kiln;
using namespace kiln::detail;

namespace {

//===----------------------------------------------------------------------===//
// Pointwise
//===----------------------------------------------------------------------===//

ValueImporter unaryOp(UnaryKind kind) {
  return [kind](NodeContext &nc) -> FailureOr<Value> {
    TRY(x, nc.requiredInput(0));
    std::optional<float> alpha, beta;
    switch (kind) {
    case UnaryKind::LeakyRelu: alpha = nc.attrFloat("alpha", 0.01f); break;
    case UnaryKind::Elu: alpha = nc.attrFloat("alpha", 1.0f); break;
    case UnaryKind::Selu:
      alpha = nc.attrFloat("alpha", 1.67326319217681884765625f);
      beta = nc.attrFloat("gamma", 1.05070102214813232421875f);
      break;
    case UnaryKind::HardSigmoid:
      alpha = nc.attrFloat("alpha", 0.2f);
      beta = nc.attrFloat("beta", 0.5f);
      break;
    default: break;
    }
    return nc.unary(kind, x, alpha, beta);
  };
}

/// Binary ops; variadic ONNX ops (Max, Min, Sum, Mean) fold left.
/// Before opset 7, binary ops broadcast only with broadcast=1, and then B
/// lines up with A's dims from `axis` on (default: A's last dims); without
/// it the shapes must be equal. Returns B reshaped so that numpy-style
/// broadcasting means the same.
FailureOr<Value> legacyBroadcast(NodeContext &nc, Value a, Value b) {
  ArrayRef<int64_t> as = shapeOf(a), bs = shapeOf(b);
  if (nc.attrInt("broadcast", 0) == 0) {
    if (as != bs)
      return nc.error() << "inputs of shapes " << shapeToString(as) << " and "
                        << shapeToString(bs) << " without broadcast=1 (opset "
                        << nc.opset << " broadcasts only when asked)";
    return b;
  }
  int64_t ra = as.size(), rb = bs.size();
  int64_t axis = nc.attrInt("axis", ra - rb);
  if (axis < 0 || axis + rb > ra)
    return nc.error() << "broadcast axis " << axis << " does not fit shape "
                      << shapeToString(bs) << " into " << shapeToString(as);
  for (int64_t i = 0; i < rb; ++i)
    if (bs[i] != as[axis + i] && bs[i] != 1)
      return nc.error() << "cannot broadcast shape " << shapeToString(bs) << " into "
                        << shapeToString(as) << " at axis " << axis;
  SmallVector<int64_t> shape(axis, 1);
  shape.append(bs.begin(), bs.end());
  shape.append(ra - axis - rb, 1);
  return nc.reshape(b, shape);
}

ValueImporter binaryOp(BinaryKind kind) {
  return [kind](NodeContext &nc) -> FailureOr<Value> {
    TRY(acc, nc.requiredInput(0));
    for (int i = 1; i < nc.numInputs(); ++i) {
      TRY(rhs, nc.requiredInput(i));
      if (nc.opset < 7) {
        TRY(b, legacyBroadcast(nc, acc, rhs));
        rhs = b;
      }
      if (kind == BinaryKind::Pow && elementTypeOf(acc) != elementTypeOf(rhs)) {
        // ONNX computes the power first and converts to the base's type, so
        // an integer base with a float exponent is raised in floating point.
        Type baseType = elementTypeOf(acc);
        bool floatExponent = isa<FloatType>(elementTypeOf(rhs));
        if (!isa<FloatType>(baseType) && floatExponent) {
          TRY(base, nc.castTo(acc, elementTypeOf(rhs)));
          TRY(p, nc.binary(kind, base, rhs));
          TRY(r, nc.castTo(p, baseType));
          acc = r;
          continue;
        }
        TRY(cast, nc.castTo(rhs, baseType));
        rhs = cast;
      }
      TRY(r, nc.binary(kind, acc, rhs));
      acc = r;
    }
    return acc;
  };
}

/// Mod, whose fmod attribute picks C's fmod (the remainder takes the
/// dividend's sign) over Python's % (the divisor's).
/// BitwiseAnd/Or/Xor (18): the integer forms of kiln's and/or/xor.
ValueImporter bitwiseOp(BinaryKind kind) {
  return [kind](NodeContext &nc) -> FailureOr<Value> {
    TRY(a, nc.requiredInput(0));
    TRY(b, nc.requiredInput(1));
    Type et = elementTypeOf(a);
    if (!isa<IntegerType>(et) || et.isInteger(1))
      return nc.error() << "expects integer inputs, got " << et;
    return nc.binary(kind, a, b);
  };
}

/// BitwiseNot (18): x xor all ones.
FailureOr<Value> importBitwiseNot(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  Type et = elementTypeOf(x);
  if (!isa<IntegerType>(et) || et.isInteger(1))
    return nc.error() << "expects an integer input, got " << et;
  return nc.binary(BinaryKind::Xor, x, nc.scalarConstant(et, -1));
}

FailureOr<Value> importMod(NodeContext &nc) {
  bool fmod = nc.attrInt("fmod", 0) != 0;
  return binaryOp(fmod ? BinaryKind::FMod : BinaryKind::Mod)(nc);
}

/// Mean of any number of inputs: a sum divided by the count.
FailureOr<Value> importMean(NodeContext &nc) {
  TRY(acc, nc.requiredInput(0));
  for (int i = 1; i < nc.numInputs(); ++i) {
    TRY(rhs, nc.requiredInput(i));
    TRY(r, nc.binary(BinaryKind::Add, acc, rhs));
    acc = r;
  }
  if (nc.numInputs() > 1) {
    TRY(r, nc.binary(BinaryKind::Div, acc,
                     nc.scalarConstant(elementTypeOf(acc), nc.numInputs())));
    acc = r;
  }
  return acc;
}

FailureOr<Value> importIdentity(NodeContext &nc) { return nc.requiredInput(0); }

LogicalResult importDropout(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  if (nc.hasInput(2)) {
    DenseElementsAttr training = nc.constInput(2);
    if (!training || training.getSplatValue<bool>())
      return nc.error() << "training mode is not supported (training_mode "
                           "must be a constant false)";
  }
  nc.setOutput(0, x);
  if (nc.outputUsed(1)) {
    auto maskType = RankedTensorType::get(shapeOf(x), nc.builder().getI1Type());
    nc.setOutput(1, nc.constant(DenseElementsAttr::get(maskType, true)));
  }
  return success();
}

FailureOr<Value> importCast(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  int64_t to = nc.attrInt("to", 0);
  Type et = convertElementType(nc.ctx(), to);
  if (!et)
    return nc.error() << "cannot cast to unsupported element type "
                      << onnxTypeName(to);
  return nc.castTo(x, et);
}

/// BitShift of unsigned integers in their wrapping arithmetic: x << y is
/// x * 2^y, x >> y is x / 2^y, with 2^y the product of 2^(2^b) over the
/// bits b of y (plain integer ops, which every target lowers); a shift by
/// the width or more gives 0 (the divisor is then 1).
FailureOr<Value> importBitShift(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(y, nc.requiredInput(1));
  std::string direction = nc.attrString("direction", "");
  if (direction != "LEFT" && direction != "RIGHT")
    return nc.error() << "direction must be LEFT or RIGHT, got '" << direction << "'";
  Type et = elementTypeOf(x);
  if (!et.isUnsignedInteger() || elementTypeOf(y) != et)
    return nc.error() << "shifts unsigned integers of one type, got " << et << " and "
                      << elementTypeOf(y);
  Value zero = nc.scalarConstant(et, 0), one = nc.scalarConstant(et, 1);
  unsigned width = et.getIntOrFloatBitWidth();
  TRY(wide, nc.binary(BinaryKind::Ge, y, nc.scalarConstant(et, width)));
  Value power = one;
  for (unsigned b = 0; (1u << b) < width; ++b) {
    TRY(high, nc.binary(BinaryKind::Div, y, nc.scalarConstant(et, double(1u << b))));
    TRY(bit, nc.binary(BinaryKind::Mod, high, nc.scalarConstant(et, 2)));
    TRY(set, nc.binary(BinaryKind::Eq, bit, one));
    TRY(factor, nc.create<SelectOp>(nc.inferred(), set,
                                    nc.scalarConstant(et, std::ldexp(1.0, 1 << b)), one));
    TRY(product, nc.binary(BinaryKind::Mul, power, factor));
    power = product;
  }
  if (direction == "LEFT") {
    TRY(shifted, nc.binary(BinaryKind::Mul, x, power));
    return nc.create<SelectOp>(nc.inferred(), wide, zero, shifted);
  }
  TRY(divisor, nc.create<SelectOp>(nc.inferred(), wide, one, power));
  TRY(shifted, nc.binary(BinaryKind::Div, x, divisor));
  return nc.create<SelectOp>(nc.inferred(), wide, zero, shifted);
}

FailureOr<Value> importWhere(NodeContext &nc) {
  TRY(c, nc.requiredInput(0));
  TRY(t, nc.requiredInput(1));
  TRY(f, nc.requiredInput(2));
  return nc.create<SelectOp>(nc.inferred(), c, t, f);
}

FailureOr<Value> importClip(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  Type et = elementTypeOf(x);
  Value lo, hi;
  if (nc.opset < 11) {
    if (nc.attr("min"))
      lo = nc.scalarConstant(et, nc.attrFloat("min", 0));
    if (nc.attr("max"))
      hi = nc.scalarConstant(et, nc.attrFloat("max", 0));
  } else {
    lo = nc.input(1);
    hi = nc.input(2);
  }
  for (Value bound : {lo, hi})
    if (bound && !shapeOf(bound).empty() && product(shapeOf(bound)) != 1)
      return nc.error() << "min and max must be scalars, got shape "
                        << shapeToString(shapeOf(bound));
  Value y = x;
  if (lo) {
    TRY(r, nc.binary(BinaryKind::Max, y, lo));
    y = r;
  }
  if (hi) {
    TRY(r, nc.binary(BinaryKind::Min, y, hi));
    y = r;
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Contractions and normalizations
//===----------------------------------------------------------------------===//

FailureOr<Value> importMatMul(NodeContext &nc) {
  TRY(a, nc.requiredInput(0));
  TRY(b, nc.requiredInput(1));
  return nc.create<MatMulOp>(nc.inferred(), a, b);
}

FailureOr<Value> importGemm(NodeContext &nc) {
  TRY(a, nc.requiredInput(0));
  TRY(b, nc.requiredInput(1));
  if (shapeOf(a).size() != 2 || shapeOf(b).size() != 2)
    return nc.error() << "A and B must be matrices, got shapes "
                      << shapeToString(shapeOf(a)) << " and "
                      << shapeToString(shapeOf(b));
  if (nc.attrInt("transA", 0)) {
    TRY(t, nc.transpose(a, {1, 0}));
    a = t;
  }
  if (nc.attrInt("transB", 0)) {
    TRY(t, nc.transpose(b, {1, 0}));
    b = t;
  }
  TRY(y, nc.create<MatMulOp>(nc.inferred(), a, b));
  Type et = elementTypeOf(y);
  float alpha = nc.attrFloat("alpha", 1.0f), beta = nc.attrFloat("beta", 1.0f);
  if (alpha != 1.0f) {
    TRY(r, nc.binary(BinaryKind::Mul, y, nc.scalarConstant(et, alpha)));
    y = r;
  }
  if (Value c = nc.input(2); c && beta != 0.0f) {
    if (beta != 1.0f) {
      TRY(r, nc.binary(BinaryKind::Mul, c, nc.scalarConstant(et, beta)));
      c = r;
    }
    if (!isBroadcastableTo(shapeOf(c), shapeOf(y)))
      return nc.error() << "C of shape " << shapeToString(shapeOf(c))
                        << " does not broadcast to the product's shape "
                        << shapeToString(shapeOf(y));
    TRY(r, nc.binary(BinaryKind::Add, y, c));
    y = r;
  }
  return y;
}

/// Kernel sizes, strides and dilations of a window op must be positive and
/// pads not negative (ONNX's shape inference does not check all of them).
LogicalResult checkWindowValues(NodeContext &nc, ArrayRef<int64_t> kernel,
                                ArrayRef<int64_t> strides,
                                ArrayRef<int64_t> dilations,
                                ArrayRef<int64_t> pads) {
  auto check = [&](StringRef what, ArrayRef<int64_t> values, int64_t min) -> LogicalResult {
    for (int64_t v : values)
      if (v < min || v > (int64_t(1) << 31))
        return nc.error() << what << " " << listToString(values) << " must be "
                          << (min > 0 ? "positive" : "non-negative")
                          << " and below 2^31";
    return success();
  };
  return success(succeeded(check("kernel_shape", kernel, 1)) &&
                 succeeded(check("strides", strides, 1)) &&
                 succeeded(check("dilations", dilations, 1)) &&
                 succeeded(check("pads", pads, 0)));
}

/// Reads kernel/stride/dilation/pad attributes of a window op with `n`
/// spatial dims, resolving auto_pad against the input sizes.
struct WindowAttrs {
  SmallVector<int64_t> kernel, strides, dilations, pads;
};

FailureOr<WindowAttrs> readWindow(NodeContext &nc, ArrayRef<int64_t> inShape,
                                  ArrayRef<int64_t> kernel) {
  size_t n = kernel.size();
  WindowAttrs w;
  w.kernel.assign(kernel.begin(), kernel.end());
  w.strides = nc.attrInts("strides").value_or(SmallVector<int64_t>(n, 1));
  w.dilations = nc.attrInts("dilations").value_or(SmallVector<int64_t>(n, 1));
  w.pads = nc.attrInts("pads").value_or(SmallVector<int64_t>(2 * n, 0));
  if (w.strides.size() != n || w.dilations.size() != n || w.pads.size() != 2 * n)
    return nc.error() << "strides/dilations/pads have " << w.strides.size()
                      << "/" << w.dilations.size() << "/" << w.pads.size()
                      << " entries; " << n << " spatial dims need " << n << "/"
                      << n << "/" << 2 * n;
  if (failed(checkWindowValues(nc, w.kernel, w.strides, w.dilations, w.pads)))
    return failure();
  std::string autoPad = nc.attrString("auto_pad", "NOTSET");
  if (autoPad == "VALID") {
    w.pads.assign(2 * n, 0);
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      int64_t in = inShape[2 + i], s = w.strides[i];
      int64_t out = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(
          0, (out - 1) * s + (kernel[i] - 1) * w.dilations[i] + 1 - in);
      int64_t small = total / 2, big = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : big;
      w.pads[n + i] = autoPad == "SAME_UPPER" ? big : small;
    }
  } else if (autoPad != "NOTSET") {
    return nc.error() << "unknown auto_pad '" << autoPad << "'";
  }
  return w;
}

/// The input and weight of Conv and ConvTranspose, checked to have one rank
/// of at least 3.
FailureOr<std::pair<Value, Value>> convInputs(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(w, nc.requiredInput(1));
  if (shapeOf(x).size() < 3 || shapeOf(w).size() != shapeOf(x).size())
    return nc.error() << "input " << shapeToString(shapeOf(x)) << " and weight "
                      << shapeToString(shapeOf(w))
                      << " must both have rank >= 3 and equal ranks";
  return std::pair{x, w};
}

FailureOr<Value> importConv(NodeContext &nc) {
  TRY(inputs, convInputs(nc));
  auto [x, w] = inputs;
  return buildConv(nc, x, w, nc.input(2));
}

FailureOr<Value> importConvTranspose(NodeContext &nc) {
  TRY(inputs, convInputs(nc));
  auto [x, w] = inputs;
  size_t n = shapeOf(x).size() - 2;
  SmallVector<int64_t> kernel(shapeOf(w).drop_front(2));
  SmallVector<int64_t> strides =
      nc.attrInts("strides").value_or(SmallVector<int64_t>(n, 1));
  SmallVector<int64_t> dilations =
      nc.attrInts("dilations").value_or(SmallVector<int64_t>(n, 1));
  SmallVector<int64_t> pads =
      nc.attrInts("pads").value_or(SmallVector<int64_t>(2 * n, 0));
  SmallVector<int64_t> outPad =
      nc.attrInts("output_padding").value_or(SmallVector<int64_t>(n, 0));
  if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n ||
      outPad.size() != n)
    return nc.error() << "strides/dilations/pads/output_padding do not match "
                      << n << " spatial dims";
  if (failed(checkWindowValues(nc, kernel, strides, dilations, pads)) ||
      failed(checkWindowValues(nc, {}, {}, {}, outPad)))
    return failure();
  std::string autoPad = nc.attrString("auto_pad", "NOTSET");
  std::optional<SmallVector<int64_t>> outShape = nc.attrInts("output_shape");
  if (outShape && outShape->size() == n + 2)
    outShape = SmallVector<int64_t>(outShape->begin() + 2, outShape->end());
  if (!outShape && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER")) {
    outShape = SmallVector<int64_t>();
    for (size_t i = 0; i < n; ++i)
      outShape->push_back(shapeOf(x)[2 + i] * strides[i]);
  }
  if (autoPad == "VALID")
    pads.assign(2 * n, 0);
  if (outShape) {
    if (outShape->size() != n)
      return nc.error() << "output_shape must list " << n << " spatial sizes";
    for (size_t i = 0; i < n; ++i) {
      int64_t total = strides[i] * (shapeOf(x)[2 + i] - 1) + outPad[i] +
                      (kernel[i] - 1) * dilations[i] + 1 - (*outShape)[i];
      if (total < 0) {
        // ONNX grows output_padding when the requested size is larger.
        outPad[i] -= total;
        total = 0;
      }
      int64_t half = total / 2;
      pads[i] = autoPad == "SAME_UPPER" ? half : total - half;
      pads[n + i] = total - pads[i];
    }
  }
  return nc.create<ConvTransposeOp>(nc.inferred(), x, w, nc.input(2), strides, pads, dilations,
                                    outPad, nc.attrInt("group", 1));
}

FailureOr<Value> importBatchNorm(NodeContext &nc) {
  if (nc.attrInt("training_mode", 0) != 0)
    return nc.error() << "training mode is not supported";
  if (nc.attrInt("spatial", 1) != 1)
    return nc.error() << "spatial=0 is not supported";
  for (int i = 1; i < nc.numOutputs(); ++i)
    if (nc.outputUsed(i))
      return nc.error() << "running mean/variance outputs are training-only "
                           "and not supported";
  SmallVector<Value> in;
  for (int i = 0; i < 5; ++i) {
    TRY(v, nc.requiredInput(i));
    in.push_back(v);
  }
  return nc.create<BatchNormOp>(nc.inferred(), in[0], in[1], in[2], in[3], in[4],
                                APFloat(nc.attrFloat("epsilon", 1e-5f)));
}

LogicalResult importLayerNorm(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(scale, nc.requiredInput(1));
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", -1), shapeOf(x).size()));
  float eps = nc.attrFloat("epsilon", 1e-5f);
  TRY(y, nc.create<LayerNormOp>(nc.inferred(), x, scale, nc.input(2), axis,
                                APFloat(eps)));
  nc.setOutput(0, y);
  if (nc.outputUsed(1) || nc.outputUsed(2)) {
    // The training statistics: mean and 1/sqrt(var + eps) over the
    // normalized axes, with those axes kept as size 1.
    SmallVector<int64_t> axes;
    for (int64_t d = axis; d < (int64_t)shapeOf(x).size(); ++d)
      axes.push_back(d);
    Type et = elementTypeOf(x);
    TRY(mean, nc.reduce(ReduceKind::Mean, x, axes, true));
    TRY(diff, nc.binary(BinaryKind::Sub, x, mean));
    TRY(sq, nc.binary(BinaryKind::Mul, diff, diff));
    TRY(var, nc.reduce(ReduceKind::Mean, sq, axes, true));
    TRY(ve, nc.binary(BinaryKind::Add, var, nc.scalarConstant(et, eps)));
    TRY(sd, nc.unary(UnaryKind::Sqrt, ve));
    TRY(inv, nc.unary(UnaryKind::Reciprocal, sd));
    nc.setOutput(1, mean);
    nc.setOutput(2, inv);
  }
  return success();
}

FailureOr<Value> importInstanceNorm(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(s, nc.requiredInput(1));
  TRY(b, nc.requiredInput(2));
  return nc.create<InstanceNormOp>(nc.inferred(), x, s, b, APFloat(nc.attrFloat("epsilon", 1e-5f)));
}

ValueImporter softmaxOp(bool log) {
  return [log](NodeContext &nc) -> FailureOr<Value> {
    TRY(x, nc.requiredInput(0));
    int64_t rank = shapeOf(x).size();
    if (rank == 0)
      return nc.error() << "input must have rank >= 1";
    if (nc.opset >= 13) {
      TRY(axis, nc.normalizeAxis(nc.attrInt("axis", -1), rank));
      return nc.create<SoftmaxOp>(nc.inferred(), x, axis, log);
    }
    // Before opset 13 the input is coerced to 2-D at `axis`.
    TRY(axis, nc.normalizeAxis(nc.attrInt("axis", 1), rank));
    SmallVector<int64_t> shape(shapeOf(x));
    int64_t outer = product(ArrayRef<int64_t>(shape).take_front(axis));
    TRY(flat, nc.reshape(x, {outer, product(shape) / std::max<int64_t>(outer, 1)}));
    TRY(sm, nc.create<SoftmaxOp>(nc.inferred(), flat, 1, log));
    return nc.reshape(sm, shape);
  };
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// Resolves the axes of a reduction: from the `axes` input (ReduceSum since
/// opset 13, the others since 18) or attribute, normalized, sorted and unique. Empty means all
/// axes unless noop_with_empty_axes.
FailureOr<std::optional<SmallVector<int64_t>>> reductionAxes(NodeContext &nc,
                                                             int64_t rank,
                                                             bool axesFromInput) {
  std::optional<SmallVector<int64_t>> axes;
  if (axesFromInput) {
    if (nc.hasInput(1)) {
      TRY(a, nc.constInts(1, "axes"));
      axes = a;
    }
  } else {
    axes = nc.attrInts("axes");
  }
  if (!axes || axes->empty()) {
    if (nc.attrInt("noop_with_empty_axes", 0))
      return std::optional<SmallVector<int64_t>>();
    SmallVector<int64_t> all;
    for (int64_t d = 0; d < rank; ++d)
      all.push_back(d);
    return std::optional<SmallVector<int64_t>>(all);
  }
  SmallVector<int64_t> out;
  for (int64_t a : *axes) {
    TRY(n, nc.normalizeAxis(a, rank, "reduction axis"));
    out.push_back(n);
  }
  llvm::sort(out);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return std::optional<SmallVector<int64_t>>(out);
}

/// A reduction whose axes are an input since opset `axesInputSince`
/// (ReduceSum 13, the other reductions 18) and an attribute before.
ValueImporter reduceOp(ReduceKind kind, int64_t axesInputSince) {
  return [=](NodeContext &nc) -> FailureOr<Value> {
    TRY(x, nc.requiredInput(0));
    bool fromInput = nc.opset >= axesInputSince;
    TRY(axes, reductionAxes(nc, shapeOf(x).size(), fromInput));
    if (!axes)
      return x;
    Type elementType = elementTypeOf(x);
    if (elementType.isInteger(1)) {
      // Boolean ReduceMax/ReduceMin (opset 20) are any/all: reduced as
      // 0/1 integers, since i1's signed order would put true below false.
      // The result is r > 0, which also gives an empty max false (its
      // identity is INT32_MIN) and an empty min true (INT32_MAX).
      if (kind != ReduceKind::Max && kind != ReduceKind::Min)
        return nc.error() << "a boolean input is only valid for ReduceMax and ReduceMin";
      Type i32 = IntegerType::get(x.getContext(), 32);
      TRY(wide, nc.castTo(x, i32));
      TRY(r, nc.reduce(kind, wide, *axes, nc.attrInt("keepdims", 1) != 0));
      return nc.binary(BinaryKind::Gt, r, nc.scalarConstant(i32, 0));
    }
    return nc.reduce(kind, x, *axes, nc.attrInt("keepdims", 1) != 0);
  };
}

ValueImporter argReduceOp(ArgKind kind) {
  return [kind](NodeContext &nc) -> FailureOr<Value> {
    TRY(x, nc.requiredInput(0));
    TRY(axis, nc.normalizeAxis(nc.attrInt("axis", 0), shapeOf(x).size()));
    return nc.create<ArgReduceOp>(nc.inferred(), kind, x, axis, nc.attrInt("keepdims", 1) != 0,
                                  nc.attrInt("select_last_index", 0) != 0);
  };
}

ValueImporter poolOp(PoolKind kind) {
  return [kind](NodeContext &nc) -> FailureOr<Value> {
    TRY(x, nc.requiredInput(0));
    if (nc.outputUsed(1))
      return nc.error() << "the Indices output is not supported";
    if (shapeOf(x).size() < 3)
      return nc.error() << "input must have rank >= 3, got "
                        << shapeToString(shapeOf(x));
    auto kernel = nc.attrInts("kernel_shape");
    if (!kernel || kernel->size() != shapeOf(x).size() - 2)
      return nc.error() << "kernel_shape must list " << shapeOf(x).size() - 2
                        << " sizes";
    if (nc.attrInt("storage_order", 0) != 0)
      return nc.error() << "storage_order=1 is not supported";
    TRY(win, readWindow(nc, shapeOf(x), *kernel));
    return nc.create<PoolOp>(nc.inferred(), kind, x, win.kernel, win.strides, win.pads,
                             win.dilations, nc.attrInt("ceil_mode", 0) != 0,
                             nc.attrInt("count_include_pad", 0) != 0);
  };
}

/// |x|^p, elementwise (p = 1 and 2 without pow).
FailureOr<Value> absPow(NodeContext &nc, Value x, double p) {
  if (p == 2)
    return nc.binary(BinaryKind::Mul, x, x);
  TRY(a, nc.unary(UnaryKind::Abs, x));
  if (p == 1)
    return a;
  return nc.binary(BinaryKind::Pow, a, nc.scalarConstant(elementTypeOf(x), p));
}

/// s^(1/p), elementwise.
FailureOr<Value> rootOf(NodeContext &nc, Value s, double p) {
  if (p == 1)
    return s;
  if (p == 2)
    return nc.unary(UnaryKind::Sqrt, s);
  return nc.binary(BinaryKind::Pow, s, nc.scalarConstant(elementTypeOf(s), 1.0 / p));
}

/// LpPool's and GlobalLpPool's p: a float attribute in opset 1, an int
/// since 2.
FailureOr<double> lpPoolP(NodeContext &nc) {
  double p = nc.opset < 2 ? nc.attrFloat("p", 2.0f) : (double)nc.attrInt("p", 2);
  if (!(p > 0))
    return nc.error() << "p must be positive, got " << p;
  return p;
}

/// LpPool: (sum over each window of |x|^p)^(1/p). The window sums are a
/// depthwise convolution with a filter of ones (padding adds zeros);
/// ceil_mode's extra last window becomes extra end padding.
FailureOr<Value> importLpPool(NodeContext &nc) {
  TRY(x, floatInput(nc));
  ArrayRef<int64_t> shape = shapeOf(x);
  if (shape.size() < 3)
    return nc.error() << "input must have rank >= 3, got " << shapeToString(shape);
  size_t n = shape.size() - 2;
  auto kernel = nc.attrInts("kernel_shape");
  if (!kernel || kernel->size() != n)
    return nc.error() << "kernel_shape must list " << n << " sizes";
  TRY(p, lpPoolP(nc));
  TRY(win, readWindow(nc, shape, *kernel));
  if (nc.attrInt("ceil_mode", 0) != 0) {
    for (size_t i = 0; i < n; ++i) {
      int64_t in = shape[2 + i], s = win.strides[i];
      int64_t span = in + win.pads[i] + win.pads[n + i] - (win.kernel[i] - 1) * win.dilations[i] - 1;
      if (span < 0)
        continue; // no window fits; the convolution reports it
      int64_t q = (span + s - 1) / s;
      // A last window starting in the end padding is dropped.
      if (q * s >= in + win.pads[i])
        --q;
      int64_t need = q * s + (win.kernel[i] - 1) * win.dilations[i] + 1;
      int64_t have = in + win.pads[i] + win.pads[n + i];
      if (need > have)
        win.pads[n + i] += need - have;
    }
  }
  Type et = elementTypeOf(x);
  int64_t channels = shape[1];
  SmallVector<int64_t> wshape{channels, 1};
  wshape.append(win.kernel.begin(), win.kernel.end());
  Value ones = nc.constant(
      DenseElementsAttr::get(RankedTensorType::get(wshape, et), FloatAttr::get(et, 1.0)));
  TRY(xp, absPow(nc, x, p));
  TRY(sum, nc.create<ConvOp>(nc.inferred(), xp, ones, Value(), win.strides, win.pads,
                             win.dilations, channels));
  return rootOf(nc, sum, p);
}

/// GlobalLpPool: (sum over all spatial positions of |x|^p)^(1/p).
FailureOr<Value> importGlobalLpPool(NodeContext &nc) {
  TRY(x, floatInput(nc));
  if (shapeOf(x).size() < 3)
    return nc.error() << "input must have rank >= 3, got " << shapeToString(shapeOf(x));
  TRY(p, lpPoolP(nc));
  SmallVector<int64_t> axes;
  for (size_t d = 2; d < shapeOf(x).size(); ++d)
    axes.push_back(d);
  TRY(xp, absPow(nc, x, p));
  TRY(sum, nc.reduce(ReduceKind::Sum, xp, axes, /*keepDims=*/true));
  return rootOf(nc, sum, p);
}

ValueImporter globalPoolOp(ReduceKind kind) {
  return [kind](NodeContext &nc) -> FailureOr<Value> {
    TRY(x, nc.requiredInput(0));
    if (shapeOf(x).size() < 3)
      return nc.error() << "input must have rank >= 3, got "
                        << shapeToString(shapeOf(x));
    SmallVector<int64_t> axes;
    for (size_t d = 2; d < shapeOf(x).size(); ++d)
      axes.push_back(d);
    return nc.reduce(kind, x, axes, /*keepDims=*/true);
  };
}

LogicalResult importTopK(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  SmallVector<int64_t> k;
  if (nc.opset < 10) {
    k.push_back(nc.attrInt("k", -1));
  } else {
    TRY(kIn, nc.constInts(1, "K"));
    k = kIn;
  }
  if (k.size() != 1)
    return nc.error() << "K must hold one value, got " << k.size();
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", -1), shapeOf(x).size()));
  TRY(r, nc.createMulti<TopKOp>(nc.inferred(), nc.inferred(), x, k[0], axis,
                                nc.attrInt("largest", 1) != 0));
  nc.setOutput(0, r[0]);
  nc.setOutput(1, r[1]);
  return success();
}

FailureOr<Value> importCumSum(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(axisV, nc.constInts(1, "axis"));
  if (axisV.size() != 1)
    return nc.error() << "axis must hold one value";
  TRY(axis, nc.normalizeAxis(axisV[0], shapeOf(x).size()));
  return nc.create<CumSumOp>(nc.inferred(), x, axis, nc.attrInt("exclusive", 0) != 0,
                             nc.attrInt("reverse", 0) != 0);
}

//===----------------------------------------------------------------------===//
// Shapes and data movement
//===----------------------------------------------------------------------===//

FailureOr<Value> importReshape(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(spec, nc.constInts(1, "shape"));
  bool allowZero = nc.attrInt("allowzero", 0) != 0;
  ArrayRef<int64_t> in = shapeOf(x);
  SmallVector<int64_t> out;
  int inferIndex = -1;
  for (auto [i, d] : llvm::enumerate(spec)) {
    if (d == 0 && !allowZero) {
      if (i >= in.size())
        return nc.error() << "shape " << listToString(spec) << " copies dim "
                          << i << " (0) beyond input rank " << in.size();
      out.push_back(in[i]);
    } else if (d == -1) {
      if (inferIndex >= 0)
        return nc.error() << "shape " << listToString(spec)
                          << " has more than one -1";
      inferIndex = i;
      out.push_back(1);
    } else if (d < -1) {
      return nc.error() << "shape " << listToString(spec)
                        << " has invalid dimension " << d;
    } else {
      out.push_back(d);
    }
  }
  if (inferIndex >= 0) {
    int64_t known = product(out);
    if (known == 0 || product(in) % known != 0)
      return nc.error() << "cannot reshape " << shapeToString(in) << " to "
                        << listToString(spec);
    out[inferIndex] = product(in) / known;
  }
  if (product(out) != product(in))
    return nc.error() << "cannot reshape " << shapeToString(in) << " ("
                      << product(in) << " elements) to " << listToString(spec);
  return nc.reshape(x, out);
}

FailureOr<Value> importFlatten(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  ArrayRef<int64_t> in = shapeOf(x);
  int64_t rank = in.size();
  int64_t axis = nc.attrInt("axis", 1);
  if (axis < -rank || axis > rank)
    return nc.error() << "axis " << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  return nc.reshape(x, {product(in.take_front(axis)), product(in.drop_front(axis))});
}

FailureOr<SmallVector<int64_t>> axesFromAttrOrInput(NodeContext &nc,
                                                    bool required) {
  if (nc.opset >= 13) {
    if (!nc.hasInput(1)) {
      if (required)
        return nc.error() << "the axes input is required";
      return SmallVector<int64_t>();
    }
    return nc.constInts(1, "axes");
  }
  auto a = nc.attrInts("axes");
  if (!a && required)
    return nc.error() << "the axes attribute is required";
  return a.value_or(SmallVector<int64_t>());
}

FailureOr<Value> importSqueeze(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  ArrayRef<int64_t> in = shapeOf(x);
  TRY(axes, axesFromAttrOrInput(nc, /*required=*/false));
  SmallVector<bool> drop(in.size(), false);
  if (axes.empty()) {
    for (size_t d = 0; d < in.size(); ++d)
      drop[d] = in[d] == 1;
  }
  for (int64_t a : axes) {
    TRY(n, nc.normalizeAxis(a, in.size()));
    if (in[n] != 1)
      return nc.error() << "cannot squeeze dim " << n << " of size " << in[n]
                        << " (shape " << shapeToString(in) << ")";
    drop[n] = true;
  }
  SmallVector<int64_t> out;
  for (size_t d = 0; d < in.size(); ++d)
    if (!drop[d])
      out.push_back(in[d]);
  return nc.reshape(x, out);
}

FailureOr<Value> importUnsqueeze(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  ArrayRef<int64_t> in = shapeOf(x);
  TRY(axes, axesFromAttrOrInput(nc, /*required=*/true));
  int64_t outRank = in.size() + axes.size();
  SmallVector<bool> inserted(outRank, false);
  for (int64_t a : axes) {
    TRY(n, nc.normalizeAxis(a, outRank));
    if (inserted[n])
      return nc.error() << "axis " << a << " is repeated";
    inserted[n] = true;
  }
  SmallVector<int64_t> out;
  size_t next = 0;
  for (int64_t d = 0; d < outRank; ++d)
    out.push_back(inserted[d] ? 1 : in[next++]);
  return nc.reshape(x, out);
}

FailureOr<Value> importTranspose(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  int64_t rank = shapeOf(x).size();
  SmallVector<int64_t> perm;
  if (auto p = nc.attrInts("perm")) {
    perm = *p;
  } else {
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  }
  return nc.transpose(x, perm);
}

FailureOr<Value> importConcat(NodeContext &nc) {
  SmallVector<Value> ins;
  for (int i = 0; i < nc.numInputs(); ++i) {
    TRY(v, nc.requiredInput(i));
    ins.push_back(v);
  }
  if (ins.empty())
    return nc.error() << "needs at least one input";
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", 0), shapeOf(ins[0]).size()));
  // Empty inputs contribute nothing; dropping them keeps kernels simple.
  SmallVector<Value> nonEmpty;
  for (Value v : ins)
    if (shapeOf(v).size() <= (size_t)axis || shapeOf(v)[axis] != 0)
      nonEmpty.push_back(v);
  if (nonEmpty.empty())
    nonEmpty.push_back(ins[0]);
  TRY(y, nc.create<ConcatOp>(nc.inferred(), nonEmpty, axis));
  // Fold constant concatenations (shape vectors) right away.
  if (auto concat = y.getDefiningOp<ConcatOp>()) {
    SmallVector<DenseElementsAttr> parts;
    for (Value v : concat.getInputs()) {
      auto c = v.getDefiningOp<ConstantOp>();
      auto d = c ? dyn_cast<DenseElementsAttr>(c.getValue()) : nullptr;
      if (!d || d.getNumElements() > 4096)
        break;
      parts.push_back(d);
    }
    if (parts.size() == concat.getInputs().size() &&
        shapeOf(y).size() == 1) {
      SmallVector<Attribute> elems;
      for (auto p : parts)
        llvm::append_range(elems, p.getValues<Attribute>());
      Value folded = nc.constant(DenseElementsAttr::get(
          cast<ShapedType>(y.getType()), elems));
      concat->erase();
      y = folded;
    }
  }
  return y;
}

/// Emits a slice of `x` with the given per-dim starts, steps and sizes.
FailureOr<Value> emitSlice(NodeContext &nc, Value x, ArrayRef<int64_t> starts,
                           ArrayRef<int64_t> steps, ArrayRef<int64_t> sizes) {
  auto type = RankedTensorType::get(sizes, elementTypeOf(x));
  SmallVector<int64_t> s(starts);
  for (size_t d = 0; d < sizes.size(); ++d)
    if (sizes[d] == 0)
      s[d] = 0;
  return nc.create<SliceOp>(type, x, s, steps);
}

LogicalResult importSplit(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  ArrayRef<int64_t> in = shapeOf(x);
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", 0), in.size()));
  SmallVector<int64_t> sizes;
  if (nc.opset >= 13 && nc.hasInput(1)) {
    TRY(s, nc.constInts(1, "split"));
    sizes = s;
  } else if (auto s = nc.attrInts("split")) {
    sizes = *s;
  } else if (nc.opset >= 18 && nc.attr("num_outputs")) {
    // Chunks of ceil(size / n); the last one takes what is left.
    int64_t n = nc.attrInt("num_outputs", 0);
    if (n <= 0 || n != nc.numOutputs())
      return nc.error() << "num_outputs is " << n << " but the node has "
                        << nc.numOutputs() << " outputs";
    int64_t chunk = (in[axis] + n - 1) / n;
    if (chunk * (n - 1) > in[axis])
      return nc.error() << "cannot split dim " << axis << " of size " << in[axis]
                        << " into " << n << " chunks of " << chunk;
    sizes.assign(n - 1, chunk);
    sizes.push_back(in[axis] - chunk * (n - 1));
  } else {
    int64_t n = nc.numOutputs();
    if (n == 0 || in[axis] % n != 0)
      return nc.error() << "cannot split dim " << axis << " of size "
                        << in[axis] << " into " << n << " equal parts";
    sizes.assign(n, in[axis] / n);
  }
  if ((int64_t)sizes.size() != nc.numOutputs() ||
      llvm::any_of(sizes, [](int64_t v) { return v < 0; }) ||
      std::accumulate(sizes.begin(), sizes.end(), (int64_t)0) != in[axis])
    return nc.error() << "split sizes " << listToString(sizes)
                      << " do not cover dim " << axis << " of size "
                      << in[axis] << " with " << nc.numOutputs() << " outputs";
  int64_t offset = 0;
  for (auto [i, size] : llvm::enumerate(sizes)) {
    SmallVector<int64_t> starts(in.size(), 0), steps(in.size(), 1),
        outShape(in);
    starts[axis] = offset;
    outShape[axis] = size;
    TRY(y, emitSlice(nc, x, starts, steps, outShape));
    nc.setOutput(i, y);
    offset += size;
  }
  return success();
}

FailureOr<Value> importSlice(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  ArrayRef<int64_t> in = shapeOf(x);
  int64_t rank = in.size();
  // Before opset 10 starts/ends/axes are attributes; since then, inputs.
  SmallVector<int64_t> startsIn, endsIn, axes, stepsIn;
  if (nc.opset < 10) {
    auto s = nc.attrInts("starts"), e = nc.attrInts("ends");
    if (!s || !e)
      return nc.error() << "the starts and ends attributes are required";
    startsIn = *s;
    endsIn = *e;
    if (auto a = nc.attrInts("axes"))
      axes = *a;
  } else {
    TRY(s, nc.constInts(1, "starts"));
    TRY(e, nc.constInts(2, "ends"));
    startsIn = s;
    endsIn = e;
    if (nc.hasInput(3)) {
      TRY(a, nc.constInts(3, "axes"));
      axes = a;
    }
    if (nc.hasInput(4)) {
      TRY(st, nc.constInts(4, "steps"));
      stepsIn = st;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < startsIn.size(); ++i)
      axes.push_back(i);
  if (stepsIn.empty())
    stepsIn.assign(startsIn.size(), 1);
  if (endsIn.size() != startsIn.size() || axes.size() != startsIn.size() ||
      stepsIn.size() != startsIn.size())
    return nc.error() << "starts, ends, axes and steps must have equal lengths";
  SmallVector<int64_t> starts(rank, 0), steps(rank, 1), sizes(in);
  for (size_t i = 0; i < axes.size(); ++i) {
    TRY(a, nc.normalizeAxis(axes[i], rank));
    int64_t dim = in[a], step = stepsIn[i];
    if (step == 0)
      return nc.error() << "step for axis " << a << " is zero";
    int64_t s = startsIn[i], e = endsIn[i];
    if (s < 0)
      s += dim;
    if (e < 0)
      e += dim;
    // ONNX clamps starts to [0, dim] and ends to [0, dim] for positive
    // steps; starts to [0, dim - 1] and ends to [-1, dim - 1] for negative
    // ones. The INT64_MIN/MAX sentinels of "to the end" land on the bounds.
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
    }
    int64_t size = step > 0 ? (e - s + step - 1) / step : (s - e + (-step) - 1) / (-step);
    starts[a] = s;
    steps[a] = step;
    sizes[a] = std::max<int64_t>(size, 0);
  }
  return emitSlice(nc, x, starts, steps, sizes);
}

FailureOr<Value> importGather(NodeContext &nc) {
  TRY(data, nc.requiredInput(0));
  TRY(indices, nc.requiredInput(1));
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", 0), shapeOf(data).size()));
  int64_t dim = shapeOf(data)[axis];
  if (failed(nc.checkIndices(1, {dim})))
    return failure();
  // Constant data and indices (shape computations) fold here.
  DenseElementsAttr cd = nc.constInput(0), ci = nc.constInput(1);
  if (ci) {
    SmallVector<int64_t> idx;
    for (APInt v : ci.getValues<APInt>()) {
      int64_t i = v.getSExtValue();
      if (i < -dim || i >= dim)
        return nc.error() << "index " << i << " is out of range for dim "
                          << axis << " of size " << dim;
      idx.push_back(i < 0 ? i + dim : i);
    }
    if (cd && cd.getNumElements() <= 4096) {
      ArrayRef<int64_t> ds = shapeOf(data);
      int64_t outer = product(ds.take_front(axis));
      int64_t inner = product(ds.drop_front(axis + 1));
      auto values = llvm::to_vector(cd.getValues<Attribute>());
      SmallVector<Attribute> out;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i : idx)
          for (int64_t k = 0; k < inner; ++k)
            out.push_back(values[(o * dim + i) * inner + k]);
      SmallVector<int64_t> shape(ds.take_front(axis));
      llvm::append_range(shape, shapeOf(indices));
      llvm::append_range(shape, ds.drop_front(axis + 1));
      return nc.constant(
          DenseElementsAttr::get(RankedTensorType::get(shape, elementTypeOf(data)), out));
    }
  }
  return nc.create<GatherOp>(nc.inferred(), data, indices, axis);
}

/// GatherND with batch_dims=0, as a Gather over the data flattened in its
/// first k dims: each index tuple (the last dim of `indices`, k long)
/// becomes one linear index, negatives wrapped, computed by kiln ops so
/// that run-time indices work too.
FailureOr<Value> importGatherND(NodeContext &nc) {
  TRY(data, nc.requiredInput(0));
  TRY(indices, nc.requiredInput(1));
  ArrayRef<int64_t> ds = shapeOf(data), is = shapeOf(indices);
  Type i64 = IntegerType::get(nc.ctx(), 64);
  if (elementTypeOf(indices) != i64)
    return nc.error() << "indices must be int64, got " << elementTypeOf(indices);
  // batch_dims b: the first b dims of data and indices pair up; each batch
  // entry gathers from its own slice of the data.
  int64_t b = nc.attrInt("batch_dims", 0);
  if (b < 0 || b >= (int64_t)is.size() || b >= (int64_t)ds.size() ||
      ds.take_front(b) != is.take_front(b))
    return nc.error() << "batch_dims " << b << " must be below both ranks, and data "
                      << shapeToString(ds) << " and indices " << shapeToString(is)
                      << " must agree on those dims";
  if (is.back() < 1 || is.back() > (int64_t)ds.size() - b)
    return nc.error() << "indices of shape " << shapeToString(is)
                      << " must end in a dim of 1 to " << ds.size() - b
                      << " (the data's rank after batch_dims)";
  int64_t k = is.back();
  SmallVector<int64_t> dims(ds.slice(b, k));
  if (failed(nc.checkIndices(1, dims, /*componentwise=*/true)))
    return failure();
  TRY(linear0, linearIndices(nc, indices, dims));
  Value linear = linear0;
  int64_t batches = product(ds.take_front(b));
  if (b > 0) {
    // Each batch entry's offset into the flattened data.
    SmallVector<int64_t> offShape(is.take_front(b));
    offShape.append(is.size() - 1 - b, 1);
    SmallVector<int64_t> offsets(batches);
    for (int64_t i = 0; i < batches; ++i)
      offsets[i] = i * product(dims);
    Value off = nc.constant(DenseElementsAttr::get(RankedTensorType::get(offShape, i64),
                                                   ArrayRef<int64_t>(offsets)));
    TRY(shifted, nc.binary(BinaryKind::Add, linear0, off));
    linear = shifted;
  }
  SmallVector<int64_t> flatShape{batches * product(dims)};
  llvm::append_range(flatShape, ds.drop_front(b + k));
  TRY(flat, nc.reshape(data, flatShape));
  return nc.create<GatherOp>(nc.inferred(), flat, linear, 0);
}

FailureOr<Value> importGatherElements(NodeContext &nc) {
  TRY(data, nc.requiredInput(0));
  TRY(indices, nc.requiredInput(1));
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", 0), shapeOf(data).size()));
  if (failed(nc.checkIndices(1, {shapeOf(data)[axis]})))
    return failure();
  return nc.create<GatherElementsOp>(nc.inferred(), data, indices, axis);
}

FailureOr<Value> importExpand(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(shape, nc.constInts(1, "shape"));
  auto out = broadcastShapes(shapeOf(x), shape);
  if (failed(out))
    return nc.error() << "cannot expand shape " << shapeToString(shapeOf(x))
                      << " to " << listToString(shape);
  return nc.create<BroadcastOp>(RankedTensorType::get(*out, elementTypeOf(x)), x);
}

FailureOr<Value> importTile(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(repeats, nc.constInts(1, "repeats"));
  ArrayRef<int64_t> in = shapeOf(x);
  if (repeats.size() != in.size())
    return nc.error() << "repeats has " << repeats.size()
                      << " entries, input rank is " << in.size();
  // Tile = reshape to [1, d0, 1, d1, ...], broadcast to [r0, d0, r1, d1, ...],
  // reshape to [r0*d0, r1*d1, ...].
  SmallVector<int64_t> interleaved, broadcasted, out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (repeats[d] < 0)
      return nc.error() << "repeats must be non-negative";
    interleaved.append({1, in[d]});
    broadcasted.append({repeats[d], in[d]});
    out.push_back(repeats[d] * in[d]);
  }
  TRY(r1, nc.reshape(x, interleaved));
  TRY(b, nc.create<BroadcastOp>(
             RankedTensorType::get(broadcasted, elementTypeOf(x)), r1));
  return nc.reshape(b, out);
}

FailureOr<Value> importPad(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  int64_t rank = shapeOf(x).size();
  SmallVector<int64_t> pads;
  if (nc.hasInput(1)) {
    TRY(p, nc.constInts(1, "pads"));
    pads = p;
  } else if (auto p = nc.attrInts("pads")) {
    pads = *p;
  }
  if (nc.hasInput(3)) {
    // Since opset 18 the pads may name only some axes: begins then ends
    // of those axes, the others unpadded.
    TRY(axes, nc.constInts(3, "axes"));
    if (pads.size() != 2 * axes.size())
      return nc.error() << "pads has " << pads.size() << " entries for "
                        << axes.size() << " axes, needs " << 2 * axes.size();
    SmallVector<int64_t> full(2 * rank, 0);
    SmallVector<bool> seen(rank, false);
    for (auto [i, a] : llvm::enumerate(axes)) {
      TRY(axis, nc.normalizeAxis(a, rank, "pad axis"));
      if (seen[axis])
        return nc.error() << "pad axis " << a << " is given twice";
      seen[axis] = true;
      full[axis] = pads[i];
      full[rank + axis] = pads[axes.size() + i];
    }
    pads = full;
  }
  if ((int64_t)pads.size() != 2 * rank)
    return nc.error() << "pads has " << pads.size() << " entries, rank "
                      << rank << " needs " << 2 * rank;
  // The value is an input since opset 11 and an attribute before.
  TRY(value, optionalConstScalar<double>(nc, 2, "constant_value", nc.attrFloat("value", 0)));
  std::string modeName = nc.attrString("mode", "constant");
  std::optional<PadMode> mode = symbolizePadMode(modeName);
  if (!mode)
    return nc.error() << "unsupported mode '" << modeName << "'";
  return nc.create<PadOp>(nc.inferred(), *mode, x, pads, APFloat(value));
}

/// One axis of a separable resize as taps: for each output position,
/// `taps` input positions (clamped into the input) and their weights.
struct AxisTaps {
  int64_t taps = 0;
  SmallVector<int64_t> index;  // [out * taps]
  SmallVector<double> weight;  // [out * taps]
  SmallVector<bool> extrapolated; // [out]: tf_crop_and_resize outside the input
};

/// The taps of one axis as ONNX's Resize reference computes them for
/// linear and cubic interpolation, with antialias and exclude_outside:
/// the source coordinate of each output position by the coordinate
/// transformation, the filter coefficients at its fraction (1, not 0, for
/// a whole number), paired with the n input positions nearest to it (ties
/// to the smaller; positions past the edges repeat the edge).
FailureOr<AxisTaps> resizeAxisTaps(NodeContext &nc, int64_t in, int64_t out, double scale,
                                   StringRef ctm, bool cubic, bool antialias, double a,
                                   bool excludeOutside, double roiStart, double roiEnd) {
  AxisTaps t;
  double outWidth = scale * in;
  for (int64_t x = 0; x < out; ++x) {
    double xo;
    bool outside = false;
    if (ctm == "tf_crop_and_resize") {
      xo = outWidth == 1 ? (roiEnd - roiStart) * (in - 1) / 2.0
                         : x * (roiEnd - roiStart) * (in - 1) / (outWidth - 1);
      xo += roiStart * (in - 1);
      outside = xo < 0 || xo > in - 1;
    } else if (ctm == "align_corners")
      xo = outWidth == 1 ? 0.0 : x * (in - 1) / (outWidth - 1);
    else if (ctm == "asymmetric")
      xo = x / scale;
    else if (ctm == "pytorch_half_pixel")
      xo = outWidth == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    else if (ctm == "half_pixel")
      xo = (x + 0.5) / scale - 0.5;
    else if (ctm == "half_pixel_symmetric")
      xo = (in / 2.0) * (1 - out / outWidth) + (x + 0.5) / scale - 0.5;
    else
      return nc.error() << "coordinate_transformation_mode '" << ctm
                        << "' is not supported with this mode";
    double fl = std::floor(xo);
    double ratio = xo == fl ? 1.0 : xo - fl;
    SmallVector<double> c;
    double s = std::min(scale, 1.0);
    auto cubicAt = [&](double d) {
      d = std::fabs(d);
      if (d <= 1)
        return ((a + 2) * d - (a + 3)) * d * d + 1;
      if (d < 2)
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
      return 0.0;
    };
    if (!antialias) {
      if (cubic)
        c = {cubicAt(ratio + 1), cubicAt(ratio), cubicAt(1 - ratio), cubicAt(2 - ratio)};
      else
        c = {1 - ratio, ratio};
    } else if (cubic) {
      int64_t start = (int64_t)std::floor(-2 / s) + 1, end = 2 - start;
      double sum = 0;
      for (int64_t i = start; i < end; ++i) {
        c.push_back(cubicAt(s * (i - ratio)));
        sum += c.back();
      }
      for (double &v : c)
        v /= sum;
    } else {
      int64_t start = (int64_t)std::floor(-1 / s) + 1, foot = 2 - 2 * start;
      double sum = 0;
      for (int64_t i = start; i < start + foot; ++i) {
        c.push_back(std::clamp(1 - std::fabs((i - ratio) * s), 0.0, 1.0));
        sum += c.back();
      }
      for (double &v : c)
        v /= sum;
    }
    int64_t n = c.size();
    if (n > 4096)
      return nc.error() << "the resize filter needs " << n << " taps per output";
    if (t.taps == 0)
      t.taps = n;
    else if (t.taps != n)
      return nc.error() << "internal: the resize filter width varies along an axis";
    // The n positions nearest to xo within the input padded by ceil(n/2)
    // on each side; ties prefer the smaller.
    int64_t pad = (n + 1) / 2, len = in + 2 * pad;
    double xp = xo + pad;
    SmallVector<int64_t> cand;
    for (int64_t i = (int64_t)std::floor(xp) - n - 1; i <= (int64_t)std::floor(xp) + n + 1; ++i)
      if (i >= 0 && i < len)
        cand.push_back(i);
    llvm::stable_sort(cand, [&](int64_t p, int64_t q) {
      double dp = std::fabs(xp - p), dq = std::fabs(xp - q);
      return dp != dq ? dp < dq : p < q;
    });
    if ((int64_t)cand.size() < n)
      return nc.error() << "the input (" << in << ") is too small for a filter of " << n
                        << " taps";
    cand.resize(n);
    llvm::sort(cand);
    if (excludeOutside) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        int64_t idx = cand[k] - pad;
        if (idx < 0 || idx >= in)
          c[k] = 0;
        sum += c[k];
      }
      for (double &v : c)
        v = sum != 0 ? v / sum : v;
    }
    for (int64_t k = 0; k < n; ++k) {
      t.index.push_back(std::clamp<int64_t>(cand[k] - pad, 0, in - 1));
      t.weight.push_back(c[k]);
    }
    t.extrapolated.push_back(outside);
  }
  return t;
}

/// Resize by separable taps (cubic, antialiased, half_pixel_symmetric):
/// each resized axis in turn is a sum over its taps of a gather along
/// the axis times the taps' constant weights.
FailureOr<Value> resizeByTaps(NodeContext &nc, Value x, ArrayRef<int64_t> out,
                              ArrayRef<double> scales, StringRef ctm, bool cubic,
                              bool antialias, double a, bool excludeOutside,
                              ArrayRef<double> roi, double extrapolation) {
  Type et = elementTypeOf(x);
  if (!isa<FloatType>(et))
    return nc.error() << "linear and cubic resizing need a floating-point input";
  Value v = x;
  int64_t rank = out.size();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t in = shapeOf(v)[d];
    if (in == out[d] && scales[d] == 1.0 &&
        (ctm != "tf_crop_and_resize" || (roi[d] == 0.0 && roi[rank + d] == 1.0)))
      continue;
    if (in == 0 || out[d] == 0)
      return nc.error() << "cannot resize an empty dim";
    TRY(t, resizeAxisTaps(nc, in, out[d], scales[d], ctm, cubic, antialias, a,
                          excludeOutside, roi[d], roi[rank + d]));
    if ((int64_t)t.taps * out[d] > (int64_t(1) << 26))
      return nc.error() << "the resize filter is too large (" << t.taps << " taps x " << out[d]
                        << " outputs)";
    Value sum;
    for (int64_t k = 0; k < t.taps; ++k) {
      SmallVector<int64_t> idx(out[d]);
      SmallVector<double> w(out[d]);
      for (int64_t o = 0; o < out[d]; ++o) {
        idx[o] = t.index[o * t.taps + k];
        w[o] = t.weight[o * t.taps + k];
      }
      if (llvm::all_of(w, [](double q) { return q == 0; }))
        continue;
      Value iv = nc.constant(DenseElementsAttr::get(
          RankedTensorType::get({out[d]}, IntegerType::get(nc.ctx(), 64)), ArrayRef<int64_t>(idx)));
      SmallVector<int64_t> wshape(rank, 1);
      wshape[d] = out[d];
      Value wv = nc.constant(DenseElementsAttr::get(
          RankedTensorType::get(wshape, Float64Type::get(nc.ctx())), ArrayRef<double>(w)));
      TRY(wc, nc.castTo(wv, et));
      TRY(ns, addWeightedGather(nc, sum, v, iv, d, wc));
      sum = ns;
    }
    if (!sum)
      return nc.error() << "internal: a resize filter with no weight";
    if (llvm::is_contained(t.extrapolated, true)) {
      // tf_crop_and_resize: positions outside the input take the
      // extrapolation value.
      SmallVector<int64_t> mshape(rank, 1);
      mshape[d] = out[d];
      Value mask = nc.constant(DenseElementsAttr::get(
          RankedTensorType::get(mshape, IntegerType::get(nc.ctx(), 1)),
          ArrayRef<bool>(t.extrapolated)));
      TRY(sel, nc.create<SelectOp>(nc.inferred(), mask, nc.scalarConstant(et, extrapolation),
                                   sum));
      sum = sel;
    }
    v = sum;
  }
  return v;
}

FailureOr<Value> importResize(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  ArrayRef<int64_t> in = shapeOf(x);
  int64_t rank = in.size();
  std::string modeName = nc.attrString("mode", "nearest");
  bool v10 = nc.opset < 11;
  bool cubic = modeName == "cubic" && !v10;
  std::optional<ResizeMode> mode = symbolizeResizeMode(modeName);
  if (!mode && !cubic)
    return nc.error() << "mode '" << modeName
                      << "' is not supported (nearest, linear and cubic are)";
  std::string ctm = nc.attrString("coordinate_transformation_mode",
                                  v10 ? "asymmetric" : "half_pixel");
  auto coord = symbolizeCoordMode(ctm);
  bool antialias = nc.attrInt("antialias", 0) != 0;
  // Cubic, antialiased and half_pixel_symmetric resizes are composed of
  // gathers (resizeByTaps); the rest are kiln.resize.
  bool byTaps = cubic || (antialias && mode == ResizeMode::Linear) ||
                ((ctm == "half_pixel_symmetric" || ctm == "tf_crop_and_resize") &&
                 mode == ResizeMode::Linear);
  if (!coord && !byTaps)
    return nc.error() << "coordinate_transformation_mode '" << ctm
                      << "' is not supported";
  std::string nm = nc.attrString("nearest_mode", v10 ? "floor" : "round_prefer_floor");
  auto nearest = symbolizeNearestMode(nm);
  if (!nearest)
    return nc.error() << "nearest_mode '" << nm << "' is not supported";
  if (antialias && !byTaps)
    return nc.error() << "antialias is supported for linear and cubic modes";
  // The dims that scales/sizes list (the axes attribute, opset 18): all
  // by default.
  SmallVector<int64_t> axes;
  if (auto given = nc.attrInts("axes")) {
    for (int64_t a : *given) {
      TRY(ax, nc.normalizeAxis(a, rank, "axes entry"));
      if (llvm::is_contained(axes, ax))
        return nc.error() << "axes lists dim " << ax << " twice";
      axes.push_back(ax);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  std::string policy = nc.attrString("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    return nc.error() << "unknown keep_aspect_ratio_policy '" << policy << "'";
  SmallVector<int64_t> out(in.begin(), in.end());
  SmallVector<double> scales(rank, 1.0);
  int scalesInput = v10 ? 1 : 2;
  DenseElementsAttr scalesAttr = nc.constInput(scalesInput);
  bool haveScales = scalesAttr && scalesAttr.getNumElements() > 0;
  if (!v10 && nc.hasInput(3)) {
    TRY(sizes, nc.constInts(3, "sizes"));
    if (sizes.size() != axes.size())
      return nc.error() << "sizes has " << sizes.size() << " entries, " << axes.size()
                        << " expected";
    for (auto [i, d] : llvm::enumerate(axes)) {
      if (sizes[i] < 0)
        return nc.error() << "sizes holds a negative size " << sizes[i];
      out[d] = sizes[i];
      scales[d] = in[d] ? (double)out[d] / in[d] : 1.0;
    }
    if (policy != "stretch" && !axes.empty()) {
      double scale = scales[axes[0]];
      for (int64_t d : axes)
        scale = policy == "not_larger" ? std::min(scale, scales[d]) : std::max(scale, scales[d]);
      for (int64_t d : axes) {
        scales[d] = scale;
        out[d] = (int64_t)(scale * in[d] + 0.5);
      }
    }
  } else if (haveScales) {
    TRY(sv, nc.constFloats(scalesInput, "scales"));
    if (sv.size() != axes.size())
      return nc.error() << "scales has " << sv.size() << " entries, " << axes.size()
                        << " expected";
    for (auto [i, d] : llvm::enumerate(axes)) {
      if (!(sv[i] > 0))
        return nc.error() << "scales must be positive, got " << sv[i];
      scales[d] = sv[i];
      out[d] = (int64_t)std::floor(in[d] * sv[i]);
    }
  } else {
    return nc.error() << "needs constant scales or sizes";
  }
  if (byTaps) {
    // The region of interest of tf_crop_and_resize (input 1): starts then
    // ends, normalized, for the listed axes; [0, 1] elsewhere.
    SmallVector<double> roi(rank, 0.0);
    roi.append(rank, 1.0);
    if (ctm == "tf_crop_and_resize") {
      TRY(r, nc.constFloats(1, "roi"));
      if (r.size() != 2 * axes.size())
        return nc.error() << "roi has " << r.size() << " entries, " << 2 * axes.size()
                          << " expected";
      for (auto [i, d] : llvm::enumerate(axes)) {
        roi[d] = r[i];
        roi[rank + d] = r[axes.size() + i];
      }
    }
    return resizeByTaps(nc, x, out, scales, ctm, cubic, antialias,
                        nc.attrFloat("cubic_coeff_a", -0.75f),
                        nc.attrInt("exclude_outside", 0) != 0, roi,
                        nc.attrFloat("extrapolation_value", 0.0f));
  }
  return nc.create<ResizeOp>(RankedTensorType::get(out, elementTypeOf(x)), *mode, x, scales, *coord,
                             *nearest);
}

/// Upsample (opsets 7 and 9, deprecated in 10): Resize with asymmetric
/// coordinates and floor rounding; its scales are an attribute in opset 7
/// and input 1 from 9 on (read as Resize-10 reads them).
FailureOr<Value> importUpsample(NodeContext &nc) {
  if (nc.opset >= 9)
    return importResize(nc);
  TRY(x, nc.requiredInput(0));
  std::string modeName = nc.attrString("mode", "nearest");
  if (modeName == "bilinear")
    modeName = "linear";
  std::optional<ResizeMode> mode = symbolizeResizeMode(modeName);
  if (!mode)
    return nc.error() << "mode '" << modeName << "' is not supported (nearest and linear are)";
  const onnx::AttributeProto *a = nc.attr("scales");
  ArrayRef<int64_t> in = shapeOf(x);
  if (!a || a->floats_size() != (int)in.size())
    return nc.error() << "scales must list " << in.size() << " values";
  SmallVector<double> scales;
  SmallVector<int64_t> out;
  for (int64_t d = 0; d < (int64_t)in.size(); ++d) {
    double sc = a->floats(d);
    if (!(sc >= 1))
      return nc.error() << "scales must be >= 1, got " << sc;
    scales.push_back(sc);
    out.push_back((int64_t)std::floor(in[d] * sc));
  }
  return nc.create<ResizeOp>(RankedTensorType::get(out, elementTypeOf(x)), *mode, x, scales,
                             CoordMode::Asymmetric, NearestMode::Floor);
}

//===----------------------------------------------------------------------===//
// Constants and shape queries
//===----------------------------------------------------------------------===//

DenseElementsAttr i64Tensor(MLIRContext *ctx, ArrayRef<int64_t> shape,
                            ArrayRef<int64_t> values) {
  return DenseElementsAttr::get(
      RankedTensorType::get(shape, IntegerType::get(ctx, 64)), values);
}

FailureOr<Value> importShape(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  ArrayRef<int64_t> in = shapeOf(x);
  int64_t rank = in.size();
  int64_t start = nc.attrInt("start", 0), end = nc.attrInt("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  SmallVector<int64_t> dims(in.begin() + start, in.begin() + end);
  return nc.constant(i64Tensor(nc.ctx(), {(int64_t)dims.size()}, dims));
}

FailureOr<Value> importSize(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  return nc.constant(i64Tensor(nc.ctx(), {}, {product(shapeOf(x))}));
}

FailureOr<Value> importConstantOfShape(NodeContext &nc) {
  TRY(shape, nc.constInts(0, "shape"));
  for (int64_t d : shape)
    if (d < 0)
      return nc.error() << "shape " << listToString(shape)
                        << " has a negative dimension";
  DenseElementsAttr value = DenseElementsAttr::get(
      RankedTensorType::get({1}, nc.builder().getF32Type()), 0.0f);
  if (const auto *a = nc.attr("value")) {
    TRY(v, nc.tensorAttr(a->t(), "value"));
    if (v.getNumElements() != 1)
      return nc.error() << "value must hold exactly one element";
    value = v;
  }
  auto type = RankedTensorType::get(shape, value.getElementType());
  return nc.constant(DenseElementsAttr::get(type, *value.getValues<Attribute>().begin()));
}

/// A 1-D constant of element type `et` holding `values` (a repeated field
/// of an attribute).
template <typename T, typename Range>
DenseElementsAttr listAttr(Type et, const Range &values) {
  SmallVector<T> v(values.begin(), values.end());
  return DenseElementsAttr::get(RankedTensorType::get({(int64_t)v.size()}, et), ArrayRef<T>(v));
}

FailureOr<Value> importConstant(NodeContext &nc) {
  const onnx::AttributeProto *a = nullptr;
  for (const auto &attr : nc.node.attribute())
    a = &attr;
  if (!a || nc.node.attribute_size() != 1)
    return nc.error() << "needs exactly one value attribute";
  MLIRContext *ctx = nc.ctx();
  Type f32 = Float32Type::get(ctx), i64 = IntegerType::get(ctx, 64);
  DenseElementsAttr value;
  if (a->name() == "value") {
    TRY(v, nc.tensorAttr(a->t(), nc.node.output(0)));
    value = v;
  } else if (a->name() == "value_float") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, f32), a->f());
  } else if (a->name() == "value_floats") {
    value = listAttr<float>(f32, a->floats());
  } else if (a->name() == "value_int") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, i64), a->i());
  } else if (a->name() == "value_ints") {
    value = listAttr<int64_t>(i64, a->ints());
  } else {
    return nc.error() << "attribute '" << a->name()
                      << "' is not supported (sparse and string constants)";
  }
  return nc.constant(value);
}

FailureOr<Value> importRange(NodeContext &nc) {
  TRY(start, nc.constFloats(0, "start"));
  TRY(limit, nc.constFloats(1, "limit"));
  TRY(delta, nc.constFloats(2, "delta"));
  if (start.size() != 1 || limit.size() != 1 || delta.size() != 1)
    return nc.error() << "start, limit and delta must be scalars";
  if (delta[0] == 0)
    return nc.error() << "delta is zero";
  int64_t n = std::max<int64_t>(
      0, (int64_t)std::ceil((limit[0] - start[0]) / delta[0]));
  constexpr int64_t kMaxRange = 1 << 24;
  if (n > kMaxRange)
    return nc.error() << "would produce " << n << " elements (at most "
                      << kMaxRange << " are folded into a constant)";
  Type et = elementTypeOf(nc.input(0));
  auto type = RankedTensorType::get({n}, et);
  SmallVector<Attribute> elems;
  for (int64_t i = 0; i < n; ++i) {
    double v = start[0] + i * delta[0];
    if (auto ft = dyn_cast<FloatType>(et))
      elems.push_back(FloatAttr::get(ft, v));
    else
      elems.push_back(IntegerAttr::get(et, (int64_t)v));
  }
  return nc.constant(DenseElementsAttr::get(type, elems));
}

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

/// Einsum on one or two operands without ellipses or repeated letters in one
/// operand, lowered to reduce + transpose + reshape + batched matmul.
FailureOr<Value> importEinsum(NodeContext &nc) {
  std::string eq = nc.attrString("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  if (eq.find("...") != std::string::npos)
    return nc.error() << "equation '" << eq
                      << "': ellipsis is not supported";
  StringRef eqRef(eq);
  auto [lhsPart, outPart] = eqRef.split("->");
  bool explicitOut = eqRef.contains("->");
  SmallVector<StringRef> terms;
  lhsPart.split(terms, ',');
  if (terms.size() != (size_t)nc.numInputs() || terms.empty() || terms.size() > 2)
    return nc.error() << "equation '" << eq
                      << "': only one or two operands are supported, matching "
                         "the inputs";
  std::string out;
  if (explicitOut) {
    out = outPart.str();
  } else {
    std::map<char, int> count;
    for (StringRef t : terms)
      for (char c : t)
        ++count[c];
    for (auto [c, n] : count)
      if (n == 1)
        out += c;
  }
  std::map<char, int64_t> sizes;
  SmallVector<Value> ops;
  for (auto [i, t] : llvm::enumerate(terms)) {
    Value v = nc.input(i);
    if (!v)
      return nc.error() << "missing input " << i;
    if (t.size() != shapeOf(v).size())
      return nc.error() << "equation term '" << t << "' does not match input "
                        << i << " of rank " << shapeOf(v).size();
    for (auto [d, c] : llvm::enumerate(t)) {
      if (!llvm::isAlpha(c))
        return nc.error() << "equation '" << eq << "' has invalid label '" << c
                          << "'";
      if (t.find(c) != d)
        return nc.error() << "equation '" << eq << "': repeated label '" << c
                          << "' within one operand is not supported";
      int64_t size = shapeOf(v)[d];
      auto [it, inserted] = sizes.insert({c, size});
      if (!inserted && it->second != size)
        return nc.error() << "label '" << c << "' has sizes " << it->second
                          << " and " << size;
    }
    ops.push_back(v);
  }
  for (char c : out)
    if (!sizes.count(c))
      return nc.error() << "output label '" << c << "' appears in no input";

  // Sum out labels that appear in one operand only and not in the output.
  SmallVector<std::string> labels;
  for (auto [i, t] : llvm::enumerate(terms)) {
    std::string keep;
    SmallVector<int64_t> axes;
    for (auto [d, c] : llvm::enumerate(t)) {
      bool elsewhere = out.find(c) != std::string::npos ||
                       (terms.size() == 2 && terms[1 - i].contains(c));
      if (elsewhere)
        keep += c;
      else
        axes.push_back(d);
    }
    if (!axes.empty()) {
      TRY(r, nc.reduce(ReduceKind::Sum, ops[i], axes, false));
      ops[i] = r;
    }
    labels.push_back(keep);
  }

  auto permuteTo = [&](Value v, StringRef from, StringRef to) -> FailureOr<Value> {
    SmallVector<int64_t> perm;
    for (char c : to)
      perm.push_back(from.find(c));
    return nc.transpose(v, perm);
  };
  auto sizeOf = [&](StringRef ls) {
    int64_t p = 1;
    for (char c : ls)
      p *= sizes[c];
    return p;
  };

  if (ops.size() == 1)
    return permuteTo(ops[0], labels[0], out);

  std::string batch, contract, freeA, freeB;
  for (char c : out) {
    bool inA = labels[0].find(c) != std::string::npos;
    bool inB = labels[1].find(c) != std::string::npos;
    if (inA && inB)
      batch += c;
  }
  for (char c : labels[0]) {
    bool inB = labels[1].find(c) != std::string::npos;
    bool inOut = out.find(c) != std::string::npos;
    if (inB && !inOut)
      contract += c;
    else if (!inB)
      freeA += c;
  }
  for (char c : labels[1])
    if (labels[0].find(c) == std::string::npos)
      freeB += c;

  TRY(a, permuteTo(ops[0], labels[0], batch + freeA + contract));
  TRY(b, permuteTo(ops[1], labels[1], batch + contract + freeB));
  TRY(a3, nc.reshape(a, {sizeOf(batch), sizeOf(freeA), sizeOf(contract)}));
  TRY(b3, nc.reshape(b, {sizeOf(batch), sizeOf(contract), sizeOf(freeB)}));
  TRY(mm, nc.create<MatMulOp>(nc.inferred(), a3, b3));
  std::string produced = batch + freeA + freeB;
  SmallVector<int64_t> producedShape;
  for (char c : produced)
    producedShape.push_back(sizes[c]);
  TRY(r, nc.reshape(mm, producedShape));
  return permuteTo(r, produced, out);
}

//===----------------------------------------------------------------------===//
// Ops of newer opsets, composed of kiln ops
//===----------------------------------------------------------------------===//


/// Gelu (opset 20): x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), or with
/// approximate="tanh" 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
FailureOr<Value> importGelu(NodeContext &nc) {
  using B = BinaryKind;
  TRY(x, floatInput(nc));
  Type et = elementTypeOf(x);
  auto c = [&](double v) { return nc.scalarConstant(et, v); };
  std::string approximate = nc.attrString("approximate", "none");
  Value phi2; // 2 * Phi(x) - 1
  if (approximate == "none") {
    TRY(scaled, nc.binary(B::Mul, x, c(M_SQRT1_2)));
    TRY(erf, nc.unary(UnaryKind::Erf, scaled));
    phi2 = erf;
  } else if (approximate == "tanh") {
    TRY(x2, nc.binary(B::Mul, x, x));
    TRY(x3, nc.binary(B::Mul, x2, x));
    TRY(cubic, nc.binary(B::Mul, x3, c(0.044715)));
    TRY(sum, nc.binary(B::Add, x, cubic));
    TRY(arg, nc.binary(B::Mul, sum, c(std::sqrt(2.0 / M_PI))));
    TRY(th, nc.unary(UnaryKind::Tanh, arg));
    phi2 = th;
  } else {
    return nc.error() << "approximate '" << approximate
                      << "' is not supported (none and tanh are)";
  }
  TRY(onePlus, nc.binary(B::Add, phi2, c(1.0)));
  TRY(half, nc.binary(B::Mul, x, c(0.5)));
  return nc.binary(B::Mul, half, onePlus);
}

/// IsNaN: x != x (an ordered comparison is false for NaN).
FailureOr<Value> importIsNaN(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(same, nc.binary(BinaryKind::Eq, x, x));
  return nc.unary(UnaryKind::Not, same);
}

/// IsInf: x == +inf and/or x == -inf (detect_positive, detect_negative).
FailureOr<Value> importIsInf(NodeContext &nc) {
  TRY(x, floatInput(nc));
  Type et = elementTypeOf(x);
  bool pos = nc.attrInt("detect_positive", 1) != 0;
  bool neg = nc.attrInt("detect_negative", 1) != 0;
  double inf = std::numeric_limits<double>::infinity();
  Value y;
  if (pos) {
    TRY(p, nc.binary(BinaryKind::Eq, x, nc.scalarConstant(et, inf)));
    y = p;
  }
  if (neg) {
    TRY(n, nc.binary(BinaryKind::Eq, x, nc.scalarConstant(et, -inf)));
    if (y) {
      TRY(both, nc.binary(BinaryKind::Or, y, n));
      y = both;
    } else {
      y = n;
    }
  }
  if (!y) {
    // Neither sign asked for: false everywhere (x < -inf never holds).
    TRY(none, nc.binary(BinaryKind::Lt, x, nc.scalarConstant(et, -inf)));
    y = none;
  }
  return y;
}

/// CastLike: Cast to the element type of the second input.
FailureOr<Value> importCastLike(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(like, nc.requiredInput(1));
  return nc.castTo(x, elementTypeOf(like));
}

/// PRelu: x < 0 ? x * slope : x, the slope broadcast to x.
FailureOr<Value> importPRelu(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(slope, nc.requiredInput(1));
  TRY(neg, nc.binary(BinaryKind::Lt, x, nc.scalarConstant(elementTypeOf(x), 0)));
  TRY(scaled, nc.binary(BinaryKind::Mul, x, slope));
  TRY(y, nc.create<SelectOp>(nc.inferred(), neg, scaled, x));
  if (shapeOf(y) != shapeOf(x))
    return nc.error() << "slope of shape " << shapeToString(shapeOf(slope))
                      << " does not broadcast to the input's " << shapeToString(shapeOf(x));
  return y;
}

/// Mish (18): x * tanh(softplus(x)).
FailureOr<Value> importMish(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(sp, nc.unary(UnaryKind::Softplus, x));
  TRY(th, nc.unary(UnaryKind::Tanh, sp));
  return nc.binary(BinaryKind::Mul, x, th);
}

/// Swish (24): x * sigmoid(alpha * x).
FailureOr<Value> importSwish(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(ax, nc.binary(BinaryKind::Mul, x,
                    nc.scalarConstant(elementTypeOf(x), nc.attrFloat("alpha", 1.0f))));
  TRY(sg, nc.unary(UnaryKind::Sigmoid, ax));
  return nc.binary(BinaryKind::Mul, x, sg);
}

/// Softsign: x / (1 + |x|).
FailureOr<Value> importSoftsign(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(a, nc.unary(UnaryKind::Abs, x));
  TRY(d, nc.binary(BinaryKind::Add, a, nc.scalarConstant(elementTypeOf(x), 1.0)));
  return nc.binary(BinaryKind::Div, x, d);
}

/// ThresholdedRelu: x > alpha ? x : 0.
FailureOr<Value> importThresholdedRelu(NodeContext &nc) {
  TRY(x, floatInput(nc));
  Type et = elementTypeOf(x);
  TRY(above, nc.binary(BinaryKind::Gt, x, nc.scalarConstant(et, nc.attrFloat("alpha", 1.0f))));
  return nc.create<SelectOp>(nc.inferred(), above, x, nc.scalarConstant(et, 0));
}

/// Shrink: x < -lambd ? x + bias : x > lambd ? x - bias : 0.
FailureOr<Value> importShrink(NodeContext &nc) {
  TRY(x, floatInput(nc));
  Type et = elementTypeOf(x);
  double lambd = nc.attrFloat("lambd", 0.5f), bias = nc.attrFloat("bias", 0.0f);
  TRY(low, nc.binary(BinaryKind::Lt, x, nc.scalarConstant(et, -lambd)));
  TRY(high, nc.binary(BinaryKind::Gt, x, nc.scalarConstant(et, lambd)));
  TRY(plus, nc.binary(BinaryKind::Add, x, nc.scalarConstant(et, bias)));
  TRY(minus, nc.binary(BinaryKind::Sub, x, nc.scalarConstant(et, bias)));
  TRY(upper, nc.create<SelectOp>(nc.inferred(), high, minus, nc.scalarConstant(et, 0)));
  return nc.create<SelectOp>(nc.inferred(), low, plus, upper);
}

/// Trilu: the upper (j - i >= k) or lower (j - i <= k) triangle of the
/// last two dims, zeros elsewhere; k must be a compile-time constant.
FailureOr<Value> importTrilu(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  ArrayRef<int64_t> shape = shapeOf(x);
  if (shape.size() < 2)
    return nc.error() << "input must have rank >= 2, got " << shapeToString(shape);
  TRY(k, optionalConstScalar<int64_t>(nc, 1, "k", 0));
  bool upper = nc.attrInt("upper", 1) != 0;
  int64_t rows = shape[shape.size() - 2], cols = shape.back();
  SmallVector<bool> keep;
  keep.reserve(rows * cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      keep.push_back(upper ? j - i >= k : j - i <= k);
  auto maskType = RankedTensorType::get({rows, cols}, IntegerType::get(nc.ctx(), 1));
  Value mask = nc.constant(DenseElementsAttr::get(maskType, ArrayRef<bool>(keep)));
  Value zero = elementTypeOf(x).isInteger(1)
                   ? nc.constant(DenseElementsAttr::get(
                         RankedTensorType::get({}, elementTypeOf(x)), false))
                   : nc.scalarConstant(elementTypeOf(x), 0);
  return nc.create<SelectOp>(nc.inferred(), mask, x, zero);
}

/// RMSNormalization (23): x / sqrt(mean(x^2 over axis..last) + epsilon) *
/// scale, computed in f32 (stash_type 1) for narrower inputs.
FailureOr<Value> importRMSNorm(NodeContext &nc) {
  using B = BinaryKind;
  TRY(x, floatInput(nc));
  TRY(scale, nc.requiredInput(1));
  int64_t rank = shapeOf(x).size();
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", -1), rank));
  if (nc.attrInt("stash_type", 1) != 1)
    return nc.error() << "stash_type " << nc.attrInt("stash_type", 1)
                      << " is not supported (1, float32, is)";
  Type et = elementTypeOf(x);
  Type f32 = Float32Type::get(nc.ctx());
  Value xs = x;
  if (et != f32) {
    TRY(wide, nc.castTo(x, f32));
    xs = wide;
  }
  SmallVector<int64_t> axes;
  for (int64_t d = axis; d < rank; ++d)
    axes.push_back(d);
  TRY(sq, nc.binary(B::Mul, xs, xs));
  TRY(ms, nc.reduce(ReduceKind::Mean, sq, axes, /*keepDims=*/true));
  TRY(eps, nc.binary(B::Add, ms, nc.scalarConstant(f32, nc.attrFloat("epsilon", 1e-5f))));
  TRY(rms, nc.unary(UnaryKind::Sqrt, eps));
  TRY(normed, nc.binary(B::Div, xs, rms));
  Value n = normed;
  if (et != f32) {
    TRY(narrow, nc.castTo(normed, et));
    n = narrow;
  }
  TRY(y, nc.binary(B::Mul, n, scale));
  if (shapeOf(y) != shapeOf(x))
    return nc.error() << "scale of shape " << shapeToString(shapeOf(scale))
                      << " does not broadcast to the input's " << shapeToString(shapeOf(x));
  return y;
}

} // namespace

//===----------------------------------------------------------------------===//
// Helpers shared with the other importer files (ImporterImpl.h)
//===----------------------------------------------------------------------===//

int64_t kiln::detail::product(ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(n, d, &n))
      return std::numeric_limits<int64_t>::max();
  return n;
}

std::string kiln::detail::listToString(ArrayRef<int64_t> v) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(v, os);
  os << "]";
  return s;
}

OpImporter kiln::detail::oneOutput(ValueImporter importValue) {
  return [importValue = std::move(importValue)](NodeContext &nc) -> LogicalResult {
    FailureOr<Value> y = importValue(nc);
    if (failed(y))
      return failure();
    nc.setOutput(0, *y);
    return success();
  };
}

FailureOr<Value> kiln::detail::floatInput(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  if (!isa<FloatType>(elementTypeOf(x)))
    return nc.error() << "input must be a floating-point tensor, got "
                      << elementTypeOf(x);
  return x;
}

FailureOr<Value> kiln::detail::wrapNegativeIndices(NodeContext &nc, Value indices,
                                                   Value sizes) {
  Type i64 = IntegerType::get(nc.ctx(), 64);
  Value idx = indices;
  if (elementTypeOf(idx) != i64) {
    TRY(wide, nc.castTo(idx, i64));
    idx = wide;
  }
  TRY(negative, nc.binary(BinaryKind::Lt, idx, nc.scalarConstant(i64, 0)));
  TRY(wrapped, nc.binary(BinaryKind::Add, idx, sizes));
  return nc.create<SelectOp>(nc.inferred(), negative, wrapped, idx);
}

FailureOr<Value> kiln::detail::linearIndices(NodeContext &nc, Value indices,
                                             ArrayRef<int64_t> dims) {
  using B = BinaryKind;
  int64_t k = dims.size();
  SmallVector<int64_t> strides(k, 1);
  for (int64_t i = k - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * dims[i + 1];
  Type i64 = IntegerType::get(nc.ctx(), 64);
  auto vec = [&](ArrayRef<int64_t> v) {
    return nc.constant(DenseElementsAttr::get(RankedTensorType::get({k}, i64), v));
  };
  TRY(fixed, wrapNegativeIndices(nc, indices, vec(dims)));
  TRY(scaled, nc.binary(B::Mul, fixed, vec(strides)));
  return nc.reduce(ReduceKind::Sum, scaled, {(int64_t)shapeOf(indices).size() - 1},
                   /*keepDims=*/false);
}

FailureOr<Value> kiln::detail::buildConv(NodeContext &nc, Value x, Value w, Value bias) {
  if (shapeOf(x).size() < 3 || shapeOf(w).size() != shapeOf(x).size())
    return nc.error() << "input " << shapeToString(shapeOf(x)) << " and weight "
                      << shapeToString(shapeOf(w))
                      << " must both have rank >= 3 and equal ranks";
  SmallVector<int64_t> kernel(shapeOf(w).drop_front(2));
  if (auto ks = nc.attrInts("kernel_shape"); ks && *ks != kernel)
    return nc.error() << "kernel_shape " << listToString(*ks)
                      << " disagrees with weight shape "
                      << shapeToString(shapeOf(w));
  TRY(win, readWindow(nc, shapeOf(x), kernel));
  return nc.create<ConvOp>(nc.inferred(), x, w, bias, win.strides, win.pads, win.dilations,
                           nc.attrInt("group", 1));
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

const llvm::StringMap<OpImporter> &kiln::detail::getOpImporters() {
  static const llvm::StringMap<OpImporter> table = [] {
    llvm::StringMap<OpImporter> t;
    using U = UnaryKind;
    using B = BinaryKind;
    std::pair<const char *, U> unaries[] = {
        {"Neg", U::Neg},         {"Abs", U::Abs},
        {"Sqrt", U::Sqrt},       {"Reciprocal", U::Reciprocal},
        {"Exp", U::Exp},         {"Log", U::Log},
        {"Erf", U::Erf},         {"Tanh", U::Tanh},
        {"Sigmoid", U::Sigmoid}, {"Relu", U::Relu},
        {"LeakyRelu", U::LeakyRelu}, {"Elu", U::Elu},
        {"Selu", U::Selu},       {"HardSigmoid", U::HardSigmoid},
        {"HardSwish", U::HardSwish}, {"Softplus", U::Softplus},
        {"Floor", U::Floor},     {"Ceil", U::Ceil},
        {"Round", U::Round},     {"Sin", U::Sin},
        {"Cos", U::Cos},         {"Not", U::Not},
        {"Sign", U::Sign},       {"Tan", U::Tan},
        {"Asin", U::Asin},       {"Acos", U::Acos},
        {"Atan", U::Atan},       {"Sinh", U::Sinh},
        {"Cosh", U::Cosh},       {"Asinh", U::Asinh},
        {"Acosh", U::Acosh},     {"Atanh", U::Atanh}};
    for (auto [name, kind] : unaries)
      t[name] = oneOutput(unaryOp(kind));
    std::pair<const char *, B> binaries[] = {
        {"Add", B::Add},   {"Sub", B::Sub},     {"Mul", B::Mul},
        {"Div", B::Div},   {"Pow", B::Pow},     {"Max", B::Max},
        {"Min", B::Min},   {"And", B::And},     {"Or", B::Or},
        {"Xor", B::Xor},   {"Equal", B::Eq},    {"Less", B::Lt},
        {"LessOrEqual", B::Le}, {"Greater", B::Gt},
        {"GreaterOrEqual", B::Ge}, {"Sum", B::Add}};
    for (auto [name, kind] : binaries)
      t[name] = oneOutput(binaryOp(kind));
    // Most ops have one output, which the importer returns.
    std::pair<const char *, ValueImporter> oneOutputOps[] = {
        {"BitwiseAnd", bitwiseOp(B::And)}, {"BitwiseOr", bitwiseOp(B::Or)},
        {"BitwiseXor", bitwiseOp(B::Xor)}, {"BitwiseNot", importBitwiseNot},
        {"Mean", importMean},
        {"Mod", importMod},
        {"BitShift", importBitShift},
        {"Identity", importIdentity},
        {"Cast", importCast},
        {"Where", importWhere},
        {"Clip", importClip},
        {"MatMul", importMatMul},
        {"Gemm", importGemm},
        {"Conv", importConv},
        {"ConvTranspose", importConvTranspose},
        {"BatchNormalization", importBatchNorm},
        {"InstanceNormalization", importInstanceNorm},
        {"Softmax", softmaxOp(false)},
        {"LogSoftmax", softmaxOp(true)},
        {"ReduceSum", reduceOp(ReduceKind::Sum, 13)},
        {"ReduceMean", reduceOp(ReduceKind::Mean, 18)},
        {"ReduceMax", reduceOp(ReduceKind::Max, 18)},
        {"ReduceMin", reduceOp(ReduceKind::Min, 18)},
        {"ReduceProd", reduceOp(ReduceKind::Prod, 18)},
        {"ReduceL1", reduceOp(ReduceKind::L1, 18)},
        {"ReduceL2", reduceOp(ReduceKind::L2, 18)},
        {"ReduceSumSquare", reduceOp(ReduceKind::SumSquare, 18)},
        {"ReduceLogSum", reduceOp(ReduceKind::LogSum, 18)},
        {"ReduceLogSumExp", reduceOp(ReduceKind::LogSumExp, 18)},
        {"Gelu", importGelu},
        {"GatherND", importGatherND},
        {"CastLike", importCastLike},
        {"PRelu", importPRelu},
        {"Mish", importMish},
        {"Swish", importSwish},
        {"Softsign", importSoftsign},
        {"ThresholdedRelu", importThresholdedRelu},
        {"Shrink", importShrink},
        {"Trilu", importTrilu},
        {"RMSNormalization", importRMSNorm},
        {"IsNaN", importIsNaN},
        {"IsInf", importIsInf},
        {"ArgMax", argReduceOp(ArgKind::Max)},
        {"ArgMin", argReduceOp(ArgKind::Min)},
        {"MaxPool", poolOp(PoolKind::Max)},
        {"AveragePool", poolOp(PoolKind::Avg)},
        {"GlobalAveragePool", globalPoolOp(ReduceKind::Mean)},
        {"GlobalMaxPool", globalPoolOp(ReduceKind::Max)},
        {"LpPool", importLpPool},
        {"GlobalLpPool", importGlobalLpPool},
        {"CumSum", importCumSum},
        {"Reshape", importReshape},
        {"Flatten", importFlatten},
        {"Squeeze", importSqueeze},
        {"Unsqueeze", importUnsqueeze},
        {"Transpose", importTranspose},
        {"Concat", importConcat},
        {"Slice", importSlice},
        {"Gather", importGather},
        {"GatherElements", importGatherElements},
        {"Expand", importExpand},
        {"Tile", importTile},
        {"Pad", importPad},
        {"Resize", importResize},
        {"Upsample", importUpsample},
        {"Shape", importShape},
        {"Size", importSize},
        {"ConstantOfShape", importConstantOfShape},
        {"Constant", importConstant},
        {"Range", importRange},
        {"Einsum", importEinsum}};
    for (auto &[name, importValue] : oneOutputOps)
      t[name] = oneOutput(std::move(importValue));
    // These set their outputs themselves: some have several.
    t["Dropout"] = importDropout;
    t["LayerNormalization"] = importLayerNorm;
    t["TopK"] = importTopK;
    t["Split"] = importSplit;
    addQuantizationImporters(t);
    addLayerImporters(t);
    addRecurrentImporters(t);
    addSignalImporters(t);
    addControlFlowImporters(t);
    return t;
  }();
  return table;
}

int64_t kiln::detail::oldestImplementedOpVersion(StringRef op) {
  // First versions whose form the importers do not read: Reshape's shape
  // attribute (before 5), Cast's string `to` (before 6), Tile's tiles and
  // axis inputs (before 6), Concat's optional axis (before 4), Split's
  // split input (before 2), Pad's `paddings` (before 2), PRelu's slope
  // without broadcasting (before 7).
  static const llvm::StringMap<int64_t> older = {{"Reshape", 5}, {"Cast", 6}, {"Tile", 6},
                                                 {"Concat", 4}, {"Split", 2}, {"Pad", 2},
                                                 {"PRelu", 7}, {"Upsample", 7},
                                                 {"Scan", 9}};
  auto it = older.find(op);
  return it == older.end() ? 1 : it->second;
}

int64_t kiln::detail::implementedOpVersion(StringRef op) {
  // Ops whose versions after opset 17 the importers implement: most of
  // these versions only add element types (bfloat16, float8, int4, int2,
  // float6, ...),
  // which the type conversion accepts or refuses on its own; the others
  // are implemented above (reductions' axes input and Split's num_outputs
  // in 18, Pad's axes input in 18, AveragePool's dilations in 19) or
  // checked (Pad's "wrap" mode in 19, Resize's attributes in 18 and 19,
  // Cast's saturate and round_mode, which only float8 targets use).
  static const llvm::StringMap<int64_t> newer = {
      {"AveragePool", 22}, {"BitwiseAnd", 18}, {"BitwiseNot", 18}, {"BitwiseOr", 18},
      {"BitwiseXor", 18}, {"Cast", 28}, {"Constant", 25}, {"ConstantOfShape", 25},
      {"Conv", 22}, {"ConvTranspose", 22}, {"Cos", 22}, {"Sin", 22}, {"Tan", 22}, {"Asin", 22},
      {"Acos", 22}, {"Atan", 22}, {"Sinh", 22}, {"Cosh", 22}, {"Asinh", 22}, {"Acosh", 22},
      {"Atanh", 22}, {"Dropout", 22},
      {"Einsum", 28}, {"Elu", 22}, {"Equal", 19}, {"Flatten", 25},
      {"GlobalAveragePool", 22}, {"GlobalMaxPool", 22}, {"HardSigmoid", 22},
      {"HardSwish", 22}, {"Identity", 25}, {"InstanceNormalization", 22}, {"MaxPool", 22},
      {"Pad", 25}, {"ReduceL1", 18}, {"ReduceL2", 18}, {"ReduceLogSum", 18},
      {"ReduceLogSumExp", 18}, {"ReduceMax", 20}, {"ReduceMean", 18}, {"ReduceMin", 20},
      {"ReduceProd", 18}, {"ReduceSumSquare", 18}, {"Reshape", 25}, {"Resize", 19},
      {"Round", 22}, {"Selu", 22}, {"Shape", 25}, {"Size", 25}, {"Softplus", 22},
      {"Split", 18}, {"Squeeze", 25}, {"Transpose", 25}, {"Unsqueeze", 25}, {"TopK", 24},
      {"Gelu", 20}, {"IsNaN", 20}, {"IsInf", 20}, {"CastLike", 25}, {"Mish", 22},
      {"Swish", 24}, {"Softsign", 22}, {"ThresholdedRelu", 22},
      {"RMSNormalization", 23},
      // OnnxQuantImporters.cpp: output_dtype and precision (23), the
      // float8e8m0 and int2 types of 24 and 25 are refused by type.
      {"QuantizeLinear", 25}, {"DequantizeLinear", 25}, {"QLinearMatMul", 21},
      // OnnxLayerImporters.cpp: GroupNormalization's per-channel scale
      // (21), Attention's nonpad_kv_seqlen (24); the rest add types.
      {"Attention", 24}, {"RotaryEmbedding", 23}, {"GroupNormalization", 21},
      {"EyeLike", 22}, {"LpNormalization", 22}, {"NegativeLogLikelihoodLoss", 22},
      {"ScatterElements", 18}, {"ScatterND", 18},
      // OnnxRecurrentImporters.cpp: 22 adds bfloat16.
      {"RNN", 22}, {"GRU", 22}, {"LSTM", 22},
      // LpPool's ceil_mode and dilations (18); 22 adds bfloat16.
      {"LpPool", 22}, {"GlobalLpPool", 22},
      // GridSample: N-d and the linear/cubic names in 20; 22 adds bfloat16.
      {"GridSample", 22}, {"AffineGrid", 20}, {"CenterCropPad", 18}, {"Col2Im", 18},
      {"DeformConv", 22},
      // Upsample's opset-10 form is its deprecation.
      {"Upsample", 9},
      // OnnxSignalImporters.cpp: DFT's axis input (20).
      {"DFT", 20},
      // OnnxControlFlowImporters.cpp: the versions after 16 add element
      // types (checked where the values are converted).
      {"If", 25}, {"Loop", 25}, {"Scan", 25}};
  auto it = newer.find(op);
  return it == newer.end() ? 17 : it->second;
}
