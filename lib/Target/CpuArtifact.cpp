//===- CpuArtifact.cpp - ahead-of-time compilation for the host CPU ------===//
#include "HostArtifact.h"
#include "kiln/Support/Progress.h"
#include "RawWeights.h"
#include "kiln_runtime.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Support/Format.h"

#include <chrono>

using namespace mlir;
using namespace kiln;

LogicalResult kiln::emitCpuArtifact(ModuleOp module, CpuArtifact kind, StringRef outputPath,
                                    const PipelineOptions &options) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  if (options.cpu != "host") {
    // Checked before the long part of the compilation.
    std::string triple = llvm::sys::getProcessTriple(), err;
    const llvm::Target *target = llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), err);
    std::unique_ptr<llvm::MCSubtargetInfo> sti(
        target ? target->createMCSubtargetInfo(llvm::Triple(triple), "", "") : nullptr);
    if (!sti || !sti->isCPUStringValid(options.cpu))
      return mlir::emitError(module.getLoc()) << "unknown CPU '" << options.cpu << "' for " << triple
                                << " (use host, or an LLVM CPU name such as x86-64-v3, "
                                   "skylake-avx512 or sapphirerapids)";
  }
  if (failed(lowerToCpuLLVM(module, options)))
    return failure();

  RawWeights weights = RawWeights::detach(module);
  if (failed(placeWeights(module, weights, options.weights, outputPath)))
    return failure();
  llvm::LLVMContext llvmCtx;
  auto llvmModule = translateModuleToLLVMIR(module, llvmCtx, "kiln_model");
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");

  // By default the library runs on the machine it is built for, like
  // -march=native; it needs libm.
  std::string cpu =
      options.cpu == "host" ? llvm::sys::getHostCPUName().str() : options.cpu;
  StringRef libs[] = {"-lm"};
  HostArtifactOptions host{cpu, 3, llvm::CodeGenOptLevel::Aggressive, "kiln-model", libs,
                           /*recordCpuFeatures=*/true, &weights};
  host.timing = options.timing;
  return emitHostArtifact(module, *llvmModule, kind, outputPath, host);
}

static LogicalResult emitHostCode(ModuleOp module, llvm::Module &llvmModule,
                                  CpuArtifact kind, StringRef outputPath,
                                  const HostArtifactOptions &options);

LogicalResult kiln::emitHostArtifact(ModuleOp module, llvm::Module &llvmModule,
                                     CpuArtifact kind, StringRef outputPath,
                                     const HostArtifactOptions &options) {
  if (failed(emitHostCode(module, llvmModule, kind, outputPath, options)))
    return failure();
  if (!options.weights || outputPath == "-")
    return success();
  std::string weightsPath = weightsFilePath(outputPath);
  if (options.weights->inFile())
    return options.weights->writeFile(weightsPath, module.getLoc());
  // No stale file of an earlier compilation stays beside the library.
  llvm::sys::fs::remove(weightsPath);
  return success();
}

static LogicalResult emitHostCode(ModuleOp module, llvm::Module &llvmModule,
                                  CpuArtifact kind, StringRef outputPath,
                                  const HostArtifactOptions &options) {
  std::string triple = llvm::sys::getProcessTriple();
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), err);
  if (!target)
    return module.emitError() << "no LLVM target for " << triple << ": " << err;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      llvm::Triple(triple), options.cpu, "", llvm::TargetOptions(),
      llvm::Reloc::PIC_, std::nullopt, options.codegenLevel));
  llvmModule.setDataLayout(machine->createDataLayout());
  llvmModule.setTargetTriple(llvm::Triple(triple));
  if (options.recordCpuFeatures && machine->getTargetTriple().isX86()) {
    // The extensions the runtime knows how to test (kiln_runtime.h) that
    // the target CPU has, so LLVM may use them anywhere in the library.
    static const char *const kChecked[] = {KILN_CPU_FEATURE_NAMES};
    const llvm::MCSubtargetInfo *sti = machine->getMCSubtargetInfo();
    std::string features;
    for (const char *name : kChecked)
      if (sti->checkFeatures(std::string("+") + name))
        features += (features.empty() ? "" : ",") + std::string(name);
    auto *init = llvm::ConstantDataArray::getString(llvmModule.getContext(), features);
    new llvm::GlobalVariable(llvmModule, init->getType(), /*isConstant=*/true,
                             llvm::GlobalValue::ExternalLinkage, init,
                             KILN_MODEL_CPU_FEATURES_SYMBOL);
  }
  // --timing: LLVM's share of the compile time, after MLIR's pass timing.
  using Clock = std::chrono::steady_clock;
  auto phaseStart = Clock::now();
  auto phase = [&](const char *what) {
    if (!options.timing)
      return;
    auto now = Clock::now();
    llvm::errs() << llvm::format("  %9.4f s  LLVM %s\n",
                                 std::chrono::duration<double>(now - phaseStart).count(), what);
    phaseStart = now;
  };
  if (options.timing)
    llvm::errs() << "===- LLVM (wall time) -===\n";
  progress::stage("LLVM optimization");
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, machine.get());
  if (llvm::Error e = optimize(&llvmModule))
    return module.emitError() << "LLVM optimization failed: " << llvm::toString(std::move(e));
  phase("optimization");
  if (options.weights)
    options.weights->attach(llvmModule);

  if (kind == CpuArtifact::LLVMIR) {
    std::error_code ec;
    llvm::ToolOutputFile out(outputPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return module.emitError() << "cannot write '" << outputPath << "': " << ec.message();
    llvmModule.print(out.os(), nullptr);
    out.keep();
    return success();
  }

  SmallString<128> objectPath(outputPath);
  if (kind == CpuArtifact::SharedLibrary) {
    int fd;
    if (llvm::sys::fs::createTemporaryFile(options.tempPrefix, "o", fd, objectPath))
      return module.emitError("cannot create a temporary object file");
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  }
  {
    std::error_code ec;
    llvm::ToolOutputFile out(objectPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return module.emitError() << "cannot write '" << objectPath << "': " << ec.message();
    progress::stage("LLVM code generation");
    llvm::legacy::PassManager pm;
    if (machine->addPassesToEmitFile(pm, out.os(), nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
      return module.emitError("the target cannot emit object files");
    pm.run(llvmModule);
    out.keep();
  }
  phase("code generation");
  if (kind == CpuArtifact::Object)
    return success();

  // Link with the system compiler driver.
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    llvm::sys::fs::remove(objectPath);
    return module.emitError("cannot find a C compiler driver (cc) to link the library");
  }
  std::string ccPath = *cc;
  std::string out = outputPath.str(), obj = std::string(objectPath);
  SmallVector<StringRef> args{ccPath, "-shared", "-o", out, obj};
  args.append(options.linkLibraries.begin(), options.linkLibraries.end());
  std::string linkErr;
  progress::stage("linking");
  int rc;
  {
    progress::Pause quiet; // the linker may write to the terminal
    rc = llvm::sys::ExecuteAndWait(ccPath, args, std::nullopt, {}, 0, 0, &linkErr);
  }
  llvm::sys::fs::remove(objectPath);
  phase("link (cc)");
  if (rc != 0)
    return module.emitError() << "linking '" << outputPath << "' failed"
                              << (linkErr.empty() ? "" : ": " + linkErr);
  return success();
}
