//===- CudaArtifact.h - compiled models for NVIDIA GPUs --------*- C++ -*-===//
#ifndef KILN_TARGET_CUDAARTIFACT_H
#define KILN_TARGET_CUDAARTIFACT_H

#include "kiln/Target/CpuJit.h"

namespace kiln {

struct CudaArtifactOptions {
  /// Target (CUDA), GPU architecture, precision, fusion, debug dumps.
  PipelineOptions pipeline{Target::CUDA};
  /// Assemble a cubin with ptxas when it is found (else the driver JIT
  /// compiles the PTX at load).
  bool cubin = true;
  /// f32 weights of at least this many bytes are left out of the library
  /// (0: none are); the runtime fills them with seeded values at load. For
  /// timing large models on a machine the weights need not travel to.
  int64_t elideWeightBytes = 0;
};

/// Kernels call libdevice (__nv_sqrtf, ...), which MLIR links from the CUDA
/// toolkit named by CUDA_HOME (or CUDA_ROOT, CUDA_PATH). Without any of
/// them, points CUDA_HOME at /usr/local/cuda when its libdevice is there.
void useDefaultCudaToolkit();

/// Lowers a kiln module (consumed) for the CUDA target down to the LLVM
/// dialect: kernels become PTX (kept in the returned text), and `main`
/// becomes host code that calls only Kiln's runtime (`kiln_cuda_*`) to get
/// its device arena and weights, launch kernels and copy on the device.
/// Adds the model ABI of a CUDA model library (see kiln_runtime.h).
mlir::FailureOr<ModelSignature> lowerToCudaHostLLVM(mlir::ModuleOp module,
                                                    const CudaArtifactOptions &options);

/// Compiles a kiln module (consumed) into a CUDA model library (PTX, cubin
/// when ptxas is available, host code; runs with libkiln_runtime and the
/// CUDA driver), or into the host code's LLVM IR text.
mlir::LogicalResult emitCudaArtifact(mlir::ModuleOp module, CpuArtifact kind,
                                     llvm::StringRef outputPath,
                                     const CudaArtifactOptions &options);

} // namespace kiln

#endif // KILN_TARGET_CUDAARTIFACT_H
