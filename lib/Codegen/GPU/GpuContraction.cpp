//===- GpuContraction.cpp - GPU strategy for matmul and convolution ------===//
//
// Contractions (matmul, batch_matmul, generic contractions, NCHW
// convolutions as implicit GEMM) become one tiled kernel each, written as a
// block loop whose body is a sequence of thread loops ("phases"), with a
// barrier implied between consecutive phases. That form is exact on the
// CPU when the phases run one after the other (GPU emulation), and maps to
// a gpu.launch by inlining every phase with the thread id and a barrier
// (GpuContractionMapping.cpp). The elementwise consumer of the result is
// computed in the last phase (the epilogue), and data-movement producers
// that only the contraction reads are computed by its tile loaders.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Codegen/GPU/Strategies.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "kiln/Codegen/Common/GenericBody.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/Debug.h"

#include <functional>
#include <set>

#define DEBUG_TYPE "kiln-gpu-contraction"

namespace kiln {
#define GEN_PASS_DEF_GPUCONTRACTION
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Block tile BM x BN x BK computed by (BM/TM) x (BN/TN) threads, each
/// holding a TM x TN micro-tile of accumulators.
struct TileConfig {
  int64_t bm, bn, bk, tm, tn;
  int64_t threadsM() const { return bm / tm; }
  int64_t threadsN() const { return bn / tn; }
  int64_t threads() const { return threadsM() * threadsN(); }
};

} // namespace

/// Tiles from the shapes alone. Large M and N: 64x64 blocks of 256 threads
/// with 4x4 micro-tiles (16 accumulators, 8 operand registers per k step).
/// A skinny side (< 16) takes its whole extent in one block and gives the
/// threads to the other side, so that few rows do not idle most threads.
/// (Tensor cores take the pipelined kernel's tiles, chooseTiledContraction.)
kiln::TileChoice kiln::chooseTiles(int64_t m, int64_t n, int64_t k,
                                             Precision precision) {
  auto pow2Ceil = [](int64_t v) { return (int64_t)llvm::PowerOf2Ceil(v); };
  TileChoice c{};
  c.bk = std::min<int64_t>(16, pow2Ceil(k));
  if (m < 16) {
    c.bm = pow2Ceil(m);
    c.tm = 1;
    c.bn = std::max<int64_t>(16, 256 / c.bm);
    c.tn = 1;
  } else if (n < 16) {
    c.bn = pow2Ceil(n);
    c.tn = 1;
    c.bm = std::max<int64_t>(16, 256 / c.bn);
    c.tm = 1;
  } else {
    c.bm = std::min<int64_t>(64, pow2Ceil(m));
    c.bn = std::min<int64_t>(64, pow2Ceil(n));
    c.tm = std::max<int64_t>(1, c.bm / 16);
    c.tn = std::max<int64_t>(1, c.bn / 16);
  }
  c.tensorCores = false;
  return c;
}

namespace {

using IndexFn = std::function<SmallVector<Value>(OpBuilder &, Location,
                                                 ValueRange batch, Value row,
                                                 Value col)>;

/// C[b, m, n] (+)= sum_k A(b, m, k) * B(b, k, n), with the element address
/// of each operand given as a function of the GEMM coordinates.
struct Contraction {
  Operation *op = nullptr;
  SmallVector<int64_t> batch;
  int64_t m = 0, n = 0, k = 0;
  Value a, b, c;
  IndexFn aIndex; // (batch, m, k)
  IndexFn bIndex; // (batch, k, n)
  IndexFn cIndex; // (batch, m, n)
  /// Which GEMM coordinate of A (1: m, 2: k) and of B (1: k, 2: n) is the
  /// operand's last, contiguous dimension (0: neither), and that
  /// dimension's extent: what asynchronous tile copies need.
  int aContig = 0, bContig = 0;
  int64_t aContigExtent = 0, bContigExtent = 0;
};

static Value cst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
static Value mulC(OpBuilder &b, Location loc, Value x, int64_t v) {
  return v == 1 ? x : arith::MulIOp::create(b, loc, x, cst(b, loc, v)).getResult();
}
static Value divC(OpBuilder &b, Location loc, Value x, int64_t v) {
  return v == 1 ? x : arith::DivUIOp::create(b, loc, x, cst(b, loc, v)).getResult();
}
static Value remC(OpBuilder &b, Location loc, Value x, int64_t v) {
  return v == 1 ? cst(b, loc, 0)
                : arith::RemUIOp::create(b, loc, x, cst(b, loc, v)).getResult();
}
static Value add(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::AddIOp::create(b, loc, x, y);
}

static bool isStaticF32Buffer(Value v) {
  auto t = dyn_cast<MemRefType>(v.getType());
  return t && t.hasStaticShape() && t.getElementType().isF32() &&
         t.getLayout().isIdentity();
}

/// matmul, batch_matmul and generic contractions with one M, one N and one
/// K loop (any number of batch loops) and permutation indexing maps.
static std::optional<Contraction> matchLinalgContraction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  for (Value v : op->getOperands())
    if (!isStaticF32Buffer(v))
      return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 || dims->k.size() != 1)
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (AffineMap map : maps)
    if (!map.isProjectedPermutation())
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned numLoops = ranges.size();
  if (dims->batch.size() + 3 != numLoops)
    return std::nullopt;

  Contraction c;
  c.op = op;
  for (unsigned d : dims->batch)
    c.batch.push_back(ranges[d]);
  c.m = ranges[dims->m[0]];
  c.n = ranges[dims->n[0]];
  c.k = ranges[dims->k[0]];
  c.a = op.getDpsInputOperand(0)->get();
  c.b = op.getDpsInputOperand(1)->get();
  c.c = op.getDpsInitOperand(0)->get();
  SmallVector<unsigned> batchDims(dims->batch.begin(), dims->batch.end());
  // The operand's indices from the values of the loops it uses: `rowDim`
  // and `colDim` are the loops that `row` and `col` stand for.
  auto make = [batchDims, numLoops](AffineMap map, unsigned rowDim,
                                    unsigned colDim) -> IndexFn {
    return [=](OpBuilder &b, Location loc, ValueRange batch, Value row, Value col) {
      SmallVector<Value> loops(numLoops);
      for (auto [i, d] : llvm::enumerate(batchDims))
        loops[d] = batch[i];
      loops[rowDim] = row;
      loops[colDim] = col;
      SmallVector<Value> idx;
      for (unsigned r = 0; r < map.getNumResults(); ++r)
        idx.push_back(loops[map.getDimPosition(r)]);
      return idx;
    };
  };
  unsigned m = dims->m[0], n = dims->n[0], k = dims->k[0];
  // Each operand may only use the loops its function is given.
  auto uses = [&](AffineMap map, ArrayRef<unsigned> allowed) {
    for (unsigned r = 0; r < map.getNumResults(); ++r) {
      unsigned d = map.getDimPosition(r);
      if (!llvm::is_contained(allowed, d) && !llvm::is_contained(batchDims, d))
        return false;
    }
    return true;
  };
  if (!uses(maps[0], {m, k}) || !uses(maps[1], {k, n}) || !uses(maps[2], {m, n}))
    return std::nullopt;
  c.aIndex = make(maps[0], m, k);
  c.bIndex = make(maps[1], k, n);
  c.cIndex = make(maps[2], m, n);
  auto contig = [&](AffineMap map, unsigned row, unsigned col) {
    if (map.getNumResults() == 0)
      return 0;
    unsigned last = map.getDimPosition(map.getNumResults() - 1);
    return last == row ? 1 : last == col ? 2 : 0;
  };
  c.aContig = contig(maps[0], m, k);
  c.bContig = contig(maps[1], k, n);
  c.aContigExtent = cast<MemRefType>(c.a.getType()).getShape().back();
  c.bContigExtent = cast<MemRefType>(c.b.getType()).getShape().back();
  return c;
}

/// NCHW x FCHW convolution as an implicit GEMM: M = output channels,
/// N = output pixels, K = C*KH*KW; the input window element of (k, n) is
/// read in place, no im2col buffer.
static std::optional<Contraction> matchConv(linalg::Conv2DNchwFchwOp conv) {
  if (!conv.hasPureBufferSemantics())
    return std::nullopt;
  for (Value v : conv->getOperands())
    if (!isStaticF32Buffer(v))
      return std::nullopt;
  Value in = conv.getDpsInputOperand(0)->get();
  Value filter = conv.getDpsInputOperand(1)->get();
  Value out = conv.getDpsInitOperand(0)->get();
  auto fs = cast<MemRefType>(filter.getType()).getShape();
  auto os = cast<MemRefType>(out.getType()).getShape();
  SmallVector<int64_t> strides(conv.getStrides().getValues<int64_t>());
  SmallVector<int64_t> dil(conv.getDilations().getValues<int64_t>());
  int64_t kc = fs[1], kh = fs[2], kw = fs[3], ow = os[3];
  int64_t sh = strides[0], sw = strides[1], dh = dil[0], dw = dil[1];

  Contraction c;
  c.op = conv;
  c.batch = {os[0]};
  c.m = os[1];
  c.n = os[2] * os[3];
  c.k = kc * kh * kw;
  c.a = filter;
  c.b = in;
  c.c = out;
  c.aIndex = [=](OpBuilder &b, Location loc, ValueRange, Value f, Value k) {
    Value ch = divC(b, loc, k, kh * kw);
    Value r = remC(b, loc, k, kh * kw);
    return SmallVector<Value>{f, ch, divC(b, loc, r, kw), remC(b, loc, r, kw)};
  };
  c.bIndex = [=](OpBuilder &b, Location loc, ValueRange batch, Value k, Value p) {
    Value ch = divC(b, loc, k, kh * kw);
    Value r = remC(b, loc, k, kh * kw);
    Value y = add(b, loc, mulC(b, loc, divC(b, loc, p, ow), sh),
                  mulC(b, loc, divC(b, loc, r, kw), dh));
    Value x = add(b, loc, mulC(b, loc, remC(b, loc, p, ow), sw),
                  mulC(b, loc, remC(b, loc, r, kw), dw));
    return SmallVector<Value>{batch[0], ch, y, x};
  };
  c.cIndex = [=](OpBuilder &b, Location loc, ValueRange batch, Value f, Value p) {
    return SmallVector<Value>{batch[0], f, divC(b, loc, p, ow), remC(b, loc, p, ow)};
  };
  // The filter row of output channel f is contiguous over all of K (C x
  // KH x KW); the input window is gathered element by element.
  c.aContig = 2;
  c.aContigExtent = c.k;
  c.bContig = 0;
  (void)kc;
  return c;
}

/// Whether `op` may read (`write` false) or write (`write` true) memory
/// rooted at one of `roots`. Unknown effects count as touching everything.
static bool touches(Operation *op, ArrayRef<Value> roots, bool write) {
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects) {
    if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>()) {
      bool any = false;
      for (Region &r : op->getRegions())
        r.walk([&](Operation *inner) {
          if (inner != op && touches(inner, roots, write))
            any = true;
        });
      return any;
    }
    return true;
  }
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  for (auto &e : list) {
    bool isWrite = isa<MemoryEffects::Write>(e.getEffect());
    bool isRead = isa<MemoryEffects::Read>(e.getEffect());
    if ((write && !isWrite) || (!write && !isRead))
      continue;
    Value v = e.getValue();
    if (!v || llvm::is_contained(roots, kiln::rootBuffer(v)))
      return true;
  }
  return false;
}

/// An elementwise linalg.generic that reads the contraction's result,
/// computed in the contraction kernel's epilogue instead of its own kernel.
/// It may read the result through a reshape of its buffer and with its
/// loops permuted (a transpose), as long as every loop reads one element.
struct Epilogue {
  linalg::GenericOp op;
  unsigned resultInput; // which input is the contraction's result
  /// The reshape of the result buffer the consumer reads (the buffer itself
  /// when it reads that directly).
  Value view;
};

/// A reshape of a buffer into another dense row-major buffer of the same
/// elements in the same order.
static bool isDenseReshape(Operation *op) {
  if (!isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(op))
    return false;
  auto t = dyn_cast<MemRefType>(op->getResult(0).getType());
  return t && t.hasStaticShape() && t.getLayout().isIdentity();
}

/// The elementwise consumer of `c`'s result that may be fused: same block,
/// all-parallel, the result read through a permutation of its loops and the
/// output written through the identity, the result read by nothing else
/// (or both in the same kernel group), and nothing between the two ops
/// touching the memory the fusion reorders.
static std::optional<Epilogue> findEpilogue(const Contraction &c) {
  Value x = c.c;
  if (!x.getDefiningOp<memref::AllocOp>())
    return std::nullopt;
  Block *block = c.op->getBlock();
  // The result buffer and its dense reshapes: all the same memory.
  SmallVector<Value> aliases{x};
  SmallPtrSet<Operation *, 4> reshapes;
  for (size_t i = 0; i < aliases.size(); ++i)
    for (Operation *user : aliases[i].getUsers())
      if (isDenseReshape(user) && reshapes.insert(user).second)
        aliases.push_back(user->getResult(0));
  auto isAlias = [&](Value v) { return llvm::is_contained(aliases, v); };
  // The first op after the contraction that uses its result.
  linalg::GenericOp consumer;
  for (Operation *op = c.op->getNextNode(); op && !consumer; op = op->getNextNode()) {
    if (reshapes.contains(op))
      continue;
    if (llvm::any_of(op->getOperands(), isAlias)) {
      consumer = dyn_cast<linalg::GenericOp>(op);
      if (!consumer)
        return std::nullopt;
    }
  }
  if (!consumer)
    return std::nullopt;
  if (consumer->getBlock() != block ||
      consumer.getNumLoops() != consumer.getNumParallelLoops() ||
      consumer.getNumDpsInits() != 1 || !consumer.hasPureBufferSemantics())
    return std::nullopt;
  std::optional<unsigned> resultInput;
  for (OpOperand *in : consumer.getDpsInputOperands()) {
    if (!isAlias(in->get()))
      continue;
    if (resultInput || !consumer.getMatchingIndexingMap(in).isPermutation())
      return std::nullopt;
    resultInput = in->getOperandNumber();
  }
  if (!resultInput)
    return std::nullopt;
  Value view = consumer->getOperand(*resultInput);
  // In place (the consumer overwrites the result), later readers see the
  // consumer's values, which the fused kernel stores there too: only where
  // each output element is the very element its value came from.
  Value y = consumer.getDpsInitOperand(0)->get();
  bool inPlace = isAlias(y);
  if (inPlace && (y != view ||
                  !consumer.getMatchingIndexingMap(&consumer->getOpOperand(*resultInput))
                       .isIdentity()))
    return std::nullopt;
  for (Value alias : aliases) {
    for (Operation *user : alias.getUsers()) {
      if (user == c.op || user == consumer.getOperation() || reshapes.contains(user) ||
          isa<memref::DeallocOp>(user))
        continue;
      if (user->getBlock() == block && user->isBeforeInBlock(c.op) &&
          !isa<ViewLikeOpInterface>(user))
        continue; // initializes the accumulator
      if (inPlace && user->getBlock() == block && consumer->isBeforeInBlock(user))
        continue;
      return std::nullopt;
    }
  }
  auto cg = kiln::getKernelId(c.op), gg = kiln::getKernelId(consumer);
  if (cg && gg && *cg != *gg)
    return std::nullopt;
  auto yType = dyn_cast<MemRefType>(y.getType());
  if (!yType || !yType.hasStaticShape() || !yType.getLayout().isIdentity() ||
      !yType.getElementType().isF32() ||
      !consumer.getMatchingIndexingMap(consumer.getDpsInitOperand(0)).isIdentity())
    return std::nullopt;
  for (OpOperand *in : consumer.getDpsInputOperands())
    if (!isa<MemRefType>(in->get().getType()) &&
        !in->get().getType().isIntOrIndexOrFloat())
      return std::nullopt;
  // The kernel runs where the consumer was: nothing in between may write
  // what the contraction reads or read/write its result.
  SmallVector<Value> roots{kiln::rootBuffer(c.a), kiln::rootBuffer(c.b), kiln::rootBuffer(x)};
  for (Operation *op = c.op->getNextNode(); op && op != consumer; op = op->getNextNode())
    if (!reshapes.contains(op) &&
        (touches(op, roots, /*write=*/true) || touches(op, {kiln::rootBuffer(x)}, /*write=*/false)))
      return std::nullopt;
  return Epilogue{consumer, *resultInput, view};
}

/// A data-movement linalg.generic (a head split, a gather, a transpose,
/// possibly with a scale) that writes a buffer only the contraction reads:
/// the contraction's loader evaluates its body at each element it loads
/// instead of a separate kernel writing the buffer first.
struct Producer {
  linalg::GenericOp op;
  Value buffer; // the alloc it writes
};

/// Whether `op`'s body can be evaluated anywhere after it: no regions, no
/// writes, reads only through memref.load.
static bool isPureGatherBody(linalg::GenericOp op) {
  Block *body = op.getBody();
  if (body->getArgument(body->getNumArguments() - 1).getNumUses() != 0)
    return false;
  for (Operation &inner : body->without_terminator()) {
    if (inner.getNumRegions() != 0)
      return false;
    if (isa<memref::LoadOp, linalg::IndexOp>(inner) || isMemoryEffectFree(&inner))
      continue;
    return false;
  }
  return true;
}

/// The memory `op` reads: its memref inputs and what its body loads.
static SmallVector<Value> readRoots(linalg::GenericOp op) {
  SmallVector<Value> roots;
  for (OpOperand *in : op.getDpsInputOperands())
    if (isa<MemRefType>(in->get().getType()))
      roots.push_back(kiln::rootBuffer(in->get()));
  op.getBody()->walk([&](memref::LoadOp load) { roots.push_back(kiln::rootBuffer(load.getMemRef())); });
  return roots;
}

/// The producer of operand `v` of `reader` that may be folded into it, if
/// any: `v` is `buffer` or a dense reshape of it, `buffer` is written once,
/// by a data-movement generic in the same block with an identity output,
/// and read by `reader` alone; nothing between the producer and `kernelAt`
/// writes what the producer reads.
static std::optional<Producer> foldableProducer(Value v, Operation *reader,
                                                Operation *kernelAt) {
  Value buffer = v;
  while (Operation *def = buffer.getDefiningOp()) {
    if (!isDenseReshape(def))
      break;
    buffer = def->getOperand(0);
  }
  if (!buffer.getDefiningOp<memref::AllocOp>() ||
      !cast<MemRefType>(buffer.getType()).getLayout().isIdentity())
    return std::nullopt;
  Block *block = reader->getBlock();
  linalg::GenericOp producer;
  SmallVector<Value> aliases{buffer};
  for (size_t i = 0; i < aliases.size(); ++i) {
    for (Operation *user : aliases[i].getUsers()) {
      if (isDenseReshape(user)) {
        aliases.push_back(user->getResult(0));
        continue;
      }
      if (user == reader || isa<memref::DeallocOp>(user))
        continue;
      auto g = dyn_cast<linalg::GenericOp>(user);
      if (!g || producer || aliases[i] != buffer || g.getNumDpsInits() != 1 ||
          g.getDpsInitOperand(0)->get() != buffer)
        return std::nullopt;
      producer = g;
    }
  }
  // The reader must use the buffer only as the operand being folded.
  if (!producer || producer->getBlock() != block || !producer->isBeforeInBlock(reader) ||
      llvm::count(reader->getOperands(), v) != 1)
    return std::nullopt;
  if (kiln::getKernelKind(producer) != kiln::KernelKind::DataMovement || !producer.hasPureBufferSemantics() ||
      producer.getNumLoops() != producer.getNumParallelLoops() ||
      !producer.getMatchingIndexingMap(producer.getDpsInitOperand(0)).isIdentity() ||
      !isPureGatherBody(producer))
    return std::nullopt;
  for (OpOperand *in : producer.getDpsInputOperands())
    if (auto t = dyn_cast<MemRefType>(in->get().getType()); t && !t.hasStaticShape())
      return std::nullopt;
  SmallVector<Value> roots = readRoots(producer);
  for (Operation *op = producer->getNextNode(); op && op != kernelAt; op = op->getNextNode())
    if (touches(op, roots, /*write=*/true))
      return std::nullopt;
  return Producer{producer, buffer};
}

using kiln::Precision;

struct KernelBuilder {
  const Contraction &c;
  TileConfig t;
  kiln::StrategyAttr strategy;
  std::optional<Epilogue> epi;
  Value initScalar; // accumulator start, or null to read C
  /// Or: C was a broadcast of this buffer along `bcastDims` (a bias).
  Value bcastInput;
  SmallVector<int64_t> bcastDims;
  bool emulation;
  Precision precision;
  /// The cp.async pipelined tensor-core kernel (stages > 2).
  bool pipe = false;
  /// Split-K (pipelined kernel): blocks of `splits` K ranges write partial
  /// sums to a workspace that a second kernel adds up with the epilogue.
  int64_t splits = 1;
  Value kSplit;      // the block's K range (split-K)
  Value ktBase;      // its first K tile
  Value ktCount;     // and how many it has
  Value shA, shB;
  /// Producers folded into the loaders, by the buffer they write.
  llvm::DenseMap<Value, linalg::GenericOp> producers;

  /// Element `idx` of `mem`: a load, or the folded producer's body
  /// evaluated there (its own inputs read the same way).
  Value valueAt(OpBuilder &b, Location loc, Value mem, ArrayRef<Value> idx) const {
    Value buffer = mem;
    while (Operation *def = buffer.getDefiningOp()) {
      if (!isDenseReshape(def))
        break;
      buffer = def->getOperand(0);
    }
    auto it = producers.find(buffer);
    if (it == producers.end())
      return memref::LoadOp::create(b, loc, mem, idx);
    SmallVector<Value> loops = reshapeIndex(b, loc, idx, cast<MemRefType>(mem.getType()).getShape(),
                                            cast<MemRefType>(buffer.getType()).getShape());
    linalg::GenericOp g = it->second;
    Block *body = g.getBody();
    IRMapping map;
    for (OpOperand *in : g.getDpsInputOperands()) {
      BlockArgument arg = body->getArgument(in->getOperandNumber());
      if (arg.use_empty())
        continue;
      if (!isa<MemRefType>(in->get().getType())) {
        map.map(arg, in->get());
        continue;
      }
      auto at = affine::expandAffineMap(b, loc, g.getMatchingIndexingMap(in), loops);
      map.map(arg, valueAt(b, loc, in->get(), *at));
    }
    return kiln::cloneBodyAt(b, body, map, loops);
  }

  /// The position in a dense buffer of shape `to` of element `idx` of the
  /// same buffer seen with shape `from`.
  static SmallVector<Value> reshapeIndex(OpBuilder &b, Location loc, ArrayRef<Value> idx,
                                         ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
    if (from == to)
      return SmallVector<Value>(idx);
    Value linear = idx.empty() ? cst(b, loc, 0) : idx[0];
    for (size_t i = 1; i < from.size(); ++i)
      linear = add(b, loc, mulC(b, loc, linear, from[i]), idx[i]);
    SmallVector<Value> at(to.size());
    for (int64_t d = to.size() - 1; d >= 0; --d) {
      at[d] = d == 0 ? linear : remC(b, loc, linear, to[d]);
      linear = divC(b, loc, linear, to[d]);
    }
    return at;
  }

  Type sharedElementType(MLIRContext *ctx) const {
    if (!emulation && precision == Precision::FP16)
      return Float16Type::get(ctx);
    if (!emulation && precision == Precision::BF16)
      return BFloat16Type::get(ctx);
    return Float32Type::get(ctx);
  }

  /// Rounds f32 `v` to `bits` fewer mantissa bits, to nearest even.
  static Value roundMantissa(OpBuilder &b, Location loc, Value v, int bits) {
    Type i32 = b.getI32Type();
    auto c32 = [&](int64_t x) { return arith::ConstantIntOp::create(b, loc, i32, x); };
    Value i = arith::BitcastOp::create(b, loc, i32, v);
    Value lsb = arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, i, c32(bits)), c32(1));
    Value bias = arith::AddIOp::create(b, loc, lsb, c32((1 << (bits - 1)) - 1));
    Value r = arith::AndIOp::create(b, loc, arith::AddIOp::create(b, loc, i, bias),
                                    c32(~((int64_t(1) << bits) - 1) & 0xffffffff));
    return arith::BitcastOp::create(b, loc, b.getF32Type(), r);
  }

  /// The operand as it is stored in shared memory.
  Value toShared(OpBuilder &b, Location loc, Value v) const {
    switch (precision) {
    case Precision::FP32:
      return v;
    case Precision::TF32:
      return roundMantissa(b, loc, v, 13);
    case Precision::FP16: {
      Value h = arith::TruncFOp::create(b, loc, b.getF16Type(), v);
      return emulation ? (Value)arith::ExtFOp::create(b, loc, b.getF32Type(), h) : h;
    }
    case Precision::BF16:
      if (emulation)
        return roundMantissa(b, loc, v, 16);
      return arith::TruncFOp::create(b, loc, b.getBF16Type(), v);
    }
    llvm_unreachable("precision");
  }

  Value fromShared(OpBuilder &b, Location loc, Value v) const {
    if (v.getType().isF32())
      return v;
    return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
  }

  // State of one kernel under construction (build()).
  Location loc = UnknownLoc();
  Value m0, n0;              // the block's first row and column
  SmallVector<Value> batch;  // the block's batch coordinates
  Value acc;                 // per-thread accumulators [threads x TM x TN]
  Value zero;                // f32 0, loaded outside the operands
  Type se;                   // element type in shared memory
  int64_t aPer = 0, bPer = 0; // tile elements each thread copies, per operand
  int64_t numK = 0;          // K tiles
  ArrayAttr threadMap;

  /// The kernel: a block loop whose body loads the accumulators and the
  /// first K tile, runs one phase per K tile, then the epilogue.
  void build(OpBuilder &b, Location l) {
    loc = l;
    if (splits > 1) {
      int64_t batchTotal = 1;
      for (int64_t v : c.batch)
        batchTotal *= v;
      workspace = memref::AllocOp::create(
          b, loc, MemRefType::get({splits, batchTotal, c.m, c.n}, b.getF32Type()));
    }
    scf::ForallOp blocks = createBlockLoop(b);
    // Split-K's second kernel after the first is built.
    llvm::scope_exit reduceAfter([&] {
      if (splits == 1)
        return;
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointAfter(blocks);
      buildSplitReduction(b);
    });
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(blocks.getBody()->getTerminator());
    computeBlockOrigin(b, blocks);
    allocateBuffers(b);
    if (pipe) {
      buildPipelined(b, sharedSpace(b.getContext()));
      return;
    }
    emitFirstPhase(b);
    emitKLoop(b);
    emitLastPhase(b);
  }

  /// The loop over thread blocks: batch, M tiles, N tiles.
  scf::ForallOp createBlockLoop(OpBuilder &b) {
    MLIRContext *ctx = b.getContext();
    int64_t batchTotal = 1;
    for (int64_t s : c.batch)
      batchTotal *= s;
    int64_t gridY = llvm::divideCeil(c.m, t.bm), gridX = llvm::divideCeil(c.n, t.bn);
    auto blockMap = b.getArrayAttr({gpu::GPUBlockMappingAttr::get(ctx, gpu::MappingId::DimZ),
                                    gpu::GPUBlockMappingAttr::get(ctx, gpu::MappingId::DimY),
                                    gpu::GPUBlockMappingAttr::get(ctx, gpu::MappingId::DimX)});
    auto blocks = scf::ForallOp::create(
        b, loc,
        ArrayRef<OpFoldResult>{b.getIndexAttr(batchTotal * splits), b.getIndexAttr(gridY),
                               b.getIndexAttr(gridX)},
        ValueRange{}, blockMap);
    kiln::setStrategy(blocks, strategy);
    return blocks;
  }

  /// The block's batch coordinates and first row and column.
  void computeBlockOrigin(OpBuilder &b, scf::ForallOp blocks) {
    Value bz = blocks.getInductionVar(0), by = blocks.getInductionVar(1),
          bx = blocks.getInductionVar(2);
    if (splits > 1) {
      // z = batch * splits + split.
      kSplit = remC(b, loc, bz, splits);
      bz = divC(b, loc, bz, splits);
    }
    batch.clear();
    Value rest = bz;
    for (int64_t i = c.batch.size() - 1; i >= 0; --i) {
      batch.insert(batch.begin(), remC(b, loc, rest, c.batch[i]));
      rest = divC(b, loc, rest, c.batch[i]);
    }
    m0 = mulC(b, loc, by, t.bm);
    n0 = mulC(b, loc, bx, t.bn);
  }

  Attribute sharedSpace(MLIRContext *ctx) const {
    if (emulation)
      return Attribute();
    return gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  }

  /// The padding of A's shared rows: the fewest columns (1 to 32) for
  /// which a warp's transposing store (lane l: k = l % BK, m = l / BK)
  /// touches each 4-byte bank with one word at most.
  int64_t aPadding(Type elem) const {
    int64_t bytes = (elem.getIntOrFloatBitWidth() + 7) / 8;
    int64_t lanes = std::min<int64_t>(32, t.threads());
    for (int64_t pad = 1; pad <= 32; ++pad) {
      std::vector<std::set<int64_t>> banks(32);
      bool clean = true;
      for (int64_t l = 0; l < lanes && clean; ++l) {
        int64_t word = ((l % t.bk) * (t.bm + pad) + l / t.bk) * bytes / 4;
        banks[word % 32].insert(word);
        clean = banks[word % 32].size() == 1;
      }
      if (clean)
        return pad;
    }
    return 1;
  }

  /// Shared tiles (two buffers per operand; the pipelined kernel makes its
  /// own) and the accumulators.
  void allocateBuffers(OpBuilder &b) {
    MLIRContext *ctx = b.getContext();
    Attribute shared, priv;
    if (!emulation) {
      shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
      priv = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Private);
    }
    se = sharedElementType(ctx);
    // A is stored k-major with columns of padding, so that the transposing
    // store from k-contiguous global rows avoids bank conflicts.
    auto shAType = MemRefType::get({2, t.bk, t.bm + aPadding(se)}, se, AffineMap(), shared);
    auto shBType = MemRefType::get({2, t.bk, t.bn}, se, AffineMap(), shared);
    auto accType = MemRefType::get({t.threads(), t.tm, t.tn}, b.getF32Type(),
                                   AffineMap(), priv);
    if (!pipe) {
      shA = memref::AllocaOp::create(b, loc, shAType);
      shB = memref::AllocaOp::create(b, loc, shBType);
    }
    acc = memref::AllocaOp::create(b, loc, accType);
    numK = llvm::divideCeil(c.k, t.bk);
    zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
    aPer = llvm::divideCeil(t.bm * t.bk, t.threads());
    bPer = llvm::divideCeil(t.bk * t.bn, t.threads());
    threadMap = b.getArrayAttr({gpu::GPUThreadMappingAttr::get(ctx, gpu::MappingId::DimX)});
  }

  /// Positions of the tile elements a thread copies: linear index l over
  /// the tile, consecutive threads on the operand's contiguous dimension.
  Value linear(OpBuilder &b, Value tid, int64_t e, int64_t total) const {
    Value l = add(b, loc, tid, cst(b, loc, e * t.threads()));
    if ((e + 1) * t.threads() > total) // duplicate the last element
      l = arith::MinUIOp::create(b, loc, l, cst(b, loc, total - 1));
    return l;
  }
  /// v < bound, or null when every tile is whole.
  Value inBounds(OpBuilder &b, Value v, int64_t bound, int64_t tile) const {
    if (bound % tile == 0)
      return Value();
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, v, cst(b, loc, bound));
  }
  Value both(OpBuilder &b, Value x, Value y) const {
    if (!x)
      return y;
    if (!y)
      return x;
    return arith::AndIOp::create(b, loc, x, y);
  }
  Value clamp(OpBuilder &b, Value v, int64_t bound, int64_t tile) const {
    if (bound % tile == 0)
      return v;
    return arith::MinUIOp::create(b, loc, v, cst(b, loc, bound - 1));
  }
  Value guardedLoad(OpBuilder &b, Value mem, SmallVector<Value> idx, Value ok) const {
    Value v = valueAt(b, loc, mem, idx);
    if (ok)
      v = arith::SelectOp::create(b, loc, ok, v, zero);
    return v;
  }
  /// Element `e` of this thread's share of an operand tile of `rows` x
  /// `cols` (of extents `rowExtent` x `colExtent` from `row0`, `col0`),
  /// zero outside the operand.
  Value loadElement(OpBuilder &b, Value tid, int64_t e, Value mem, const IndexFn &index,
                    Value row0, int64_t rowExtent, int64_t rows, Value col0, int64_t colExtent,
                    int64_t cols) const {
    Value l = linear(b, tid, e, rows * cols);
    Value r = add(b, loc, row0, divC(b, loc, l, cols));
    Value q = add(b, loc, col0, remC(b, loc, l, cols));
    Value ok = both(b, inBounds(b, r, rowExtent, rows), inBounds(b, q, colExtent, cols));
    auto idx = index(b, loc, batch, clamp(b, r, rowExtent, rows), clamp(b, q, colExtent, cols));
    return toShared(b, loc, guardedLoad(b, mem, idx, ok));
  }
  /// Global -> registers for the K tile starting at k0.
  SmallVector<Value> loadTile(OpBuilder &b, Value tid, Value k0) const {
    SmallVector<Value> vals;
    for (int64_t e = 0; e < aPer; ++e)
      vals.push_back(loadElement(b, tid, e, c.a, c.aIndex, m0, c.m, t.bm, k0, c.k, t.bk));
    for (int64_t e = 0; e < bPer; ++e)
      vals.push_back(loadElement(b, tid, e, c.b, c.bIndex, k0, c.k, t.bk, n0, c.n, t.bn));
    return vals;
  }
  /// Registers -> shared buffer `buf`. Threads past the tile's last
  /// element (whose loads repeat it) store nothing: two warps writing one
  /// word between barriers is a race, even of the same value.
  void storeTile(OpBuilder &b, Value tid, Value buf, ValueRange vals) const {
    auto guarded = [&](int64_t e, int64_t total, function_ref<void(OpBuilder &, Value)> store) {
      Value l = linear(b, tid, e, total);
      if ((e + 1) * t.threads() <= total)
        return store(b, l);
      Value mine = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         add(b, loc, tid, cst(b, loc, e * t.threads())),
                                         cst(b, loc, total));
      auto branch = scf::IfOp::create(b, loc, TypeRange{}, mine, /*withElse=*/false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(branch.thenBlock()->getTerminator());
      store(b, l);
    };
    for (int64_t e = 0; e < aPer; ++e)
      guarded(e, t.bm * t.bk, [&](OpBuilder &b, Value l) {
        memref::StoreOp::create(b, loc, vals[e], shA,
                                ValueRange{buf, remC(b, loc, l, t.bk), divC(b, loc, l, t.bk)});
      });
    for (int64_t e = 0; e < bPer; ++e)
      guarded(e, t.bk * t.bn, [&](OpBuilder &b, Value l) {
        memref::StoreOp::create(b, loc, vals[aPer + e], shB,
                                ValueRange{buf, divC(b, loc, l, t.bn), remC(b, loc, l, t.bn)});
      });
  }
  /// Thread (ty, tx) owns rows ty + i*threadsM and columns tx + j*threadsN
  /// of the block tile: neighbouring threads read neighbouring columns of
  /// shared B (no bank conflicts) and store neighbouring outputs.
  std::pair<Value, Value> threadCoords(OpBuilder &b, Value tid) const {
    return std::make_pair(divC(b, loc, tid, t.threadsN()), remC(b, loc, tid, t.threadsN()));
  }
  Value rowOf(OpBuilder &b, Value ty, int64_t i) const {
    return add(b, loc, ty, cst(b, loc, i * t.threadsM()));
  }
  Value colOf(OpBuilder &b, Value tx, int64_t j) const {
    return add(b, loc, tx, cst(b, loc, j * t.threadsN()));
  }
  /// The tile position of accumulator (i, j) of thread `tid`.
  std::pair<Value, Value> owned(OpBuilder &b, Value tid, int64_t i, int64_t j) const {
    if (pipe)
      return pipeOwned(b, tid, i, j);
    auto [ty, tx] = threadCoords(b, tid);
    return std::make_pair(rowOf(b, ty, i), colOf(b, tx, j));
  }
  /// One phase: a loop over the block's threads, a barrier after it.
  void phase(OpBuilder &b, function_ref<void(OpBuilder &, Value)> body) const {
    auto loop = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(t.threads())},
                                      ValueRange{}, threadMap);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    body(b, loop.getInductionVar(0));
  }
  Value accAt(OpBuilder &b, Value tid, int64_t i, int64_t j) const {
    return memref::LoadOp::create(b, loc, acc, ValueRange{tid, cst(b, loc, i), cst(b, loc, j)});
  }
  void setAcc(OpBuilder &b, Value v, Value tid, int64_t i, int64_t j) const {
    memref::StoreOp::create(b, loc, v, acc, ValueRange{tid, cst(b, loc, i), cst(b, loc, j)});
  }

  /// Phase 1: the accumulators' start (a scalar, the bias or C) and the
  /// first K tile.
  void emitFirstPhase(OpBuilder &b) const {
    phase(b, [&](OpBuilder &b, Value tid) {
      emitAccInit(b, tid);
      storeTile(b, tid, cst(b, loc, 0), loadTile(b, tid, cst(b, loc, 0)));
    });
  }

  /// This thread's accumulators start at a scalar, the bias or C.
  void emitAccInit(OpBuilder &b, Value tid) const {
      for (int64_t i = 0; i < t.tm; ++i)
        for (int64_t j = 0; j < t.tn; ++j) {
          Value init = initScalar;
          if (!init) {
            auto [row, col] = owned(b, tid, i, j);
            Value gm = clamp(b, add(b, loc, m0, row), c.m, t.bm);
            Value gn = clamp(b, add(b, loc, n0, col), c.n, t.bn);
            SmallVector<Value> idx = c.cIndex(b, loc, batch, gm, gn);
            if (bcastInput) {
              SmallVector<Value> in;
              for (auto [d, v] : llvm::enumerate(idx))
                if (!llvm::is_contained(bcastDims, int64_t(d)))
                  in.push_back(v);
              init = memref::LoadOp::create(b, loc, bcastInput, in);
            } else {
              init = memref::LoadOp::create(b, loc, c.c, idx);
            }
          }
          setAcc(b, init, tid, i, j);
        }
  }

  /// One phase per K tile: prefetch the next tile into registers, compute
  /// the micro-tile from the current buffer, then fill the other buffer.
  void emitKLoop(OpBuilder &b) const {
    auto kLoop = scf::ForOp::create(b, loc, cst(b, loc, 0), cst(b, loc, numK), cst(b, loc, 1));
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(kLoop.getBody()->getTerminator());
    Value kt = kLoop.getInductionVar();
    phase(b, [&](OpBuilder &b, Value tid) {
      Value next = add(b, loc, kt, cst(b, loc, 1));
      Value hasNext = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, next,
                                            cst(b, loc, numK));
      SmallVector<Type> valTypes(aPer + bPer, se);
      auto prefetch = scf::IfOp::create(b, loc, valTypes, hasNext, /*withElse=*/true);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(prefetch.thenBlock());
        scf::YieldOp::create(b, loc, loadTile(b, tid, mulC(b, loc, next, t.bk)));
        b.setInsertionPointToStart(prefetch.elseBlock());
        Value z = arith::ConstantOp::create(b, loc, b.getFloatAttr(se, 0.0));
        scf::YieldOp::create(b, loc, SmallVector<Value>(aPer + bPer, z));
      }
      Value cur = remC(b, loc, kt, 2);
      emitMicroTile(b, tid, cur);
      auto fill = scf::IfOp::create(b, loc, TypeRange{}, hasNext, /*withElse=*/false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPoint(fill.thenBlock()->getTerminator());
      storeTile(b, tid, remC(b, loc, next, 2), prefetch.getResults());
    });
  }

  /// The accumulators += this thread's products over the K tile in buffer
  /// `cur`: tensor cores (or their per-thread layout in emulation), or a
  /// TM x TN register micro-tile of FMAs.
  void emitMicroTile(OpBuilder &b, Value tid, Value cur) const {
    auto [ty, tx] = threadCoords(b, tid);
    SmallVector<Value> accs;
    for (int64_t i = 0; i < t.tm; ++i)
      for (int64_t j = 0; j < t.tn; ++j)
        accs.push_back(accAt(b, tid, i, j));
    SmallVector<Value> res;
    {
      auto inner = scf::ForOp::create(
          b, loc, cst(b, loc, 0), cst(b, loc, t.bk), cst(b, loc, 1), accs,
          [&](OpBuilder &b, Location loc, Value kk, ValueRange iter) {
            SmallVector<Value> as, bs, out;
            for (int64_t i = 0; i < t.tm; ++i)
              as.push_back(fromShared(b, loc, memref::LoadOp::create(
                                                   b, loc, shA, ValueRange{cur, kk, rowOf(b, ty, i)})));
            for (int64_t j = 0; j < t.tn; ++j)
              bs.push_back(fromShared(b, loc, memref::LoadOp::create(
                                                   b, loc, shB, ValueRange{cur, kk, colOf(b, tx, j)})));
            for (int64_t i = 0; i < t.tm; ++i)
              for (int64_t j = 0; j < t.tn; ++j)
                out.push_back(math::FmaOp::create(b, loc, as[i], bs[j], iter[i * t.tn + j]));
            scf::YieldOp::create(b, loc, out);
          });
      res.assign(inner.getResults().begin(), inner.getResults().end());
    }
    for (int64_t i = 0; i < t.tm; ++i)
      for (int64_t j = 0; j < t.tn; ++j)
        setAcc(b, res[i * t.tn + j], tid, i, j);
  }

  /// For each accumulator of thread `tid` inside the operand's edges:
  /// `store` with its value and output row and column (guarded).
  void forEachOutput(OpBuilder &b, Value tid,
                     function_ref<void(OpBuilder &, Value, Value, Value)> store) const {
    for (int64_t i = 0; i < t.tm; ++i)
      for (int64_t j = 0; j < t.tn; ++j) {
        auto [row, col] = owned(b, tid, i, j);
        Value gm = add(b, loc, m0, row);
        Value gn = add(b, loc, n0, col);
        Value ok = both(b, inBounds(b, gm, c.m, t.bm), inBounds(b, gn, c.n, t.bn));
        OpBuilder::InsertionGuard g(b);
        if (ok) {
          auto guardIf = scf::IfOp::create(b, loc, TypeRange{}, ok, false);
          b.setInsertionPoint(guardIf.thenBlock()->getTerminator());
        }
        store(b, accAt(b, tid, i, j), gm, gn);
      }
  }

  /// Last phase: the epilogue in registers, then one store per output.
  void emitLastPhase(OpBuilder &b) {
    phase(b, [&](OpBuilder &b, Value tid) {
      forEachOutput(b, tid,
                    [&](OpBuilder &b, Value v, Value gm, Value gn) { storeResult(b, v, gm, gn); });
    });
  }

  //===--------------------------------------------------------------------===//
  // The pipelined tensor-core kernel (sm_80+): operand tiles copied with
  // cp.async straight from global into a ring of `stages` shared buffers
  // (f32, as the operands are), fragments read with ldmatrix where k is the
  // tile's contiguous dimension, converted to the mma precision in
  // registers. 8 warps as 2 x 4 warp tiles of (BM/2) x (BN/4).
  //===--------------------------------------------------------------------===//

  /// One operand's tile in shared memory: [stages][rows][cols], cols being
  /// the operand's contiguous dimension in global memory, copied in chunks
  /// of `chunk` elements (16 or 4 bytes). Chunks of 4 elements are
  /// XOR-swizzled within each row so that both the copies and the
  /// fragment reads (8 rows at one column for ldmatrix; 4 rows x 8 columns
  /// for scalar reads when k runs along rows) hit 32 distinct banks.
  struct PipeOperand {
    Value mem;
    const IndexFn *index = nullptr;
    bool isA = true;
    bool kContig = false;      // cols are k
    int64_t rows = 0, cols = 0;
    int64_t chunk = 4;
    Value sh;
  };
  PipeOperand pa, pb;
  int64_t stages = 3;

  /// The physical column of element (r, col) of a tile row.
  Value swizzle(OpBuilder &b, const PipeOperand &o, Value r, Value col) const {
    Value chunkIdx = divC(b, loc, col, 4);
    Value within = remC(b, loc, col, 4);
    Value key = o.kContig ? remC(b, loc, r, 8) : mulC(b, loc, remC(b, loc, r, 4), 2);
    Value sw = arith::XOrIOp::create(b, loc, chunkIdx, key);
    return add(b, loc, mulC(b, loc, sw, 4), within);
  }

  void setupPipeOperands(OpBuilder &b, Attribute shared) {
    // An operand with no GEMM coordinate contiguous (a convolution's input
    // window, a batch dimension last) is gathered an element per copy.
    pa.mem = c.a, pa.index = &c.aIndex, pa.isA = true, pa.kContig = c.aContig == 2;
    pa.rows = pa.kContig ? t.bm : t.bk, pa.cols = pa.kContig ? t.bk : t.bm;
    pa.chunk = c.aContig && c.aContigExtent % 4 == 0 ? 4 : 1;
    pb.mem = c.b, pb.index = &c.bIndex, pb.isA = false, pb.kContig = c.bContig == 1;
    pb.rows = pb.kContig ? t.bn : t.bk, pb.cols = pb.kContig ? t.bk : t.bn;
    pb.chunk = c.bContig && c.bContigExtent % 4 == 0 ? 4 : 1;
    for (PipeOperand *o : {&pa, &pb})
      o->sh = memref::AllocaOp::create(
          b, loc, MemRefType::get({stages, o->rows, o->cols}, b.getF32Type(), AffineMap(), shared));
  }

  /// This thread's cp.async copies of K tile `kt` into ring slot
  /// `kt % stages`, committed as one group, then a wait until at most
  /// stages - 2 groups are in flight. Past the last K tile the group is
  /// empty, which keeps one group per K tile. Chunks past the operand's
  /// edges are zero-filled (source size 0) from a clamped address.
  void issueTileCopies(OpBuilder &b, Value tid, Value kt, std::optional<int64_t> known) const {
    auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
    auto commitAndWait = [&](OpBuilder &b, ValueRange tokens) {
      Value group = nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, tokens);
      nvgpu::DeviceAsyncWaitOp::create(b, loc, group, b.getI32IntegerAttr(stages - 2));
    };
    auto copies = [&](OpBuilder &b) {
      SmallVector<Value> tokens;
      // kt counts the block's own K tiles (its K range with split-K).
      Value k0 = mulC(b, loc, ktBase ? add(b, loc, ktBase, kt) : kt, t.bk);
      Value slot = remC(b, loc, kt, stages);
      for (const PipeOperand *o : {&pa, &pb}) {
        int64_t perRow = o->cols / o->chunk;
        int64_t total = o->rows * perRow;
        int64_t otherExtent = o->isA ? c.m : c.n;
        Value otherOrigin = o->isA ? m0 : n0;
        for (int64_t e = 0; e < total / t.threads(); ++e) {
          Value l = add(b, loc, tid, cst(b, loc, e * t.threads()));
          Value r = divC(b, loc, l, perRow);
          Value col = mulC(b, loc, remC(b, loc, l, perRow), o->chunk);
          // GEMM coordinates of the chunk's first element: k, and m (A) or n (B).
          Value kk = add(b, loc, k0, o->kContig ? col : r);
          Value other = add(b, loc, otherOrigin, o->kContig ? r : col);
          auto ult = [&](Value v, int64_t bound) {
            return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, v, cst(b, loc, bound));
          };
          Value ok = arith::AndIOp::create(b, loc, ult(kk, c.k), ult(other, otherExtent));
          Value zeroIdx = cst(b, loc, 0);
          Value kc = arith::SelectOp::create(b, loc, ok, kk, zeroIdx);
          Value oc = arith::SelectOp::create(b, loc, ok, other, zeroIdx);
          SmallVector<Value> src = o->isA ? (*o->index)(b, loc, batch, oc, kc)
                                          : (*o->index)(b, loc, batch, kc, oc);
          Value n = arith::SelectOp::create(b, loc, ok, cst(b, loc, o->chunk), zeroIdx);
          auto copy = nvgpu::DeviceAsyncCopyOp::create(
              b, loc, tokenType, o->sh, ValueRange{slot, r, swizzle(b, *o, r, col)}, o->mem, src,
              b.getIndexAttr(o->chunk), n,
              /*bypassL1=*/o->chunk == 4 ? b.getUnitAttr() : UnitAttr());
          tokens.push_back(copy.getAsyncToken());
        }
      }
      commitAndWait(b, tokens);
    };
    if (known && !ktCount) {
      if (*known < numK)
        copies(b);
      else
        commitAndWait(b, ValueRange{});
      return;
    }
    Value inK = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, kt,
                                      ktCount ? ktCount : cst(b, loc, numK));
    auto branch = scf::IfOp::create(b, loc, TypeRange{}, inK, /*withElse=*/true);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(branch.thenBlock()->getTerminator());
    copies(b);
    b.setInsertionPoint(branch.elseBlock()->getTerminator());
    commitAndWait(b, ValueRange{});
  }

  /// Element (row, col) of the GEMM tile of an operand (A: m, k; B: k, n)
  /// in ring slot `slot`, as f32.
  Value pipeAt(OpBuilder &b, const PipeOperand &o, Value slot, Value gr, Value gc) const {
    // gr, gc: A (m, k) or B (k, n).
    Value r, col;
    if (o.isA) {
      r = o.kContig ? gr : gc;
      col = o.kContig ? gc : gr;
    } else {
      r = o.kContig ? gc : gr;
      col = o.kContig ? gr : gc;
    }
    return memref::LoadOp::create(b, loc, o.sh, ValueRange{slot, r, swizzle(b, o, r, col)});
  }

  /// ldmatrix of `tiles` 8x4 f32 tiles of a k-contiguous operand: lane
  /// 8q + i gives row `rowOf(q) + i`, column `colOf(q)` (multiples of 4).
  SmallVector<Value> pipeLdMatrix(OpBuilder &b, const PipeOperand &o, Value slot, Value lane,
                                  int64_t tiles, function_ref<Value(Value)> rowBase,
                                  function_ref<Value(Value)> colBase) const {
    Value q = remC(b, loc, divC(b, loc, lane, 8), tiles);
    Value r = add(b, loc, rowBase(q), remC(b, loc, lane, 8));
    Value col = colBase(q);
    auto type = VectorType::get({tiles, 1}, b.getF32Type());
    Value v = nvgpu::LdMatrixOp::create(b, loc, type, o.sh,
                                        ValueRange{slot, r, swizzle(b, o, r, col)},
                                        /*transpose=*/false, (uint32_t)tiles);
    SmallVector<Value> out;
    for (int64_t i = 0; i < tiles; ++i)
      out.push_back(vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{i, 0}));
    return out;
  }

  Value toMma(OpBuilder &b, Value v) const {
    switch (precision) {
    case Precision::TF32:
      return roundMantissa(b, loc, v, 13);
    case Precision::FP16:
      return arith::TruncFOp::create(b, loc, b.getF16Type(), v);
    case Precision::BF16:
      return arith::TruncFOp::create(b, loc, b.getBF16Type(), v);
    case Precision::FP32:
      break;
    }
    return v;
  }

  /// The K tile in ring slot `slot` on tensor cores, accumulated into
  /// `accs` (mTiles x nTiles x 4, in owned() order). For f16/bf16 the k
  /// order inside each m16n8k16 step is permuted the same way in A and B
  /// (logical 2t, 2t+1 are physical t, t+4; 2t+8, 2t+9 are t+8, t+12), so
  /// that every fragment register pairs two elements that ldmatrix of f32
  /// tiles delivers to the same lane.
  SmallVector<Value> pipeMma(OpBuilder &b, Value tid, Value slot, ValueRange accs) const {
    Value warp = divC(b, loc, tid, 32), lane = remC(b, loc, tid, 32);
    Value g = divC(b, loc, lane, 4), tg = remC(b, loc, lane, 4);
    int64_t mTiles = t.bm / 32, nTiles = t.bn / 32;
    Value mw = mulC(b, loc, divC(b, loc, warp, 4), t.bm / 2);
    Value nw = mulC(b, loc, remC(b, loc, warp, 4), t.bn / 4);
    bool tf32 = precision == Precision::TF32;
    int64_t kStep = tf32 ? 8 : 16;
    Type et = tf32 ? b.getF32Type()
                   : precision == Precision::FP16 ? (Type)b.getF16Type() : (Type)b.getBF16Type();
    SmallVector<Value> cur(accs.begin(), accs.end());
    auto plus = [&](Value v, int64_t x) { return add(b, loc, v, cst(b, loc, x)); };
    for (int64_t kb = 0; kb < t.bk; kb += kStep) {
      // Per m tile: A values [row g / g+8][physical k t, t+4, (t+8, t+12)].
      SmallVector<SmallVector<Value>> aFr(mTiles), bFr(nTiles);
      for (int64_t i = 0; i < mTiles; ++i) {
        Value rowBase = add(b, loc, mw, cst(b, loc, 16 * i));
        // vals[h][x]: row g + 8h, physical k offset x (0: t, 1: t+4, 2: t+8, 3: t+12).
        Value vals[2][4];
        int64_t halves = tf32 ? 1 : 2;
        for (int64_t hk = 0; hk < halves; ++hk) {
          if (pa.kContig) {
            auto v = pipeLdMatrix(
                b, pa, slot, lane, 4,
                [&](Value q) { return add(b, loc, rowBase, mulC(b, loc, remC(b, loc, q, 2), 8)); },
                [&](Value q) {
                  return add(b, loc, cst(b, loc, kb + 8 * hk), mulC(b, loc, divC(b, loc, q, 2), 4));
                });
            // tiles: (rows 0-7, k 0-3), (8-15, 0-3), (0-7, 4-7), (8-15, 4-7).
            vals[0][2 * hk] = v[0], vals[1][2 * hk] = v[1];
            vals[0][2 * hk + 1] = v[2], vals[1][2 * hk + 1] = v[3];
          } else {
            for (int64_t h = 0; h < 2; ++h)
              for (int64_t x = 0; x < 2; ++x)
                vals[h][2 * hk + x] =
                    pipeAt(b, pa, slot, add(b, loc, rowBase, plus(g, 8 * h)),
                           plus(tg, kb + 8 * hk + 4 * x));
          }
        }
        if (tf32) {
          // a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4).
          aFr[i] = {vals[0][0], vals[1][0], vals[0][1], vals[1][1]};
        } else {
          // Rows g, g+8, g, g+8; each a pair (k t, t+4) then (t+8, t+12).
          aFr[i] = {vals[0][0], vals[0][1], vals[1][0], vals[1][1],
                    vals[0][2], vals[0][3], vals[1][2], vals[1][3]};
        }
        for (Value &v : aFr[i])
          v = toMma(b, v);
      }
      for (int64_t j = 0; j < nTiles; ++j) {
        Value colBase = add(b, loc, nw, cst(b, loc, 8 * j));
        int64_t ks = tf32 ? 2 : 4; // physical k offsets t + 4x
        SmallVector<Value> vals;
        if (pb.kContig) {
          vals = pipeLdMatrix(
              b, pb, slot, lane, ks, [&](Value) { return colBase; },
              [&](Value q) { return add(b, loc, cst(b, loc, kb), mulC(b, loc, q, 4)); });
        } else {
          for (int64_t x = 0; x < ks; ++x)
            vals.push_back(pipeAt(b, pb, slot, plus(tg, kb + 4 * x), add(b, loc, colBase, g)));
        }
        for (Value &v : vals)
          v = toMma(b, v);
        bFr[j] = vals;
      }
      auto aType = VectorType::get({4, tf32 ? 1 : 2}, et);
      auto bType = VectorType::get({2, tf32 ? 1 : 2}, et);
      auto cType = VectorType::get({2, 2}, b.getF32Type());
      for (int64_t i = 0; i < mTiles; ++i) {
        Value aFrag = vector::FromElementsOp::create(b, loc, aType, aFr[i]);
        for (int64_t j = 0; j < nTiles; ++j) {
          Value bFrag = vector::FromElementsOp::create(b, loc, bType, bFr[j]);
          int64_t base = i * nTiles * 4 + j * 4;
          Value cFrag = vector::FromElementsOp::create(
              b, loc, cType, ValueRange{cur[base], cur[base + 1], cur[base + 2], cur[base + 3]});
          Value d = nvgpu::MmaSyncOp::create(b, loc, aFrag, bFrag, cFrag,
                                             ArrayRef<int64_t>{16, 8, kStep}, tf32);
          for (int64_t r = 0; r < 4; ++r)
            cur[base + r] = vector::ExtractOp::create(b, loc, d, ArrayRef<int64_t>{r / 2, r % 2});
        }
      }
    }
    return cur;
  }

  /// Accumulator (i, j) of the pipelined kernel: mma tile (i, j / 4),
  /// register j % 4, in the warp tile of warp (warp / 4, warp % 4).
  std::pair<Value, Value> pipeOwned(OpBuilder &b, Value tid, int64_t i, int64_t j) const {
    Value warp = divC(b, loc, tid, 32), lane = remC(b, loc, tid, 32);
    Value g = divC(b, loc, lane, 4), tg = remC(b, loc, lane, 4);
    int64_t r = j % 4;
    Value row = add(b, loc, mulC(b, loc, divC(b, loc, warp, 4), t.bm / 2),
                    add(b, loc, g, cst(b, loc, 16 * i + 8 * (r / 2))));
    Value col = add(b, loc, mulC(b, loc, remC(b, loc, warp, 4), t.bn / 4),
                    add(b, loc, mulC(b, loc, tg, 2), cst(b, loc, 8 * (j / 4) + r % 2)));
    return std::make_pair(row, col);
  }

  /// The pipelined kernel: phase 1 starts the accumulators and the copies
  /// of the first stages - 1 K tiles; each K phase computes tile kt (its
  /// group waited on at the end of the phase before, then the barrier),
  /// starts the copies of tile kt + stages - 1 into the slot tile kt - 1
  /// used (free: every warp passed the barrier after reading it), and
  /// waits for tile kt + 1's group; then the epilogue.
  void buildPipelined(OpBuilder &b, Attribute shared) {
    setupPipeOperands(b, shared);
    if (splits > 1) {
      // This block's K tiles: [split * per, min(numK, (split + 1) * per)).
      int64_t per = llvm::divideCeil(numK, splits);
      ktBase = mulC(b, loc, kSplit, per);
      ktCount = arith::MinUIOp::create(
          b, loc, cst(b, loc, per),
          arith::SubIOp::create(b, loc, cst(b, loc, numK), ktBase));
    }
    phase(b, [&](OpBuilder &b, Value tid) {
      if (splits > 1) {
        for (int64_t i = 0; i < t.tm; ++i)
          for (int64_t j = 0; j < t.tn; ++j)
            setAcc(b, zero, tid, i, j);
      } else {
        emitAccInit(b, tid);
      }
      for (int64_t s = 0; s + 1 < stages; ++s)
        issueTileCopies(b, tid, cst(b, loc, s), s);
    });
    {
      auto kLoop = scf::ForOp::create(b, loc, cst(b, loc, 0),
                                      ktCount ? ktCount : cst(b, loc, numK), cst(b, loc, 1));
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(kLoop.getBody()->getTerminator());
      Value kt = kLoop.getInductionVar();
      phase(b, [&](OpBuilder &b, Value tid) {
        SmallVector<Value> accs;
        for (int64_t i = 0; i < t.tm; ++i)
          for (int64_t j = 0; j < t.tn; ++j)
            accs.push_back(accAt(b, tid, i, j));
        SmallVector<Value> res = pipeMma(b, tid, remC(b, loc, kt, stages), accs);
        for (int64_t i = 0; i < t.tm; ++i)
          for (int64_t j = 0; j < t.tn; ++j)
            setAcc(b, res[i * t.tn + j], tid, i, j);
        issueTileCopies(b, tid, add(b, loc, kt, cst(b, loc, stages - 1)), std::nullopt);
      });
    }
    if (splits == 1) {
      emitLastPhase(b);
      return;
    }
    // Partial sums to the workspace [split][batch][M][N].
    phase(b, [&](OpBuilder &b, Value tid) {
      Value flatBatch = flatBatchIndex(b);
      forEachOutput(b, tid, [&](OpBuilder &b, Value v, Value gm, Value gn) {
        memref::StoreOp::create(b, loc, v, workspace, ValueRange{kSplit, flatBatch, gm, gn});
      });
    });
  }

  Value workspace; // split-K partial sums [splits][batch][M][N]

  /// The block's batch coordinates as one index (row-major).
  Value flatBatchIndex(OpBuilder &b) const {
    Value flat = cst(b, loc, 0);
    for (auto [i, v] : llvm::enumerate(batch))
      flat = add(b, loc, mulC(b, loc, flat, c.batch[i]), v);
    return flat;
  }

  /// The start of output element (gm, gn) of the block's batch: the scalar,
  /// the bias or C (as emitAccInit).
  Value initAt(OpBuilder &b, Value gm, Value gn) const {
    if (initScalar)
      return initScalar;
    SmallVector<Value> idx = c.cIndex(b, loc, batch, gm, gn);
    if (!bcastInput)
      return memref::LoadOp::create(b, loc, c.c, idx);
    SmallVector<Value> in;
    for (auto [d, v] : llvm::enumerate(idx))
      if (!llvm::is_contained(bcastDims, int64_t(d)))
        in.push_back(v);
    return memref::LoadOp::create(b, loc, bcastInput, in);
  }

  /// Split-K's second kernel: a thread per output element adds its start
  /// and the partial sums of every K range, then runs the epilogue.
  void buildSplitReduction(OpBuilder &b) {
    MLIRContext *ctx = b.getContext();
    int64_t batchTotal = 1;
    for (int64_t v : c.batch)
      batchTotal *= v;
    int64_t total = batchTotal * c.m * c.n, threads = 256;
    auto blocks = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(llvm::divideCeil(total, threads))},
        ValueRange{}, b.getArrayAttr({gpu::GPUBlockMappingAttr::get(ctx, gpu::MappingId::DimX)}));
    kiln::setStrategy(blocks, strategy);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(blocks.getBody()->getTerminator());
    auto loop = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(threads)}, ValueRange{},
        b.getArrayAttr({gpu::GPUThreadMappingAttr::get(ctx, gpu::MappingId::DimX)}));
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value e = add(b, loc, mulC(b, loc, blocks.getInductionVar(0), threads),
                  loop.getInductionVar(0));
    if (total % threads) {
      Value ok = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, e, cst(b, loc, total));
      auto guardIf = scf::IfOp::create(b, loc, TypeRange{}, ok, false);
      b.setInsertionPoint(guardIf.thenBlock()->getTerminator());
    }
    Value gn = remC(b, loc, e, c.n);
    Value gm = remC(b, loc, divC(b, loc, e, c.n), c.m);
    Value flat = divC(b, loc, e, c.m * c.n);
    batch.clear();
    Value rest = flat;
    for (int64_t i = c.batch.size() - 1; i >= 0; --i) {
      batch.insert(batch.begin(), remC(b, loc, rest, c.batch[i]));
      rest = divC(b, loc, rest, c.batch[i]);
    }
    Value sum = initAt(b, gm, gn);
    for (int64_t sIdx = 0; sIdx < splits; ++sIdx)
      sum = arith::AddFOp::create(
          b, loc, sum,
          memref::LoadOp::create(b, loc, workspace, ValueRange{cst(b, loc, sIdx), flat, gm, gn}));
    storeResult(b, sum, gm, gn);
  }

  /// The result `v` of output element (gm, gn) of the current batch: to C,
  /// or through the epilogue to its output.
  void storeResult(OpBuilder &b, Value v, Value gm, Value gn) {
    SmallVector<Value> idx = c.cIndex(b, loc, batch, gm, gn);
    if (!epi) {
      memref::StoreOp::create(b, loc, v, c.c, idx);
      return;
    }
    SmallVector<Value> loops = epilogueLoops(b, loc, idx);
    memref::StoreOp::create(b, loc, emitEpilogue(b, loc, v, loops),
                            epi->op.getDpsInitOperand(0)->get(), loops);
  }

  /// The epilogue's loop values for the result element at `idx` of C: the
  /// element's position in the reshape the epilogue reads, through the
  /// inverse of its read permutation.
  SmallVector<Value> epilogueLoops(OpBuilder &b, Location loc, ArrayRef<Value> idx) const {
    Value view = epi->view;
    SmallVector<Value> at(idx);
    if (view != c.c)
      at = reshapeIndex(b, loc, idx, cast<MemRefType>(c.c.getType()).getShape(),
                        cast<MemRefType>(view.getType()).getShape());
    linalg::GenericOp g = epi->op;
    AffineMap read = g.getMatchingIndexingMap(&g->getOpOperand(epi->resultInput));
    SmallVector<Value> loops(read.getNumDims());
    for (unsigned r = 0; r < read.getNumResults(); ++r)
      loops[read.getDimPosition(r)] = at[r];
    return loops;
  }

  /// The consumer's body at loop position `idx` (its loops are the
  /// output's dimensions), with the contraction's value `v`.
  Value emitEpilogue(OpBuilder &b, Location loc, Value v, ArrayRef<Value> idx) const {
    linalg::GenericOp g = epi->op;
    Block *body = g.getBody();
    IRMapping map;
    for (OpOperand &operand : g->getOpOperands()) {
      BlockArgument arg = body->getArgument(operand.getOperandNumber());
      if (arg.use_empty())
        continue;
      if (operand.getOperandNumber() == epi->resultInput) {
        map.map(arg, v);
        continue;
      }
      Value mem = operand.get();
      if (!isa<MemRefType>(mem.getType())) {
        map.map(arg, mem);
        continue;
      }
      AffineMap m = g.getMatchingIndexingMap(&operand);
      auto at = affine::expandAffineMap(b, loc, m, idx);
      map.map(arg, memref::LoadOp::create(b, loc, mem, *at));
    }
    return kiln::cloneBodyAt(b, body, map, idx);
  }
};

/// How C's buffer is initialized when the contraction starts, if the
/// kernel can compute that itself: a fill (a scalar) or a broadcast (a
/// bias) as the only write before it. That op is then dead.
struct AccInit {
  Value scalar;
  Value bcastInput;
  SmallVector<int64_t> bcastDims;
  Operation *writer = nullptr;
};

static AccInit accInit(const Contraction &c, Operation *kernelAt) {
  Operation *writer = nullptr;
  for (Operation *user : c.c.getUsers()) {
    if (user == c.op || isa<memref::DeallocOp>(user) ||
        !(user->getBlock() == c.op->getBlock() && user->isBeforeInBlock(c.op)))
      continue;
    if (writer)
      return {};
    writer = user;
  }
  if (!writer)
    return {};
  if (auto fill = dyn_cast<linalg::FillOp>(writer)) {
    if (fill.getDpsInitOperand(0)->get() != c.c || !fill.value().getType().isF32())
      return {};
    return {fill.value(), Value(), {}, fill};
  }
  if (auto bcast = dyn_cast<linalg::BroadcastOp>(writer)) {
    Value in = bcast.getInput();
    if (bcast.getInit() != c.c || !isStaticF32Buffer(in))
      return {};
    // The kernel reads the input later, where it is placed.
    for (Operation *op = writer->getNextNode(); op && op != kernelAt; op = op->getNextNode())
      if (touches(op, {kiln::rootBuffer(in)}, /*write=*/true))
        return {};
    return {Value(), in, SmallVector<int64_t>(bcast.getDimensions()), bcast};
  }
  return {};
}

/// Erases the reshapes of `op`'s results that nothing reads any more.
static void eraseUnusedReshapes(Operation *op) {
  for (Operation *user : llvm::make_early_inc_range(op->getUsers())) {
    if (!isDenseReshape(user))
      continue;
    eraseUnusedReshapes(user);
    if (user->use_empty())
      user->erase();
  }
}

/// Erases `alloc` with its unused reshapes when nothing but deallocations
/// uses it any more.
static void eraseDeadAlloc(Operation *alloc) {
  eraseUnusedReshapes(alloc);
  if (!llvm::all_of(alloc->getUsers(), [](Operation *u) { return isa<memref::DeallocOp>(u); }))
    return;
  for (Operation *u : llvm::make_early_inc_range(alloc->getUsers()))
    u->erase();
  alloc->erase();
}

/// Everything the tiled strategy takes for one contraction, found without
/// changing the IR: the contraction, its fused epilogue, how its
/// accumulator starts, and the operand producers its loaders evaluate.
struct TiledPlan {
  Contraction c;
  std::optional<Epilogue> epi;
  Operation *kernelAt = nullptr;
  AccInit init;
  SmallVector<Producer> folded;
};

static std::optional<Contraction> matchContraction(Operation *op, std::string &why) {
  std::optional<Contraction> c;
  if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op))
    c = matchConv(conv);
  else if (auto l = dyn_cast<linalg::LinalgOp>(op))
    c = matchLinalgContraction(l);
  if (!c) {
    why = "not a contraction with one M, N and K loop and permutation maps on static f32 "
          "buffers, nor an NCHW convolution";
    return std::nullopt;
  }
  if (c->m <= 0 || c->n <= 0 || c->k <= 0) {
    why = "an empty contraction";
    return std::nullopt;
  }
  return c;
}

static TiledPlan planTiled(const Contraction &c, bool foldProducers) {
  TiledPlan plan{c};
  plan.epi = findEpilogue(c);
  plan.kernelAt = plan.epi ? plan.epi->op.getOperation() : c.op;
  plan.init = accInit(c, plan.kernelAt);
  // Data-movement producers of the operands (and of theirs) fold into
  // the loaders, outermost first. Asynchronous copies read the operands'
  // memory as it is, so the pipelined kernel folds none.
  if (isa<linalg::Conv2DNchwFchwOp>(c.op) || !foldProducers)
    return plan;
  llvm::DenseSet<Value> seen;
  SmallVector<std::pair<Value, Operation *>> work{{c.a, c.op}, {c.b, c.op}};
  while (!work.empty()) {
    auto [v, reader] = work.pop_back_val();
    std::optional<Producer> prod = foldableProducer(v, reader, plan.kernelAt);
    if (!prod || !seen.insert(prod->buffer).second)
      continue;
    plan.folded.push_back(*prod);
    for (OpOperand *in : prod->op.getDpsInputOperands())
      if (isa<MemRefType>(in->get().getType()))
        work.push_back({in->get(), prod->op});
  }
  return plan;
}

/// The cp.async pipelined tensor-core kernel: more than two stages.
static bool isPipelined(kiln::StrategyAttr strategy) {
  return strategy.getTensorCores() && strategy.getStages() > 2;
}

/// Whether the pipelined kernel applies: reduced precision and M, N >= 32,
/// K >= 16 (its smallest tile is 64 x 64: at M or N of 32 half of it idles,
/// and the tensor cores still outrun CUDA-core FMAs several times).
/// Operands with a contiguous GEMM coordinate are copied 16 bytes at a
/// time, the others (a convolution's input windows) an element at a time.
static bool pipelineFits(const Contraction &c, Precision precision) {
  return precision != Precision::FP32 && c.m >= 32 && c.n >= 32 && c.k >= 16;
}

static void rewriteTiled(TiledPlan &plan, kiln::StrategyAttr strategy, bool emulation) {
  Contraction &c = plan.c;
  ArrayRef<int64_t> tile = strategy.getTile(), micro = strategy.getMicroTile();
  TileConfig tiles{tile[0], tile[1], tile[2], micro[0], micro[1]};
  KernelBuilder kb{c, tiles, strategy, plan.epi, plan.init.scalar, plan.init.bcastInput,
                   plan.init.bcastDims, emulation, strategy.getPrecision()};
  // Tensor cores: the pipelined kernel (bf16 mma.sync reaches NVVM through
  // kiln-gpu-lower-bf16-mma-sync).
  if (isPipelined(strategy)) {
    // Phase-by-phase emulation has no asynchronous copies: the same tiles
    // with scalar multiply-adds.
    kb.pipe = !emulation;
    kb.stages = strategy.getStages();
    if (kb.pipe && tile.size() == 4)
      kb.splits = tile[3];
  }
  for (Producer &prod : plan.folded)
    kb.producers[prod.buffer] = prod.op;
  OpBuilder b(plan.kernelAt);
  kb.build(b, c.op->getLoc());
  if (plan.epi)
    plan.epi->op->erase();
  c.op->erase();
  if (plan.init.writer)
    plan.init.writer->erase();
  for (Producer &prod : plan.folded) {
    prod.op->erase();
    eraseDeadAlloc(prod.buffer.getDefiningOp());
  }
  // The result buffer is dead when the consumer took the result.
  if (auto alloc = c.c.getDefiningOp<memref::AllocOp>())
    eraseDeadAlloc(alloc);
}

struct GpuContractionPass : kiln::impl::GpuContractionBase<GpuContractionPass> {
  using GpuContractionBase::GpuContractionBase;

  void runOnOperation() override {
    SmallVector<Operation *> chosen;
    getOperation().walk([&](Operation *op) {
      if (kiln::hasStrategy(op, kiln::StrategyKind::TiledContraction))
        chosen.push_back(op);
    });
    for (Operation *op : chosen) {
      auto strategy = kiln::getStrategy(op);
      std::string why;
      std::optional<Contraction> c = matchContraction(op, why);
      size_t tileRank = strategy.getTile().size();
      if (!c || (tileRank != 3 && !(tileRank == 4 && isPipelined(strategy))) ||
          strategy.getMicroTile().size() != 2) {
        op->emitError() << "the tiled contraction strategy chosen for this op does not apply"
                        << (why.empty() ? std::string(" (tile parameters missing)")
                                        : ": " + why);
        return signalPassFailure();
      }
      TiledPlan plan = planTiled(*c, !isPipelined(strategy));
      LLVM_DEBUG(llvm::dbgs() << "tiled contraction at " << op->getLoc() << ": "
                              << strategy.getNote() << (plan.epi ? ", epilogue fused" : "")
                              << ", " << plan.folded.size() << " producer(s) folded\n");
      rewriteTiled(plan, strategy, emulation);
    }
  }
};

} // namespace

std::optional<kiln::TiledContractionChoice>
kiln::chooseTiledContraction(Operation *op, Precision precision, std::string &why) {
  if (op->getParentOfType<scf::ForallOp>() || op->getParentOfType<gpu::LaunchOp>()) {
    why = "inside a kernel already";
    return std::nullopt;
  }
  std::optional<Contraction> c = matchContraction(op, why);
  if (!c)
    return std::nullopt;
  bool pipelined = pipelineFits(*c, precision);
  TiledPlan plan = planTiled(*c, !pipelined);
  TileChoice tiles = chooseTiles(c->m, c->n, c->k, precision);
  int64_t stages = 2;
  int64_t wideBlocks = 0, splitK = 1;
  if (pipelined) {
    // 128 x 128 (or 64 where M or N is smaller) x 32 block tiles of 8 warps,
    // each a (BM/2) x (BN/4) warp tile of m16n8 mma tiles; 3 stages. A grid
    // of fewer blocks than an A100 has SMs (108) leaves SMs idle: the
    // longer side of the tile halves to 64 while that is so.
    int64_t batchTotal = 1;
    for (int64_t s : c->batch)
      batchTotal *= s;
    auto blocksFor = [&](int64_t bm, int64_t bn) -> int64_t {
      return batchTotal * (int64_t)llvm::divideCeil(c->m, bm) * (int64_t)llvm::divideCeil(c->n, bn);
    };
    tiles.bm = c->m >= 128 ? 128 : 64;
    tiles.bn = c->n >= 128 ? 128 : 64;
    wideBlocks = blocksFor(tiles.bm, tiles.bn);
    while (blocksFor(tiles.bm, tiles.bn) < 108 && (tiles.bm > 64 || tiles.bn > 64)) {
      if (tiles.bm >= tiles.bn)
        tiles.bm = 64;
      else
        tiles.bn = 64;
    }
    if (blocksFor(tiles.bm, tiles.bn) == wideBlocks)
      wideBlocks = 0;
    tiles.bk = 32;
    // Still under half the SMs with a long K: split K into ranges that
    // blocks of their own sum, up to 16 (each at least 4 K tiles), and add
    // the partial sums in a second kernel.
    int64_t blocks = blocksFor(tiles.bm, tiles.bn), numK = (int64_t)llvm::divideCeil(c->k, 32);
    if (2 * blocks <= 108 && numK >= 8) {
      splitK = std::min<int64_t>({108 / blocks, numK / 4, 16});
      int64_t per = llvm::divideCeil(numK, splitK);
      splitK = llvm::divideCeil(numK, per);
      if (splitK < 2)
        splitK = 1;
    }
    tiles.tm = tiles.bm / 32;
    tiles.tn = tiles.bn / 32 * 4;
    tiles.tensorCores = true;
    stages = 3;
  }
  std::string note;
  llvm::raw_string_ostream os(note);
  os << "m=" << c->m << " n=" << c->n << " k=" << c->k;
  if (pipelined)
    os << "; cp.async " << stages << "-stage pipeline, "
       << (c->aContig == 2 ? "ldmatrix" : "swizzled loads") << " for A, "
       << (c->bContig == 1 ? "ldmatrix" : "swizzled loads") << " for B"
       << (c->aContig && c->bContig ? "" : ", gathered element by element");
  if (wideBlocks)
    os << "; " << tiles.bm << "x" << tiles.bn << " tiles: larger ones give " << wideBlocks
       << " blocks";
  if (splitK > 1)
    os << "; split-K " << splitK << ": partial sums added by a second kernel";
  if (precision != Precision::FP32 && !tiles.tensorCores)
    os << "; no tensor cores: they need M, N >= 32 and K >= 16";
  MLIRContext *ctx = op->getContext();
  TiledContractionChoice choice;
  // Two shared-memory buffers per operand (double buffering), one block
  // of (BM/TM) x (BN/TN) threads.
  SmallVector<int64_t> tileShape{tiles.bm, tiles.bn, tiles.bk};
  if (splitK > 1)
    tileShape.push_back(splitK); // the K ranges of split-K
  choice.strategy = StrategyAttr::get(
      ctx, StrategyKind::TiledContraction, tileShape, {tiles.tm, tiles.tn},
      (tiles.bm / tiles.tm) * (tiles.bn / tiles.tn), stages, precision, tiles.tensorCores,
      note);
  if (plan.epi)
    choice.fused.push_back(plan.epi->op);
  if (plan.init.writer)
    choice.fused.push_back(plan.init.writer);
  for (Producer &prod : plan.folded)
    choice.fused.push_back(prod.op);
  return choice;
}
