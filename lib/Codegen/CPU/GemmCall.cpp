//===- GemmCall.cpp - f32 contractions as calls to the runtime's GEMM -----===//
#include "kiln/Codegen/CPU/Gemm.h"
#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Dialect/Kiln/KilnOps.h"
#include "kiln/Codegen/Common/Padding.h"
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Transforms/WeightData.h"
#include "kiln_runtime.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Debug.h"

#include <cmath>
#include <limits>

#define DEBUG_TYPE "kiln-cpu-contraction-to-call"

namespace kiln {
#define GEN_PASS_DEF_CPUCONTRACTIONTOCALL
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

static constexpr const char *kGemmFunction = "kiln_cpu_sgemm";
static constexpr const char *kDepthwiseFunction = "kiln_cpu_depthwise_conv2d";
static constexpr const char *kConvFunction = "kiln_cpu_conv2d";

/// Whether every operand is a static f32 shape of its map's rank.
static bool staticF32Operands(linalg::LinalgOp op) {
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<ShapedType>(operand.get().getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        type.getRank() != op.getMatchingIndexingMap(&operand).getNumResults())
      return false;
  }
  return true;
}

/// The iterations of an op of static loop ranges.
static int64_t iterations(ArrayRef<int64_t> ranges) {
  int64_t work = 1;
  for (int64_t r : ranges)
    work *= r;
  return work;
}

/// The result of `map` that walks loop `loop` (the operand dimension whose
/// stride is that loop's), or nothing for a loop the operand does not walk
/// (or -1).
static std::optional<unsigned> dimensionWalking(AffineMap map, int64_t loop) {
  if (loop < 0)
    return std::nullopt;
  std::optional<unsigned> found;
  for (unsigned i = 0; i < map.getNumResults(); ++i)
    if (map.getResult(i).isFunctionOfDim(loop))
      found = i;
  return found;
}

namespace {
/// The loops of a depthwise convolution (batch -1 when absent) and its
/// window geometry.
struct DepthwiseLoops {
  int64_t batch = -1, channel, oh, ow, kh, kw;
  int64_t sh, sw, dh, dw;
};
} // namespace

static std::optional<DepthwiseLoops> analyzeDepthwise(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || op.hasIndexSemantics() ||
      !staticF32Operands(op) || !linalg::isaConvolutionOpInterface(op))
    return std::nullopt;
  FailureOr<linalg::ConvolutionDimensions> dims = linalg::inferConvolutionDims(op);
  if (failed(dims) || dims->outputImage.size() != 2 || dims->filterLoop.size() != 2 ||
      dims->depth.size() != 1 || dims->batch.size() > 1 || dims->strides.size() != 2 ||
      dims->dilations.size() != 2)
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  size_t total = dims->batch.size() + dims->outputImage.size() + dims->outputChannel.size() +
                 dims->filterLoop.size() + dims->inputChannel.size() + dims->depth.size();
  if (total != op.getNumLoops())
    return std::nullopt;
  for (unsigned d : llvm::concat<unsigned>(dims->inputChannel, dims->outputChannel))
    if (ranges[d] != 1)
      return std::nullopt;
  DepthwiseLoops loops;
  if (!dims->batch.empty())
    loops.batch = dims->batch.front();
  loops.channel = dims->depth.front();
  loops.oh = dims->outputImage[0];
  loops.ow = dims->outputImage[1];
  // Each output image loop pairs with the filter loop that shares its
  // input expression (oh * stride + kh * dilation).
  AffineMap in = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  auto partner = [&](unsigned image) -> int64_t {
    for (AffineExpr e : in.getResults())
      if (e.isFunctionOfDim(image))
        for (unsigned f : dims->filterLoop)
          if (e.isFunctionOfDim(f))
            return f;
    return -1;
  };
  loops.kh = partner(loops.oh);
  loops.kw = partner(loops.ow);
  if (loops.kh < 0 || loops.kw < 0 || loops.kh == loops.kw)
    return std::nullopt;
  loops.sh = dims->strides[0];
  loops.sw = dims->strides[1];
  loops.dh = dims->dilations[0];
  loops.dw = dims->dilations[1];
  if (iterations(ranges) < kiln::kCpuGemmMinWork)
    return std::nullopt;
  return loops;
}

bool kiln::matchCpuDepthwise(linalg::LinalgOp op) { return analyzeDepthwise(op).has_value(); }

bool kiln::matchCpuConv(linalg::LinalgOp op) {
  auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op.getOperation());
  if (!conv || !staticF32Operands(op) || op.hasIndexSemantics())
    return false;
  return iterations(op.getStaticLoopRanges()) >= kiln::kCpuGemmMinWork;
}

bool kiln::isCpuRuntimeCall(linalg::LinalgOp op) {
  return matchCpuGemm(op).has_value() || matchCpuDepthwise(op) || matchCpuConv(op);
}

std::optional<kiln::CpuGemmLoops> kiln::matchCpuGemm(linalg::LinalgOp op,
                                                     int64_t minWork) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op) || op.hasIndexSemantics())
    return std::nullopt;
  if (!staticF32Operands(op))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims) || dims->k.size() != 1 ||
      op.getNumLoops() !=
          dims->k.size() + dims->m.size() + dims->n.size() + dims->batch.size())
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  // M and N are the innermost m and n loops; any other loop longer than 1
  // (a batch loop, or an outer m or n loop such as the image index of an
  // im2col convolution) becomes the one batch loop, with stride 0 in the
  // operand that does not walk it.
  CpuGemmLoops loops;
  loops.k = dims->k.front();
  SmallVector<int64_t> outer;
  auto pick = [&](ArrayRef<unsigned> list, int64_t &chosen) {
    for (unsigned d : llvm::reverse(list)) {
      if (chosen < 0)
        chosen = d;
      else if (ranges[d] > 1)
        outer.push_back(d);
    }
  };
  pick(dims->m, loops.m);
  pick(dims->n, loops.n);
  for (unsigned d : dims->batch)
    if (ranges[d] > 1)
      outer.push_back(d);
  if (outer.size() > 1)
    return std::nullopt;
  if (!outer.empty())
    loops.batch = outer.front();
  // Below a few thousand multiply-adds the call and packing cost more than
  // the inline register blocks.
  if (iterations(ranges) < minWork)
    return std::nullopt;
  return loops;
}

namespace {

struct CpuContractionToCallPass
    : public kiln::impl::CpuContractionToCallBase<CpuContractionToCallPass> {
  using CpuContractionToCallBase::CpuContractionToCallBase;
  int64_t aPanel = 0, bPanel = 0;
  llvm::StringMap<memref::GlobalOp> packedGlobals;

  /// What a convolution call does as it stores its output (convEpilogue).
  struct ConvEpilogue {
    Operation *init = nullptr;   // fill or bias broadcast of the output, fused
    Value bias;                  // per-filter start value, when a broadcast
    unsigned biasDim = 0;        // the bias dimension along the channels
    linalg::GenericOp apply;     // the elementwise op folded into the store
    Value residual;
    bool clamp = false;
    float lo = -std::numeric_limits<float>::infinity();
    float hi = std::numeric_limits<float>::infinity();
  };

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, kiln::CpuGemmLoops>> gemms;
    SmallVector<std::pair<linalg::LinalgOp, DepthwiseLoops>> depthwise;
    SmallVector<linalg::Conv2DNchwFchwOp> convs;
    module.walk([&](linalg::LinalgOp op) {
      if (!op.hasPureBufferSemantics())
        return;
      if (convsOnly) {
        if (kiln::matchCpuConv(op))
          convs.push_back(cast<linalg::Conv2DNchwFchwOp>(op.getOperation()));
        else if (auto loops = analyzeDepthwise(op))
          depthwise.push_back({op, *loops});
        return;
      }
      if (auto loops = kiln::matchCpuGemm(op, minWork))
        gemms.push_back({op, *loops});
      else if (auto loops = analyzeDepthwise(op))
        depthwise.push_back({op, *loops});
      else if (kiln::matchCpuConv(op))
        convs.push_back(cast<linalg::Conv2DNchwFchwOp>(op.getOperation()));
    });
    // The microkernel's panels: packing constant operands at compile time
    // in them saves packing them in every run.
    aPanel = aPanelOption, bPanel = bPanelOption;
    if (aPanel == 0 || bPanel == 0) {
      int64_t rows, cols;
      kiln_cpu_sgemm_panels(&rows, &cols);
      aPanel = aPanel == 0 ? rows : aPanel;
      bPanel = bPanel == 0 ? cols : bPanel;
    }
    for (auto [op, loops] : gemms)
      rewrite(op, loops, declare(module, kGemmFunction, 18));
    for (auto [op, loops] : depthwise)
      rewriteDepthwise(op, loops, declareWithEpilogue(module, kDepthwiseFunction, 35));
    for (linalg::Conv2DNchwFchwOp op : convs)
      rewriteConv(op, declareWithEpilogue(module, kConvFunction, 38));
  }

  /// The runtime function `name` taking `numArgs` index values, then
  /// `tail` if given.
  func::FuncOp declare(ModuleOp module, StringRef name, unsigned numArgs,
                       ArrayRef<Type> tail = {}) {
    if (auto f = module.lookupSymbol<func::FuncOp>(name))
      return f;
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    SmallVector<Type> args(numArgs, b.getIndexType());
    llvm::append_range(args, tail);
    auto f = func::FuncOp::create(b, module.getLoc(), name, b.getFunctionType(args, {}));
    f.setPrivate();
    return f;
  }

  /// A convolution function of the runtime: `numIndex` index values (the
  /// sizes, the operands, the bias and residual addresses and strides),
  /// then the clamp bounds (f32) and the flags.
  func::FuncOp declareWithEpilogue(ModuleOp module, StringRef name, unsigned numIndex) {
    Builder b(module.getContext());
    return declare(module, name, numIndex, {b.getF32Type(), b.getF32Type(), b.getIndexType()});
  }

  /// Appends the address of `operand`'s buffer (its aligned pointer plus
  /// offset) and its element stride along each loop of `order` (0 for a
  /// loop it does not walk, or -1 in `order`).
  void addOperand(OpBuilder &b, Location loc, linalg::LinalgOp op, OpOperand &operand,
                  ArrayRef<int64_t> order, SmallVectorImpl<Value> &args) {
    addBufferAlong(b, loc, operand.get(), op.getMatchingIndexingMap(&operand), order, args);
  }

  /// Appends the address of `memref`'s first element (its aligned pointer
  /// plus offset) and returns its strided metadata.
  memref::ExtractStridedMetadataOp addAddress(OpBuilder &b, Location loc, Value memref,
                                              SmallVectorImpl<Value> &args) {
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    Value offsetBytes = arith::MulIOp::create(b, loc, meta.getOffset(),
                                              arith::ConstantIndexOp::create(b, loc, 4));
    args.push_back(arith::AddIOp::create(b, loc, base, offsetBytes));
    return meta;
  }

  /// The same for `memref` indexed by `map`.
  void addBufferAlong(OpBuilder &b, Location loc, Value memref, AffineMap map,
                      ArrayRef<int64_t> order, SmallVectorImpl<Value> &args) {
    auto constant = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    auto meta = addAddress(b, loc, memref, args);
    for (int64_t loop : order) {
      std::optional<unsigned> dim = dimensionWalking(map, loop);
      args.push_back(dim ? meta.getStrides()[*dim] : Value(constant(0)));
    }
  }


  void rewriteDepthwise(linalg::LinalgOp op, const DepthwiseLoops &l, func::FuncOp callee) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto constant = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    OpOperand *inOperand = op.getDpsInputOperand(0);
    AffineMap inMap = op.getMatchingIndexingMap(inOperand);
    AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    Value input = inOperand->get();
    std::optional<unsigned> rowDim = dimensionWalking(inMap, l.oh),
                            colDim = dimensionWalking(inMap, l.ow);
    std::optional<unsigned> channelDim = dimensionWalking(outMap, l.channel);
    // A zero-padded copy of the input is read in place.
    int64_t pads[2] = {0, 0};
    std::optional<kiln::PaddedBuffer> padded;
    if (rowDim && colDim && *rowDim != *colDim)
      padded = zeroPadded(op, inOperand, {*rowDim, *colDim});
    if (padded) {
      input = padded->copy.getSource();
      pads[0] = padded->low[*rowDim];
      pads[1] = padded->low[*colDim];
    }
    auto inType = cast<MemRefType>(input.getType());
    int64_t H = rowDim ? inType.getDimSize(*rowDim) : 1, W = colDim ? inType.getDimSize(*colDim) : 1;
    SmallVector<Value> args;
    for (int64_t v : {l.batch < 0 ? 1 : ranges[l.batch], ranges[l.channel], ranges[l.oh],
                      ranges[l.ow], ranges[l.kh], ranges[l.kw], l.sh, l.sw, l.dh, l.dw})
      args.push_back(constant(v));
    ConvEpilogue epi;
    if (channelDim)
      epi = convEpilogue(op, input, *channelDim);
    Value output = op.getDpsInits()[0];
    Value dest = epi.apply ? epi.apply.getDpsInits()[0] : output;
    // Operands extracted output first, input last (the buffer plan keeps
    // the input live up to the call); the window arithmetic (stride,
    // dilation, pads) is the runtime's.
    SmallVector<Value> inArgs, wArgs, outArgs, epiArgs;
    addBufferAlong(b, loc, dest, outMap, {l.batch, l.channel, l.oh, l.ow}, outArgs);
    addOperand(b, loc, op, *op.getDpsInputOperand(1), {l.channel, l.kh, l.kw}, wArgs);
    addEpilogueArgs(b, loc, epi, outMap, {l.batch, l.channel, l.oh, l.ow}, epiArgs);
    addBufferAlong(b, loc, input, inMap, {l.batch, l.channel, l.oh, l.ow}, inArgs);
    llvm::append_range(args, inArgs);
    llvm::append_range(args, wArgs);
    llvm::append_range(args, outArgs);
    for (int64_t v : {H, W, pads[0], pads[1]})
      args.push_back(constant(v));
    llvm::append_range(args, epiArgs);
    auto call = func::CallOp::create(b, loc, callee, args);
    kiln::copyKernelTag(op, call);
    LLVM_DEBUG(llvm::dbgs() << "runtime depthwise call for " << op->getName() << " at " << loc
                            << (padded ? " (padding read in place)" : "")
                            << (epi.init ? " (start value fused)" : "")
                            << (epi.apply ? " (epilogue fused)" : "") << "\n");
    op->erase();
    finishEpilogue(epi, output);
    eraseFolded(padded);
  }


  /// If `view` is a view of a constant f32 global with a static layout: a
  /// new constant global holding it as panels of `width` along its
  /// dimensions `outerDims` (A's rows, B's columns), each over all of
  /// `innerDims` (k, row-major when several), zero-padded; its
  /// memref.get_global is returned. An empty `outerDims` means size 1.
  Value packConstant(OpBuilder &b, Location loc, Value view, ArrayRef<unsigned> outerDims,
                     ArrayRef<unsigned> innerDims, int64_t width) {
    if (width <= 0)
      return {};
    auto getGlobal = kiln::rootBuffer(view).getDefiningOp<memref::GetGlobalOp>();
    auto type = dyn_cast<MemRefType>(view.getType());
    if (!getGlobal || !type)
      return {};
    auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
        getGlobal, getGlobal.getNameAttr());
    if (!global || !global.getConstant())
      return {};
    auto init = dyn_cast_or_null<ElementsAttr>(global.getInitialValueAttr());
    if (!init || !init.getElementType().isF32())
      return {};
    std::optional<ArrayRef<char>> bytes = kiln::denseBytes(init);
    if (!bytes)
      return {};
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)) ||
        ShapedType::isDynamic(offset) || llvm::any_of(strides, ShapedType::isDynamic))
      return {};
    // Element offsets of every outer and every inner index.
    auto offsets = [&](ArrayRef<unsigned> dims) {
      SmallVector<int64_t> out{0};
      for (unsigned d : dims) {
        SmallVector<int64_t> next;
        for (int64_t o : out)
          for (int64_t i = 0; i < type.getDimSize(d); ++i)
            next.push_back(o + i * strides[d]);
        out = std::move(next);
      }
      return out;
    };
    SmallVector<int64_t> outer = offsets(outerDims), inner = offsets(innerDims);
    int64_t outerSize = outer.size(), innerSize = inner.size();
    int64_t panels = (outerSize + width - 1) / width;
    int64_t total = panels * width * innerSize;
    const float *data = reinterpret_cast<const float *>(bytes->data());
    int64_t count = init.getNumElements();

    ModuleOp module = getGlobal->getParentOfType<ModuleOp>();
    std::string key = (global.getSymName() + "/" + std::to_string(offset)).str();
    for (int64_t s : strides)
      key += "/" + std::to_string(s);
    key += "/" + std::to_string(outerSize) + "x" + std::to_string(innerSize) + "/" +
           std::to_string(width);
    for (unsigned d : outerDims)
      key += "/o" + std::to_string(d);
    for (unsigned d : innerDims)
      key += "/i" + std::to_string(d);
    memref::GlobalOp packed = packedGlobals.lookup(key);
    if (!packed) {
      std::vector<float> out(total, 0.0f);
      for (int64_t o = 0; o < outerSize; ++o)
        for (int64_t k = 0; k < innerSize; ++k) {
          int64_t at = offset + outer[o] + inner[k];
          if (at < 0 || at >= count)
            return {}; // a layout that leaves the buffer: not ours to read
          out[(o / width) * innerSize * width + k * width + o % width] = data[at];
        }
      auto packedType = MemRefType::get({total}, b.getF32Type());
      auto tensorType = RankedTensorType::get({total}, b.getF32Type());
      ArrayRef<char> raw(reinterpret_cast<const char *>(out.data()), out.size() * 4);
      auto attr = DenseResourceElementsAttr::get(
          tensorType, (global.getSymName() + "_panels").str(),
          HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, 64));
      OpBuilder mb(module.getBodyRegion());
      mb.setInsertionPoint(global);
      packed = memref::GlobalOp::create(mb, global.getLoc(),
                                        (global.getSymName() + "_panels").str(),
                                        mb.getStringAttr("private"), packedType, attr,
                                        /*constant=*/true, mb.getI64IntegerAttr(64));
      SymbolTable(module).insert(packed); // unique name
      packedGlobals[key] = packed;
    }
    return memref::GetGlobalOp::create(b, loc, packed.getType(), packed.getSymName());
  }

  /// A GEMM operand that is constant along the batch loop, packed as panels
  /// of `width` along loop `outer` over loop `inner` (packConstant).
  Value packOperand(OpBuilder &b, linalg::LinalgOp op, OpOperand &operand, int64_t batch,
                    int64_t outer, int64_t inner, int64_t width) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (dimensionWalking(map, batch))
      return {};
    std::optional<unsigned> o = dimensionWalking(map, outer), i = dimensionWalking(map, inner);
    // Every dimension of the operand is walked by exactly the outer or the
    // inner loop (a plain 2-D view, transposed or not).
    auto type = cast<MemRefType>(operand.get().getType());
    for (unsigned d = 0; d < type.getRank(); ++d)
      if ((!o || d != *o) && (!i || d != *i) && type.getDimSize(d) != 1)
        return {};
    if (!i || (o && *o == *i) || map.getNumResults() != type.getRank() ||
        !map.getResult(*i).isFunctionOfDim(inner) ||
        (o && !isa<AffineDimExpr>(map.getResult(*o))) || !isa<AffineDimExpr>(map.getResult(*i)))
      return {};
    SmallVector<unsigned> outerDims;
    if (o)
      outerDims.push_back(*o);
    return packConstant(b, op.getLoc(), operand.get(), outerDims, {*i}, width);
  }

  void rewriteConv(linalg::Conv2DNchwFchwOp conv, func::FuncOp callee) {
    OpBuilder b(conv);
    Location loc = conv.getLoc();
    auto constant = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    Value input = conv.getDpsInputs()[0], filter = conv.getDpsInputs()[1];
    Value output = conv.getDpsInits()[0];
    auto inType = cast<MemRefType>(input.getType());
    auto fType = cast<MemRefType>(filter.getType());
    auto outType = cast<MemRefType>(output.getType());
    auto strides = llvm::to_vector(conv.getStrides().getValues<int64_t>());
    auto dilations = llvm::to_vector(conv.getDilations().getValues<int64_t>());
    // A zero-padded copy of the input is read in place: the call gets the
    // unpadded input and the top and left pads.
    int64_t pads[2] = {0, 0};
    std::optional<kiln::PaddedBuffer> padded = zeroPadded(conv);
    if (padded) {
      input = padded->copy.getSource();
      inType = cast<MemRefType>(input.getType());
      pads[0] = padded->low[2];
      pads[1] = padded->low[3];
    }
    SmallVector<Value> sizes;
    for (int64_t v : {inType.getDimSize(0), inType.getDimSize(1), inType.getDimSize(2),
                      inType.getDimSize(3), fType.getDimSize(0), fType.getDimSize(2),
                      fType.getDimSize(3), outType.getDimSize(2), outType.getDimSize(3),
                      strides[0], strides[1], dilations[0], dilations[1], pads[0], pads[1]})
      sizes.push_back(constant(v));
    // Operands by address and the strides of their four dimensions; the
    // filter as panels of F rows over (c, kh, kw) when it is a constant.
    auto addBuffer = [&](Value memref, SmallVectorImpl<Value> &args) {
      llvm::append_range(args, addAddress(b, loc, memref, args).getStrides());
    };
    // The output's start value (a per-filter bias or zeros) and what the
    // next op does to it (a residual, a clamp) go into the call's store.
    ConvEpilogue epi = convEpilogue(conv, input, /*channelDim=*/1);
    Value dest = epi.apply ? epi.apply.getDpsInits()[0] : output;
    SmallVector<Value> outArgs, filterArgs, inArgs, epiArgs;
    addBuffer(dest, outArgs);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(4, b.getContext());
    addEpilogueArgs(b, loc, epi, identity, {0, 1, 2, 3}, epiArgs);
    Value packed = packConstant(b, loc, filter, {0}, {1, 2, 3}, aPanel);
    if (packed) {
      filterArgs.push_back(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, packed));
      for (int i = 0; i < 4; ++i)
        filterArgs.push_back(constant(0));
    } else {
      addBuffer(filter, filterArgs);
    }
    addBuffer(input, inArgs);
    SmallVector<Value> args(sizes);
    llvm::append_range(args, inArgs);
    llvm::append_range(args, filterArgs);
    llvm::append_range(args, outArgs);
    args.push_back(constant(packed ? aPanel : 0));
    llvm::append_range(args, epiArgs);
    auto call = func::CallOp::create(b, loc, callee, args);
    kiln::copyKernelTag(conv, call);
    LLVM_DEBUG(llvm::dbgs() << "runtime convolution call at " << loc
                            << (padded ? " (padding read in place)" : "")
                            << (epi.init ? " (start value fused)" : "")
                            << (epi.apply ? " (epilogue fused)" : "") << "\n");
    conv->erase();
    finishEpilogue(epi, output);
    eraseFolded(padded);
  }

  /// The epilogue's call arguments: the bias address and its stride along
  /// the channel, the residual's address and strides along `order` (the
  /// output's loops, as `outMap` indexes them), the clamp bounds, the
  /// flags.
  void addEpilogueArgs(OpBuilder &b, Location loc, const ConvEpilogue &epi, AffineMap outMap,
                       ArrayRef<int64_t> order, SmallVectorImpl<Value> &args) {
    auto constant = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    if (epi.bias) {
      args.push_back(addAddress(b, loc, epi.bias, args).getStrides()[epi.biasDim]);
    } else {
      args.append({constant(0), constant(0)});
    }
    if (epi.residual)
      addBufferAlong(b, loc, epi.residual, outMap, order, args);
    else
      for (int i = 0; i < 5; ++i)
        args.push_back(constant(0));
    args.push_back(arith::ConstantOp::create(b, loc, b.getF32FloatAttr(epi.lo)));
    args.push_back(arith::ConstantOp::create(b, loc, b.getF32FloatAttr(epi.hi)));
    args.push_back(constant((epi.init ? 0 : KILN_CONV_ACCUMULATE) |
                            (epi.clamp ? KILN_CONV_CLAMP : 0)));
  }

  /// Removes what the call took over: the start value's op, the epilogue
  /// op, and the op's own output buffer once unused.
  void finishEpilogue(const ConvEpilogue &epi, Value output) {
    if (epi.init)
      epi.init->erase();
    if (epi.apply) {
      epi.apply->erase();
      if (auto alloc = output.getDefiningOp<memref::AllocOp>())
        if (alloc->use_empty())
          alloc->erase();
    }
  }

  /// Removes a padded copy that the call reads in place.
  void eraseFolded(std::optional<kiln::PaddedBuffer> &padded) {
    if (!padded)
      return;
    memref::SubViewOp view = padded->interior;
    padded->copy.erase();
    view.erase();
    padded->fill->erase();
    padded->alloc.erase();
  }


  /// When `op` writes all of `out` with values that vary along output
  /// dimension `channelDim` only (linalg.broadcast, or a linalg.generic
  /// that yields its one input, read through a projection): that input
  /// and its dimension along the channels.
  std::optional<std::pair<Value, unsigned>> channelBroadcast(Operation *op, Value out,
                                                             unsigned channelDim) {
    auto outType = cast<MemRefType>(out.getType());
    Value input;
    SmallVector<unsigned> outDimOf; // output dimension of each input dimension
    if (auto bcast = dyn_cast<linalg::BroadcastOp>(op)) {
      if (bcast.getInit() != out)
        return std::nullopt;
      input = bcast.getInput();
      for (unsigned d = 0; d < outType.getRank(); ++d)
        if (!llvm::is_contained(bcast.getDimensions(), (int64_t)d))
          outDimOf.push_back(d);
    } else if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
      if (generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
          generic.getDpsInits()[0] != out || generic.getNumReductionLoops() != 0 ||
          !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0)).isIdentity())
        return std::nullopt;
      Block &body = generic.getRegion().front();
      if (body.getTerminator()->getOperand(0) != body.getArgument(0) ||
          !llvm::hasSingleElement(body))
        return std::nullopt;
      AffineMap map = generic.getMatchingIndexingMap(generic.getDpsInputOperand(0));
      if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
        return std::nullopt;
      input = generic.getDpsInputs()[0];
      for (unsigned i = 0; i < map.getNumResults(); ++i)
        outDimOf.push_back(map.getDimPosition(i));
    } else {
      return std::nullopt;
    }
    auto inType = dyn_cast<MemRefType>(input.getType());
    if (!inType || !inType.getElementType().isF32() || !inType.hasStaticShape() ||
        inType.getRank() != (int64_t)outDimOf.size() ||
        kiln::rootBuffer(input) == kiln::rootBuffer(out))
      return std::nullopt;
    std::optional<unsigned> channel;
    for (auto [i, d] : llvm::enumerate(outDimOf)) {
      if (d == channelDim)
        channel = i;
      else if (outType.getDimSize(d) != 1)
        return std::nullopt;
    }
    if (!channel)
      return std::nullopt;
    return std::make_pair(input, *channel);
  }

  /// What the call can do as it stores the output O of `conv` (reading
  /// `input`): O's start value when the op right before writes all of it
  /// with zeros or a per-filter broadcast and nothing else reads O before
  /// the convolution; and, when the op right after is an elementwise
  /// linalg.generic whose only use of O is as an input and which computes
  /// clamp(O + R) (R, a residual of the same shape, and the clamp
  /// optional; maximumf and minimumf with constants) into a buffer Y, that
  /// op: the call then writes Y directly. Y may be O; R and Y may not share
  /// a buffer, nor Y and the convolution's input.
  ConvEpilogue convEpilogue(linalg::LinalgOp conv, Value input, unsigned channelDim) {
    ConvEpilogue epi;
    Value out = conv.getDpsInits()[0];
    auto outType = cast<MemRefType>(out.getType());
    auto nextEffectful = [](Operation *op) {
      op = op->getNextNode();
      while (op && isMemoryEffectFree(op) && op->getNumRegions() == 0)
        op = op->getNextNode();
      return op;
    };
    // O's users: the start value (the last op before the convolution that
    // uses O, with nothing in between that may write O), the convolution,
    // the epilogue, and nothing else (deallocations come later).
    Operation *before = nullptr;
    for (Operation *op = conv->getPrevNode(); op && !before; op = op->getPrevNode()) {
      if (llvm::is_contained(op->getOperands(), out))
        before = op;
      else if (kiln::mayWrite(op, kiln::rootBuffer(out)))
        return epi;
    }
    Operation *after = nextEffectful(conv);
    // Later users read the final value: only when the epilogue writes it
    // back into O (checked below).
    bool laterUsers = false;
    for (Operation *user : out.getUsers()) {
      if (user == conv || user == before || user == after)
        continue;
      if (!after || user->getBlock() != conv->getBlock() || !after->isBeforeInBlock(user))
        return epi;
      laterUsers = true;
    }
    if (before) {
      if (FloatAttr v = kiln::linalgFillValue(before, out)) {
        if (v.getValue().isPosZero())
          epi.init = before;
      } else if (std::optional<std::pair<Value, unsigned>> bias =
                     channelBroadcast(before, out, channelDim)) {
        epi.init = before;
        epi.bias = bias->first;
        epi.biasDim = bias->second;
      }
    }
    auto generic = dyn_cast_or_null<linalg::GenericOp>(after);
    if (!epi.init || !generic || !generic.hasPureBufferSemantics() ||
        generic.getNumDpsInits() != 1 || generic.getNumDpsInputs() > 2 ||
        generic.getNumReductionLoops() != 0 || generic.hasIndexSemantics())
      return epi;
    for (AffineMap map : generic.getIndexingMapsArray())
      if (!map.isIdentity() || map.getNumDims() != outType.getRank())
        return epi;
    Value y = generic.getDpsInits()[0];
    if (laterUsers && y != out)
      return epi;
    if (cast<MemRefType>(y.getType()).getShape() != outType.getShape() ||
        !cast<MemRefType>(y.getType()).getElementType().isF32())
      return epi;
    Block &body = generic.getRegion().front();
    BlockArgument acc, res;
    Value residual;
    for (OpOperand *operand : generic.getDpsInputOperands()) {
      BlockArgument arg = body.getArgument(operand->getOperandNumber());
      if (operand->get() == out && !acc)
        acc = arg;
      else if (!residual)
        residual = operand->get(), res = arg;
      else
        return epi;
    }
    if (!acc || !body.getArgument(generic.getNumDpsInputs()).use_empty())
      return epi;
    if (residual && (cast<MemRefType>(residual.getType()).getShape() != outType.getShape() ||
                     kiln::rootBuffer(residual) == kiln::rootBuffer(y) ||
                     kiln::rootBuffer(residual) == kiln::rootBuffer(out)))
      return epi;
    if (kiln::rootBuffer(y) == kiln::rootBuffer(input) ||
        (epi.bias && kiln::rootBuffer(y) == kiln::rootBuffer(epi.bias)))
      return epi;
    // The body: a chain from O's value through an optional addf of R, then
    // maximumf / minimumf with constants, to the yield.
    Value chain = acc;
    bool added = false, clamped = false;
    float lo = epi.lo, hi = epi.hi;
    for (Operation &op : body.without_terminator()) {
      if (isa<arith::ConstantOp>(op))
        continue;
      if (op.getNumOperands() != 2 || op.getNumResults() != 1)
        return epi;
      Value a = op.getOperand(0), b2 = op.getOperand(1);
      Value other = a == chain ? b2 : b2 == chain ? a : Value();
      if (!other || (a == chain && b2 == chain))
        return epi;
      if (isa<arith::AddFOp>(op) && res && other == res && !added && !clamped) {
        added = true;
      } else if (FloatAttr c = kiln::constantFloat(other);
                 c && isa<arith::MaximumFOp, arith::MinimumFOp>(op)) {
        float v = c.getValue().convertToFloat();
        if (std::isnan(v))
          return epi;
        clamped = true;
        if (isa<arith::MaximumFOp>(op))
          lo = std::max(lo, v), hi = std::max(hi, v);
        else
          lo = std::min(lo, v), hi = std::min(hi, v);
      } else {
        return epi;
      }
      chain = op.getResult(0);
      if (!chain.hasOneUse())
        return epi;
    }
    if (body.getTerminator()->getOperand(0) != chain || (residual && !added))
      return epi;
    epi.apply = generic;
    epi.residual = residual;
    epi.clamp = clamped;
    epi.lo = lo, epi.hi = hi;
    return epi;
  }

  /// The zero-padded copy `conv` reads as its input, when nothing else
  /// reads it and only its image dimensions are padded.
  std::optional<kiln::PaddedBuffer> zeroPadded(linalg::Conv2DNchwFchwOp conv) {
    return zeroPadded(conv, conv.getDpsInputOperand(0), {2, 3});
  }

  /// The zero-padded copy that `in` of `op` reads, when nothing else reads
  /// it and only its dimensions `imageDims` are padded.
  std::optional<kiln::PaddedBuffer> zeroPadded(linalg::LinalgOp op, OpOperand *in,
                                               ArrayRef<unsigned> imageDims) {
    auto alloc = in->get().getDefiningOp<memref::AllocOp>();
    if (!alloc)
      return std::nullopt;
    Value buffer = alloc.getResult();
    std::optional<kiln::PaddedBuffer> p =
        kiln::matchPadded(alloc, [&](OpOperand &use, Operation *top) {
          if (&use == in)
            return kiln::UseKind::Read;
          if (use.getOwner() == top)
            if (FloatAttr v = kiln::linalgFillValue(top, buffer))
              if (v.getValue().isPosZero())
                return kiln::UseKind::Fill;
          return kiln::UseKind::Other;
        });
    if (!p)
      return std::nullopt;
    for (unsigned d = 0; d < alloc.getType().getRank(); ++d)
      if (!llvm::is_contained(imageDims, d) &&
          (p->low[d] != 0 || p->size[d] != alloc.getType().getDimSize(d)))
        return std::nullopt;
    // Deallocations come later; none may be there already.
    if (!llvm::hasSingleElement(p->interior->getUses()) ||
        llvm::any_of(alloc->getUsers(), [](Operation *u) { return isa<memref::DeallocOp>(u); }))
      return std::nullopt;
    // The op writes none of X.
    if (kiln::rootBuffer(op.getDpsInits()[0]) == kiln::rootBuffer(p->copy.getSource()))
      return std::nullopt;
    return p;
  }

  void rewrite(linalg::LinalgOp op, const kiln::CpuGemmLoops &loops, func::FuncOp callee) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto constant = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    // batch, M, N, K; 1 for a loop the contraction lacks.
    int64_t sizes[4];
    SmallVector<Value> args;
    int64_t order[4] = {loops.batch, loops.m, loops.n, loops.k};
    for (auto [i, loop] : llvm::enumerate(order)) {
      sizes[i] = loop < 0 ? 1 : ranges[loop];
      args.push_back(constant(sizes[i]));
    }
    // A constant operand shared by the batch goes in as panels packed now.
    Value packedA =
        packOperand(b, op, *op.getDpsInputOperand(0), loops.batch, loops.m, loops.k, aPanel);
    Value packedB =
        packOperand(b, op, *op.getDpsInputOperand(1), loops.batch, loops.n, loops.k, bPanel);
    auto addPacked = [&](Value packed) {
      args.push_back(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, packed));
      for (int i = 0; i < 3; ++i)
        args.push_back(constant(0));
    };
    if (packedA)
      addPacked(packedA);
    else
      addOperand(b, loc, op, *op.getDpsInputOperand(0), {loops.batch, loops.m, loops.k}, args);
    if (packedB)
      addPacked(packedB);
    else
      addOperand(b, loc, op, *op.getDpsInputOperand(1), {loops.batch, loops.k, loops.n}, args);
    addOperand(b, loc, op, *op.getDpsInitOperand(0), {loops.batch, loops.m, loops.n}, args);
    args.push_back(constant(packedA ? aPanel : 0));
    args.push_back(constant(packedB ? bPanel : 0));
    auto call = func::CallOp::create(b, loc, callee, args);
    kiln::copyKernelTag(op, call);
    LLVM_DEBUG(llvm::dbgs() << "runtime GEMM call for " << op->getName() << " at " << loc
                            << "\n");
    op->erase();
  }
};

} // namespace
