//===- GpuContractionMapping.cpp - phase form to gpu.launch --------------===//
//
// The contraction kernels' form is fixed (one block loop, thread loops of
// one dimension that are phases separated by barriers, workgroup buffers
// and one per-thread accumulator array), so the mapping is a direct
// rewrite rather than upstream's general forall mapping: it also has to
// shrink the accumulator array to one thread's share, which upstream's
// mapping does not know about.
//
//===----------------------------------------------------------------------===//
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Dialect/KilnGPU/KilnGPU.h"

namespace kiln {
#define GEN_PASS_DEF_GPUCONTRACTIONMAPPING
#include "kiln/Codegen/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

static bool hasMapping(scf::ForallOp loop, bool blocks) {
  std::optional<ArrayAttr> mapping = loop.getMapping();
  if (!mapping || mapping->empty())
    return false;
  return llvm::all_of(*mapping, [&](Attribute a) {
    return blocks ? isa<gpu::GPUBlockMappingAttr>(a) : isa<gpu::GPUThreadMappingAttr>(a);
  });
}

static bool inSpace(Type type, gpu::AddressSpace space) {
  auto memSpace = dyn_cast_or_null<gpu::AddressSpaceAttr>(
      cast<MemRefType>(type).getMemorySpace());
  return memSpace && memSpace.getValue() == space;
}

static std::optional<int64_t> staticTrips(scf::ForallOp loop, unsigned d) {
  auto lb = getConstantIntValue(loop.getMixedLowerBound()[d]);
  auto ub = getConstantIntValue(loop.getMixedUpperBound()[d]);
  auto step = getConstantIntValue(loop.getMixedStep()[d]);
  if (!lb || !ub || !step || *lb != 0 || *step != 1)
    return std::nullopt;
  return *ub;
}

struct GpuContractionMappingPass
    : kiln::impl::GpuContractionMappingBase<GpuContractionMappingPass> {
  void runOnOperation() override {
    SmallVector<scf::ForallOp> blockLoops;
    getOperation().walk([&](scf::ForallOp loop) {
      if (hasMapping(loop, /*blocks=*/true))
        blockLoops.push_back(loop);
    });
    for (scf::ForallOp loop : blockLoops)
      if (failed(map(loop)))
        return signalPassFailure();
  }

  LogicalResult map(scf::ForallOp blocks) {
    Location loc = blocks.getLoc();
    int64_t grid[3] = {1, 1, 1};
    SmallVector<gpu::MappingId> ids;
    for (unsigned d = 0; d < blocks.getRank(); ++d) {
      auto id = cast<gpu::GPUBlockMappingAttr>((*blocks.getMapping())[d]).getBlock();
      std::optional<int64_t> trips = staticTrips(blocks, d);
      unsigned dim = static_cast<unsigned>(id);
      if (!trips || dim > 2)
        return blocks.emitOpError("block loop needs static bounds from 0 and x/y/z mappings");
      grid[dim] = *trips;
      ids.push_back(id);
    }
    SmallVector<scf::ForallOp> phases;
    int64_t threads = 1;
    WalkResult walk = blocks.getBody()->walk([&](scf::ForallOp loop) {
      if (!hasMapping(loop, /*blocks=*/false) || loop.getRank() != 1 ||
          !staticTrips(loop, 0))
        return WalkResult::interrupt();
      threads = std::max(threads, *staticTrips(loop, 0));
      phases.push_back(loop);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return blocks.emitOpError("expects one-dimensional thread loops with static bounds");

    SmallVector<memref::AllocaOp> shared, priv;
    for (Operation &op : *blocks.getBody())
      if (auto alloca = dyn_cast<memref::AllocaOp>(op)) {
        if (inSpace(alloca.getType(), gpu::AddressSpace::Workgroup))
          shared.push_back(alloca);
        else if (inSpace(alloca.getType(), gpu::AddressSpace::Private))
          priv.push_back(alloca);
      }

    OpBuilder b(blocks);
    auto idx = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
    // Up to 48 KiB the buffers are static shared memory (workgroup
    // attributions); above, where static shared memory ends, they are
    // views at 16-byte aligned offsets of the launch's dynamic shared
    // memory, which the runtime opts the kernel in to.
    SmallVector<Type> sharedTypes;
    SmallVector<int64_t> offsets;
    int64_t sharedBytes = 0;
    for (memref::AllocaOp a : shared) {
      sharedTypes.push_back(a.getType());
      sharedBytes = (sharedBytes + 15) / 16 * 16;
      offsets.push_back(sharedBytes);
      sharedBytes += a.getType().getNumElements() *
                     ((a.getType().getElementTypeBitWidth() + 7) / 8);
    }
    bool dynamicShared = sharedBytes > 48 * 1024;
    Value dynamicBytes;
    if (dynamicShared) {
      dynamicBytes = arith::ConstantIntOp::create(b, loc, b.getI32Type(), sharedBytes);
      sharedTypes.clear();
    }
    auto launch = gpu::LaunchOp::create(b, loc, idx(grid[0]), idx(grid[1]), idx(grid[2]),
                                        idx(threads), idx(1), idx(1), dynamicBytes, nullptr,
                                        ValueRange{}, sharedTypes);
    if (auto attr = blocks->getAttr(kiln::kStrategyAttr))
      launch->setAttr(kiln::kStrategyAttr, attr);
    Block &body = launch.getBody().front();
    b.setInsertionPointToEnd(&body);
    auto term = gpu::TerminatorOp::create(b, loc);
    Block *old = blocks.getBody();
    body.getOperations().splice(term->getIterator(), old->getOperations(), old->begin(),
                                std::prev(old->end()));
    gpu::KernelDim3 bid = launch.getBlockIds();
    for (auto [d, id] : llvm::enumerate(ids)) {
      Value v = id == gpu::MappingId::DimX ? bid.x : id == gpu::MappingId::DimY ? bid.y : bid.z;
      blocks.getInductionVar(d).replaceAllUsesWith(v);
    }
    if (dynamicShared) {
      OpBuilder vb(&body, body.begin());
      auto wg = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
      Value raw = gpu::DynamicSharedMemoryOp::create(
          vb, loc, MemRefType::get({ShapedType::kDynamic}, vb.getI8Type(), AffineMap(), wg));
      for (auto [a, offset] : llvm::zip(shared, offsets)) {
        Value off = arith::ConstantIndexOp::create(vb, loc, offset);
        Value view = memref::ViewOp::create(vb, loc, a.getType(), raw, off, ValueRange{});
        a.getResult().replaceAllUsesWith(view);
        a->erase();
      }
    } else {
      for (auto [a, arg] : llvm::zip(shared, launch.getWorkgroupAttributions())) {
        a.getResult().replaceAllUsesWith(arg);
        a->erase();
      }
    }

    b.setInsertionPointToStart(&body);
    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    // One thread's row of the accumulator array: the thread index drops out.
    for (memref::AllocaOp a : priv) {
      auto type = a.getType();
      auto mine = memref::AllocaOp::create(
          b, loc, MemRefType::get(type.getShape().drop_front(), type.getElementType()));
      for (Operation *user : llvm::make_early_inc_range(a->getUsers())) {
        OpBuilder ub(user);
        if (auto load = dyn_cast<memref::LoadOp>(user)) {
          auto repl = memref::LoadOp::create(ub, load.getLoc(), mine,
                                             load.getIndices().drop_front());
          load.getResult().replaceAllUsesWith(repl.getResult());
          load->erase();
        } else if (auto store = dyn_cast<memref::StoreOp>(user)) {
          memref::StoreOp::create(ub, store.getLoc(), store.getValueToStore(), mine,
                                  store.getIndices().drop_front());
          store->erase();
        } else {
          return user->emitOpError("unexpected use of a per-thread array");
        }
      }
      a->erase();
    }

    for (scf::ForallOp phase : phases) {
      OpBuilder pb(phase);
      Block *inner = phase.getBody();
      Operation *anchor = phase;
      if (*staticTrips(phase, 0) < threads) {
        Value active = arith::CmpIOp::create(pb, loc, arith::CmpIPredicate::ult, tid,
                                             idx(*staticTrips(phase, 0)));
        auto guard = scf::IfOp::create(pb, loc, TypeRange{}, active, false);
        anchor = guard.thenBlock()->getTerminator();
      }
      phase.getInductionVar(0).replaceAllUsesWith(tid);
      anchor->getBlock()->getOperations().splice(anchor->getIterator(), inner->getOperations(),
                                                 inner->begin(), std::prev(inner->end()));
      pb.setInsertionPointAfter(phase);
      // The last phase writes only global memory: no barrier after it.
      if (phase->getNextNode() != term.getOperation())
        gpu::BarrierOp::create(pb, loc);
      phase->erase();
    }
    blocks->erase();
    return success();
  }
};

} // namespace
