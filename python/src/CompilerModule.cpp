//===- CompilerModule.cpp - kiln._kiln: compile ONNX models from Python --===//
//
// Imports a model (bytes or a path), runs Kiln's pipelines and JIT-compiles
// it for the CPU, or compiles its GPU kernels to PTX. The GIL is released
// while MLIR and LLVM work. Every failure is collected from the context's
// diagnostics, formatted like the command-line tools' messages, and raised
// as one of the package's exception classes.
//
//===----------------------------------------------------------------------===//
#include "kiln/Import/OnnxImporter.h"
#include "kiln/Support/ToolSupport.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Target/CpuJit.h"
#include "kiln/Target/CudaArtifact.h"
#include "kiln/Transforms/FusionReport.h"
#include "kiln_runtime.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <dlfcn.h>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace py = pybind11;
using namespace kiln;

namespace {

/// A compilation failure; becomes kiln.CompileError (or its subclass
/// kiln.UnsupportedOpError, chosen by the package from the message).
struct CompileFailure {
  std::string message;
};
/// A model that compiled but cannot do what was asked (kiln.RuntimeError).
struct RunFailure {
  std::string message;
};


/// Collects the context's diagnostics as the tools print them, without the
/// "tool: error: " prefix: "model.onnx: node 'conv1': message".
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext &ctx)
      : handler(&ctx, [this](mlir::Diagnostic &diag) {
          add(diag);
          return mlir::success();
        }) {}

  /// Everything reported, or `fallback` if nothing was.
  std::string message(llvm::StringRef fallback) const {
    return text.empty() ? fallback.str() : text;
  }

private:
  void add(mlir::Diagnostic &diag, bool note = false) {
    if (diag.getSeverity() != mlir::DiagnosticSeverity::Error && !note)
      return; // warnings and remarks are not failures
    if (!text.empty())
      text += "\n";
    if (note)
      text += "note: ";
    std::string where = describeLocation(diag.getLocation());
    if (!where.empty())
      text += where + ": ";
    text += diag.str();
    for (mlir::Diagnostic &n : diag.getNotes())
      // The pass manager's note dumps the whole module: useless in an
      // exception message.
      if (!llvm::StringRef(n.str()).starts_with("see current operation"))
        add(n, /*note=*/true);
  }

  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

void initializeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // JIT-compiled code calls the runtime (kiln_parallel_for) and finds it
    // among the process's global symbols. Python loads extensions and their
    // libraries with RTLD_LOCAL: promote libkiln_runtime to global.
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&kiln_parallel_for), &info) && info.dli_fname)
      dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    kiln::useDefaultCudaToolkit();
  });
}

/// The IR stages `CompiledModel.ir(stage)` can show, in pipeline order.
/// `target` is the target the stage exists for ("" = both).
struct StageInfo {
  const char *name;
  const char *target;
};
const StageInfo kStages[] = {
    {"kiln", ""},       {"fused", ""},     {"linalg", ""},
    {"gpu", "cuda"},    {"ptx", "cuda"},   {"llvm", "cpu"},
};

std::string printModule(mlir::ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  mlir::OpPrintingFlags flags;
  flags.elideLargeResourceString(64);
  module.print(os, flags);
  return text;
}

/// The PTX of every gpu.binary in the module (one module holds all kernels).
std::string collectPtx(mlir::ModuleOp module, llvm::StringRef arch) {
  std::string ptx;
  module.walk([&](mlir::gpu::BinaryOp binary) {
    for (mlir::Attribute object : binary.getObjects())
      ptx += mlir::cast<mlir::gpu::ObjectAttr>(object).getObject().getValue().str();
  });
  if (ptx.empty())
    ptx = "// the model has no GPU kernels\n.version 8.0\n.target " + arch.str() +
          "\n.address_size 64\n";
  return ptx;
}

/// A model compiled for the CUDA target: its library (a temporary file,
/// removed with the model) and, where a driver and a GPU are present, the
/// runtime's handle on it.
struct CudaLibrary {
  std::string path;
  kiln_model *model = nullptr;
  std::string loadError;
  ~CudaLibrary() {
    kiln_model_free(model);
    if (!path.empty()) {
      llvm::sys::fs::remove(path);
      llvm::sys::fs::remove(path + ".weights");
    }
  }
};

class CompiledModel {
public:
  /// Imports, cleans up and compiles. Called with the GIL released.
  static std::unique_ptr<CompiledModel> create(const std::string &model, bool isPath,
                                               const ImportOptions &options,
                                               const PipelineOptions &pipeline) {
    initializeOnce();
    auto cm = std::unique_ptr<CompiledModel>(new CompiledModel());
    cm->pipeline = pipeline;
    cm->target = pipeline.target == Target::CUDA ? "cuda" : "cpu";
    cm->emulate = pipeline.emulation;
    cm->fusion = pipeline.fusion;
    cm->ctx = std::make_unique<mlir::MLIRContext>();
    mlir::DialectRegistry registry;
    registerCodegenDialects(registry);
    cm->ctx->appendDialectRegistry(registry);

    DiagnosticCollector diags(*cm->ctx);
    cm->kilnModule = isPath ? importOnnxFile(*cm->ctx, model, options)
                            : importOnnxBytes(*cm->ctx, model, options);
    if (!cm->kilnModule)
      throw CompileFailure{diags.message("the model could not be imported")};
    {
      mlir::PassManager pm(cm->ctx.get());
      buildPipeline(pm, pipeline, Stage::Imported, Stage::Kiln);
      if (mlir::failed(pm.run(*cm->kilnModule)))
        throw CompileFailure{diags.message("cleaning up the imported model failed")};
    }
    auto sig = readSignature(*cm->kilnModule);
    if (mlir::failed(sig))
      throw CompileFailure{diags.message("the model's interface is not supported")};
    cm->sig = *sig;

    if (pipeline.target == Target::CPU || pipeline.emulation) {
      mlir::OwningOpRef<mlir::ModuleOp> lowered = cm->kilnModule->clone();
      auto jit = CpuJitModel::compile(*lowered, pipeline);
      if (mlir::failed(jit))
        throw CompileFailure{diags.message("compilation for the CPU failed")};
      cm->jit = std::move(*jit);
    } else {
      // A CUDA model library (kernels, host code), loaded by the runtime
      // like `kiln-run --target=cuda` does. Compiling needs no GPU; loading
      // does, so a load failure is kept for run() to report.
      cm->cuda = std::make_unique<CudaLibrary>();
      llvm::SmallString<128> libPath;
      int fd;
      if (llvm::sys::fs::createTemporaryFile("kiln-cuda-model", "so", fd, libPath))
        throw CompileFailure{"cannot create a temporary file for the compiled model"};
      llvm::sys::Process::SafelyCloseFileDescriptor(fd);
      cm->cuda->path = libPath.str().str();
      CudaArtifactOptions cudaOptions;
      cudaOptions.pipeline = pipeline;
      mlir::OwningOpRef<mlir::ModuleOp> lowered = cm->kilnModule->clone();
      if (mlir::failed(emitCudaArtifact(*lowered, CpuArtifact::SharedLibrary, libPath,
                                        cudaOptions)))
        throw CompileFailure{diags.message("compilation for CUDA failed")};
      cm->cuda->model = kiln_model_load(libPath.c_str());
      if (!cm->cuda->model)
        cm->cuda->loadError = kiln_last_error();
    }
    return cm;
  }

  uintptr_t handle() const {
    if (jit)
      return reinterpret_cast<uintptr_t>(jit->runtimeModel());
    return cuda ? reinterpret_cast<uintptr_t>(cuda->model) : 0;
  }

  /// Why a compiled model cannot run here ("" if it can).
  std::string loadError() const { return cuda ? cuda->loadError : ""; }

  const ModelSignature &signature() const { return sig; }

  std::string ir(const std::string &stage) {
    std::lock_guard<std::mutex> lock(mu);
    DiagnosticCollector diags(*ctx);
    return stageText(stage, diags);
  }

  /// The kernel partition as JSON (kilnc --fusion-report).
  std::string fusionReport() {
    if (!fusion)
      throw RunFailure{"the model was compiled with fusion=False: it has no kernel partition"};
    std::lock_guard<std::mutex> lock(mu);
    DiagnosticCollector diags(*ctx);
    PipelineOptions options = pipeline;
    options.emulation = false;
    mlir::FailureOr<std::string> report = kiln::fusionReport(*kilnModule, options, Stage::Kiln);
    if (mlir::failed(report))
      throw CompileFailure{diags.message("the fusion pipeline failed")};
    return *report;
  }

  void save(const std::string &path) {
    if (cuda) {
      if (std::error_code ec = llvm::sys::fs::copy_file(cuda->path, path))
        throw RunFailure{"cannot write '" + path + "': " + ec.message()};
      return;
    }
    if (emulate)
      throw RunFailure{"a model compiled with emulate=True runs only in process; "
                       "compile it for target=\"cpu\" or \"cuda\" to save it"};
    std::lock_guard<std::mutex> lock(mu);
    DiagnosticCollector diags(*ctx);
    mlir::OwningOpRef<mlir::ModuleOp> clone = kilnModule->clone();
    if (mlir::failed(emitCpuArtifact(*clone, CpuArtifact::SharedLibrary, path, pipeline)))
      throw CompileFailure{diags.message("writing the library '" + path + "' failed")};
  }

private:
  CompiledModel() = default;

  /// Produces (and caches) a stage's text. Holds `mu` or runs before the
  /// object is shared.
  std::string stageText(const std::string &stage, DiagnosticCollector &diags) {
    const StageInfo *info = nullptr;
    for (const StageInfo &s : kStages)
      if (stage == s.name)
        info = &s;
    if (!info) {
      std::string names;
      for (const StageInfo &s : kStages)
        names += std::string(names.empty() ? "" : ", ") + s.name;
      throw py::value_error("unknown IR stage '" + stage + "' (stages: " + names + ")");
    }
    if (stage == "fused" && !fusion)
      throw RunFailure{"the model was compiled with fusion=False: it has no 'fused' stage"};
    if (*info->target && target != info->target)
      throw py::value_error("the '" + stage + "' stage exists for target=\"" +
                            info->target + "\", this model was compiled for target=\"" +
                            target + "\"");
    auto cached = cache.find(stage);
    if (cached != cache.end())
      return cached->second;

    std::string text;
    mlir::OwningOpRef<mlir::ModuleOp> module = kilnModule->clone();
    if (stage == "kiln") {
      text = printModule(*module);
    } else if (stage == "llvm") {
      llvm::SmallString<128> tmp;
      int fd;
      if (llvm::sys::fs::createTemporaryFile("kiln-ir", "ll", fd, tmp))
        throw CompileFailure{"cannot create a temporary file for the LLVM IR"};
      ::close(fd);
      PipelineOptions cpu = pipeline;
      cpu.target = Target::CPU;
      cpu.emulation = false;
      cpu.precision = Precision::FP32;
      bool ok = mlir::succeeded(emitCpuArtifact(*module, CpuArtifact::LLVMIR, tmp, cpu));
      auto buffer = llvm::MemoryBuffer::getFile(tmp);
      llvm::sys::fs::remove(tmp);
      if (!ok || !buffer)
        throw CompileFailure{diags.message("lowering to LLVM IR failed")};
      text = (*buffer)->getBuffer().str();
    } else {
      // fused, linalg, gpu or ptx: the pipeline from the cleaned module, as
      // kilnc --emit=<stage> builds it (GPU stages with emulation off).
      PipelineOptions options = pipeline;
      options.emulation = false;
      Stage to = llvm::cantFail(parseStage(stage));
      mlir::PassManager pm(ctx.get());
      buildPipeline(pm, options, Stage::Kiln, to);
      if (mlir::failed(pm.run(*module)))
        throw CompileFailure{diags.message("the '" + stage + "' pipeline failed")};
      text = stage == "ptx" ? collectPtx(*module, options.gpuArch) : printModule(*module);
    }
    cache[stage] = text;
    return text;
  }

  // Destroyed in reverse order: the modules and the JIT before the context.
  std::unique_ptr<mlir::MLIRContext> ctx;
  mlir::OwningOpRef<mlir::ModuleOp> kilnModule;
  std::unique_ptr<CpuJitModel> jit;
  std::unique_ptr<CudaLibrary> cuda;
  ModelSignature sig;
  PipelineOptions pipeline;
  std::string target;
  bool emulate = false;
  bool fusion = true;
  std::mutex mu;
  std::map<std::string, std::string> cache;
};

py::list specsToPython(const std::vector<TensorSpec> &specs) {
  py::list out;
  for (const TensorSpec &t : specs) {
    py::dict d;
    d["name"] = t.name;
    d["dtype"] = t.dtype;
    d["shape"] = py::tuple(py::cast(t.shape));
    out.append(d);
  }
  return out;
}

} // namespace

PYBIND11_MODULE(_kiln, m) {
  m.doc() = "Kiln's compiler: ONNX import, MLIR pipelines, CPU JIT and PTX.";
  // Leaked on purpose: these must outlive any static destructor ordering.
  static py::object *compileErrorFactory = new py::object(py::none());
  static py::object *runtimeErrorClass = new py::object(py::none());
  m.def("_set_error_classes", [](py::object compileFactory, py::object runtimeCls) {
    *compileErrorFactory = compileFactory;
    *runtimeErrorClass = runtimeCls;
  });
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const CompileFailure &e) {
      if (compileErrorFactory->is_none()) {
        PyErr_SetString(PyExc_RuntimeError, e.message.c_str());
        return;
      }
      py::object exc = (*compileErrorFactory)(e.message);
      PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
    } catch (const RunFailure &e) {
      PyObject *cls = runtimeErrorClass->is_none() ? PyExc_RuntimeError
                                                   : runtimeErrorClass->ptr();
      PyErr_SetString(cls, e.message.c_str());
    }
  });

  py::class_<CompiledModel>(m, "CompiledModel")
      .def("handle", &CompiledModel::handle,
           "Address of the runtime's kiln_model (0 if the model cannot run here).")
      .def("load_error", &CompiledModel::loadError)
      .def("inputs", [](const CompiledModel &c) { return specsToPython(c.signature().inputs); })
      .def("outputs", [](const CompiledModel &c) { return specsToPython(c.signature().outputs); })
      .def("ir", &CompiledModel::ir, py::arg("stage"), py::call_guard<py::gil_scoped_release>())
      .def("fusion_report", &CompiledModel::fusionReport,
           py::call_guard<py::gil_scoped_release>())
      .def("save", &CompiledModel::save, py::arg("path"),
           py::call_guard<py::gil_scoped_release>());

  m.def(
      "declared_inputs",
      [](py::bytes model, bool isPath) -> py::object {
        std::string data = model;
        auto declared = isPath ? readDeclaredInputsFile(data) : readDeclaredInputs(data);
        if (!declared) {
          // Not readable: compile reports why.
          llvm::consumeError(declared.takeError());
          return py::none();
        }
        py::list out;
        for (const DeclaredInput &in : *declared) {
          py::dict d;
          d["name"] = in.name;
          d["dtype"] = in.dtype;
          d["has_shape"] = in.hasShape;
          d["dims"] = py::cast(in.dims);
          d["dim_names"] = py::cast(in.dimNames);
          out.append(d);
        }
        return out;
      },
      "The graph inputs a model declares (initializers excluded): name, ONNX "
      "dtype, dims (-1: symbolic or unknown) and the symbolic dims' names.");

  m.def(
      "compile",
      [](py::bytes model, bool isPath, std::map<std::string, std::vector<int64_t>> shapes,
         std::map<std::string, py::tuple> frozen, std::string target, std::string gpuArch,
         bool emulate, bool fusion, std::string precision, uint64_t maxTensorBytes,
         bool indexChecks, bool fuseAttention) {
        PipelineOptions pipeline;
        if (auto t = parseTarget(target))
          pipeline.target = *t;
        else
          throw py::value_error(llvm::toString(t.takeError()));
        if (auto p = parsePrecision(precision))
          pipeline.precision = *p;
        else
          throw py::value_error(llvm::toString(p.takeError()));
        if (!gpuArch.empty())
          pipeline.gpuArch = gpuArch;
        pipeline.emulation = emulate;
        pipeline.fusion = fusion;
        pipeline.fuseAttention = fuseAttention;
        if (llvm::Error e = verifyOptions(pipeline))
          throw py::value_error(llvm::toString(std::move(e)));
        std::string data = model;
        ImportOptions options;
        if (isPath)
          options.modelDir = llvm::sys::path::parent_path(data).str();
        options.modelName = isPath ? data : "<bytes>";
        options.maxTensorBytes = maxTensorBytes;
        options.indexChecks = indexChecks;
        for (auto &[name, dims] : shapes)
          options.inputShapes[name] = llvm::SmallVector<int64_t>(dims.begin(), dims.end());
        for (auto &[name, value] : frozen) {
          HostTensor t;
          t.name = name;
          t.dtype = value[0].cast<int32_t>();
          t.shape = value[1].cast<std::vector<int64_t>>();
          t.bytes = value[2].cast<std::string>();
          options.frozenInputs[name] = std::move(t);
        }
        py::gil_scoped_release release;
        return CompiledModel::create(data, isPath, options, pipeline);
      },
      py::arg("model"), py::arg("is_path"), py::arg("input_shapes"), py::arg("frozen_inputs"),
      py::arg("target"), py::arg("gpu_arch"), py::arg("emulate"), py::arg("fusion"),
      py::arg("precision") = "fp32",
      py::arg("max_tensor_bytes") = ImportOptions::kDefaultMaxTensorBytes,
      py::arg("index_checks") = true, py::arg("fuse_attention") = true,
      "Imports and compiles a model; see kiln.compile.");
}
