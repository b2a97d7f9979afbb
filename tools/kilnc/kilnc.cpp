//===- kilnc.cpp - the Kiln compiler driver ------------------------------===//
#include "kiln/Dialect/Kiln/KilnOps.h"
#include "kiln/Import/OnnxImporter.h"
#include "kiln/Support/Progress.h"
#include "kiln/Support/ToolSupport.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Target/CpuJit.h"
#include "kiln/Target/CudaArtifact.h"
#include "kiln/Transforms/FusionReport.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "mlir/Support/FileUtilities.h"

#include <unistd.h>

using namespace llvm;

namespace {
cl::OptionCategory kilncCategory("kilnc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx | model.onnxtxt | ->"),
                               cl::cat(kilncCategory));
cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(kilncCategory));
enum class Emit { Kiln, Fused, Linalg, Gpu, Ptx, LLVM, Obj, So };
cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::Kiln),
    cl::values(clEnumValN(Emit::Kiln, "kiln", "imported, canonicalized kiln IR"),
               clEnumValN(Emit::Fused, "fused",
                          "kiln IR partitioned into kernel groups (kiln.kernel)"),
               clEnumValN(Emit::Linalg, "linalg", "fused linalg on tensors"),
               clEnumValN(Emit::Gpu, "gpu", "GPU kernels and their launches (--target=cuda)"),
               clEnumValN(Emit::Ptx, "ptx", "one PTX module with every kernel (--target=cuda)"),
               clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR of the model"),
               clEnumValN(Emit::Obj, "obj", "an object file (needs -o)"),
               clEnumValN(Emit::So, "so",
                          "a shared library that runs with libkiln_runtime (needs -o)")),
    cl::cat(kilncCategory));
cl::opt<std::string> target("target", cl::desc("Code generation target: cpu or cuda"),
                            cl::init("cpu"), cl::cat(kilncCategory));
cl::opt<std::string> gpuArch("gpu-arch",
                             cl::desc("NVIDIA architecture for --target=cuda: "
                                      "sm_80, sm_86, sm_89 or sm_90"),
                             cl::init("sm_80"), cl::cat(kilncCategory));
cl::opt<std::string> precision(
    "precision",
    cl::desc("Operand precision of matmul/conv kernels for --target=cuda: fp32 (default, "
             "exact), tf32, fp16 or bf16 (fp32 accumulation)"),
    cl::init("fp32"), cl::cat(kilncCategory));
cl::opt<bool> listOps("list-ops",
                      cl::desc("List the ONNX ops Kiln imports, each with the versions it reads "
                               "(the opsets in which the op changed), and exit"),
                      cl::init(false), cl::cat(kilncCategory));
cl::opt<bool> elideWeights(
    "elide-weights",
    cl::desc("With --target=cuda: leave f32 weights of 4 KiB or more out of the library; the "
             "runtime fills them with seeded values at load (outputs for timing only)"),
    cl::init(false), cl::cat(kilncCategory));
cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Pin the shape of a model input, e.g. input=1x3x224x224 "
             "(repeatable; needed for symbolic or unknown dimensions)"),
    cl::value_desc("name=DxDx..."), cl::cat(kilncCategory));
cl::list<std::string> freezeInputs(
    "freeze-input",
    cl::desc("Compile an input in as a constant whose value is the serialized "
             "ONNX TensorProto in FILE (repeatable; for shape-like inputs such "
             "as Reshape's shape or TopK's K)"),
    cl::value_desc("name=FILE"), cl::cat(kilncCategory));
cl::opt<bool> printWeights("print-weights",
                           cl::desc("Print weight blobs in full instead of "
                                    "eliding them"),
                           cl::init(false), cl::cat(kilncCategory));
cl::opt<std::string> fusionReport(
    "fusion-report",
    cl::desc("Write the kernel partition: per kernel its kind, the ONNX nodes it covers, "
             "FLOPs and bytes moved; as JSON, or as a picture of the kernel graph when the "
             "file name ends in .html (a page with a table) or .svg"),
    cl::value_desc("file"), cl::cat(kilncCategory));
cl::opt<std::string> profileTrace(
    "profile-trace",
    cl::desc("With an .html or .svg --fusion-report: a profile of this model "
             "(kiln-run --profile) whose time per kernel the picture shows"),
    cl::value_desc("trace.json"), cl::cat(kilncCategory));
cl::opt<bool> noFusion("no-fusion",
                       cl::desc("Do not partition the graph into kernel "
                                "groups (linalg fuses what it can)"),
                       cl::init(false), cl::cat(kilncCategory));
cl::opt<bool> noFuseAttention("no-fuse-attention",
                              cl::desc("Run attention as matmul, softmax and matmul "
                                       "instead of one fused kernel"),
                              cl::init(false), cl::cat(kilncCategory));
cl::opt<bool> printIRAfterAll("print-ir-after-all",
                              cl::desc("Print the IR after every pass (stderr)"), cl::init(false),
                              cl::cat(kilncCategory));
cl::opt<std::string> cpu("cpu",
                        cl::desc("With --target=cpu: the CPU the library is compiled for: host "
                                 "(default), or an LLVM CPU name such as x86-64-v3 (any AVX2 "
                                 "machine) or sapphirerapids; loading it on a CPU without its "
                                 "extensions is an error"),
                        cl::init("host"), cl::cat(kilncCategory));
cl::opt<std::string> weights(
    "weights",
    cl::desc("Where a library keeps its weights: auto (default: in the library below 1 GiB, "
             "else in OUT.weights beside it), embed (in the library), file (in OUT.weights, "
             "which must stay in the library's folder)"),
    cl::init("auto"), cl::cat(kilncCategory));
cl::opt<bool> quiet("quiet",
                    cl::desc("No status line (stage, pass, kernels, time) on the terminal "
                             "during long compilations"),
                    cl::init(false), cl::cat(kilncCategory));
cl::opt<bool> timing("timing", cl::desc("Print the time of every pass and of LLVM's optimization, code generation and link (stderr)"),
                     cl::init(false), cl::cat(kilncCategory));
cl::opt<uint64_t> maxTensorBytes(
    "max-tensor-bytes",
    cl::desc("The largest tensor, in bytes, the model may declare or compute (default 16 GiB); "
             "larger ones are an error naming the tensor or node"),
    cl::init(kiln::ImportOptions::kDefaultMaxTensorBytes), cl::value_desc("bytes"),
    cl::cat(kilncCategory));
cl::opt<bool> noIndexChecks(
    "no-index-checks",
    cl::desc("Do not check the indices of Gather, GatherElements and GatherND at run time"),
    cl::cat(kilncCategory));
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
      "  kilnc model.onnx [--target=cpu|cuda] [--emit=kiln|linalg|gpu|ptx|llvm|obj|so] [-o out] "
      "[--input-shape x=1x3x224x224] [--freeze-input shape=shape.pb]\n");

  if (listOps) {
    for (const kiln::SupportedOnnxOp &op : kiln::supportedOnnxOps()) {
      outs() << op.name;
      for (int v : op.versions)
        outs() << ' ' << v;
      outs() << '\n';
    }
    return 0;
  }
  if (inputPath.empty()) {
    errs() << "kilnc: error: no model given (kilnc MODEL [options]; --help lists them)\n";
    return 2;
  }

  // A status line on a terminal for compilations over a second; errors
  // clear it before they print.
  kiln::progress::Scope progressLine("kilnc", !quiet && ::isatty(2));
  mlir::MLIRContext ctx;
  mlir::ScopedDiagnosticHandler handler(&ctx, [](mlir::Diagnostic &diag) {
    kiln::progress::clear();
    kiln::printDiagnostic("kilnc", diag);
    return mlir::success();
  });
  kiln::progress::stage("importing " + std::string(llvm::sys::path::filename(inputPath)));

  kiln::ImportOptions options;
  options.maxTensorBytes = maxTensorBytes;
  options.indexChecks = !noIndexChecks;
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
  for (const std::string &spec : freezeInputs) {
    auto [name, file] = StringRef(spec).split('=');
    if (name.empty() || file.empty()) {
      errs() << "kilnc: error: --freeze-input expects NAME=FILE, got '" << spec << "'\n";
      return 2;
    }
    auto value = kiln::readTensorFile(file);
    if (!value) {
      errs() << "kilnc: error: --freeze-input " << name << ": "
             << toString(value.takeError()) << "\n";
      return 2;
    }
    options.frozenInputs[name.str()] = std::move(*value);
  }

  mlir::OwningOpRef<mlir::ModuleOp> module =
      kiln::importOnnxFile(ctx, inputPath, options);
  if (!module)
    return 1;
  kiln::progress::stage("compiling");

  // Every choice that shapes the compilation, parsed and checked once.
  kiln::PipelineOptions pipeline;
  auto fail = [](const Twine &message) {
    kiln::progress::clear();
    errs() << "kilnc: error: " << message << "\n";
    return 2;
  };
  if (auto t = kiln::parseTarget(target))
    pipeline.target = *t;
  else
    return fail(toString(t.takeError()));
  if (auto p = kiln::parsePrecision(precision))
    pipeline.precision = *p;
  else
    return fail(toString(p.takeError()));
  pipeline.gpuArch = gpuArch;
  pipeline.fusion = !noFusion;
  pipeline.fuseAttention = !noFuseAttention;
  pipeline.printIRAfterAll = printIRAfterAll;
  pipeline.timing = timing;
  pipeline.cpu = cpu;
  if (auto w = kiln::parseWeightsPlacement(weights))
    pipeline.weights = *w;
  else
    return fail(toString(w.takeError()));
  // `-o model.so` without --emit asks for a model library.
  if (!emit.getNumOccurrences() && StringRef(outputPath).ends_with(".so"))
    emit = Emit::So;
  kiln::Stage to = emit == Emit::Kiln     ? kiln::Stage::Kiln
                   : emit == Emit::Fused  ? kiln::Stage::Fused
                   : emit == Emit::Linalg ? kiln::Stage::Linalg
                   : emit == Emit::Gpu    ? kiln::Stage::Gpu
                   : emit == Emit::Ptx    ? kiln::Stage::Ptx
                                          : kiln::Stage::LLVM;
  if (Error e = kiln::verifyOptions(pipeline, to))
    return fail(toString(std::move(e)));
  if (elideWeights && pipeline.target != kiln::Target::CUDA)
    return fail("--elide-weights needs --target=cuda");
  bool artifact = emit == Emit::LLVM || emit == Emit::Obj || emit == Emit::So;
  if (pipeline.weights == kiln::WeightsPlacement::File && (!artifact || outputPath == "-"))
    return fail("--weights=file needs a library, object or LLVM IR written to a file "
                "(-o OUT): the weights go to OUT.weights");
  if (outputPath == "-")
    pipeline.weights = kiln::WeightsPlacement::Embed;
  if ((emit == Emit::Obj || emit == Emit::So) && outputPath == "-")
    return fail(Twine("--emit=") + (emit == Emit::So ? "so" : "obj") +
                " needs an output file (-o)");

  if (pipeline.target == kiln::Target::CUDA) {
    kiln::useDefaultCudaToolkit();
    mlir::DialectRegistry registry;
    kiln::registerCodegenDialects(registry);
    ctx.appendDialectRegistry(registry);
  }
  if (!fusionReport.empty()) {
    // From a copy of the module; compilation goes on with the original.
    mlir::FailureOr<std::string> report =
        kiln::fusionReport(*module, pipeline, kiln::Stage::Imported);
    if (mlir::failed(report))
      return 1;
    llvm::StringRef path(fusionReport);
    bool html = path.ends_with_insensitive(".html") || path.ends_with_insensitive(".htm");
    bool svg = path.ends_with_insensitive(".svg");
    std::string text = *report;
    if (pipeline.target == kiln::Target::CUDA && !pipeline.emulation) {
      // Per kernel a roofline time on --gpu-arch; the GPU kernels' ptxas
      // resources and occupancy.
      mlir::FailureOr<std::string> withGpu =
          kiln::addGpuCostsToFusionReport(*module, pipeline, text);
      if (mlir::failed(withGpu))
        return 1;
      text = std::move(*withGpu);
    }
    if (html || svg) {
      std::string trace;
      if (!profileTrace.empty()) {
        auto buffer = llvm::MemoryBuffer::getFile(profileTrace);
        if (!buffer)
          return fail("cannot read the profile trace '" + profileTrace +
                      "': " + buffer.getError().message()),
                 1;
        trace = (*buffer)->getBuffer().str();
      }
      llvm::Expected<std::string> picture = kiln::fusionReportPicture(text, trace, html);
      if (!picture)
        return fail((profileTrace.empty() ? std::string("drawing the fusion report: ")
                                          : "profile trace '" + profileTrace + "': ") +
                    llvm::toString(picture.takeError())),
               1;
      text = std::move(*picture);
    } else if (!profileTrace.empty()) {
      return fail("--profile-trace draws times into an .html or .svg --fusion-report"), 1;
    }
    std::string err;
    auto out = mlir::openOutputFile(fusionReport, &err);
    if (!out)
      return fail(err), 1;
    out->os() << text;
    out->keep();
  }

  // Artifacts start from cleaned kiln IR; the IR stages are printed.
  kiln::Stage stop = artifact ? kiln::Stage::Kiln : to;
  if (!(noCleanup && emit == Emit::Kiln)) {
    mlir::PassManager pm(&ctx);
    kiln::applyDebugOptions(pm, pipeline);
    kiln::buildPipeline(pm, pipeline, kiln::Stage::Imported, stop);
    if (mlir::failed(pm.run(*module)))
      return 1;
  }
  if (artifact) {
    kiln::CpuArtifact kind = emit == Emit::LLVM  ? kiln::CpuArtifact::LLVMIR
                             : emit == Emit::Obj ? kiln::CpuArtifact::Object
                                                 : kiln::CpuArtifact::SharedLibrary;
    if (pipeline.target == kiln::Target::CUDA) {
      kiln::CudaArtifactOptions cuda;
      cuda.pipeline = pipeline;
      cuda.elideWeightBytes = elideWeights ? 4096 : 0;
      return mlir::failed(kiln::emitCudaArtifact(*module, kind, outputPath, cuda)) ? 1 : 0;
    }
    return mlir::failed(kiln::emitCpuArtifact(*module, kind, outputPath, pipeline)) ? 1 : 0;
  }

  std::string err;
  auto out = mlir::openOutputFile(outputPath, &err);
  if (!out) {
    errs() << "kilnc: error: " << err << "\n";
    return 1;
  }
  if (emit == Emit::Ptx) {
    // Every kernel lives in one gpu.module, so there is one PTX text.
    bool any = false;
    module->walk([&](mlir::gpu::BinaryOp binary) {
      for (mlir::Attribute object : binary.getObjects()) {
        out->os() << mlir::cast<mlir::gpu::ObjectAttr>(object).getObject().getValue();
        any = true;
      }
    });
    // A model without kernels (only views and constants) is still one
    // valid, empty PTX module.
    if (!any)
      out->os() << "// the model has no GPU kernels\n.version 8.0\n.target "
                << gpuArch << "\n.address_size 64\n";
    out->keep();
    return 0;
  }
  mlir::OpPrintingFlags flags;
  if (!printWeights)
    flags.elideLargeResourceString(64);
  module->print(out->os(), flags);
  out->keep();
  return 0;
}
