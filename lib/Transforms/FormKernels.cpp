//===- FormKernels.cpp - partition the graph into kernel groups ----------===//
//
// A greedy partition in program order. Each op either joins the kernel of
// one of its operands (elementwise epilogues and chains) or starts its own;
// reductions and elementwise ops also take in the elementwise kernels that
// only they use. A group stays legal as long as every use of its values
// outside the group comes after the group's last op: the kernel op is
// placed there, so inputs dominate it and outside users follow it.
//
//===----------------------------------------------------------------------===//
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

#include <deque>

namespace kiln {
#define GEN_PASS_DEF_FORMKERNELS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

enum class Role { Skip, View, Attention, Contraction, Reduction, Elementwise, DataMovement };

Role roleOf(Operation *op) {
  if (isa<ConstantOp>(op))
    return Role::Skip;
  if (isa<ReshapeOp, SliceOp>(op))
    return Role::View;
  if (isa<AttentionOp>(op))
    return Role::Attention;
  if (isa<MatMulOp, ConvOp, ConvTransposeOp>(op))
    return Role::Contraction;
  if (isa<ReduceOp, SoftmaxOp, LayerNormOp, InstanceNormOp, PoolOp,
          ArgReduceOp, CumSumOp, TopKOp>(op))
    return Role::Reduction;
  if (isa<UnaryOp, BinaryOp, SelectOp, CastOp, BroadcastOp, TransposeOp,
          BatchNormOp>(op))
    return Role::Elementwise;
  if (isa<ConcatOp, PadOp, ResizeOp, GatherOp, GatherElementsOp>(op))
    return Role::DataMovement;
  return Role::Skip;
}

/// Constants small enough to copy into every kernel that uses them.
bool isSmallConstant(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return false;
  if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue()))
    if (dense.isSplat())
      return true;
  return cast<ShapedType>(c.getType()).getNumElements() <= 16;
}

struct Group {
  KernelKind kind;
  bool anchored = false; // holds a contraction or a reduction
  llvm::SetVector<Operation *> ops; // in program order once liveGroups() ran
  bool dead = false;
  Operation *last = nullptr; // the group's last op in the block
  /// Top-level ops outside the group that use one of its values. Kept up
  /// to date as ops join, so that a legality check costs what changes, not
  /// the size of the group (a chain of n ops forms in linear time).
  llvm::SetVector<Operation *> external;
};

class Partitioner {
public:
  explicit Partitioner(Block &block) : block(block) {}

  void run() {
    for (Operation &op : block) {
      Role role = roleOf(&op);
      switch (role) {
      case Role::Skip:
      case Role::View:
        break;
      case Role::Attention:
        // One kernel of its own: no epilogue joins it.
        newGroup(&op, KernelKind::Attention, /*anchored=*/true);
        break;
      case Role::Contraction:
        newGroup(&op, KernelKind::Contraction, /*anchored=*/true);
        break;
      case Role::Reduction: {
        int g = newGroup(&op, KernelKind::Reduction, /*anchored=*/true);
        takeProducers(g, &op);
        break;
      }
      case Role::DataMovement:
        newGroup(&op, KernelKind::DataMovement, /*anchored=*/false);
        break;
      case Role::Elementwise:
        joinOrStart(&op);
        break;
      }
    }
  }

  /// Groups in the order of their last op, each group's ops in program
  /// order.
  SmallVector<Group *> liveGroups() {
    SmallVector<Group *> result;
    for (int g = 0, e = groups.size(); g < e; ++g)
      if (!groups[g].dead) {
        sortGroup(g);
        result.push_back(&groups[g]);
      }
    llvm::sort(result, [](Group *a, Group *b) { return a->last->isBeforeInBlock(b->last); });
    return result;
  }

private:
  Block &block;
  std::deque<Group> groups;
  llvm::DenseMap<Operation *, int> groupOf;

  int newGroup(Operation *op, KernelKind kind, bool anchored) {
    groups.push_back(Group{kind, anchored, {}, false});
    int id = groups.size() - 1;
    add(id, op);
    return id;
  }

  void add(int g, Operation *op) {
    Group &group = groups[g];
    group.ops.insert(op);
    groupOf[op] = g;
    if (!group.last || group.last->isBeforeInBlock(op))
      group.last = op;
    group.external.remove(op);
    for (Operation *top : usersOf(op))
      if (!group.ops.contains(top))
        group.external.insert(top);
  }

  /// Moves every op of group `p` into group `g`.
  void absorb(int g, int p) {
    Group &group = groups[g], &producer = groups[p];
    for (Operation *o : producer.ops) {
      group.ops.insert(o);
      groupOf[o] = g;
      group.external.remove(o);
    }
    if (group.last->isBeforeInBlock(producer.last))
      group.last = producer.last;
    for (Operation *top : producer.external)
      if (!group.ops.contains(top))
        group.external.insert(top);
    producer.dead = true;
    producer.ops.clear();
    producer.external.clear();
  }

  /// The top-level op of the block that holds `user`.
  Operation *topLevel(Operation *user) { return block.findAncestorOpInBlock(*user); }

  /// The top-level ops that use a result of `op`.
  SmallVector<Operation *> usersOf(Operation *op) {
    SmallVector<Operation *> tops;
    for (Value result : op->getResults())
      for (Operation *user : result.getUsers())
        if (Operation *top = topLevel(user))
          tops.push_back(top);
    return tops;
  }

  /// Whether group `g`, with group `p` (or none) and the ops `more` added,
  /// may form one kernel ending at `last`: every use of its values outside
  /// it comes after `last`.
  bool legal(int g, int p, ArrayRef<Operation *> more, Operation *last) {
    auto inside = [&](Operation *op) {
      return groups[g].ops.contains(op) || (p >= 0 && groups[p].ops.contains(op)) ||
             llvm::is_contained(more, op);
    };
    auto ok = [&](Operation *top) {
      return inside(top) || (top != last && last->isBeforeInBlock(top));
    };
    if (!llvm::all_of(groups[g].external, ok))
      return false;
    if (p >= 0 && !llvm::all_of(groups[p].external, ok))
      return false;
    for (Operation *op : more)
      if (!llvm::all_of(usersOf(op), ok))
        return false;
    return true;
  }

  /// The views between `v` and the op that computes it, if each has a
  /// single use; the computing op through `source`.
  SmallVector<Operation *> viewChain(Value v, Operation *&source) {
    SmallVector<Operation *> views;
    source = v.getDefiningOp();
    while (source && roleOf(source) == Role::View) {
      if (!source->getResult(0).hasOneUse())
        return {};
      views.push_back(source);
      source = source->getOperand(0).getDefiningOp();
    }
    return views;
  }

  /// Unanchored groups feeding `op` whose values only `op` and the group
  /// itself use: they can become part of `op`'s kernel.
  void takeProducers(int g, Operation *op) {
    for (Value operand : op->getOperands()) {
      Operation *source;
      SmallVector<Operation *> views = viewChain(operand, source);
      if (!source || !groupOf.count(source))
        continue;
      int p = groupOf[source];
      if (p == g || groups[p].dead || groups[p].anchored ||
          groups[p].kind != KernelKind::Elementwise)
        continue;
      if (!legal(g, p, views, op))
        continue;
      absorb(g, p);
      for (Operation *v : views)
        add(g, v);
    }
  }

  void sortGroup(int g) {
    SmallVector<Operation *> ops(groups[g].ops.begin(), groups[g].ops.end());
    llvm::sort(ops, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    groups[g].ops.clear();
    groups[g].ops.insert(ops.begin(), ops.end());
  }

  void joinOrStart(Operation *op) {
    // Candidate kernels: those computing an operand, anchored ones first,
    // then the most recent.
    struct Candidate {
      int group;
      SmallVector<Operation *> views;
    };
    SmallVector<Candidate> candidates;
    for (Value operand : op->getOperands()) {
      Operation *source;
      SmallVector<Operation *> views = viewChain(operand, source);
      if (!source || !groupOf.count(source))
        continue;
      int g = groupOf[source];
      if (groups[g].dead || groups[g].kind == KernelKind::Attention)
        continue;
      candidates.push_back({g, views});
    }
    llvm::stable_sort(candidates, [&](const Candidate &a, const Candidate &b) {
      if (groups[a.group].anchored != groups[b.group].anchored)
        return groups[a.group].anchored;
      return groups[b.group].last->isBeforeInBlock(groups[a.group].last);
    });
    for (const Candidate &c : candidates) {
      SmallVector<Operation *> more(c.views.begin(), c.views.end());
      more.push_back(op);
      if (!legal(c.group, -1, more, op))
        continue;
      for (Operation *v : c.views)
        add(c.group, v);
      add(c.group, op);
      takeProducers(c.group, op);
      return;
    }
    int g = newGroup(op, KernelKind::Elementwise, /*anchored=*/false);
    takeProducers(g, op);
  }
};

/// Moves the ops of `group` into a new kiln.kernel placed after its last op.
void buildKernel(Group &group, StringRef name) {
  Operation *last = group.ops.back();
  llvm::SetVector<Value> inputs;
  llvm::SetVector<Operation *> smallConstants;
  for (Operation *op : group.ops)
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (def && group.ops.contains(def))
        continue;
      if (isSmallConstant(operand))
        smallConstants.insert(def);
      else
        inputs.insert(operand);
    }
  SmallVector<Value> outputs;
  for (Operation *op : group.ops)
    for (Value result : op->getResults())
      if (llvm::any_of(result.getUsers(), [&](Operation *user) {
            Operation *top = op->getBlock()->findAncestorOpInBlock(*user);
            return !top || !group.ops.contains(top);
          }))
        outputs.push_back(result);

  OpBuilder builder(last->getContext());
  builder.setInsertionPointAfter(last);
  SmallVector<Location> locs;
  for (Operation *op : group.ops)
    locs.push_back(op->getLoc());
  Location loc = builder.getFusedLoc(locs);
  SmallVector<Type> resultTypes;
  for (Value v : outputs)
    resultTypes.push_back(v.getType());
  auto kernel = KernelOp::create(builder, loc, resultTypes, inputs.getArrayRef(),
                                 name, group.kind);
  Block &body = kernel.getBody().front();

  IRMapping mapping;
  for (auto [input, arg] : llvm::zip(inputs, body.getArguments()))
    mapping.map(input, arg);
  OpBuilder inner = OpBuilder::atBlockEnd(&body);
  for (Operation *c : smallConstants)
    mapping.map(c->getResult(0), inner.clone(*c)->getResult(0));
  for (Operation *op : group.ops)
    inner.clone(*op, mapping);
  SmallVector<Value> yielded;
  for (Value v : outputs)
    yielded.push_back(mapping.lookup(v));
  YieldOp::create(inner, loc, yielded);

  for (auto [v, r] : llvm::zip(outputs, kernel.getResults()))
    v.replaceUsesWithIf(r, [&](OpOperand &use) {
      Operation *top = kernel->getBlock()->findAncestorOpInBlock(*use.getOwner());
      return !top || !group.ops.contains(top);
    });
  for (Operation *op : llvm::reverse(group.ops))
    op->erase();
}

struct FormKernelsPass : kiln::impl::FormKernelsBase<FormKernelsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Partitioner partitioner(func.getBody().front());
    partitioner.run();
    int index = 0;
    for (Group *group : partitioner.liveGroups())
      buildKernel(*group, ("k" + llvm::Twine(index++)).str());
  }
};

} // namespace
