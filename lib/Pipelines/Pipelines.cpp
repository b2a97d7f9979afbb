//===- Pipelines.cpp - Kiln's named pass pipelines -----------------------===//
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Codegen/Passes.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void kiln::buildImportCleanupPipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// One-shot bufferization across function boundaries, with identity
/// layouts at the model's interface (dense buffers in and out).
static void addBufferization(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
}

void kiln::buildFusionPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createFoldWeights());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createFormKernels());
}

void kiln::buildKilnToLinalgPipeline(OpPassManager &pm, bool fusion) {
  if (fusion) {
    buildFusionPipeline(pm);
  } else {
    pm.addNestedPass<func::FuncOp>(createFoldWeights());
    pm.addPass(createCanonicalizerPass());
  }
  // Inside kernel groups (isolated from above), linalg fusion only merges
  // ops of one kernel.
  pm.addPass(createConvertKilnToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Fusion propagates reshapes into matmuls; contractions whose dimension
  // groups stay contiguous become matmuls on collapsed views again.
  pm.addNestedPass<func::FuncOp>(createCollapseContractions());
  pm.addPass(createCanonicalizerPass());
  if (fusion)
    pm.addNestedPass<func::FuncOp>(createInlineKernels());
}

/// Bufferized host code -> LLVM dialect. With `threadEmulation`, the GPU
/// kernels become CPU functions of one GPU thread once the host's buffers
/// are planned (deallocation handles structured loops only, and kernels are
/// a CFG by then).
static void addHostLoweringToLLVM(OpPassManager &pm, bool threadEmulation) {
  using namespace kiln;
  if (threadEmulation) {
    GpuEmulationOptions launchesOnly;
    launchesOnly.convertKernels = false;
    pm.addPass(createGpuEmulation(launchesOnly));
  }
  // The caller owns the output buffers: results become out-parameters.
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.modifyPublicFunctions = true;
  outParams.hoistStaticAllocs = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addNestedPass<func::FuncOp>(createMemoryPlan());
  bufferization::buildBufferDeallocationPipeline(pm);
  if (threadEmulation) {
    GpuEmulationOptions kernelsOnly;
    kernelsOnly.convertLaunches = false;
    pm.addPass(createGpuEmulation(kernelsOnly));
  }
  pm.addPass(createOutlineParallelLoops());
  pm.addPass(createConvertMemRefCopyToLinalg());
  pm.addPass(createConvertLinalgToLoopsPass());
  // Register blocks: n-D transfers unroll to 1-D loads and stores, and
  // vector.contract becomes a chain of outer-product FMAs.
  pm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll(true)));
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass());
  // Strided views expand into affine.apply ops, so affine lowers after.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.vectorContractLowering = vector::VectorContractLowering::OuterProduct;
  vectorToLLVM.vectorTransposeLowering = vector::VectorTransposeLowering::Shuffle1D;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  // Integer powers become small software functions first; the rest map to
  // LLVM intrinsics, and what has no intrinsic (erf, tanh) to libm calls.
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void kiln::buildCpuLinalgToLLVMPipeline(OpPassManager &pm, bool gpuEmulation,
                                        StringRef precision) {
  if (gpuEmulation) {
    // The GPU kernels themselves, thread-mapped, each GPU thread run by the
    // runtime's emulator with barriers, warp shuffles, tensor-core mma.sync
    // (warp collectives) and shared memory, at every precision.
    buildGpuKernelPipeline(pm, precision);
    buildGpuEmulationToLLVMPipeline(pm);
    return;
  }
  // CPU strategy: convolutions as contractions; contractions tiled into
  // register blocks computed with vector ops; every other reduction's
  // innermost loop over contiguous memory so that LLVM vectorizes it.
  pm.addNestedPass<func::FuncOp>(createConvToIm2col());
  pm.addNestedPass<func::FuncOp>(createCpuTileAndVectorize());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createCpuLoopOrder());
  addBufferization(pm);
  addHostLoweringToLLVM(pm, /*threadEmulation=*/false);
}

void kiln::buildGpuEmulationToLLVMPipeline(OpPassManager &pm) {
  addHostLoweringToLLVM(pm, /*threadEmulation=*/true);
  pm.addPass(kiln::createGpuEmulationABI());
}

void kiln::buildGpuKernelPipeline(OpPassManager &pm, StringRef precision) {
  addBufferization(pm);
  // Zero- (or -inf-) padded window inputs: their fills become loops that
  // kiln-gpu-fold-padding removes once every reader is a load.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuMarkPadding());
  // Contractions first: their own tiled kernels with shared memory and
  // fused epilogues, launched directly; everything else takes the path below.
  kiln::GpuContractionOptions contraction;
  contraction.precision = precision.str();
  pm.addNestedPass<func::FuncOp>(kiln::createGpuContraction(contraction));
  pm.addNestedPass<func::FuncOp>(kiln::createGpuContractionMapping());
  // Reduction kernel groups (softmax, layernorm, reduce ops): one launch
  // each, a block (or warp) per row.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuRowKernel());
  // Contraction groups left by the tiled strategy (depthwise and grouped
  // convolutions) and windowed reductions (pooling) the row kernels left: one launch per group,
  // a thread per output element, init and epilogue in registers.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuDirectContraction());
  // Reductions: a block (or warp) per row, warp shuffles, shared memory.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuReduction());
  // Elementwise: 16-byte vector accesses in a grid-stride loop.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuElementwise());
  // The rest: one thread per element of the parallel dimensions, which go
  // outermost; a reduction without any becomes a one-thread kernel.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuParallelOuter());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(kiln::createGpuFoldPadding());
  // No canonicalization here: it would merge the block and thread loops
  // back into one.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuThreadBlocks());
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  // Constants and index computations move into the kernels: as kernel
  // arguments they would hide constant divisors and trip counts from LLVM.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(kiln::createMergeGpuModules());
  pm.addPass(kiln::createGpuContractionOccupancy());
  pm.addPass(createLowerAffinePass());
  // Host loops stay structured: buffer deallocation (GPU emulation) needs
  // them so, and the NVVM pipeline lowers them anyway.
  pm.addNestedPass<gpu::GPUModuleOp>(createSCFToControlFlowPass());
  pm.addPass(createCanonicalizerPass());
}

void kiln::buildGpuToPtxPipeline(OpPassManager &pm, StringRef chip) {
  // bf16 tensor-core mma.sync, which the upstream NVVM lowering lacks.
  pm.addPass(kiln::createLowerBf16MmaSync());
  gpu::GPUToNVVMPipelineOptions options;
  options.cubinChip = chip.str();
  // PTX ISA 8.0 covers sm_80 through sm_90 and ptxas of CUDA 12 and 13.
  options.cubinFeatures = "+ptx80";
  options.cubinFormat = "isa";
  gpu::buildLowerToNVVMPassPipeline(pm, options);
}

void kiln::registerCodegenDialects(DialectRegistry &registry) {
  // The lowering relies on many upstream interface implementations
  // (bufferization, tiling, value bounds, LLVM translation): register them
  // all rather than chase each one.
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
}

void kiln::registerKilnPipelines() {
  PassPipelineRegistration<>(
      "kiln-import-cleanup",
      "Fold constants and shape computations of imported kiln IR, then "
      "remove dead and duplicate ops",
      [](OpPassManager &pm) { buildImportCleanupPipeline(pm); });
  PassPipelineRegistration<>(
      "kiln-fusion",
      "Fold batch normalization into convolutions and partition the graph "
      "into kernel groups",
      [](OpPassManager &pm) { buildFusionPipeline(pm); });
  PassPipelineRegistration<>(
      "kiln-to-linalg", "Lower kiln to fused linalg on tensors",
      [](OpPassManager &pm) { buildKilnToLinalgPipeline(pm); });
  PassPipelineRegistration<>(
      "kiln-cpu-to-llvm",
      "Bufferize linalg on tensors and lower it to the LLVM dialect for CPUs",
      [](OpPassManager &pm) { buildCpuLinalgToLLVMPipeline(pm); });
  PassPipelineRegistration<>(
      "kiln-gpu-emulation-to-llvm",
      "Lower GPU kernels (gpu.module) and the host code that launches them to "
      "LLVM for the CPU, each GPU thread run by the runtime's emulator",
      [](OpPassManager &pm) { buildGpuEmulationToLLVMPipeline(pm); });
}
