//===- RawWeights.cpp - weights as raw bytes beside the code -------------===//
#include "RawWeights.h"
#include "kiln/Transforms/WeightData.h"
#include "kiln_runtime.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <random>

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

/// The file: KILN_WEIGHTS_MAGIC, the tag, then the weights, each at an
/// offset that is a multiple of its alignment (the file is mapped at a
/// page boundary).
static constexpr uint64_t kWeightsHeaderBytes = 16;

LogicalResult RawWeights::moveToFile(ModuleOp module, StringRef fileName) {
  MLIRContext *ctx = module.getContext();
  Location loc = module.getLoc();
  // Weights the code no longer addresses are left out.
  llvm::StringSet<> addressed;
  module.walk([&](LLVM::AddressOfOp op) { addressed.insert(op.getGlobalName()); });
  std::vector<Entry> kept;
  for (Entry &entry : list) {
    if (addressed.contains(entry.name))
      kept.push_back(std::move(entry));
    else if (auto global = module.lookupSymbol<LLVM::GlobalOp>(entry.name))
      global.erase();
  }
  list = std::move(kept);
  llvm::StringMap<int32_t> slotOf;
  offsets.clear();
  uint64_t end = kWeightsHeaderBytes;
  for (auto [i, entry] : llvm::enumerate(list)) {
    slotOf[entry.name] = (int32_t)i;
    end = llvm::alignTo(end, std::max<uint64_t>(entry.alignment, 64));
    offsets.push_back(end);
    end += entry.bytes.size();
  }
  fileBytes = end;
  // A random tag ties the library to the file written with it: a file
  // left over from another compilation of the model is refused.
  std::random_device device;
  tag = (uint64_t(device()) << 32) ^ device() ^ (uint64_t)llvm::sys::Process::getProcessId();

  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto i8 = IntegerType::get(ctx, 8);
  auto i64 = IntegerType::get(ctx, 64);
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  auto slotsType = LLVM::LLVMArrayType::get(ptrType, std::max<size_t>(list.size(), 1));
  auto slots = LLVM::GlobalOp::create(b, loc, slotsType, /*isConstant=*/false,
                                      LLVM::Linkage::External, KILN_MODEL_WEIGHT_SLOTS_SYMBOL,
                                      Attribute());
  {
    OpBuilder::InsertionGuard guard(b);
    b.createBlock(&slots.getInitializerRegion());
    LLVM::ReturnOp::create(b, loc, LLVM::ZeroOp::create(b, loc, slotsType).getResult());
  }
  std::string name = fileName.str();
  name.push_back('\0');
  LLVM::GlobalOp::create(b, loc, LLVM::LLVMArrayType::get(i8, name.size()), /*isConstant=*/true,
                         LLVM::Linkage::External, KILN_MODEL_WEIGHTS_FILE_SYMBOL,
                         b.getStringAttr(name));
  SmallVector<int64_t> layout{(int64_t)list.size(), (int64_t)fileBytes, (int64_t)tag};
  for (auto [i, entry] : llvm::enumerate(list)) {
    layout.push_back((int64_t)offsets[i]);
    layout.push_back((int64_t)entry.bytes.size());
  }
  LLVM::GlobalOp::create(
      b, loc, LLVM::LLVMArrayType::get(i64, layout.size()), /*isConstant=*/true,
      LLVM::Linkage::External, KILN_MODEL_WEIGHTS_LAYOUT_SYMBOL,
      DenseElementsAttr::get(RankedTensorType::get({(int64_t)layout.size()}, i64),
                             ArrayRef<int64_t>(layout)));

  // Every address of a weight becomes a load of its slot, which never
  // changes while the code runs (invariant: LLVM may hoist it).
  SmallVector<LLVM::AddressOfOp> uses;
  module.walk([&](LLVM::AddressOfOp op) {
    if (slotOf.count(op.getGlobalName()))
      uses.push_back(op);
  });
  for (LLVM::AddressOfOp op : uses) {
    if (op->getParentOfType<LLVM::GlobalOp>())
      return op.emitError() << "weight '" << op.getGlobalName()
                            << "' is addressed from a constant table, so it cannot move to a "
                               "weights file (compile with --weights=embed)";
    b.setInsertionPoint(op);
    Value table = LLVM::AddressOfOp::create(b, op.getLoc(), slots);
    Value slot = LLVM::GEPOp::create(b, op.getLoc(), ptrType, slotsType, table,
                                     ArrayRef<LLVM::GEPArg>{0, slotOf[op.getGlobalName()]});
    Value address = LLVM::LoadOp::create(b, op.getLoc(), ptrType, slot, /*alignment=*/8,
                                         /*isVolatile=*/false, /*isNonTemporal=*/false,
                                         /*isInvariant=*/true);
    op.replaceAllUsesWith(address);
    op.erase();
  }
  for (const Entry &entry : list)
    if (auto global = module.lookupSymbol<LLVM::GlobalOp>(entry.name))
      global.erase();
  moved = true;
  return success();
}

LogicalResult RawWeights::writeFile(StringRef path, Location loc) const {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return emitError(loc) << "cannot write the weights file '" << path << "': " << ec.message();
  out.write(KILN_WEIGHTS_MAGIC, 8);
  char tagBytes[8];
  std::memcpy(tagBytes, &tag, 8);
  out.write(tagBytes, 8);
  uint64_t at = kWeightsHeaderBytes;
  for (auto [i, entry] : llvm::enumerate(list)) {
    out.write_zeros(offsets[i] - at);
    out.write(entry.bytes.data(), entry.bytes.size());
    at = offsets[i] + entry.bytes.size();
  }
  out.close();
  if (out.has_error()) {
    std::string why = out.error().message();
    out.clear_error();
    llvm::sys::fs::remove(path);
    return emitError(loc) << "cannot write the weights file '" << path << "': " << why;
  }
  return success();
}

void RawWeights::fillSlots(const void **slots) const {
  for (auto [i, entry] : llvm::enumerate(list))
    slots[i] = entry.bytes.data();
}

std::string kiln::weightsFilePath(StringRef libraryPath) {
  return (libraryPath + ".weights").str();
}

LogicalResult kiln::placeWeights(ModuleOp module, RawWeights &weights,
                                 WeightsPlacement placement, StringRef libraryPath) {
  bool toFile = placement == WeightsPlacement::File ||
                (placement == WeightsPlacement::Auto &&
                 weights.totalBytes() >= kWeightsFileThreshold);
  // The library's code addresses its data PC-relative, within 2 GiB.
  constexpr int64_t kMaxEmbeddedBytes = (int64_t(1) << 31) - (int64_t(64) << 20);
  if (!toFile && weights.totalBytes() > kMaxEmbeddedBytes)
    return module.emitError() << "the model's " << weights.totalBytes()
                              << " bytes of weights cannot be embedded in one library (its "
                                 "code addresses 2 GiB); keep them in a file beside it "
                                 "(--weights=auto or --weights=file)";
  if (!toFile)
    return success();
  return weights.moveToFile(module, llvm::sys::path::filename(weightsFilePath(libraryPath)));
}
