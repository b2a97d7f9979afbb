//===- Buffers.cpp - buffers of tensors for kernels built before bufferization ===//
#include "kiln/Codegen/Common/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"

using namespace mlir;

Value kiln::readOnlyBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto tt = cast<RankedTensorType>(tensor.getType());
  SmallVector<int64_t> strides(tt.getRank(), ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides);
  auto type = MemRefType::get(tt.getShape(), tt.getElementType(), layout);
  return bufferization::ToBufferOp::create(b, loc, type, tensor, /*read_only=*/true);
}
