//===- FuseAttention.cpp - attention subgraphs as one kiln.attention ------===//
//
// Exported transformers spell attention as
//
//   P = softmax(matmul(Q', K^T') * c + mask);  [P = isnan(P) ? 0 : P];  out = matmul(P, V')
//
// with variations: the scale applied to the scores, or its square root to
// Q and to K before the product; K^T as a transpose of K, of the packed
// projection, or of a [batch * heads] view of it; K and V repeated over
// query heads (grouped-query attention: reshape, expand, reshape); the mask
// an added bias, and the probabilities' NaNs zeroed (torch's SDPA export).
// The pass finds the second matmul, walks back through that chain and, if
// every intermediate is used by the chain alone, replaces it with one
// kiln.attention on the unrepeated K and V. What does not match stays as it
// is; -debug-only=kiln-fuse-attention says what differed.
//
//===----------------------------------------------------------------------===//
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Debug.h"

#include <cmath>
#include <functional>
#include <vector>

#define DEBUG_TYPE "kiln-fuse-attention"

namespace kiln {
#define GEN_PASS_DEF_FUSEATTENTION
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// The value of a floating-point splat constant.
std::optional<double> splatValue(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
  if (!dense || !dense.isSplat() || !isa<FloatType>(dense.getElementType()))
    return std::nullopt;
  return dense.getSplatValue<APFloat>().convertToDouble();
}

BinaryOp binaryOf(Value v, BinaryKind kind) {
  auto op = v.getDefiningOp<BinaryOp>();
  return op && op.getKind() == kind ? op : BinaryOp();
}

/// Multiplications and divisions of `v` by scalar constants, used only
/// here, folded into `scale`; the value they scale is returned.
Value peelScale(Value v, double &scale) {
  while (auto op = v.getDefiningOp<BinaryOp>()) {
    if (!op->hasOneUse())
      break;
    Value lhs = op.getLhs(), rhs = op.getRhs();
    std::optional<double> c;
    if (op.getKind() == BinaryKind::Mul && (c = splatValue(rhs)) && lhs.getType() == op.getType()) {
      scale *= *c, v = lhs;
    } else if (op.getKind() == BinaryKind::Mul && (c = splatValue(lhs)) &&
               rhs.getType() == op.getType()) {
      scale *= *c, v = rhs;
    } else if (op.getKind() == BinaryKind::Div && (c = splatValue(rhs)) && *c != 0 &&
               lhs.getType() == op.getType()) {
      scale /= *c, v = lhs;
    } else {
      break;
    }
  }
  return v;
}

SmallVector<int64_t> swapLastTwo(ArrayRef<int64_t> v) {
  SmallVector<int64_t> r(v);
  std::swap(r[r.size() - 1], r[r.size() - 2]);
  return r;
}

bool isIdentity(ArrayRef<int64_t> perm) {
  for (auto [i, p] : llvm::enumerate(perm))
    if ((int64_t)i != p)
      return false;
  return true;
}

int64_t product(ArrayRef<int64_t> v) {
  int64_t n = 1;
  for (int64_t d : v)
    n *= d;
  return n;
}

Value reshape(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, typeOf(v).getElementType());
  if (type == v.getType())
    return v;
  return ReshapeOp::create(b, loc, type, v);
}

Value transpose(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> perm) {
  if (isIdentity(perm))
    return v;
  ArrayRef<int64_t> in = typeOf(v).getShape();
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(in[p]);
  auto type = RankedTensorType::get(shape, typeOf(v).getElementType());
  return TransposeOp::create(b, loc, type, v, b.getDenseI64ArrayAttr(perm));
}

/// K from K^T (last two dimensions swapped), through the views exporters
/// put between them; a new transpose when there are none to undo.
Value untransposeKey(OpBuilder &b, Location loc, Value kt) {
  ArrayRef<int64_t> shape = typeOf(kt).getShape();
  SmallVector<int64_t> kShape = swapLastTwo(shape);
  if (auto t = kt.getDefiningOp<TransposeOp>())
    return transpose(b, loc, t.getInput(), swapLastTwo(t.getPermutation()));
  // reshape(transpose(reshape(x) to [n, s, d], [0, 2, 1])) with n the
  // product of x's (and the result's) leading dimensions.
  if (auto outer = kt.getDefiningOp<ReshapeOp>())
    if (auto t = outer.getInput().getDefiningOp<TransposeOp>())
      if (auto inner = t.getInput().getDefiningOp<ReshapeOp>()) {
        ArrayRef<int64_t> perm = t.getPermutation();
        ArrayRef<int64_t> x = typeOf(inner.getInput()).getShape();
        ArrayRef<int64_t> mid = typeOf(t.getInput()).getShape();
        if (perm.size() >= 2 && isIdentity(swapLastTwo(perm)) && x.size() >= 2 &&
            x.take_back(2) == mid.take_back(2) &&
            ArrayRef<int64_t>(kShape).take_back(2) == x.take_back(2) &&
            product(x) == product(kShape))
          return reshape(b, loc, inner.getInput(), kShape);
      }
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < (int64_t)shape.size(); ++i)
    perm.push_back(i);
  return transpose(b, loc, kt, swapLastTwo(perm));
}

/// The [B, Hkv, S, D] tensor that `v` ([B, H, S, D]) repeats over groups
/// of query heads (reshape to [B, Hkv, 1, S, D], broadcast to [B, Hkv, r,
/// S, D], reshape to [B, Hkv * r, S, D]), or `v` itself.
Value unrepeatHeads(Value v) {
  auto r = v.getDefiningOp<ReshapeOp>();
  if (!r)
    return v;
  auto bc = r.getInput().getDefiningOp<BroadcastOp>();
  if (!bc)
    return v;
  auto r0 = bc.getInput().getDefiningOp<ReshapeOp>();
  if (!r0)
    return v;
  ArrayRef<int64_t> out = typeOf(v).getShape(), mid = typeOf(bc).getShape(),
                    one = typeOf(r0).getShape(), k = typeOf(r0.getInput()).getShape();
  if (out.size() != 4 || mid.size() != 5 || one.size() != 5 || k.size() != 4)
    return v;
  if (one[0] != k[0] || one[1] != k[1] || one[2] != 1 || one[3] != k[2] || one[4] != k[3] ||
      mid[0] != k[0] || mid[1] != k[1] || mid[3] != k[2] || mid[4] != k[3] ||
      out[0] != k[0] || out[1] != k[1] * mid[2] || out[2] != k[2] || out[3] != k[3])
    return v;
  return r0.getInput();
}

/// The offset of a causal pattern over [1.., Sq, Sk] given as `visible(i,
/// j)`: key j visible to query i iff j <= i + offset, offset found from
/// the first row.
std::optional<int64_t> causalFrom(int64_t sq, int64_t sk,
                                  llvm::function_ref<bool(int64_t, int64_t)> visible) {
  int64_t count = 0;
  while (count < sk && visible(0, count))
    ++count;
  int64_t offset = count - 1;
  for (int64_t i = 0; i < sq; ++i)
    for (int64_t j = 0; j < sk; ++j)
      if (visible(i, j) != (j <= i + offset))
        return std::nullopt;
  return offset;
}

/// The values of a tensor computed only from constants by elementwise ops
/// (select, compare, logic, add/sub/mul, not/neg, cast), broadcast over
/// one [sq, sk] plane, element by element: masks are built this way (a
/// triangle of ones, compared, selected; key positions compared with query
/// positions), so a constant mask is found whatever its spelling, without
/// storing a plane (a 4096-token mask would be 16M values).
class PlaneEvaluator {
public:
  PlaneEvaluator(int64_t sq, int64_t sk) : sq(sq), sk(sk) {}

  /// Whether `v` can be evaluated: every leaf a dense constant, every op
  /// one of the above, no dimension but the last two above 1.
  bool prepare(Value v, int depth = 0) {
    if (nodes.count(v))
      return true;
    ArrayRef<int64_t> shape = typeOf(v).getShape();
    Node node;
    node.rows = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
    node.cols = shape.empty() ? 1 : shape.back();
    if (depth > 12 || (node.rows != 1 && node.rows != sq) || (node.cols != 1 && node.cols != sk) ||
        product(shape) != node.rows * node.cols)
      return false;
    Operation *op = v.getDefiningOp();
    if (auto c = dyn_cast_or_null<ConstantOp>(op)) {
      auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
      if (!dense)
        return false;
      Type et = dense.getElementType();
      if (dense.isSplat()) {
        node.rows = node.cols = 1;
        if (isa<FloatType>(et))
          node.values.push_back(dense.getSplatValue<APFloat>().convertToDouble());
        else if (isa<IntegerType>(et))
          node.values.push_back(et.isInteger(1) ? dense.getSplatValue<bool>()
                                                : dense.getSplatValue<APInt>().getSExtValue());
        else
          return false;
      } else if (isa<FloatType>(et)) {
        for (const APFloat &f : dense.getValues<APFloat>())
          node.values.push_back((float)f.convertToDouble());
      } else if (et.isInteger(1)) {
        for (bool b : dense.getValues<bool>())
          node.values.push_back(b);
      } else if (isa<IntegerType>(et)) {
        for (const APInt &x : dense.getValues<APInt>())
          node.values.push_back((float)x.getSExtValue());
      } else {
        return false;
      }
      nodes[v] = std::move(node);
      return true;
    }
    if (!op || !isa<SelectOp, BinaryOp, UnaryOp, CastOp>(op))
      return false;
    if (auto u = dyn_cast<UnaryOp>(op))
      if (u.getKind() != UnaryKind::Not && u.getKind() != UnaryKind::Neg)
        return false;
    if (auto bin = dyn_cast<BinaryOp>(op))
      switch (bin.getKind()) {
      case BinaryKind::Add: case BinaryKind::Sub: case BinaryKind::Mul: case BinaryKind::And:
      case BinaryKind::Or: case BinaryKind::Eq: case BinaryKind::Lt: case BinaryKind::Le:
      case BinaryKind::Gt: case BinaryKind::Ge:
        break;
      default:
        return false;
      }
    for (Value operand : op->getOperands())
      if (!prepare(operand, depth + 1))
        return false;
    nodes[v] = std::move(node);
    return true;
  }

  /// Element (i, j) of a prepared value.
  double at(Value v, int64_t i, int64_t j) {
    const Node &node = nodes.find(v)->second;
    Operation *op = v.getDefiningOp();
    if (isa<ConstantOp>(op))
      return node.values[(node.rows == 1 ? 0 : i) * node.cols + (node.cols == 1 ? 0 : j)];
    auto arg = [&](unsigned n) { return at(op->getOperand(n), i, j); };
    if (isa<SelectOp>(op))
      return arg(0) != 0 ? arg(1) : arg(2);
    if (isa<CastOp>(op))
      return typeOf(v).getElementType().isInteger(1) ? (double)(arg(0) != 0) : arg(0);
    if (auto u = dyn_cast<UnaryOp>(op))
      return u.getKind() == UnaryKind::Not ? (double)(arg(0) == 0) : -arg(0);
    double a = arg(0), b = arg(1);
    switch (cast<BinaryOp>(op).getKind()) {
    case BinaryKind::Add: return a + b;
    case BinaryKind::Sub: return a - b;
    case BinaryKind::Mul: return a * b;
    case BinaryKind::And: return a != 0 && b != 0;
    case BinaryKind::Or: return a != 0 || b != 0;
    case BinaryKind::Eq: return a == b;
    case BinaryKind::Lt: return a < b;
    case BinaryKind::Le: return a <= b;
    case BinaryKind::Gt: return a > b;
    default: return a >= b;
    }
  }

private:
  struct Node {
    int64_t rows = 1, cols = 1;
    std::vector<double> values; // constants only
  };
  int64_t sq, sk;
  llvm::DenseMap<Value, Node> nodes;
};

/// A boolean "key visible" tensor that is causal, computed from constants.
std::optional<int64_t> causalCondition(Value cond, int64_t sq, int64_t sk) {
  PlaneEvaluator eval(sq, sk);
  if (!eval.prepare(cond))
    return std::nullopt;
  return causalFrom(sq, sk, [&](int64_t i, int64_t j) { return eval.at(cond, i, j) != 0; });
}

/// An additive causal bias over [1.., Sq, Sk], computed from constants: 0
/// where the key is visible and -inf elsewhere. With `lenient`, a large
/// negative value (<= -1e30) hides too: when the bias is the whole mask and
/// every row sees a key, such a value weighs exactly 0 after the softmax,
/// as -inf does.
std::optional<int64_t> causalBias(Value bias, int64_t sq, int64_t sk, bool lenient) {
  auto hides = [&](double x) { return lenient ? x <= -1e30 : std::isinf(x) && x < 0; };
  PlaneEvaluator eval(sq, sk);
  if (!eval.prepare(bias))
    return std::nullopt;
  bool twoValued = true;
  std::optional<int64_t> offset = causalFrom(sq, sk, [&](int64_t i, int64_t j) {
    double x = eval.at(bias, i, j);
    twoValued &= x == 0.0 || hides(x);
    return x == 0.0;
  });
  if (!twoValued)
    return std::nullopt;
  if (offset && *offset < 0 && lenient)
    return std::nullopt; // a row without keys: -inf and a finite value differ
  return offset;
}

/// The input of `v`'s reshape if it only regroups the leading (batch)
/// dimensions and `v` is its one use: attention computed on a
/// [batch * heads, S, S] view of [.., heads, S, S] scores (windowed vision
/// transformers).
Value peelBatchView(Value v) {
  auto r = v.getDefiningOp<ReshapeOp>();
  if (!r || !r->hasOneUse())
    return v;
  ArrayRef<int64_t> in = typeOf(r.getInput()).getShape(), out = typeOf(v).getShape();
  if (in.size() < 3 || out.size() < 3 || in.take_back(2) != out.take_back(2))
    return v;
  return r.getInput();
}

/// The shape a mask broadcasting to [batch..., sq, sk] has as
/// [B, H, sq|1, sk|1] (H the last batch dimension, B the others): nothing
/// when its leading dimensions vary in a way four cannot say.
std::optional<SmallVector<int64_t>> mask4D(ArrayRef<int64_t> mask, ArrayRef<int64_t> batch) {
  int64_t rank = batch.size() + 2;
  if ((int64_t)mask.size() > rank)
    return std::nullopt;
  SmallVector<int64_t> full(rank - mask.size(), 1);
  full.append(mask.begin(), mask.end());
  ArrayRef<int64_t> lead = ArrayRef<int64_t>(full).take_front(rank - 3);
  int64_t b = 1;
  if (llvm::any_of(lead, [](int64_t d) { return d != 1; })) {
    if (lead != batch.drop_back())
      return std::nullopt;
    b = product(lead);
  }
  return SmallVector<int64_t>{b, full[rank - 3], full[rank - 2], full[rank - 1]};
}

struct Match {
  Value q, k, v, mask;
  /// The mask select(restCondition, zero, minusInf) to build, when a
  /// causal condition was split off select(and(causal, rest), 0, -inf).
  Value restCondition, zero, minusInf;
  double scale = 1.0;
  std::optional<int64_t> causal;
  bool zeroNanRows = false;
  int64_t rank;
  /// The batch dimensions of the scores as the softmax sees them: the last
  /// is the heads, the others the batch.
  SmallVector<int64_t> batch;
  /// The same for the view in which the mask is added.
  SmallVector<int64_t> maskBatch;
  /// Further masks added to the scores, each with its view's batch.
  SmallVector<std::pair<Value, SmallVector<int64_t>>> moreMasks;
};

#define MISS(why)                                                                         \
  do {                                                                                   \
    LLVM_DEBUG(llvm::dbgs() << "attention at " << pv.getLoc() << " not fused: " << why    \
                            << "\n");                                                     \
    return std::nullopt;                                                                  \
  } while (false)

/// The attention ending in `pv` (the product with V), if the chain matches.
/// Builds only the views of K and V it needs, before the first product.
std::optional<Match> matchAttention(MatMulOp pv) {
  auto pvType = typeOf(pv.getResult());
  int64_t rank = pvType.getRank();
  if (rank != 3 && rank != 4)
    return std::nullopt;
  if (!pvType.hasStaticShape() || typeOf(pv.getLhs()) != RankedTensorType::get(
                                      typeOf(pv.getLhs()).getShape(), pvType.getElementType()))
    return std::nullopt;
  Match m;
  m.rank = rank;
  Value probs = peelBatchView(pv.getLhs());
  // isnan(P) ? 0 : P, spelled select(not(eq(P, P)), 0, P).
  SmallVector<Operation *> guard;
  auto sel = probs.getDefiningOp<SelectOp>();
  if (sel && sel.getCondition().getDefiningOp<UnaryOp>()) {
    auto notOp = sel.getCondition().getDefiningOp<UnaryOp>();
    BinaryOp eq = notOp && notOp.getKind() == UnaryKind::Not ? binaryOf(notOp.getInput(), BinaryKind::Eq)
                                                             : BinaryOp();
    std::optional<double> zero = splatValue(sel.getTrueValue());
    if (!eq || eq.getLhs() != eq.getRhs() || eq.getLhs() != sel.getFalseValue() || !zero ||
        *zero != 0.0 || !sel->hasOneUse() || !notOp->hasOneUse() || !eq->hasOneUse())
      return std::nullopt;
    probs = sel.getFalseValue();
    m.zeroNanRows = true;
    guard = {sel, notOp, eq};
  }
  // ONNX Attention's import: rows whose bias is -inf everywhere give 0,
  // select(eq(reduce_max(bias), -inf), 0, P); the bias must be the mask.
  Value guardBias;
  if (sel && guard.empty()) {
    BinaryOp eq = binaryOf(sel.getCondition(), BinaryKind::Eq);
    auto max = eq ? eq.getLhs().getDefiningOp<ReduceOp>() : ReduceOp();
    std::optional<double> zero = splatValue(sel.getTrueValue());
    double ninf = eq ? splatValue(eq.getRhs()).value_or(0.0) : 0.0;
    if (!max || max.getKind() != ReduceKind::Max || !zero || *zero != 0.0 ||
        !std::isinf(ninf) || ninf > 0 || !sel->hasOneUse() || !eq->hasOneUse() ||
        !max->hasOneUse())
      return std::nullopt;
    ArrayRef<int64_t> axes = max.getAxes();
    if (axes.size() != 1 || axes[0] != typeOf(max.getInput()).getRank() - 1 || !max.getKeepDims())
      MISS("the masked-row guard reduces other axes");
    guardBias = max.getInput();
    probs = sel.getFalseValue();
    m.zeroNanRows = true;
    guard = {sel, eq, max};
  }
  auto softmax = probs.getDefiningOp<SoftmaxOp>();
  if (!softmax)
    return std::nullopt;
  int64_t viewRank = typeOf(softmax).getRank();
  if (softmax.getLog() || (int64_t)softmax.getAxis() != viewRank - 1)
    MISS("the softmax is not along the keys");
  Operation *probsUser = probs == pv.getLhs() ? pv.getOperation() : pv.getLhs().getDefiningOp();
  for (Operation *user : softmax->getUsers())
    if (user != probsUser && !llvm::is_contained(guard, user))
      MISS("the probabilities are used elsewhere");
  m.batch.assign(typeOf(softmax).getShape().drop_back(2).begin(),
                 typeOf(softmax).getShape().drop_back(2).end());
  Value scores = softmax.getInput();
  if (!scores.hasOneUse())
    MISS("the scores are used elsewhere");
  // + masks: one, or a few (a relative-position bias and a window mask),
  // each possibly added in another view of the batch (Swin adds its window
  // mask to [batch, windows, heads, S, S]); the heads stay last.
  std::function<MatMulOp(Value, int)> toProduct = [&](Value v, int depth) -> MatMulOp {
    double ignored = 1.0;
    v = peelScale(peelBatchView(peelScale(v, ignored)), ignored);
    if (auto mm = v.getDefiningOp<MatMulOp>())
      return mm;
    if (auto add = binaryOf(v, BinaryKind::Add); add && depth < 3) {
      if (MatMulOp mm = toProduct(add.getLhs(), depth + 1))
        return mm;
      return toProduct(add.getRhs(), depth + 1);
    }
    return MatMulOp();
  };
  SmallVector<std::pair<Value, SmallVector<int64_t>>> masks;
  for (int n = 0; n < 3; ++n) {
    Value viewed = peelBatchView(scores);
    BinaryOp add = binaryOf(viewed, BinaryKind::Add);
    if (!add)
      break;
    ArrayRef<int64_t> vb = typeOf(viewed).getShape().drop_back(2);
    if (vb.empty() || vb.back() != m.batch.back())
      MISS("the mask is added in a view that moves the heads");
    Value a = add.getLhs(), b = add.getRhs();
    if (!toProduct(a, 0) && toProduct(b, 0))
      std::swap(a, b);
    if (!toProduct(a, 0) || a.getType() != add.getType() || !a.hasOneUse())
      MISS("the added mask is not added to the scaled product");
    if (typeOf(b).getElementType() != pvType.getElementType() ||
        typeOf(b).getRank() > (int64_t)vb.size() + 2)
      MISS("the mask's type " << b.getType());
    masks.push_back({b, SmallVector<int64_t>(vb)});
    scores = a;
  }
  m.maskBatch = m.batch;
  if (!masks.empty()) {
    m.mask = masks[0].first;
    m.maskBatch = masks[0].second;
    for (auto &extra : ArrayRef(masks).drop_front()) {
      if (!mask4D(typeOf(extra.first).getShape(), extra.second))
        MISS("a mask varies along batch dimensions in a way [batch, heads] cannot express");
      m.moreMasks.push_back(extra);
    }
  }
  if (!m.moreMasks.empty() && guardBias)
    MISS("the masked-row guard with several masks");
  if (guardBias && guardBias != m.mask)
    MISS("the masked-row guard reads another bias than the mask");
  scores = peelScale(peelBatchView(peelScale(scores, m.scale)), m.scale);
  auto qk = scores.getDefiningOp<MatMulOp>();
  if (!qk || !qk->hasOneUse())
    MISS("no product of queries and keys, used only here, before the softmax");
  Value q = peelScale(qk.getLhs(), m.scale), kt = peelScale(qk.getRhs(), m.scale);
  auto qt = typeOf(q), ktt = typeOf(kt), vt = typeOf(pv.getRhs()), st = typeOf(qk);
  if (qt.getRank() != rank || ktt.getRank() != rank || vt.getRank() != rank ||
      !qt.hasStaticShape() || !ktt.hasStaticShape() || !vt.hasStaticShape())
    MISS("operands of rank other than the result's, or dynamic shapes");
  if (qt.getElementType() != pvType.getElementType() ||
      ktt.getElementType() != pvType.getElementType() ||
      vt.getElementType() != pvType.getElementType())
    MISS("mixed element types");
  ArrayRef<int64_t> batch = qt.getShape().drop_back(2);
  if (ktt.getShape().drop_back(2) != batch || vt.getShape().drop_back(2) != batch ||
      st.getShape().drop_back(2) != batch)
    MISS("batch dimensions differ (broadcast)");
  if (m.mask && m.mask.getDefiningOp<BroadcastOp>()) {
    // The unbroadcast mask broadcasts the same way.
    Value inner = m.mask.getDefiningOp<BroadcastOp>().getInput();
    SmallVector<int64_t> full(m.maskBatch);
    full.push_back(st.getDimSize(rank - 2));
    full.push_back(st.getDimSize(rank - 1));
    ArrayRef<int64_t> s = typeOf(inner).getShape();
    bool fits = s.size() <= full.size();
    for (size_t i = 0; fits && i < s.size(); ++i)
      fits = s[s.size() - 1 - i] == 1 || s[s.size() - 1 - i] == full[full.size() - 1 - i];
    if (fits)
      m.mask = inner;
  }
  int64_t sq = st.getDimSize(rank - 2), sk = st.getDimSize(rank - 1);
  // A causal mask becomes causal_offset: the whole mask, a causal bias
  // added to the rest, or a causal condition and-ed with the rest's.
  if (m.mask && m.moreMasks.empty()) {
    if (std::optional<int64_t> offset = causalBias(m.mask, sq, sk, /*lenient=*/true)) {
      m.causal = offset;
      m.mask = Value();
    } else if (BinaryOp add = binaryOf(m.mask, BinaryKind::Add)) {
      for (auto [bias, rest] : {std::pair(add.getRhs(), add.getLhs()),
                                std::pair(add.getLhs(), add.getRhs())})
        if (std::optional<int64_t> offset = causalBias(bias, sq, sk, /*lenient=*/false)) {
          m.causal = offset;
          m.mask = rest;
          break;
        }
    } else if (auto sel = m.mask.getDefiningOp<SelectOp>()) {
      std::optional<double> shown = splatValue(sel.getTrueValue()),
                            hidden = splatValue(sel.getFalseValue());
      BinaryOp both = binaryOf(sel.getCondition(), BinaryKind::And);
      if (both && shown && *shown == 0.0 && hidden && std::isinf(*hidden) && *hidden < 0)
        for (auto [cond, rest] : {std::pair(both.getLhs(), both.getRhs()),
                                  std::pair(both.getRhs(), both.getLhs())})
          if (std::optional<int64_t> offset = causalCondition(cond, sq, sk)) {
            m.causal = offset;
            m.restCondition = rest;
            m.zero = sel.getTrueValue();
            m.minusInf = sel.getFalseValue();
            break;
          }
    }
  }
  if (product(qt.getShape().drop_back(2)) != product(m.batch))
    MISS("the scores' view regroups more than the batch");
  if (m.mask && !mask4D(typeOf(m.mask).getShape(), m.maskBatch))
    MISS("the mask varies along batch dimensions in a way [batch, heads] cannot express");
  if (m.restCondition && !mask4D(typeOf(m.restCondition).getShape(), m.maskBatch))
    MISS("the padding mask varies along batch dimensions in a way [batch, heads] cannot express");
  m.q = q;
  m.k = kt; // untransposed by the rewrite
  m.v = pv.getRhs();
  return m;
}

struct FuseAttentionPass : kiln::impl::FuseAttentionBase<FuseAttentionPass> {
  void runOnOperation() override {
    SmallVector<MatMulOp> candidates;
    getOperation().walk([&](MatMulOp op) { candidates.push_back(op); });
    for (MatMulOp pv : candidates) {
      std::optional<Match> m = matchAttention(pv);
      if (!m)
        continue;
      rewrite(pv, *m);
    }
  }

  void rewrite(MatMulOp pv, Match &m) {
    OpBuilder b(pv);
    Location loc = pv.getLoc();
    Value q = m.q, k = untransposeKey(b, loc, m.k), v = m.v;
    // A scale applied to K before its transpose.
    k = peelScale(k, m.scale);
    // [batch, heads, S, D] from the softmax's view of the batch.
    int64_t heads = m.batch.back(), batch = product(ArrayRef<int64_t>(m.batch).drop_back());
    auto lift = [&](Value x) {
      ArrayRef<int64_t> s = typeOf(x).getShape().take_back(2);
      return reshape(b, loc, x, {batch, heads, s[0], s[1]});
    };
    if (m.rank != 4 || ArrayRef<int64_t>(m.batch) != typeOf(q).getShape().drop_back(2))
      q = lift(q), k = lift(k), v = lift(v);
    if (m.restCondition) {
      auto cond = typeOf(m.restCondition);
      m.mask = SelectOp::create(b, loc,
                                RankedTensorType::get(cond.getShape(), typeOf(q).getElementType()),
                                m.restCondition, m.zero, m.minusInf);
    }
    if (m.mask)
      m.mask = reshape(b, loc, m.mask, *mask4D(typeOf(m.mask).getShape(), m.maskBatch));
    for (auto &[extra, extraBatch] : m.moreMasks) {
      Value four = reshape(b, loc, extra, *mask4D(typeOf(extra).getShape(), extraBatch));
      ArrayRef<int64_t> x = typeOf(m.mask).getShape(), y = typeOf(four).getShape();
      SmallVector<int64_t> sum;
      for (int i = 0; i < 4; ++i)
        sum.push_back(std::max(x[i], y[i]));
      m.mask = BinaryOp::create(b, loc, RankedTensorType::get(sum, typeOf(four).getElementType()),
                                BinaryKindAttr::get(b.getContext(), BinaryKind::Add), m.mask, four);
    }
    Value k0 = unrepeatHeads(k), v0 = unrepeatHeads(v);
    if (typeOf(k0).getDimSize(1) == typeOf(v0).getDimSize(1))
      k = k0, v = v0;
    ArrayRef<int64_t> qs = typeOf(q).getShape();
    auto resultType = RankedTensorType::get({qs[0], qs[1], qs[2], typeOf(v).getDimSize(3)},
                                            typeOf(q).getElementType());
    auto attention = AttentionOp::create(
        b, loc, resultType, q, k, v, m.mask, b.getF32FloatAttr((float)m.scale),
        m.causal ? b.getI64IntegerAttr(*m.causal) : IntegerAttr(),
        m.zeroNanRows ? b.getUnitAttr() : UnitAttr());
    Value result = reshape(b, loc, attention, typeOf(pv).getShape());
    LLVM_DEBUG(llvm::dbgs() << "attention fused at " << loc << "\n");
    pv.getResult().replaceAllUsesWith(result);
    // The chain is now dead (each link had one use); erase it back to Q,
    // K and V.
    llvm::SetVector<Operation *> work;
    work.insert(pv);
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      if (!op->use_empty() || isa<ConstantOp>(op))
        continue;
      SmallVector<Value> operands(op->getOperands());
      op->erase();
      for (Value operand : operands)
        if (Operation *def = operand.getDefiningOp())
          if (def->use_empty())
            work.insert(def);
    }
  }
};

} // namespace
