//===- Pipelines.h - Kiln's named pass pipelines ---------------*- C++ -*-===//
#ifndef KILN_PIPELINES_PIPELINES_H
#define KILN_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace kiln {

/// Cleans freshly imported kiln IR: folds constants and shape computations,
/// removes dead and duplicate ops.
void buildImportCleanupPipeline(mlir::OpPassManager &pm);

/// Graph-level fusion on kiln IR: batch normalization folded into
/// convolution weights, then the partition into `kiln.kernel` groups
/// (`kilnc --emit=fused`).
void buildFusionPipeline(mlir::OpPassManager &pm);

/// kiln -> linalg on tensors (`kilnc --emit=linalg`). With `fusion`, the
/// graph is partitioned into kernel groups first, linalg ops fuse only
/// within a group, and each op ends up tagged with its kernel
/// (`kiln.kernel`, `kiln.kernel_kind`); without, elementwise producers fuse
/// into their consumers wherever linalg allows.
void buildKilnToLinalgPipeline(mlir::OpPassManager &pm, bool fusion = true);

/// linalg on tensors -> LLVM dialect for the CPU: bufferization with
/// results turned into caller-provided out-parameters, loops, and the LLVM
/// conversions (`kilnc --emit=llvm`). With `gpuEmulation`, the CPU strategy
/// is replaced by the GPU kernel pipeline and the kernels it produces are
/// emulated thread by thread (buildGpuEmulationToLLVMPipeline), so that
/// running the result on the CPU checks the kernels' thread mapping,
/// barriers and shared memory (`kiln-run --target=cuda --emulate`).
void buildCpuLinalgToLLVMPipeline(mlir::OpPassManager &pm,
                                  bool gpuEmulation = false,
                                  llvm::StringRef precision = "fp32");

/// GPU kernels in gpu.module ops with bufferized host code that launches
/// them -> LLVM dialect for the CPU: every kernel becomes a function of one
/// GPU thread, every launch a call into the runtime's emulator
/// (runtime/src/gpu_emulation.cpp), which runs each block's threads as
/// fibers with barriers, warp shuffles and per-block shared memory.
void buildGpuEmulationToLLVMPipeline(mlir::OpPassManager &pm);

/// linalg on tensors -> GPU kernels in gpu.module ops with host code that
/// launches them (`kilnc --target=cuda --emit=gpu`). Kernels are a first,
/// direct mapping: every parallel loop nest becomes one kernel, its
/// iteration space flattened into blocks of 256 threads.
void buildGpuKernelPipeline(mlir::OpPassManager &pm,
                            llvm::StringRef precision = "fp32");

/// GPU kernels -> NVVM -> PTX for `chip` (sm_80, sm_90, ...), stored in
/// gpu.binary ops (`kilnc --target=cuda --emit=ptx`).
void buildGpuToPtxPipeline(mlir::OpPassManager &pm, llvm::StringRef chip);

/// Adds the dialects and the interface implementations (bufferization,
/// LLVM translation) that the lowering pipelines need.
void registerCodegenDialects(mlir::DialectRegistry &registry);

/// Registers every Kiln pipeline with the global pass registry (kiln-opt).
void registerKilnPipelines();

} // namespace kiln

#endif // KILN_PIPELINES_PIPELINES_H
