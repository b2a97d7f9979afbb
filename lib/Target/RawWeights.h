//===- RawWeights.h - weights as raw bytes beside the code ------*- C++ -*-===//
//
// A model's weights reach LLVM as memref.global constants turned into
// llvm.mlir.global initializers. Translated as they are, every weight
// becomes a tree of nested LLVM array constants (one uniqued constant per
// innermost row): millions of objects that the optimizer walks and the
// object writer re-flattens. Instead, the large constant globals are
// detached before translation (left as hidden, external [N x i8]
// declarations that the code addresses as before), the code alone is
// optimized, and the bytes are attached afterwards as one flat array per
// weight, which object emission copies out unchanged.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_TARGET_RAWWEIGHTS_H
#define KILN_LIB_TARGET_RAWWEIGHTS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "kiln/Pipelines/Pipelines.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class Module;
}

namespace kiln {

/// The bytes of the detached weights, by global symbol name.
class RawWeights {
public:
  struct Entry {
    std::string name;
    llvm::ArrayRef<char> bytes; // in `value` or `owned`
    uint64_t alignment;
    mlir::ElementsAttr value;   // keeps the context's storage referenced
    std::shared_ptr<std::vector<char>> owned; // expanded splats
  };

  /// Detaches every constant llvm.mlir.global of `module` (LLVM dialect)
  /// whose dense initializer is at least `minBytes` long.
  static RawWeights detach(mlir::ModuleOp module, int64_t minBytes = 64);

  /// Gives each detached global that is still in `module` (the translated,
  /// optimized code) its bytes, as private data.
  void attach(llvm::Module &module) const;

  const std::vector<Entry> &entries() const { return list; }
  int64_t totalBytes() const;

  /// Takes the detached weights out of the code for good: every address
  /// of one becomes a load of its slot in KILN_MODEL_WEIGHT_SLOTS_SYMBOL,
  /// and the library records the file that holds them (`fileName`, in the
  /// library's folder), its size, a tag naming this compilation and each
  /// weight's place in it (kiln_runtime.h). kiln_model_load maps the file
  /// and fills the slots; a JIT fills them with the bytes in memory
  /// (fillSlots). A library over 2 GiB cannot address its own data, and
  /// its bytes would pass through the object writer's memory again.
  mlir::LogicalResult moveToFile(mlir::ModuleOp module, llvm::StringRef fileName);
  /// Whether moveToFile took the weights out.
  bool inFile() const { return moved; }
  /// Writes the file moveToFile described.
  mlir::LogicalResult writeFile(llvm::StringRef path, mlir::Location loc) const;
  /// Points each slot (an array of `entries().size()` pointers) at its
  /// weight's bytes in memory.
  void fillSlots(const void **slots) const;

private:
  std::vector<Entry> list;
  bool moved = false;
  uint64_t tag = 0, fileBytes = 0;
  std::vector<uint64_t> offsets;
};

/// Where the weights of a library go (PipelineOptions::weights): Auto puts
/// them in a file beside it once they reach this many bytes.
constexpr int64_t kWeightsFileThreshold = int64_t(1) << 30;

/// The weights file of the library `libraryPath`: `<libraryPath>.weights`.
std::string weightsFilePath(llvm::StringRef libraryPath);

/// Moves `weights` to the weights file of the library `libraryPath`
/// (RawWeights::moveToFile) if `placement` asks for it.
mlir::LogicalResult placeWeights(mlir::ModuleOp module, RawWeights &weights,
                                 WeightsPlacement placement, llvm::StringRef libraryPath);

} // namespace kiln

#endif // KILN_LIB_TARGET_RAWWEIGHTS_H
