//===- KilnGPU.cpp - GPU code generation decisions -----------------------===//
#include "kiln/Dialect/KilnGPU/KilnGPU.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln;

#include "kiln/Dialect/KilnGPU/KilnGPUDialect.cpp.inc"
#include "kiln/Dialect/KilnGPU/KilnGPUEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/KilnGPU/KilnGPUAttrs.cpp.inc"

void KilnGPUDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kiln/Dialect/KilnGPU/KilnGPUAttrs.cpp.inc"
      >();
}

StrategyAttr kiln::getStrategy(Operation *op) {
  return op->getAttrOfType<StrategyAttr>(kStrategyAttr);
}

bool kiln::hasStrategy(Operation *op, StrategyKind kind) {
  StrategyAttr s = getStrategy(op);
  return s && s.getKind() == kind;
}

void kiln::setStrategy(Operation *op, StrategyAttr strategy) {
  op->setAttr(kStrategyAttr, strategy);
}
