//===- CpuArtifact.cpp - ahead-of-time compilation for the host CPU ------===//
#include "HostArtifact.h"
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

using namespace mlir;
using namespace kiln;

LogicalResult kiln::emitCpuArtifact(ModuleOp module, CpuArtifact kind, StringRef outputPath,
                                    const PipelineOptions &options) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  if (failed(lowerToCpuLLVM(module, options)))
    return failure();

  RawWeights weights = RawWeights::detach(module);
  llvm::LLVMContext llvmCtx;
  auto llvmModule = translateModuleToLLVMIR(module, llvmCtx, "kiln_model");
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");

  // The library runs on the machine it is built for, like -march=native;
  // it needs libm.
  std::string cpu = llvm::sys::getHostCPUName().str();
  StringRef libs[] = {"-lm"};
  return emitHostArtifact(module, *llvmModule, kind, outputPath,
                          {cpu, 3, llvm::CodeGenOptLevel::Aggressive, "kiln-model", libs,
                           /*recordCpuFeatures=*/true, &weights});
}

LogicalResult kiln::emitHostArtifact(ModuleOp module, llvm::Module &llvmModule,
                                     CpuArtifact kind, StringRef outputPath,
                                     const HostArtifactOptions &options) {
  std::string triple = llvm::sys::getProcessTriple();
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
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
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, machine.get());
  if (llvm::Error e = optimize(&llvmModule))
    return module.emitError() << "LLVM optimization failed: " << llvm::toString(std::move(e));
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
    llvm::legacy::PassManager pm;
    if (machine->addPassesToEmitFile(pm, out.os(), nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
      return module.emitError("the target cannot emit object files");
    pm.run(llvmModule);
    out.keep();
  }
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
  int rc = llvm::sys::ExecuteAndWait(ccPath, args, std::nullopt, {}, 0, 0, &linkErr);
  llvm::sys::fs::remove(objectPath);
  if (rc != 0)
    return module.emitError() << "linking '" << outputPath << "' failed"
                              << (linkErr.empty() ? "" : ": " + linkErr);
  return success();
}
