//===- MemoryPlan.cpp - one arena for a function's intermediates ---------===//
#include "kiln/Codegen/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/Transforms/BufferViewFlowAnalysis.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_MEMORYPLAN
#include "kiln/Codegen/Common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

std::optional<int64_t> kiln::denseBufferBytes(MemRefType type) {
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() || type.getMemorySpace())
    return std::nullopt;
  Type et = type.getElementType();
  if (!et.isIntOrFloat())
    return std::nullopt;
  // i1 takes a byte, like the runtime stores bools.
  int64_t width = et.isInteger(1) ? 1 : (et.getIntOrFloatBitWidth() + 7) / 8;
  return type.getNumElements() * width;
}

namespace {

constexpr int64_t kAlignment = 64;

struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes = 0;
  int64_t first = 0, last = 0; // live range, in top-level op positions
  int64_t offset = -1;
};

int64_t alignUp(int64_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }

/// Bytes of a static, identity-layout memref in the default memory space;
/// nullopt for anything the arena cannot hold.
std::optional<int64_t> plannableBytes(memref::AllocOp alloc) {
  if (!alloc.getDynamicSizes().empty() || !alloc.getSymbolOperands().empty())
    return std::nullopt;
  return kiln::denseBufferBytes(alloc.getType());
}

struct MemoryPlanPass : public kiln::impl::MemoryPlanBase<MemoryPlanPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block &body = func.getBody().front();
    DenseMap<Operation *, int64_t> position;
    int64_t pos = 0;
    for (Operation &op : body)
      position[&op] = pos++;

    BufferViewFlowAnalysis aliases(func);
    SmallVector<Buffer> buffers;
    for (Operation &op : body) {
      auto alloc = dyn_cast<memref::AllocOp>(&op);
      if (!alloc)
        continue;
      auto bytes = plannableBytes(alloc);
      if (!bytes)
        continue;
      Buffer b;
      b.alloc = alloc;
      b.bytes = alignUp(std::max<int64_t>(*bytes, 1));
      b.first = b.last = position[&op];
      bool escapes = false;
      for (Value alias : aliases.resolve(alloc.getResult())) {
        for (Operation *user : alias.getUsers()) {
          // A buffer that leaves the function cannot live in the arena.
          if (isa<func::ReturnOp>(user) || isa<memref::DeallocOp>(user))
            escapes |= isa<func::ReturnOp>(user);
          Operation *top = body.findAncestorOpInBlock(*user);
          if (!top) {
            escapes = true;
            continue;
          }
          b.last = std::max(b.last, position[top]);
        }
      }
      if (!escapes)
        buffers.push_back(b);
    }
    if (buffers.empty())
      return;

    // Largest first, each at the lowest aligned offset that does not
    // overlap a placed buffer whose live range overlaps its own.
    SmallVector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    llvm::stable_sort(order, [](Buffer *a, Buffer *b) { return a->bytes > b->bytes; });
    SmallVector<Buffer *> placed;
    int64_t total = 0;
    for (Buffer *b : order) {
      SmallVector<std::pair<int64_t, int64_t>> busy;
      for (Buffer *p : placed)
        if (p->first <= b->last && b->first <= p->last)
          busy.push_back({p->offset, p->offset + p->bytes});
      llvm::sort(busy);
      int64_t offset = 0;
      for (auto [lo, hi] : busy) {
        if (offset + b->bytes <= lo)
          break;
        offset = std::max(offset, alignUp(hi));
      }
      b->offset = offset;
      total = std::max(total, offset + b->bytes);
      placed.push_back(b);
    }

    OpBuilder builder(&body, body.begin());
    Location loc = func.getLoc();
    auto arenaType = MemRefType::get({total}, builder.getI8Type());
    Value arena = memref::AllocOp::create(builder, loc, arenaType,
                                          builder.getI64IntegerAttr(kAlignment));
    for (Buffer &b : buffers) {
      builder.setInsertionPoint(b.alloc);
      Value offset = arith::ConstantIndexOp::create(builder, b.alloc.getLoc(), b.offset);
      Value view = memref::ViewOp::create(builder, b.alloc.getLoc(), b.alloc.getType(),
                                          arena, offset, ValueRange{});
      b.alloc.replaceAllUsesWith(view);
      b.alloc.erase();
    }
    func->setAttr("kiln.arena_bytes", builder.getI64IntegerAttr(total));
  }
};

} // namespace
