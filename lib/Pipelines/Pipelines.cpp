//===- Pipelines.cpp - Kiln's named pass pipelines -----------------------===//
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Support/Progress.h"
#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Codegen/Common/Passes.h"
#include "kiln/Codegen/Emulation/Passes.h"
#include "kiln/Codegen/GPU/Passes.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Transforms/FusionReport.h"
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

void kiln::buildFusionPipeline(OpPassManager &pm, bool attention) {
  if (attention)
    pm.addNestedPass<func::FuncOp>(createFuseAttention());
  pm.addNestedPass<func::FuncOp>(createFoldWeights());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createFormKernels());
}

void kiln::buildKilnToLinalgPipeline(OpPassManager &pm, bool fusion, bool attention,
                                     bool halfAttention) {
  if (fusion) {
    buildFusionPipeline(pm, attention);
  } else {
    if (attention)
      pm.addNestedPass<func::FuncOp>(createFuseAttention());
    pm.addNestedPass<func::FuncOp>(createFoldWeights());
    pm.addPass(createCanonicalizerPass());
  }
  // Inside kernel groups (isolated from above), linalg fusion only merges
  // ops of one kernel. A fused attention stays for the target's kernel.
  if (fusion)
    pm.addNestedPass<func::FuncOp>(createKernelCosts());
  ConvertKilnToLinalgOptions toLinalg;
  toLinalg.keepF32Attention = attention;
  toLinalg.keepHalfAttention = attention && halfAttention;
  pm.addPass(createConvertKilnToLinalg(toLinalg));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(kiln::createFuseElementwise());
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
static void addHostLoweringToLLVM(OpPassManager &pm, bool threadEmulation,
                                  bool gemmCalls = false) {
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
  if (gemmCalls) {
    pm.addPass(createCpuContractionToCall());
    // Each kernel's code between calls that the runtime's profiles time.
    pm.addPass(createCpuProfileMarkers());
  }
  pm.addPass(createOutlineParallelLoops());
  // LLVM's time grows faster than the size of a function: the host code
  // of a model of many kernels is cut into functions of bounded size.
  pm.addPass(createSplitHostCode());
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
                                        kiln::Precision precision) {
  if (gpuEmulation) {
    // The GPU kernels themselves, thread-mapped, each GPU thread run by the
    // runtime's emulator with barriers, warp shuffles, tensor-core mma.sync
    // (warp collectives) and shared memory, at every precision.
    buildGpuKernelPipeline(pm, precision);
    buildGpuEmulationToLLVMPipeline(pm);
    return;
  }
  // Attention: the runtime's fused kernel, called on the operands' buffers.
  pm.addPass(createCpuAttentionToCall());
  // CPU strategy: convolutions as contractions; contractions tiled into
  // register blocks computed with vector ops; every other reduction's
  // innermost loop over contiguous memory so that LLVM vectorizes it.
  kiln::ConvToIm2colOptions im2col;
  im2col.runtimeConvs = true;
  pm.addNestedPass<func::FuncOp>(createConvToIm2col(im2col));
  pm.addNestedPass<func::FuncOp>(createCpuFastMath());
  pm.addNestedPass<func::FuncOp>(createCpuTileAndVectorize());
  pm.addNestedPass<func::FuncOp>(createCpuParallelize());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createCpuLoopOrder());
  addBufferization(pm);
  // Convolutions become runtime calls while a padded input is still its
  // own buffer, so that the call reads the input in place.
  kiln::CpuContractionToCallOptions convs;
  convs.convsOnly = true;
  pm.addPass(createCpuContractionToCall(convs));
  addHostLoweringToLLVM(pm, /*threadEmulation=*/false, /*gemmCalls=*/true);
}

void kiln::buildGpuEmulationToLLVMPipeline(OpPassManager &pm) {
  addHostLoweringToLLVM(pm, /*threadEmulation=*/true);
  pm.addPass(kiln::createGpuEmulationABI());
}

void kiln::buildGpuStrategyPipeline(OpPassManager &pm, kiln::Precision precision) {
  // Attention: one flash-style launch each, built before bufferization.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuAttention());
  addBufferization(pm);
  // Zero- (or -inf-) padded window inputs: their fills become loops that
  // kiln-gpu-fold-padding removes once every reader is a load.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuMarkPadding());
  // Every op's strategy, chosen once (kiln_gpu.strategy attributes); the
  // strategy passes rewrite the ops chosen for them.
  kiln::GpuSelectStrategyOptions select;
  select.precision = precision;
  pm.addNestedPass<func::FuncOp>(kiln::createGpuSelectStrategy(select));
}

void kiln::buildGpuKernelPipeline(OpPassManager &pm, kiln::Precision precision) {
  buildGpuStrategyPipeline(pm, precision);
  // Contractions first: their own tiled kernels with shared memory and
  // fused epilogues, launched directly; everything else takes the path below.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuContraction());
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
  // Warp reductions of the row and reduction kernels as xor shuffles.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuLowerSubgroupReduce());
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
  // Outlining keeps attributes of the ops it moves, not of the launch.
  pm.addNestedPass<func::FuncOp>(kiln::createGpuCarryStrategy());
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

//===----------------------------------------------------------------------===//
// Options and the one pipeline
//===----------------------------------------------------------------------===//

static llvm::Error unknownValue(StringRef what, StringRef text, StringRef accepted) {
  return llvm::createStringError("unknown " + what + " '" + text + "' (" + accepted + ")");
}

llvm::Expected<kiln::Target> kiln::parseTarget(StringRef text) {
  if (text == "cpu")
    return Target::CPU;
  if (text == "cuda")
    return Target::CUDA;
  return unknownValue("target", text, "available: cpu, cuda");
}

llvm::Expected<kiln::Precision> kiln::parsePrecision(StringRef text) {
  if (std::optional<Precision> p = symbolizePrecision(text))
    return *p;
  return unknownValue("precision", text, "fp32, tf32, fp16, bf16");
}

llvm::Expected<kiln::WeightsPlacement> kiln::parseWeightsPlacement(StringRef text) {
  std::optional<WeightsPlacement> placement =
      llvm::StringSwitch<std::optional<WeightsPlacement>>(text)
          .Case("auto", WeightsPlacement::Auto)
          .Case("embed", WeightsPlacement::Embed)
          .Case("file", WeightsPlacement::File)
          .Default(std::nullopt);
  if (placement)
    return *placement;
  return unknownValue("weights placement", text, "auto, embed, file");
}

llvm::Expected<kiln::Stage> kiln::parseStage(StringRef text) {
  std::optional<Stage> stage = llvm::StringSwitch<std::optional<Stage>>(text)
                                   .Case("imported", Stage::Imported)
                                   .Case("kiln", Stage::Kiln)
                                   .Case("fused", Stage::Fused)
                                   .Case("linalg", Stage::Linalg)
                                   .Case("gpu", Stage::Gpu)
                                   .Case("ptx", Stage::Ptx)
                                   .Case("llvm", Stage::LLVM)
                                   .Default(std::nullopt);
  if (stage)
    return *stage;
  return unknownValue("stage", text, "imported, kiln, fused, linalg, gpu, ptx, llvm");
}

ArrayRef<StringRef> kiln::supportedGpuArchs() {
  static const StringRef archs[] = {"sm_80", "sm_86", "sm_89", "sm_90"};
  return archs;
}

llvm::Error kiln::verifyOptions(const PipelineOptions &options, Stage to) {
  bool cuda = options.target == Target::CUDA;
  if (cuda && !llvm::is_contained(supportedGpuArchs(), StringRef(options.gpuArch)))
    return llvm::createStringError("unsupported GPU architecture '" + options.gpuArch +
                                   "' (" + llvm::join(supportedGpuArchs(), ", ") + ")");
  if (!cuda && options.emulation)
    return llvm::createStringError("GPU emulation needs the CUDA target");
  if (!cuda && options.precision != Precision::FP32)
    return llvm::createStringError("precision " + stringifyPrecision(options.precision) +
                                   " applies to the CUDA target");
  if (!cuda && (to == Stage::Gpu || to == Stage::Ptx))
    return llvm::createStringError("GPU kernels and PTX need the CUDA target");
  if (options.emulation && to == Stage::Ptx)
    return llvm::createStringError("PTX is for a GPU, not for emulation");
  return llvm::Error::success();
}

void kiln::buildPipeline(OpPassManager &pm, const PipelineOptions &options, Stage from,
                         Stage to) {
  assert((from == Stage::Imported || from == Stage::Kiln) && "pipelines start from kiln IR");
  assert(!verifyOptions(options, to) && "options not verified");
  if (from == Stage::Imported)
    buildImportCleanupPipeline(pm);
  if (to == Stage::Imported || to == Stage::Kiln)
    return;
  // Attention as one kernel (the CPU's runtime kernel, the GPU's launch).
  bool attention = options.fuseAttention;
  if (to == Stage::Fused) {
    buildFusionPipeline(pm, attention);
    return;
  }
  // The GPU kernel also takes f16 and bf16 (computing in f32).
  buildKilnToLinalgPipeline(pm, options.fusion, attention, options.target == Target::CUDA);
  if (to == Stage::Linalg)
    return;
  if (to == Stage::Gpu || (options.target == Target::CUDA && !options.emulation)) {
    buildGpuKernelPipeline(pm, options.precision);
    if (to == Stage::Ptx)
      buildGpuToPtxPipeline(pm, options.gpuArch);
    return;
  }
  buildCpuLinalgToLLVMPipeline(pm, options.emulation, options.precision);
}

FailureOr<std::string> kiln::fusionReport(ModuleOp module, const PipelineOptions &options,
                                          Stage from) {
  OwningOpRef<ModuleOp> partitioned = module.clone();
  PassManager pm(module.getContext());
  buildPipeline(pm, options, from, Stage::Fused);
  if (failed(pm.run(*partitioned)))
    return failure();
  std::map<int64_t, std::vector<std::string>> strategies;
  if (options.target == Target::CUDA) {
    // The same partition lowered as far as the GPU strategy choice; kernel
    // group i there is kernel i of the partition.
    OwningOpRef<ModuleOp> lowered = module.clone();
    PassManager gpm(module.getContext());
    buildPipeline(gpm, options, from, Stage::Linalg);
    buildGpuStrategyPipeline(gpm, options.precision);
    if (failed(gpm.run(*lowered)))
      return failure();
    strategies = kernelAttributes(*lowered, kStrategyAttr);
  }
  return fusionReportJson(*partitioned, strategies);
}

void kiln::applyDebugOptions(PassManager &pm, const PipelineOptions &options) {
  if (options.printIRAfterAll) {
    pm.getContext()->disableMultithreading();
    pm.enableIRPrinting(/*shouldPrintBeforePass=*/nullptr,
                        /*shouldPrintAfterPass=*/[](Pass *, Operation *) { return true; },
                        /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false);
  }
  if (options.timing)
    pm.enableTiming();
  progress::instrument(pm);
}

void kiln::registerCodegenDialects(DialectRegistry &registry) {
  // The lowering relies on many upstream interface implementations
  // (bufferization, tiling, value bounds, LLVM translation): register them
  // all rather than chase each one.
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
}

namespace {
/// PipelineOptions as kiln-opt's pass-pipeline options.
struct PipelineCLOptions : PassPipelineOptions<PipelineCLOptions> {
  Option<std::string> target{*this, "target", llvm::cl::desc("cpu or cuda"),
                             llvm::cl::init("cpu")};
  Option<std::string> arch{*this, "arch", llvm::cl::desc("GPU architecture (sm_80 ...)"),
                           llvm::cl::init("sm_80")};
  Option<std::string> precision{*this, "precision",
                                llvm::cl::desc("GPU contraction operands: fp32, tf32, fp16, bf16"),
                                llvm::cl::init("fp32")};
  Option<bool> fusion{*this, "fusion", llvm::cl::desc("partition into kernel groups"),
                      llvm::cl::init(true)};
  Option<bool> emulation{*this, "emulation",
                         llvm::cl::desc("lower GPU kernels for emulation on the CPU"),
                         llvm::cl::init(false)};
  Option<std::string> from{*this, "from", llvm::cl::desc("imported or kiln"),
                           llvm::cl::init("imported")};
  Option<std::string> to{*this, "to",
                         llvm::cl::desc("kiln, fused, linalg, gpu, ptx or llvm (default: llvm "
                                        "for the CPU, ptx for CUDA)"),
                         llvm::cl::init("")};
};

/// Registers `name` building buildPipeline(options) with the target fixed
/// (or taken from the options when `fixedTarget` is empty).
void registerOptionsPipeline(StringRef name, StringRef description, StringRef fixedTarget) {
  std::string targetName = fixedTarget.str();
  registerPassPipeline(
      name, description,
      [targetName](OpPassManager &pm, StringRef text,
                   function_ref<LogicalResult(const Twine &)> errorHandler) -> LogicalResult {
        PipelineCLOptions cl;
        if (failed(cl.parseFromString(text)))
          return failure();
        auto report = [&](llvm::Error e) { return errorHandler(toString(std::move(e))); };
        kiln::PipelineOptions options;
        auto target = kiln::parseTarget(targetName.empty() ? StringRef(cl.target) : targetName);
        if (!target)
          return report(target.takeError());
        options.target = *target;
        auto precision = kiln::parsePrecision(cl.precision);
        if (!precision)
          return report(precision.takeError());
        options.precision = *precision;
        options.gpuArch = cl.arch;
        options.fusion = cl.fusion;
        options.emulation = cl.emulation;
        auto from = kiln::parseStage(cl.from);
        if (!from)
          return report(from.takeError());
        StringRef toText = cl.to;
        if (toText.empty())
          toText = options.target == kiln::Target::CUDA && !options.emulation ? "ptx" : "llvm";
        auto to = kiln::parseStage(toText);
        if (!to)
          return report(to.takeError());
        if (*from != kiln::Stage::Imported && *from != kiln::Stage::Kiln)
          return errorHandler("from= takes imported or kiln");
        if (llvm::Error e = kiln::verifyOptions(options, *to))
          return report(std::move(e));
        kiln::buildPipeline(pm, options, *from, *to);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(PipelineCLOptions());
      });
}
} // namespace

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
  registerOptionsPipeline("kiln-pipeline",
                          "Compile imported kiln IR as kilnc does, for the options' target "
                          "(target, arch, precision, fusion, emulation, from, to)",
                          "");
  registerOptionsPipeline("kiln-cpu-pipeline",
                          "Compile imported kiln IR for the CPU as kilnc does", "cpu");
  registerOptionsPipeline("kiln-cuda-pipeline",
                          "Compile imported kiln IR for CUDA as kilnc does (default: to PTX)",
                          "cuda");
}
