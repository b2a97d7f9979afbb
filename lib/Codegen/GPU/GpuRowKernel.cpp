//===- GpuRowKernel.cpp - One GPU launch per reduction kernel group ------===//
//
// A reduction kernel group (softmax, layer normalization, a reduce op, with
// their elementwise producers and consumers: every linalg op that carries
// the same `kiln.kernel` id and kind "reduction") becomes ONE gpu.launch:
// one block per row (256 threads, or one warp for rows under 256
// elements; rows shorter than a warp get a thread each, 256 rows per
// block), the group's ops run in program order inside it:
//
//  * a fill or an elementwise op that yields one value per row (a per-row
//    accumulator) becomes a register value, the same in every thread;
//  * a reduction folds a strided slice of the row per thread (elements
//    tid, tid + T, ...), combines the warp with xor shuffles and the warps
//    through shared memory after a barrier; every thread ends with the
//    row's result (a register), nothing is written back in between;
//  * an elementwise op over the row runs strided over the row's elements.
//
// Legality is proven, not assumed. Every op's loops split into outer loops
// (their product is the number of rows R) and inner loops (the row length
// K: a reduction's reduction loops, an elementwise op's trailing loops).
// Every buffer that the group writes and accesses more than once must be
// accessed row-locally: each access, composed with the (static, contiguous)
// strides of the view through expand/collapse views down to the
// allocation, has the linear offset rowLinear * K + innerLinear (a
// full-row buffer) or rowLinear (a per-row buffer), unit loops and unit
// dimensions counting as 0. Since every op maps element k of a row to
// thread k mod T, a full-row buffer written by one op and read by a later
// one is read by the thread that wrote it, and per-row buffers live in
// registers: the ops need no barrier between them, only the reductions'
// shared-memory combine does (two shared buffers used alternately, so one
// barrier per reduction). Per-row results that anything outside the group
// may read are stored once, by thread 0, at the end.
//
// A full-row intermediate that nothing outside the group reads (or that the
// group overwrites completely) is not written at all when it is cheap to
// recompute: its readers evaluate the producer's expression at the same
// element (softmax's exp(x - max), layer normalization's x - mean).
//
// Online softmax: a max reduction M over h(x) followed by a sum reduction
// whose summand is provably exp(h(x) - M) (the same expression of the same,
// unchanged, inputs) becomes one pass carrying (m, s) per thread: s is
// rescaled by exp(m_old - m_new) as m grows, and lanes and warps merge
// their pairs with the same rule.
//
// Anything else (dynamic shapes, element types other than f32, other view
// ops, combiners other than add/max/min, contractions, other ops between the
// group's ops) leaves the group to the per-op strategies.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Codegen/GPU/Strategies.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "kiln/Codegen/Common/LinearForm.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "llvm/Support/Debug.h"

#include <map>
#include <optional>

namespace kiln {
#define GEN_PASS_DEF_GPUROWKERNEL
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

#define DEBUG_TYPE "kiln-gpu-row-kernel"

using namespace mlir;

namespace {

/// Largest elementwise body recomputed by its readers instead of stored.
constexpr unsigned kMaxRecomputeOps = 12;
/// Rows shorter than a warp: one thread each, this many per block.
constexpr int64_t kRowsPerBlock = 256;

enum class AccessKind { Row, Full, Other };
enum class OpKind { Fill, Elementwise, Reduction, Copy };
enum class RootClass { ReadOnly, Row, Full, Other };

/// One memref operand of a group op.
struct Access {
  Value view;       // null for a scalar operand
  AffineMap map;    // in the op's loop dimensions
  Value root;       // the allocation, function argument or global under views
  bool plainViews = false; // only expand/collapse views down to a contiguous root
  AccessKind kind = AccessKind::Other;
};

struct RowOp {
  Operation *op = nullptr;
  OpKind kind = OpKind::Elementwise;
  bool perRow = false; // the op's loops are the rows only
  SmallVector<int64_t> ranges;
  SmallVector<unsigned> outer, inner;
  SmallVector<Access> inputs;
  Access output;
  bool outReadInBody = false;
  // Reductions.
  Operation *combiner = nullptr;
  Value other; // value folded into the accumulator
  // Analysis results.
  SmallVector<int> writer, producer, version, rowEvent; // per input
  int outWriter = -1, outProducer = -1, outVersion = 0, outRowEvent = -1;
  bool isVirtual = false;
  int onlineWith = -1; // max reduction <-> its sum reduction
};

/// The buffer under a chain of views, and whether the chain is only
/// expand/collapse views of a contiguous allocation or argument.
std::pair<Value, bool> traceRoot(Value v) {
  bool plain = true;
  while (Operation *def = v.getDefiningOp()) {
    if (auto e = dyn_cast<memref::ExpandShapeOp>(def)) {
      v = e.getSrc();
      continue;
    }
    if (auto c = dyn_cast<memref::CollapseShapeOp>(def)) {
      v = c.getSrc();
      continue;
    }
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      plain = false;
      v = view.getViewSource();
      continue;
    }
    break;
  }
  bool base = isa<BlockArgument>(v) ||
              isa_and_nonnull<memref::AllocOp, memref::AllocaOp, memref::GetGlobalOp>(
                  v.getDefiningOp());
  if (!base)
    return {Value(), false};
  auto t = dyn_cast<MemRefType>(v.getType());
  plain = plain && t && t.hasStaticShape() && t.getLayout().isIdentity();
  return {v, plain};
}

bool isF32(Type t) {
  if (auto m = dyn_cast<MemRefType>(t))
    t = m.getElementType();
  return t.isF32();
}

/// The combining op of a reduction body and the value it folds in.
bool matchCombiner(linalg::GenericOp op, RowOp &r) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return false;
  Operation *comb = yield.getOperand(0).getDefiningOp();
  if (!comb || comb->getBlock() != &body ||
      !isa<arith::AddFOp, arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
           arith::MinNumFOp>(comb))
    return false;
  BlockArgument acc = body.getArguments().back();
  if (!acc.hasOneUse())
    return false;
  if (comb->getOperand(0) == acc)
    r.other = comb->getOperand(1);
  else if (comb->getOperand(1) == acc)
    r.other = comb->getOperand(0);
  else
    return false;
  r.combiner = comb;
  return true;
}

bool isMax(Operation *comb) { return isa<arith::MaximumFOp, arith::MaxNumFOp>(comb); }

TypedAttr identityOf(Operation *comb, FloatType t) {
  const llvm::fltSemantics &sem = t.getFloatSemantics();
  if (isa<arith::AddFOp>(comb))
    return FloatAttr::get(t, 0.0);
  if (isMax(comb))
    return FloatAttr::get(t, APFloat::getInf(sem, /*Negative=*/true));
  return FloatAttr::get(t, APFloat::getInf(sem, /*Negative=*/false));
}

int64_t product(ArrayRef<int64_t> ranges, ArrayRef<unsigned> dims) {
  int64_t p = 1;
  for (unsigned d : dims)
    p *= ranges[d];
  return p;
}

/// Everything known about one group, and the rewrite.
class RowGroup {
public:
  RowGroup(SmallVector<Operation *> ops) : members(std::move(ops)) {}

  /// Proves the rewrite legal; false leaves the group to other strategies.
  bool analyze();
  /// Threads per row for the analyzed group: a block for rows of 256 or
  /// more, a warp for shorter rows, a thread each for rows shorter than a
  /// warp (256 rows per block).
  int64_t chooseThreads() const { return rowLen >= 256 ? 256 : rowLen >= 32 ? 32 : 1; }
  /// One launch for the group, `threadsPerRow` as chooseThreads() says.
  void rewrite(int64_t threadsPerRow);

private:
  bool buildOp(Operation *op);
  bool split(RowOp &r);
  void classify(RowOp &r, Access &a);
  bool classifyRoots();
  void simulate();
  bool resolvable(int e, DenseMap<Value, int> &version);
  void chooseVirtual();
  void findOnline();
  bool visibleOutside(Value root);
  std::pair<Value, int> resolve(Value v, int i);
  bool same(Value a, int ia, Value b, int ib, unsigned depth = 0);

  // Emission.
  Value cst(OpBuilder &b, int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  SmallVector<Value> ivsOf(OpBuilder &b, int i, Value k);
  Value eval(OpBuilder &b, int i, Value k);
  SmallVector<Value> indicesAt(OpBuilder &b, const Access &a, ArrayRef<Value> ivs);
  Value loadAt(OpBuilder &b, const Access &a, ArrayRef<Value> ivs);
  Value getReg(OpBuilder &b, Value root);
  Value rootIndex(OpBuilder &b, Value root, SmallVectorImpl<Value> &at);
  SmallVector<Value> blockReduce(OpBuilder &b, SmallVector<Value> vals,
                                 ArrayRef<Value> identities,
                                 function_ref<SmallVector<Value>(OpBuilder &, ArrayRef<Value>,
                                                                 ArrayRef<Value>)>
                                     combine,
                                 Operation *combiner = nullptr);
  Value combineWith(OpBuilder &b, Operation *comb, Value x, Value y);
  SmallVector<Value> mergeOnline(OpBuilder &b, Operation *comb, ArrayRef<Value> x,
                                 ArrayRef<Value> y);
  void emitOp(OpBuilder &b, int i);

  SmallVector<Operation *> members;
  SmallVector<RowOp, 0> ops;
  int64_t rows = 0, rowLen = 0;
  DenseMap<Value, RootClass> rootClass;
  DenseMap<Value, SmallVector<const Access *>> accessesOf;
  bool anyOnline = false;

  // Emission state.
  Location loc = UnknownLoc();
  Value row, tid, lane, warpId, shared;
  Value first;            // the thread's first element of the row
  int64_t threads = 32;   // threads per row (1: a thread per row)
  int64_t warps = 1, comps = 1;
  int reductionCount = 0;
  DenseMap<Value, Value> reg;
  DenseMap<Value, bool> regWritten;
  std::map<std::pair<int, int>, Value> snapshot; // (op, input) -> register read
  DenseMap<int, Value> onlineSum;                // sum reduction -> its row sum
};

bool RowGroup::buildOp(Operation *op) {
  RowOp r;
  r.op = op;
  if (auto fill = dyn_cast<linalg::FillOp>(op)) {
    if (!fill.hasPureBufferSemantics() || !isF32(fill.value().getType()))
      return false;
    auto t = dyn_cast<MemRefType>(fill.output().getType());
    if (!t || !t.hasStaticShape() || !isF32(t))
      return false;
    r.kind = OpKind::Fill;
    r.ranges.assign(t.getShape().begin(), t.getShape().end());
    r.output.view = fill.output();
    r.output.map = AffineMap::getMultiDimIdentityMap(t.getRank(), op->getContext());
  } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
    auto s = dyn_cast<MemRefType>(copy.getSource().getType());
    auto t = dyn_cast<MemRefType>(copy.getTarget().getType());
    if (!s || !t || !s.hasStaticShape() || s.getShape() != t.getShape() || !isF32(s) ||
        !isF32(t))
      return false;
    r.kind = OpKind::Copy;
    r.ranges.assign(t.getShape().begin(), t.getShape().end());
    AffineMap id = AffineMap::getMultiDimIdentityMap(t.getRank(), op->getContext());
    Access in;
    in.view = copy.getSource();
    in.map = id;
    r.inputs.push_back(in);
    r.output.view = copy.getTarget();
    r.output.map = id;
  } else if (auto g = dyn_cast<linalg::GenericOp>(op)) {
    if (!g.hasPureBufferSemantics() || g.getNumDpsInits() != 1 ||
        linalg::isaContractionOpInterface(g))
      return false;
    SmallVector<int64_t> ranges = g.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic))
      return false;
    r.ranges = ranges;
    bool reduction = false;
    for (utils::IteratorType it : g.getIteratorTypesArray())
      reduction |= it == utils::IteratorType::reduction;
    for (OpOperand *in : g.getDpsInputOperands()) {
      Access a;
      if (isa<MemRefType>(in->get().getType())) {
        auto t = cast<MemRefType>(in->get().getType());
        if (!t.hasStaticShape())
          return false;
        a.view = in->get();
        a.map = g.getMatchingIndexingMap(in);
      }
      if (!isF32(in->get().getType()))
        return false;
      r.inputs.push_back(a);
    }
    OpOperand *init = g.getDpsInitOperand(0);
    auto t = dyn_cast<MemRefType>(init->get().getType());
    if (!t || !t.hasStaticShape() || !isF32(t))
      return false;
    r.output.view = init->get();
    r.output.map = g.getMatchingIndexingMap(init);
    BlockArgument outArg = g.getRegion().front().getArguments().back();
    if (reduction) {
      r.kind = OpKind::Reduction;
      if (!matchCombiner(g, r) || !r.output.map.isProjectedPermutation(/*allowZeroInResults=*/true))
        return false;
      for (auto [d, it] : llvm::enumerate(g.getIteratorTypesArray()))
        if (it == utils::IteratorType::reduction && r.output.map.isFunctionOfDim(d))
          return false;
    } else {
      r.kind = OpKind::Elementwise;
      r.outReadInBody = !outArg.use_empty();
    }
    for (Operation &bodyOp : g.getRegion().front())
      if (bodyOp.getNumRegions() != 0)
        return false;
  } else {
    return false;
  }
  ops.push_back(std::move(r));
  return true;
}

/// Outer (rows) and inner (row elements) loops of an op.
bool RowGroup::split(RowOp &r) {
  unsigned n = r.ranges.size();
  int64_t total = product(r.ranges, llvm::to_vector(llvm::seq<unsigned>(0, n)));
  r.outer.clear();
  r.inner.clear();
  if (r.kind == OpKind::Reduction) {
    auto iters = cast<linalg::GenericOp>(r.op).getIteratorTypesArray();
    for (unsigned d = 0; d < n; ++d)
      (iters[d] == utils::IteratorType::reduction ? r.inner : r.outer).push_back(d);
    return product(r.ranges, r.outer) == rows && product(r.ranges, r.inner) == rowLen;
  }
  if (total == rows) {
    r.perRow = true;
    for (unsigned d = 0; d < n; ++d)
      r.outer.push_back(d);
    return true;
  }
  if (total != rows * rowLen || r.kind == OpKind::Copy)
    return false;
  // The fewest trailing loops whose product is the row length.
  int64_t p = 1;
  int s = n;
  while (s > 0 && p < rowLen)
    p *= r.ranges[--s];
  if (p != rowLen)
    return false;
  for (unsigned d = 0; d < n; ++d)
    ((int)d < s ? r.outer : r.inner).push_back(d);
  return true;
}

/// Row, Full or Other: the access's linear offset in its allocation.
void RowGroup::classify(RowOp &r, Access &a) {
  if (!a.view)
    return;
  auto [root, plain] = traceRoot(a.view);
  a.root = root;
  a.plainViews = plain;
  a.kind = AccessKind::Other;
  if (!root || !plain)
    return;
  auto t = cast<MemRefType>(a.view.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(t.getStridesAndOffset(strides, offset)) || offset != 0)
    return;
  // Contiguous row-major, unit dimensions aside.
  int64_t expect = 1;
  for (int64_t i = t.getRank() - 1; i >= 0; --i) {
    if (t.getDimSize(i) == 1)
      continue;
    if (strides[i] != expect)
      return;
    expect *= t.getDimSize(i);
  }
  unsigned n = r.ranges.size();
  kiln::LinearForm off;
  off.coef.assign(n, 0);
  for (unsigned i = 0; i < a.map.getNumResults(); ++i) {
    if (t.getDimSize(i) == 1)
      continue;
    auto l = kiln::linearize(a.map.getResult(i), n);
    if (!l)
      return;
    for (unsigned d = 0; d < n; ++d)
      off.coef[d] += l->coef[d] * strides[i];
    off.offset += l->offset * strides[i];
  }
  if (off.offset != 0)
    return;
  SmallVector<int64_t> rowStride(n, 0), innerStride(n, 0);
  int64_t s = 1;
  for (unsigned d : llvm::reverse(r.outer)) {
    rowStride[d] = s;
    s *= r.ranges[d];
  }
  s = 1;
  for (unsigned d : llvm::reverse(r.inner)) {
    innerStride[d] = s;
    s *= r.ranges[d];
  }
  bool isRow = true, isFull = !r.perRow;
  for (unsigned d = 0; d < n; ++d) {
    if (r.ranges[d] == 1)
      continue;
    if (off.coef[d] != rowStride[d])
      isRow = false;
    if (off.coef[d] != rowStride[d] * rowLen + innerStride[d])
      isFull = false;
  }
  a.kind = isFull ? AccessKind::Full : isRow ? AccessKind::Row : AccessKind::Other;
}

bool RowGroup::classifyRoots() {
  DenseMap<Value, bool> written;
  for (RowOp &r : ops) {
    for (Access &a : r.inputs)
      if (a.view) {
        if (!a.root)
          return false;
        accessesOf[a.root].push_back(&a);
      }
    if (!r.output.root)
      return false;
    accessesOf[r.output.root].push_back(&r.output);
    written[r.output.root] = true;
  }
  for (auto &[root, accesses] : accessesOf) {
    if (!written.lookup(root)) {
      rootClass[root] = RootClass::ReadOnly;
      continue;
    }
    if (accesses.size() == 1) {
      rootClass[root] = RootClass::Other;
      continue;
    }
    bool allRow = llvm::all_of(accesses, [](const Access *a) { return a->kind == AccessKind::Row; });
    bool allFull = llvm::all_of(accesses, [](const Access *a) { return a->kind == AccessKind::Full; });
    if (!allRow && !allFull)
      return false;
    rootClass[root] = allRow ? RootClass::Row : RootClass::Full;
  }
  for (RowOp &r : ops) {
    RootClass c = rootClass[r.output.root];
    // Per-row values live in registers: reductions and per-row ops must
    // write a per-row buffer.
    if (r.kind == OpKind::Reduction || r.perRow) {
      if (r.output.kind != AccessKind::Row)
        return false;
      rootClass[r.output.root] = RootClass::Row;
    } else if (c == RootClass::Row) {
      return false;
    }
  }
  // A root promoted to Row above must not have other kinds of accesses.
  for (auto &[root, accesses] : accessesOf)
    if (rootClass[root] == RootClass::Row)
      for (const Access *a : accesses)
        if (a->kind != AccessKind::Row)
          return false;
  // Per-row ops read registers or anything read-only, never full rows.
  for (RowOp &r : ops)
    if (r.perRow)
      for (Access &a : r.inputs)
        if (a.view && rootClass[a.root] == RootClass::Full)
          return false;
  return true;
}

/// Whether op `e`'s output (a full-row buffer) still holds e's expression of
/// e's inputs as they are now.
bool RowGroup::resolvable(int e, DenseMap<Value, int> &version) {
  RowOp &w = ops[e];
  if (w.perRow || w.outReadInBody || (w.kind != OpKind::Elementwise && w.kind != OpKind::Fill))
    return false;
  if (w.output.kind != AccessKind::Full)
    return false;
  for (auto [j, a] : llvm::enumerate(w.inputs))
    if (a.view && rootClass[a.root] == RootClass::Full && version[a.root] != w.version[j])
      return false;
  return true;
}

/// Walks the group in order: which op last wrote what each op reads.
void RowGroup::simulate() {
  DenseMap<Value, int> version, lastWriter;
  for (int i = 0, e = ops.size(); i < e; ++i) {
    RowOp &r = ops[i];
    auto readOf = [&](const Access &a, int &writer, int &producer, int &ver, int &rowEvent) {
      writer = producer = rowEvent = -1;
      ver = 0;
      if (!a.view)
        return;
      RootClass c = rootClass[a.root];
      ver = version[a.root];
      auto it = lastWriter.find(a.root);
      writer = it == lastWriter.end() ? -1 : it->second;
      if (c == RootClass::Full && writer >= 0 && resolvable(writer, version))
        producer = writer;
      if (c == RootClass::Row)
        rowEvent = writer;
    };
    for (Access &a : r.inputs) {
      int w, p, v, ev;
      readOf(a, w, p, v, ev);
      r.writer.push_back(w);
      r.producer.push_back(p);
      r.version.push_back(v);
      r.rowEvent.push_back(ev);
    }
    readOf(r.output, r.outWriter, r.outProducer, r.outVersion, r.outRowEvent);
    version[r.output.root]++;
    lastWriter[r.output.root] = i;
  }
}

bool RowGroup::visibleOutside(Value root) {
  if (!isa_and_nonnull<memref::AllocOp>(root.getDefiningOp()))
    return true;
  DenseSet<Operation *> inGroup(members.begin(), members.end());
  SmallVector<Value> work{root};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (inGroup.contains(user))
        continue;
      if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(user)) {
        work.push_back(user->getResult(0));
        continue;
      }
      if (isa<memref::DeallocOp>(user))
        continue;
      return true;
    }
  }
  return false;
}

/// Full-row intermediates that are recomputed by their readers, not stored.
void RowGroup::chooseVirtual() {
  for (int e = 0, n = ops.size(); e < n; ++e) {
    RowOp &w = ops[e];
    if (w.perRow || w.outReadInBody || w.output.kind != AccessKind::Full ||
        rootClass[w.output.root] != RootClass::Full)
      continue;
    if (w.kind != OpKind::Elementwise && w.kind != OpKind::Fill)
      continue;
    if (w.kind == OpKind::Elementwise &&
        cast<linalg::GenericOp>(w.op).getRegion().front().getOperations().size() >
            kMaxRecomputeOps)
      continue;
    bool ok = true;
    for (int p : w.producer)
      if (p >= 0 && ops[p].isVirtual)
        ok = false;
    // Every group read of this value must be able to recompute it, and the
    // value must be dead outside: overwritten whole by the group, or in a
    // buffer nothing else uses.
    bool overwritten = false;
    Value root = w.output.root;
    for (int i = e + 1; i < n && ok && !overwritten; ++i) {
      RowOp &r = ops[i];
      for (auto [j, a] : llvm::enumerate(r.inputs))
        if (a.view && a.root == root && r.writer[j] == e && r.producer[j] != e)
          ok = false;
      if (r.output.root == root && r.outWriter == e && r.outReadInBody && r.outProducer != e)
        ok = false;
      if (r.output.root == root && r.output.kind == AccessKind::Full &&
          cast<MemRefType>(root.getType()).getNumElements() == rows * rowLen)
        overwritten = true;
    }
    if (ok && (overwritten || !visibleOutside(root)))
      w.isVirtual = true;
  }
}

/// An elementwise read followed to the expression that produced it.
std::pair<Value, int> RowGroup::resolve(Value v, int i) {
  while (true) {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || ops[i].kind == OpKind::Fill || ops[i].kind == OpKind::Copy ||
        arg.getOwner()->getParentOp() != ops[i].op)
      return {v, i};
    unsigned n = ops[i].inputs.size();
    int p = arg.getArgNumber() < n ? ops[i].producer[arg.getArgNumber()] : ops[i].outProducer;
    if (p < 0)
      return {v, i};
    if (ops[p].kind == OpKind::Fill)
      return {cast<linalg::FillOp>(ops[p].op).value(), p};
    auto g = cast<linalg::GenericOp>(ops[p].op);
    v = g.getRegion().front().getTerminator()->getOperand(0);
    i = p;
  }
}

/// Whether two values of op bodies are the same expression of the same
/// data at the same row element.
bool RowGroup::same(Value a, int ia, Value b, int ib, unsigned depth) {
  if (depth > 32)
    return false;
  std::tie(a, ia) = resolve(a, ia);
  std::tie(b, ib) = resolve(b, ib);
  auto inBody = [&](Value v, int i) {
    Region *r = v.getParentRegion();
    return ops[i].op->getNumRegions() && r == &ops[i].op->getRegion(0);
  };
  bool ba = inBody(a, ia), bb = inBody(b, ib);
  if (!ba || !bb)
    return !ba && !bb && a == b;
  auto argA = dyn_cast<BlockArgument>(a), argB = dyn_cast<BlockArgument>(b);
  if (argA || argB) {
    if (!argA || !argB)
      return false;
    unsigned ja = argA.getArgNumber(), jb = argB.getArgNumber();
    if (ja >= ops[ia].inputs.size() || jb >= ops[ib].inputs.size())
      return false;
    const Access &x = ops[ia].inputs[ja], &y = ops[ib].inputs[jb];
    if (!x.view || !y.view)
      return !x.view && !y.view &&
             ops[ia].op->getOperand(ja) == ops[ib].op->getOperand(jb);
    if (x.root != y.root || x.kind != y.kind || x.kind == AccessKind::Other)
      return false;
    if (rootClass[x.root] == RootClass::Row)
      return ops[ia].rowEvent[ja] == ops[ib].rowEvent[jb];
    return ops[ia].version[ja] == ops[ib].version[jb];
  }
  Operation *oa = a.getDefiningOp(), *ob = b.getDefiningOp();
  if (oa->getName() != ob->getName() || oa->getAttrDictionary() != ob->getAttrDictionary() ||
      oa->getNumOperands() != ob->getNumOperands() || oa->getNumResults() != 1 ||
      ob->getNumResults() != 1 || isa<linalg::IndexOp>(oa))
    return false;
  for (unsigned k = 0; k < oa->getNumOperands(); ++k)
    if (!same(oa->getOperand(k), ia, ob->getOperand(k), ib, depth + 1))
      return false;
  return true;
}

/// A max reduction and a later sum reduction of exp(its input - the max).
void RowGroup::findOnline() {
  for (int i1 = 0, n = ops.size(); i1 < n; ++i1) {
    RowOp &m = ops[i1];
    if (m.kind != OpKind::Reduction || !isMax(m.combiner) || m.outRowEvent < 0)
      continue;
    // The max starts from -inf, so the merged sum is relative to it.
    RowOp &init = ops[m.outRowEvent];
    if (init.kind != OpKind::Fill)
      continue;
    auto c = cast<linalg::FillOp>(init.op).value().getDefiningOp<arith::ConstantOp>();
    auto f = c ? dyn_cast<FloatAttr>(c.getValue()) : FloatAttr();
    if (!f || !f.getValue().isInfinity() || !f.getValue().isNegative())
      continue;
    for (int i2 = i1 + 1; i2 < n; ++i2) {
      RowOp &s = ops[i2];
      if (s.kind != OpKind::Reduction || !isa<arith::AddFOp>(s.combiner) || s.onlineWith >= 0)
        continue;
      auto [v, iv] = resolve(s.other, i2);
      auto exp = v.getDefiningOp<math::ExpOp>();
      if (!exp || !ops[iv].op->isAncestor(exp))
        continue;
      auto [d, id] = resolve(exp.getOperand(), iv);
      auto sub = d.getDefiningOp<arith::SubFOp>();
      if (!sub || !ops[id].op->isAncestor(sub))
        continue;
      auto [mv, im] = resolve(sub.getRhs(), id);
      auto marg = dyn_cast<BlockArgument>(mv);
      if (!marg || marg.getOwner()->getParentOp() != ops[im].op ||
          marg.getArgNumber() >= ops[im].inputs.size())
        continue;
      const Access &ma = ops[im].inputs[marg.getArgNumber()];
      if (!ma.view || ma.root != m.output.root || ops[im].rowEvent[marg.getArgNumber()] != i1)
        continue;
      if (!same(sub.getLhs(), id, m.other, i1))
        continue;
      m.onlineWith = i2;
      s.onlineWith = i1;
      anyOnline = true;
      break;
    }
  }
}

bool RowGroup::analyze() {
  for (Operation *op : members)
    if (!buildOp(op))
      return false;
  for (RowOp &r : ops) {
    if (r.kind != OpKind::Reduction)
      continue;
    auto iters = cast<linalg::GenericOp>(r.op).getIteratorTypesArray();
    int64_t rr = 1, kk = 1;
    for (auto [d, it] : llvm::enumerate(iters))
      (it == utils::IteratorType::reduction ? kk : rr) *= r.ranges[d];
    if (rowLen == 0) {
      rows = rr;
      rowLen = kk;
    } else if (rows != rr || rowLen != kk) {
      return false;
    }
  }
  if (rowLen < 2 || rows < 1)
    return false;
  for (RowOp &r : ops) {
    if (!split(r))
      return false;
    for (Access &a : r.inputs)
      classify(r, a);
    classify(r, r.output);
  }
  if (!classifyRoots())
    return false;
  simulate();
  chooseVirtual();
  findOnline();
  return true;
}

//===----------------------------------------------------------------------===//
// Emission
//===----------------------------------------------------------------------===//

SmallVector<Value> RowGroup::ivsOf(OpBuilder &b, int i, Value k) {
  RowOp &r = ops[i];
  SmallVector<Value> ivs(r.ranges.size());
  auto delinearize = [&](Value v, ArrayRef<unsigned> dims) {
    for (unsigned d : llvm::reverse(dims)) {
      if (r.ranges[d] == 1) {
        ivs[d] = cst(b, 0);
        continue;
      }
      Value n = cst(b, r.ranges[d]);
      ivs[d] = arith::RemUIOp::create(b, loc, v, n);
      v = arith::DivUIOp::create(b, loc, v, n);
    }
  };
  delinearize(row, r.outer);
  if (k)
    delinearize(k, r.inner);
  return ivs;
}

SmallVector<Value> RowGroup::indicesAt(OpBuilder &b, const Access &a, ArrayRef<Value> ivs) {
  SmallVector<Value> at;
  for (unsigned e = 0; e < a.map.getNumResults(); ++e)
    at.push_back(affine::AffineApplyOp::create(b, loc, a.map.getSubMap({e}), ivs));
  return at;
}

Value RowGroup::loadAt(OpBuilder &b, const Access &a, ArrayRef<Value> ivs) {
  return memref::LoadOp::create(b, loc, a.view, indicesAt(b, a, ivs));
}

/// Indices of element `row` of a per-row allocation.
Value RowGroup::rootIndex(OpBuilder &b, Value root, SmallVectorImpl<Value> &at) {
  auto t = cast<MemRefType>(root.getType());
  at.assign(t.getRank(), Value());
  Value v = row;
  for (int64_t i = t.getRank() - 1; i >= 0; --i) {
    if (t.getDimSize(i) == 1) {
      at[i] = cst(b, 0);
      continue;
    }
    Value n = cst(b, t.getDimSize(i));
    at[i] = arith::RemUIOp::create(b, loc, v, n);
    v = arith::DivUIOp::create(b, loc, v, n);
  }
  return root;
}

/// The register of a per-row buffer, loaded once if the group reads it
/// before writing it.
Value RowGroup::getReg(OpBuilder &b, Value root) {
  if (Value v = reg.lookup(root))
    return v;
  SmallVector<Value> at;
  rootIndex(b, root, at);
  Value v = memref::LoadOp::create(b, loc, root, at);
  reg[root] = v;
  return v;
}

/// Op i's value at element k of the row (k null for per-row ops); for a
/// reduction, the value it folds in.
Value RowGroup::eval(OpBuilder &b, int i, Value k) {
  RowOp &r = ops[i];
  if (r.kind == OpKind::Fill)
    return cast<linalg::FillOp>(r.op).value();
  SmallVector<Value> ivs = ivsOf(b, i, k);
  auto read = [&](const Access &a, int j, int producer) -> Value {
    if (rootClass[a.root] == RootClass::Row)
      return snapshot.at({i, j});
    if (producer >= 0 && ops[producer].isVirtual)
      return eval(b, producer, k);
    return loadAt(b, a, ivs);
  };
  if (r.kind == OpKind::Copy)
    return read(r.inputs[0], 0, r.producer[0]);
  auto g = cast<linalg::GenericOp>(r.op);
  Block &body = g.getRegion().front();
  IRMapping map;
  for (auto [j, a] : llvm::enumerate(r.inputs))
    map.map(body.getArgument(j), a.view ? read(a, j, r.producer[j]) : g.getDpsInputs()[j]);
  if (r.outReadInBody)
    map.map(body.getArguments().back(), read(r.output, -1, r.outProducer));
  for (Operation &o : body.without_terminator()) {
    if (&o == r.combiner)
      continue;
    if (auto index = dyn_cast<linalg::IndexOp>(o)) {
      map.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    b.clone(o, map);
  }
  if (r.kind == OpKind::Reduction)
    return map.lookupOrDefault(r.other);
  return map.lookupOrDefault(body.getTerminator()->getOperand(0));
}

Value RowGroup::combineWith(OpBuilder &b, Operation *comb, Value x, Value y) {
  OperationState state(loc, comb->getName(), ValueRange{x, y}, {x.getType()}, comb->getAttrs());
  return b.create(state)->getResult(0);
}

/// Merge of two (max, sum of exp(v - max)) pairs.
SmallVector<Value> RowGroup::mergeOnline(OpBuilder &b, Operation *comb, ArrayRef<Value> x,
                                         ArrayRef<Value> y) {
  Value m = combineWith(b, comb, x[0], y[0]);
  Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
  // exp(m_i - m), exactly 1 where m_i is the max (also when both are -inf).
  auto scale = [&](Value mi) -> Value {
    Value eq = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mi, m);
    Value e = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, mi, m));
    return arith::SelectOp::create(b, loc, eq, one, e);
  };
  Value s = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, x[1], scale(x[0])),
                                  arith::MulFOp::create(b, loc, y[1], scale(y[0])));
  return {m, s};
}

/// Combines each thread's values across the row's threads; every thread
/// gets the result.
SmallVector<Value> RowGroup::blockReduce(
    OpBuilder &b, SmallVector<Value> vals, ArrayRef<Value> identities,
    function_ref<SmallVector<Value>(OpBuilder &, ArrayRef<Value>, ArrayRef<Value>)> combine,
    Operation *combiner) {
  if (threads == 1)
    return vals;
  Type i32 = b.getI32Type();
  auto warpReduce = [&](SmallVector<Value> v) {
    // One value with a plain combiner: upstream's subgroup reduction. The
    // online softmax's (max, sum) pairs merge by hand, with xor shuffles.
    if (combiner && v.size() == 1)
      if (Value r = kiln::warpReduce(b, loc, v[0], combiner))
        return SmallVector<Value>{r};
    Value width = arith::ConstantIntOp::create(b, loc, i32, 32);
    for (int64_t off = 16; off >= 1; off /= 2) {
      Value o = arith::ConstantIntOp::create(b, loc, i32, off);
      SmallVector<Value> other;
      for (Value x : v)
        other.push_back(
            gpu::ShuffleOp::create(b, loc, x, o, width, gpu::ShuffleMode::XOR).getShuffleResult());
      v = combine(b, v, other);
    }
    return v;
  };
  vals = warpReduce(vals);
  if (warps == 1)
    return vals;
  // Two shared buffers used alternately: a reduction's writes cannot race
  // with the previous reduction's reads, which precede this one's barrier.
  int64_t parity = reductionCount++ % 2;
  Value zero = cst(b, 0);
  Value isLane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, zero);
  auto store = scf::IfOp::create(b, loc, isLane0, /*withElse=*/false);
  {
    OpBuilder ib = store.getThenBodyBuilder();
    for (auto [c, v] : llvm::enumerate(vals)) {
      Value slot = arith::AddIOp::create(ib, loc, warpId,
                                         cst(ib, (parity * comps + c) * warps));
      memref::StoreOp::create(ib, loc, v, shared, ValueRange{slot});
    }
  }
  gpu::BarrierOp::create(b, loc);
  Value has = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, lane, cst(b, warps));
  Value safeLane = arith::SelectOp::create(b, loc, has, lane, zero);
  SmallVector<Value> got;
  for (auto [c, id] : llvm::enumerate(identities)) {
    Value slot = arith::AddIOp::create(b, loc, safeLane, cst(b, (parity * comps + c) * warps));
    Value v = memref::LoadOp::create(b, loc, shared, ValueRange{slot});
    got.push_back(arith::SelectOp::create(b, loc, has, v, id));
  }
  return warpReduce(got);
}

void RowGroup::emitOp(OpBuilder &b, int i) {
  RowOp &r = ops[i];
  // Register reads happen here, at the op's place in the group.
  for (auto [j, a] : llvm::enumerate(r.inputs))
    if (a.view && rootClass[a.root] == RootClass::Row)
      snapshot[{i, (int)j}] = getReg(b, a.root);
  if (r.outReadInBody && rootClass[r.output.root] == RootClass::Row)
    snapshot[{i, -1}] = getReg(b, r.output.root);
  if (r.isVirtual)
    return;
  Value root = r.output.root;
  auto f32 = b.getF32Type();

  if (r.kind == OpKind::Reduction) {
    Value total;
    if (r.onlineWith >= 0 && r.onlineWith < i) {
      // The sum of an online pair: computed with its max.
      total = onlineSum.at(i);
    } else if (r.onlineWith > i) {
      Value negInf = arith::ConstantOp::create(b, loc, identityOf(r.combiner, f32));
      Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
      Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
      auto loop = scf::ForOp::create(b, loc, first, cst(b, rowLen), cst(b, threads),
                                     ValueRange{negInf, zeroF});
      {
        OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
        Value v = eval(lb, i, loop.getInductionVar());
        Value m = loop.getRegionIterArgs()[0], s = loop.getRegionIterArgs()[1];
        // One exp per element: exp(min - max) rescales the sum when v is the
        // new max, and is v's term otherwise.
        Value bigger = arith::CmpFOp::create(lb, loc, arith::CmpFPredicate::OGT, v, m);
        Value hi = combineWith(lb, r.combiner, m, v);
        Value lo = arith::SelectOp::create(lb, loc, bigger, m, v);
        Value e = math::ExpOp::create(lb, loc, arith::SubFOp::create(lb, loc, lo, hi));
        Value rescaled = arith::AddFOp::create(lb, loc, arith::MulFOp::create(lb, loc, s, e), one);
        Value added = arith::AddFOp::create(lb, loc, s, e);
        Value sNew = arith::SelectOp::create(lb, loc, bigger, rescaled, added);
        scf::YieldOp::create(lb, loc, ValueRange{hi, sNew});
      }
      Operation *comb = r.combiner;
      SmallVector<Value> res = blockReduce(
          b, {loop.getResult(0), loop.getResult(1)}, {negInf, zeroF},
          [&](OpBuilder &cb, ArrayRef<Value> x, ArrayRef<Value> y) {
            return mergeOnline(cb, comb, x, y);
          });
      total = res[0];
      onlineSum[r.onlineWith] = res[1];
    } else {
      Value identity = arith::ConstantOp::create(b, loc, identityOf(r.combiner, f32));
      auto loop =
          scf::ForOp::create(b, loc, first, cst(b, rowLen), cst(b, threads), ValueRange{identity});
      {
        OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
        Value v = eval(lb, i, loop.getInductionVar());
        scf::YieldOp::create(lb, loc, combineWith(lb, r.combiner, loop.getRegionIterArgs()[0], v));
      }
      Operation *comb = r.combiner;
      total = blockReduce(b, {loop.getResult(0)}, {identity},
                          [&](OpBuilder &cb, ArrayRef<Value> x, ArrayRef<Value> y) {
                            return SmallVector<Value>{combineWith(cb, comb, x[0], y[0])};
                          },
                          comb)[0];
    }
    Value init = getReg(b, root);
    reg[root] = combineWith(b, r.combiner, init, total);
    regWritten[root] = true;
    return;
  }
  if (r.perRow) {
    reg[root] = eval(b, i, Value());
    regWritten[root] = true;
    return;
  }
  // A full-row op: strided over the row's elements.
  auto loop = scf::ForOp::create(b, loc, first, cst(b, rowLen), cst(b, threads));
  OpBuilder lb = OpBuilder::atBlockTerminator(loop.getBody());
  Value k = loop.getInductionVar();
  Value v = eval(lb, i, k);
  memref::StoreOp::create(lb, loc, v, r.output.view, indicesAt(lb, r.output, ivsOf(lb, i, k)));
}

void RowGroup::rewrite(int64_t threadsPerRow) {
  Operation *last = members.back();
  loc = last->getLoc();
  OpBuilder b(last);
  threads = threadsPerRow;
  warps = threads >= 32 ? threads / 32 : 1;
  comps = anyOnline ? 2 : 1;
  SmallVector<Type> workgroup;
  if (warps > 1)
    workgroup.push_back(MemRefType::get(
        {2 * comps * warps}, b.getF32Type(), MemRefLayoutAttrInterface{},
        gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup)));
  Value one = cst(b, 1);
  int64_t blockSize = threads == 1 ? kRowsPerBlock : threads;
  int64_t gridSize = threads == 1 ? llvm::divideCeil(rows, kRowsPerBlock) : rows;
  auto launch = gpu::LaunchOp::create(b, loc, cst(b, gridSize), one, one, cst(b, blockSize), one,
                                      one, /*dynamicSharedMemorySize=*/nullptr,
                                      /*asyncTokenType=*/nullptr, ValueRange{}, workgroup);
  if (Attribute strategy = last->getAttr(kiln::kStrategyAttr))
    launch->setAttr(kiln::kStrategyAttr, strategy);
  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  tid = launch.getThreadIds().x;
  lane = arith::RemUIOp::create(b, loc, tid, cst(b, 32));
  warpId = arith::DivUIOp::create(b, loc, tid, cst(b, 32));
  if (warps > 1)
    shared = body.getArguments().back();
  scf::IfOp inRange;
  if (threads == 1) {
    row = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, cst(b, kRowsPerBlock)), tid);
    first = cst(b, 0);
    Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, cst(b, rows));
    inRange = scf::IfOp::create(b, loc, valid, /*withElse=*/false);
    b.setInsertionPoint(inRange.thenBlock()->getTerminator());
  } else {
    row = launch.getBlockIds().x;
    first = tid;
  }
  for (int i = 0, n = ops.size(); i < n; ++i)
    emitOp(b, i);
  // Per-row results that outlive the group: one store by thread 0.
  SmallVector<Value> stores;
  for (RowOp &r : ops)
    if (regWritten.lookup(r.output.root) && visibleOutside(r.output.root) &&
        !llvm::is_contained(stores, r.output.root))
      stores.push_back(r.output.root);
  if (!stores.empty()) {
    OpBuilder ib = b;
    if (threads > 1) {
      Value isThread0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, cst(b, 0));
      auto write = scf::IfOp::create(b, loc, isThread0, /*withElse=*/false);
      ib = write.getThenBodyBuilder();
    }
    for (Value root : stores) {
      SmallVector<Value> at;
      rootIndex(ib, root, at);
      memref::StoreOp::create(ib, loc, reg[root], root, at);
    }
  }
  if (inRange)
    b.setInsertionPointAfter(inRange);
  gpu::TerminatorOp::create(b, loc);
  for (Operation *op : llvm::reverse(members))
    op->erase();
}

/// The group's ops with the copies between them; fails on anything else
/// between them that touches memory.
bool collectMembers(ArrayRef<Operation *> group, SmallVectorImpl<Operation *> &members) {
  DenseSet<Operation *> inGroup(group.begin(), group.end());
  Operation *first = group.front(), *last = group.back();
  for (Operation *op = first;; op = op->getNextNode()) {
    if (!op)
      return false;
    if (inGroup.contains(op)) {
      members.push_back(op);
    } else if (isa<memref::CopyOp>(op)) {
      members.push_back(op);
    } else if (!isa<memref::AllocOp, memref::ExpandShapeOp, memref::CollapseShapeOp>(op) &&
               !isMemoryEffectFree(op)) {
      return false;
    } else if (op->getNumRegions() != 0) {
      return false;
    }
    if (op == last)
      return true;
  }
}

struct GpuRowKernelPass : public kiln::impl::GpuRowKernelBase<GpuRowKernelPass> {
  using GpuRowKernelBase::GpuRowKernelBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // The groups chosen for this strategy, by kernel id, in program order.
    std::map<int64_t, SmallVector<Operation *>> groups;
    func.walk([&](Operation *op) {
      std::optional<int64_t> id = kiln::getKernelId(op);
      if (id && isa<linalg::LinalgOp>(op) &&
          kiln::hasStrategy(op, kiln::StrategyKind::RowKernel))
        groups[*id].push_back(op);
    });
    for (auto &[id, group] : groups) {
      auto strategy = kiln::getStrategy(group.front());
      SmallVector<Operation *> members;
      if (!collectMembers(group, members)) {
        group.front()->emitError("the row kernel chosen for kernel group ")
            << id << " does not apply: other memory accesses lie between its ops";
        return signalPassFailure();
      }
      RowGroup g(members);
      if (!g.analyze()) {
        group.front()->emitError("the row kernel chosen for kernel group ")
            << id << " does not apply any more";
        return signalPassFailure();
      }
      LLVM_DEBUG(llvm::dbgs() << "row kernel for group " << id << ": " << members.size()
                              << " ops, " << strategy.getThreads() << " threads per row\n");
      g.rewrite(strategy.getThreads());
    }
  }
};

} // namespace

bool kiln::chooseRowKernel(ArrayRef<Operation *> group,
                                SmallVectorImpl<Operation *> &members, int64_t &threads,
                                std::string &why) {
  Block *block = group.front()->getBlock();
  if (!isa_and_nonnull<func::FuncOp>(block->getParentOp()) ||
      llvm::any_of(group, [&](Operation *op) { return op->getBlock() != block; })) {
    why = "the group's ops are not all at the top level of the function";
    return false;
  }
  SmallVector<Operation *> found;
  if (!collectMembers(group, found)) {
    why = "other memory accesses lie between the group's ops";
    return false;
  }
  RowGroup g(found);
  if (!g.analyze()) {
    why = "not provably row-local (dynamic shapes, non-f32, other views or combiners, "
          "or a contraction)";
    return false;
  }
  threads = g.chooseThreads();
  members.assign(found.begin(), found.end());
  return true;
}
