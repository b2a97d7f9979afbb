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

//===----------------------------------------------------------------------===//
// GridSample
//===----------------------------------------------------------------------===//

/// GridSample (opsets 16, 20, 22): samples X [N, C, D1..Dr] at the grid's
/// normalized points [N, O1..Or, r] (last entry first: x addresses the
/// last spatial dim). Each interpolation tap is one row gather from X laid
/// out as [N * P, C] (P = D1 * ... * Dr); the taps' weights (products of
/// per-dim weights, zero for taps outside X with zeros padding) scale and
/// sum them. Coordinates follow the operator's reference: unnormalized by
/// align_corners, clamped (border) or reflected (reflection) only when
/// outside the border, rounded half to even (nearest), cubic taps with
/// A = -0.75.
FailureOr<Value> importGridSample(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(grid, nc.requiredInput(1));
  SmallVector<int64_t> xs(shapeOf(x)), gs(shapeOf(grid));
  int64_t r = (int64_t)xs.size() - 2;
  if (r < 1 || (nc.opset < 20 && r != 2))
    return nc.error() << "input X must be " << (nc.opset < 20 ? "4-D" : "at least 3-D")
                      << ", got " << shapeToString(xs);
  if ((int64_t)gs.size() != r + 2 || gs[0] != xs[0] || gs.back() != r)
    return nc.error() << "grid must have shape [" << xs[0] << ", ..., " << r
                      << "] with " << r << " output dims for X " << shapeToString(xs)
                      << ", got " << shapeToString(gs);
  Type gt = elementTypeOf(grid);
  if (!isa<FloatType>(gt))
    return nc.error() << "grid must be a floating-point tensor";
  std::string mode = nc.attrString("mode", nc.opset < 20 ? "bilinear" : "linear");
  if (mode == "bilinear")
    mode = "linear";
  if (mode == "bicubic")
    mode = "cubic";
  if (mode != "linear" && mode != "nearest" && mode != "cubic")
    return nc.error() << "unknown mode '" << nc.attrString("mode", "") << "'";
  std::string padding = nc.attrString("padding_mode", "zeros");
  if (padding != "zeros" && padding != "border" && padding != "reflection")
    return nc.error() << "unknown padding_mode '" << padding << "'";
  bool align = nc.attrInt("align_corners", 0) != 0;
  int64_t n = xs[0], c = xs[1];
  ArrayRef<int64_t> dims = ArrayRef<int64_t>(xs).drop_front(2);
  SmallVector<int64_t> outDims(ArrayRef<int64_t>(gs).slice(1, r));
  int64_t p = product(dims), q = product(outDims);
  for (int64_t d : dims)
    if (d == 0)
      return nc.error() << "input X has an empty spatial dim: " << shapeToString(xs);
  // Coordinates are computed in f32 at least.
  Type ct = gt.getIntOrFloatBitWidth() < 32 ? Float32Type::get(nc.ctx()) : gt;
  Type i64 = IntegerType::get(nc.ctx(), 64);
  auto k = [&](double v) { return nc.scalarConstant(ct, v); };
  TRY(g32, nc.castTo(grid, ct));
  TRY(gflat, nc.reshape(g32, {n, q, r}));

  // Per spatial dim: the candidate taps' integer positions and weights,
  // each [n, q].
  struct Tap {
    Value index; // i64, already clamped/reflected into range
    Value weight; // ct, 0 where zeros padding drops the tap
  };
  SmallVector<SmallVector<Tap>> taps(r);
  for (int64_t i = 0; i < r; ++i) {
    int64_t len = dims[i];
    TRY(gi, sliceLast(nc, gflat, r - 1 - i, 1));
    TRY(g, nc.reshape(gi, {n, q}));
    // Unnormalize.
    TRY(g1, nc.binary(B::Add, g, k(1)));
    Value v;
    if (align) {
      TRY(t, nc.binary(B::Mul, g1, k((len - 1) / 2.0)));
      v = t;
    } else {
      TRY(t, nc.binary(B::Mul, g1, k(len / 2.0)));
      TRY(t2, nc.binary(B::Sub, t, k(0.5)));
      v = t2;
    }
    if (mode == "nearest") {
      TRY(rv, nc.unary(UnaryKind::Round, v));
      v = rv;
    }
    double lo = align ? 0 : -0.5, hi = align ? len - 1 : len - 0.5;
    // Reflects `u` into [lo, hi] by the nearer border, as often as needed.
    auto reflect = [&](Value u) -> FailureOr<Value> {
      double range = hi - lo;
      if (range <= 0)
        return nc.binary(B::Mul, u, k(0)); // a single position
      TRY(below, nc.binary(B::Lt, u, k(lo)));
      TRY(dBelow, nc.binary(B::Sub, k(lo), u));
      TRY(dAbove, nc.binary(B::Sub, u, k(hi)));
      TRY(dist, nc.create<SelectOp>(nc.inferred(), below, dBelow, dAbove));
      TRY(turns0, nc.binary(B::Div, dist, k(range)));
      TRY(turns, nc.unary(UnaryKind::Floor, turns0));
      TRY(whole, nc.binary(B::Mul, turns, k(range)));
      TRY(rest, nc.binary(B::Sub, dist, whole));
      TRY(half, nc.binary(B::Mul, turns, k(0.5)));
      TRY(halfFloor, nc.unary(UnaryKind::Floor, half));
      TRY(even, nc.binary(B::Eq, half, halfFloor));
      TRY(fromLo, nc.binary(B::Add, k(lo), rest));
      TRY(fromHi, nc.binary(B::Sub, k(hi), rest));
      // Below: even -> lo + rest, odd -> hi - rest; above: the reverse.
      TRY(nearHi, nc.binary(B::Xor, below, even));
      return nc.create<SelectOp>(nc.inferred(), nearHi, fromHi, fromLo);
    };
    TRY(outLo, nc.binary(B::Lt, v, k(lo)));
    TRY(outHi, nc.binary(B::Gt, v, k(hi)));
    TRY(outside, nc.binary(B::Or, outLo, outHi));
    if (padding == "border") {
      TRY(c0, nc.binary(B::Max, v, k(0)));
      TRY(c1, nc.binary(B::Min, c0, k(len - 1)));
      TRY(sel, nc.create<SelectOp>(nc.inferred(), outside, c1, v));
      v = sel;
    } else if (padding == "reflection") {
      TRY(rv, reflect(v));
      TRY(sel, nc.create<SelectOp>(nc.inferred(), outside, rv, v));
      v = sel;
    }
    // A tap at integer position `pos` (ct) with weight `w`: its index in
    // range per the padding mode.
    auto addTap = [&](Value pos, Value w) -> LogicalResult {
      Value idx = pos;
      Value weight = w;
      if (padding == "zeros") {
        TRY(ge, nc.binary(B::Ge, pos, k(0)));
        TRY(lt, nc.binary(B::Le, pos, k(len - 1)));
        TRY(in, nc.binary(B::And, ge, lt));
        TRY(wz, nc.create<SelectOp>(nc.inferred(), in, w, k(0)));
        weight = wz;
      } else if (padding == "reflection") {
        TRY(o1, nc.binary(B::Lt, pos, k(lo)));
        TRY(o2, nc.binary(B::Gt, pos, k(hi)));
        TRY(o, nc.binary(B::Or, o1, o2));
        TRY(rv, reflect(pos));
        TRY(sel, nc.create<SelectOp>(nc.inferred(), o, rv, pos));
        idx = sel;
      }
      // Clamped in every mode: zeros-padded taps have weight 0 but must
      // still address X.
      TRY(c0, nc.binary(B::Max, idx, k(0)));
      TRY(c1, nc.binary(B::Min, c0, k(len - 1)));
      TRY(ii, nc.castTo(c1, i64));
      taps[i].push_back({ii, weight});
      return success();
    };
    if (mode == "nearest") {
      TRY(one, nc.create<BroadcastOp>(RankedTensorType::get({n, q}, ct), k(1)));
      if (failed(addTap(v, one)))
        return failure();
      continue;
    }
    TRY(base, nc.unary(UnaryKind::Floor, v));
    TRY(t, nc.binary(B::Sub, v, base));
    if (mode == "linear") {
      TRY(w0, nc.binary(B::Sub, k(1), t));
      TRY(next, nc.binary(B::Add, base, k(1)));
      if (failed(addTap(base, w0)) || failed(addTap(next, t)))
        return failure();
      continue;
    }
    // Cubic convolution weights, A = -0.75, for the taps at base - 1 ..
    // base + 2 (distances 1 + t, t, 1 - t, 2 - t).
    const double a = -0.75;
    auto far = [&](Value d) -> FailureOr<Value> { // 1 <= d <= 2
      TRY(e1, nc.binary(B::Mul, d, k(a)));
      TRY(e2, nc.binary(B::Sub, e1, k(5 * a)));
      TRY(e3, nc.binary(B::Mul, e2, d));
      TRY(e4, nc.binary(B::Add, e3, k(8 * a)));
      TRY(e5, nc.binary(B::Mul, e4, d));
      return nc.binary(B::Sub, e5, k(4 * a));
    };
    auto near = [&](Value d) -> FailureOr<Value> { // 0 <= d <= 1
      TRY(e1, nc.binary(B::Mul, d, k(a + 2)));
      TRY(e2, nc.binary(B::Sub, e1, k(a + 3)));
      TRY(e3, nc.binary(B::Mul, e2, d));
      TRY(e4, nc.binary(B::Mul, e3, d));
      return nc.binary(B::Add, e4, k(1));
    };
    TRY(d0, nc.binary(B::Add, t, k(1)));
    TRY(d2, nc.binary(B::Sub, k(1), t));
    TRY(d3, nc.binary(B::Sub, k(2), t));
    TRY(w0, far(d0));
    TRY(w1, near(t));
    TRY(w2, near(d2));
    TRY(w3, far(d3));
    Value ws[4] = {w0, w1, w2, w3};
    for (int j = 0; j < 4; ++j) {
      TRY(pos, nc.binary(B::Add, base, k(j - 1)));
      if (failed(addTap(pos, ws[j])))
        return failure();
    }
  }

  // X as rows of channels: [N * P, C].
  SmallVector<int64_t> perm{0};
  for (int64_t i = 0; i < r; ++i)
    perm.push_back(2 + i);
  perm.push_back(1);
  TRY(xt, nc.transpose(x, perm));
  TRY(rows, nc.reshape(xt, {n * p, c}));
  SmallVector<int64_t> batchBase(n);
  for (int64_t b = 0; b < n; ++b)
    batchBase[b] = b * p;
  Value baseIdx = nc.constant(DenseElementsAttr::get(
      RankedTensorType::get({n, 1}, i64), ArrayRef<int64_t>(batchBase)));
  SmallVector<int64_t> strides(r, 1);
  for (int64_t i = r - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * dims[i + 1];

  Type et = elementTypeOf(x);
  Value sum;
  SmallVector<size_t> pick(r, 0);
  while (true) {
    Value idx = baseIdx, w;
    for (int64_t i = 0; i < r; ++i) {
      const Tap &tap = taps[i][pick[i]];
      TRY(scaled, nc.binary(B::Mul, tap.index, nc.scalarConstant(i64, strides[i])));
      TRY(ni, nc.binary(B::Add, idx, scaled));
      idx = ni;
      if (!w) {
        w = tap.weight;
      } else {
        TRY(nw, nc.binary(B::Mul, w, tap.weight));
        w = nw;
      }
    }
    TRY(wc, nc.castTo(w, et));
    TRY(w3, nc.reshape(wc, {n, q, 1}));
    TRY(ns, addWeightedGather(nc, sum, rows, idx, 0, w3)); // [n, q, c]
    sum = ns;
    int64_t i = r - 1;
    while (i >= 0 && ++pick[i] == taps[i].size())
      pick[i--] = 0;
    if (i < 0)
      break;
  }
  TRY(out, nc.transpose(sum, {0, 2, 1})); // [n, c, q]
  SmallVector<int64_t> outShape{n, c};
  outShape.append(outDims.begin(), outDims.end());
  return nc.reshape(out, outShape);
}

/// AffineGrid (opset 20): the sampling grid [N, (D,) H, W, r] of the
/// affine maps theta [N, r, r + 1] applied to the normalized output
/// positions (x, y[, z], 1), spaced as align_corners says.
FailureOr<Value> importAffineGrid(NodeContext &nc) {
  TRY(theta, floatInput(nc));
  TRY(size, nc.constInts(1, "size"));
  if (size.size() != 4 && size.size() != 5)
    return nc.error() << "size must list 4 (N, C, H, W) or 5 (N, C, D, H, W) values, got "
                      << size.size();
  int64_t r = size.size() - 2, n = size[0];
  ArrayRef<int64_t> ts = shapeOf(theta);
  if (ts.size() != 3 || ts[0] != n || ts[1] != r || ts[2] != r + 1)
    return nc.error() << "theta must have shape [" << n << ", " << r << ", " << r + 1
                      << "], got " << shapeToString(ts);
  SmallVector<int64_t> dims(size.begin() + 2, size.end());
  for (int64_t d : dims)
    if (d <= 0)
      return nc.error() << "size holds a non-positive dim " << listToString(size);
  int64_t p = product(dims);
  if (p > (int64_t(1) << 26))
    return nc.error() << "the grid (" << listToString(dims) << ") is too large";
  bool align = nc.attrInt("align_corners", 0) != 0;
  auto coord = [&](int64_t i, int64_t len) {
    if (align)
      return len == 1 ? -1.0 : -1.0 + 2.0 * i / (len - 1);
    return -1.0 + (2.0 * i + 1.0) / len;
  };
  // Rows (x, y[, z], 1): x runs along the last dim.
  SmallVector<double> base(p * (r + 1));
  for (int64_t pos = 0; pos < p; ++pos) {
    int64_t rest = pos;
    for (int64_t d = r - 1; d >= 0; --d) {
      int64_t i = rest % dims[d];
      rest /= dims[d];
      base[pos * (r + 1) + (r - 1 - d)] = coord(i, dims[d]);
    }
    base[pos * (r + 1) + r] = 1.0;
  }
  Value b = nc.constant(DenseElementsAttr::get(
      RankedTensorType::get({p, r + 1}, Float64Type::get(nc.ctx())), ArrayRef<double>(base)));
  TRY(bc, nc.castTo(b, elementTypeOf(theta)));
  TRY(tt, nc.transpose(theta, {0, 2, 1}));                   // [N, r + 1, r]
  TRY(g, nc.create<MatMulOp>(nc.inferred(), bc, tt));        // [N, P, r]
  SmallVector<int64_t> out{n};
  out.append(dims.begin(), dims.end());
  out.push_back(r);
  return nc.reshape(g, out);
}

/// DeformConv (opsets 19, 22; 2-D): a convolution whose kernel taps are
/// moved by per-position offsets and scaled by an optional mask. Each tap
/// samples the input bilinearly (zero outside, as GridSample with
/// align_corners and zeros padding); the samples of all taps form the
/// columns of one grouped matmul with the filter.
FailureOr<Value> importDeformConv(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(w, nc.requiredInput(1));
  TRY(offset, nc.requiredInput(2));
  Value bias = nc.input(3), mask = nc.input(4);
  SmallVector<int64_t> xs(shapeOf(x)), ws(shapeOf(w)), os(shapeOf(offset));
  if (xs.size() != 4 || ws.size() != 4 || os.size() != 4)
    return nc.error() << "only 2-D DeformConv is supported: X, W and offset must be 4-D, got "
                      << shapeToString(xs) << ", " << shapeToString(ws) << ", "
                      << shapeToString(os);
  Type et = elementTypeOf(x);
  if (elementTypeOf(w) != et || elementTypeOf(offset) != et ||
      (bias && elementTypeOf(bias) != et) || (mask && elementTypeOf(mask) != et))
    return nc.error() << "X, W, offset, B and mask must have one element type";
  int64_t n = xs[0], c = xs[1], h = xs[2], wd = xs[3], oc = ws[0];
  int64_t group = nc.attrInt("group", 1), og = nc.attrInt("offset_group", 1);
  SmallVector<int64_t> kernel =
      nc.attrInts("kernel_shape").value_or(SmallVector<int64_t>{ws[2], ws[3]});
  auto strides = nc.attrInts("strides").value_or(SmallVector<int64_t>{1, 1});
  auto dil = nc.attrInts("dilations").value_or(SmallVector<int64_t>{1, 1});
  auto pads = nc.attrInts("pads").value_or(SmallVector<int64_t>{0, 0, 0, 0});
  if (kernel.size() != 2 || strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    return nc.error() << "kernel_shape/strides/dilations/pads must list 2/2/2/4 values";
  if (group <= 0 || og <= 0 || c % group || oc % group || c % og || ws[1] * group != c ||
      ws[2] != kernel[0] || ws[3] != kernel[1])
    return nc.error() << "W " << shapeToString(ws) << " does not fit X "
                      << shapeToString(xs) << " with group " << group << ", offset_group "
                      << og << " and kernel " << listToString(kernel);
  int64_t k = kernel[0] * kernel[1];
  int64_t oh = os[2], ow = os[3];
  for (int i = 0; i < 2; ++i)
    if (strides[i] <= 0 || dil[i] <= 0)
      return nc.error() << "strides and dilations must be positive";
  int64_t expH = (h + pads[0] + pads[2] - (kernel[0] - 1) * dil[0] - 1) / strides[0] + 1;
  int64_t expW = (wd + pads[1] + pads[3] - (kernel[1] - 1) * dil[1] - 1) / strides[1] + 1;
  if (os[0] != n || os[1] != og * k * 2 || oh != expH || ow != expW)
    return nc.error() << "offset must have shape [" << n << ", " << og * k * 2 << ", " << expH
                      << ", " << expW << "], got " << shapeToString(os);
  if (mask && shapeOf(mask) != ArrayRef<int64_t>{n, og * k, oh, ow})
    return nc.error() << "mask must have shape [" << n << ", " << og * k << ", " << oh << ", "
                      << ow << "], got " << shapeToString(shapeOf(mask));
  if (bias && shapeOf(bias) != ArrayRef<int64_t>{oc})
    return nc.error() << "B must have shape [" << oc << "], got "
                      << shapeToString(shapeOf(bias));
  int64_t p = oh * ow, cg = c / og;
  if (n * og * k * p * cg > (int64_t(1) << 30))
    return nc.error() << "the sampled columns are too large";
  Type i64 = IntegerType::get(nc.ctx(), 64);
  auto k64 = [&](int64_t v) { return nc.scalarConstant(i64, v); };
  auto kf = [&](double v) { return nc.scalarConstant(et, v); };

  // Sampling positions [n, og, k, oh, ow].
  TRY(off6, nc.reshape(offset, {n, og, k, 2, oh, ow}));
  auto part = [&](int64_t which) -> FailureOr<Value> {
    TRY(sl, nc.create<SliceOp>(RankedTensorType::get({n, og, k, 1, oh, ow}, et), off6,
                               SmallVector<int64_t>{0, 0, 0, which, 0, 0},
                               SmallVector<int64_t>(6, 1)));
    return nc.reshape(sl, {n, og, k, oh, ow});
  };
  TRY(dy, part(0));
  TRY(dx, part(1));
  SmallVector<double> by(k * oh), bx(k * ow);
  for (int64_t ki = 0; ki < k; ++ki) {
    int64_t i = ki / kernel[1], j = ki % kernel[1];
    for (int64_t r = 0; r < oh; ++r)
      by[ki * oh + r] = (double)(r * strides[0] - pads[0] + i * dil[0]);
    for (int64_t q = 0; q < ow; ++q)
      bx[ki * ow + q] = (double)(q * strides[1] - pads[1] + j * dil[1]);
  }
  auto f64 = Float64Type::get(nc.ctx());
  Value byc = nc.constant(DenseElementsAttr::get(RankedTensorType::get({1, 1, k, oh, 1}, f64),
                                                 ArrayRef<double>(by)));
  Value bxc = nc.constant(DenseElementsAttr::get(RankedTensorType::get({1, 1, k, 1, ow}, f64),
                                                 ArrayRef<double>(bx)));
  TRY(byt, nc.castTo(byc, et));
  TRY(bxt, nc.castTo(bxc, et));
  TRY(py, nc.binary(B::Add, dy, byt));
  TRY(px, nc.binary(B::Add, dx, bxt));
  TRY(y0, nc.unary(UnaryKind::Floor, py));
  TRY(x0, nc.unary(UnaryKind::Floor, px));
  TRY(ly, nc.binary(B::Sub, py, y0));
  TRY(lx, nc.binary(B::Sub, px, x0));
  TRY(hy, nc.binary(B::Sub, kf(1), ly));
  TRY(hx, nc.binary(B::Sub, kf(1), lx));
  Value m = Value();
  if (mask) {
    TRY(m5, nc.reshape(mask, {n, og, k, oh, ow}));
    m = m5;
  }

  // X as rows of channels per offset group: [n * og * h * w, cg].
  TRY(x5, nc.reshape(x, {n, og, cg, h * wd}));
  TRY(xt, nc.transpose(x5, {0, 1, 3, 2}));
  TRY(rows, nc.reshape(xt, {n * og * h * wd, cg}));
  SmallVector<int64_t> baseRows(n * og);
  for (int64_t i = 0; i < n * og; ++i)
    baseRows[i] = i * h * wd;
  Value rowBase = nc.constant(DenseElementsAttr::get(
      RankedTensorType::get({n, og, 1, 1, 1}, i64), ArrayRef<int64_t>(baseRows)));

  Value sampled;
  for (int corner = 0; corner < 4; ++corner) {
    int64_t oy = corner / 2, ox = corner % 2;
    TRY(cy, nc.binary(B::Add, y0, kf(oy)));
    TRY(cx, nc.binary(B::Add, x0, kf(ox)));
    TRY(wy, nc.binary(B::Mul, oy ? ly : hy, ox ? lx : hx));
    // Zero weight outside the input.
    TRY(v1, nc.binary(B::Ge, cy, kf(0)));
    TRY(v2, nc.binary(B::Le, cy, kf(h - 1)));
    TRY(v3, nc.binary(B::Ge, cx, kf(0)));
    TRY(v4, nc.binary(B::Le, cx, kf(wd - 1)));
    TRY(v12, nc.binary(B::And, v1, v2));
    TRY(v34, nc.binary(B::And, v3, v4));
    TRY(valid, nc.binary(B::And, v12, v34));
    TRY(wz, nc.create<SelectOp>(nc.inferred(), valid, wy, kf(0)));
    Value weight = wz;
    if (m) {
      TRY(wm, nc.binary(B::Mul, wz, m));
      weight = wm;
    }
    TRY(cyc0, nc.binary(B::Max, cy, kf(0)));
    TRY(cyc, nc.binary(B::Min, cyc0, kf(h - 1)));
    TRY(cxc0, nc.binary(B::Max, cx, kf(0)));
    TRY(cxc, nc.binary(B::Min, cxc0, kf(wd - 1)));
    TRY(iy, nc.castTo(cyc, i64));
    TRY(ix, nc.castTo(cxc, i64));
    TRY(iyw, nc.binary(B::Mul, iy, k64(wd)));
    TRY(pos, nc.binary(B::Add, iyw, ix));
    TRY(idx, nc.binary(B::Add, pos, rowBase));       // [n, og, k, oh, ow]
    TRY(w6, nc.reshape(weight, {n, og, k, oh, ow, 1}));
    TRY(sum, addWeightedGather(nc, sampled, rows, idx, 0, w6)); // [n, og, k, oh, ow, cg]
    sampled = sum;
  }
  // Columns [n, group, (c / group) * k, p], channel-major within a group.
  TRY(st, nc.transpose(sampled, {0, 1, 5, 2, 3, 4}));   // [n, og, cg, k, oh, ow]
  TRY(cols, nc.reshape(st, {n, group, (c / group) * k, p}));
  TRY(wm, nc.reshape(w, {group, oc / group, (c / group) * k}));
  TRY(out, nc.create<MatMulOp>(nc.inferred(), wm, cols)); // [n, group, oc / group, p]
  TRY(y, nc.reshape(out, {n, oc, oh, ow}));
  if (!bias)
    return y;
  TRY(b4, nc.reshape(bias, {1, oc, 1, 1}));
  return nc.binary(B::Add, y, b4);
}

//===----------------------------------------------------------------------===//
// Rearrangements: DepthToSpace, SpaceToDepth, ReverseSequence, OneHot
//===----------------------------------------------------------------------===//

/// The blocksize attribute, checked to divide what it must.
FailureOr<int64_t> blockSize(NodeContext &nc, Value x) {
  if (shapeOf(x).size() != 4)
    return nc.error() << "input must be 4-D (NCHW), got " << shapeToString(shapeOf(x));
  int64_t b = nc.attrInt("blocksize", 0);
  if (b <= 0)
    return nc.error() << "blocksize must be positive, got " << b;
  return b;
}

/// DepthToSpace: channel blocks of b*b become b x b spatial tiles, in DCR
/// (depth, column, row; the default) or CRD order.
FailureOr<Value> importDepthToSpace(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(b, blockSize(nc, x));
  ArrayRef<int64_t> s = shapeOf(x);
  int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  if (c % (b * b) != 0)
    return nc.error() << "channels (" << c << ") are not a multiple of blocksize^2 ("
                      << b * b << ")";
  std::string mode = nc.opset >= 11 ? nc.attrString("mode", "DCR") : "DCR";
  int64_t oc = c / (b * b);
  Value t;
  if (mode == "DCR") {
    TRY(r, nc.reshape(x, {n, b, b, oc, h, w}));
    TRY(tr, nc.transpose(r, {0, 3, 4, 1, 5, 2}));
    t = tr;
  } else if (mode == "CRD") {
    TRY(r, nc.reshape(x, {n, oc, b, b, h, w}));
    TRY(tr, nc.transpose(r, {0, 1, 4, 2, 5, 3}));
    t = tr;
  } else {
    return nc.error() << "unknown mode '" << mode << "' (DCR or CRD)";
  }
  return nc.reshape(t, {n, oc, h * b, w * b});
}

/// SpaceToDepth: b x b spatial tiles become channel blocks.
FailureOr<Value> importSpaceToDepth(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(b, blockSize(nc, x));
  ArrayRef<int64_t> s = shapeOf(x);
  int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  if (h % b != 0 || w % b != 0)
    return nc.error() << "height and width (" << h << ", " << w
                      << ") are not multiples of blocksize " << b;
  TRY(r, nc.reshape(x, {n, c, h / b, b, w / b, b}));
  TRY(t, nc.transpose(r, {0, 3, 5, 1, 2, 4}));
  return nc.reshape(t, {n, c * b * b, h / b, w / b});
}

/// ReverseSequence: along time_axis, the first sequence_lens[i] elements
/// of each batch entry i reversed, the rest kept; one gather_elements
/// whose indices are len - 1 - t below len and t above.
FailureOr<Value> importReverseSequence(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(lens, nc.requiredInput(1));
  SmallVector<int64_t> s(shapeOf(x));
  int64_t rank = s.size();
  if (rank < 2)
    return nc.error() << "input must have rank >= 2, got " << shapeToString(s);
  int64_t timeAxis = nc.attrInt("time_axis", 0), batchAxis = nc.attrInt("batch_axis", 1);
  if (!((timeAxis == 0 && batchAxis == 1) || (timeAxis == 1 && batchAxis == 0)))
    return nc.error() << "time_axis and batch_axis must be 0 and 1 (either way), got "
                      << timeAxis << " and " << batchAxis;
  if (!elementTypeOf(lens).isInteger(64) || shapeOf(lens) != ArrayRef<int64_t>{s[batchAxis]})
    return nc.error() << "sequence_lens must be an int64 tensor of shape [" << s[batchAxis]
                      << "], got " << lens.getType();
  Type i64 = IntegerType::get(nc.ctx(), 64);
  int64_t steps = s[timeAxis];
  if (DenseElementsAttr c = nc.constInput(1))
    for (const APInt &v : c.getValues<APInt>())
      if (v.getSExtValue() < 0 || v.getSExtValue() > steps)
        return nc.error() << "sequence_lens holds " << v.getSExtValue() << ", outside [0, "
                          << steps << "]";
  SmallVector<int64_t> lshape(rank, 1);
  lshape[batchAxis] = s[batchAxis];
  TRY(l, nc.reshape(lens, lshape));
  // Run-time lengths out of range are clamped to [0, steps].
  TRY(l0, nc.binary(B::Max, l, nc.scalarConstant(i64, 0)));
  TRY(lc, nc.binary(B::Min, l0, nc.scalarConstant(i64, steps)));
  Value t = iotaAlong(nc, steps, timeAxis, rank);
  TRY(inside, nc.binary(B::Lt, t, lc));
  TRY(last, nc.binary(B::Sub, lc, nc.scalarConstant(i64, 1)));
  TRY(rev, nc.binary(B::Sub, last, t));
  TRY(idx, nc.create<SelectOp>(nc.inferred(), inside, rev, t));
  TRY(full, nc.create<BroadcastOp>(RankedTensorType::get(s, i64), idx));
  return nc.create<GatherElementsOp>(nc.inferred(), x, full, timeAxis);
}

/// OneHot: `values` [off, on] at each position of a new `axis` of size
/// `depth`, on where the position equals the index (negative indices count
/// from depth; out-of-range ones give all off).
FailureOr<Value> importOneHot(NodeContext &nc) {
  TRY(indices, nc.requiredInput(0));
  TRY(values, nc.requiredInput(2));
  TRY(depthV, nc.constFloats(1, "depth"));
  if (depthV.size() != 1)
    return nc.error() << "depth must hold one value, got " << depthV.size();
  int64_t depth = (int64_t)depthV[0];
  if (depth <= 0 || depth > (int64_t(1) << 24))
    return nc.error() << "depth must be in [1, 2^24], got " << depthV[0];
  if (product(shapeOf(values)) != 2 || shapeOf(values).size() != 1)
    return nc.error() << "values must hold two elements [off, on], got "
                      << shapeToString(shapeOf(values));
  SmallVector<int64_t> s(shapeOf(indices));
  int64_t outRank = s.size() + 1;
  TRY(axis, nc.normalizeAxis(nc.attrInt("axis", -1), outRank));
  if (product(s) > (int64_t(1) << 32) / depth)
    return nc.error() << "the output (" << shapeToString(s) << " x " << depth
                      << ") is too large";
  Type i64 = IntegerType::get(nc.ctx(), 64);
  TRY(idx0, nc.castTo(indices, i64));
  TRY(neg, nc.binary(B::Lt, idx0, nc.scalarConstant(i64, 0)));
  TRY(wrapped, nc.binary(B::Add, idx0, nc.scalarConstant(i64, depth)));
  TRY(idx, nc.create<SelectOp>(nc.inferred(), neg, wrapped, idx0));
  SmallVector<int64_t> expanded(s);
  expanded.insert(expanded.begin() + axis, 1);
  TRY(idxE, nc.reshape(idx, expanded));
  TRY(hit, nc.binary(B::Eq, idxE, iotaAlong(nc, depth, axis, outRank)));
  TRY(off, sliceLast(nc, values, 0, 1));
  TRY(on, sliceLast(nc, values, 1, 1));
  TRY(off0, nc.reshape(off, {}));
  TRY(on0, nc.reshape(on, {}));
  return nc.create<SelectOp>(nc.inferred(), hit, on0, off0);
}

//===----------------------------------------------------------------------===//
// Celu
//===----------------------------------------------------------------------===//

/// Celu: alpha * elu(x / alpha).
FailureOr<Value> importCelu(NodeContext &nc) {
  TRY(x, floatInput(nc));
  double alpha = nc.attrFloat("alpha", 1.0f);
  if (alpha == 0)
    return nc.error() << "alpha must not be 0";
  Type et = elementTypeOf(x);
  TRY(d, nc.binary(B::Div, x, nc.scalarConstant(et, alpha)));
  TRY(e, nc.unary(UnaryKind::Elu, d, 1.0f));
  return nc.binary(B::Mul, e, nc.scalarConstant(et, alpha));
}

/// CenterCropPad: each listed axis cropped or zero-padded to its target
/// size around the center (the odd element goes to the end).
FailureOr<Value> importCenterCropPad(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(target, nc.constInts(1, "shape"));
  SmallVector<int64_t> in(shapeOf(x));
  int64_t rank = in.size();
  SmallVector<int64_t> axes;
  if (auto given = nc.attrInts("axes")) {
    for (int64_t a : *given) {
      TRY(ax, nc.normalizeAxis(a, rank, "axes entry"));
      axes.push_back(ax);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  if (target.size() != axes.size())
    return nc.error() << "shape lists " << target.size() << " sizes for " << axes.size()
                      << " axes";
  SmallVector<int64_t> cropShape(in), starts(rank, 0), steps(rank, 1), pads(2 * rank, 0);
  bool crop = false, pad = false;
  for (auto [i, a] : llvm::enumerate(axes)) {
    int64_t want = target[i], have = in[a];
    if (want < 0)
      return nc.error() << "shape holds a negative size " << want;
    if (want < have) {
      cropShape[a] = want;
      starts[a] = (have - want) / 2;
      crop = true;
    } else if (want > have) {
      pads[a] = (want - have) / 2;
      pads[rank + a] = want - have - pads[a];
      pad = true;
    }
  }
  Value v = x;
  if (crop) {
    TRY(c, nc.create<SliceOp>(RankedTensorType::get(cropShape, elementTypeOf(x)), x, starts,
                              steps));
    v = c;
  }
  if (pad) {
    TRY(p, nc.create<PadOp>(nc.inferred(), PadMode::Constant, v, pads, APFloat(0.0)));
    v = p;
  }
  return v;
}

/// Col2Im: sums the columns [N, C * prod(block), L] back into images
/// [N, C, image_shape...]: a transposed convolution, grouped by channel,
/// whose filter routes column k to kernel position k.
FailureOr<Value> importCol2Im(NodeContext &nc) {
  TRY(x, floatInput(nc));
  TRY(image, nc.constInts(1, "image_shape"));
  TRY(block, nc.constInts(2, "block_shape"));
  size_t n = image.size();
  if (n == 0 || block.size() != n)
    return nc.error() << "image_shape and block_shape must list the same number (>= 1) of dims";
  ArrayRef<int64_t> xs = shapeOf(x);
  if (xs.size() != 3)
    return nc.error() << "input must be [N, C * prod(block_shape), L], got "
                      << shapeToString(xs);
  auto strides = nc.attrInts("strides").value_or(SmallVector<int64_t>(n, 1));
  auto dilations = nc.attrInts("dilations").value_or(SmallVector<int64_t>(n, 1));
  auto pads = nc.attrInts("pads").value_or(SmallVector<int64_t>(2 * n, 0));
  if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n)
    return nc.error() << "strides/dilations/pads must list " << n << "/" << n << "/" << 2 * n
                      << " values";
  int64_t k = product(block);
  if (k <= 0 || xs[1] % k != 0)
    return nc.error() << "the input's " << xs[1] << " rows are not a multiple of the block's "
                      << k << " positions";
  int64_t c = xs[1] / k;
  SmallVector<int64_t> blocks, outPad;
  for (size_t i = 0; i < n; ++i) {
    if (image[i] <= 0 || block[i] <= 0 || strides[i] <= 0 || dilations[i] <= 0 || pads[i] < 0 ||
        pads[n + i] < 0)
      return nc.error() << "image_shape, block_shape, strides and dilations must be positive "
                           "and pads non-negative";
    int64_t span = image[i] + pads[i] + pads[n + i] - dilations[i] * (block[i] - 1) - 1;
    if (span < 0)
      return nc.error() << "the block does not fit the padded image along dim " << i;
    blocks.push_back(span / strides[i] + 1);
  }
  if (product(blocks) != xs[2])
    return nc.error() << "the input has " << xs[2] << " columns; image_shape "
                      << listToString(image) << " with these blocks gives " << product(blocks);
  for (size_t i = 0; i < n; ++i) {
    int64_t out = strides[i] * (blocks[i] - 1) + dilations[i] * (block[i] - 1) + 1 - pads[i] -
                  pads[n + i];
    outPad.push_back(image[i] - out);
  }
  SmallVector<int64_t> shaped{xs[0], xs[1]};
  shaped.append(blocks.begin(), blocks.end());
  TRY(xr, nc.reshape(x, shaped));
  if (c * k > (int64_t(1) << 24))
    return nc.error() << "the filter (" << c * k << " x " << k << ") is too large";
  SmallVector<int64_t> wshape{c * k, 1};
  wshape.append(block.begin(), block.end());
  SmallVector<double> w(c * k * k, 0.0);
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t j = 0; j < k; ++j)
      w[(ch * k + j) * k + j] = 1.0;
  Value wv = nc.constant(DenseElementsAttr::get(
      RankedTensorType::get(wshape, Float64Type::get(nc.ctx())), ArrayRef<double>(w)));
  TRY(wc, nc.castTo(wv, elementTypeOf(x)));
  return nc.create<ConvTransposeOp>(nc.inferred(), xr, wc, Value(), strides, pads, dilations,
                                    outPad, c);
}

//===----------------------------------------------------------------------===//
// NonZero, Compress: data-dependent shapes, known when the data is
//===----------------------------------------------------------------------===//

/// Which elements of a constant are nonzero, in row-major order.
SmallVector<bool> nonzeroMask(DenseElementsAttr attr) {
  SmallVector<bool> out;
  Type et = attr.getElementType();
  if (et.isInteger(1)) {
    for (bool b : attr.getValues<bool>())
      out.push_back(b);
  } else if (isa<FloatType>(et)) {
    for (const APFloat &v : attr.getValues<APFloat>())
      out.push_back(!v.isZero());
  } else {
    for (const APInt &v : attr.getValues<APInt>())
      out.push_back(!v.isZero());
  }
  return out;
}

/// NonZero: the indices [rank, count] of the nonzero elements. Its shape
/// is the data's, so the input must be a compile-time constant.
FailureOr<Value> importNonZero(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  DenseElementsAttr c = nc.constInput(0);
  if (!c)
    return nc.error() << "its output shape depends on the input's values, so the input must be "
                         "a compile-time constant (Kiln compiles static shapes)";
  SmallVector<int64_t> shape(shapeOf(x));
  int64_t rank = std::max<int64_t>(1, shape.size());
  SmallVector<bool> mask = nonzeroMask(c);
  SmallVector<int64_t> positions;
  for (auto [i, nz] : llvm::enumerate(mask))
    if (nz)
      positions.push_back(i);
  int64_t count = positions.size();
  SmallVector<int64_t> out(rank * count, 0);
  for (auto [j, pos] : llvm::enumerate(positions)) {
    int64_t rest = pos;
    for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
      out[d * count + j] = shape[d] ? rest % shape[d] : 0;
      rest = shape[d] ? rest / shape[d] : 0;
    }
  }
  return nc.constant(DenseElementsAttr::get(
      RankedTensorType::get({rank, count}, IntegerType::get(nc.ctx(), 64)), ArrayRef<int64_t>(out)));
}

/// Compress: the slices along `axis` (or elements of the flattened input)
/// where the condition holds. The condition must be a compile-time
/// constant: it is then a gather of known indices.
FailureOr<Value> importCompress(NodeContext &nc) {
  TRY(x, nc.requiredInput(0));
  TRY(cond, nc.requiredInput(1));
  DenseElementsAttr c = nc.constInput(1);
  if (!c)
    return nc.error() << "its output shape depends on the condition's values, so the condition "
                         "must be a compile-time constant (Kiln compiles static shapes)";
  if (shapeOf(cond).size() != 1 || !elementTypeOf(cond).isInteger(1))
    return nc.error() << "condition must be a 1-D bool tensor, got " << cond.getType();
  Value v = x;
  int64_t axis = 0;
  if (nc.attr("axis")) {
    TRY(a, nc.normalizeAxis(nc.attrInt("axis", 0), shapeOf(x).size()));
    axis = a;
  } else {
    TRY(flat, nc.reshape(x, {product(shapeOf(x))}));
    v = flat;
  }
  int64_t len = shapeOf(v)[axis];
  SmallVector<bool> mask = nonzeroMask(c);
  if ((int64_t)mask.size() > len)
    return nc.error() << "condition has " << mask.size() << " entries, more than the "
                      << len << " it selects from";
  SmallVector<int64_t> picked;
  for (auto [i, keep] : llvm::enumerate(mask))
    if (keep)
      picked.push_back(i);
  if (picked.empty())
    return nc.error() << "the condition selects nothing (an empty result)";
  Value idx = nc.constant(DenseElementsAttr::get(
      RankedTensorType::get({(int64_t)picked.size()}, IntegerType::get(nc.ctx(), 64)),
      ArrayRef<int64_t>(picked)));
  return nc.create<GatherOp>(nc.inferred(), v, idx, axis);
}

} // namespace

FailureOr<Value> kiln::detail::sliceLast(NodeContext &nc, Value x, int64_t start, int64_t size,
                                         int64_t step) {
  SmallVector<int64_t> shape(shapeOf(x)), starts(shape.size(), 0), steps(shape.size(), 1);
  shape.back() = size;
  starts.back() = start;
  steps.back() = step;
  return nc.create<SliceOp>(RankedTensorType::get(shape, elementTypeOf(x)), x, starts, steps);
}

FailureOr<Value> kiln::detail::addWeightedGather(NodeContext &nc, Value sum, Value data,
                                                 Value indices, int64_t axis, Value weight) {
  TRY(picked, nc.create<GatherOp>(nc.inferred(), data, indices, axis));
  TRY(term, nc.binary(B::Mul, picked, weight));
  if (!sum)
    return term;
  return nc.binary(B::Add, sum, term);
}

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
  t["GridSample"] = oneOutput(importGridSample);
  t["AffineGrid"] = oneOutput(importAffineGrid);
  t["CenterCropPad"] = oneOutput(importCenterCropPad);
  t["Col2Im"] = oneOutput(importCol2Im);
  t["DeformConv"] = oneOutput(importDeformConv);
  t["DepthToSpace"] = oneOutput(importDepthToSpace);
  t["SpaceToDepth"] = oneOutput(importSpaceToDepth);
  t["ReverseSequence"] = oneOutput(importReverseSequence);
  t["OneHot"] = oneOutput(importOneHot);
  t["Celu"] = oneOutput(importCelu);
  t["NonZero"] = oneOutput(importNonZero);
  t["Compress"] = oneOutput(importCompress);
}
