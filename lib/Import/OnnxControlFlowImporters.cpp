//===- OnnxControlFlowImporters.cpp - If, Loop and Scan -------------------===//
//
// Kiln compiles static graphs, so control flow is resolved at import: If
// inlines the branch its (compile-time constant) condition selects; Loop
// and Scan are unrolled, each iteration's body imported inline with the
// values of the one before. A condition or trip count known only at run
// time is one clear error naming the node.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::detail;

namespace {

/// The most iterations a Loop or Scan is unrolled to, and the most body
/// nodes all its iterations may import.
constexpr int64_t kMaxIterations = 4096;
constexpr int64_t kMaxUnrolledNodes = int64_t(1) << 20;

/// The graph attribute `name`; reports an error if it is missing.
FailureOr<const onnx::GraphProto *> graphAttr(NodeContext &nc, StringRef name) {
  const onnx::AttributeProto *a = nc.typedAttr(name, onnx::AttributeProto::GRAPH);
  if (!a || !a->has_g())
    return nc.error() << "the " << name << " graph attribute is missing";
  return &a->g();
}

/// `v`'s single boolean value if it is a compile-time constant.
std::optional<bool> constBool(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  auto attr = dyn_cast<DenseElementsAttr>(c.getValue());
  if (!attr || attr.getNumElements() != 1)
    return std::nullopt;
  if (attr.getElementType().isInteger(1))
    return *attr.getValues<bool>().begin();
  if (isa<IntegerType>(attr.getElementType()))
    return !(*attr.getValues<APInt>().begin()).isZero();
  return std::nullopt;
}

Value scalarBool(NodeContext &nc, bool v) {
  auto type = RankedTensorType::get({}, IntegerType::get(nc.ctx(), 1));
  return nc.constant(DenseElementsAttr::get(type, v));
}

/// `parts` (one per iteration, in the order they go) stacked along a new
/// dim `axis`.
FailureOr<Value> stack(NodeContext &nc, ArrayRef<Value> parts, int64_t axis) {
  SmallVector<Value> expanded;
  for (Value p : parts) {
    SmallVector<int64_t> shape(shapeOf(p));
    if (shape != shapeOf(parts[0]) || elementTypeOf(p) != elementTypeOf(parts[0]))
      return nc.error() << "a scan output changes its shape or type between iterations ("
                        << shapeToString(shapeOf(parts[0])) << " then "
                        << shapeToString(shape) << ")";
    shape.insert(shape.begin() + axis, 1);
    TRY(r, nc.reshape(p, shape));
    expanded.push_back(r);
  }
  return concatTree(nc, expanded, axis);
}

/// If: the selected branch, inlined.
LogicalResult importIf(NodeContext &nc) {
  TRY(cond, nc.requiredInput(0));
  std::optional<bool> c = constBool(cond);
  if (!c)
    return nc.error() << "the condition must be a compile-time constant (Kiln inlines the "
                         "branch it selects; fix the input shapes to make it one)";
  TRY(branch, graphAttr(nc, *c ? "then_branch" : "else_branch"));
  TRY(outs, importSubgraph(nc, *branch, {}));
  if ((int)outs.size() != nc.numOutputs())
    return nc.error() << "the " << (*c ? "then" : "else") << " branch has " << outs.size()
                      << " outputs, the node " << nc.numOutputs();
  for (auto [i, v] : llvm::enumerate(outs))
    nc.setOutput(i, v);
  return success();
}

/// Loop: the body unrolled while the trip count and the condition allow,
/// both compile-time constants (the body's condition output must fold to
/// one in every iteration).
LogicalResult importLoop(NodeContext &nc) {
  TRY(body, graphAttr(nc, "body"));
  int64_t carriedCount = nc.numInputs() - 2;
  if (carriedCount < 0)
    return nc.error() << "needs the inputs M and cond (either may be empty)";
  if (body->input_size() != carriedCount + 2 || body->output_size() < carriedCount + 1)
    return nc.error() << "the body takes " << body->input_size() << " inputs and gives "
                      << body->output_size() << " outputs; " << carriedCount
                      << " loop-carried values need " << carriedCount + 2 << " and at least "
                      << carriedCount + 1;
  int64_t scanCount = body->output_size() - 1 - carriedCount;
  if (nc.numOutputs() > carriedCount + scanCount)
    return nc.error() << "has " << nc.numOutputs() << " outputs; the body gives "
                      << carriedCount + scanCount;
  std::optional<int64_t> trips;
  if (nc.hasInput(0)) {
    TRY(m, nc.constInts(0, "M (the trip count)"));
    if (m.size() != 1)
      return nc.error() << "M must be a scalar";
    trips = m[0];
  }
  bool cond = true;
  if (nc.hasInput(1)) {
    std::optional<bool> c = constBool(nc.input(1));
    if (!c)
      return nc.error() << "cond must be a compile-time constant";
    cond = *c;
  }
  SmallVector<Value> carried;
  for (int64_t i = 0; i < carriedCount; ++i) {
    TRY(v, nc.requiredInput(2 + i));
    carried.push_back(v);
  }
  SmallVector<SmallVector<Value>> scans(scanCount);
  Type i64 = IntegerType::get(nc.ctx(), 64);
  int64_t iter = 0;
  for (; (!trips || iter < *trips) && cond; ++iter) {
    if (iter >= kMaxIterations || (iter + 1) * body->node_size() > kMaxUnrolledNodes)
      return nc.error() << "runs more than " << iter
                        << " iterations, the most Kiln unrolls (" << kMaxIterations
                        << " iterations, " << kMaxUnrolledNodes << " body nodes in all)";
    SmallVector<Value> inputs{nc.scalarConstant(i64, iter), scalarBool(nc, cond)};
    inputs.append(carried);
    TRY(outs, importSubgraph(nc, *body, inputs));
    std::optional<bool> next = constBool(outs[0]);
    if (!next)
      return nc.error() << "the body's condition output is not a compile-time constant "
                           "(a loop that ends on run-time data cannot be unrolled)";
    cond = *next;
    for (int64_t i = 0; i < carriedCount; ++i) {
      if (shapeOf(outs[1 + i]) != shapeOf(carried[i]) ||
          elementTypeOf(outs[1 + i]) != elementTypeOf(carried[i]))
        return nc.error() << "loop-carried value " << i << " changes from " << carried[i].getType()
                          << " to " << outs[1 + i].getType();
      carried[i] = outs[1 + i];
    }
    for (int64_t k = 0; k < scanCount; ++k)
      scans[k].push_back(outs[1 + carriedCount + k]);
  }
  for (int64_t i = 0; i < carriedCount; ++i)
    nc.setOutput(i, carried[i]);
  for (int64_t k = 0; k < scanCount; ++k) {
    if (!nc.outputUsed(carriedCount + k))
      continue;
    if (scans[k].empty())
      return nc.error() << "runs no iteration, so scan output " << k
                        << " is empty with a shape Kiln cannot know";
    TRY(v, stack(nc, scans[k], 0));
    nc.setOutput(carriedCount + k, v);
  }
  return success();
}

/// Scan (opset 9 on): the body unrolled over the scan inputs' sequence
/// dim, each direction and axis as given.
LogicalResult importScan(NodeContext &nc) {
  TRY(body, graphAttr(nc, "body"));
  int64_t m = nc.attrInt("num_scan_inputs", -1);
  int64_t n = nc.numInputs() - m;
  if (m <= 0 || n < 0)
    return nc.error() << "num_scan_inputs must be in [1, " << nc.numInputs() << "], got " << m;
  int64_t k = body->output_size() - n;
  if (body->input_size() != n + m || k < 0)
    return nc.error() << "the body takes " << body->input_size() << " inputs and gives "
                      << body->output_size() << " outputs; " << n << " states and " << m
                      << " scan inputs need " << n + m << " and at least " << n;
  auto listAttr = [&](StringRef name, int64_t count) -> FailureOr<SmallVector<int64_t>> {
    auto v = nc.attrInts(name);
    if (!v)
      return SmallVector<int64_t>(count, 0);
    if ((int64_t)v->size() != count)
      return nc.error() << name << " lists " << v->size() << " values, " << count
                        << " expected";
    return *v;
  };
  TRY(inAxes, listAttr("scan_input_axes", m));
  TRY(inDirs, listAttr("scan_input_directions", m));
  TRY(outAxes, listAttr("scan_output_axes", k));
  TRY(outDirs, listAttr("scan_output_directions", k));
  SmallVector<Value> states, scanIn;
  for (int64_t i = 0; i < n; ++i) {
    TRY(v, nc.requiredInput(i));
    states.push_back(v);
  }
  int64_t steps = -1;
  for (int64_t j = 0; j < m; ++j) {
    TRY(v, nc.requiredInput(n + j));
    int64_t rank = shapeOf(v).size();
    TRY(axis, nc.normalizeAxis(inAxes[j], rank, "scan_input_axes entry"));
    inAxes[j] = axis;
    if (steps >= 0 && shapeOf(v)[axis] != steps)
      return nc.error() << "scan inputs have different sequence lengths (" << steps << " and "
                        << shapeOf(v)[axis] << ")";
    steps = shapeOf(v)[axis];
    scanIn.push_back(v);
  }
  if (steps > kMaxIterations || steps * body->node_size() > kMaxUnrolledNodes)
    return nc.error() << "scans " << steps << " steps of " << body->node_size()
                      << " nodes, more than Kiln unrolls (" << kMaxIterations << " steps, "
                      << kMaxUnrolledNodes << " body nodes in all)";
  SmallVector<SmallVector<Value>> scans(k, SmallVector<Value>(steps));
  for (int64_t t = 0; t < steps; ++t) {
    SmallVector<Value> inputs(states);
    for (int64_t j = 0; j < m; ++j) {
      Value v = scanIn[j];
      SmallVector<int64_t> shape(shapeOf(v)), starts(shape.size(), 0), steps1(shape.size(), 1);
      int64_t axis = inAxes[j];
      starts[axis] = inDirs[j] ? steps - 1 - t : t;
      shape[axis] = 1;
      TRY(s, nc.create<SliceOp>(RankedTensorType::get(shape, elementTypeOf(v)), v, starts,
                                steps1));
      shape.erase(shape.begin() + axis);
      TRY(r, nc.reshape(s, shape));
      inputs.push_back(r);
    }
    TRY(outs, importSubgraph(nc, *body, inputs));
    for (int64_t i = 0; i < n; ++i)
      states[i] = outs[i];
    for (int64_t q = 0; q < k; ++q)
      scans[q][outDirs[q] ? steps - 1 - t : t] = outs[n + q];
  }
  for (int64_t i = 0; i < n; ++i)
    nc.setOutput(i, states[i]);
  for (int64_t q = 0; q < k; ++q) {
    if (!nc.outputUsed(n + q))
      continue;
    if (steps == 0)
      return nc.error() << "scans no step, so scan output " << q
                        << " is empty with a shape Kiln cannot know";
    TRY(axis, nc.normalizeAxis(outAxes[q], shapeOf(scans[q][0]).size() + 1,
                               "scan_output_axes entry"));
    TRY(v, stack(nc, scans[q], axis));
    nc.setOutput(n + q, v);
  }
  return success();
}

} // namespace

void kiln::detail::addControlFlowImporters(llvm::StringMap<OpImporter> &t) {
  t["If"] = importIf;
  t["Loop"] = importLoop;
  t["Scan"] = importScan;
}
