//===- kilnc.cpp - the Kiln compiler driver ------------------------------===//
#include "Kiln/KilnOps.h"
#include "kiln/Import/OnnxImporter.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Target/CpuJit.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "mlir/Support/FileUtilities.h"

using namespace llvm;

namespace {
cl::OptionCategory kilncCategory("kilnc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx | model.onnxtxt | ->"),
                               cl::Required, cl::cat(kilncCategory));
cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(kilncCategory));
enum class Emit { Kiln, Linalg, LLVM, Obj, So };
cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::Kiln),
    cl::values(clEnumValN(Emit::Kiln, "kiln", "imported, canonicalized kiln IR"),
               clEnumValN(Emit::Linalg, "linalg", "fused linalg on tensors"),
               clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR of the model"),
               clEnumValN(Emit::Obj, "obj", "an object file (needs -o)"),
               clEnumValN(Emit::So, "so",
                          "a shared library that runs with libkiln_runtime (needs -o)")),
    cl::cat(kilncCategory));
cl::opt<std::string> target("target", cl::desc("Code generation target: cpu"),
                            cl::init("cpu"), cl::cat(kilncCategory));
cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Pin the shape of a model input, e.g. input=1x3x224x224 "
             "(repeatable; needed for symbolic or unknown dimensions)"),
    cl::value_desc("name=DxDx..."), cl::cat(kilncCategory));
cl::opt<bool> printWeights("print-weights",
                           cl::desc("Print weight blobs in full instead of "
                                    "eliding them"),
                           cl::init(false), cl::cat(kilncCategory));
cl::opt<bool> noCleanup("no-cleanup",
                        cl::desc("Print the IR exactly as imported, before "
                                 "folding and CSE"),
                        cl::init(false), cl::cat(kilncCategory));
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](raw_ostream &os) { os << "kilnc " KILN_VERSION "\n"; });
  cl::HideUnrelatedOptions(kilncCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Kiln: compiles ONNX models through the kiln MLIR dialect\n\n"
      "  kilnc model.onnx [--emit=kiln|linalg|llvm|obj|so] [-o out] "
      "[--input-shape x=1x3x224x224]\n");

  mlir::MLIRContext ctx;
  mlir::ScopedDiagnosticHandler handler(&ctx, [](mlir::Diagnostic &diag) {
    kiln::printDiagnostic("kilnc", diag);
    return mlir::success();
  });

  kiln::ImportOptions options;
  for (const std::string &spec : inputShapes) {
    auto [name, dims] = StringRef(spec).rsplit('=');
    SmallVector<int64_t> shape;
    if (name.empty() || dims.data() == nullptr || !kiln::parseShape(dims, shape)) {
      errs() << "kilnc: error: --input-shape expects NAME=D0xD1x..., got '"
             << spec << "'\n";
      return 2;
    }
    options.inputShapes[name] = shape;
  }

  mlir::OwningOpRef<mlir::ModuleOp> module =
      kiln::importOnnxFile(ctx, inputPath, options);
  if (!module)
    return 1;

  if (target != "cpu") {
    errs() << "kilnc: error: unknown target '" << target << "' (available: cpu)\n";
    return 2;
  }
  if (!noCleanup || emit != Emit::Kiln) {
    mlir::PassManager pm(&ctx);
    kiln::buildImportCleanupPipeline(pm);
    if (emit == Emit::Linalg)
      kiln::buildKilnToLinalgPipeline(pm);
    if (mlir::failed(pm.run(*module)))
      return 1;
  }
  if (emit == Emit::LLVM || emit == Emit::Obj || emit == Emit::So) {
    if ((emit == Emit::Obj || emit == Emit::So) && outputPath == "-") {
      errs() << "kilnc: error: --emit=" << (emit == Emit::So ? "so" : "obj")
             << " needs an output file (-o)\n";
      return 2;
    }
    kiln::CpuArtifact kind = emit == Emit::LLVM  ? kiln::CpuArtifact::LLVMIR
                             : emit == Emit::Obj ? kiln::CpuArtifact::Object
                                                 : kiln::CpuArtifact::SharedLibrary;
    return mlir::failed(kiln::emitCpuArtifact(*module, kind, outputPath)) ? 1 : 0;
  }

  std::string err;
  auto out = mlir::openOutputFile(outputPath, &err);
  if (!out) {
    errs() << "kilnc: error: " << err << "\n";
    return 1;
  }
  mlir::OpPrintingFlags flags;
  if (!printWeights)
    flags.elideLargeResourceString(64);
  module->print(out->os(), flags);
  out->keep();
  return 0;
}
