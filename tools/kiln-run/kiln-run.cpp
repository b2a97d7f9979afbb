//===- kiln-run.cpp - compile a model and run it on inputs ---------------===//
//
// Exit codes: 0 ran (and matched the expected outputs, if any), 1 an output
// did not match, 2 the model could not be loaded, compiled or run.
//
//===----------------------------------------------------------------------===//
#include "TensorIO.h"
#include "kiln/Import/OnnxImporter.h"
#include "kiln/Support/ToolSupport.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Support/DataType.h"
#include "kiln/Target/CpuJit.h"
#include "kiln/Target/CudaArtifact.h"
#include "kiln_runtime.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <map>

using namespace llvm;
using namespace kiln;

namespace {
cl::OptionCategory category("kiln-run options");
cl::opt<std::string> modelPath(cl::Positional,
                               cl::desc("<model.onnx | model.onnxtxt | model.so>"),
                               cl::Required, cl::cat(category));
cl::opt<std::string> target("target", cl::desc("Where to run: cpu or cuda"),
                            cl::init("cpu"), cl::cat(category));
cl::opt<bool> emulate("emulate",
                      cl::desc("With --target=cuda: run the GPU kernels' loop structure "
                               "(blocks of threads, index arithmetic, bounds guards) on "
                               "the CPU"),
                      cl::cat(category));
cl::opt<bool> cudaGraph("cuda-graph",
                        cl::desc("With --target=cuda: capture a whole run in a CUDA graph "
                                 "and replay it"),
                        cl::cat(category));
cl::opt<std::string> gpuArch("gpu-arch",
                             cl::desc("With --target=cuda, for a model compiled here: the "
                                      "architecture of its PTX/cubin (sm_80, sm_86, sm_89, sm_90)"),
                             cl::init("sm_80"), cl::cat(category));
cl::opt<std::string> precision(
    "precision",
    cl::desc("With --target=cuda --emulate: operand precision of matmul/conv kernels, "
             "fp32 (default), tf32, fp16 or bf16 (operands rounded, fp32 accumulation)"),
    cl::init("fp32"), cl::cat(category));
cl::list<std::string> inputFiles("input",
                                 cl::desc("Input value, NAME=FILE.npy or NAME=FILE.pb (repeatable)"),
                                 cl::value_desc("name=file"), cl::cat(category));
cl::opt<bool> randomInputs("random-inputs",
                           cl::desc("Fill inputs without a given value with seeded random data"),
                           cl::cat(category));
cl::opt<unsigned> seed("seed", cl::desc("Seed for --random-inputs"), cl::init(0),
                       cl::cat(category));
cl::opt<std::string> testData("test-data",
                              cl::desc("ONNX test-data folder: reads input_*.pb, checks output_*.pb"),
                              cl::value_desc("dir"), cl::cat(category));
cl::opt<double> relTol("rtol", cl::desc("Relative tolerance"), cl::init(1e-3), cl::cat(category));
cl::opt<double> absTol("atol", cl::desc("Absolute tolerance"), cl::init(1e-5), cl::cat(category));
cl::opt<unsigned> bench("bench", cl::desc("Time N runs after warm-up; print min/median"),
                        cl::init(0), cl::cat(category));
cl::opt<std::string> profilePath(
    "profile",
    cl::desc("Time every kernel over --profile-runs runs (after one untimed run); write a "
             "Chrome trace (JSON, for Perfetto or chrome://tracing) and print the kernels by "
             "time with GFLOP/s and GB/s against the machine's peak"),
    cl::value_desc("trace.json"), cl::cat(category));
cl::opt<unsigned> profileRuns("profile-runs", cl::desc("Runs --profile times (default 10)"),
                              cl::init(10), cl::cat(category));
cl::list<std::string> inputShapes("input-shape",
                                  cl::desc("Pin an input shape, NAME=D0xD1x... (repeatable)"),
                                  cl::cat(category));
cl::opt<std::string> weights(
    "weights",
    cl::desc("Where a model compiled here reads its weights: auto (default: in place, in the "
             "imported model's memory, from 1 GiB on), embed (copied into the code), file (in "
             "place)"),
    cl::init("auto"), cl::cat(category));
cl::list<std::string> freezeInputs(
    "freeze-input",
    cl::desc("Compile the given value of this input in as a constant (repeatable)"),
    cl::value_desc("name"), cl::cat(category));
cl::opt<bool> freezeIntegerInputs(
    "freeze-integer-inputs",
    cl::desc("Compile every integer input that has a given value in as a constant "
             "(shape-like inputs of static models)"),
    cl::cat(category));
cl::opt<bool> printOutputs("print-outputs", cl::desc("Print the output values"),
                           cl::cat(category));
cl::opt<bool> emuReport(
    "report",
    cl::desc("With --emulate: check shared memory (bank conflicts per instruction, races "
             "between warps, reads of unfinished async copies) and print what was found"),
    cl::cat(category));
cl::opt<std::string> emuReportJson("report-json",
                                   cl::desc("--report, and its findings as JSON to this file"),
                                   cl::value_desc("file"), cl::cat(category));

/// The emulator's shared-memory findings as a table: per instruction its
/// warp executions and the wavefronts they took against the fewest their
/// bytes need (1.00x: no bank conflicts); then the hazards.
int printEmulationReport() {
  const char *text = kiln_emu_report();
  if (!emuReportJson.empty()) {
    std::error_code ec;
    raw_fd_ostream os(emuReportJson, ec);
    if (ec) {
      errs() << "kiln-run: error: cannot write '" << emuReportJson << "': " << ec.message()
             << "\n";
      return 1;
    }
    os << text << "\n";
  }
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed) {
    errs() << "kiln-run: error: the emulator's report is not JSON: "
           << toString(parsed.takeError()) << "\n";
    return 1;
  }
  const json::Object *root = parsed->getAsObject();
  const json::Array *insts = root ? root->getArray("instructions") : nullptr;
  // Per kernel the sums; then every instruction whose accesses took more
  // wavefronts than their bytes need (bank conflicts), worst first.
  struct Row {
    std::string kernel, op, location;
    int64_t executions = 0, wavefronts = 0, ideal = 0;
  };
  std::map<std::string, Row> kernels;
  std::vector<Row> conflicted;
  uint64_t total = 0, ideal = 0;
  if (insts)
    for (const json::Value &v : *insts) {
      const json::Object *o = v.getAsObject();
      if (!o)
        continue;
      Row r{o->getString("kernel").value_or("").str(), o->getString("op").value_or("").str(),
            o->getString("location").value_or("").str(),
            o->getInteger("executions").value_or(0), o->getInteger("wavefronts").value_or(0),
            o->getInteger("ideal").value_or(0)};
      Row &k = kernels[r.kernel];
      k.kernel = r.kernel;
      k.executions += r.executions, k.wavefronts += r.wavefronts, k.ideal += r.ideal;
      total += r.wavefronts, ideal += r.ideal;
      if (r.wavefronts > r.ideal)
        conflicted.push_back(r);
    }
  auto ratio = [](int64_t w, int64_t i) { return i ? (double)w / i : 1.0; };
  auto shortName = [](std::string s) {
    return s.size() > 48 ? "..." + s.substr(s.size() - 45) : s;
  };
  outs() << "shared memory (GPU emulation): warp-wide accesses and the wavefronts they took\n";
  outs() << format("  %-48s %12s %12s %9s\n", "kernel", "accesses", "wavefronts", "conflict");
  for (auto &[name, k] : kernels)
    outs() << format("  %-48s %12lld %12lld %8.2fx\n", shortName(name).c_str(),
                     (long long)k.executions, (long long)k.wavefronts,
                     ratio(k.wavefronts, k.ideal));
  outs() << format("  total: %llu wavefronts, %llu without bank conflicts (%.2fx)\n",
                   (unsigned long long)total, (unsigned long long)ideal, ratio(total, ideal));
  std::sort(conflicted.begin(), conflicted.end(), [&](const Row &x, const Row &y) {
    return x.wavefronts - x.ideal > y.wavefronts - y.ideal;
  });
  if (!conflicted.empty())
    outs() << "  instructions with bank conflicts (--report-json lists every instruction):\n";
  for (size_t i = 0; i < conflicted.size() && i < 10; ++i) {
    const Row &r = conflicted[i];
    outs() << format("    %-40s %-14s %8.2fx  %s\n", shortName(r.kernel).c_str(), r.op.c_str(),
                     ratio(r.wavefronts, r.ideal), r.location.c_str());
  }
  int64_t hazards = root ? root->getInteger("hazards").value_or(0) : 0;
  outs() << "hazards: " << hazards << "\n";
  if (const json::Array *ex = root ? root->getArray("hazard_examples") : nullptr)
    for (const json::Value &v : *ex)
      if (auto s = v.getAsString())
        outs() << "  " << *s << "\n";
  return 0;
}
/// --threads T. libLLVM already registers a hidden option of that name, so
/// this one is taken out of argv before LLVM's parser sees it.
int takeThreadsOption(int &argc, char **argv) {
  int threads = 0, out = 1;
  for (int i = 1; i < argc; ++i) {
    StringRef arg(argv[i]);
    if (arg == "--threads" || arg == "-threads") {
      if (i + 1 < argc)
        threads = std::atoi(argv[++i]);
      else
        threads = -1;
      continue;
    }
    if (arg.consume_front("--threads=") || arg.consume_front("-threads=")) {
      threads = arg.getAsInteger(10, threads) ? -1 : threads;
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  return threads;
}

int fail(const Twine &msg) {
  errs() << "kiln-run: error: " << msg << "\n";
  return 2;
}

bool isIntegerType(int32_t dtype) {
  return dtype == kInt64 || dtype == kInt32 || dtype == kInt16 || dtype == kInt8 ||
         dtype == kUInt8 || dtype == kUInt16 || dtype == kUInt32 || dtype == kUInt64;
}

/// input_0.pb, input_1.pb, ... in numeric order.
std::vector<std::string> numberedFiles(StringRef dir, StringRef prefix) {
  std::vector<std::string> out;
  for (int i = 0;; ++i) {
    SmallString<256> p(dir);
    sys::path::append(p, prefix + std::to_string(i) + ".pb");
    if (!sys::fs::exists(p))
      break;
    out.push_back(std::string(p));
  }
  return out;
}

std::string shapeString(const std::vector<int64_t> &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? "x" : "") + std::to_string(s[i]);
  return out.empty() ? "scalar" : out;
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](raw_ostream &os) { os << "kiln-run " KILN_VERSION "\n"; });
  cl::HideUnrelatedOptions(category);
  int threads = takeThreadsOption(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Kiln: compile an ONNX model and run it\n\n"
      "  --threads=<T>   threads for compiled code (default: KILN_NUM_THREADS,\n"
      "                  else all cores)\n");
  // Every choice that shapes a compilation here, parsed and checked once.
  PipelineOptions pipeline;
  if (auto t = parseTarget(target))
    pipeline.target = *t;
  else
    return fail(toString(t.takeError()));
  if (auto p = parsePrecision(precision))
    pipeline.precision = *p;
  else
    return fail(toString(p.takeError()));
  pipeline.gpuArch = gpuArch;
  pipeline.emulation = emulate;
  if (auto w = parseWeightsPlacement(weights))
    pipeline.weights = *w;
  else
    return fail(toString(w.takeError()));
  Stage to = pipeline.target == Target::CUDA && !emulate ? Stage::Ptx : Stage::LLVM;
  if (Error e = verifyOptions(pipeline, to))
    return fail(toString(std::move(e)));
  if (cudaGraph && (pipeline.target != Target::CUDA || emulate))
    return fail("--cuda-graph needs --target=cuda (without --emulate)");
  if (threads < 0)
    return fail("--threads expects a positive number");
  if (threads > 0)
    kiln_set_num_threads(threads);

  // Given values, by input name; test-data inputs may also be positional.
  std::map<std::string, HostTensor> given;
  std::vector<HostTensor> positional;
  std::vector<HostTensor> expected;
  // A test-data file that is not a tensor is reported once the model has
  // been read: a model with sequence or optional values (whose test data
  // are SequenceProto / OptionalProto files) is refused for that first.
  std::string testDataError;
  if (!testData.empty()) {
    if (!sys::fs::is_directory(testData))
      return fail("--test-data '" + testData + "' is not a folder");
    for (const std::string &f : numberedFiles(testData, "input_")) {
      auto t = readTensor(f);
      if (!t) {
        std::string message = toString(t.takeError());
        if (testDataError.empty())
          testDataError = message;
        continue;
      }
      positional.push_back(*t);
    }
    for (const std::string &f : numberedFiles(testData, "output_")) {
      auto t = readTensor(f);
      if (!t) {
        std::string message = toString(t.takeError());
        if (testDataError.empty())
          testDataError = message;
        continue;
      }
      expected.push_back(*t);
    }
  }
  for (const std::string &spec : inputFiles) {
    auto [name, file] = StringRef(spec).split('=');
    if (file.empty())
      return fail("--input expects NAME=FILE, got '" + spec + "'");
    auto t = readTensor(file);
    if (!t)
      return fail(toString(t.takeError()));
    given[name.str()] = *t;
  }
  for (HostTensor &t : positional)
    if (!t.name.empty() && !given.count(t.name))
      given[t.name] = t;

  // A compiled library runs through the runtime alone; a model is compiled
  // just in time first.
  mlir::MLIRContext ctx;
  mlir::ScopedDiagnosticHandler handler(&ctx, [](mlir::Diagnostic &diag) {
    printDiagnostic("kiln-run", diag);
    return mlir::success();
  });
  std::unique_ptr<CpuJitModel> jit;
  kiln_model *loaded = nullptr;
  // Freed on every return, errors included.
  auto freeLoaded = llvm::make_scope_exit([&] { kiln_model_free(loaded); });
  kiln_model *runtimeModel = nullptr;
  bool onGpu = pipeline.target == Target::CUDA && !emulate;
  if (StringRef(modelPath).ends_with(".so")) {
    if (emulate)
      return fail("--emulate compiles a model; '" + modelPath + "' is already compiled");
    loaded = kiln_model_load(modelPath.c_str());
    if (!loaded)
      return fail(kiln_last_error());
    runtimeModel = loaded;
    if ((kiln_model_target(loaded) == KILN_TARGET_CUDA) != onGpu)
      return fail("'" + modelPath + "' is compiled for " +
                  (onGpu ? "the CPU; run it without --target=cuda"
                         : "CUDA; run it with --target=cuda"));
  } else {
    ImportOptions options;
    for (const std::string &spec : inputShapes) {
      auto [name, dims] = StringRef(spec).rsplit('=');
      SmallVector<int64_t> shape;
      if (name.empty() || !parseShape(dims, shape))
        return fail("--input-shape expects NAME=D0xD1x..., got '" + spec + "'");
      options.inputShapes[name] = shape;
    }
    for (const std::string &name : freezeInputs) {
      auto it = given.find(name);
      if (it == given.end())
        return fail("--freeze-input " + name + ": no value given for it");
      options.frozenInputs[name] = it->second;
    }
    if (freezeIntegerInputs)
      for (auto &[name, t] : given)
        if (isIntegerType(t.dtype))
          options.frozenInputs[name] = t;
    // An input with symbolic or unknown dims and no --input-shape takes
    // the shape of the value given for it (by name, else the next unnamed
    // test-data value, as the run below matches them): the model is
    // compiled for the shapes it runs on.
    if (modelPath != "-") {
      auto declared = readDeclaredInputsFile(modelPath);
      size_t nextUnnamed = 0;
      std::vector<const HostTensor *> unnamed;
      for (const HostTensor &t : positional)
        if (t.name.empty())
          unnamed.push_back(&t);
      for (const DeclaredInput &in : declared ? *declared : std::vector<DeclaredInput>{}) {
        if (options.frozenInputs.count(in.name))
          continue;
        auto it = given.find(in.name);
        const HostTensor *value = it != given.end() ? &it->second
                                  : nextUnnamed < unnamed.size() ? unnamed[nextUnnamed++]
                                                                 : nullptr;
        bool symbolic = !in.hasShape || llvm::is_contained(in.dims, -1);
        if (value && symbolic && !options.inputShapes.count(in.name))
          options.inputShapes[in.name] = SmallVector<int64_t>(value->shape.begin(), value->shape.end());
      }
      if (!declared)
        consumeError(declared.takeError());
    }

    auto module = importOnnxFile(ctx, modelPath, options);
    if (!module)
      return 2;
    mlir::PassManager pm(&ctx);
    buildPipeline(pm, pipeline, Stage::Imported, Stage::Kiln);
    if (mlir::failed(pm.run(*module)))
      return 2;
    if (onGpu) {
      // Compiled to a CUDA model library in a temporary file, then run
      // through the runtime like any other.
      SmallString<128> libPath;
      int fd;
      // Named after the model, since runtime errors name the library.
      std::string stem = sys::path::stem(modelPath).str();
      if (sys::fs::createTemporaryFile(stem.empty() ? "model" : stem, "so", fd, libPath))
        return fail("cannot create a temporary file for the compiled model");
      sys::Process::SafelyCloseFileDescriptor(fd);
      llvm::scope_exit removeLib([&] {
        sys::fs::remove(libPath);
        sys::fs::remove(libPath + ".weights");
      });
      CudaArtifactOptions cudaOptions;
      cudaOptions.pipeline = pipeline;
      if (mlir::failed(emitCudaArtifact(*module, CpuArtifact::SharedLibrary, libPath,
                                        cudaOptions)))
        return 2;
      loaded = kiln_model_load(libPath.c_str());
      if (!loaded)
        return fail(kiln_last_error());
      runtimeModel = loaded;
    } else {
      auto compiled = CpuJitModel::compile(*module, pipeline);
      if (mlir::failed(compiled))
        return 2;
      jit = std::move(*compiled);
      runtimeModel = jit->runtimeModel();
    }
  }
  if (!testDataError.empty())
    return fail(testDataError);
  if (cudaGraph && kiln_model_set_cuda_graph(runtimeModel, 1) != 0)
    return fail(kiln_last_error());
  if (int elided = kiln_model_elided_weights(runtimeModel))
    errs() << "kiln-run: note: " << elided
           << " weights were left out of this library (kilnc --elide-weights) and filled "
              "with seeded values: its outputs are for timing only\n";
  ModelSignature sig;
  auto specOf = [](const kiln_tensor_info *info) {
    TensorSpec t;
    t.name = info->name;
    t.dtype = info->dtype;
    t.shape.assign(info->shape, info->shape + info->rank);
    return t;
  };
  for (int i = 0; i < kiln_model_num_inputs(runtimeModel); ++i)
    sig.inputs.push_back(specOf(kiln_model_input(runtimeModel, i)));
  for (int i = 0; i < kiln_model_num_outputs(runtimeModel); ++i)
    sig.outputs.push_back(specOf(kiln_model_output(runtimeModel, i)));
  auto runOnce = [&](const std::vector<const void *> &ins,
                     const std::vector<void *> &outs) -> Error {
    if (kiln_model_run(runtimeModel, ins.data(), outs.data()) != 0)
      return createStringError(kiln_last_error());
    return Error::success();
  };

  // Match values to the model's inputs: by name, else by position among
  // the test-data files that were not frozen.
  std::mt19937 rng(seed);
  std::vector<HostTensor> inputs;
  std::vector<HostTensor> unnamed;
  for (HostTensor &t : positional)
    if (t.name.empty())
      unnamed.push_back(t);
  size_t nextUnnamed = 0;
  for (const TensorSpec &spec : sig.inputs) {
    auto it = given.find(spec.name);
    if (it != given.end()) {
      inputs.push_back(it->second);
    } else if (nextUnnamed < unnamed.size()) {
      inputs.push_back(unnamed[nextUnnamed++]);
    } else if (randomInputs) {
      inputs.push_back(randomTensor(spec, rng));
    } else {
      return fail("no value for input '" + spec.name + "' (" + shapeString(spec.shape) +
                  "); give --input, --test-data or --random-inputs");
    }
    HostTensor &t = inputs.back();
    // ONNX test data stores bfloat16 tensors as their uint16 bit patterns.
    if (spec.dtype == kBFloat16 && t.dtype == kUInt16)
      t.dtype = kBFloat16;
    if (t.dtype != spec.dtype || t.shape != spec.shape)
      return fail("input '" + spec.name + "' expects type " + std::to_string(spec.dtype) +
                  " shape " + shapeString(spec.shape) + ", the given value has type " +
                  std::to_string(t.dtype) + " shape " + shapeString(t.shape));
  }

  std::vector<HostTensor> outputs;
  std::vector<const void *> inPtrs;
  std::vector<void *> outPtrs;
  for (const HostTensor &t : inputs)
    inPtrs.push_back(t.bytes.data());
  for (const TensorSpec &spec : sig.outputs) {
    HostTensor t;
    t.name = spec.name;
    t.dtype = spec.dtype;
    t.shape = spec.shape;
    t.bytes.assign(spec.numBytes(), 0);
    outputs.push_back(std::move(t));
  }
  for (HostTensor &t : outputs)
    outPtrs.push_back(t.bytes.data());
  if (!emuReportJson.empty())
    emuReport = true; // --report-json implies --report
  if (emuReport && !emulate)
    return fail("--report needs --emulate (it checks the emulated GPU kernels)");
  if (emuReport) {
    kiln_emu_set_checks(1);
    kiln_emu_report_reset();
  }
  if (Error err = runOnce(inPtrs, outPtrs))
    return fail("running the model failed: " + toString(std::move(err)));
  if (emuReport && printEmulationReport() != 0)
    return 1;

  int status = 0;
  if (!expected.empty()) {
    if (expected.size() != outputs.size())
      return fail("the test data has " + std::to_string(expected.size()) +
                  " outputs, the model " + std::to_string(outputs.size()));
    for (size_t i = 0; i < outputs.size(); ++i) {
      HostTensor &e = expected[i];
      const HostTensor &a = outputs[i];
      if (a.dtype == kBFloat16 && e.dtype == kUInt16)
        e.dtype = kBFloat16;
      outs() << "output '" << a.name << "' (" << shapeString(a.shape) << "): ";
      if (e.shape != a.shape || e.dtype != a.dtype) {
        outs() << "MISMATCH: expected type " << e.dtype << " shape "
               << shapeString(e.shape) << ", got type " << a.dtype << "\n";
        status = 1;
        continue;
      }
      Comparison c = compareTensors(a, e, relTol, absTol);
      outs() << format("max abs error %.3g, max rel error %.3g", c.maxAbsError,
                       c.maxRelError);
      if (c.mismatches) {
        outs() << format(": MISMATCH in %lld elements; first at %lld: got %g, expected %g\n",
                         (long long)c.mismatches, (long long)c.firstMismatch,
                         elementAsDouble(a, c.firstMismatch),
                         elementAsDouble(e, c.firstMismatch));
        status = 1;
      } else {
        outs() << ": OK\n";
      }
    }
  }
  if (printOutputs)
    for (const HostTensor &t : outputs) {
      outs() << t.name << " (" << shapeString(t.shape) << "):";
      int64_t n = t.bytes.size() / dataTypeBytes(t.dtype);
      for (int64_t i = 0; i < std::min<int64_t>(n, 32); ++i)
        outs() << " " << elementAsDouble(t, i);
      outs() << (n > 32 ? " ...\n" : "\n");
    }

  if (!profilePath.empty()) {
    if (profileRuns < 1 || profileRuns > 100000)
      return fail("--profile-runs must be in [1, 100000], got " +
                  std::to_string((unsigned)profileRuns));
    if (kiln_model_profile(runtimeModel, inPtrs.data(), outPtrs.data(), (int)profileRuns,
                           profilePath.c_str()) != 0)
      return fail(kiln_last_error());
    outs() << kiln_model_profile_summary(runtimeModel) << "trace written to " << profilePath
           << "\n";
  }
  if (bench && kiln_model_target(runtimeModel) == KILN_TARGET_CUDA) {
    // Kernels only, timed on the device with CUDA events; the inputs stay
    // on the device between runs.
    std::vector<double> ms(bench);
    if (kiln_model_benchmark(runtimeModel, inPtrs.data(), outPtrs.data(), bench, ms.data()) != 0)
      return fail(kiln_last_error());
    std::sort(ms.begin(), ms.end());
    outs() << format("GPU time over %u runs (CUDA events%s): min %.3f ms, median %.3f ms\n",
                     (unsigned)bench, cudaGraph ? ", CUDA graph" : "", ms.front(),
                     ms[ms.size() / 2]);
  }
  if (bench) {
    using clock = std::chrono::steady_clock;
    for (int i = 0; i < 3; ++i)
      if (Error err = runOnce(inPtrs, outPtrs))
        return fail(toString(std::move(err)));
    std::vector<double> ms;
    for (unsigned i = 0; i < bench; ++i) {
      auto t0 = clock::now();
      if (Error err = runOnce(inPtrs, outPtrs))
        return fail(toString(std::move(err)));
      ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    outs() << format("latency over %u runs: min %.3f ms, median %.3f ms\n", (unsigned)bench,
                     ms.front(), ms[ms.size() / 2]);
  }
  return status;
}
