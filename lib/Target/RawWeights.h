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

private:
  std::vector<Entry> list;
};

} // namespace kiln

#endif // KILN_LIB_TARGET_RAWWEIGHTS_H
