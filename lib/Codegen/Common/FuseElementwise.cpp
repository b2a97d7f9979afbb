//===- FuseElementwise.cpp - elementwise fusion with a bounded body -------===//
//
// Upstream's elementwise fusion, with one more condition: the fused body
// stays under `max-body-ops` operations. Each fusion clones both bodies,
// so fusing a chain of n elementwise ops into one generic costs O(n^2)
// (20,000 Relu/Neg nodes: four minutes). Bounded, a long chain becomes
// generics of up to the limit each, in linear time; ordinary kernels are
// far below it and fuse exactly as before. Chains of plain elementwise
// generics are merged first, in one step each (mergeChains), so that even
// the bounded pairwise fusion does not clone a growing body at every link.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/Common/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "kiln/Codegen/Common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Operations in the body of the op defining or using a value, 0 for
/// anything else.
int64_t bodySize(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  return generic ? (int64_t)generic.getBody()->getOperations().size() : 0;
}

/// A generic that maps each element of its inputs to the same element of
/// its one result: all loops parallel, identity indexing maps, a body that
/// reads neither the output's element nor the indices.
bool isPlainElementwise(linalg::GenericOp g) {
  if (g.getNumDpsInits() != 1 || g->getNumResults() != 1 ||
      g.getNumReductionLoops() != 0 || !g.hasPureTensorSemantics())
    return false;
  if (!llvm::all_of(g.getIndexingMapsArray(), [](AffineMap m) { return m.isIdentity(); }))
    return false;
  return g.getRegionOutputArgs().front().use_empty() &&
         g.getBody()->getOps<linalg::IndexOp>().empty();
}

/// Merges each chain of plain elementwise generics, where each one's result
/// is read only by the next, into one generic whose body is theirs in
/// order, up to `limit` ops: every body is cloned once, so a long chain
/// costs linear time (fusing it pair by pair clones the growing body at
/// every step).
void mergeChains(Operation *root, int64_t limit) {
  struct Chain {
    SmallVector<linalg::GenericOp> members;
    int64_t ops = 0; // of the merged body, its yield included
  };
  SmallVector<Chain> chains;
  llvm::DenseMap<Operation *, size_t> chainOf; // last member -> chain
  root->walk([&](linalg::GenericOp g) {
    if (!isPlainElementwise(g))
      return;
    int64_t size = bodySize(g);
    for (Value in : g.getDpsInputs()) {
      auto prev = in.getDefiningOp<linalg::GenericOp>();
      auto it = prev ? chainOf.find(prev) : chainOf.end();
      if (it == chainOf.end() || prev->getBlock() != g->getBlock() ||
          !llvm::all_of(prev->getUses(),
                        [&](OpOperand &use) { return use.getOwner() == g.getOperation(); }) ||
          cast<ShapedType>(prev->getResult(0).getType()).getShape() !=
              cast<ShapedType>(g->getResult(0).getType()).getShape())
        continue;
      Chain &chain = chains[it->second];
      if (chain.ops + size > limit) // as upstream counts: both yields
        continue;
      size_t index = it->second;
      chainOf.erase(it);
      chain.members.push_back(g);
      chain.ops += size - 1;
      chainOf[g] = index;
      return;
    }
    chainOf[g] = chains.size();
    chains.push_back({{g}, size});
  });
  for (Chain &chain : chains) {
    MutableArrayRef<linalg::GenericOp> members = chain.members;
    if (members.size() < 2)
      continue;
    linalg::GenericOp last = members.back();
    // The inputs of the merged op: the members' inputs other than the
    // previous member's result, once each.
    SmallVector<Value> inputs;
    llvm::DenseMap<Value, unsigned> inputIndex;
    for (auto [k, member] : llvm::enumerate(members))
      for (Value in : member.getDpsInputs())
        if ((k == 0 || in != members[k - 1]->getResult(0)) && !inputIndex.count(in)) {
          inputIndex[in] = inputs.size();
          inputs.push_back(in);
        }
    OpBuilder b(last);
    int64_t rank = cast<ShapedType>(last->getResult(0).getType()).getRank();
    SmallVector<AffineMap> maps(inputs.size() + 1,
                                AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
    auto merged = linalg::GenericOp::create(
        b, last.getLoc(), last->getResultTypes(), inputs, last.getDpsInits(), maps,
        last.getIteratorTypesArray(), [&](OpBuilder &nb, Location loc, ValueRange args) {
          Value previous;
          for (auto [k, member] : llvm::enumerate(members)) {
            IRMapping map;
            Block *body = member.getBody();
            for (auto [i, in] : llvm::enumerate(member.getDpsInputs()))
              map.map(body->getArgument(i), k > 0 && in == members[k - 1]->getResult(0)
                                                ? previous
                                                : args[inputIndex.lookup(in)]);
            for (Operation &op : body->without_terminator())
              nb.clone(op, map);
            previous = map.lookupOrDefault(body->getTerminator()->getOperand(0));
          }
          linalg::YieldOp::create(nb, loc, previous);
        });
    last->getResult(0).replaceAllUsesWith(merged->getResult(0));
    for (linalg::GenericOp member : llvm::reverse(members))
      member->erase();
  }
}

struct FuseElementwisePass : kiln::impl::FuseElementwiseBase<FuseElementwisePass> {
  using FuseElementwiseBase::FuseElementwiseBase;

  void runOnOperation() override {
    Operation *op = getOperation();
    MLIRContext *context = op->getContext();
    int64_t limit = maxBodyOps;
    mergeChains(op, limit);
    // Upstream's rule (a producer with one use), plus the size bound.
    linalg::ControlFusionFn control = [limit](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      if (!producer || !producer->hasOneUse())
        return false;
      return bodySize(producer) + bodySize(fused->getOwner()) <= limit;
    };
    linalg::ControlFusionFn oneUse = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    RewritePatternSet patterns(context);
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, oneUse);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, oneUse);
    (void)applyPatternsGreedily(op, std::move(patterns),
                                GreedyRewriteConfig().setUseTopDownTraversal());
  }
};

} // namespace
