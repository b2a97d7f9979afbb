//===- Pipelines.h - Kiln's named pass pipelines ---------------*- C++ -*-===//
#ifndef KILN_PIPELINES_PIPELINES_H
#define KILN_PIPELINES_PIPELINES_H

#include "kiln/Dialect/KilnGPU/KilnGPU.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"

#include <string>

namespace kiln {

/// What the compiled model runs on.
enum class Target { CPU, CUDA };

/// How far a pipeline lowers (kilnc --emit names them).
enum class Stage {
  Imported, ///< kiln IR as the importer wrote it
  Kiln,     ///< kiln IR, constants folded, dead ops removed
  Fused,    ///< kiln IR partitioned into kiln.kernel groups (an end point)
  Linalg,   ///< linalg on tensors, ops tagged with their kernel group
  Gpu,      ///< GPU kernels in one gpu.module, host code launching them
  Ptx,      ///< the kernels as PTX in a gpu.binary
  LLVM,     ///< LLVM dialect for the host CPU (CPU target or GPU emulation)
};

/// Every choice that shapes a compilation, parsed once by each driver
/// (kilnc, kiln-run, the Python module, kiln-opt's registered pipelines)
/// and handed to buildPipeline and the target builders.
/// Where a compiled model keeps its weights (kilnc --weights).
enum class WeightsPlacement {
  Auto,  ///< in the library below 1 GiB of weights, else in a file beside it
  Embed, ///< in the library
  File,  ///< in a file beside the library (`<library>.weights`)
};

struct PipelineOptions {
  Target target = Target::CPU;
  /// The GPU architecture (sm_80, sm_86, sm_89, sm_90).
  std::string gpuArch = "sm_80";
  /// Operand precision of the GPU contraction kernels.
  Precision precision = Precision::FP32;
  /// Partition the graph into kernel groups before lowering.
  bool fusion = true;
  /// Attention subgraphs become kiln.attention (kiln-fuse-attention),
  /// computed by one kernel: the runtime's on the CPU, one launch on CUDA.
  bool fuseAttention = true;
  /// For Target::CUDA: lower the GPU kernels for the host CPU, each GPU
  /// thread run by the runtime's emulator.
  bool emulation = false;
  /// Debug dumps: the IR after every pass, and the time of each pass, on
  /// stderr.
  bool printIRAfterAll = false;
  bool timing = false;
  /// The CPU a CPU-target library is compiled for: "host" (the machine
  /// compiling), or an LLVM CPU name such as x86-64-v3 or sapphirerapids.
  /// The library records the extensions it may use; the runtime refuses to
  /// load it on a CPU without them.
  std::string cpu = "host";
  /// Where a library keeps its weights; a JIT-compiled model in a file's
  /// place reads them from the imported model's memory.
  WeightsPlacement weights = WeightsPlacement::Auto;
};

/// Parse a value of one option; the error names the accepted values.
llvm::Expected<Target> parseTarget(llvm::StringRef text);
llvm::Expected<Precision> parsePrecision(llvm::StringRef text);
llvm::Expected<Stage> parseStage(llvm::StringRef text);
llvm::Expected<WeightsPlacement> parseWeightsPlacement(llvm::StringRef text);
/// The GPU architectures Kiln generates code for.
llvm::ArrayRef<llvm::StringRef> supportedGpuArchs();

/// Checks that the options fit together and that the pipeline reaches
/// `to` for their target; the error says what does not.
llvm::Error verifyOptions(const PipelineOptions &options, Stage to = Stage::LLVM);

/// The one pipeline: the passes that take a module from stage `from`
/// (Imported or Kiln) to stage `to` for `options` (verified first). For the
/// CUDA target, `to` = LLVM stops at Gpu: the CUDA model builder
/// (CudaArtifact.h) plans the host's device memory, lowers the kernels to
/// PTX and the host code to LLVM itself.
void buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options, Stage from,
                   Stage to);

/// The kernel partition of a module at stage `from` (Imported or Kiln) as
/// JSON (kilnc --fusion-report); for the CUDA target each kernel also lists
/// the GPU strategies kiln-gpu-select-strategy gives its ops.
mlir::FailureOr<std::string> fusionReport(mlir::ModuleOp module, const PipelineOptions &options,
                                          Stage from);

/// Applies the options' debug dumps to a pass manager.
void applyDebugOptions(mlir::PassManager &pm, const PipelineOptions &options);

/// Cleans freshly imported kiln IR: folds constants and shape computations,
/// removes dead and duplicate ops.
void buildImportCleanupPipeline(mlir::OpPassManager &pm);

/// Graph-level fusion on kiln IR: batch normalization folded into
/// convolution weights, then the partition into `kiln.kernel` groups
/// (`kilnc --emit=fused`).
void buildFusionPipeline(mlir::OpPassManager &pm, bool attention = false);

/// kiln -> linalg on tensors (`kilnc --emit=linalg`). With `fusion`, the
/// graph is partitioned into kernel groups first, linalg ops fuse only
/// within a group, and each op ends up tagged with its kernel
/// (`kiln.kernel`, `kiln.kernel_kind`); without, elementwise producers fuse
/// into their consumers wherever linalg allows.
void buildKilnToLinalgPipeline(mlir::OpPassManager &pm, bool fusion = true,
                               bool attention = false, bool halfAttention = false);

/// linalg on tensors -> LLVM dialect for the CPU: bufferization with
/// results turned into caller-provided out-parameters, loops, and the LLVM
/// conversions (`kilnc --emit=llvm`). With `gpuEmulation`, the CPU strategy
/// is replaced by the GPU kernel pipeline and the kernels it produces are
/// emulated thread by thread (buildGpuEmulationToLLVMPipeline), so that
/// running the result on the CPU checks the kernels' thread mapping,
/// barriers and shared memory (`kiln-run --target=cuda --emulate`).
void buildCpuLinalgToLLVMPipeline(mlir::OpPassManager &pm, bool gpuEmulation = false,
                                  Precision precision = Precision::FP32);

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
                            Precision precision = Precision::FP32);

/// Bufferized linalg, padding marked, every op's GPU strategy chosen: the
/// start of buildGpuKernelPipeline.
void buildGpuStrategyPipeline(mlir::OpPassManager &pm,
                              Precision precision = Precision::FP32);

/// GPU kernels -> NVVM -> PTX for `chip` (sm_80, sm_90, ...), stored in
/// gpu.binary ops (`kilnc --target=cuda --emit=ptx`).
void buildGpuToPtxPipeline(mlir::OpPassManager &pm, llvm::StringRef chip);

/// Adds the dialects and the interface implementations (bufferization,
/// LLVM translation) that the lowering pipelines need.
void registerCodegenDialects(mlir::DialectRegistry &registry);

/// Registers every Kiln pipeline with the global pass registry (kiln-opt):
/// the stages above, and `kiln-pipeline`, `kiln-cpu-pipeline` and
/// `kiln-cuda-pipeline`, which take the PipelineOptions as pass-pipeline
/// options (`--kiln-cuda-pipeline='arch=sm_90 precision=fp16'`) and build
/// what buildPipeline builds for them.
void registerKilnPipelines();

} // namespace kiln

#endif // KILN_PIPELINES_PIPELINES_H
