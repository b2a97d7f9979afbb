//===- CollapseContractions.cpp - generic contractions as matmuls --------===//
//
// Reshapes that linalg fusion propagates into a matmul split its M, N or K
// dimension into several loops (a [64, 768] product seen as
// [1, 64, 1, 3, 256]), and the result is a linalg.generic that the
// contraction strategies no longer recognize as a matrix product. When each
// group of loops (batch, M, N, K) is contiguous and in the same order in
// every operand, the generic is exactly a matmul (or batch_matmul) on
// collapsed views of its operands, which this pass rewrites it to.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_COLLAPSECONTRACTIONS
#include "kiln/Codegen/Common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

enum Group : int { Batch = 0, M = 1, N = 2, K = 3 };

/// One operand's layout: its groups in the order they appear, and the
/// result positions that make up each group (the collapse reassociation).
struct Layout {
  SmallVector<Group> order;
  SmallVector<ReassociationIndices> positions;
};

/// The runs of `map`'s results by group, or nothing when a group is split
/// into several runs.
std::optional<Layout> layoutOf(AffineMap map, ArrayRef<Group> groupOfLoop) {
  Layout l;
  for (unsigned r = 0; r < map.getNumResults(); ++r) {
    Group g = groupOfLoop[map.getDimPosition(r)];
    if (l.order.empty() || l.order.back() != g) {
      if (llvm::is_contained(l.order, g))
        return std::nullopt;
      l.order.push_back(g);
      l.positions.emplace_back();
    }
    l.positions.back().push_back(r);
  }
  return l;
}

/// The loops of group `g` in the order `map` lists them.
SmallVector<unsigned> loopsOf(AffineMap map, ArrayRef<Group> groupOfLoop, Group g) {
  SmallVector<unsigned> loops;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    if (groupOfLoop[map.getDimPosition(r)] == g)
      loops.push_back(map.getDimPosition(r));
  return loops;
}

/// The body is exactly `out + a * b` (either operand order), all in one type.
bool isPlainMulAdd(linalg::GenericOp op) {
  Block *body = op.getBody();
  if (body->getOperations().size() != 3)
    return false;
  Operation *mul = &body->front();
  Operation *add = mul->getNextNode();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  if (yield.getNumOperands() != 1 || yield.getOperand(0) != add->getResult(0))
    return false;
  bool floats = isa<arith::MulFOp>(mul) && isa<arith::AddFOp>(add);
  bool ints = isa<arith::MulIOp>(mul) && isa<arith::AddIOp>(add);
  if (!floats && !ints)
    return false;
  Value a = body->getArgument(0), b = body->getArgument(1), acc = body->getArgument(2);
  bool mulOk = (mul->getOperand(0) == a && mul->getOperand(1) == b) ||
               (mul->getOperand(0) == b && mul->getOperand(1) == a);
  bool addOk = (add->getOperand(0) == acc && add->getOperand(1) == mul->getResult(0)) ||
               (add->getOperand(1) == acc && add->getOperand(0) == mul->getResult(0));
  return mulOk && addOk;
}

/// Rewrites `op` to a named matmul or batch_matmul on collapsed operands,
/// or fails leaving it untouched.
LogicalResult collapse(RewriterBase &rewriter, linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op) ||
      !isPlainMulAdd(op))
    return failure();
  SmallVector<ShapedType> types;
  for (Value v : op->getOperands()) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape())
      return failure();
    types.push_back(t);
  }
  Type et = types[2].getElementType();
  if (types[0].getElementType() != et || types[1].getElementType() != et)
    return failure();
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty())
    return failure();
  unsigned numLoops = op.getNumLoops();
  if (dims->batch.size() + dims->m.size() + dims->n.size() + dims->k.size() != numLoops)
    return failure();
  SmallVector<Group> groupOfLoop(numLoops);
  for (unsigned d : dims->batch)
    groupOfLoop[d] = Batch;
  for (unsigned d : dims->m)
    groupOfLoop[d] = M;
  for (unsigned d : dims->n)
    groupOfLoop[d] = N;
  for (unsigned d : dims->k)
    groupOfLoop[d] = K;

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<Layout> layouts;
  for (AffineMap map : maps) {
    if (!map.isProjectedPermutation())
      return failure();
    std::optional<Layout> l = layoutOf(map, groupOfLoop);
    if (!l)
      return failure();
    layouts.push_back(*l);
  }
  // A collapsed group is one loop only if every operand linearizes its
  // loops the same way.
  for (Group g : {Batch, M, N, K}) {
    std::optional<SmallVector<unsigned>> first;
    for (AffineMap map : maps) {
      SmallVector<unsigned> loops = loopsOf(map, groupOfLoop, g);
      if (loops.empty())
        continue;
      if (!first)
        first = loops;
      else if (*first != loops)
        return failure();
    }
  }
  // Batch leads in every operand; the output is (M, N) or (N, M), the
  // latter being the product with the operands swapped.
  bool hasBatch = !dims->batch.empty();
  auto matrixPart = [&](const Layout &l) -> ArrayRef<Group> {
    ArrayRef<Group> order = l.order;
    return hasBatch ? order.drop_front() : order;
  };
  for (const Layout &l : layouts)
    if (hasBatch && l.order.front() != Batch)
      return failure();
  unsigned lhs = 0, rhs = 1;
  Group rowGroup = M, colGroup = N;
  if (matrixPart(layouts[2])[0] == N) {
    std::swap(lhs, rhs);
    std::swap(rowGroup, colGroup);
  }
  bool transposeA = matrixPart(layouts[lhs])[0] == K;
  bool transposeB = matrixPart(layouts[rhs])[0] == colGroup;
  (void)rowGroup;

  Location loc = op.getLoc();
  auto tagged = [&](Operation *created) {
    kiln::copyKernelTag(op, created);
    return created;
  };
  auto collapsed = [&](unsigned operand) -> Value {
    Value v = op->getOperand(operand);
    const Layout &l = layouts[operand];
    if (l.positions.size() == (size_t)types[operand].getRank())
      return v;
    SmallVector<int64_t> shape;
    for (const ReassociationIndices &group : l.positions) {
      int64_t size = 1;
      for (int64_t r : group)
        size *= types[operand].getDimSize(r);
      shape.push_back(size);
    }
    return tagged(tensor::CollapseShapeOp::create(
                      rewriter, loc, RankedTensorType::get(shape, et), v, l.positions))
        ->getResult(0);
  };
  rewriter.setInsertionPoint(op);
  Value a = collapsed(lhs), b = collapsed(rhs), c = collapsed(2);

  MLIRContext *ctx = rewriter.getContext();
  unsigned base = hasBatch ? 1 : 0, numNamedLoops = base + 3;
  auto loop = [&](unsigned d) { return getAffineDimExpr(d, ctx); };
  // Loops of the named op: [batch,] m, n, k.
  auto mapOf = [&](AffineExpr x, AffineExpr y) {
    SmallVector<AffineExpr> results;
    if (hasBatch)
      results.push_back(loop(0));
    results.append({x, y});
    return AffineMap::get(numNamedLoops, 0, results, ctx);
  };
  AffineExpr m = loop(base), n = loop(base + 1), k = loop(base + 2);
  SmallVector<Attribute> namedMaps{
      AffineMapAttr::get(transposeA ? mapOf(k, m) : mapOf(m, k)),
      AffineMapAttr::get(transposeB ? mapOf(n, k) : mapOf(k, n)),
      AffineMapAttr::get(mapOf(m, n))};
  SmallVector<NamedAttribute> attrs;
  if (transposeA || transposeB)
    attrs.push_back(rewriter.getNamedAttr("indexing_maps", rewriter.getArrayAttr(namedMaps)));
  Operation *product;
  if (hasBatch)
    product = linalg::BatchMatmulOp::create(rewriter, loc, TypeRange{c.getType()},
                                            ValueRange{a, b}, ValueRange{c}, attrs);
  else
    product = linalg::MatmulOp::create(rewriter, loc, TypeRange{c.getType()},
                                       ValueRange{a, b}, ValueRange{c}, attrs);
  tagged(product);
  Value result = product->getResult(0);
  if (c != op->getOperand(2))
    result = tagged(tensor::ExpandShapeOp::create(rewriter, loc, types[2], result,
                                                  layouts[2].positions))
                 ->getResult(0);
  rewriter.replaceOp(op, result);
  return success();
}

struct CollapseContractionsPass
    : kiln::impl::CollapseContractionsBase<CollapseContractionsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : generics)
      (void)collapse(rewriter, op);
  }
};

} // namespace
