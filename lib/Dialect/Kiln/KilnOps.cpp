//===- KilnOps.cpp - kiln op verifiers, type inference, folders ----------===//
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/Dialect/Traits.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"

#include <cmath>

using namespace mlir;
using namespace kiln;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<int64_t>> kiln::broadcastShapes(ArrayRef<int64_t> a,
                                                      ArrayRef<int64_t> b) {
  SmallVector<int64_t> out;
  if (!OpTrait::util::getBroadcastedShape(a, b, out))
    return failure();
  return out;
}

bool kiln::isBroadcastableTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t off = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[i + off])
      return false;
  return true;
}

bool kiln::isComparison(BinaryKind kind) {
  return kind == BinaryKind::Eq || kind == BinaryKind::Lt ||
         kind == BinaryKind::Le || kind == BinaryKind::Gt ||
         kind == BinaryKind::Ge;
}

bool kiln::isLogical(BinaryKind kind) {
  return kind == BinaryKind::And || kind == BinaryKind::Or ||
         kind == BinaryKind::Xor;
}

std::optional<int64_t> kiln::getKernelId(Operation *op) {
  if (auto id = op->getAttrOfType<IntegerAttr>(kKernelIdAttr))
    return id.getInt();
  return std::nullopt;
}

std::optional<KernelKind> kiln::getKernelKind(Operation *op) {
  if (auto kind = op->getAttrOfType<KernelKindAttr>(kKernelKindAttr))
    return kind.getValue();
  return std::nullopt;
}

void kiln::setKernelTag(Operation *op, int64_t id, KernelKind kind) {
  Builder b(op->getContext());
  op->setAttr(kKernelIdAttr, b.getI64IntegerAttr(id));
  op->setAttr(kKernelKindAttr, KernelKindAttr::get(op->getContext(), kind));
}

void kiln::copyKernelTag(Operation *from, Operation *to) {
  for (StringRef name : {kKernelIdAttr, kKernelKindAttr})
    if (Attribute a = from->getAttr(name))
      to->setAttr(name, a);
}

std::string kiln::shapeToString(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, "x");
  return s;
}

namespace {
/// Collects a message and reports it at `loc` (if any) when converted to a
/// LogicalResult; type inference must stay silent when no location is given.
class InferDiag {
public:
  InferDiag(std::optional<Location> loc, StringRef opName)
      : loc(loc), os(msg) {
    os << "'" << opName << "' op ";
  }
  template <typename T> InferDiag &operator<<(const T &v) {
    os << v;
    return *this;
  }
  InferDiag &operator<<(ArrayRef<int64_t> shape) {
    os << shapeToString(shape);
    return *this;
  }
  operator LogicalResult() {
    if (loc)
      emitError(*loc) << msg;
    return failure();
  }

private:
  std::optional<Location> loc;
  std::string msg;
  llvm::raw_string_ostream os;
};

RankedTensorType rankedOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

int64_t numElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Output size of a sliding window (conv, pool) along one dimension.
int64_t windowOutputSize(int64_t in, int64_t padBegin, int64_t padEnd,
                         int64_t kernel, int64_t stride, int64_t dilation,
                         bool ceilMode) {
  int64_t span = in + padBegin + padEnd - ((kernel - 1) * dilation + 1);
  if (span < 0)
    return 0;
  int64_t q = ceilMode ? (span + stride - 1) / stride : span / stride;
  // With ceil_mode, a last window that would start in the end padding is
  // dropped (PyTorch's and ONNX Runtime's rule).
  if (ceilMode && q * stride >= in + padBegin)
    --q;
  return q + 1;
}
} // namespace

#define KILN_DIAG(NAME) InferDiag(location, NAME)

/// Checks the strides/pads/dilations arrays of a window op with `n` spatial
/// dimensions.
static LogicalResult checkWindow(std::optional<Location> location,
                                 StringRef name, size_t n,
                                 ArrayRef<int64_t> strides,
                                 ArrayRef<int64_t> pads,
                                 ArrayRef<int64_t> dilations) {
  if (strides.size() != n)
    return KILN_DIAG(name) << "expects " << n << " strides, got "
                           << strides.size();
  if (dilations.size() != n)
    return KILN_DIAG(name) << "expects " << n << " dilations, got "
                           << dilations.size();
  if (pads.size() != 2 * n)
    return KILN_DIAG(name) << "expects " << 2 * n
                           << " pads (begin then end per spatial dim), got "
                           << pads.size();
  for (size_t i = 0; i < n; ++i) {
    if (strides[i] < 1)
      return KILN_DIAG(name) << "stride " << i << " must be positive, got "
                             << strides[i];
    if (dilations[i] < 1)
      return KILN_DIAG(name) << "dilation " << i << " must be positive, got "
                             << dilations[i];
  }
  for (int64_t p : pads)
    if (p < 0)
      return KILN_DIAG(name) << "pads must be non-negative, got " << p;
  return success();
}

//===----------------------------------------------------------------------===//
// Constant folding helpers
//===----------------------------------------------------------------------===//

/// Largest constant the folders will materialize; bigger ones stay as ops.
static constexpr int64_t kMaxFoldElements = 4096;

static double applyUnary(UnaryKind kind, double x, double alpha, double beta) {
  switch (kind) {
  case UnaryKind::Neg: return -x;
  case UnaryKind::Abs: return std::fabs(x);
  case UnaryKind::Sqrt: return std::sqrt(x);
  case UnaryKind::Reciprocal: return 1.0 / x;
  case UnaryKind::Exp: return std::exp(x);
  case UnaryKind::Log: return std::log(x);
  case UnaryKind::Erf: return std::erf(x);
  case UnaryKind::Tanh: return std::tanh(x);
  case UnaryKind::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
  case UnaryKind::Relu: return x > 0 ? x : 0.0;
  case UnaryKind::LeakyRelu: return x >= 0 ? x : alpha * x;
  case UnaryKind::Elu: return x >= 0 ? x : alpha * (std::exp(x) - 1.0);
  case UnaryKind::Selu: return x > 0 ? beta * x : beta * alpha * (std::exp(x) - 1.0);
  case UnaryKind::HardSigmoid: return std::max(0.0, std::min(1.0, alpha * x + beta));
  case UnaryKind::HardSwish: return x * std::max(0.0, std::min(1.0, x / 6.0 + 0.5));
  case UnaryKind::Softplus: return std::log1p(std::exp(x));
  case UnaryKind::Floor: return std::floor(x);
  case UnaryKind::Ceil: return std::ceil(x);
  case UnaryKind::Round: return std::nearbyint(x);
  case UnaryKind::Sin: return std::sin(x);
  case UnaryKind::Cos: return std::cos(x);
  case UnaryKind::Tan: return std::tan(x);
  case UnaryKind::Asin: return std::asin(x);
  case UnaryKind::Acos: return std::acos(x);
  case UnaryKind::Atan: return std::atan(x);
  case UnaryKind::Sinh: return std::sinh(x);
  case UnaryKind::Cosh: return std::cosh(x);
  case UnaryKind::Asinh: return std::asinh(x);
  case UnaryKind::Acosh: return std::acosh(x);
  case UnaryKind::Atanh: return std::atanh(x);
  case UnaryKind::Not: return x == 0 ? 1.0 : 0.0;
  case UnaryKind::Sign: return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
  }
  llvm_unreachable("unknown unary kind");
}

static double applyBinary(BinaryKind kind, double a, double b) {
  switch (kind) {
  case BinaryKind::Add: return a + b;
  case BinaryKind::Sub: return a - b;
  case BinaryKind::Mul: return a * b;
  case BinaryKind::Div: return a / b;
  case BinaryKind::Pow: return std::pow(a, b);
  case BinaryKind::Max: return std::max(a, b);
  case BinaryKind::Min: return std::min(a, b);
  case BinaryKind::And: return (a != 0 && b != 0) ? 1 : 0;
  case BinaryKind::Or: return (a != 0 || b != 0) ? 1 : 0;
  case BinaryKind::Xor: return ((a != 0) != (b != 0)) ? 1 : 0;
  case BinaryKind::Eq: return a == b;
  case BinaryKind::Lt: return a < b;
  case BinaryKind::Le: return a <= b;
  case BinaryKind::Gt: return a > b;
  case BinaryKind::Ge: return a >= b;
  case BinaryKind::FMod: return std::fmod(a, b);
  case BinaryKind::Mod: {
    double r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
  }
  llvm_unreachable("unknown binary kind");
}

namespace {
/// The elements of a small dense constant: doubles for floats, exact 64-bit
/// integers (sign- or zero-extended) for integers and booleans.
struct FoldValues {
  bool isInt = false;
  bool isUnsigned = false;
  SmallVector<double> f;
  SmallVector<int64_t> i;
  size_t size() const { return isInt ? i.size() : f.size(); }
};
} // namespace

static std::optional<FoldValues> readDense(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kMaxFoldElements)
    return std::nullopt;
  FoldValues out;
  Type et = dense.getElementType();
  if (isa<FloatType>(et)) {
    for (APFloat v : dense.getValues<APFloat>()) {
      bool lost;
      v.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      out.f.push_back(v.convertToDouble());
    }
    return out;
  }
  auto it = dyn_cast<IntegerType>(et);
  if (!it || it.getWidth() > 64)
    return std::nullopt;
  out.isInt = true;
  out.isUnsigned = it.isUnsigned() || it.getWidth() == 1;
  for (APInt v : dense.getValues<APInt>())
    out.i.push_back(out.isUnsigned ? (int64_t)v.getZExtValue() : v.getSExtValue());
  return out;
}

/// Builds a dense constant of `type`; integers wrap to the type's width.
static DenseElementsAttr makeDense(RankedTensorType type, const FoldValues &v) {
  Type et = type.getElementType();
  if (auto ft = dyn_cast<FloatType>(et)) {
    SmallVector<APFloat> vals;
    for (double d : v.f) {
      APFloat f(d);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      vals.push_back(f);
    }
    return DenseElementsAttr::get(type, vals);
  }
  auto it = cast<IntegerType>(et);
  SmallVector<APInt> vals;
  for (int64_t x : v.i)
    vals.push_back(APInt(it.getWidth(), (uint64_t)x, /*isSigned=*/false,
                         /*implicitTrunc=*/true));
  return DenseElementsAttr::get(type, vals);
}

/// Integer binary arithmetic with two's-complement wrap-around; nullopt
/// where the result is undefined (division by zero) and must not fold.
static std::optional<int64_t> applyBinaryInt(BinaryKind kind, int64_t a,
                                             int64_t b, bool isUnsigned) {
  uint64_t ua = a, ub = b;
  switch (kind) {
  case BinaryKind::Add: return (int64_t)(ua + ub);
  case BinaryKind::Sub: return (int64_t)(ua - ub);
  case BinaryKind::Mul: return (int64_t)(ua * ub);
  case BinaryKind::Div:
    if (b == 0 || (!isUnsigned && a == INT64_MIN && b == -1))
      return std::nullopt;
    return isUnsigned ? (int64_t)(ua / ub) : a / b;
  case BinaryKind::Pow: {
    if (b < 0 && !isUnsigned)
      return std::nullopt;
    uint64_t r = 1;
    for (uint64_t e = ub; e; --e) {
      r *= ua;
      if (e > 64 && (ua == 0 || ua == 1))
        break;
    }
    return (int64_t)r;
  }
  case BinaryKind::Max: return isUnsigned ? (int64_t)std::max(ua, ub) : std::max(a, b);
  case BinaryKind::Min: return isUnsigned ? (int64_t)std::min(ua, ub) : std::min(a, b);
  // Bitwise; on i1 values (0 or 1, or -1 sign-extended) also the logical ops.
  case BinaryKind::And: return a & b;
  case BinaryKind::Or: return a | b;
  case BinaryKind::Xor: return a ^ b;
  case BinaryKind::Eq: return a == b;
  case BinaryKind::Lt: return isUnsigned ? ua < ub : a < b;
  case BinaryKind::Le: return isUnsigned ? ua <= ub : a <= b;
  case BinaryKind::Gt: return isUnsigned ? ua > ub : a > b;
  case BinaryKind::Ge: return isUnsigned ? ua >= ub : a >= b;
  case BinaryKind::Mod:
  case BinaryKind::FMod: {
    if (b == 0 || (!isUnsigned && a == INT64_MIN && b == -1))
      return std::nullopt;
    if (isUnsigned)
      return (int64_t)(ua % ub);
    int64_t r = a % b;
    if (kind == BinaryKind::Mod && r != 0 && ((r < 0) != (b < 0)))
      r += b;
    return r;
  }
  }
  llvm_unreachable("unknown binary kind");
}

/// Integer unary functions; nullopt for kinds that only apply to floats.
static std::optional<int64_t> applyUnaryInt(UnaryKind kind, int64_t x,
                                            bool isUnsigned) {
  switch (kind) {
  case UnaryKind::Neg: return (int64_t)(0 - (uint64_t)x);
  case UnaryKind::Abs: return isUnsigned || x >= 0 ? x : (int64_t)(0 - (uint64_t)x);
  case UnaryKind::Relu: return isUnsigned || x > 0 ? x : 0;
  case UnaryKind::Not: return x == 0 ? 1 : 0;
  case UnaryKind::Sign: return x > 0 ? 1 : (x < 0 && !isUnsigned ? -1 : 0);
  default: return std::nullopt;
  }
}

/// Index of `outIndex` (a flat index into `outShape`) into a tensor of
/// `inShape` that broadcasts to `outShape`.
static int64_t broadcastIndex(int64_t outIndex, ArrayRef<int64_t> outShape,
                              ArrayRef<int64_t> inShape) {
  int64_t idx = 0, stride = 1;
  size_t off = outShape.size() - inShape.size();
  for (int64_t d = outShape.size() - 1; d >= 0; --d) {
    int64_t coord = outIndex % outShape[d];
    outIndex /= outShape[d];
    if (d >= (int64_t)off) {
      int64_t inDim = inShape[d - off];
      if (inDim != 1)
        idx += coord * stride;
      stride *= inDim;
    }
  }
  return idx;
}

/// A constant of `type` whose element k is element `source(k)` of `in`:
/// the common core of the slice, transpose and broadcast folders.
static DenseElementsAttr gatherConstant(RankedTensorType type,
                                        const FoldValues &in,
                                        llvm::function_ref<int64_t(int64_t)> source) {
  FoldValues out;
  out.isInt = in.isInt;
  out.isUnsigned = in.isUnsigned;
  for (int64_t k = 0, e = type.getNumElements(); k < e; ++k) {
    int64_t src = source(k);
    if (in.isInt)
      out.i.push_back(in.i[src]);
    else
      out.f.push_back(in.f[src]);
  }
  return makeDense(type, out);
}

/// Row-major coordinates of flat index `k` in `shape`.
static SmallVector<int64_t> coordinates(int64_t k, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> c(shape.size());
  for (int64_t d = shape.size() - 1; d >= 0; --d) {
    c[d] = k % shape[d];
    k /= shape[d];
  }
  return c;
}

/// Flat row-major index of `coords` in `shape`.
static int64_t flatIndex(ArrayRef<int64_t> coords, ArrayRef<int64_t> shape) {
  int64_t k = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    k = k * shape[d] + coords[d];
  return k;
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  types.push_back(cast<TypedAttr>(adaptor.getValue()).getType());
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// UnaryOp
//===----------------------------------------------------------------------===//

LogicalResult UnaryOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getInput().getType());
  return success();
}

static bool isFloatOnly(UnaryKind kind) {
  return kind != UnaryKind::Neg && kind != UnaryKind::Abs &&
         kind != UnaryKind::Not && kind != UnaryKind::Sign &&
         kind != UnaryKind::Relu;
}

LogicalResult UnaryOp::verify() {
  Type et = getInput().getType().getElementType();
  UnaryKind kind = getKind();
  StringRef name = stringifyUnaryKind(kind);
  if (kind == UnaryKind::Not) {
    if (!et.isInteger(1))
      return emitOpError() << "'not' expects an i1 operand, got " << et;
  } else if (et.isInteger(1)) {
    return emitOpError() << "'" << name << "' does not apply to i1 operands";
  } else if (isFloatOnly(kind) && !isa<FloatType>(et)) {
    return emitOpError() << "'" << name
                         << "' expects a floating-point operand, got " << et;
  }
  bool needsAlpha = kind == UnaryKind::LeakyRelu || kind == UnaryKind::Elu ||
                    kind == UnaryKind::Selu || kind == UnaryKind::HardSigmoid;
  bool needsBeta = kind == UnaryKind::Selu || kind == UnaryKind::HardSigmoid;
  if (needsAlpha != getAlpha().has_value())
    return emitOpError() << "'" << name
                         << (needsAlpha ? "' requires" : "' does not take")
                         << " an 'alpha' attribute";
  if (needsBeta != getBeta().has_value())
    return emitOpError() << "'" << name
                         << (needsBeta ? "' requires" : "' does not take")
                         << " a 'beta' attribute";
  return success();
}

OpFoldResult UnaryOp::fold(FoldAdaptor adaptor) {
  auto in = readDense(adaptor.getInput());
  if (!in)
    return {};
  FoldValues out = *in;
  if (in->isInt) {
    for (int64_t &x : out.i) {
      auto r = applyUnaryInt(getKind(), x, in->isUnsigned);
      if (!r)
        return {};
      x = *r;
    }
    return makeDense(getType(), out);
  }
  double alpha = getAlpha() ? getAlpha()->convertToDouble() : 0.0;
  double beta = getBeta() ? getBeta()->convertToDouble() : 0.0;
  for (double &x : out.f)
    x = applyUnary(getKind(), x, alpha, beta);
  return makeDense(getType(), out);
}

//===----------------------------------------------------------------------===//
// BinaryOp
//===----------------------------------------------------------------------===//

LogicalResult BinaryOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  auto lhs = rankedOf(adaptor.getLhs()), rhs = rankedOf(adaptor.getRhs());
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (failed(shape))
    return KILN_DIAG("kiln.binary")
           << "operand shapes " << lhs.getShape() << " and " << rhs.getShape()
           << " are not broadcast-compatible";
  Type et = isComparison(adaptor.getKind()) ? IntegerType::get(ctx, 1)
                                            : lhs.getElementType();
  types.push_back(RankedTensorType::get(*shape, et));
  return success();
}

LogicalResult BinaryOp::verify() {
  Type lt = getLhs().getType().getElementType();
  Type rt = getRhs().getType().getElementType();
  if (lt != rt)
    return emitOpError() << "operand element types differ: " << lt << " vs "
                         << rt;
  BinaryKind kind = getKind();
  // and/or/xor: logical on i1, bitwise on wider integers (the same ops).
  if (isLogical(kind) && !isa<IntegerType>(lt))
    return emitOpError() << "'" << stringifyBinaryKind(kind)
                         << "' expects integer operands, got " << lt;
  if (!isLogical(kind) && kind != BinaryKind::Eq && lt.isInteger(1))
    return emitOpError() << "'" << stringifyBinaryKind(kind)
                         << "' does not apply to i1 operands";
  if (kind == BinaryKind::Mod && isa<FloatType>(lt))
    return emitOpError() << "'mod' expects integer operands (use 'fmod' for floats)";
  return success();
}

OpFoldResult BinaryOp::fold(FoldAdaptor adaptor) {
  RankedTensorType type = getType();
  // Identities with a splat constant rhs: x + 0, x - 0, x * 1, x / 1. For
  // floats only x + (-0.0) and x - (+0.0) are exact (x = -0.0 otherwise
  // changes sign).
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getRhs());
      splat && getLhs().getType() == type) {
    auto v = readDense(splat);
    if (v && v->size() > 0) {
      BinaryKind k = getKind();
      bool isOne = v->isInt ? v->i[0] == 1 : v->f[0] == 1.0;
      bool isZero = v->isInt ? v->i[0] == 0 : v->f[0] == 0.0;
      bool negZero = !v->isInt && isZero && std::signbit(v->f[0]);
      bool zeroIdentity = v->isInt ? isZero
                                   : (k == BinaryKind::Add ? negZero : isZero && !negZero);
      if (((k == BinaryKind::Add || k == BinaryKind::Sub) && zeroIdentity) ||
          ((k == BinaryKind::Mul || k == BinaryKind::Div) && isOne))
        return getLhs();
    }
  }
  auto lhs = readDense(adaptor.getLhs());
  auto rhs = readDense(adaptor.getRhs());
  if (!lhs || !rhs || type.getNumElements() > kMaxFoldElements)
    return {};
  ArrayRef<int64_t> ls = getLhs().getType().getShape();
  ArrayRef<int64_t> rs = getRhs().getType().getShape();
  FoldValues out;
  out.isInt = isa<IntegerType>(type.getElementType());
  for (int64_t i = 0, e = type.getNumElements(); i < e; ++i) {
    int64_t li = broadcastIndex(i, type.getShape(), ls);
    int64_t ri = broadcastIndex(i, type.getShape(), rs);
    if (lhs->isInt) {
      auto r = applyBinaryInt(getKind(), lhs->i[li], rhs->i[ri], lhs->isUnsigned);
      if (!r)
        return {};
      out.i.push_back(*r);
    } else {
      double r = applyBinary(getKind(), lhs->f[li], rhs->f[ri]);
      if (out.isInt)
        out.i.push_back(r != 0);
      else
        out.f.push_back(r);
    }
  }
  return makeDense(type, out);
}

//===----------------------------------------------------------------------===//
// SelectOp
//===----------------------------------------------------------------------===//

LogicalResult SelectOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  auto c = rankedOf(adaptor.getCondition());
  auto t = rankedOf(adaptor.getTrueValue());
  auto f = rankedOf(adaptor.getFalseValue());
  auto s1 = broadcastShapes(c.getShape(), t.getShape());
  if (failed(s1))
    return KILN_DIAG("kiln.select")
           << "condition shape " << c.getShape() << " and true-value shape "
           << t.getShape() << " are not broadcast-compatible";
  auto s2 = broadcastShapes(*s1, f.getShape());
  if (failed(s2))
    return KILN_DIAG("kiln.select")
           << "false-value shape " << f.getShape()
           << " does not broadcast with " << ArrayRef<int64_t>(*s1);
  types.push_back(RankedTensorType::get(*s2, t.getElementType()));
  return success();
}

LogicalResult SelectOp::verify() {
  Type t = getTrueValue().getType().getElementType();
  Type f = getFalseValue().getType().getElementType();
  if (t != f)
    return emitOpError() << "true and false values have different element "
                            "types: "
                         << t << " vs " << f;
  return success();
}

OpFoldResult SelectOp::fold(FoldAdaptor adaptor) {
  auto c = readDense(adaptor.getCondition());
  auto t = readDense(adaptor.getTrueValue());
  auto f = readDense(adaptor.getFalseValue());
  if (c && t && f && getType().getNumElements() <= kMaxFoldElements) {
    ArrayRef<int64_t> out = getType().getShape();
    FoldValues r;
    r.isInt = t->isInt;
    r.isUnsigned = t->isUnsigned;
    for (int64_t k = 0, e = getType().getNumElements(); k < e; ++k) {
      bool pick = c->i[broadcastIndex(k, out, getCondition().getType().getShape())];
      const FoldValues &src = pick ? *t : *f;
      int64_t idx = broadcastIndex(
          k, out, (pick ? getTrueValue() : getFalseValue()).getType().getShape());
      if (r.isInt)
        r.i.push_back(src.i[idx]);
      else
        r.f.push_back(src.f[idx]);
    }
    return makeDense(getType(), r);
  }
  auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getCondition());
  if (!splat)
    return {};
  Value chosen =
      splat.getSplatValue<bool>() ? getTrueValue() : getFalseValue();
  if (chosen.getType() != getType())
    return {};
  return chosen;
}

//===----------------------------------------------------------------------===//
// CastOp
//===----------------------------------------------------------------------===//

LogicalResult CastOp::verify() {
  if (getInput().getType().getShape() != getType().getShape())
    return emitOpError() << "result shape " << shapeToString(getType().getShape())
                         << " differs from input shape "
                         << shapeToString(getInput().getType().getShape());
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto in = readDense(adaptor.getInput());
  if (!in)
    return {};
  Type et = getType().getElementType();
  FoldValues out;
  out.isInt = isa<IntegerType>(et);
  if (!out.isInt && !isa<FloatType>(et))
    return {};
  for (size_t k = 0; k < in->size(); ++k) {
    if (in->isInt) {
      int64_t v = in->i[k];
      if (et.isInteger(1))
        out.i.push_back(v != 0);
      else if (out.isInt)
        out.i.push_back(v); // makeDense truncates to the target width
      else
        out.f.push_back(in->isUnsigned ? (double)(uint64_t)v : (double)v);
      continue;
    }
    double v = in->f[k];
    if (et.isInteger(1)) {
      out.i.push_back(v != 0);
    } else if (out.isInt) {
      // Out-of-range float to integer conversion is undefined: keep the op.
      if (!std::isfinite(v) || std::fabs(v) >= 9.2e18)
        return {};
      out.i.push_back((int64_t)std::trunc(v));
    } else {
      out.f.push_back(v);
    }
  }
  return makeDense(getType(), out);
}

//===----------------------------------------------------------------------===//
// MatMulOp
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  auto lt = rankedOf(adaptor.getLhs()), rt = rankedOf(adaptor.getRhs());
  if (lt.getRank() < 1 || rt.getRank() < 1)
    return KILN_DIAG("kiln.matmul") << "operands must have rank >= 1, got "
                                    << lt.getRank() << " and " << rt.getRank();
  SmallVector<int64_t> l(lt.getShape()), r(rt.getShape());
  bool lVec = l.size() == 1, rVec = r.size() == 1;
  if (lVec)
    l.insert(l.begin(), 1);
  if (rVec)
    r.push_back(1);
  int64_t k1 = l.back(), k2 = r[r.size() - 2];
  if (k1 != k2)
    return KILN_DIAG("kiln.matmul")
           << "contraction sizes differ: lhs " << lt.getShape() << " has "
           << k1 << ", rhs " << rt.getShape() << " has " << k2;
  auto batch = broadcastShapes(ArrayRef<int64_t>(l).drop_back(2),
                               ArrayRef<int64_t>(r).drop_back(2));
  if (failed(batch))
    return KILN_DIAG("kiln.matmul")
           << "batch dimensions of " << lt.getShape() << " and "
           << rt.getShape() << " are not broadcast-compatible";
  SmallVector<int64_t> out(*batch);
  if (!lVec)
    out.push_back(l[l.size() - 2]);
  if (!rVec)
    out.push_back(r.back());
  types.push_back(RankedTensorType::get(out, lt.getElementType()));
  return success();
}

LogicalResult MatMulOp::verify() {
  if (getLhs().getType().getElementType() != getRhs().getType().getElementType())
    return emitOpError() << "operand element types differ: "
                         << getLhs().getType().getElementType() << " vs "
                         << getRhs().getType().getElementType();
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  auto qt = getQuery().getType(), kt = getKey().getType(), vt = getValue().getType();
  auto rt = getResult().getType();
  Type et = qt.getElementType();
  if (kt.getElementType() != et || vt.getElementType() != et || rt.getElementType() != et)
    return emitOpError() << "query, key, value and result must have one element type, got "
                         << et << ", " << kt.getElementType() << ", " << vt.getElementType()
                         << ", " << rt.getElementType();
  if (qt.getRank() != 4 || kt.getRank() != 4 || vt.getRank() != 4 || rt.getRank() != 4)
    return emitOpError() << "query, key, value and result must be 4-D [batch, heads, "
                            "sequence, head size]";
  auto same = [](int64_t a, int64_t b) {
    return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
  };
  ArrayRef<int64_t> q = qt.getShape(), k = kt.getShape(), v = vt.getShape(), r = rt.getShape();
  if (!same(k[0], q[0]) || !same(v[0], q[0]) || !same(v[1], k[1]) || !same(v[2], k[2]) ||
      !same(k[3], q[3]))
    return emitOpError() << "key " << kt << " and value " << vt << " do not match query "
                         << qt << " as [batch, heads, sequence, head size]";
  if (!ShapedType::isDynamic(q[1]) && !ShapedType::isDynamic(k[1]) &&
      (k[1] <= 0 || q[1] % k[1] != 0))
    return emitOpError() << q[1] << " query heads are not a multiple of " << k[1]
                         << " key/value heads";
  if (!same(r[0], q[0]) || !same(r[1], q[1]) || !same(r[2], q[2]) || !same(r[3], v[3]))
    return emitOpError() << "result " << rt << " must be [batch, query heads, query length, "
                            "value head size]";
  if (Value mask = getMask()) {
    auto mt = cast<RankedTensorType>(mask.getType());
    if (mt.getElementType() != et)
      return emitOpError() << "mask element type " << mt.getElementType()
                           << " differs from the query's " << et;
    int64_t scores[4] = {q[0], q[1], q[2], k[2]};
    if (mt.getRank() > 4)
      return emitOpError() << "mask " << mt << " has more than 4 dimensions";
    for (int64_t i = 0; i < mt.getRank(); ++i) {
      int64_t d = mt.getDimSize(mt.getRank() - 1 - i), s = scores[3 - i];
      if (d != 1 && !same(d, s))
        return emitOpError() << "mask " << mt << " does not broadcast to the scores [" << q[0]
                             << ", " << q[1] << ", " << q[2] << ", " << k[2] << "]";
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ConvOp / ConvTransposeOp
//===----------------------------------------------------------------------===//

static LogicalResult checkBias(std::optional<Location> location, StringRef name,
                               Value bias, int64_t channels) {
  if (!bias)
    return success();
  auto bt = rankedOf(bias);
  if (bt.getRank() != 1 || bt.getDimSize(0) != channels)
    return KILN_DIAG(name) << "bias must be 1-D of size " << channels
                           << " (output channels), got " << bt.getShape();
  return success();
}

/// The checks conv and conv_transpose share: input and weight ranks and
/// the window attributes of their spatial dimensions.
template <typename Adaptor>
static LogicalResult checkConvOperands(std::optional<Location> location,
                                       StringRef name, Adaptor adaptor) {
  auto it = rankedOf(adaptor.getInput()), wt = rankedOf(adaptor.getWeight());
  if (it.getRank() < 3)
    return KILN_DIAG(name) << "input must have rank >= 3 (N, C, spatial...), got "
                           << it.getShape();
  if (wt.getRank() != it.getRank())
    return KILN_DIAG(name) << "weight rank " << wt.getRank()
                           << " differs from input rank " << it.getRank();
  return checkWindow(location, name, it.getRank() - 2, adaptor.getStrides(),
                     adaptor.getPads(), adaptor.getDilations());
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> location,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  StringRef name = "kiln.conv";
  if (failed(checkConvOperands(location, name, adaptor)))
    return failure();
  auto it = rankedOf(adaptor.getInput()), wt = rankedOf(adaptor.getWeight());
  size_t n = it.getRank() - 2;
  int64_t group = adaptor.getGroup();
  int64_t c = it.getDimSize(1), m = wt.getDimSize(0);
  if (group < 1 || c % group != 0 || m % group != 0)
    return KILN_DIAG(name) << "group " << group
                           << " must divide input channels " << c
                           << " and output channels " << m;
  if (wt.getDimSize(1) * group != c)
    return KILN_DIAG(name) << "weight " << wt.getShape() << " expects "
                           << wt.getDimSize(1) * group
                           << " input channels, input " << it.getShape()
                           << " has " << c;
  if (failed(checkBias(location, name, adaptor.getBias(), m)))
    return failure();
  for (size_t i = 0; i < n; ++i)
    if (wt.getDimSize(2 + i) < 1)
      return KILN_DIAG(name) << "kernel size along spatial dim " << i
                             << " must be positive, weight is " << wt.getShape();
  SmallVector<int64_t> out{it.getDimSize(0), m};
  for (size_t i = 0; i < n; ++i) {
    int64_t o = windowOutputSize(it.getDimSize(2 + i), adaptor.getPads()[i],
                                 adaptor.getPads()[n + i], wt.getDimSize(2 + i),
                                 adaptor.getStrides()[i],
                                 adaptor.getDilations()[i], false);
    if (o < 1)
      return KILN_DIAG(name) << "kernel " << wt.getShape()
                             << " does not fit padded input " << it.getShape()
                             << " along spatial dim " << i;
    out.push_back(o);
  }
  types.push_back(RankedTensorType::get(out, it.getElementType()));
  return success();
}

/// Checks that every given operand has the element type of `first`.
static LogicalResult checkSameElementType(Operation *op, Value first,
                                          ArrayRef<std::pair<Value, StringRef>> others) {
  Type et = cast<RankedTensorType>(first.getType()).getElementType();
  for (auto [v, what] : others)
    if (v && cast<RankedTensorType>(v.getType()).getElementType() != et)
      return op->emitOpError()
             << what << " element type "
             << cast<RankedTensorType>(v.getType()).getElementType()
             << " differs from the input's " << et;
  return success();
}

LogicalResult ConvOp::verify() {
  return checkSameElementType(*this, getInput(),
                              {{getWeight(), "weight"}, {getBias(), "bias"}});
}

LogicalResult ConvTransposeOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  StringRef name = "kiln.conv_transpose";
  if (failed(checkConvOperands(location, name, adaptor)))
    return failure();
  auto it = rankedOf(adaptor.getInput()), wt = rankedOf(adaptor.getWeight());
  size_t n = it.getRank() - 2;
  ArrayRef<int64_t> outPad = adaptor.getOutputPadding();
  if (outPad.size() != n)
    return KILN_DIAG(name) << "expects " << n << " output_padding values, got "
                           << outPad.size();
  for (size_t i = 0; i < n; ++i)
    if (outPad[i] < 0 ||
        outPad[i] >= std::max(adaptor.getStrides()[i], adaptor.getDilations()[i]))
      return KILN_DIAG(name) << "output_padding " << outPad[i]
                             << " along spatial dim " << i
                             << " must be in [0, max(stride, dilation))";
  int64_t group = adaptor.getGroup();
  int64_t c = it.getDimSize(1);
  if (group < 1 || c % group != 0)
    return KILN_DIAG(name) << "group " << group
                           << " must divide input channels " << c;
  if (wt.getDimSize(0) != c)
    return KILN_DIAG(name) << "weight " << wt.getShape()
                           << " must have input channels " << c
                           << " as its first dimension";
  int64_t m = wt.getDimSize(1) * group;
  if (failed(checkBias(location, name, adaptor.getBias(), m)))
    return failure();
  SmallVector<int64_t> out{it.getDimSize(0), m};
  for (size_t i = 0; i < n; ++i) {
    int64_t o = adaptor.getStrides()[i] * (it.getDimSize(2 + i) - 1) +
                outPad[i] + (wt.getDimSize(2 + i) - 1) * adaptor.getDilations()[i] +
                1 - adaptor.getPads()[i] - adaptor.getPads()[n + i];
    if (o < 1)
      return KILN_DIAG(name) << "output size along spatial dim " << i
                             << " would be " << o;
    out.push_back(o);
  }
  types.push_back(RankedTensorType::get(out, it.getElementType()));
  return success();
}

LogicalResult ConvTransposeOp::verify() {
  return checkSameElementType(*this, getInput(),
                              {{getWeight(), "weight"}, {getBias(), "bias"}});
}

//===----------------------------------------------------------------------===//
// Normalizations and softmax
//===----------------------------------------------------------------------===//

static LogicalResult checkChannelParam(Operation *op, Value param,
                                       StringRef what, int64_t channels) {
  auto t = cast<RankedTensorType>(param.getType());
  if (t.getRank() != 1 || t.getDimSize(0) != channels)
    return op->emitOpError() << what << " must be 1-D of size " << channels
                             << " (channels), got " << shapeToString(t.getShape());
  return success();
}

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult BatchNormOp::verify() {
  auto t = getInput().getType();
  if (t.getRank() < 2)
    return emitOpError() << "input must have rank >= 2 (N, C, ...), got "
                         << shapeToString(t.getShape());
  int64_t c = t.getDimSize(1);
  if (failed(checkSameElementType(*this, getInput(),
                                  {{getScale(), "scale"}, {getBias(), "bias"},
                                   {getMean(), "mean"}, {getVariance(), "variance"}})))
    return failure();
  if (failed(checkChannelParam(*this, getScale(), "scale", c)) ||
      failed(checkChannelParam(*this, getBias(), "bias", c)) ||
      failed(checkChannelParam(*this, getMean(), "mean", c)) ||
      failed(checkChannelParam(*this, getVariance(), "variance", c)))
    return failure();
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult LayerNormOp::verify() {
  auto t = getInput().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= t.getRank())
    return emitOpError() << "axis " << axis << " out of range for rank "
                         << t.getRank();
  if (failed(checkSameElementType(*this, getInput(),
                                  {{getScale(), "scale"}, {getBias(), "bias"}})))
    return failure();
  ArrayRef<int64_t> normShape = t.getShape().drop_front(axis);
  for (Value p : {getScale(), getBias()}) {
    if (!p)
      continue;
    auto pt = cast<RankedTensorType>(p.getType());
    if (!isBroadcastableTo(pt.getShape(), normShape))
      return emitOpError() << (p == getScale() ? "scale" : "bias") << " shape "
                           << shapeToString(pt.getShape())
                           << " does not broadcast to normalized shape "
                           << shapeToString(normShape);
  }
  return success();
}

LogicalResult InstanceNormOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location>,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult InstanceNormOp::verify() {
  auto t = getInput().getType();
  if (t.getRank() < 3)
    return emitOpError() << "input must have rank >= 3 (N, C, spatial...), got "
                         << shapeToString(t.getShape());
  int64_t c = t.getDimSize(1);
  if (failed(checkSameElementType(*this, getInput(),
                                  {{getScale(), "scale"}, {getBias(), "bias"}})))
    return failure();
  if (failed(checkChannelParam(*this, getScale(), "scale", c)) ||
      failed(checkChannelParam(*this, getBias(), "bias", c)))
    return failure();
  return success();
}

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getInput().getType());
  return success();
}

static LogicalResult checkAxis(Operation *op, int64_t axis, int64_t rank) {
  if (axis < 0 || axis >= rank)
    return op->emitOpError() << "axis " << axis << " out of range [0, " << rank
                             << ")";
  return success();
}

LogicalResult SoftmaxOp::verify() {
  return checkAxis(*this, getAxis(), getInput().getType().getRank());
}

//===----------------------------------------------------------------------===//
// Reductions, pooling, topk, cumsum
//===----------------------------------------------------------------------===//

LogicalResult ReduceOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  auto t = rankedOf(adaptor.getInput());
  ArrayRef<int64_t> axes = adaptor.getAxes();
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= t.getRank())
      return KILN_DIAG("kiln.reduce") << "axis " << axes[i]
                                      << " out of range [0, " << t.getRank()
                                      << ")";
    if (i > 0 && axes[i] <= axes[i - 1])
      return KILN_DIAG("kiln.reduce")
             << "axes must be sorted and unique, got [" << [&] {
                  std::string s;
                  llvm::raw_string_ostream os(s);
                  llvm::interleaveComma(axes, os);
                  return s;
                }() << "]";
  }
  SmallVector<int64_t> out;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    bool reduced = llvm::is_contained(axes, d);
    if (!reduced)
      out.push_back(t.getDimSize(d));
    else if (adaptor.getKeepDims())
      out.push_back(1);
  }
  types.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

LogicalResult ReduceOp::verify() { return success(); }

OpFoldResult ReduceOp::fold(FoldAdaptor adaptor) {
  ReduceKind k = getKind();
  bool identityOnEmpty = k == ReduceKind::Sum || k == ReduceKind::Mean ||
                         k == ReduceKind::Max || k == ReduceKind::Min ||
                         k == ReduceKind::Prod;
  if (identityOnEmpty && getAxes().empty() && getInput().getType() == getType())
    return getInput();
  // Integer shape arithmetic (ReduceProd/Sum/Max/Min of a shape vector).
  auto in = readDense(adaptor.getInput());
  bool exactKind = k == ReduceKind::Sum || k == ReduceKind::Prod ||
                   k == ReduceKind::Max || k == ReduceKind::Min;
  if (!in || !in->isInt || !exactKind || in->size() == 0)
    return {};
  ArrayRef<int64_t> shape = getInput().getType().getShape();
  ArrayRef<int64_t> axes = getAxes();
  SmallVector<int64_t> kept = llvm::to_vector(shape);
  for (int64_t a : axes)
    kept[a] = 1;
  FoldValues out;
  out.isInt = true;
  int64_t n = 1;
  for (int64_t d : kept)
    n *= d;
  out.i.assign(n, k == ReduceKind::Prod ? 1 : 0);
  SmallVector<bool> seen(n, false);
  BinaryKind combine = k == ReduceKind::Sum    ? BinaryKind::Add
                       : k == ReduceKind::Prod ? BinaryKind::Mul
                       : k == ReduceKind::Max  ? BinaryKind::Max
                                               : BinaryKind::Min;
  for (int64_t e = 0; e < (int64_t)in->size(); ++e) {
    SmallVector<int64_t> c = coordinates(e, shape);
    for (int64_t a : axes)
      c[a] = 0;
    int64_t o = flatIndex(c, kept);
    if (!seen[o] && (k == ReduceKind::Max || k == ReduceKind::Min)) {
      out.i[o] = in->i[e];
    } else {
      auto r = applyBinaryInt(combine, out.i[o], in->i[e], in->isUnsigned);
      if (!r)
        return {};
      out.i[o] = *r;
    }
    seen[o] = true;
  }
  return makeDense(getType(), out);
}

LogicalResult ArgReduceOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> location,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  auto t = rankedOf(adaptor.getInput());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= t.getRank())
    return KILN_DIAG("kiln.arg_reduce") << "axis " << axis
                                        << " out of range [0, " << t.getRank()
                                        << ")";
  SmallVector<int64_t> out(t.getShape());
  if (adaptor.getKeepDims())
    out[axis] = 1;
  else
    out.erase(out.begin() + axis);
  types.push_back(RankedTensorType::get(out, IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult ArgReduceOp::verify() {
  if (getInput().getType().getDimSize(getAxis()) == 0)
    return emitOpError() << "cannot take arg of an empty axis";
  return success();
}

LogicalResult PoolOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> location,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  StringRef name = "kiln.pool";
  auto t = rankedOf(adaptor.getInput());
  if (t.getRank() < 3)
    return KILN_DIAG(name) << "input must have rank >= 3 (N, C, spatial...), got "
                           << t.getShape();
  size_t n = t.getRank() - 2;
  ArrayRef<int64_t> k = adaptor.getKernelShape();
  if (k.size() != n)
    return KILN_DIAG(name) << "expects " << n << " kernel sizes, got "
                           << k.size();
  if (failed(checkWindow(location, name, n, adaptor.getStrides(),
                         adaptor.getPads(), adaptor.getDilations())))
    return failure();
  SmallVector<int64_t> out{t.getDimSize(0), t.getDimSize(1)};
  for (size_t i = 0; i < n; ++i) {
    if (k[i] < 1)
      return KILN_DIAG(name) << "kernel size " << i << " must be positive";
    if (adaptor.getPads()[i] >= (k[i] - 1) * adaptor.getDilations()[i] + 1 ||
        adaptor.getPads()[n + i] >= (k[i] - 1) * adaptor.getDilations()[i] + 1)
      return KILN_DIAG(name) << "padding along spatial dim " << i
                             << " must be smaller than the kernel window";
    int64_t o = windowOutputSize(t.getDimSize(2 + i), adaptor.getPads()[i],
                                 adaptor.getPads()[n + i], k[i],
                                 adaptor.getStrides()[i],
                                 adaptor.getDilations()[i], adaptor.getCeilMode());
    if (o < 1)
      return KILN_DIAG(name) << "window does not fit padded input "
                             << t.getShape() << " along spatial dim " << i;
    out.push_back(o);
  }
  types.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

LogicalResult PoolOp::verify() {
  Type et = getInput().getType().getElementType();
  if (getKind() == PoolKind::Avg && !isa<FloatType>(et))
    return emitOpError() << "average pooling expects floating-point input, got "
                         << et;
  return success();
}

LogicalResult TopKOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location> location,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  auto t = rankedOf(adaptor.getInput());
  int64_t axis = adaptor.getAxis(), k = adaptor.getK();
  if (axis < 0 || axis >= t.getRank())
    return KILN_DIAG("kiln.topk") << "axis " << axis << " out of range [0, "
                                  << t.getRank() << ")";
  if (k < 0 || k > t.getDimSize(axis))
    return KILN_DIAG("kiln.topk") << "k = " << k << " must be in [0, "
                                  << t.getDimSize(axis) << "] (axis size)";
  SmallVector<int64_t> out(t.getShape());
  out[axis] = k;
  types.push_back(RankedTensorType::get(out, t.getElementType()));
  types.push_back(RankedTensorType::get(out, IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult TopKOp::verify() { return success(); }

LogicalResult CumSumOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult CumSumOp::verify() {
  return checkAxis(*this, getAxis(), getInput().getType().getRank());
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError() << "element type changes from " << in.getElementType()
                         << " to " << out.getElementType();
  if (in.getNumElements() != out.getNumElements())
    return emitOpError() << "cannot reshape " << shapeToString(in.getShape())
                         << " (" << in.getNumElements() << " elements) to "
                         << shapeToString(out.getShape()) << " ("
                         << out.getNumElements() << " elements)";
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    return dense.reshape(getType());
  if (auto producer = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(producer.getInput());
    return getResult();
  }
  return {};
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> location,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  auto t = rankedOf(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if ((int64_t)perm.size() != t.getRank())
    return KILN_DIAG("kiln.transpose")
           << "permutation has " << perm.size() << " entries, input rank is "
           << t.getRank();
  llvm::SmallBitVector seen(perm.size());
  SmallVector<int64_t> out;
  for (int64_t p : perm) {
    if (p < 0 || p >= t.getRank() || seen.test(p))
      return KILN_DIAG("kiln.transpose")
             << "permutation is not a permutation of [0, " << t.getRank()
             << ")";
    seen.set(p);
    out.push_back(t.getDimSize(p));
  }
  types.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

LogicalResult TransposeOp::verify() { return success(); }

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> perm = getPermutation();
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == (int64_t)i;
  if (identity)
    return getInput();
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getInput()))
    return splat.reshape(getType());
  if (auto in = readDense(adaptor.getInput())) {
    ArrayRef<int64_t> inShape = getInput().getType().getShape();
    ArrayRef<int64_t> outShape = getType().getShape();
    return gatherConstant(getType(), *in, [&](int64_t k) {
      SmallVector<int64_t> oc = coordinates(k, outShape), ic(oc.size());
      for (size_t d = 0; d < perm.size(); ++d)
        ic[perm[d]] = oc[d];
      return flatIndex(ic, inShape);
    });
  }
  if (auto producer = getInput().getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> inner = producer.getPermutation();
    SmallVector<int64_t> composed;
    for (int64_t p : perm)
      composed.push_back(inner[p]);
    getInputMutable().assign(producer.getInput());
    setPermutation(composed);
    return getResult();
  }
  return {};
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return KILN_DIAG("kiln.concat") << "expects at least one input";
  auto first = rankedOf(inputs[0]);
  int64_t axis = adaptor.getAxis(), rank = first.getRank();
  if (axis < 0 || axis >= rank)
    return KILN_DIAG("kiln.concat") << "axis " << axis << " out of range [0, "
                                    << rank << ")";
  SmallVector<int64_t> out(first.getShape());
  for (auto [i, v] : llvm::enumerate(inputs.drop_front())) {
    auto t = rankedOf(v);
    if (t.getRank() != rank || t.getElementType() != first.getElementType())
      return KILN_DIAG("kiln.concat")
             << "input " << i + 1 << " has type " << t
             << ", incompatible with input 0 of type " << first;
    for (int64_t d = 0; d < rank; ++d) {
      if (d == axis)
        continue;
      if (t.getDimSize(d) != first.getDimSize(d))
        return KILN_DIAG("kiln.concat")
               << "input " << i + 1 << " shape " << t.getShape()
               << " differs from input 0 shape " << first.getShape()
               << " outside the concatenation axis";
    }
    out[axis] += t.getDimSize(axis);
  }
  types.push_back(RankedTensorType::get(out, first.getElementType()));
  return success();
}

LogicalResult ConcatOp::verify() { return success(); }

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  return {};
}

LogicalResult SliceOp::verify() {
  auto in = getInput().getType(), out = getType();
  ArrayRef<int64_t> starts = getStarts(), steps = getSteps();
  int64_t rank = in.getRank();
  if (out.getRank() != rank || in.getElementType() != out.getElementType())
    return emitOpError() << "result type " << out
                         << " must keep the rank and element type of " << in;
  if ((int64_t)starts.size() != rank || (int64_t)steps.size() != rank)
    return emitOpError() << "expects " << rank
                         << " starts and steps, got " << starts.size()
                         << " and " << steps.size();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = in.getDimSize(d), size = out.getDimSize(d);
    if (steps[d] == 0)
      return emitOpError() << "step along dim " << d << " is zero";
    if (size == 0)
      continue;
    int64_t last = starts[d] + (size - 1) * steps[d];
    if (starts[d] < 0 || starts[d] >= dim || last < 0 || last >= dim)
      return emitOpError() << "window along dim " << d << " (start "
                           << starts[d] << ", step " << steps[d] << ", size "
                           << size << ") exceeds input size " << dim;
  }
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() &&
      llvm::all_of(getStarts(), [](int64_t s) { return s == 0; }) &&
      llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getInput()))
    return splat.resizeSplat(getType());
  if (auto in = readDense(adaptor.getInput())) {
    ArrayRef<int64_t> inShape = getInput().getType().getShape();
    ArrayRef<int64_t> outShape = getType().getShape();
    return gatherConstant(getType(), *in, [&](int64_t k) {
      SmallVector<int64_t> c = coordinates(k, outShape);
      for (size_t d = 0; d < c.size(); ++d)
        c[d] = getStarts()[d] + c[d] * getSteps()[d];
      return flatIndex(c, inShape);
    });
  }
  return {};
}

LogicalResult BroadcastOp::verify() {
  auto in = getInput().getType(), out = getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError() << "element type changes from " << in.getElementType()
                         << " to " << out.getElementType();
  if (!isBroadcastableTo(in.getShape(), out.getShape()))
    return emitOpError() << "input shape " << shapeToString(in.getShape())
                         << " does not broadcast to "
                         << shapeToString(out.getShape());
  return success();
}

OpFoldResult BroadcastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getInput()))
    return splat.resizeSplat(getType());
  if (auto in = readDense(adaptor.getInput());
      in && getType().getNumElements() <= kMaxFoldElements) {
    ArrayRef<int64_t> inShape = getInput().getType().getShape();
    return gatherConstant(getType(), *in, [&](int64_t k) {
      return broadcastIndex(k, getType().getShape(), inShape);
    });
  }
  return {};
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  auto d = rankedOf(adaptor.getData()), i = rankedOf(adaptor.getIndices());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= d.getRank())
    return KILN_DIAG("kiln.gather") << "axis " << axis << " out of range [0, "
                                    << d.getRank() << ")";
  SmallVector<int64_t> out(d.getShape().take_front(axis));
  llvm::append_range(out, i.getShape());
  llvm::append_range(out, d.getShape().drop_front(axis + 1));
  types.push_back(RankedTensorType::get(out, d.getElementType()));
  return success();
}

LogicalResult GatherOp::verify() { return success(); }

LogicalResult GatherElementsOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  auto d = rankedOf(adaptor.getData()), i = rankedOf(adaptor.getIndices());
  int64_t axis = adaptor.getAxis();
  if (i.getRank() != d.getRank())
    return KILN_DIAG("kiln.gather_elements")
           << "indices rank " << i.getRank() << " differs from data rank "
           << d.getRank();
  if (axis < 0 || axis >= d.getRank())
    return KILN_DIAG("kiln.gather_elements")
           << "axis " << axis << " out of range [0, " << d.getRank() << ")";
  for (int64_t k = 0; k < d.getRank(); ++k)
    if (k != axis && i.getDimSize(k) > d.getDimSize(k))
      return KILN_DIAG("kiln.gather_elements")
             << "indices shape " << i.getShape() << " exceeds data shape "
             << d.getShape() << " along dim " << k;
  types.push_back(RankedTensorType::get(i.getShape(), d.getElementType()));
  return success();
}

LogicalResult GatherElementsOp::verify() { return success(); }

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> location,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  auto t = rankedOf(adaptor.getInput());
  ArrayRef<int64_t> pads = adaptor.getPads();
  int64_t rank = t.getRank();
  if ((int64_t)pads.size() != 2 * rank)
    return KILN_DIAG("kiln.pad") << "expects " << 2 * rank
                                 << " pads (begin then end per dim), got "
                                 << pads.size();
  SmallVector<int64_t> out;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t o = t.getDimSize(d) + pads[d] + pads[rank + d];
    if (o < 0)
      return KILN_DIAG("kiln.pad") << "pads crop more than the size "
                                   << t.getDimSize(d) << " of dim " << d;
    out.push_back(o);
  }
  types.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

LogicalResult PadOp::verify() {
  auto t = getInput().getType();
  int64_t rank = t.getRank();
  ArrayRef<int64_t> pads = getPads();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = t.getDimSize(d), hi = std::max(pads[d], pads[rank + d]);
    if (getMode() == PadMode::Reflect && hi > 0 && hi >= dim)
      return emitOpError() << "reflect padding " << hi << " along dim " << d
                           << " must be smaller than its size " << dim;
    if (getMode() == PadMode::Edge && hi > 0 && dim == 0)
      return emitOpError() << "edge padding of empty dim " << d;
  }
  return success();
}

LogicalResult ResizeOp::verify() {
  auto in = getInput().getType(), out = getType();
  if (in.getRank() != out.getRank() || in.getElementType() != out.getElementType())
    return emitOpError() << "result type " << out
                         << " must keep the rank and element type of " << in;
  if ((int64_t)getScales().size() != in.getRank())
    return emitOpError() << "expects " << in.getRank() << " scales, got "
                         << getScales().size();
  for (double s : getScales())
    if (!(s > 0))
      return emitOpError() << "scales must be positive, got " << s;
  return success();
}

//===----------------------------------------------------------------------===//
// Kernel groups
//===----------------------------------------------------------------------===//

void KernelOp::build(OpBuilder &builder, OperationState &state,
                     TypeRange resultTypes, ValueRange inputs, StringRef name,
                     KernelKind kind) {
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  state.addAttribute(getNameAttrName(state.name), builder.getStringAttr(name));
  state.addAttribute(getKindAttrName(state.name),
                     KernelKindAttr::get(builder.getContext(), kind));
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value input : inputs)
    block->addArgument(input.getType(), input.getLoc());
}

LogicalResult KernelOp::verify() {
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError() << "body has " << block.getNumArguments()
                         << " arguments for " << getInputs().size() << " inputs";
  for (auto [i, input, arg] : llvm::enumerate(getInputs(), block.getArguments()))
    if (input.getType() != arg.getType())
      return emitOpError() << "body argument " << i << " has type "
                           << arg.getType() << " but input " << i << " is "
                           << input.getType();
  auto yield = cast<YieldOp>(block.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError() << "yields " << yield.getValues().size()
                         << " values of types (" << yield.getValues().getTypes()
                         << ") for results (" << getResultTypes() << ")";
  if (getName().empty())
    return emitOpError() << "needs a non-empty name";
  return success();
}

#define GET_OP_CLASSES
#include "kiln/Dialect/Kiln/KilnOps.cpp.inc"
