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

/// The GPU side of a fusion report (kilnc --fusion-report with the CUDA
/// target). `report` is fusionReport's JSON for `module` (the imported
/// model, copied here); returned with, per kernel, a roofline estimate of
/// its time on the architecture's peaks ("gpu": roofline_ns, bound) and,
/// for the whole model, "gpu": the architecture and its peaks, every GPU
/// kernel with its launch shape and ptxas -v resources (registers, spills,
/// shared memory), occupancy, and the summed roofline time. Without ptxas
/// the resources are left out and said to be.
mlir::FailureOr<std::string> addGpuCostsToFusionReport(mlir::ModuleOp module,
                                                       const PipelineOptions &options,
                                                       llvm::StringRef report);

} // namespace kiln

#endif // KILN_TARGET_CUDAARTIFACT_H
