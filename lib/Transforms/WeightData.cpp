//===- WeightData.cpp - read and write constant weights ------------------===//
#include "kiln/Transforms/WeightData.h"
#include "kiln/Dialect/Kiln/KilnOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

std::optional<std::vector<float>> kiln::readFloatConstant(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  ElementsAttr attr = constant.getValue();
  auto type = cast<ShapedType>(attr.getType());
  if (!type.getElementType().isF32() || !type.hasStaticShape())
    return std::nullopt;
  int64_t n = type.getNumElements();
  std::vector<float> out;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    out.reserve(n);
    for (float f : dense.getValues<float>())
      out.push_back(f);
    return out;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> bytes = blob->getData();
    if ((int64_t)bytes.size() != n * (int64_t)sizeof(float))
      return std::nullopt;
    out.resize(n);
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  return std::nullopt;
}

Value kiln::makeFloatConstant(OpBuilder &builder, Location loc,
                              RankedTensorType type, ArrayRef<float> data,
                              StringRef blobName) {
  ElementsAttr attr;
  if (data.size() <= 16) {
    attr = DenseElementsAttr::get(type, data);
  } else {
    ArrayRef<char> bytes(reinterpret_cast<const char *>(data.data()),
                         data.size() * sizeof(float));
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        bytes, alignof(std::max_align_t));
    attr = DenseResourceElementsAttr::get(type, blobName, std::move(blob));
  }
  return ConstantOp::create(builder, loc, type, attr).getResult();
}

std::optional<ArrayRef<char>> kiln::denseBytes(ElementsAttr attr) {
  auto type = dyn_cast<ShapedType>(attr.getType());
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  Type element = type.getElementType();
  if (!element.isIntOrFloat() || element.isInteger(1) ||
      element.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  int64_t size = type.getNumElements() * (element.getIntOrFloatBitWidth() / 8);
  ArrayRef<char> raw;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (dense.isSplat())
      return std::nullopt;
    raw = dense.getRawData();
  } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    raw = blob->getData();
  } else {
    return std::nullopt;
  }
  if ((int64_t)raw.size() != size)
    return std::nullopt;
  return raw;
}

std::optional<std::vector<char>> kiln::readConstantBytes(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  std::optional<ArrayRef<char>> raw = denseBytes(constant.getValue());
  if (!raw)
    return std::nullopt;
  return std::vector<char>(raw->begin(), raw->end());
}

Value kiln::makeConstantFromBytes(OpBuilder &builder, Location loc,
                                  RankedTensorType type, ArrayRef<char> bytes,
                                  StringRef blobName) {
  ElementsAttr attr;
  if (type.getNumElements() <= 16) {
    attr = DenseElementsAttr::getFromRawBuffer(type, bytes);
  } else {
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        bytes, alignof(std::max_align_t));
    attr = DenseResourceElementsAttr::get(type, blobName, std::move(blob));
  }
  return ConstantOp::create(builder, loc, type, attr).getResult();
}

std::string kiln::weightBlobName(Value value, StringRef suffix) {
  std::string base = "w";
  if (auto constant = value.getDefiningOp<ConstantOp>())
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
      base = resource.getRawHandle().getKey().str();
  return base + suffix.str();
}
