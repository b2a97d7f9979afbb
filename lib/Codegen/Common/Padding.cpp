//===- Padding.cpp - padded copies of window inputs, after bufferization --===//
#include "kiln/Codegen/Common/Padding.h"
#include "kiln/Codegen/Common/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using kiln::PaddedBuffer;
using kiln::UseKind;

bool kiln::mayWrite(Operation *op, Value root, function_ref<bool(Operation *)> orderingOnly) {
  WalkResult r = op->walk([&](Operation *inner) {
    if ((orderingOnly && orderingOnly(inner)) || isMemoryEffectFree(inner))
      return WalkResult::advance();
    auto iface = dyn_cast<MemoryEffectOpInterface>(inner);
    if (!iface)
      return inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>()
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> effects;
    iface.getEffects(effects);
    for (MemoryEffects::EffectInstance &e : effects) {
      if (!isa<MemoryEffects::Write, MemoryEffects::Free>(e.getEffect()))
        continue;
      Value v = e.getValue();
      if (!v || kiln::rootBuffer(v) == root)
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return r.wasInterrupted();
}

std::optional<kiln::PaddedBuffer>
kiln::matchPadded(memref::AllocOp alloc,
                  function_ref<UseKind(OpOperand &, Operation *top)> classify,
                  function_ref<bool(Operation *)> orderingOnly) {
  MemRefType type = alloc.getType();
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() || type.getRank() == 0)
    return std::nullopt;
  Block *block = alloc->getBlock();
  PaddedBuffer p;
  p.alloc = alloc;
  SmallVector<Operation *> readTops;
  for (OpOperand &use : alloc->getUses()) {
    Operation *user = use.getOwner();
    Operation *top = block->findAncestorOpInBlock(*user);
    if (!top)
      return std::nullopt;
    if (isa<memref::DeallocOp>(user))
      continue;
    if (auto view = dyn_cast<memref::SubViewOp>(user)) {
      if (p.interior || view != top)
        return std::nullopt;
      p.interior = view;
      continue;
    }
    switch (classify(use, top)) {
    case UseKind::Fill:
      if (p.fill && p.fill != top)
        return std::nullopt;
      p.fill = top;
      continue;
    case UseKind::Read:
      p.reads.push_back(&use);
      readTops.push_back(top);
      continue;
    case UseKind::Other:
      return std::nullopt;
    }
  }
  if (!p.fill || !p.interior || p.reads.empty())
    return std::nullopt;

  // The interior: a static box of P with unit strides, of P's rank.
  memref::SubViewOp view = p.interior;
  ArrayRef<int64_t> offsets = view.getStaticOffsets(), sizes = view.getStaticSizes(),
                    strides = view.getStaticStrides();
  if (view.getType().getRank() != type.getRank())
    return std::nullopt;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (ShapedType::isDynamic(offsets[d]) || ShapedType::isDynamic(sizes[d]) ||
        strides[d] != 1 || offsets[d] < 0 || sizes[d] <= 0 ||
        offsets[d] + sizes[d] > type.getDimSize(d))
      return std::nullopt;
  }
  p.low.assign(offsets.begin(), offsets.end());
  p.size.assign(sizes.begin(), sizes.end());

  // Its only user: one copy of X into it, in P's block.
  if (!view->hasOneUse())
    return std::nullopt;
  p.copy = dyn_cast<memref::CopyOp>(*view->user_begin());
  if (!p.copy || p.copy.getTarget() != view.getResult() || p.copy->getBlock() != block)
    return std::nullopt;
  auto xType = dyn_cast<MemRefType>(p.copy.getSource().getType());
  if (!xType || xType.getShape() != view.getType().getShape() ||
      xType.getElementType() != type.getElementType())
    return std::nullopt;

  // Order: fill, copy, reads; X unchanged from the copy to the last read.
  if (!p.fill->isBeforeInBlock(p.copy))
    return std::nullopt;
  Operation *last = p.copy;
  for (Operation *top : readTops) {
    if (!p.copy->isBeforeInBlock(top))
      return std::nullopt;
    if (last->isBeforeInBlock(top))
      last = top;
  }
  Value x = kiln::rootBuffer(p.copy.getSource());
  if (x == alloc.getResult())
    return std::nullopt;
  for (Operation *op = p.copy->getNextNode(); op; op = op->getNextNode()) {
    if (mayWrite(op, x, orderingOnly))
      return std::nullopt;
    if (op == last)
      break;
  }
  return p;
}

FloatAttr kiln::constantFloat(Value v) {
  FloatAttr attr;
  if (v && matchPattern(v, m_Constant(&attr)))
    return attr;
  return {};
}

FloatAttr kiln::linalgFillValue(Operation *op, Value buffer) {
  if (auto fill = dyn_cast<linalg::FillOp>(op)) {
    if (fill.getDpsInitOperand(0)->get() != buffer)
      return {};
    return constantFloat(fill.value());
  }
  if (auto map = dyn_cast<linalg::MapOp>(op)) {
    if (!map.getInputs().empty() || map.getInit() != buffer)
      return {};
    Operation *yield = map.getMapper().front().getTerminator();
    if (yield->getNumOperands() != 1)
      return {};
    return constantFloat(yield->getOperand(0));
  }
  return {};
}

