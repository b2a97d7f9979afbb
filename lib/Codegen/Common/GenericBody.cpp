//===- GenericBody.cpp - a linalg body computed at given loop values -----===//
#include "kiln/Codegen/Common/GenericBody.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;

Value kiln::cloneBodyAt(OpBuilder &b, Block *body, IRMapping &map, ValueRange loops) {
  for (Operation &op : body->without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      map.map(index.getResult(), loops[index.getDim()]);
      continue;
    }
    b.clone(op, map);
  }
  return map.lookupOrDefault(body->getTerminator()->getOperand(0));
}
