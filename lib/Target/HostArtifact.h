//===- HostArtifact.h - host code to IR text, object or library -*- C++ -*-===//
#ifndef KILN_LIB_TARGET_HOSTARTIFACT_H
#define KILN_LIB_TARGET_HOSTARTIFACT_H

#include "kiln/Target/CpuJit.h"

#include "llvm/Support/CodeGen.h"

namespace llvm {
class Module;
}

namespace kiln {

class RawWeights;

/// How the host code of a model library is compiled.
struct HostArtifactOptions {
  llvm::StringRef cpu;              // target CPU name
  unsigned optLevel;                // LLVM IR optimization level
  llvm::CodeGenOptLevel codegenLevel;
  llvm::StringRef tempPrefix;       // temporary object file name prefix
  llvm::ArrayRef<llvm::StringRef> linkLibraries; // extra linker arguments
  /// Export KILN_MODEL_CPU_FEATURES_SYMBOL: the x86 extensions the code may
  /// use, which the runtime checks before it loads the library.
  bool recordCpuFeatures = false;
  /// Weights detached from the module before translation: attached as raw
  /// bytes after the code is optimized, or, once moved to a file
  /// (placeWeights), written to `<output>.weights`; a stale file of an
  /// earlier compilation is removed.
  const RawWeights *weights = nullptr;
  /// Print the time of LLVM optimization, code generation and linking.
  bool timing = false;
};

/// Optimizes the translated host module for the process's triple and
/// writes it as LLVM IR text, an object file, or a shared library linked
/// with the system C compiler driver. Errors are reported on `module`.
mlir::LogicalResult emitHostArtifact(mlir::ModuleOp module,
                                     llvm::Module &llvmModule, CpuArtifact kind,
                                     llvm::StringRef outputPath,
                                     const HostArtifactOptions &options);

} // namespace kiln

#endif // KILN_LIB_TARGET_HOSTARTIFACT_H
