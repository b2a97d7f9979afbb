//===- OnnxSignalImporters.cpp - DFT, STFT, windows, mel filters ---------===//
//
// The signal-processing ops of opset 17 (DFT also in its opset-20 form).
// Transforms are matrix products with constant cosine and sine matrices
// (O(n^2) work, which the contraction kernels run well for the frame
// lengths of audio front ends); window functions and MelWeightMatrix are
// constants computed at import.
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

/// The largest transform matrix (elements) Kiln builds.
constexpr int64_t kMaxDftMatrix = int64_t(1) << 24;

Value matrixConstant(NodeContext &nc, Type et, int64_t rows, int64_t cols,
                     ArrayRef<double> values) {
  auto type = RankedTensorType::get({rows, cols}, Float64Type::get(nc.ctx()));
  Value c = nc.constant(DenseElementsAttr::get(type, values));
  return *nc.castTo(c, et);
}

/// Dim `last` of `x` cut or zero-padded to `len`.
FailureOr<Value> fitLast(NodeContext &nc, Value x, int64_t len) {
  SmallVector<int64_t> shape(shapeOf(x));
  int64_t have = shape.back();
  if (have == len)
    return x;
  if (have > len)
    return sliceLast(nc, x, 0, len);
  SmallVector<int64_t> pads(2 * shape.size(), 0);
  pads.back() = len - have;
  return nc.create<PadOp>(nc.inferred(), PadMode::Constant, x, pads, APFloat(0.0));
}

struct Complex {
  Value re, im; // im may be null (a real signal)
};

/// The DFT of length n along the last dim of `x` (cut or zero-padded to
/// n), keeping the first `bins` frequencies; scaled by 1/n and with the
/// opposite sign of the exponent when `inverse`.
FailureOr<Complex> dftLast(NodeContext &nc, Complex x, int64_t n, int64_t bins, bool inverse) {
  Type et = elementTypeOf(x.re);
  int64_t rows = std::min<int64_t>(shapeOf(x.re).back(), n);
  if (rows * bins > kMaxDftMatrix)
    return nc.error() << "a DFT of length " << n << " is too large (Kiln computes it as a "
                      << rows << " x " << bins << " matrix product)";
  SmallVector<double> cosm(rows * bins), sinm(rows * bins);
  double scale = inverse ? 1.0 / n : 1.0;
  for (int64_t j = 0; j < rows; ++j)
    for (int64_t k = 0; k < bins; ++k) {
      double angle = 2 * M_PI * (double)((j * k) % n) / (double)n;
      cosm[j * bins + k] = std::cos(angle) * scale;
      sinm[j * bins + k] = std::sin(angle) * scale;
    }
  Value c = matrixConstant(nc, et, rows, bins, cosm);
  Value sn = matrixConstant(nc, et, rows, bins, sinm);
  TRY(re, fitLast(nc, x.re, rows));
  // Forward: re' = re C + im S, im' = im C - re S; inverse: re' = re C -
  // im S, im' = im C + re S.
  TRY(rc, nc.create<MatMulOp>(nc.inferred(), re, c));
  TRY(rs, nc.create<MatMulOp>(nc.inferred(), re, sn));
  Complex out;
  if (!x.im) {
    out.re = rc;
    TRY(neg, nc.unary(UnaryKind::Neg, rs));
    out.im = inverse ? rs : neg;
    return out;
  }
  TRY(im, fitLast(nc, x.im, rows));
  TRY(ic, nc.create<MatMulOp>(nc.inferred(), im, c));
  TRY(is, nc.create<MatMulOp>(nc.inferred(), im, sn));
  TRY(yr, nc.binary(inverse ? B::Sub : B::Add, rc, is));
  TRY(yi, nc.binary(inverse ? B::Add : B::Sub, ic, rs));
  out.re = yr;
  out.im = yi;
  return out;
}

/// The real signal of length n whose one-sided spectrum is `x` along the
/// last dim (numpy's irfft: the first n/2+1 bins are used, padded with
/// zeros; the others are their conjugates).
FailureOr<Value> inverseRealLast(NodeContext &nc, Complex x, int64_t n) {
  Type et = elementTypeOf(x.re);
  int64_t half = n / 2 + 1;
  int64_t rows = std::min<int64_t>(shapeOf(x.re).back(), half);
  if (rows * n > kMaxDftMatrix)
    return nc.error() << "an inverse DFT of length " << n << " is too large";
  SmallVector<double> cosm(rows * n), sinm(rows * n);
  for (int64_t k = 0; k < rows; ++k) {
    // Bins other than DC and (for even n) Nyquist stand for their mirror.
    double w = (k == 0 || (n % 2 == 0 && k == n / 2)) ? 1.0 : 2.0;
    for (int64_t j = 0; j < n; ++j) {
      double angle = 2 * M_PI * (double)((j * k) % n) / (double)n;
      cosm[k * n + j] = w * std::cos(angle) / n;
      // Imaginary parts of DC and Nyquist are ignored.
      sinm[k * n + j] = (w == 1.0) ? 0.0 : -w * std::sin(angle) / n;
    }
  }
  TRY(re, fitLast(nc, x.re, rows));
  TRY(y, nc.create<MatMulOp>(nc.inferred(), re, matrixConstant(nc, et, rows, n, cosm)));
  if (!x.im)
    return y;
  TRY(im, fitLast(nc, x.im, rows));
  TRY(yi, nc.create<MatMulOp>(nc.inferred(), im, matrixConstant(nc, et, rows, n, sinm)));
  return nc.binary(B::Add, y, yi);
}

/// Splits the trailing [1 | 2] dim of a signal into real and imaginary
/// parts without it.
FailureOr<Complex> splitComplex(NodeContext &nc, Value x) {
  SmallVector<int64_t> shape(shapeOf(x));
  int64_t parts = shape.back();
  if (parts != 1 && parts != 2)
    return nc.error() << "the last dim of the input must be 1 (real) or 2 (complex), got "
                      << shapeToString(shape);
  SmallVector<int64_t> inner(shape.begin(), shape.end() - 1);
  Complex c;
  SmallVector<int64_t> one(shape), starts(shape.size(), 0), steps(shape.size(), 1);
  one.back() = 1;
  auto type = RankedTensorType::get(one, elementTypeOf(x));
  TRY(re, nc.create<SliceOp>(type, x, starts, steps));
  TRY(re2, nc.reshape(re, inner));
  c.re = re2;
  if (parts == 2) {
    starts.back() = 1;
    TRY(im, nc.create<SliceOp>(type, x, starts, steps));
    TRY(im2, nc.reshape(im, inner));
    c.im = im2;
  }
  return c;
}

/// Real and imaginary parts stacked on a new last dim.
FailureOr<Value> joinComplex(NodeContext &nc, Complex c) {
  SmallVector<int64_t> shape(shapeOf(c.re));
  shape.push_back(1);
  TRY(re, nc.reshape(c.re, shape));
  if (!c.im)
    return re;
  TRY(im, nc.reshape(c.im, shape));
  return nc.create<ConcatOp>(nc.inferred(), ValueRange{re, im}, (int64_t)shape.size() - 1);
}

/// A constant integer scalar input (or `dflt` when absent).
FailureOr<int64_t> scalarInput(NodeContext &nc, int i, StringRef what, int64_t dflt) {
  if (!nc.hasInput(i))
    return dflt;
  TRY(v, nc.constInts(i, what));
  if (v.size() != 1)
    return nc.error() << what << " must hold one value, got " << v.size();
  return v[0];
}

/// DFT (opsets 17 and 20): along `axis` (an attribute, default 1, before
/// 20; input 2, default -2, since), of length dft_length (input 1; the
/// axis' size by default), forward or inverse, one-sided output (forward)
/// or one-sided input with a real output (inverse).
FailureOr<Value> importDFT(NodeContext &nc) {
  TRY(x, floatInput(nc));
  SmallVector<int64_t> shape(shapeOf(x));
  int64_t rank = shape.size();
  if (rank < 2)
    return nc.error() << "input must have rank >= 2 (signal dims and a last dim of 1 or 2), got "
                      << shapeToString(shape);
  int64_t axis;
  if (nc.opset >= 20) {
    TRY(a, scalarInput(nc, 2, "axis", -2));
    axis = a;
  } else {
    axis = nc.attrInt("axis", 1);
  }
  if (axis < -rank || axis >= rank)
    return nc.error() << "axis " << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  if (axis == rank - 1)
    return nc.error() << "axis must not be the last dim (it holds the real/imaginary parts)";
  bool inverse = nc.attrInt("inverse", 0) != 0;
  bool onesided = nc.attrInt("onesided", 0) != 0;
  int64_t dflt = inverse && onesided ? 2 * (shape[axis] - 1) : shape[axis];
  TRY(n, scalarInput(nc, 1, "dft_length", dflt));
  if (n <= 0)
    return nc.error() << "dft_length must be positive, got " << n;
  // Move the axis last.
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  perm.push_back(rank - 1);
  bool moved = axis != rank - 2;
  Value xt = x;
  if (moved) {
    TRY(t, nc.transpose(x, perm));
    xt = t;
  }
  TRY(parts, splitComplex(nc, xt));
  Value y;
  if (inverse && onesided) {
    TRY(r, inverseRealLast(nc, parts, n));
    TRY(j, joinComplex(nc, Complex{r, Value()}));
    y = j;
  } else {
    int64_t bins = onesided ? n / 2 + 1 : n;
    TRY(r, dftLast(nc, parts, n, bins, inverse));
    TRY(j, joinComplex(nc, r));
    y = j;
  }
  if (!moved)
    return y;
  SmallVector<int64_t> inv(rank);
  for (int64_t i = 0; i < rank; ++i)
    inv[perm[i]] = i;
  return nc.transpose(y, inv);
}

/// STFT: frames of the signal [batch, length, 1 | 2] every frame_step
/// samples, weighted by the window, each transformed (one-sided by
/// default): [batch, frames, bins, 2].
FailureOr<Value> importSTFT(NodeContext &nc) {
  TRY(x, floatInput(nc));
  SmallVector<int64_t> shape(shapeOf(x));
  if (shape.size() != 3)
    return nc.error() << "signal must be [batch, length, 1 | 2], got " << shapeToString(shape);
  TRY(step, scalarInput(nc, 1, "frame_step", 0));
  if (step <= 0)
    return nc.error() << "frame_step must be positive, got " << step;
  Value window = nc.input(2);
  if (window && shapeOf(window).size() != 1)
    return nc.error() << "window must be 1-D, got " << shapeToString(shapeOf(window));
  int64_t len = shape[1];
  TRY(frameLength, scalarInput(nc, 3, "frame_length",
                               window ? shapeOf(window)[0] : len));
  int64_t span = window ? shapeOf(window)[0] : frameLength;
  if (frameLength <= 0 || span <= 0 || span > len)
    return nc.error() << "frames of " << span << " samples (frame_length " << frameLength
                      << ") do not fit a signal of " << len;
  bool onesided = nc.attrInt("onesided", 1) != 0;
  int64_t frames = 1 + (len - span) / step;
  if (frames * span > kMaxDftMatrix)
    return nc.error() << "the signal gives too many frames (" << frames << ")";
  TRY(parts, splitComplex(nc, x)); // [batch, length]
  SmallVector<int64_t> idx(frames * span);
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t i = 0; i < span; ++i)
      idx[f * span + i] = f * step + i;
  Value indices = nc.constant(DenseElementsAttr::get(
      RankedTensorType::get({frames, span}, IntegerType::get(nc.ctx(), 64)),
      ArrayRef<int64_t>(idx)));
  auto framed = [&](Value v) -> FailureOr<Value> {
    if (!v)
      return Value();
    TRY(g, nc.create<GatherOp>(nc.inferred(), v, indices, 1)); // [batch, frames, span]
    if (!window)
      return g;
    TRY(w, nc.castTo(window, elementTypeOf(v)));
    return nc.binary(B::Mul, g, w);
  };
  TRY(re, framed(parts.re));
  TRY(im, framed(parts.im));
  int64_t bins = onesided ? frameLength / 2 + 1 : frameLength;
  TRY(y, dftLast(nc, Complex{re, im}, frameLength, bins, /*inverse=*/false));
  return joinComplex(nc, y);
}

/// HannWindow, HammingWindow, BlackmanWindow: a constant of the given
/// size, periodic (default) or symmetric, as the sum of cosine terms
/// a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N).
ValueImporter windowOp(double a0, double a1, double a2) {
  return [=](NodeContext &nc) -> FailureOr<Value> {
    TRY(size, scalarInput(nc, 0, "size", -1));
    if (size <= 0 || size > kMaxDftMatrix)
      return nc.error() << "size must be in [1, 2^24], got " << size;
    Type et = convertElementType(nc.ctx(), nc.attrInt("output_datatype", 1));
    if (!et)
      return nc.error() << "output_datatype "
                        << onnxTypeName(nc.attrInt("output_datatype", 1)) << " is not supported";
    bool periodic = nc.attrInt("periodic", 1) != 0;
    double n1 = periodic ? size : size - 1;
    SmallVector<double> w(size);
    for (int64_t i = 0; i < size; ++i) {
      double phase = n1 > 0 ? 2 * M_PI * i / n1 : 0;
      w[i] = a0 - a1 * std::cos(phase) + a2 * std::cos(2 * phase);
    }
    Value c = nc.constant(DenseElementsAttr::get(
        RankedTensorType::get({size}, Float64Type::get(nc.ctx())), ArrayRef<double>(w)));
    return nc.castTo(c, et);
  };
}

/// MelWeightMatrix: [dft_length / 2 + 1, num_mel_bins] triangular filters
/// between the mel-spaced edges of [lower_edge_hertz, upper_edge_hertz],
/// as the operator's reference computes them (edges rounded down to DFT
/// bins).
FailureOr<Value> importMelWeightMatrix(NodeContext &nc) {
  TRY(mels, scalarInput(nc, 0, "num_mel_bins", -1));
  TRY(dftLength, scalarInput(nc, 1, "dft_length", -1));
  TRY(rate, scalarInput(nc, 2, "sample_rate", -1));
  TRY(lowV, nc.constFloats(3, "lower_edge_hertz"));
  TRY(highV, nc.constFloats(4, "upper_edge_hertz"));
  if (lowV.size() != 1 || highV.size() != 1)
    return nc.error() << "lower_edge_hertz and upper_edge_hertz must be scalars";
  if (mels <= 0 || dftLength <= 0 || rate <= 0)
    return nc.error() << "num_mel_bins, dft_length and sample_rate must be positive, got "
                      << mels << ", " << dftLength << ", " << rate;
  int64_t specBins = dftLength / 2 + 1;
  if (mels * specBins > kMaxDftMatrix)
    return nc.error() << "the matrix (" << specBins << " x " << mels << ") is too large";
  Type et = convertElementType(nc.ctx(), nc.attrInt("output_datatype", 1));
  if (!et)
    return nc.error() << "output_datatype " << onnxTypeName(nc.attrInt("output_datatype", 1))
                      << " is not supported";
  auto toMel = [](double hz) { return 2595 * std::log1p(hz / 700) / std::log(10.0); };
  double lowMel = toMel(lowV[0]), highMel = toMel(highV[0]);
  double melStep = (highMel - lowMel) / (double)(mels + 2);
  SmallVector<int64_t> edges(mels + 2);
  for (int64_t i = 0; i < mels + 2; ++i) {
    double hz = 700 * std::expm1((i * melStep + lowMel) / 2595 * std::log(10.0));
    edges[i] = (int64_t)std::floor((dftLength + 1) * hz / (double)rate);
    if (edges[i] < 0 || edges[i] >= specBins)
      return nc.error() << "the band edges fall outside the " << specBins
                        << " DFT bins (edge " << i << " at bin " << edges[i] << ")";
  }
  SmallVector<double> m(specBins * mels, 0.0);
  for (int64_t i = 0; i < mels; ++i) {
    int64_t lo = edges[i], center = edges[i + 1], hi = edges[i + 2];
    if (center == lo) {
      m[center * mels + i] = 1;
    } else {
      for (int64_t j = lo; j <= center; ++j)
        m[j * mels + i] = (double)(j - lo) / (double)(center - lo);
    }
    if (hi > center)
      for (int64_t j = center; j < hi; ++j)
        m[j * mels + i] = (double)(hi - j) / (double)(hi - center);
  }
  Value c = nc.constant(DenseElementsAttr::get(
      RankedTensorType::get({specBins, mels}, Float64Type::get(nc.ctx())), ArrayRef<double>(m)));
  return nc.castTo(c, et);
}

} // namespace

void kiln::detail::addSignalImporters(llvm::StringMap<OpImporter> &t) {
  t["DFT"] = oneOutput(importDFT);
  t["STFT"] = oneOutput(importSTFT);
  t["HannWindow"] = oneOutput(windowOp(0.5, 0.5, 0));
  t["HammingWindow"] = oneOutput(windowOp(25.0 / 46, 21.0 / 46, 0));
  t["BlackmanWindow"] = oneOutput(windowOp(0.42, 0.5, 0.08));
  t["MelWeightMatrix"] = oneOutput(importMelWeightMatrix);
}
