//===- cuda_model.cpp - running CUDA model libraries ---------------------===//
//
// A CUDA model library (kilnc --target=cuda) exports PTX, maybe a cubin,
// its kernel names, a weight table and a host entry. Here:
//  - the process-wide CUDA state: driver, device, its primary context;
//  - a module cache: libraries with the same kernel image share one module;
//  - per model: kernels, weights uploaded once, and a pool of executions
//    (stream, device arena, input/output buffers, CUDA graph) so that
//    several host threads can run one model at once, each on its own
//    stream and arena;
//  - the kiln_cuda_* functions the host code calls during a run.
// Every driver call goes through check(), which turns a failure into a
// message naming the model, the call and what it was for.
//
//===----------------------------------------------------------------------===//
#include "cuda_model.h"
#include "cuda_driver.h"
#include "kiln_runtime.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace kiln_cuda {

namespace {

constexpr size_t kAlignment = 256;
size_t alignUp(size_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }

/// The process-wide CUDA state, set up by the first CUDA model.
struct Device {
  const Driver *d = nullptr;
  CUdevice device = 0;
  int ordinal = 0;
  CUcontext context = nullptr;
  int ccMajor = 0, ccMinor = 0, optinSharedBytes = 0;
  std::string name;
};

const Device *getDevice(std::string &error) {
  static std::once_flag once;
  static Device dev;
  static std::string initError;
  std::call_once(once, [] {
    std::string err;
    const Driver *d = loadDriver(err);
    if (!d) {
      initError = err;
      return;
    }
    auto fail = [&](const char *call, CUresult r) {
      initError = std::string("CUDA initialization failed: ") + call + ": " + errorName(d, r);
      if (r == CUDA_ERROR_NO_DEVICE)
        initError += "; a CUDA model needs an NVIDIA GPU";
    };
    CUresult r = d->cuInit(0);
    if (r != CUDA_SUCCESS)
      return fail("cuInit", r);
    int count = 0;
    if ((r = d->cuDeviceGetCount(&count)) != CUDA_SUCCESS)
      return fail("cuDeviceGetCount", r);
    if (count == 0) {
      initError = "no CUDA device: the driver is installed but sees no GPU";
      return;
    }
    const char *env = std::getenv("KILN_CUDA_DEVICE");
    dev.ordinal = env ? std::atoi(env) : 0;
    if (dev.ordinal < 0 || dev.ordinal >= count) {
      initError = "KILN_CUDA_DEVICE=" + std::string(env ? env : "") + " but there are " +
                  std::to_string(count) + " CUDA devices";
      return;
    }
    if ((r = d->cuDeviceGet(&dev.device, dev.ordinal)) != CUDA_SUCCESS)
      return fail("cuDeviceGet", r);
    char name[256] = {0};
    if (d->cuDeviceGetName(name, sizeof(name) - 1, dev.device) == CUDA_SUCCESS)
      dev.name = name;
    if ((r = d->cuDeviceGetAttribute(&dev.ccMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                     dev.device)) != CUDA_SUCCESS ||
        (r = d->cuDeviceGetAttribute(&dev.ccMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                     dev.device)) != CUDA_SUCCESS ||
        (r = d->cuDeviceGetAttribute(&dev.optinSharedBytes,
                                     CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                                     dev.device)) != CUDA_SUCCESS)
      return fail("cuDeviceGetAttribute", r);
    // The primary context is shared with anything else in the process
    // (PyTorch, CuPy), so device pointers pass between them.
    if ((r = d->cuDevicePrimaryCtxRetain(&dev.context, dev.device)) != CUDA_SUCCESS)
      return fail("cuDevicePrimaryCtxRetain", r);
    dev.d = d;
  });
  if (!dev.d) {
    error = initError;
    return nullptr;
  }
  return &dev;
}

/// Loaded kernel images, shared by the libraries that embed the same one.
struct CachedModule {
  CUmodule module = nullptr;
  int users = 0;
};
std::mutex moduleMutex;
std::map<std::string, CachedModule> moduleCache;

std::string imageKey(const char *data, size_t size, bool cubin) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (size_t i = 0; i < size; ++i)
    h = (h ^ (unsigned char)data[i]) * 1099511628211ull;
  return (cubin ? "cubin:" : "ptx:") + std::to_string(size) + ":" + std::to_string(h);
}

bool parseArch(const char *arch, int &major, int &minor) {
  if (!arch || std::strncmp(arch, "sm_", 3) != 0 || std::strlen(arch) < 5)
    return false;
  int v = std::atoi(arch + 3);
  major = v / 10;
  minor = v % 10;
  return v > 0;
}

} // namespace

struct Kernel {
  std::string name;
  CUfunction function = nullptr;      // belongs to the model's module
  int dynamicSharedLimit = 48 * 1024; // what the function allows so far
};

struct Exec;

/// A loaded model. It owns its executions, its weight block and a reference
/// to its cached module, and its destructor releases them: a load that fails
/// half-way only has to return.
struct Model {
  std::string name;
  const Device *dev = nullptr;
  const Driver *d = nullptr;
  void (*entry)(void *, void **) = nullptr;
  std::string moduleKey; // set while the model holds a reference to the cached module
  std::vector<Kernel> kernels;
  std::mutex kernelMutex; // guards dynamicSharedLimit
  CUdeviceptr weightBlock = 0;
  size_t weightBytes = 0;
  std::vector<CUdeviceptr> weights;
  size_t elidedWeights = 0; // compiled with --elide-weights: filled at load
  size_t arenaBytes = 0;
  std::vector<TensorShape> inputs, outputs; // outputs: the model's, then its index checks
  size_t checks = 0;
  std::atomic<bool> graph{false};
  bool syncEachKernel = false;
  std::mutex poolMutex;
  std::vector<std::unique_ptr<Exec>> execs;
  std::vector<Exec *> idle;

  Model() = default;
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;
  ~Model();
};

/// One run in flight: its stream, arena, host-run buffers and graph. Its
/// destructor releases them, in the model's context, which the caller has
/// made current.
struct Exec {
  Model *model = nullptr;
  CUstream stream = nullptr;
  CUdeviceptr arena = 0;
  std::vector<uint64_t> inputs, outputs; // device buffers for runs on host buffers
  CUgraphExec graph = nullptr;
  std::vector<uint64_t> graphPointers; // the buffers the graph was captured with
  CUevent start = nullptr, stop = nullptr;
  bool capturing = false;
  std::string error; // the first failure of the current run
  int launched = 0;
  /// Set for a profiled run: a pair of events around every launch.
  std::vector<std::pair<int32_t, std::pair<CUevent, CUevent>>> *launchEvents = nullptr;

  explicit Exec(Model *model) : model(model) {}
  Exec(const Exec &) = delete;
  Exec &operator=(const Exec &) = delete;
  ~Exec();

  /// Forgets the driver's handles without releasing them, for when the
  /// model's context cannot be made current and the driver would refuse.
  void abandon() {
    stream = nullptr;
    arena = 0;
    inputs.clear();
    outputs.clear();
    graph = nullptr;
    start = stop = nullptr;
  }

  bool check(CUresult r, const std::string &what) {
    if (r == CUDA_SUCCESS)
      return true;
    if (error.empty())
      error = "model '" + model->name + "': " + what + " failed: " + errorName(model->d, r);
    return false;
  }
};

namespace {

/// Sets `error` to the failure of a driver call made for the model; false.
bool failCall(const Model *m, const std::string &what, CUresult r, std::string &error) {
  error = "model '" + m->name + "': " + what + " failed: " + errorName(m->d, r);
  return false;
}

bool setCurrent(Model *m, std::string &error) {
  CUresult r = m->d->cuCtxSetCurrent(m->dev->context);
  return r == CUDA_SUCCESS || failCall(m, "cuCtxSetCurrent", r, error);
}

/// Drops a model's reference to a cached module; the last user unloads it.
void releaseModule(const Driver *d, const std::string &key) {
  std::lock_guard<std::mutex> lock(moduleMutex);
  auto it = moduleCache.find(key);
  if (it != moduleCache.end() && --it->second.users == 0) {
    d->cuModuleUnload(it->second.module);
    moduleCache.erase(it);
  }
}

} // namespace

Exec::~Exec() {
  const Driver *d = model ? model->d : nullptr;
  if (!d)
    return;
  if (graph)
    d->cuGraphExecDestroy(graph);
  for (uint64_t p : inputs)
    if (p)
      d->cuMemFree(p);
  for (uint64_t p : outputs)
    if (p)
      d->cuMemFree(p);
  if (arena)
    d->cuMemFree(arena);
  if (start)
    d->cuEventDestroy(start);
  if (stop)
    d->cuEventDestroy(stop);
  if (stream)
    d->cuStreamDestroy(stream);
}

Model::~Model() {
  // Without a driver (the device could not be set up) the model got nothing.
  if (!d)
    return;
  std::string ignored;
  if (!setCurrent(this, ignored)) {
    // The driver would release nothing without the context (at process exit
    // it may be shut down already): the executions go without calling it,
    // and the weights and the module's reference are left as they are.
    for (auto &e : execs)
      e->abandon();
    execs.clear();
    return;
  }
  // The executions go first, while the context is current and the members
  // they read are alive; then the weights, then the module.
  idle.clear();
  execs.clear();
  if (weightBlock)
    d->cuMemFree(weightBlock);
  if (!moduleKey.empty())
    releaseModule(d, moduleKey);
}

namespace {

/// An idle execution of the model, or a new one.
Exec *acquire(Model *m, std::string &error) {
  {
    std::lock_guard<std::mutex> lock(m->poolMutex);
    if (!m->idle.empty()) {
      Exec *e = m->idle.back();
      m->idle.pop_back();
      e->error.clear();
      return e;
    }
  }
  auto e = std::make_unique<Exec>(m);
  const Driver *d = m->d;
  bool ok = e->check(d->cuStreamCreate(&e->stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate") &&
            e->check(d->cuEventCreate(&e->start, 0), "cuEventCreate") &&
            e->check(d->cuEventCreate(&e->stop, 0), "cuEventCreate");
  if (ok && m->arenaBytes)
    ok = e->check(d->cuMemAlloc(&e->arena, m->arenaBytes),
                  "cuMemAlloc of the " + std::to_string(m->arenaBytes) +
                      "-byte arena for intermediate tensors");
  for (size_t i = 0; ok && i < m->inputs.size(); ++i) {
    CUdeviceptr p = 0;
    ok = e->check(d->cuMemAlloc(&p, std::max<size_t>(m->inputs[i].bytes, 1)),
                  "cuMemAlloc for input " + std::to_string(i));
    e->inputs.push_back(p);
  }
  for (size_t i = 0; ok && i < m->outputs.size(); ++i) {
    CUdeviceptr p = 0;
    ok = e->check(d->cuMemAlloc(&p, std::max<size_t>(m->outputs[i].bytes, 1)),
                  "cuMemAlloc for output " + std::to_string(i));
    e->outputs.push_back(p);
  }
  if (!ok) {
    error = e->error;
    return nullptr; // e releases what it got
  }
  std::lock_guard<std::mutex> lock(m->poolMutex);
  m->execs.push_back(std::move(e));
  return m->execs.back().get();
}

void release(Model *m, Exec *e) {
  std::lock_guard<std::mutex> lock(m->poolMutex);
  m->idle.push_back(e);
}

/// Calls the host entry once with descriptors of the given device buffers.
void callEntry(Exec *e, const uint64_t *ins, const uint64_t *outs) {
  Model *m = e->model;
  std::vector<std::vector<int64_t>> descriptors;
  auto add = [&](uint64_t p, const TensorShape &t) {
    std::vector<int64_t> desc{(int64_t)p, (int64_t)p, 0};
    desc.insert(desc.end(), t.shape.begin(), t.shape.end());
    std::vector<int64_t> strides(t.shape.size());
    int64_t s = 1;
    for (size_t k = t.shape.size(); k-- > 0;) {
      strides[k] = s;
      s *= t.shape[k];
    }
    desc.insert(desc.end(), strides.begin(), strides.end());
    descriptors.push_back(std::move(desc));
  };
  for (size_t i = 0; i < m->inputs.size(); ++i)
    add(ins[i], m->inputs[i]);
  for (size_t i = 0; i < m->outputs.size(); ++i)
    if (m->outputs[i].aliasOf < 0)
      add(outs[i], m->outputs[i]);
  std::vector<void *> args;
  for (auto &desc : descriptors)
    args.push_back(desc.data());
  e->launched = 0;
  m->entry(e, args.data());
  // An output that is the same tensor as an earlier one: a copy on the
  // run's stream (captured with the rest in a CUDA graph).
  for (size_t i = 0; i < m->outputs.size() && e->error.empty(); ++i) {
    int j = m->outputs[i].aliasOf;
    if (j >= 0 && m->outputs[i].bytes)
      e->check(m->d->cuMemcpyDtoDAsync(outs[i], outs[j], m->outputs[i].bytes, e->stream),
               "copying output " + std::to_string(j) + " to output " + std::to_string(i));
  }
}

/// Queues one run on the execution's stream: the entry directly, or its
/// captured CUDA graph.
bool enqueueRun(Exec *e, const uint64_t *ins, const uint64_t *outs) {
  Model *m = e->model;
  const Driver *d = m->d;
  if (!m->graph) {
    callEntry(e, ins, outs);
    return e->error.empty();
  }
  std::vector<uint64_t> pointers(ins, ins + m->inputs.size());
  pointers.insert(pointers.end(), outs, outs + m->outputs.size());
  if (e->graph && pointers != e->graphPointers) {
    d->cuGraphExecDestroy(e->graph);
    e->graph = nullptr;
  }
  if (!e->graph) {
    if (!e->check(d->cuStreamBeginCapture(e->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                  "cuStreamBeginCapture (CUDA graph capture of a run)"))
      return false;
    e->capturing = true;
    callEntry(e, ins, outs);
    e->capturing = false;
    CUgraph graph = nullptr;
    CUresult r = d->cuStreamEndCapture(e->stream, &graph);
    if (!e->error.empty()) {
      if (graph)
        d->cuGraphDestroy(graph);
      return false;
    }
    if (!e->check(r, "cuStreamEndCapture (CUDA graph capture of a run)"))
      return false;
    r = d->cuGraphInstantiateWithFlags(&e->graph, graph, 0);
    d->cuGraphDestroy(graph);
    if (!e->check(r, "cuGraphInstantiateWithFlags"))
      return false;
    e->graphPointers = pointers;
  }
  return e->check(d->cuGraphLaunch(e->graph, e->stream), "cuGraphLaunch");
}

bool finish(Exec *e, std::string &error) {
  CUresult r = e->model->d->cuStreamSynchronize(e->stream);
  if (r != CUDA_SUCCESS && e->error.empty())
    e->error = "model '" + e->model->name + "': a kernel of the run failed (" +
               errorName(e->model->d, r) + ", reported by cuStreamSynchronize after " +
               std::to_string(e->launched) +
               " launches; KILN_CUDA_SYNC=1 synchronizes after each kernel to name it)";
  if (!e->error.empty()) {
    error = e->error;
    return false;
  }
  return true;
}

/// Values for a weight the compiler left out: uniform in [-1/32, 1/32],
/// from a generator seeded by KILN_WEIGHT_SEED (default 0) and the weight's
/// index, so that runs and machines see the same model.
std::vector<float> elidedWeightValues(int64_t bytes, int64_t index) {
  const char *seedText = std::getenv("KILN_WEIGHT_SEED");
  uint64_t state = (seedText ? std::strtoull(seedText, nullptr, 10) : 0) * 0x9e3779b97f4a7c15ull +
                   (uint64_t)index + 1;
  std::vector<float> values((size_t)(bytes + 3) / 4);
  for (float &v : values) {
    // splitmix64
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    v = (float)((double)(z >> 11) / (double)(1ull << 53) * 2.0 - 1.0) / 32.0f;
  }
  return values;
}

} // namespace

size_t elidedWeights(const Model *model) { return model->elidedWeights; }

namespace {

/// What a CUDA model library exports (kiln_runtime.h names the symbols).
struct LibrarySymbols {
  void (*entry)(void *, void **) = nullptr;
  const char *ptx = nullptr;
  const char *arch = nullptr;
  const char *cubin = nullptr;
  const int64_t *cubinSize = nullptr;
  const char *kernelNames = nullptr; // one a line
  const int64_t *arenaBytes = nullptr;
  const int64_t *numWeights = nullptr;
  void (*weightTable)(const void **, int64_t *) = nullptr;
};

bool findSymbols(void *lib, const std::string &name, LibrarySymbols &s, std::string &error) {
  auto sym = [&](const char *symbol) { return dlsym(lib, symbol); };
  s.entry = (void (*)(void *, void **))sym(KILN_CUDA_ENTRY_SYMBOL);
  s.ptx = (const char *)sym(KILN_CUDA_PTX_SYMBOL);
  s.arch = (const char *)sym(KILN_CUDA_ARCH_SYMBOL);
  s.cubin = (const char *)sym(KILN_CUDA_CUBIN_SYMBOL);
  s.cubinSize = (const int64_t *)sym(KILN_CUDA_CUBIN_SIZE_SYMBOL);
  s.kernelNames = (const char *)sym(KILN_CUDA_KERNELS_SYMBOL);
  s.arenaBytes = (const int64_t *)sym(KILN_CUDA_ARENA_BYTES_SYMBOL);
  s.numWeights = (const int64_t *)sym(KILN_CUDA_NUM_WEIGHTS_SYMBOL);
  s.weightTable = (void (*)(const void **, int64_t *))sym(KILN_CUDA_WEIGHTS_SYMBOL);
  if (!s.entry || !s.ptx || !s.arch || !s.cubin || !s.cubinSize || !s.kernelNames ||
      !s.arenaBytes || !s.numWeights || !s.weightTable) {
    error = "'" + name + "' is not a complete Kiln CUDA model library (missing symbols)";
    return false;
  }
  return true;
}

std::string deviceArch(const Device *dev) {
  return "sm_" + std::to_string(dev->ccMajor * 10 + dev->ccMinor);
}

/// "device 0 (name, sm_80)", for messages.
std::string describeDevice(const Device *dev) {
  return "device " + std::to_string(dev->ordinal) + " (" + dev->name + ", " + deviceArch(dev) +
         ")";
}

/// Binds the model to the process's device (set up on first use) and makes
/// the device's context current for the steps that follow.
bool bindDevice(Model *m, std::string &error) {
  std::string err;
  const Device *dev = getDevice(err);
  if (!dev) {
    error = "cannot run CUDA model '" + m->name + "': " + err;
    return false;
  }
  m->dev = dev;
  m->d = dev->d;
  return setCurrent(m, error);
}

/// Whether the library runs on the device, and with which image: the cubin
/// runs on its own major architecture at an equal or newer minor; PTX
/// JIT-compiles for any device at least as new as its target.
bool checkArch(const Model *m, const LibrarySymbols &s, bool &cubinFits, std::string &error) {
  int major = 0, minor = 0;
  if (!parseArch(s.arch, major, minor)) {
    error = "model '" + m->name + "' names an unknown GPU architecture '" + s.arch + "'";
    return false;
  }
  const Device *dev = m->dev;
  if (dev->ccMajor * 10 + dev->ccMinor < major * 10 + minor) {
    error = "model '" + m->name + "' was built for " + s.arch + ", but device " +
            std::to_string(dev->ordinal) + " (" + dev->name + ") is " + deviceArch(dev) +
            ": rebuild it with kilnc --gpu-arch=" + deviceArch(dev);
    return false;
  }
  cubinFits = *s.cubinSize > 0 && dev->ccMajor == major && dev->ccMinor >= minor;
  return true;
}

/// The module of the library's kernel image, from the cache when a library
/// with the same image is loaded already; the model takes a reference to it
/// (moduleKey), which its destructor drops. The cubin comes first when it
/// fits the device; the PTX when there is none, or when the driver rejects
/// the cubin (a driver older than the ptxas that made it). Null with `error`
/// listing each image's failure.
CUmodule loadModule(Model *m, const LibrarySymbols &s, bool cubinFits, std::string &error) {
  const Driver *d = m->d;
  std::lock_guard<std::mutex> lock(moduleMutex);
  std::string failures;
  for (bool useCubin : {true, false}) {
    if (useCubin && !cubinFits)
      continue;
    const char *image = useCubin ? s.cubin : s.ptx;
    size_t imageSize = useCubin ? (size_t)*s.cubinSize : std::strlen(s.ptx);
    std::string key = imageKey(image, imageSize, useCubin);
    auto it = moduleCache.find(key);
    if (it == moduleCache.end()) {
      char log[8192] = {0};
      int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
      void *values[] = {log, (void *)(uintptr_t)sizeof(log)};
      CUmodule loaded = nullptr;
      CUresult r = d->cuModuleLoadDataEx(&loaded, image, 2, options, values);
      if (r != CUDA_SUCCESS) {
        failures += std::string(failures.empty() ? "" : "; ") +
                    (useCubin ? "cubin" : "PTX, JIT-compiled by the driver,") + " for " +
                    s.arch + ": cuModuleLoadDataEx failed: " + errorName(d, r) +
                    (log[0] ? std::string(": ") + log : "");
        continue;
      }
      it = moduleCache.emplace(key, CachedModule{loaded, 0}).first;
    }
    it->second.users++;
    m->moduleKey = key;
    return it->second.module;
  }
  error = "model '" + m->name + "': loading its kernels on " + describeDevice(m->dev) +
          " failed: " + failures;
  return nullptr;
}

/// The kernels the library lists (one a line), found in its module. A
/// library without kernels loads no module.
bool loadKernels(Model *m, const LibrarySymbols &s, bool cubinFits, std::string &error) {
  std::vector<std::string> names;
  for (const char *p = s.kernelNames; *p;) {
    const char *nl = std::strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : std::strlen(p);
    names.emplace_back(p, len);
    p += len + (nl ? 1 : 0);
  }
  if (names.empty())
    return true;
  CUmodule module = loadModule(m, s, cubinFits, error);
  if (!module)
    return false;
  for (const std::string &k : names) {
    Kernel kernel;
    kernel.name = k;
    CUresult r = m->d->cuModuleGetFunction(&kernel.function, module, k.c_str());
    if (r != CUDA_SUCCESS)
      return failCall(m, "finding kernel '" + k + "' (cuModuleGetFunction)", r, error);
    m->kernels.push_back(std::move(kernel));
  }
  return true;
}

/// Weights: one device block, uploaded once. Weights the compiler left out
/// (kilnc --elide-weights) get seeded values: the library is for timing only.
bool uploadWeights(Model *m, const LibrarySymbols &s, std::string &error) {
  const Driver *d = m->d;
  int64_t n = *s.numWeights;
  std::vector<const void *> data(n);
  std::vector<int64_t> bytes(n);
  if (n)
    s.weightTable(data.data(), bytes.data());
  std::vector<size_t> offsets(n);
  size_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    offsets[i] = total;
    total = alignUp(total + (size_t)std::max<int64_t>(bytes[i], 1));
  }
  if (total) {
    CUdeviceptr block = 0;
    CUresult r = d->cuMemAlloc(&block, total);
    if (r != CUDA_SUCCESS)
      return failCall(m, "cuMemAlloc of " + std::to_string(total) + " bytes for the weights", r,
                      error);
    m->weightBlock = block;
    m->weightBytes = total;
    std::vector<std::vector<float>> filled;
    for (int64_t i = 0; i < n; ++i)
      if (!data[i] && bytes[i]) {
        filled.push_back(elidedWeightValues(bytes[i], i));
        data[i] = filled.back().data();
        ++m->elidedWeights;
      }
    CUstream stream = nullptr;
    r = d->cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING);
    for (int64_t i = 0; r == CUDA_SUCCESS && i < n; ++i)
      r = d->cuMemcpyHtoDAsync(m->weightBlock + offsets[i], data[i], bytes[i], stream);
    if (r == CUDA_SUCCESS)
      r = d->cuStreamSynchronize(stream);
    if (stream)
      d->cuStreamDestroy(stream);
    if (r != CUDA_SUCCESS)
      return failCall(m, "uploading the weights", r, error);
  }
  for (int64_t i = 0; i < n; ++i)
    m->weights.push_back(m->weightBlock + offsets[i]);
  return true;
}

/// With KILN_CUDA_VERBOSE set, one line on what the load did.
void reportLoad(const Model *m) {
  const char *verbose = std::getenv("KILN_CUDA_VERBOSE");
  if (!verbose || !*verbose || std::strcmp(verbose, "0") == 0)
    return;
  std::fprintf(stderr,
               "kiln: model '%s' on %s: %zu kernels from %s, %zu bytes of weights "
               "(%zu of them filled with seeded values), %zu-byte arena per run\n",
               m->name.c_str(), describeDevice(m->dev).c_str(), m->kernels.size(),
               m->moduleKey.empty() ? "no module"
               : m->moduleKey.compare(0, 6, "cubin:") == 0 ? "the cubin"
                                                            : "the PTX (driver JIT)",
               m->weightBytes, m->elidedWeights, m->arenaBytes);
}

} // namespace

Model *load(void *lib, const std::string &name, std::vector<TensorShape> inputs,
            std::vector<TensorShape> outputs, size_t checks, std::string &error) {
  LibrarySymbols s;
  if (!findSymbols(lib, name, s, error))
    return nullptr;
  // Each step below sets `error` and returns false on failure; deleting the
  // model then releases what the steps before got.
  auto m = std::make_unique<Model>();
  m->name = name;
  m->entry = s.entry;
  m->arenaBytes = (size_t)*s.arenaBytes;
  m->inputs = std::move(inputs);
  m->outputs = std::move(outputs);
  m->checks = std::min(checks, m->outputs.size());
  const char *syncEnv = std::getenv("KILN_CUDA_SYNC");
  m->syncEachKernel = syncEnv && *syncEnv && std::strcmp(syncEnv, "0") != 0;
  bool cubinFits = false;
  if (!bindDevice(m.get(), error) || !checkArch(m.get(), s, cubinFits, error) ||
      !loadKernels(m.get(), s, cubinFits, error) || !uploadWeights(m.get(), s, error))
    return nullptr;
  reportLoad(m.get());
  return m.release();
}

void destroy(Model *m) { delete m; }

void setGraph(Model *m, bool enable) { m->graph = enable; }

/// Queues the copies of host inputs into the execution's device buffers.
static bool upload(Exec *e, const void *const *inputs) {
  Model *m = e->model;
  for (size_t i = 0; i < m->inputs.size(); ++i)
    if (!e->check(m->d->cuMemcpyHtoDAsync(e->inputs[i], inputs[i], m->inputs[i].bytes,
                                          e->stream),
                  "copying input " + std::to_string(i) + " to the device"))
      return false;
  return true;
}

/// Queues the copies of the execution's outputs into host buffers.
static bool download(Exec *e, void *const *outputs) {
  Model *m = e->model;
  for (size_t i = 0; i < m->outputs.size(); ++i)
    if (!e->check(m->d->cuMemcpyDtoHAsync(outputs[i], e->outputs[i], m->outputs[i].bytes,
                                          e->stream),
                  "copying output " + std::to_string(i) + " from the device"))
      return false;
  return true;
}

bool runHost(Model *m, const void *const *inputs, void *const *outputs, std::string &error) {
  if (!setCurrent(m, error))
    return false;
  Exec *e = acquire(m, error);
  if (!e)
    return false;
  bool ok = upload(e, inputs) && enqueueRun(e, e->inputs.data(), e->outputs.data()) &&
            download(e, outputs);
  ok = finish(e, error);
  release(m, e);
  return ok;
}

bool runDevice(Model *m, const uint64_t *inputs, const uint64_t *outputs, void *stream,
               int64_t *checkResults, std::string &error) {
  if (!setCurrent(m, error))
    return false;
  if (stream) {
    CUresult r = m->d->cuStreamSynchronize((CUstream)stream);
    if (r != CUDA_SUCCESS) {
      error = "model '" + m->name + "': cuStreamSynchronize of the caller's stream failed: " +
              errorName(m->d, r);
      return false;
    }
  }
  Exec *e = acquire(m, error);
  if (!e)
    return false;
  // The caller's outputs, then the execution's own buffers for the checks.
  size_t visible = m->outputs.size() - m->checks;
  std::vector<uint64_t> results(outputs, outputs + visible);
  results.insert(results.end(), e->outputs.begin() + visible, e->outputs.end());
  bool ok = enqueueRun(e, inputs, results.data());
  for (size_t i = visible; ok && i < m->outputs.size(); ++i) {
    ok = e->check(m->d->cuMemcpyDtoHAsync(checkResults, e->outputs[i], m->outputs[i].bytes,
                                          e->stream),
                  "copying index check " + std::to_string(i - visible) + " from the device");
    checkResults += m->outputs[i].bytes / sizeof(int64_t);
  }
  ok = finish(e, error) && ok;
  release(m, e);
  return ok;
}

bool benchmark(Model *m, const void *const *inputs, void *const *outputs, int runs,
               double *ms, std::string &error) {
  if (!setCurrent(m, error))
    return false;
  Exec *e = acquire(m, error);
  if (!e)
    return false;
  const Driver *d = m->d;
  bool ok = upload(e, inputs) && enqueueRun(e, e->inputs.data(), e->outputs.data()) &&
            finish(e, error);
  for (int k = 0; ok && k < runs; ++k) {
    ok = e->check(d->cuEventRecord(e->start, e->stream), "cuEventRecord") &&
         enqueueRun(e, e->inputs.data(), e->outputs.data()) &&
         e->check(d->cuEventRecord(e->stop, e->stream), "cuEventRecord") &&
         e->check(d->cuEventSynchronize(e->stop), "cuEventSynchronize (a kernel failed)");
    float t = 0;
    ok = ok && e->check(d->cuEventElapsedTime(&t, e->start, e->stop), "cuEventElapsedTime");
    ms[k] = t;
  }
  ok = ok && download(e, outputs);
  ok = finish(e, error) && ok;
  release(m, e);
  return ok;
}

bool profileRun(Model *m, const void *const *inputs, void *const *outputs,
                std::vector<LaunchTime> &launches, std::string &error) {
  if (!setCurrent(m, error))
    return false;
  Exec *e = acquire(m, error);
  if (!e)
    return false;
  const Driver *d = m->d;
  std::vector<std::pair<int32_t, std::pair<CUevent, CUevent>>> events;
  bool ok = upload(e, inputs) &&
            e->check(d->cuEventRecord(e->start, e->stream), "cuEventRecord");
  if (ok) {
    // Launch by launch (no CUDA graph), each between two events.
    e->launchEvents = &events;
    callEntry(e, e->inputs.data(), e->outputs.data());
    e->launchEvents = nullptr;
    ok = e->error.empty();
  }
  ok = ok && download(e, outputs);
  ok = finish(e, error) && ok;
  launches.clear();
  for (auto &[kernel, pair] : events) {
    float offset = 0, duration = 0;
    if (ok)
      ok = e->check(d->cuEventElapsedTime(&offset, e->start, pair.first), "cuEventElapsedTime") &&
           e->check(d->cuEventElapsedTime(&duration, pair.first, pair.second),
                    "cuEventElapsedTime");
    launches.push_back({kernel, offset, duration});
    d->cuEventDestroy(pair.first);
    d->cuEventDestroy(pair.second);
  }
  if (!ok && error.empty())
    error = e->error;
  release(m, e);
  return ok;
}

std::vector<std::string> kernelNames(const Model *m) {
  std::vector<std::string> names;
  for (const Kernel &k : m->kernels)
    names.push_back(k.name);
  return names;
}

std::string devicePeaks(double &gflops, double &gbytes) {
  gflops = gbytes = 0;
  std::string error;
  const Device *dev = getDevice(error);
  if (!dev)
    return "GPU peaks unknown (" + error + ")";
  auto attr = [&](int which) {
    int v = 0;
    return dev->d->cuDeviceGetAttribute(&v, which, dev->device) == CUDA_SUCCESS ? v : 0;
  };
  // CU_DEVICE_ATTRIBUTE_ MULTIPROCESSOR_COUNT, CLOCK_RATE (kHz),
  // MEMORY_CLOCK_RATE (kHz), GLOBAL_MEMORY_BUS_WIDTH (bits).
  int sms = attr(16), clockKHz = attr(13), memKHz = attr(36), busBits = attr(37);
  // FP32 lanes per SM: 64 on sm_80 (and older), 128 on sm_86 and newer.
  int lanes = dev->ccMajor * 10 + dev->ccMinor >= 86 ? 128 : 64;
  gflops = 2.0 * sms * lanes * clockKHz * 1e-6;
  gbytes = 2.0 * memKHz * 1e3 * (busBits / 8) * 1e-9;
  char text[256];
  std::snprintf(text, sizeof text,
                "%s (sm_%d%d): %.0f GFLOP/s f32 on CUDA cores (%d SMs x %d lanes x %.2f GHz), "
                "memory %.0f GB/s (%d-bit bus at %.2f GHz)",
                dev->name.c_str(), dev->ccMajor, dev->ccMinor, gflops, sms, lanes,
                clockKHz * 1e-6, gbytes, busBits, memKHz * 1e-6);
  return text;
}

/// Device memory for callers (the Python package's device tensors): on the
/// device and in the primary context that CUDA models run in.
namespace {
const Device *currentDevice(const char *what, std::string &error) {
  const Device *dev = getDevice(error);
  if (!dev)
    return nullptr;
  CUresult r = dev->d->cuCtxSetCurrent(dev->context);
  if (r != CUDA_SUCCESS) {
    error = std::string(what) + ": cuCtxSetCurrent failed: " + errorName(dev->d, r);
    return nullptr;
  }
  return dev;
}
} // namespace

int deviceOrdinal(std::string &error) {
  const Device *dev = getDevice(error);
  return dev ? dev->ordinal : -1;
}

bool deviceAlloc(size_t bytes, uint64_t &ptr, std::string &error) {
  const Device *dev = currentDevice("kiln_cuda_device_alloc", error);
  if (!dev)
    return false;
  CUdeviceptr p = 0;
  CUresult r = dev->d->cuMemAlloc(&p, std::max<size_t>(bytes, 1));
  if (r != CUDA_SUCCESS) {
    error = "kiln_cuda_device_alloc: cuMemAlloc of " + std::to_string(bytes) +
            " bytes failed: " + errorName(dev->d, r);
    return false;
  }
  ptr = (uint64_t)p;
  return true;
}

bool deviceFree(uint64_t ptr, std::string &error) {
  const Device *dev = currentDevice("kiln_cuda_device_free", error);
  if (!dev)
    return false;
  CUresult r = dev->d->cuMemFree((CUdeviceptr)ptr);
  if (r != CUDA_SUCCESS) {
    error = "kiln_cuda_device_free: cuMemFree failed: " + errorName(dev->d, r);
    return false;
  }
  return true;
}

bool deviceCopy(void *dst, const void *src, size_t bytes, bool toDevice, std::string &error) {
  const char *what = toDevice ? "kiln_cuda_copy_to_device" : "kiln_cuda_copy_to_host";
  const Device *dev = currentDevice(what, error);
  if (!dev)
    return false;
  // On the default stream, then waited for: the copy is complete on return.
  CUresult r = toDevice ? dev->d->cuMemcpyHtoDAsync((CUdeviceptr)dst, src, bytes, nullptr)
                        : dev->d->cuMemcpyDtoHAsync(dst, (CUdeviceptr)src, bytes, nullptr);
  if (r == CUDA_SUCCESS)
    r = dev->d->cuStreamSynchronize(nullptr);
  if (r != CUDA_SUCCESS) {
    error = std::string(what) + " of " + std::to_string(bytes) +
            " bytes failed: " + errorName(dev->d, r);
    return false;
  }
  return true;
}

} // namespace kiln_cuda

using namespace kiln_cuda;

namespace {
/// cuda_runner_utils' unranked memref: rank and a ranked descriptor
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct Unranked {
  int64_t rank;
  int64_t *desc;
};
} // namespace

extern "C" {

void *kiln_cuda_arena(void *handle, int64_t bytes) {
  auto *e = static_cast<Exec *>(handle);
  if ((size_t)bytes > e->model->arenaBytes && e->error.empty())
    e->error = "model '" + e->model->name + "': the host code asks for a " +
               std::to_string(bytes) + "-byte arena, the library declares " +
               std::to_string(e->model->arenaBytes);
  return (void *)(uintptr_t)e->arena;
}

void *kiln_cuda_weight(void *handle, int64_t index) {
  auto *e = static_cast<Exec *>(handle);
  if (index < 0 || (size_t)index >= e->model->weights.size()) {
    if (e->error.empty())
      e->error = "model '" + e->model->name + "': weight " + std::to_string(index) +
                 " is not in the library's weight table";
    return nullptr;
  }
  return (void *)(uintptr_t)e->model->weights[index];
}

void kiln_cuda_launch(void *handle, int32_t kernel, int64_t gx, int64_t gy, int64_t gz,
                      int64_t bx, int64_t by, int64_t bz, int32_t smem, void **params) {
  auto *e = static_cast<Exec *>(handle);
  Model *m = e->model;
  if (!e->error.empty())
    return;
  if (kernel < 0 || (size_t)kernel >= m->kernels.size()) {
    e->error = "model '" + m->name + "': launch of kernel #" + std::to_string(kernel) +
               ", which the library does not list";
    return;
  }
  Kernel &k = m->kernels[kernel];
  const std::string what = "cuLaunchKernel of kernel '" + k.name + "'";
  if (gx < 1 || gy < 1 || gz < 1 || bx < 1 || by < 1 || bz < 1 || gx > INT32_MAX ||
      gy > 65535 || gz > 65535 || bx * by * bz > 1024) {
    e->error = "model '" + m->name + "': " + what + ": invalid grid " + std::to_string(gx) +
               "x" + std::to_string(gy) + "x" + std::to_string(gz) + " / block " +
               std::to_string(bx) + "x" + std::to_string(by) + "x" + std::to_string(bz);
    return;
  }
  if (smem > 48 * 1024) {
    // Above 48 KiB, a kernel must opt in to its dynamic shared memory.
    std::lock_guard<std::mutex> lock(m->kernelMutex);
    if (smem > k.dynamicSharedLimit) {
      if (smem > m->dev->optinSharedBytes) {
        e->error = "model '" + m->name + "': kernel '" + k.name + "' needs " +
                   std::to_string(smem) + " bytes of dynamic shared memory, the device allows " +
                   std::to_string(m->dev->optinSharedBytes);
        return;
      }
      if (!e->check(m->d->cuFuncSetAttribute(k.function,
                                             CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                             smem),
                    "cuFuncSetAttribute (dynamic shared memory) of kernel '" + k.name + "'"))
        return;
      k.dynamicSharedLimit = smem;
    }
  }
  CUevent before = nullptr, after = nullptr;
  if (e->launchEvents && !e->capturing) {
    if (!e->check(m->d->cuEventCreate(&before, 0), "cuEventCreate") ||
        !e->check(m->d->cuEventCreate(&after, 0), "cuEventCreate"))
      return;
    e->launchEvents->push_back({kernel, {before, after}});
    if (!e->check(m->d->cuEventRecord(before, e->stream), "cuEventRecord"))
      return;
  }
  if (!e->check(m->d->cuLaunchKernel(k.function, (unsigned)gx, (unsigned)gy, (unsigned)gz,
                                     (unsigned)bx, (unsigned)by, (unsigned)bz, (unsigned)smem,
                                     e->stream, params, nullptr),
                what))
    return;
  if (after && !e->check(m->d->cuEventRecord(after, e->stream), "cuEventRecord"))
    return;
  e->launched++;
  if (m->syncEachKernel && !e->capturing)
    e->check(m->d->cuStreamSynchronize(e->stream), "kernel '" + k.name + "'");
}

void kiln_cuda_memcpy(void *handle, void *dst, const void *src, int64_t bytes) {
  auto *e = static_cast<Exec *>(handle);
  if (!e->error.empty() || bytes <= 0)
    return;
  e->check(e->model->d->cuMemcpyDtoDAsync((CUdeviceptr)dst, (CUdeviceptr)src, bytes,
                                          e->stream),
           "cuMemcpyDtoDAsync (a copy between device buffers)");
}

void kiln_cuda_copy_strided(void *handle, int64_t elementBytes, void *srcArg, void *dstArg) {
  auto *e = static_cast<Exec *>(handle);
  if (!e->error.empty())
    return;
  const Driver *d = e->model->d;
  auto *src = static_cast<Unranked *>(srcArg);
  auto *dst = static_cast<Unranked *>(dstArg);
  int64_t rank = src->rank;
  auto base = [&](Unranked *u) {
    return (CUdeviceptr)u->desc[1] + (CUdeviceptr)(u->desc[2] * elementBytes);
  };
  // Dimensions of size 1 drop out; neighbours contiguous in both buffers
  // merge, so most copies become one memcpy or one 2-D copy.
  struct Dim {
    int64_t size, srcStride, dstStride;
  };
  std::vector<Dim> dims;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t size = src->desc[3 + i];
    if (size == 0)
      return;
    if (size == 1)
      continue;
    Dim dim{size, src->desc[3 + rank + i], dst->desc[3 + rank + i]};
    if (!dims.empty() && dims.back().srcStride == dim.srcStride * size &&
        dims.back().dstStride == dim.dstStride * size) {
      dims.back() = {dims.back().size * size, dim.srcStride, dim.dstStride};
      continue;
    }
    dims.push_back(dim);
  }
  CUdeviceptr s = base(src), t = base(dst);
  if (dims.empty() || (dims.size() == 1 && dims[0].srcStride == 1 && dims[0].dstStride == 1)) {
    int64_t n = dims.empty() ? 1 : dims[0].size;
    e->check(d->cuMemcpyDtoDAsync(t, s, n * elementBytes, e->stream),
             "cuMemcpyDtoDAsync (a copy between device buffers)");
    return;
  }
  // Rows: the innermost dimension when contiguous in both, else single
  // elements (pitch = stride).
  bool contiguousRows = dims.back().srcStride == 1 && dims.back().dstStride == 1;
  size_t width = contiguousRows ? dims.back().size * elementBytes : elementBytes;
  Dim rows = contiguousRows ? (dims.size() > 1 ? dims[dims.size() - 2] : Dim{1, 0, 0})
                            : dims.back();
  size_t outer = dims.size() - (contiguousRows ? std::min<size_t>(dims.size(), 2) : 1);
  std::vector<int64_t> index(outer, 0);
  for (;;) {
    CUdeviceptr so = s, to = t;
    for (size_t i = 0; i < outer; ++i) {
      so += index[i] * dims[i].srcStride * elementBytes;
      to += index[i] * dims[i].dstStride * elementBytes;
    }
    Memcpy2D c = {};
    c.srcMemoryType = c.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    c.srcDevice = so;
    c.dstDevice = to;
    c.srcPitch = std::max<size_t>(rows.srcStride * elementBytes, width);
    c.dstPitch = std::max<size_t>(rows.dstStride * elementBytes, width);
    c.WidthInBytes = width;
    c.Height = rows.size;
    if (!e->check(d->cuMemcpy2DAsync(&c, e->stream), "cuMemcpy2DAsync (a strided device copy)"))
      return;
    size_t i = outer;
    while (i > 0 && ++index[i - 1] == dims[i - 1].size)
      index[--i] = 0;
    if (i == 0)
      return;
  }
}

} // extern "C"
