//===- RawWeights.cpp - weights as raw bytes beside the code -------------===//
#include "RawWeights.h"
#include "kiln/Transforms/WeightData.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"

using namespace mlir;
using namespace kiln;

/// The dense row-major bytes of `value` (kiln::denseBytes, or a splat
/// expanded into `entry.owned`), or nothing for a layout that is not plain
/// bytes (bit-packed booleans, sub-byte or opaque elements).
static bool rawBytes(ElementsAttr value, RawWeights::Entry &entry) {
  if (std::optional<ArrayRef<char>> bytes = kiln::denseBytes(value)) {
    entry.bytes = *bytes;
    entry.value = value;
    return true;
  }
  auto dense = dyn_cast<DenseIntOrFPElementsAttr>(value);
  if (!dense || !dense.isSplat() || !dense.getType().hasStaticShape())
    return false;
  Type element = dense.getType().getElementType();
  if (!element.isIntOrFloat() || element.isInteger(1) ||
      element.getIntOrFloatBitWidth() % 8 != 0)
    return false;
  int64_t elementBytes = element.getIntOrFloatBitWidth() / 8;
  int64_t total = dense.getNumElements() * elementBytes;
  ArrayRef<char> raw = dense.getRawData();
  if ((int64_t)raw.size() != elementBytes)
    return false;
  entry.owned = std::make_shared<std::vector<char>>(total);
  char *out = entry.owned->data();
  for (int64_t i = 0; i < total; i += elementBytes)
    std::memcpy(out + i, raw.data(), elementBytes);
  entry.bytes = *entry.owned;
  return true;
}

RawWeights RawWeights::detach(ModuleOp module, int64_t minBytes) {
  RawWeights weights;
  MLIRContext *ctx = module.getContext();
  auto i8 = IntegerType::get(ctx, 8);
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    auto value = dyn_cast_or_null<ElementsAttr>(global.getValueOrNull());
    if (!global.getConstant() || !value || global.getAddrSpace() != 0 ||
        global.getThreadLocal_() || !global.getInitializerRegion().empty())
      continue;
    Entry entry;
    if (!rawBytes(value, entry) || (int64_t)entry.bytes.size() < minBytes)
      continue;
    entry.name = global.getSymName().str();
    entry.alignment = std::max<uint64_t>(global.getAlignment().value_or(1), 64);
    // The code keeps addressing the symbol; only its bytes move.
    global.removeValueAttr();
    global.setGlobalType(LLVM::LLVMArrayType::get(i8, entry.bytes.size()));
    global.setLinkage(LLVM::Linkage::External);
    global.setVisibility_(LLVM::Visibility::Hidden);
    global.setDsoLocal(true);
    global.setAlignment(entry.alignment);
    weights.list.push_back(std::move(entry));
  }
  return weights;
}

void RawWeights::attach(llvm::Module &module) const {
  llvm::Type *i8 = llvm::Type::getInt8Ty(module.getContext());
  for (const Entry &entry : list) {
    llvm::GlobalVariable *gv = module.getGlobalVariable(entry.name, /*AllowInternal=*/true);
    if (!gv || gv->hasInitializer())
      continue; // unused, and dropped by the optimizer
    llvm::StringRef bytes(entry.bytes.data(), entry.bytes.size());
    gv->setInitializer(llvm::ConstantDataArray::getRaw(bytes, bytes.size(), i8));
    gv->setLinkage(llvm::GlobalValue::PrivateLinkage);
    gv->setVisibility(llvm::GlobalValue::DefaultVisibility);
    gv->setAlignment(llvm::Align(entry.alignment));
  }
}

int64_t RawWeights::totalBytes() const {
  int64_t total = 0;
  for (const Entry &entry : list)
    total += entry.bytes.size();
  return total;
}
