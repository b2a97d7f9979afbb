//===- OnnxLayerImporters.cpp - layers composed of kiln ops --------------===//
//
// Ops of whole layers that Kiln builds from its core ops: Attention and
// RotaryEmbedding (opset 23), the normalizations GroupNormalization, LRN,
// LpNormalization and MeanVarianceNormalization, Hardmax, EyeLike, the
// training losses NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss,
// and the scatters ScatterElements and ScatterND.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::detail;

namespace {

using B = BinaryKind;

SmallVector<int64_t> iota(int64_t from, int64_t to) {
  SmallVector<int64_t> v;
  for (int64_t i = from; i < to; ++i)
    v.push_back(i);
  return v;
}

/// An i64 constant holding 0..n-1 along dim `axis` of a rank-`rank` shape
/// (every other dim 1).
Value iotaAlong(NodeContext &nc, int64_t n, int64_t axis, int64_t rank) {
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = n;
  auto type = RankedTensorType::get(shape, IntegerType::get(nc.ctx(), 64));
  return nc.constant(DenseElementsAttr::get(type, ArrayRef<int64_t>(iota(0, n))));
}

FailureOr<Value> sliceLast(NodeContext &nc, Value x, int64_t start, int64_t size,
                           int64_t step = 1) {
  SmallVector<int64_t> shape(shapeOf(x)), starts(shape.size(), 0), steps(shape.size(), 1);
  shape.back() = size;
  starts.back() = start;
  steps.back() = step;
  return nc.create<SliceOp>(RankedTensorType::get(shape, elementTypeOf(x)), x, starts, steps);
}

//===----------------------------------------------------------------------===//
// Hardmax, EyeLike
//===----------------------------------------------------------------------===//

/// Hardmax: 1 at the first maximum along the axis, 0 elsewhere. Before
/// opset 13 the input is coerced to 2-D at the axis (default 1).
FailureOr<Value> importHardmax(NodeContext &nc) {
  TRY(x, floatInput(nc));
  SmallVector<int64_t> shape(shapeOf(x));
  int64_t rank = shape.size();
  if (rank == 0)
    return nc.error() << "input must have rank >= 1";
  Value v = x;
  int64_t axis;
  if (nc.opset >= 13) {
    TRY(a, nc.normalizeAxis(nc.attrInt("axis", -1), rank));
    axis = a;
  } else {
    TRY(a, nc.normalizeAxis(nc.attrInt("axis", 1), rank));
    int64_t outer = product(ArrayRef<int64_t>(shape).take_front(a));
    TRY(flat, nc.reshape(x, {outer, product(ArrayRef<int64_t>(shape).drop_front(a))}));
    v = flat;
    axis = 1;
  }
  int64_t vrank = shapeOf(v).size();
  TRY(arg, nc.create<ArgReduceOp>(nc.inferred(), ArgKind::Max, v, axis, /*keep_dims=*/true,
                                  /*select_last_index=*/false));
  TRY(hit, nc.binary(B::Eq, arg, iotaAlong(nc, shapeOf(v)[axis], axis, vrank)));
  TRY(y, nc.castTo(hit, elementTypeOf(x)));
  return nc.reshape(y, shape);
}

/// EyeLike: ones on the k-th diagonal of a 2-D tensor shaped like the
/// input, of the input's type or `dtype`.
FailureOr<Value> importEyeLike(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  ArrayRef<int64_t> s = shapeOf(x);
  if (s.size() != 2)
    return nc.error() << "input must be 2-D, got " << shapeToString(s);
  Type et = elementTypeOf(x);
  if (int64_t code = nc.attrInt("dtype", 0)) {
    et = convertElementType(nc.ctx(), code);
    if (!et)
      return nc.error() << "dtype " << onnxTypeName(code) << " is not supported";
  }
  int64_t k = nc.attrInt("k", 0);
  auto boolType = RankedTensorType::get(s, IntegerType::get(nc.ctx(), 1));
  SmallVector<bool> diag;
  diag.reserve(product(s));
  for (int64_t i = 0; i < s[0]; ++i)
    for (int64_t j = 0; j < s[1]; ++j)
      diag.push_back(j - i == k);
  Value mask = nc.constant(DenseElementsAttr::get(boolType, ArrayRef<bool>(diag)));
  return nc.castTo(mask, et);
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

/// (x - mean) / sqrt(var + eps) over `axes`, in x's type.
FailureOr<Value> standardize(NodeContext &nc, Value x, ArrayRef<int64_t> axes, double eps) {
  Type et = elementTypeOf(x);
  TRY(mean, nc.reduce(ReduceKind::Mean, x, axes, /*keepDims=*/true));
  TRY(centered, nc.binary(B::Sub, x, mean));
  TRY(sq, nc.binary(B::Mul, centered, centered));
  TRY(var, nc.reduce(ReduceKind::Mean, sq, axes, /*keepDims=*/true));
  TRY(ve, nc.binary(B::Add, var, nc.scalarConstant(et, eps)));
  TRY(sd, nc.unary(UnaryKind::Sqrt, ve));
  return nc.binary(B::Div, centered, sd);
}

/// GroupNormalization: x [N, C, ...] normalized over each group of C /
/// num_groups channels and all spatial positions, then scaled and shifted
/// per channel (opset 21; per group in opset 18). Computed in f32 for
/// narrower inputs (stash_type 1).
FailureOr<Value> importGroupNorm(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(scale, nc.requiredInput(1));
  TRY(bias, nc.requiredInput(2));
  SmallVector<int64_t> shape(shapeOf(x));
  if (shape.size() < 2)
    return nc.error() << "input must have rank >= 2, got " << shapeToString(shape);
  int64_t groups = nc.attrInt("num_groups", 0), c = shape[1];
  if (groups <= 0 || c % groups != 0)
    return nc.error() << "num_groups " << groups << " must be positive and divide the "
                      << c << " channels";
  if (nc.attrInt("stash_type", 1) != 1)
    return nc.error() << "stash_type " << nc.attrInt("stash_type", 1)
                      << " is not supported (1, float32, is)";
  int64_t perScale = nc.opset >= 21 ? c : groups;
  for (auto [v, what] : {std::pair{scale, "scale"}, std::pair{bias, "bias"}})
    if (shapeOf(v).size() != 1 || shapeOf(v)[0] != perScale)
      return nc.error() << what << " of shape " << shapeToString(shapeOf(v)) << " must hold "
                        << perScale << (nc.opset >= 21 ? " values (one per channel)"
                                                       : " values (one per group)");
  Type et = elementTypeOf(x), f32 = Float32Type::get(nc.ctx());
  Value xs = x;
  if (et != f32) {
    TRY(w, nc.castTo(x, f32));
    xs = w;
  }
  int64_t n = shape[0];
  TRY(grouped, nc.reshape(xs, {n, groups, product(shape) / std::max<int64_t>(n * groups, 1)}));
  TRY(normed, standardize(nc, grouped, {2}, nc.attrFloat("epsilon", 1e-5f)));
  TRY(back, nc.reshape(normed, shape));
  Value y = back;
  if (et != f32) {
    TRY(narrow, nc.castTo(back, et));
    y = narrow;
  }
  // Scale and bias per channel: [C] (opset 21) or [G] repeated C/G times.
  SmallVector<int64_t> chanShape(shape.size() - 1, 1);
  chanShape[0] = c;
  auto perChannel = [&](Value v) -> FailureOr<Value> {
    Value full = v;
    if (perScale != c) {
      TRY(r, nc.reshape(v, {groups, 1}));
      TRY(b, nc.create<BroadcastOp>(RankedTensorType::get({groups, c / groups}, elementTypeOf(v)), r));
      full = b;
    }
    return nc.reshape(full, chanShape);
  };
  TRY(s, perChannel(scale));
  TRY(b, perChannel(bias));
  TRY(ys, nc.binary(B::Mul, y, s));
  return nc.binary(B::Add, ys, b);
}

/// LRN: x / (bias + alpha / size * sum of x^2 over the `size` neighbouring
/// channels)^beta. The channel window sum is an average pool (padding
/// counted) over x^2 viewed as [N, 1, C, rest], times size.
FailureOr<Value> importLRN(NodeContext &nc) {
  TRY(x, floatInput(nc));
  SmallVector<int64_t> shape(shapeOf(x));
  if (shape.size() < 3)
    return nc.error() << "input must have rank >= 3 (N x C x D1 ...), got "
                      << shapeToString(shape);
  int64_t size = nc.attrInt("size", 0);
  if (size <= 0 || size > (int64_t(1) << 31))
    return nc.error() << "size " << size << " must be positive";
  Type et = elementTypeOf(x);
  double alpha = nc.attrFloat("alpha", 1e-4f), beta = nc.attrFloat("beta", 0.75f),
         bias = nc.attrFloat("bias", 1.0f);
  TRY(sq, nc.binary(B::Mul, x, x));
  int64_t rest = product(ArrayRef<int64_t>(shape).drop_front(2));
  TRY(view, nc.reshape(sq, {shape[0], 1, shape[1], rest}));
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  TRY(avg, nc.create<PoolOp>(nc.inferred(), PoolKind::Avg, view, ArrayRef<int64_t>{size, 1},
                             ArrayRef<int64_t>{1, 1}, ArrayRef<int64_t>{before, 0, after, 0},
                             ArrayRef<int64_t>{1, 1}, /*ceil_mode=*/false,
                             /*count_include_pad=*/true));
  TRY(sums, nc.reshape(avg, shape));
  // alpha / size * (avg * size) = alpha * avg.
  TRY(scaled, nc.binary(B::Mul, sums, nc.scalarConstant(et, alpha)));
  TRY(base, nc.binary(B::Add, scaled, nc.scalarConstant(et, bias)));
  TRY(denom, nc.binary(B::Pow, base, nc.scalarConstant(et, beta)));
  return nc.binary(B::Div, x, denom);
}

/// LpNormalization: x / ||x||_p along the axis, p 1 or 2; 0 where the
/// norm is 0.
FailureOr<Value> importLpNormalization(NodeContext &nc) {
  TRY(x, floatInput(nc));
  int64_t rank = shapeOf(x).size();
  if (rank == 0)
    return nc.error() << "input must have rank >= 1";
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", -1), rank));
  int64_t p = nc.attrInt("p", 2);
  if (p != 1 && p != 2)
    return nc.error() << "p " << p << " is not supported (1 and 2 are)";
  TRY(norm, nc.reduce(p == 1 ? ReduceKind::L1 : ReduceKind::L2, x, {axis}, /*keepDims=*/true));
  TRY(q, nc.binary(B::Div, x, norm));
  // A zero norm gives zeros (ONNX defines 0 / 0 as 0 here).
  Value zero = nc.scalarConstant(elementTypeOf(x), 0);
  TRY(isZero, nc.binary(B::Eq, norm, zero));
  return nc.create<SelectOp>(nc.inferred(), isZero, zero, q);
}

/// MeanVarianceNormalization: (x - E[x]) / sqrt(E[x^2] - E[x]^2 + 1e-9)
/// over `axes` (default 0, 2, 3).
FailureOr<Value> importMVN(NodeContext &nc) {
  TRY(x, floatInput(nc));
  int64_t rank = shapeOf(x).size();
  SmallVector<int64_t> axes = nc.attrInts("axes").value_or(SmallVector<int64_t>{0, 2, 3});
  for (int64_t &a : axes) {
    TRY(n, nc.normalizeAxis(a, rank, "axes entry"));
    a = n;
  }
  Type et = elementTypeOf(x);
  TRY(mean, nc.reduce(ReduceKind::Mean, x, axes, true));
  TRY(sq, nc.binary(B::Mul, x, x));
  TRY(meanSq, nc.reduce(ReduceKind::Mean, sq, axes, true));
  TRY(mean2, nc.binary(B::Mul, mean, mean));
  TRY(var, nc.binary(B::Sub, meanSq, mean2));
  TRY(ve, nc.binary(B::Add, var, nc.scalarConstant(et, 1e-9)));
  TRY(sd, nc.unary(UnaryKind::Sqrt, ve));
  TRY(centered, nc.binary(B::Sub, x, mean));
  return nc.binary(B::Div, centered, sd);
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

/// NegativeLogLikelihoodLoss over log-probabilities `logp` [N, C, d...]
/// (SoftmaxCrossEntropyLoss passes its log-softmax): -logp[n, t, d...]
/// weighted by weight[t], 0 where the target is ignore_index; reduced by
/// none, sum or mean (mean divides by the sum of the weights).
FailureOr<Value> nllLoss(NodeContext &nc, Value logp) {
  TRY(target, nc.requiredInput(1));
  ArrayRef<int64_t> xs = shapeOf(logp), ts = shapeOf(target);
  if (xs.size() < 2)
    return nc.error() << "input must have rank >= 2 (N x C x ...), got " << shapeToString(xs);
  SmallVector<int64_t> expected{xs[0]};
  llvm::append_range(expected, xs.drop_front(2));
  if (ts != ArrayRef<int64_t>(expected))
    return nc.error() << "target of shape " << shapeToString(ts) << " must be "
                      << shapeToString(expected) << " for input " << shapeToString(xs);
  Type tt = elementTypeOf(target);
  if (!tt.isSignlessInteger(32) && !tt.isSignlessInteger(64))
    return nc.error() << "target must be int32 or int64, got " << tt;
  std::string reduction = nc.attrString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    return nc.error() << "unknown reduction '" << reduction << "'";
  int64_t c = xs[1];
  Type et = elementTypeOf(logp);
  const onnx::AttributeProto *ignoreAttr = nc.attr("ignore_index");
  Value t = target, keep;
  if (ignoreAttr) {
    // Ignored positions read class 0 and are weighted 0; other targets are
    // clamped into [0, C) (ONNX leaves them undefined).
    Value ignore = nc.scalarConstant(tt, nc.attrInt("ignore_index", 0));
    TRY(ignored, nc.binary(B::Eq, target, ignore));
    TRY(k, nc.unary(UnaryKind::Not, ignored));
    keep = k;
    TRY(lo, nc.binary(B::Max, target, nc.scalarConstant(tt, 0)));
    TRY(hi, nc.binary(B::Min, lo, nc.scalarConstant(tt, c - 1)));
    TRY(safe, nc.create<SelectOp>(nc.inferred(), ignored, nc.scalarConstant(tt, 0), hi));
    t = safe;
  } else if (failed(nc.checkIndices(1, {c}))) {
    return failure();
  }
  SmallVector<int64_t> idxShape(ts);
  idxShape.insert(idxShape.begin() + 1, 1);
  TRY(idx, nc.reshape(t, idxShape));
  TRY(picked, nc.create<GatherElementsOp>(nc.inferred(), logp, idx, 1));
  TRY(pickedFlat, nc.reshape(picked, ts));
  TRY(loss0, nc.unary(UnaryKind::Neg, pickedFlat));
  // The per-position weight: weight[t] (or 1), zeroed where ignored.
  Value weight;
  if (nc.hasInput(2)) {
    TRY(w, nc.requiredInput(2));
    if (shapeOf(w).size() != 1 || shapeOf(w)[0] != c)
      return nc.error() << "weight of shape " << shapeToString(shapeOf(w)) << " must hold " << c
                        << " values (one per class)";
    TRY(g, nc.create<GatherOp>(nc.inferred(), w, t, 0));
    weight = g;
  }
  if (keep) {
    TRY(k, nc.castTo(keep, et));
    if (weight) {
      TRY(wk, nc.binary(B::Mul, weight, k));
      weight = wk;
    } else {
      weight = k;
    }
  }
  Value loss = loss0;
  if (weight) {
    TRY(l, nc.binary(B::Mul, loss0, weight));
    loss = l;
  }
  if (reduction == "none")
    return loss;
  SmallVector<int64_t> all = iota(0, ts.size());
  TRY(sum, nc.reduce(ReduceKind::Sum, loss, all, /*keepDims=*/false));
  if (reduction == "sum")
    return sum;
  if (!weight)
    return nc.reduce(ReduceKind::Mean, loss, all, /*keepDims=*/false);
  TRY(wsum, nc.reduce(ReduceKind::Sum, weight, all, /*keepDims=*/false));
  return nc.binary(B::Div, sum, wsum);
}

FailureOr<Value> importNLLLoss(NodeContext &nc) {
  TRY(x, floatInput(nc));
  return nllLoss(nc, x);
}

/// SoftmaxCrossEntropyLoss: the NLL loss of log_softmax(x) along the class
/// axis 1; the optional second output is that log-probability.
LogicalResult importSCELoss(NodeContext &nc) {
  TRY(x, floatInput(nc));
  if (shapeOf(x).size() < 2)
    return nc.error() << "input must have rank >= 2 (N x C x ...), got "
                      << shapeToString(shapeOf(x));
  TRY(logp, nc.create<SoftmaxOp>(nc.inferred(), x, 1, /*log=*/true));
  TRY(loss, nllLoss(nc, logp));
  nc.setOutput(0, loss);
  if (nc.numOutputs() > 1)
    nc.setOutput(1, logp);
  return success();
}

//===----------------------------------------------------------------------===//
// RotaryEmbedding and Attention (opset 23)
//===----------------------------------------------------------------------===//

/// A [B, S, H*D] tensor as [B, H, S, D].
FailureOr<Value> splitHeads(NodeContext &nc, Value v, int64_t heads, StringRef what) {
  ArrayRef<int64_t> s = shapeOf(v);
  if (heads <= 0 || s[2] % heads != 0)
    return nc.error() << what << " of shape " << shapeToString(s) << " does not split into "
                      << heads << " heads";
  TRY(r, nc.reshape(v, {s[0], s[1], heads, s[2] / heads}));
  return nc.transpose(r, {0, 2, 1, 3});
}

/// RotaryEmbedding: rotates the first rotary_embedding_dim features of
/// each head by the angles whose cos and sin the caches hold (indexed by
/// position_ids when given), pairs being halves or, interleaved,
/// neighbours. Input [B, S, H*D] (num_heads) or [B, H, S, D].
FailureOr<Value> importRotaryEmbedding(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(cosCache, nc.requiredInput(1));
  TRY(sinCache, nc.requiredInput(2));
  SmallVector<int64_t> orig(shapeOf(x));
  Value v = x; // as [B, S, H, D]
  if (orig.size() == 4) {
    TRY(t, nc.transpose(x, {0, 2, 1, 3}));
    v = t;
  } else if (orig.size() == 3) {
    int64_t heads = nc.attrInt("num_heads", 0);
    if (heads <= 0 || orig[2] % heads != 0)
      return nc.error() << "a 3-D input of shape " << shapeToString(orig)
                        << " needs num_heads dividing its last dim, got " << heads;
    TRY(r, nc.reshape(x, {orig[0], orig[1], heads, orig[2] / heads}));
    v = r;
  } else {
    return nc.error() << "input must be 3-D or 4-D, got " << shapeToString(orig);
  }
  SmallVector<int64_t> s(shapeOf(v));
  int64_t d = s[3], rot = nc.attrInt("rotary_embedding_dim", 0);
  if (rot == 0)
    rot = d;
  if (rot < 0 || rot > d || rot % 2 != 0)
    return nc.error() << "rotary_embedding_dim " << rot << " must be even and at most the head size "
                      << d;
  int64_t half = rot / 2;
  Value cosv = cosCache, sinv = sinCache;
  if (nc.hasInput(3)) {
    TRY(pos, nc.requiredInput(3));
    if (shapeOf(pos) != ArrayRef<int64_t>{s[0], s[1]})
      return nc.error() << "position_ids of shape " << shapeToString(shapeOf(pos)) << " must be "
                        << shapeToString({s[0], s[1]});
    if (shapeOf(cosCache).size() != 2 || shapeOf(sinCache) != shapeOf(cosCache))
      return nc.error() << "with position_ids the caches must be 2-D [max_position, "
                        << half << "] and alike, got " << shapeToString(shapeOf(cosCache))
                        << " and " << shapeToString(shapeOf(sinCache));
    if (failed(nc.checkIndices(3, {shapeOf(cosCache)[0]})))
      return failure();
    TRY(c, nc.create<GatherOp>(nc.inferred(), cosCache, pos, 0));
    TRY(sn, nc.create<GatherOp>(nc.inferred(), sinCache, pos, 0));
    cosv = c;
    sinv = sn;
  }
  SmallVector<int64_t> cacheShape{s[0], s[1], half};
  for (Value cache : {cosv, sinv})
    if (shapeOf(cache) != ArrayRef<int64_t>(cacheShape))
      return nc.error() << "cos/sin cache of shape " << shapeToString(shapeOf(cache))
                        << " must be " << shapeToString(cacheShape)
                        << " (batch, sequence, rotary_embedding_dim / 2)";
  TRY(cos4, nc.reshape(cosv, {s[0], s[1], 1, half}));
  TRY(sin4, nc.reshape(sinv, {s[0], s[1], 1, half}));
  bool interleaved = nc.attrInt("interleaved", 0) != 0;
  TRY(x1, interleaved ? sliceLast(nc, v, 0, half, 2) : sliceLast(nc, v, 0, half));
  TRY(x2, interleaved ? sliceLast(nc, v, 1, half, 2) : sliceLast(nc, v, half, half));
  TRY(a, nc.binary(B::Mul, cos4, x1));
  TRY(b, nc.binary(B::Mul, sin4, x2));
  TRY(real, nc.binary(B::Sub, a, b));
  TRY(c2, nc.binary(B::Mul, sin4, x1));
  TRY(d2, nc.binary(B::Mul, cos4, x2));
  TRY(imag, nc.binary(B::Add, c2, d2));
  Value rotated;
  if (interleaved) {
    SmallVector<int64_t> pairShape{s[0], s[1], s[2], half, 1};
    TRY(r5, nc.reshape(real, pairShape));
    TRY(i5, nc.reshape(imag, pairShape));
    TRY(pairs, nc.create<ConcatOp>(nc.inferred(), ValueRange{r5, i5}, 4));
    TRY(flat, nc.reshape(pairs, {s[0], s[1], s[2], rot}));
    rotated = flat;
  } else {
    TRY(cat, nc.create<ConcatOp>(nc.inferred(), ValueRange{real, imag}, 3));
    rotated = cat;
  }
  Value out = rotated;
  if (rot < d) {
    TRY(pass, sliceLast(nc, v, rot, d - rot));
    TRY(cat, nc.create<ConcatOp>(nc.inferred(), ValueRange{rotated, pass}, 3));
    out = cat;
  }
  if (orig.size() == 3)
    return nc.reshape(out, orig);
  return nc.transpose(out, {0, 2, 1, 3});
}

/// Attention (opsets 23 and 24): softmax(Q K^T * scale + bias) V over
/// [B, H, S, D] heads (3-D inputs split by q_num_heads / kv_num_heads),
/// with the KV cache (past_key/past_value concatenated in front,
/// present_* returned), grouped-query heads, a boolean or additive mask
/// (shorter masks padded as masked), is_causal aligned to the end of the
/// cache, nonpad_kv_seqlen (24), softcap and qk_matmul_output_mode.
/// Rows that every position masks give zeros.
LogicalResult importAttention(NodeContext &nc) {
  TRY(q0, floatInput(nc));
  TRY(k0, nc.requiredInput(1));
  TRY(v0, nc.requiredInput(2));
  int64_t rank = shapeOf(q0).size();
  if ((rank != 3 && rank != 4) || (int64_t)shapeOf(k0).size() != rank ||
      (int64_t)shapeOf(v0).size() != rank)
    return nc.error() << "Q, K and V must all be 3-D or all 4-D, got "
                      << shapeToString(shapeOf(q0)) << ", " << shapeToString(shapeOf(k0))
                      << ", " << shapeToString(shapeOf(v0));
  Type et = elementTypeOf(q0);
  if (elementTypeOf(k0) != et || elementTypeOf(v0) != et)
    return nc.error() << "Q, K and V must have one element type";
  Value q = q0, k = k0, v = v0;
  if (rank == 3) {
    int64_t qh = nc.attrInt("q_num_heads", 0), kvh = nc.attrInt("kv_num_heads", 0);
    TRY(qs, splitHeads(nc, q0, qh, "Q"));
    TRY(ks, splitHeads(nc, k0, kvh, "K"));
    TRY(vs, splitHeads(nc, v0, kvh, "V"));
    q = qs, k = ks, v = vs;
  }
  ArrayRef<int64_t> qs = shapeOf(q), ks = shapeOf(k), vs = shapeOf(v);
  int64_t batch = qs[0], qHeads = qs[1], qLen = qs[2], headSize = qs[3];
  int64_t kvHeads = ks[1];
  if (ks[0] != batch || vs[0] != batch || vs[1] != kvHeads || ks[3] != headSize ||
      vs[2] != ks[2])
    return nc.error() << "K " << shapeToString(ks) << " and V " << shapeToString(vs)
                      << " do not match Q " << shapeToString(qs) << " as [batch, heads, sequence, head size]";
  if (kvHeads <= 0 || qHeads % kvHeads != 0)
    return nc.error() << qHeads << " query heads are not a multiple of " << kvHeads
                      << " key/value heads";
  // The KV cache.
  bool hasPast = nc.hasInput(4) || nc.hasInput(5);
  int64_t pastLen = 0;
  if (hasPast) {
    TRY(pk, nc.requiredInput(4));
    TRY(pv, nc.requiredInput(5));
    if (shapeOf(pk).size() != 4 || shapeOf(pk)[0] != batch || shapeOf(pk)[1] != kvHeads ||
        shapeOf(pk)[3] != headSize || shapeOf(pv).size() != 4 || shapeOf(pv)[0] != batch ||
        shapeOf(pv)[1] != kvHeads || shapeOf(pv)[2] != shapeOf(pk)[2] || shapeOf(pv)[3] != vs[3])
      return nc.error() << "past_key " << shapeToString(shapeOf(pk)) << " and past_value "
                        << shapeToString(shapeOf(pv)) << " do not match K "
                        << shapeToString(ks) << " and V " << shapeToString(vs);
    pastLen = shapeOf(pk)[2];
    TRY(kc, nc.create<ConcatOp>(nc.inferred(), ValueRange{pk, k}, 2));
    TRY(vc, nc.create<ConcatOp>(nc.inferred(), ValueRange{pv, v}, 2));
    k = kc, v = vc;
  }
  int64_t kvLen = shapeOf(k)[2];
  Value presentKey = k, presentValue = v;
  // The additive bias [.., qLen, kvLen], null if none.
  Type f = et;
  double ninf = -std::numeric_limits<double>::infinity();
  Value bias;
  auto addBias = [&](Value extra) -> LogicalResult {
    if (!bias) {
      bias = extra;
      return success();
    }
    auto sum = nc.binary(B::Add, bias, extra);
    if (failed(sum))
      return failure();
    bias = *sum;
    return success();
  };
  if (nc.hasInput(3)) {
    TRY(mask, nc.requiredInput(3));
    Value m = mask;
    if (elementTypeOf(mask).isInteger(1)) {
      TRY(sel, nc.create<SelectOp>(nc.inferred(), mask, nc.scalarConstant(f, 0),
                                   nc.scalarConstant(f, ninf)));
      m = sel;
    } else if (elementTypeOf(mask) != et) {
      return nc.error() << "attn_mask must be bool or " << et << ", got " << elementTypeOf(mask);
    }
    ArrayRef<int64_t> ms = shapeOf(m);
    if (ms.empty() || ms.size() > 4 || ms.back() > kvLen)
      return nc.error() << "attn_mask of shape " << shapeToString(shapeOf(mask))
                        << " does not fit scores of shape "
                        << shapeToString({batch, qHeads, qLen, kvLen});
    if (ms.back() < kvLen) {
      SmallVector<int64_t> pads(2 * ms.size(), 0);
      pads.back() = kvLen - ms.back();
      TRY(p, nc.create<PadOp>(nc.inferred(), PadMode::Constant, m, pads, APFloat(ninf)));
      m = p;
    }
    if (failed(addBias(m)))
      return failure();
  }
  Type i64 = IntegerType::get(nc.ctx(), 64);
  Value rowIdx = iotaAlong(nc, qLen, 0, 2), colIdx = iotaAlong(nc, kvLen, 1, 2);
  Value nonpad;
  if (nc.hasInput(6)) {
    TRY(np, nc.requiredInput(6));
    if (hasPast)
      return nc.error() << "nonpad_kv_seqlen cannot be combined with past_key/past_value";
    if (shapeOf(np) != ArrayRef<int64_t>{batch})
      return nc.error() << "nonpad_kv_seqlen of shape " << shapeToString(shapeOf(np))
                        << " must be [" << batch << "]";
    TRY(n64, nc.castTo(np, i64));
    TRY(n3, nc.reshape(n64, {batch, 1, 1}));
    nonpad = n3;
  }
  auto maskToBias = [&](Value allowed) -> FailureOr<Value> {
    return nc.create<SelectOp>(nc.inferred(), allowed, nc.scalarConstant(f, 0),
                               nc.scalarConstant(f, ninf));
  };
  if (nc.attrInt("is_causal", 0) != 0) {
    // Query i (at absolute position offset + i) sees keys j <= offset + i.
    Value limit;
    if (nonpad) {
      TRY(off, nc.binary(B::Sub, nonpad, nc.scalarConstant(i64, qLen)));
      TRY(l, nc.binary(B::Add, rowIdx, off)); // [B, q, 1]
      limit = l;
    } else {
      TRY(l, nc.binary(B::Add, rowIdx, nc.scalarConstant(i64, pastLen)));
      limit = l;
    }
    TRY(allowed, nc.binary(B::Le, colIdx, limit));
    TRY(cb, maskToBias(allowed));
    Value causal = cb;
    if (nonpad) {
      TRY(c4, nc.reshape(cb, {batch, 1, qLen, kvLen}));
      causal = c4;
    }
    if (failed(addBias(causal)))
      return failure();
  }
  if (nonpad) {
    TRY(allowed, nc.binary(B::Lt, colIdx, nonpad)); // [B, 1, kv]
    TRY(pb, maskToBias(allowed));
    TRY(p4, nc.reshape(pb, {batch, 1, 1, kvLen}));
    if (failed(addBias(p4)))
      return failure();
  }
  // Grouped-query attention: each key/value head serves qHeads / kvHeads
  // consecutive query heads.
  if (qHeads != kvHeads) {
    int64_t reps = qHeads / kvHeads;
    auto repeat = [&](Value t) -> FailureOr<Value> {
      ArrayRef<int64_t> s = shapeOf(t);
      TRY(r, nc.reshape(t, {s[0], s[1], 1, s[2], s[3]}));
      TRY(b, nc.create<BroadcastOp>(RankedTensorType::get({s[0], s[1], reps, s[2], s[3]}, et), r));
      return nc.reshape(b, {s[0], s[1] * reps, s[2], s[3]});
    };
    TRY(kr, repeat(k));
    TRY(vr, repeat(v));
    k = kr, v = vr;
  }
  // Q K^T * scale, the scale's square root applied to each operand.
  double scale = nc.attr("scale") ? nc.attrFloat("scale", 1.0f) : 1.0 / std::sqrt((double)headSize);
  Value root = nc.scalarConstant(et, std::sqrt(scale));
  TRY(qScaled, nc.binary(B::Mul, q, root));
  TRY(kScaled, nc.binary(B::Mul, k, root));
  TRY(kt, nc.transpose(kScaled, {0, 1, 3, 2}));
  TRY(qk, nc.create<MatMulOp>(nc.inferred(), qScaled, kt));
  Value scores = qk;
  double softcap = nc.attrFloat("softcap", 0.0f);
  if (softcap > 0) {
    TRY(d, nc.binary(B::Div, qk, nc.scalarConstant(et, softcap)));
    TRY(t, nc.unary(UnaryKind::Tanh, d));
    TRY(m, nc.binary(B::Mul, t, nc.scalarConstant(et, softcap)));
    scores = m;
  }
  Value withBias = scores;
  if (bias) {
    TRY(wb, nc.binary(B::Add, scores, bias));
    withBias = wb;
    if (shapeOf(wb) != shapeOf(scores))
      return nc.error() << "the mask does not broadcast to the scores' shape "
                        << shapeToString(shapeOf(scores));
  }
  Value probsIn = withBias;
  if (int64_t code = nc.attrInt("softmax_precision", 0)) {
    Type pt = convertElementType(nc.ctx(), code);
    if (!pt || !isa<FloatType>(pt))
      return nc.error() << "softmax_precision " << onnxTypeName(code) << " is not supported";
    TRY(c, nc.castTo(withBias, pt));
    probsIn = c;
  }
  TRY(probs0, nc.create<SoftmaxOp>(nc.inferred(), probsIn, 3, /*log=*/false));
  Value probs = probs0;
  if (bias) {
    // Rows whose every position is masked (bias max -inf) give zeros.
    TRY(bmax, nc.reduce(ReduceKind::Max, bias, {(int64_t)shapeOf(bias).size() - 1}, true));
    TRY(dead, nc.binary(B::Eq, bmax, nc.scalarConstant(et, ninf)));
    Type pt = elementTypeOf(probs0);
    TRY(z, nc.create<SelectOp>(nc.inferred(), dead, nc.scalarConstant(pt, 0), probs0));
    probs = z;
  }
  if (elementTypeOf(probs) != et) {
    TRY(c, nc.castTo(probs, et));
    probs = c;
  }
  TRY(y4, nc.create<MatMulOp>(nc.inferred(), probs, v));
  Value y = y4;
  if (rank == 3) {
    TRY(t, nc.transpose(y4, {0, 2, 1, 3}));
    TRY(r, nc.reshape(t, {batch, qLen, qHeads * shapeOf(v)[3]}));
    y = r;
  }
  nc.setOutput(0, y);
  if (nc.numOutputs() > 1)
    nc.setOutput(1, presentKey);
  if (nc.numOutputs() > 2)
    nc.setOutput(2, presentValue);
  if (nc.numOutputs() > 3) {
    int64_t mode = nc.attrInt("qk_matmul_output_mode", 0);
    Value qkOut = mode == 2 ? withBias : mode == 3 ? probs : scores;
    if (mode < 0 || mode > 3)
      return nc.error() << "qk_matmul_output_mode " << mode << " is not 0 to 3";
    if (elementTypeOf(qkOut) != et) {
      TRY(c, nc.castTo(qkOut, et));
      qkOut = c;
    }
    nc.setOutput(3, qkOut);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ScatterElements, ScatterND
//===----------------------------------------------------------------------===//
//
// Scatters are computed per output element ("pull"): each position finds
// the updates that address it by comparing its own index with every
// update's (fused into one reduction kernel, nothing materialized), so
// duplicates and reductions need no atomics and every target runs them
// as ordinary kernels. With reduction "none" the last update to a
// position wins (as onnxruntime does); constant ScatterND indices resolve
// that at compile time. The comparison costs positions x updates, which
// suits the scatters of real exports (KV-cache writes, index_put with few
// indices); the importer refuses it beyond 2^32.

enum class ScatterReduction { None, Add, Mul, Max, Min };

FailureOr<ScatterReduction> scatterReduction(NodeContext &nc, Type et) {
  std::string r = nc.attrString("reduction", "none");
  ScatterReduction kind;
  if (r == "none")
    kind = ScatterReduction::None;
  else if (r == "add")
    kind = ScatterReduction::Add;
  else if (r == "mul")
    kind = ScatterReduction::Mul;
  else if (r == "max")
    kind = ScatterReduction::Max;
  else if (r == "min")
    kind = ScatterReduction::Min;
  else
    return nc.error() << "unknown reduction '" << r << "'";
  if (kind != ScatterReduction::None && et.isInteger(1))
    return nc.error() << "reduction '" << r << "' of a bool tensor is not supported";
  return kind;
}

/// The value that reduction `kind` leaves unchanged, as a scalar of `et`.
Value scatterIdentity(NodeContext &nc, ScatterReduction kind, Type et) {
  double v = kind == ScatterReduction::Mul ? 1.0 : 0.0;
  if (kind == ScatterReduction::Max || kind == ScatterReduction::Min) {
    bool max = kind == ScatterReduction::Max;
    if (auto it = dyn_cast<IntegerType>(et)) {
      unsigned w = it.getWidth();
      APInt bound = it.isUnsigned() ? (max ? APInt::getMinValue(w) : APInt::getMaxValue(w))
                                    : (max ? APInt::getSignedMinValue(w)
                                           : APInt::getSignedMaxValue(w));
      return nc.constant(DenseElementsAttr::get(RankedTensorType::get({}, et), bound));
    }
    v = max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  return nc.scalarConstant(et, v);
}

/// Combines the existing values with the reduced updates.
FailureOr<Value> scatterCombine(NodeContext &nc, ScatterReduction kind, Value data,
                                Value reduced) {
  switch (kind) {
  case ScatterReduction::Add: return nc.binary(B::Add, data, reduced);
  case ScatterReduction::Mul: return nc.binary(B::Mul, data, reduced);
  case ScatterReduction::Max: return nc.binary(B::Max, data, reduced);
  case ScatterReduction::Min: return nc.binary(B::Min, data, reduced);
  case ScatterReduction::None: break;
  }
  return data;
}

ReduceKind scatterReduceKind(ScatterReduction kind) {
  switch (kind) {
  case ScatterReduction::Mul: return ReduceKind::Prod;
  case ScatterReduction::Max: return ReduceKind::Max;
  case ScatterReduction::Min: return ReduceKind::Min;
  default: return ReduceKind::Sum;
  }
}

LogicalResult checkScatterSize(NodeContext &nc, int64_t positions, int64_t updates) {
  int64_t pairs;
  if (__builtin_mul_overflow(positions, updates, &pairs) || pairs > (int64_t(1) << 32))
    return nc.error() << "run-time indices compare each of " << positions
                      << " positions with each of " << updates
                      << " updates, too many (at most 2^32 pairs)";
  return success();
}

/// ScatterElements (and the older Scatter): updates[j] goes to data at j
/// with its `axis` coordinate replaced by indices[j].
FailureOr<Value> importScatterElements(NodeContext &nc) {
  TRY(data, nc.requiredInput(0));
  TRY(indices, nc.requiredInput(1));
  TRY(updates, nc.requiredInput(2));
  Type et = elementTypeOf(data);
  SmallVector<int64_t> ds(shapeOf(data)), us(shapeOf(updates));
  int64_t rank = ds.size();
  if (rank == 0 || (int64_t)us.size() != rank || shapeOf(indices) != ArrayRef<int64_t>(us))
    return nc.error() << "data " << shapeToString(ds) << ", indices "
                      << shapeToString(shapeOf(indices)) << " and updates " << shapeToString(us)
                      << " must have one rank (at least 1), indices the shape of updates";
  if (elementTypeOf(updates) != et)
    return nc.error() << "updates have type " << elementTypeOf(updates) << ", data " << et;
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", 0), rank));
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && us[d] > ds[d])
      return nc.error() << "updates " << shapeToString(us) << " exceed data "
                        << shapeToString(ds) << " at axis " << d;
  TRY(kind, scatterReduction(nc, et));
  if (failed(nc.checkIndices(1, {ds[axis]})))
    return failure();
  int64_t k = us[axis];
  if (product(us) == 0)
    return data;
  if (failed(checkScatterSize(nc, product(ds), k)))
    return failure();
  Type i64 = IntegerType::get(nc.ctx(), 64);
  TRY(idx, wrapNegativeIndices(nc, indices, nc.scalarConstant(i64, ds[axis])));
  // Indices and updates padded off the axis to data's extent (index -1
  // matches nothing), the axis moved last, a unit dim in its place:
  // [d0, .., 1, .., K] against positions [1, .., D_axis, .., 1].
  SmallVector<int64_t> pads(2 * rank, 0);
  bool padded = false;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && us[d] < ds[d]) {
      pads[rank + d] = ds[d] - us[d];
      padded = true;
    }
  Value u = updates;
  if (padded) {
    TRY(pi, nc.create<PadOp>(nc.inferred(), PadMode::Constant, idx, pads, APFloat(-1.0)));
    idx = pi;
    TRY(pu, nc.create<PadOp>(nc.inferred(), PadMode::Constant, updates, pads, APFloat(0.0)));
    u = pu;
  }
  SmallVector<int64_t> perm, expanded(ds);
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  expanded[axis] = 1;
  expanded.push_back(k);
  auto axisLast = [&](Value v) -> FailureOr<Value> {
    TRY(t, nc.transpose(v, perm));
    return nc.reshape(t, expanded);
  };
  TRY(idxE, axisLast(idx));
  TRY(eq, nc.binary(B::Eq, idxE, iotaAlong(nc, ds[axis], axis, rank + 1)));
  if (kind == ScatterReduction::None) {
    TRY(cand, nc.create<SelectOp>(nc.inferred(), eq, iotaAlong(nc, k, rank, rank + 1),
                                  nc.scalarConstant(i64, -1)));
    TRY(last, nc.reduce(ReduceKind::Max, cand, {rank}, /*keepDims=*/false));
    TRY(hit, nc.binary(B::Ge, last, nc.scalarConstant(i64, 0)));
    TRY(safe, nc.binary(B::Max, last, nc.scalarConstant(i64, 0)));
    TRY(picked, nc.create<GatherElementsOp>(nc.inferred(), u, safe, axis));
    return nc.create<SelectOp>(nc.inferred(), hit, picked, data);
  }
  TRY(uE, axisLast(u));
  TRY(sel, nc.create<SelectOp>(nc.inferred(), eq, uE, scatterIdentity(nc, kind, et)));
  TRY(reduced, nc.reduce(scatterReduceKind(kind), sel, {rank}, /*keepDims=*/false));
  return scatterCombine(nc, kind, data, reduced);
}

/// ScatterND: updates[q] (a slice data.shape[k:]) goes to data at the
/// index tuple indices[q] (k long). Data is viewed as [P, S] rows, P the
/// positions of its first k dims.
FailureOr<Value> importScatterND(NodeContext &nc) {
  TRY(data, nc.requiredInput(0));
  TRY(indices, nc.requiredInput(1));
  TRY(updates, nc.requiredInput(2));
  Type et = elementTypeOf(data);
  ArrayRef<int64_t> ds = shapeOf(data), is = shapeOf(indices), us = shapeOf(updates);
  if (is.empty() || is.back() < 1 || is.back() > (int64_t)ds.size())
    return nc.error() << "indices of shape " << shapeToString(is)
                      << " must end in a dim of 1 to " << ds.size() << " (the data's rank)";
  int64_t k = is.back();
  SmallVector<int64_t> expected(is.drop_back());
  llvm::append_range(expected, ds.drop_front(k));
  if (us != ArrayRef<int64_t>(expected))
    return nc.error() << "updates of shape " << shapeToString(us) << " must be "
                      << shapeToString(expected) << " for indices " << shapeToString(is)
                      << " and data " << shapeToString(ds);
  if (elementTypeOf(updates) != et)
    return nc.error() << "updates have type " << elementTypeOf(updates) << ", data " << et;
  TRY(kind, scatterReduction(nc, et));
  SmallVector<int64_t> dims(ds.take_front(k));
  if (failed(nc.checkIndices(1, dims, /*componentwise=*/true)))
    return failure();
  int64_t m = product(is.drop_back()), p = product(dims), s = product(ds.drop_front(k));
  if (m == 0)
    return data;
  Type i64 = IntegerType::get(nc.ctx(), 64);
  TRY(dataF, nc.reshape(data, {p, s}));
  TRY(updF, nc.reshape(updates, {m, s}));
  TRY(linear, linearIndices(nc, indices, dims)); // folds for constant indices
  auto folded = linear.getDefiningOp<ConstantOp>();
  auto constLinear = folded ? dyn_cast<DenseElementsAttr>(folded.getValue()) : nullptr;
  Value last; // [P]: the last update of each position, -1 if none
  if (constLinear && kind == ScatterReduction::None) {
    SmallVector<int64_t> lastOf(p, -1);
    int64_t q = 0;
    for (APInt pos : constLinear.getValues<APInt>())
      lastOf[pos.getSExtValue()] = q++;
    last = nc.constant(DenseElementsAttr::get(RankedTensorType::get({p}, i64),
                                              ArrayRef<int64_t>(lastOf)));
  } else {
    if (failed(checkScatterSize(nc, p, m)))
      return failure();
    TRY(row, nc.reshape(linear, {1, m}));
    TRY(eq, nc.binary(B::Eq, iotaAlong(nc, p, 0, 2), row)); // [P, M]
    if (kind != ScatterReduction::None) {
      Value reduced;
      if (kind == ScatterReduction::Add && !isa<IntegerType>(et)) {
        // A one-hot [P, M] x [M, S] product sums each position's updates.
        TRY(onehot, nc.castTo(eq, et));
        TRY(sum, nc.create<MatMulOp>(nc.inferred(), onehot, updF));
        reduced = sum;
      } else {
        TRY(eq3, nc.reshape(eq, {p, m, 1}));
        TRY(u3, nc.reshape(updF, {1, m, s}));
        TRY(sel, nc.create<SelectOp>(nc.inferred(), eq3, u3, scatterIdentity(nc, kind, et)));
        TRY(r, nc.reduce(scatterReduceKind(kind), sel, {1}, /*keepDims=*/false));
        reduced = r;
      }
      TRY(out, scatterCombine(nc, kind, dataF, reduced));
      return nc.reshape(out, ds);
    }
    TRY(cand, nc.create<SelectOp>(nc.inferred(), eq, iotaAlong(nc, m, 1, 2),
                                  nc.scalarConstant(i64, -1)));
    TRY(l, nc.reduce(ReduceKind::Max, cand, {1}, /*keepDims=*/false));
    last = l;
  }
  TRY(hit, nc.binary(B::Ge, last, nc.scalarConstant(i64, 0)));
  TRY(hit2, nc.reshape(hit, {p, 1}));
  TRY(safe, nc.binary(B::Max, last, nc.scalarConstant(i64, 0)));
  TRY(rows, nc.create<GatherOp>(nc.inferred(), updF, safe, 0));
  TRY(out, nc.create<SelectOp>(nc.inferred(), hit2, rows, dataF));
  return nc.reshape(out, ds);
}

} // namespace

void kiln::detail::addLayerImporters(llvm::StringMap<OpImporter> &t) {
  t["Hardmax"] = oneOutput(importHardmax);
  t["EyeLike"] = oneOutput(importEyeLike);
  t["GroupNormalization"] = oneOutput(importGroupNorm);
  t["LRN"] = oneOutput(importLRN);
  t["LpNormalization"] = oneOutput(importLpNormalization);
  t["MeanVarianceNormalization"] = oneOutput(importMVN);
  t["NegativeLogLikelihoodLoss"] = oneOutput(importNLLLoss);
  t["SoftmaxCrossEntropyLoss"] = importSCELoss;
  t["RotaryEmbedding"] = oneOutput(importRotaryEmbedding);
  t["Attention"] = importAttention;
  t["ScatterElements"] = oneOutput(importScatterElements);
  t["Scatter"] = oneOutput(importScatterElements);
  t["ScatterND"] = oneOutput(importScatterND);
}
