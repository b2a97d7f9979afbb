//===- OnnxRecurrentImporters.cpp - RNN, GRU and LSTM --------------------===//
//
// The recurrent layers, unrolled over the (static) sequence length into
// kiln ops. The input projection of all steps is one matmul; each step adds
// one [batch, hidden] x [hidden, gates*hidden] matmul and the gate
// arithmetic, which the fusion passes merge into a few kernels.
//
// sequence_lens: a step past a batch entry's length keeps that entry's state
// and writes zeros to Y. Run backwards (direction "reverse"), the masked
// steps come first, so each entry starts at its own last position: the
// per-entry reversal the operator specifies, with no gather.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::detail;

namespace {

using B = BinaryKind;

enum class Cell { RNN, GRU, LSTM };

int64_t gateCount(Cell c) {
  switch (c) {
  case Cell::RNN: return 1;
  case Cell::GRU: return 3;
  case Cell::LSTM: return 4;
  }
  return 0;
}

/// One activation function of the activations attribute, with its alpha
/// and beta.
struct Activation {
  std::string name; // lower case
  float alpha = 0, beta = 0;
};

/// Reads the activations attribute (`perDirection` functions for each of
/// `directions`), consuming activation_alpha/activation_beta in order by
/// the functions that take them, with each function's own defaults when
/// the lists run out.
FailureOr<SmallVector<Activation>> readActivations(NodeContext &nc, ArrayRef<StringRef> defaults,
                                                   int64_t directions) {
  SmallVector<std::string> names;
  if (const auto *a = nc.attr("activations")) {
    for (const std::string &s : a->strings())
      names.push_back(llvm::StringRef(s).lower());
  } else {
    for (int64_t d = 0; d < directions; ++d)
      for (StringRef s : defaults)
        names.push_back(s.lower());
  }
  size_t want = defaults.size() * directions;
  if (names.size() != want)
    return nc.error() << "activations lists " << names.size() << " functions; "
                      << directions << " direction(s) need " << want;
  SmallVector<float> alphas, betas;
  if (const auto *a = nc.attr("activation_alpha"))
    alphas.assign(a->floats().begin(), a->floats().end());
  if (const auto *b = nc.attr("activation_beta"))
    betas.assign(b->floats().begin(), b->floats().end());
  size_t ai = 0, bi = 0;
  SmallVector<Activation> out;
  for (const std::string &n : names) {
    Activation act{n};
    // The functions that take alpha (and beta), with their defaults.
    std::optional<float> alpha, beta;
    if (n == "affine") {
      alpha = 1.0f;
      beta = 0.0f;
    } else if (n == "leakyrelu") {
      alpha = 0.01f;
    } else if (n == "thresholdedrelu") {
      alpha = 1.0f;
    } else if (n == "scaledtanh") {
      alpha = 1.0f;
      beta = 1.0f;
    } else if (n == "hardsigmoid") {
      alpha = 0.2f;
      beta = 0.5f;
    } else if (n == "elu") {
      alpha = 1.0f;
    } else if (n != "relu" && n != "tanh" && n != "sigmoid" && n != "softsign" &&
               n != "softplus") {
      return nc.error() << "unknown activation '" << n
                        << "' (known: Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, "
                           "ScaledTanh, HardSigmoid, Elu, Softsign, Softplus)";
    }
    if (alpha) {
      act.alpha = ai < alphas.size() ? alphas[ai++] : *alpha;
    }
    if (beta) {
      act.beta = bi < betas.size() ? betas[bi++] : *beta;
    }
    out.push_back(act);
  }
  return out;
}

FailureOr<Value> applyActivation(NodeContext &nc, const Activation &act, Value x) {
  Type et = elementTypeOf(x);
  const std::string &n = act.name;
  if (n == "relu")
    return nc.unary(UnaryKind::Relu, x);
  if (n == "tanh")
    return nc.unary(UnaryKind::Tanh, x);
  if (n == "sigmoid")
    return nc.unary(UnaryKind::Sigmoid, x);
  if (n == "leakyrelu")
    return nc.unary(UnaryKind::LeakyRelu, x, act.alpha);
  if (n == "elu")
    return nc.unary(UnaryKind::Elu, x, act.alpha);
  if (n == "hardsigmoid")
    return nc.unary(UnaryKind::HardSigmoid, x, act.alpha, act.beta);
  if (n == "softplus")
    return nc.unary(UnaryKind::Softplus, x);
  if (n == "softsign") {
    TRY(a, nc.unary(UnaryKind::Abs, x));
    TRY(d, nc.binary(B::Add, a, nc.scalarConstant(et, 1.0)));
    return nc.binary(B::Div, x, d);
  }
  if (n == "affine") {
    TRY(m, nc.binary(B::Mul, x, nc.scalarConstant(et, act.alpha)));
    return nc.binary(B::Add, m, nc.scalarConstant(et, act.beta));
  }
  if (n == "scaledtanh") {
    TRY(m, nc.binary(B::Mul, x, nc.scalarConstant(et, act.beta)));
    TRY(t, nc.unary(UnaryKind::Tanh, m));
    return nc.binary(B::Mul, t, nc.scalarConstant(et, act.alpha));
  }
  // thresholdedrelu
  TRY(above, nc.binary(B::Gt, x, nc.scalarConstant(et, act.alpha)));
  return nc.create<SelectOp>(nc.inferred(), above, x, nc.scalarConstant(et, 0));
}

/// x[index] along dim 0, with that dim dropped.
FailureOr<Value> takeFirst(NodeContext &nc, Value x, int64_t index) {
  SmallVector<int64_t> shape(shapeOf(x)), starts(shape.size(), 0), steps(shape.size(), 1);
  shape[0] = 1;
  starts[0] = index;
  TRY(s, nc.create<SliceOp>(RankedTensorType::get(shape, elementTypeOf(x)), x, starts, steps));
  return nc.reshape(s, ArrayRef<int64_t>(shape).drop_front());
}

} // namespace

FailureOr<Value> kiln::detail::concatTree(NodeContext &nc, ArrayRef<Value> parts,
                                          int64_t axis) {
  constexpr size_t kFan = 16;
  if (parts.size() == 1)
    return parts[0];
  if (parts.size() <= kFan)
    return nc.create<ConcatOp>(nc.inferred(), ValueRange(parts), axis);
  SmallVector<Value> level;
  size_t chunk = (parts.size() + kFan - 1) / kFan;
  for (size_t i = 0; i < parts.size(); i += chunk) {
    TRY(c, concatTree(nc, parts.slice(i, std::min(chunk, parts.size() - i)), axis));
    level.push_back(c);
  }
  return concatTree(nc, level, axis);
}

namespace {

/// Checks that `v` has `shape`, naming the input.
LogicalResult expectShape(NodeContext &nc, Value v, StringRef what, ArrayRef<int64_t> shape) {
  if (shapeOf(v) == shape)
    return success();
  return nc.error() << "input " << what << " has shape " << shapeToString(shapeOf(v))
                    << ", expected " << shapeToString(shape);
}

LogicalResult importRecurrent(NodeContext &nc, Cell cell) {
  TRY(x, nc.requiredInput(0));
  TRY(w, nc.requiredInput(1));
  TRY(r, nc.requiredInput(2));
  Type et = elementTypeOf(x);
  if (!isa<FloatType>(et))
    return nc.error() << "input X must be a floating-point tensor";
  if (elementTypeOf(w) != et || elementTypeOf(r) != et)
    return nc.error() << "inputs X, W and R must have one element type";
  int64_t layout = nc.opset >= 14 ? nc.attrInt("layout", 0) : 0;
  if (layout != 0 && layout != 1)
    return nc.error() << "layout must be 0 or 1, got " << layout;
  if (shapeOf(x).size() != 3)
    return nc.error() << "input X must be 3-D, got " << shapeToString(shapeOf(x));
  if (layout == 1) {
    TRY(t, nc.transpose(x, {1, 0, 2}));
    x = t;
  }
  int64_t seq = shapeOf(x)[0], batch = shapeOf(x)[1], inSize = shapeOf(x)[2];

  std::string direction = nc.attrString("direction", "forward");
  int64_t dirs;
  if (direction == "forward" || direction == "reverse")
    dirs = 1;
  else if (direction == "bidirectional")
    dirs = 2;
  else
    return nc.error() << "unknown direction '" << direction
                      << "' (forward, reverse or bidirectional)";
  int64_t gates = gateCount(cell);
  if (shapeOf(r).size() != 3)
    return nc.error() << "input R must be 3-D, got " << shapeToString(shapeOf(r));
  int64_t hidden = nc.attrInt("hidden_size", shapeOf(r)[2]);
  if (hidden <= 0)
    return nc.error() << "hidden_size must be positive, got " << hidden;
  if (failed(expectShape(nc, w, "W", {dirs, gates * hidden, inSize})) ||
      failed(expectShape(nc, r, "R", {dirs, gates * hidden, hidden})))
    return failure();
  if (seq == 0 || batch == 0)
    return nc.error() << "X has an empty sequence or batch: " << shapeToString(shapeOf(x));

  Value bias = nc.input(3);
  if (bias && failed(expectShape(nc, bias, "B", {dirs, 2 * gates * hidden})))
    return failure();
  Value lens = nc.input(4);
  if (lens) {
    if (!elementTypeOf(lens).isInteger(32) && !elementTypeOf(lens).isInteger(64))
      return nc.error() << "input sequence_lens must be an integer tensor";
    if (failed(expectShape(nc, lens, "sequence_lens", {batch})))
      return failure();
  }
  auto stateInput = [&](int i, StringRef what) -> FailureOr<Value> {
    Value v = nc.input(i);
    if (!v)
      return Value();
    if (elementTypeOf(v) != et)
      return nc.error() << "input " << what << " must have X's element type";
    if (layout == 1) {
      if (failed(expectShape(nc, v, what, {batch, dirs, hidden})))
        return failure();
      return nc.transpose(v, {1, 0, 2});
    }
    if (failed(expectShape(nc, v, what, {dirs, batch, hidden})))
      return failure();
    return v;
  };
  TRY(h0, stateInput(5, "initial_h"));
  Value c0, peep;
  if (cell == Cell::LSTM) {
    TRY(c, stateInput(6, "initial_c"));
    c0 = c;
    peep = nc.input(7);
    if (peep && failed(expectShape(nc, peep, "P", {dirs, 3 * hidden})))
      return failure();
  }
  if (bias && elementTypeOf(bias) != et)
    return nc.error() << "input B must have X's element type";
  if (peep && elementTypeOf(peep) != et)
    return nc.error() << "input P must have X's element type";

  SmallVector<StringRef, 3> defaults;
  if (cell == Cell::RNN)
    defaults = {"Tanh"};
  else if (cell == Cell::GRU)
    defaults = {"Sigmoid", "Tanh"};
  else
    defaults = {"Sigmoid", "Tanh", "Tanh"};
  TRY(acts, readActivations(nc, defaults, dirs));
  std::optional<float> clip;
  if (nc.attr("clip")) {
    clip = nc.attrFloat("clip", 0);
    if (!(*clip > 0))
      return nc.error() << "clip must be positive, got " << *clip;
  }
  bool linearBeforeReset = cell == Cell::GRU && nc.attrInt("linear_before_reset", 0) != 0;
  bool inputForget = cell == Cell::LSTM && nc.attrInt("input_forget", 0) != 0;

  // Which batch entries are live at step t: all of them when there are no
  // lengths or they are constants covering the sequence; a constant mask
  // for other constant lengths; else computed from the input.
  SmallVector<int64_t> constLens;
  bool allFull = !lens;
  if (lens) {
    if (auto c = nc.constInput(4)) {
      for (const APInt &v : c.getValues<APInt>())
        constLens.push_back(v.getSExtValue());
      allFull = true;
      for (int64_t l : constLens) {
        if (l < 0 || l > seq)
          return nc.error() << "sequence_lens holds " << l << ", outside [0, " << seq << "]";
        allFull &= l == seq;
      }
    }
  }
  auto i1Type = RankedTensorType::get({batch, 1}, IntegerType::get(nc.ctx(), 1));
  auto liveMask = [&](int64_t t) -> FailureOr<Value> {
    if (!constLens.empty()) {
      SmallVector<bool> live;
      for (int64_t l : constLens)
        live.push_back(t < l);
      return nc.constant(DenseElementsAttr::get(i1Type, ArrayRef<bool>(live)));
    }
    TRY(cmp, nc.binary(B::Lt, nc.scalarConstant(elementTypeOf(lens), t), lens));
    return nc.reshape(cmp, {batch, 1});
  };

  auto clipped = [&](Value v) -> FailureOr<Value> {
    if (!clip)
      return v;
    TRY(lo, nc.binary(B::Max, v, nc.scalarConstant(et, -*clip)));
    return nc.binary(B::Min, lo, nc.scalarConstant(et, *clip));
  };
  auto act = [&](const Activation &a, Value v) -> FailureOr<Value> {
    TRY(c, clipped(v));
    return applyActivation(nc, a, c);
  };

  TRY(x2, nc.reshape(x, {seq * batch, inSize}));
  Value zeros = nc.constant(DenseElementsAttr::get(
      RankedTensorType::get({batch, hidden}, et), FloatAttr::get(et, 0.0)));
  SmallVector<Value> ys, hs, cs;
  for (int64_t d = 0; d < dirs; ++d) {
    bool reverse = direction == "reverse" || d == 1;
    ArrayRef<Activation> da = ArrayRef<Activation>(acts).slice(d * defaults.size(),
                                                               defaults.size());
    // All steps' input projections at once: [seq * batch, gates * hidden],
    // with the biases that add to them (all but GRU's recurrent h bias).
    TRY(wd, takeFirst(nc, w, d));
    TRY(wt, nc.transpose(wd, {1, 0}));
    TRY(xw, nc.create<MatMulOp>(nc.inferred(), x2, wt));
    TRY(rd, takeFirst(nc, r, d));
    TRY(rt, nc.transpose(rd, {1, 0}));
    Value recurrentHBias; // GRU: Rb of the h gate
    if (bias) {
      TRY(bd, takeFirst(nc, bias, d));
      TRY(wb, sliceLast(nc, bd, 0, gates * hidden));
      TRY(rb, sliceLast(nc, bd, gates * hidden, gates * hidden));
      if (cell == Cell::GRU) {
        TRY(rbzr, sliceLast(nc, rb, 0, 2 * hidden));
        TRY(rbh, sliceLast(nc, rb, 2 * hidden, hidden));
        recurrentHBias = rbh;
        Value zeroH = nc.constant(DenseElementsAttr::get(RankedTensorType::get({hidden}, et),
                                                         FloatAttr::get(et, 0.0)));
        TRY(rbzr0, nc.create<ConcatOp>(nc.inferred(), ValueRange{rbzr, zeroH}, /*axis=*/0));
        rb = rbzr0;
      }
      TRY(bsum, nc.binary(B::Add, wb, rb));
      TRY(xwb, nc.binary(B::Add, xw, bsum));
      xw = xwb;
    }
    TRY(xw3, nc.reshape(xw, {seq, batch, gates * hidden}));
    Value h = zeros, c = zeros;
    if (h0) {
      TRY(v, takeFirst(nc, h0, d));
      h = v;
    }
    if (c0) {
      TRY(v, takeFirst(nc, c0, d));
      c = v;
    }
    Value pi, po, pf;
    if (peep) {
      TRY(pd, takeFirst(nc, peep, d));
      TRY(a, sliceLast(nc, pd, 0, hidden));
      TRY(b, sliceLast(nc, pd, hidden, hidden));
      TRY(f, sliceLast(nc, pd, 2 * hidden, hidden));
      pi = a, po = b, pf = f;
    }
    SmallVector<Value> stepY(seq);
    for (int64_t s = 0; s < seq; ++s) {
      int64_t t = reverse ? seq - 1 - s : s;
      TRY(xt, takeFirst(nc, xw3, t));
      Value hNew, cNew;
      if (cell == Cell::RNN) {
        TRY(hr, nc.create<MatMulOp>(nc.inferred(), h, rt));
        TRY(pre, nc.binary(B::Add, xt, hr));
        TRY(v, act(da[0], pre));
        hNew = v;
      } else if (cell == Cell::GRU) {
        TRY(hr, nc.create<MatMulOp>(nc.inferred(), h, rt));
        TRY(xzr, sliceLast(nc, xt, 0, 2 * hidden));
        TRY(hzr, sliceLast(nc, hr, 0, 2 * hidden));
        TRY(zrPre, nc.binary(B::Add, xzr, hzr));
        TRY(zPre, sliceLast(nc, zrPre, 0, hidden));
        TRY(rPre, sliceLast(nc, zrPre, hidden, hidden));
        TRY(z, act(da[0], zPre));
        TRY(rg, act(da[0], rPre));
        TRY(xh, sliceLast(nc, xt, 2 * hidden, hidden));
        Value recur;
        if (linearBeforeReset) {
          // rt * (H Rh^T + Rbh)
          TRY(hh, sliceLast(nc, hr, 2 * hidden, hidden));
          Value v = hh;
          if (recurrentHBias) {
            TRY(vb, nc.binary(B::Add, hh, recurrentHBias));
            v = vb;
          }
          TRY(m, nc.binary(B::Mul, rg, v));
          recur = m;
        } else {
          // (rt * H) Rh^T + Rbh
          TRY(rh, nc.binary(B::Mul, rg, h));
          TRY(rht, sliceLast(nc, rt, 2 * hidden, hidden));
          TRY(m, nc.create<MatMulOp>(nc.inferred(), rh, rht));
          recur = m;
          if (recurrentHBias) {
            TRY(mb, nc.binary(B::Add, m, recurrentHBias));
            recur = mb;
          }
        }
        TRY(hPre, nc.binary(B::Add, xh, recur));
        TRY(hc, act(da[1], hPre));
        // (1 - z) * hc + z * H = hc + z * (H - hc)
        TRY(diff, nc.binary(B::Sub, h, hc));
        TRY(zd, nc.binary(B::Mul, z, diff));
        TRY(v, nc.binary(B::Add, hc, zd));
        hNew = v;
      } else {
        TRY(hr, nc.create<MatMulOp>(nc.inferred(), h, rt));
        TRY(pre, nc.binary(B::Add, xt, hr));
        TRY(iPre0, sliceLast(nc, pre, 0, hidden));
        TRY(oPre0, sliceLast(nc, pre, hidden, hidden));
        TRY(fPre0, sliceLast(nc, pre, 2 * hidden, hidden));
        TRY(cPre, sliceLast(nc, pre, 3 * hidden, hidden));
        Value iPre = iPre0, fPre = fPre0, oPre = oPre0;
        if (peep) {
          TRY(ip, nc.binary(B::Mul, pi, c));
          TRY(iv, nc.binary(B::Add, iPre, ip));
          TRY(fp, nc.binary(B::Mul, pf, c));
          TRY(fv, nc.binary(B::Add, fPre, fp));
          iPre = iv, fPre = fv;
        }
        TRY(ig, act(da[0], iPre));
        Value fg;
        if (inputForget) {
          TRY(v, nc.binary(B::Sub, nc.scalarConstant(et, 1.0), ig));
          fg = v;
        } else {
          TRY(v, act(da[0], fPre));
          fg = v;
        }
        TRY(cg, act(da[1], cPre));
        TRY(fc, nc.binary(B::Mul, fg, c));
        TRY(ic, nc.binary(B::Mul, ig, cg));
        TRY(cv, nc.binary(B::Add, fc, ic));
        cNew = cv;
        if (peep) {
          TRY(op, nc.binary(B::Mul, po, cNew));
          TRY(ov, nc.binary(B::Add, oPre, op));
          oPre = ov;
        }
        TRY(og, act(da[0], oPre));
        TRY(hc, applyActivation(nc, da[2], cNew));
        TRY(v, nc.binary(B::Mul, og, hc));
        hNew = v;
      }
      Value yt = hNew;
      if (!allFull) {
        TRY(live, liveMask(t));
        TRY(hm, nc.create<SelectOp>(nc.inferred(), live, hNew, h));
        TRY(ym, nc.create<SelectOp>(nc.inferred(), live, hNew, zeros));
        hNew = hm;
        yt = ym;
        if (cell == Cell::LSTM) {
          TRY(cm, nc.create<SelectOp>(nc.inferred(), live, cNew, c));
          cNew = cm;
        }
      }
      h = hNew;
      if (cell == Cell::LSTM)
        c = cNew;
      if (nc.outputUsed(0)) {
        TRY(y4, nc.reshape(yt, {1, 1, batch, hidden}));
        stepY[t] = y4;
      }
    }
    if (nc.outputUsed(0)) {
      TRY(yd, concatTree(nc, stepY, /*axis=*/0));
      ys.push_back(yd);
    }
    TRY(h3, nc.reshape(h, {1, batch, hidden}));
    hs.push_back(h3);
    TRY(c3, nc.reshape(c, {1, batch, hidden}));
    cs.push_back(c3);
  }

  auto joined = [&](ArrayRef<Value> parts, int64_t axis) -> FailureOr<Value> {
    if (parts.size() == 1)
      return parts[0];
    return nc.create<ConcatOp>(nc.inferred(), ValueRange(parts), axis);
  };
  if (nc.outputUsed(0)) {
    TRY(y, joined(ys, 1)); // [seq, dirs, batch, hidden]
    if (layout == 1) {
      TRY(yt, nc.transpose(y, {2, 0, 1, 3}));
      y = yt;
    }
    nc.setOutput(0, y);
  }
  auto state = [&](ArrayRef<Value> parts, int out) -> LogicalResult {
    if (!nc.outputUsed(out))
      return success();
    TRY(v, joined(parts, 0)); // [dirs, batch, hidden]
    if (layout == 1) {
      TRY(vt, nc.transpose(v, {1, 0, 2}));
      v = vt;
    }
    nc.setOutput(out, v);
    return success();
  };
  if (failed(state(hs, 1)))
    return failure();
  if (cell == Cell::LSTM && failed(state(cs, 2)))
    return failure();
  return success();
}

} // namespace

void kiln::detail::addRecurrentImporters(llvm::StringMap<OpImporter> &t) {
  t["RNN"] = [](NodeContext &nc) { return importRecurrent(nc, Cell::RNN); };
  t["GRU"] = [](NodeContext &nc) { return importRecurrent(nc, Cell::GRU); };
  t["LSTM"] = [](NodeContext &nc) { return importRecurrent(nc, Cell::LSTM); };
}
