//===- CpuJit.h - compile kiln modules for the host CPU --------*- C++ -*-===//
#ifndef KILN_TARGET_CPUJIT_H
#define KILN_TARGET_CPUJIT_H

#include "kiln/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

struct kiln_model;

namespace mlir {
class ExecutionEngine;
}

namespace kiln {

/// One input or output of a compiled model. `dtype` uses ONNX's
/// TensorProto.DataType codes (1 = float, 7 = int64, 9 = bool, ...).
struct TensorSpec {
  std::string name;
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  /// An output that is the same tensor as an earlier output: that output's
  /// index. main returns it once; the runtime copies it. -1 otherwise.
  int aliasOf = -1;
  int64_t numElements() const;
  int64_t elementBytes() const;
  int64_t numBytes() const { return numElements() * elementBytes(); }
};

/// A run-time index check: an extra int64 result of `main` holding the
/// minimum and the maximum of each component of an index input (`tensor`,
/// shape [2k]), what it checks, and the size of the dim each of the k
/// components addresses. The runtime reads it after a run.
struct IndexCheckSpec {
  TensorSpec tensor;
  std::string what;
  std::vector<int64_t> dims;
};

/// One kernel of the model as its profiles name it: the kernel group's
/// name, kind, FLOPs, bytes moved and the ONNX nodes it covers.
struct KernelSpec {
  std::string name, kind, nodes;
  int64_t flops = 0, bytes = 0;
};

struct ModelSignature {
  std::vector<TensorSpec> inputs, outputs;
  std::vector<IndexCheckSpec> checks; // results of main after the outputs
  std::vector<KernelSpec> kernels;    // by the ids the profile markers pass
  /// Every tensor the entry takes: inputs, outputs (not their aliases),
  /// checks.
  size_t numTensors() const {
    size_t n = inputs.size() + checks.size();
    for (const TensorSpec &t : outputs)
      n += t.aliasOf < 0;
    return n;
  }
};

/// ONNX data type code of an MLIR element type; 0 if it has none.
int32_t onnxDataType(mlir::Type elementType);

/// Reads the signature of the model's `main` function (kiln level).
mlir::FailureOr<ModelSignature> readSignature(mlir::ModuleOp module);

/// Gets a kiln module ready for host lowering on any target: reads its
/// signature, registers the code generation dialects, and turns `main`
/// into a C-interface function without Kiln's interface attributes.
mlir::FailureOr<ModelSignature> prepareModelEntry(mlir::ModuleOp module);

/// The signature as the runtime reads it (see runtime/src/runtime.cpp).
std::string serializeSignature(const ModelSignature &sig);

/// Lowers a (cleaned) kiln module to the LLVM dialect for the host CPU
/// (buildPipeline to Stage::LLVM: the CPU target, or the GPU kernels
/// emulated with `options.emulation`) and adds the model ABI:
/// `kiln_model_entry(void **descriptors)` and the `kiln_model_signature`
/// string. Returns the signature.
mlir::FailureOr<ModelSignature> lowerToCpuLLVM(mlir::ModuleOp module,
                                               const PipelineOptions &options = {});

enum class CpuArtifact { LLVMIR, Object, SharedLibrary };

/// Compiles a kiln module (consumed) ahead of time: LLVM IR text, an object
/// file, or a shared library that runs with libkiln_runtime alone.
mlir::LogicalResult emitCpuArtifact(mlir::ModuleOp module, CpuArtifact kind,
                                    llvm::StringRef outputPath,
                                    const PipelineOptions &options = {});

/// A model compiled for the host CPU, in process.
class CpuJitModel {
public:
  ~CpuJitModel();
  /// Lowers a kiln module (consumed) to LLVM and JIT-compiles it.
  /// Diagnostics go to the module's context. With `options.emulation`
  /// (target CUDA), the code runs the GPU kernels thread by thread (see
  /// buildCpuLinalgToLLVMPipeline), their contraction operands rounded to
  /// `options.precision`.
  static mlir::FailureOr<std::unique_ptr<CpuJitModel>>
  compile(mlir::ModuleOp module, const PipelineOptions &options = {});

  const ModelSignature &signature() const { return sig; }
  /// The runtime's handle on the compiled model (owned by this object).
  kiln_model *runtimeModel() const { return model; }

  /// Runs the model. Each buffer holds the dense row-major bytes of the
  /// corresponding input / output of signature().
  llvm::Error run(llvm::ArrayRef<const void *> inputs,
                  llvm::ArrayRef<void *> outputs);

private:
  CpuJitModel() = default;
  ModelSignature sig;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  kiln_model *model = nullptr;
};

} // namespace kiln

#endif // KILN_TARGET_CPUJIT_H
