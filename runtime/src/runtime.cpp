//===- runtime.cpp - Kiln's runtime library ------------------------------===//
//
// A compiled model exports a signature string and an entry function taking
// memref descriptors. The signature has one line per tensor:
//   "in|out <TAB> name <TAB> dtype <TAB> d0,d1,...[<TAB> j]\n"
// where j, on an output, names an earlier output that is the same tensor
// (the entry writes it once; the runtime copies it),
// and one line per run-time index check, an extra int64 result [2k] that
// holds the minimum and the maximum of each of k components of an index
// input, with the sizes of the dims they address:
//   "check <TAB> what <TAB> 7 <TAB> 2k <TAB> s0,...,s(k-1)\n"
// and, for CPU models, one line per kernel, in the order of the ids their
// profile markers (kiln_profile_begin/end) pass:
//   "kernel <TAB> name <TAB> kind <TAB> flops <TAB> bytes <TAB> ONNX nodes\n"
// This file parses it, builds descriptors for caller buffers (and the
// checks' own), calls the entry and reports an index out of range. It depends on nothing but libc and libdl.
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"
#include "cuda_model.h"
#include "model_profile.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

thread_local std::string lastError;

void setError(std::string msg) { lastError = std::move(msg); }

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  kiln_tensor_info info;
  std::vector<int64_t> checkDims; // index checks: the size of each component's dim
  int aliasOf = -1; // outputs: the earlier output this one is a copy of
};

/// Parses "d0,d1,..." into `out`: each a decimal number in [lo, 2^40], at
/// most 64 of them. On failure `bad` is the offending number's text, or
/// empty when there are more than 64.
bool parseDims(const std::string &text, int64_t lo, std::vector<int64_t> &out,
               std::string &bad) {
  if (text.empty())
    return true;
  std::stringstream dims(text);
  std::string d;
  while (std::getline(dims, d, ',')) {
    char *end = nullptr;
    errno = 0;
    long long v = d.empty() ? -1 : std::strtoll(d.c_str(), &end, 10);
    if (v < lo || v > (1ll << 40) || errno || *end) {
      bad = d;
      return false;
    }
    if (out.size() == 64) {
      bad.clear();
      return false;
    }
    out.push_back(v);
  }
  return true;
}

/// A "kernel" line's fields (after the first): name, kind, flops, bytes,
/// nodes (which may be empty).
bool parseKernel(const std::vector<std::string> &fields, kiln_profile::KernelInfo &k) {
  if (fields.size() < 5 || fields.size() > 6)
    return false;
  k.name = fields[1];
  k.kind = fields[2];
  k.nodes = fields.size() > 5 ? fields[5] : "";
  for (auto [text, value] : {std::pair{&fields[3], &k.flops}, std::pair{&fields[4], &k.bytes}}) {
    char *end = nullptr;
    errno = 0;
    long long v = std::strtoll(text->c_str(), &end, 10);
    if (text->empty() || *end || errno || v < 0)
      return false;
    *value = v;
  }
  return true;
}

bool parseSignature(const char *text, std::vector<Tensor> &ins, std::vector<Tensor> &outs,
                    std::vector<Tensor> &checks, std::vector<kiln_profile::KernelInfo> &kernels,
                    std::string &err) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty())
      continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, '\t'))
      fields.push_back(f);
    if (!fields.empty() && fields[0] == "kernel") {
      kiln_profile::KernelInfo k;
      if (!parseKernel(fields, k)) {
        err = "malformed kernel line in the model signature: '" + line + "'";
        return false;
      }
      kernels.push_back(std::move(k));
      continue;
    }
    if (fields.size() < 3 ||
        (fields[0] != "in" && fields[0] != "out" && fields[0] != "check") ||
        (fields[0] == "check" && fields.size() != 5)) {
      err = "malformed model signature line '" + line + "'";
      return false;
    }
    Tensor t;
    t.name = fields[1];
    t.info.dtype = std::atoi(fields[2].c_str());
    if (kiln_dtype_bytes(t.info.dtype) == 0) {
      err = "model signature has unknown element type " + fields[2];
      return false;
    }
    if (fields.size() > 3) {
      std::string bad;
      if (!parseDims(fields[3], 0, t.shape, bad)) {
        err = bad.empty() ? "model signature's tensor '" + t.name + "' has more than 64 dimensions"
                          : "model signature has a bad dimension '" + bad + "' for tensor '" +
                                t.name + "'";
        return false;
      }
      // The whole tensor's bytes must fit in 2^62, so kiln_tensor_bytes
      // cannot overflow.
      uint64_t bytes = kiln_dtype_bytes(t.info.dtype);
      for (int64_t v : t.shape) {
        if (v && bytes > (uint64_t(1) << 62) / (uint64_t)v) {
          err = "model signature's tensor '" + t.name + "' is too large";
          return false;
        }
        bytes *= (uint64_t)v;
      }
    }
    if (fields[0] == "check") {
      // An int64 [2k] tensor for k dims of positive size.
      std::string bad;
      if (t.info.dtype != KILN_INT64 || !parseDims(fields[4], 1, t.checkDims, bad) ||
          t.checkDims.empty() || t.shape.size() != 1 ||
          t.shape[0] != 2 * (int64_t)t.checkDims.size()) {
        err = "malformed index check in the model signature: '" + line + "'";
        return false;
      }
      checks.push_back(std::move(t));
      continue;
    }
    if (!checks.empty()) {
      err = "model signature lists tensor '" + t.name + "' after its index checks";
      return false;
    }
    if (fields.size() > 4) {
      // An output that is the same tensor as an earlier, unaliased output.
      char *end = nullptr;
      long j = fields[0] == "out" && !fields[4].empty()
                   ? std::strtol(fields[4].c_str(), &end, 10) : -1;
      if (j < 0 || *end || j >= (long)outs.size() || outs[j].aliasOf >= 0 ||
          outs[j].info.dtype != t.info.dtype || outs[j].shape != t.shape) {
        err = "malformed output alias in the model signature: '" + line + "'";
        return false;
      }
      t.aliasOf = (int)j;
    }
    (fields[0] == "in" ? ins : outs).push_back(std::move(t));
  }
  for (auto *list : {&ins, &outs, &checks})
    for (Tensor &t : *list) {
      t.info.name = t.name.c_str();
      t.info.rank = (int32_t)t.shape.size();
      t.info.shape = t.shape.data();
    }
  return true;
}

/// A fixed pool of worker threads fed from one queue of chunks. A caller of
/// parallelFor queues its chunks and then works on the queue itself until
/// its own chunks are done, so several concurrent callers (two models, or
/// one model run from several threads) always make progress.
class ThreadPool {
public:
  static ThreadPool &get() {
    static ThreadPool pool;
    return pool;
  }

  void setThreads(int n) { wanted.store(std::max(1, n)); }
  int threads() const { return wanted.load(); }

  void parallelFor(int64_t count, void (*fn)(void *, int64_t, int64_t), void *ctx) {
    int n = wanted.load();
    if (count <= 0)
      return;
    if (n <= 1 || count == 1) {
      fn(ctx, 0, count);
      return;
    }
    ensureWorkers(n - 1);
    // A few chunks per thread balance uneven work without much overhead.
    int64_t chunks = std::min<int64_t>(count, (int64_t)n * 4);
    Job job{fn, ctx, chunks};
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (int64_t c = 0; c < chunks; ++c)
        queue.push_back({&job, count * c / chunks, count * (c + 1) / chunks});
      queued.fetch_add(chunks);
    }
    wake.notify_all();
    while (job.remaining.load() > 0) {
      Task task;
      {
        std::unique_lock<std::mutex> lock(mutex);
        if (queue.empty()) {
          // The last chunks are running on workers: wait for them, briefly
          // spinning first (a model's kernels come back to back).
          lock.unlock();
          spinUntil([&] { return job.remaining.load() == 0; });
          lock.lock();
          done.wait(lock, [&] { return job.remaining.load() == 0 || !queue.empty(); });
          continue;
        }
        task = queue.front();
        queue.pop_front();
        queued.fetch_sub(1);
      }
      run(task);
    }
  }

private:
  struct Job {
    void (*fn)(void *, int64_t, int64_t);
    void *ctx;
    std::atomic<int64_t> remaining;
    Job(void (*f)(void *, int64_t, int64_t), void *c, int64_t n)
        : fn(f), ctx(c), remaining(n) {}
  };
  struct Task {
    Job *job = nullptr;
    int64_t begin = 0, end = 0;
  };

  ThreadPool() {
    int n = (int)std::thread::hardware_concurrency();
    if (const char *env = std::getenv("KILN_NUM_THREADS"))
      n = std::atoi(env);
    wanted.store(std::max(1, n));
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
      stopFlag.store(true);
    }
    wake.notify_all();
    for (std::thread &t : workers)
      t.join();
  }

  void run(const Task &task) {
    task.job->fn(task.job->ctx, task.begin, task.end);
    if (task.job->remaining.fetch_sub(1) == 1) {
      // Taking the lock orders this with the waiter's predicate check.
      std::lock_guard<std::mutex> lock(mutex);
      done.notify_all();
    }
  }

  void ensureWorkers(int n) {
    std::lock_guard<std::mutex> lock(mutex);
    while ((int)workers.size() < n)
      workers.emplace_back([this] { workerLoop(); });
  }

  /// Spins for up to about 100 microseconds until `ready()`: a worker
  /// that sleeps on the condition variable between two kernels costs a
  /// wake-up (tens of microseconds) per launch.
  template <typename Ready> static void spinUntil(Ready ready) {
    auto start = std::chrono::steady_clock::now();
    for (unsigned i = 1; !ready(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (i % 256 == 0 &&
          std::chrono::steady_clock::now() - start > std::chrono::microseconds(100))
        return;
    }
  }

  void workerLoop() {
    for (;;) {
      Task task;
      spinUntil([&] { return queued.load(std::memory_order_relaxed) > 0 || stopFlag.load(); });
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping && queue.empty())
          return;
        task = queue.front();
        queue.pop_front();
        queued.fetch_sub(1);
      }
      run(task);
    }
  }

  std::atomic<int> wanted{1};
  std::mutex mutex;
  std::condition_variable wake, done;
  std::deque<Task> queue;
  std::atomic<int64_t> queued{0}; // queue.size(), read without the lock
  std::vector<std::thread> workers;
  bool stopping = false;
  std::atomic<bool> stopFlag{false};
};

#if defined(__x86_64__) || defined(__i386__)
/// Whether this CPU, and the operating system for the register state,
/// supports the x86 extension `name` (an LLVM feature name of
/// KILN_CPU_FEATURE_NAMES). Unknown names are not supported.
bool cpuHas(const std::string &name) {
  unsigned a, b, c, d;
  auto leaf = [&](unsigned l, unsigned sub) {
    a = b = c = d = 0;
    return __get_cpuid_count(l, sub, &a, &b, &c, &d) != 0;
  };
  if (!leaf(1, 0))
    return false;
  unsigned ecx1 = c;
  // Register state the OS saves (XCR0): YMM for AVX, ZMM and opmasks for
  // AVX-512, tiles for AMX.
  uint64_t xcr0 = 0;
  if (ecx1 & (1u << 27)) { // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = ((uint64_t)hi << 32) | lo;
  }
  bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0,
       tiles = (xcr0 & 0x60000) == 0x60000;
  unsigned ebx7 = 0, ecx7 = 0, edx7 = 0, eax71 = 0;
  if (leaf(7, 0)) {
    ebx7 = b, ecx7 = c, edx7 = d;
    if (leaf(7, 1))
      eax71 = a;
  }
  auto bit = [](unsigned reg, int n) { return (reg >> n) & 1u; };
  if (name == "sse4.2") return bit(ecx1, 20);
  if (name == "avx") return ymm && bit(ecx1, 28);
  if (name == "fma") return ymm && bit(ecx1, 12);
  if (name == "f16c") return ymm && bit(ecx1, 29);
  if (name == "avx2") return ymm && bit(ebx7, 5);
  if (name == "bmi") return bit(ebx7, 3);
  if (name == "bmi2") return bit(ebx7, 8);
  if (name == "avx512f") return zmm && bit(ebx7, 16);
  if (name == "avx512dq") return zmm && bit(ebx7, 17);
  if (name == "avx512cd") return zmm && bit(ebx7, 28);
  if (name == "avx512bw") return zmm && bit(ebx7, 30);
  if (name == "avx512vl") return zmm && bit(ebx7, 31);
  if (name == "avx512vnni") return zmm && bit(ecx7, 11);
  if (name == "avx512fp16") return zmm && bit(edx7, 23);
  if (name == "avx512bf16") return zmm && bit(eax71, 5);
  if (name == "avxvnni") return ymm && bit(eax71, 4);
  if (name == "amx-bf16") return tiles && bit(edx7, 22);
  if (name == "amx-tile") return tiles && bit(edx7, 24);
  if (name == "amx-int8") return tiles && bit(edx7, 25);
  return false;
}
#else
bool cpuHas(const std::string &) { return false; }
#endif

/// The extensions of a CPU model library's feature list (comma-separated)
/// that this machine lacks, comma-separated; empty if it has them all.
/// KILN_CPU_FEATURES, if set, replaces this machine's answer with its own
/// comma-separated list (to check libraries meant for another machine).
std::string missingCpuFeatures(const char *list) {
  const char *override = std::getenv("KILN_CPU_FEATURES");
  auto has = [&](const std::string &f) {
    if (!override)
      return cpuHas(f);
    std::stringstream ss(override);
    std::string g;
    while (std::getline(ss, g, ','))
      if (g == f)
        return true;
    return false;
  };
  std::string missing, f;
  std::stringstream ss(list);
  while (std::getline(ss, f, ','))
    if (!f.empty() && !has(f))
      missing += (missing.empty() ? "" : ", ") + f;
  return missing;
}

} // namespace

namespace {
/// A library's weights file, mapped read-only; shared by every load of
/// the library (they share its weight slots).
struct WeightsMapping {
  void *base = nullptr;
  size_t bytes = 0;
  std::string file;
  ~WeightsMapping() {
    if (base)
      munmap(base, bytes);
  }
};
} // namespace

/// Maps the weights file of the library `lib`, loaded from `path`, if it
/// has one (kiln_runtime.h: KILN_MODEL_WEIGHTS_FILE_SYMBOL), and points its
/// weight slots into it. False with `err` set for a missing, short or
/// foreign file.
static bool mapWeights(void *lib, const std::string &path,
                       std::shared_ptr<WeightsMapping> &out, std::string &err) {
  auto fileName = (const char *)dlsym(lib, KILN_MODEL_WEIGHTS_FILE_SYMBOL);
  if (!fileName)
    return true;
  auto layout = (const uint64_t *)dlsym(lib, KILN_MODEL_WEIGHTS_LAYOUT_SYMBOL);
  auto slots = (const void **)dlsym(lib, KILN_MODEL_WEIGHT_SLOTS_SYMBOL);
  if (!layout || !slots) {
    err = path + ": the library names a weights file but lacks its layout";
    return false;
  }
  static std::mutex mutex;
  static std::map<void *, std::weak_ptr<WeightsMapping>> byLibrary;
  std::lock_guard<std::mutex> lock(mutex);
  if (std::shared_ptr<WeightsMapping> live = byLibrary[lib].lock()) {
    out = std::move(live);
    return true;
  }
  size_t slash = path.rfind('/');
  std::string file = (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) +
                     "/" + fileName;
  uint64_t count = layout[0], expected = layout[1], tag = layout[2];
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = path + ": cannot open its weights file '" + file + "': " + std::strerror(errno) +
          " (kilnc writes it beside the library; keep the two together)";
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != expected) {
    err = path + ": its weights file '" + file + "' has " + std::to_string((uint64_t)st.st_size) +
          " bytes, the library expects " + std::to_string(expected) +
          " (the file comes from another compilation of the model)";
    close(fd);
    return false;
  }
  void *base = mmap(nullptr, expected, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (base == MAP_FAILED) {
    err = path + ": cannot map its weights file '" + file + "': " + std::strerror(errno);
    return false;
  }
  auto mapping = std::make_shared<WeightsMapping>();
  mapping->base = base;
  mapping->bytes = expected;
  mapping->file = file;
  uint64_t fileTag = 0;
  if (expected >= 16)
    std::memcpy(&fileTag, (const char *)base + 8, 8);
  if (expected < 16 || std::memcmp(base, KILN_WEIGHTS_MAGIC, 8) != 0 || fileTag != tag) {
    err = path + ": its weights file '" + file +
          "' was not written with this library (another compilation of the model, or not a "
          "weights file)";
    return false;
  }
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t offset = layout[3 + 2 * i], size = layout[4 + 2 * i];
    if (offset > expected || size > expected - offset) {
      err = path + ": weight " + std::to_string(i) + " lies outside its weights file";
      return false;
    }
    slots[i] = (const char *)base + offset;
  }
  byLibrary[lib] = mapping;
  out = std::move(mapping);
  return true;
}

struct kiln_model {
  std::string name;
  void *library = nullptr;
  std::shared_ptr<WeightsMapping> weights; // the library's weights file, if any
  kiln_entry_fn entry = nullptr;
  std::vector<Tensor> inputs, outputs;
  std::vector<Tensor> checks; // run-time index checks, extra results after the outputs
  size_t checkElements = 0;   // their int64 elements, all together
  bool aliases = false;       // some output is a copy of another
  kiln_cuda::Model *cuda = nullptr; // set for CUDA models
  std::vector<kiln_profile::KernelInfo> kernels; // what the profile markers' ids name
  std::string profileSummary;                    // of the last kiln_model_profile
};

/// The first index out of range that the checks' results `data` (the
/// checks' [2k] tensors one after another) show, as an error message; empty
/// if every index is in range.
static std::string indexCheckError(const kiln_model *m, const int64_t *data) {
  for (const Tensor &check : m->checks) {
    size_t k = check.checkDims.size();
    for (size_t c = 0; c < k; ++c) {
      int64_t lo = data[c], hi = data[k + c], size = check.checkDims[c];
      if (lo >= -size && hi < size)
        continue;
      int64_t bad = hi >= size ? hi : lo;
      std::string msg = m->name + ": " + check.name + ": index " + std::to_string(bad) +
                        " is out of range [" + std::to_string(-size) + ", " +
                        std::to_string(size - 1) + "]";
      if (k > 1)
        msg += " (position " + std::to_string(c) + " of its last axis)";
      return msg;
    }
    data += 2 * k;
  }
  return "";
}

/// The outputs a run writes: the caller's, then one buffer per index check
/// inside `checkData`.
static std::vector<void *> withCheckBuffers(const kiln_model *m, void *const *outputs,
                                            std::vector<int64_t> &checkData) {
  std::vector<void *> all(outputs, outputs + m->outputs.size());
  checkData.assign(m->checkElements, 0);
  int64_t *p = checkData.data();
  for (const Tensor &check : m->checks) {
    all.push_back(p);
    p += check.shape[0];
  }
  return all;
}

static kiln_model *finishModel(std::unique_ptr<kiln_model> m,
                               const char *signature) {
  std::string err;
  if (!parseSignature(signature, m->inputs, m->outputs, m->checks, m->kernels, err)) {
    setError(m->name + ": " + err);
    if (m->library)
      dlclose(m->library);
    return nullptr;
  }
  for (const Tensor &check : m->checks)
    m->checkElements += (size_t)check.shape[0];
  for (const Tensor &out : m->outputs)
    m->aliases |= out.aliasOf >= 0;
  return m.release();
}

extern "C" {

/// Compiled models call back into this library (kiln_parallel_for,
/// kiln_cuda_*), resolved when they are loaded. A process that loaded this
/// library privately (a Python extension module, dlopen with RTLD_LOCAL)
/// would leave those symbols unresolved: make them global once.
static void exportRuntimeSymbols() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info info;
    if (dladdr((void *)&kiln_model_load, &info) && info.dli_fname)
      dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  });
}

kiln_model *kiln_model_load(const char *path) {
  if (!path) {
    setError("kiln_model_load: no path given");
    return nullptr;
  }
  exportRuntimeSymbols();
  // A model is a file, never a library to search for: dlopen would look a
  // bare name ("model.so") up in the library path, not the working folder.
  std::string file = path;
  if (file.find('/') == std::string::npos)
    file = "./" + file;
  // RTLD_LOCAL keeps two loaded models' symbols apart.
  void *lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    setError(std::string("cannot load model '") + path + "': " + (e ? e : "unknown error"));
    return nullptr;
  }
  std::shared_ptr<WeightsMapping> weights;
  std::string weightsErr;
  if (!mapWeights(lib, file, weights, weightsErr)) {
    setError(weightsErr);
    dlclose(lib);
    return nullptr;
  }
  auto signature = (const char *)dlsym(lib, KILN_MODEL_SIGNATURE_SYMBOL);
  if (signature && dlsym(lib, KILN_CUDA_ENTRY_SYMBOL)) {
    auto m = std::make_unique<kiln_model>();
    m->name = path;
    m->library = lib;
    m->weights = weights;
    kiln_model *model = finishModel(std::move(m), signature);
    if (!model)
      return nullptr;
    auto shapes = [](const std::vector<Tensor> &list) {
      std::vector<kiln_cuda::TensorShape> out;
      for (const Tensor &t : list)
        out.push_back({t.shape, kiln_tensor_bytes(&t.info), t.aliasOf});
      return out;
    };
    // The index checks are results too, after the outputs.
    std::vector<kiln_cuda::TensorShape> results = shapes(model->outputs);
    for (kiln_cuda::TensorShape &check : shapes(model->checks))
      results.push_back(std::move(check));
    std::string err;
    model->cuda = kiln_cuda::load(lib, path, shapes(model->inputs), std::move(results),
                                  model->checks.size(), err);
    if (!model->cuda) {
      setError(err);
      kiln_model_free(model);
      return nullptr;
    }
    return model;
  }
  auto entry = (kiln_entry_fn)dlsym(lib, KILN_MODEL_ENTRY_SYMBOL);
  if (!entry || !signature) {
    setError(std::string("'") + path + "' is not a Kiln model library (no " +
             KILN_MODEL_ENTRY_SYMBOL + " / " + KILN_MODEL_SIGNATURE_SYMBOL + ")");
    dlclose(lib);
    return nullptr;
  }
  // A library compiled for a CPU with extensions this one lacks would die
  // of an illegal instruction in its first run.
  if (auto features = (const char *)dlsym(lib, KILN_MODEL_CPU_FEATURES_SYMBOL)) {
    std::string missing = missingCpuFeatures(features);
    if (!missing.empty()) {
      setError(std::string("'") + path + "' was compiled for a CPU with " + features +
               "; this machine lacks " + missing + " (compile the model on this machine, or for a baseline it has, e.g. kilnc --cpu=x86-64-v2)");
      dlclose(lib);
      return nullptr;
    }
  }
  auto m = std::make_unique<kiln_model>();
  m->name = path;
  m->library = lib;
  m->weights = std::move(weights);
  m->entry = entry;
  return finishModel(std::move(m), signature);
}

kiln_model *kiln_model_from_entry(kiln_entry_fn entry, const char *signature,
                                  const char *name) {
  if (!entry || !signature) {
    setError("kiln_model_from_entry: missing entry or signature");
    return nullptr;
  }
  auto m = std::make_unique<kiln_model>();
  m->name = name ? name : "<jit>";
  m->entry = entry;
  return finishModel(std::move(m), signature);
}

void kiln_model_free(kiln_model *model) {
  if (!model)
    return;
  kiln_cuda::destroy(model->cuda);
  if (model->library)
    dlclose(model->library);
  delete model;
}

int kiln_model_target(const kiln_model *m) {
  if (!m)
    return -1;
  return m->cuda ? KILN_TARGET_CUDA : KILN_TARGET_CPU;
}

const char *kiln_model_weights_file(const kiln_model *m) {
  return m && m->weights ? m->weights->file.c_str() : nullptr;
}

int kiln_model_elided_weights(const kiln_model *m) {
  return m && m->cuda ? (int)kiln_cuda::elidedWeights(m->cuda) : 0;
}

int kiln_model_set_cuda_graph(kiln_model *m, int enable) {
  if (!m || !m->cuda) {
    setError("kiln_model_set_cuda_graph: not a CUDA model");
    return -1;
  }
  kiln_cuda::setGraph(m->cuda, enable != 0);
  return 0;
}

int kiln_model_run_device(kiln_model *m, const uint64_t *inputs, const uint64_t *outputs,
                          void *stream) {
  if (!m || !m->cuda) {
    setError("kiln_model_run_device: not a CUDA model");
    return -1;
  }
  if ((!m->inputs.empty() && !inputs) || (!m->outputs.empty() && !outputs)) {
    setError(m->name + ": kiln_model_run_device needs " + std::to_string(m->inputs.size()) +
             " input and " + std::to_string(m->outputs.size()) + " output buffers");
    return -1;
  }
  std::string err;
  std::vector<int64_t> checkData(m->checkElements);
  if (!kiln_cuda::runDevice(m->cuda, inputs, outputs, stream, checkData.data(), err)) {
    setError(err);
    return -1;
  }
  err = indexCheckError(m, checkData.data());
  if (!err.empty()) {
    setError(err);
    return -1;
  }
  lastError.clear();
  return 0;
}

int kiln_model_benchmark(kiln_model *m, const void *const *inputs, void *const *outputs,
                         int runs, double *ms) {
  if (!m || runs < 0 || (runs && !ms)) {
    setError("kiln_model_benchmark: bad arguments");
    return -1;
  }
  if (m->cuda) {
    std::string err;
    std::vector<int64_t> checkData;
    std::vector<void *> results = withCheckBuffers(m, outputs, checkData);
    if (!kiln_cuda::benchmark(m->cuda, inputs, results.data(), runs, ms, err)) {
      setError(err);
      return -1;
    }
    lastError.clear();
    return 0;
  }
  if (kiln_model_run(m, inputs, outputs) != 0)
    return -1;
  for (int k = 0; k < runs; ++k) {
    auto t0 = std::chrono::steady_clock::now();
    if (kiln_model_run(m, inputs, outputs) != 0)
      return -1;
    ms[k] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
  }
  return 0;
}

int kiln_model_profile(kiln_model *m, const void *const *inputs, void *const *outputs,
                       int runs, const char *trace_path) {
  if (!m) {
    setError("kiln_model_profile: no model");
    return -1;
  }
  if (runs < 1 || runs > 100000) {
    setError(m->name + ": kiln_model_profile: runs must be in [1, 100000], got " +
             std::to_string(runs));
    return -1;
  }
  // One untimed run first: thread pool, page faults, caches.
  if (kiln_model_run(m, inputs, outputs) != 0)
    return -1;
  kiln_profile::Recorder recorder;
  recorder.events.reserve((size_t)runs * (m->kernels.size() + 1));
  std::vector<kiln_profile::KernelInfo> gpuKernels;
  if (m->cuda) {
    // CUDA models: every launch between CUDA events; the kernels are the
    // library's GPU kernels.
    for (const std::string &n : kiln_cuda::kernelNames(m->cuda)) {
      gpuKernels.emplace_back();
      gpuKernels.back().name = n;
      gpuKernels.back().kind = "gpu";
    }
    std::vector<kiln_cuda::LaunchTime> launches;
    for (int r = 0; r < runs; ++r) {
      std::string err;
      int64_t begin = kiln_profile::now();
      if (!kiln_cuda::profileRun(m->cuda, inputs, outputs, launches, err)) {
        setError(err);
        return -1;
      }
      int64_t end = kiln_profile::now();
      recorder.events.push_back({kiln_profile::Event::kRun, begin, end});
      for (const kiln_cuda::LaunchTime &l : launches) {
        int64_t start = begin + (int64_t)(l.startMs * 1e6);
        recorder.events.push_back({l.kernel, start, start + (int64_t)(l.durationMs * 1e6)});
      }
    }
  }
  for (int r = 0; !m->cuda && r < runs; ++r) {
    kiln_profile::setRecorder(&recorder);
    int64_t begin = kiln_profile::now();
    int status = kiln_model_run(m, inputs, outputs);
    int64_t end = kiln_profile::now();
    kiln_profile::setRecorder(nullptr);
    if (status != 0)
      return -1;
    recorder.open.clear();
    recorder.events.push_back({kiln_profile::Event::kRun, begin, end});
  }
  int threads = m->cuda ? 1 : kiln_get_num_threads();
  // A library's name is its path: the file name is enough here.
  std::string name = m->name.substr(m->name.find_last_of('/') + 1);
  const std::vector<kiln_profile::KernelInfo> &kernels = m->cuda ? gpuKernels : m->kernels;
  kiln_profile::Peaks peaks;
  if (m->cuda)
    peaks.describe = kiln_cuda::devicePeaks(peaks.gflops, peaks.gbytes);
  else
    peaks = kiln_profile::cpuPeaks(threads);
  m->profileSummary = kiln_profile::summary(name, kernels, recorder.events, runs, peaks);
  if (trace_path) {
    std::string json = kiln_profile::traceJson(name, kernels, recorder.events, threads);
    FILE *f = std::fopen(trace_path, "wb");
    bool ok = f && std::fwrite(json.data(), 1, json.size(), f) == json.size();
    if (f)
      ok = std::fclose(f) == 0 && ok;
    if (!ok) {
      setError(m->name + ": cannot write the profile trace '" + trace_path +
               "': " + std::strerror(errno));
      return -1;
    }
  }
  lastError.clear();
  return 0;
}

const char *kiln_model_profile_summary(const kiln_model *m) {
  return m ? m->profileSummary.c_str() : "";
}

int kiln_model_num_kernels(const kiln_model *m) { return m ? (int)m->kernels.size() : 0; }

int kiln_model_num_inputs(const kiln_model *m) { return m ? (int)m->inputs.size() : 0; }
int kiln_model_num_outputs(const kiln_model *m) { return m ? (int)m->outputs.size() : 0; }

const kiln_tensor_info *kiln_model_input(const kiln_model *m, int i) {
  if (!m || i < 0 || i >= (int)m->inputs.size())
    return nullptr;
  return &m->inputs[i].info;
}

const kiln_tensor_info *kiln_model_output(const kiln_model *m, int i) {
  if (!m || i < 0 || i >= (int)m->outputs.size())
    return nullptr;
  return &m->outputs[i].info;
}

size_t kiln_tensor_bytes(const kiln_tensor_info *info) {
  if (!info)
    return 0;
  size_t n = (size_t)kiln_dtype_bytes(info->dtype);
  for (int32_t d = 0; d < info->rank; ++d)
    n *= (size_t)info->shape[d];
  return n;
}

extern "C++" std::string kilnEmuTakeError(); // gpu_emulation.cpp

int kiln_model_run(kiln_model *m, const void *const *inputs, void *const *outputs) {
  if (!m) {
    setError("kiln_model_run: no model");
    return -1;
  }
  size_t nin = m->inputs.size(), nout = m->outputs.size();
  if ((nin && !inputs) || (nout && !outputs)) {
    setError(m->name + ": kiln_model_run needs " + std::to_string(nin) +
             " input and " + std::to_string(nout) + " output buffers");
    return -1;
  }
  if (m->cuda) {
    for (size_t i = 0; i < nin; ++i)
      if (!inputs[i] && kiln_tensor_bytes(&m->inputs[i].info)) {
        setError(m->name + ": input '" + m->inputs[i].name + "' has no buffer");
        return -1;
      }
    for (size_t i = 0; i < nout; ++i)
      if (!outputs[i] && kiln_tensor_bytes(&m->outputs[i].info)) {
        setError(m->name + ": output '" + m->outputs[i].name + "' has no buffer");
        return -1;
      }
    std::string err;
    std::vector<int64_t> checkData;
    std::vector<void *> results = withCheckBuffers(m, outputs, checkData);
    if (!kiln_cuda::runHost(m->cuda, inputs, results.data(), err)) {
      setError(err);
      return -1;
    }
    err = indexCheckError(m, checkData.data());
    if (!err.empty()) {
      setError(err);
      return -1;
    }
    lastError.clear();
    return 0;
  }
  // One descriptor per tensor, {allocated, aligned, offset, sizes, strides},
  // for a static, contiguous buffer.
  std::vector<std::vector<int64_t>> descriptors;
  descriptors.reserve(nin + nout);
  auto add = [&](const void *data, const Tensor &t) {
    std::vector<int64_t> d{(int64_t)(intptr_t)data, (int64_t)(intptr_t)data, 0};
    d.insert(d.end(), t.shape.begin(), t.shape.end());
    std::vector<int64_t> strides(t.shape.size());
    int64_t s = 1;
    for (size_t k = t.shape.size(); k-- > 0;) {
      strides[k] = s;
      s *= t.shape[k];
    }
    d.insert(d.end(), strides.begin(), strides.end());
    descriptors.push_back(std::move(d));
  };
  for (size_t i = 0; i < nin; ++i) {
    if (!inputs[i] && kiln_tensor_bytes(&m->inputs[i].info)) {
      setError(m->name + ": input '" + m->inputs[i].name + "' has no buffer");
      return -1;
    }
    add(inputs[i], m->inputs[i]);
  }
  for (size_t i = 0; i < nout; ++i) {
    if (!outputs[i] && kiln_tensor_bytes(&m->outputs[i].info)) {
      setError(m->name + ": output '" + m->outputs[i].name + "' has no buffer");
      return -1;
    }
    if (m->outputs[i].aliasOf < 0)
      add(outputs[i], m->outputs[i]);
  }
  std::vector<int64_t> checkData(m->checkElements);
  int64_t *checkBuffer = checkData.data();
  for (const Tensor &check : m->checks) {
    add(checkBuffer, check);
    checkBuffer += check.shape[0];
  }
  std::vector<void *> args;
  for (auto &d : descriptors)
    args.push_back(d.data());
  m->entry(args.data());
  if (m->aliases)
    for (size_t i = 0; i < nout; ++i) {
      const Tensor &t = m->outputs[i];
      if (t.aliasOf >= 0 && outputs[i] != outputs[t.aliasOf])
        std::memcpy(outputs[i], outputs[t.aliasOf], kiln_tensor_bytes(&t.info));
    }
  // GPU emulation reports kernel misuse (divergent barriers) after the run.
  std::string emulationError = kilnEmuTakeError();
  if (!emulationError.empty()) {
    setError(m->name + ": " + emulationError);
    return -1;
  }
  std::string indexError = indexCheckError(m, checkData.data());
  if (!indexError.empty()) {
    setError(indexError);
    return -1;
  }
  lastError.clear();
  return 0;
}

/// Names an ONNX element type code for error messages.
static std::string dtypeName(int32_t dtype) {
  switch (dtype) {
  case KILN_FLOAT: return "float32";
  case KILN_UINT8: return "uint8";
  case KILN_INT8: return "int8";
  case KILN_UINT16: return "uint16";
  case KILN_INT16: return "int16";
  case KILN_INT32: return "int32";
  case KILN_INT64: return "int64";
  case KILN_BOOL: return "bool";
  case KILN_FLOAT16: return "float16";
  case KILN_DOUBLE: return "float64";
  case KILN_UINT32: return "uint32";
  case KILN_UINT64: return "uint64";
  case KILN_BFLOAT16: return "bfloat16";
  default: return "unknown type " + std::to_string(dtype);
  }
}

static std::string shapeName(const int64_t *shape, int32_t rank) {
  if (rank == 0)
    return "a scalar";
  std::string s;
  for (int32_t d = 0; d < rank; ++d)
    s += (d ? "x" : "") + std::to_string(shape[d]);
  return s;
}

/// Checks the caller's views of one side (inputs or outputs) against the
/// model's tensors; the first mismatch as an error message, or empty.
static std::string checkViews(const kiln_model *m, const char *side,
                              const std::vector<Tensor> &tensors,
                              const kiln_tensor_view *views, int count) {
  if (count != (int)tensors.size() || (count > 0 && !views))
    return m->name + ": the model takes " + std::to_string(tensors.size()) + " " + side +
           "s, " + std::to_string(views ? count : 0) + " given";
  for (int i = 0; i < count; ++i) {
    const Tensor &t = tensors[i];
    const kiln_tensor_view &v = views[i];
    std::string what = m->name + ": " + side + " '" + t.name + "' (" + std::to_string(i) + ")";
    if (v.dtype != t.info.dtype)
      return what + " is " + dtypeName(v.dtype) + ", the model takes " +
             dtypeName(t.info.dtype);
    if (v.rank < 0 || (v.rank > 0 && !v.shape))
      return what + " has no shape";
    if (v.rank != t.info.rank ||
        !std::equal(t.shape.begin(), t.shape.end(), v.shape))
      return what + " has shape " + shapeName(v.shape, v.rank) + ", the model takes " +
             shapeName(t.shape.data(), t.info.rank);
    size_t need = kiln_tensor_bytes(&t.info);
    if (need && !v.data)
      return what + " has no buffer";
    if (v.bytes < need)
      return what + " has a buffer of " + std::to_string(v.bytes) + " bytes, " +
             std::to_string(need) + " needed";
  }
  return "";
}

int kiln_model_run_views(kiln_model *m, const kiln_tensor_view *inputs, int numInputs,
                         const kiln_tensor_view *outputs, int numOutputs) {
  if (!m) {
    setError("kiln_model_run_views: no model");
    return -1;
  }
  std::string err = checkViews(m, "input", m->inputs, inputs, numInputs);
  if (err.empty())
    err = checkViews(m, "output", m->outputs, outputs, numOutputs);
  if (!err.empty()) {
    setError(err);
    return -1;
  }
  std::vector<const void *> in;
  std::vector<void *> out;
  for (int i = 0; i < numInputs; ++i)
    in.push_back(inputs[i].data);
  for (int i = 0; i < numOutputs; ++i)
    out.push_back(outputs[i].data);
  return kiln_model_run(m, in.data(), out.data());
}

int kiln_cuda_device(void) {
  std::string err;
  int ordinal = kiln_cuda::deviceOrdinal(err);
  if (ordinal < 0)
    setError(err);
  else
    lastError.clear();
  return ordinal;
}

int kiln_cuda_device_alloc(size_t bytes, uint64_t *ptr) {
  if (!ptr) {
    setError("kiln_cuda_device_alloc: no result pointer given");
    return -1;
  }
  std::string err;
  if (!kiln_cuda::deviceAlloc(bytes, *ptr, err)) {
    setError(err);
    return -1;
  }
  lastError.clear();
  return 0;
}

int kiln_cuda_device_free(uint64_t ptr) {
  if (!ptr)
    return 0;
  std::string err;
  if (!kiln_cuda::deviceFree(ptr, err)) {
    setError(err);
    return -1;
  }
  lastError.clear();
  return 0;
}

int kiln_cuda_copy_to_device(uint64_t dst, const void *src, size_t bytes) {
  if (!bytes)
    return 0;
  if (!dst || !src) {
    setError("kiln_cuda_copy_to_device: null buffer");
    return -1;
  }
  std::string err;
  if (!kiln_cuda::deviceCopy((void *)(uintptr_t)dst, src, bytes, /*toDevice=*/true, err)) {
    setError(err);
    return -1;
  }
  lastError.clear();
  return 0;
}

int kiln_cuda_copy_to_host(void *dst, uint64_t src, size_t bytes) {
  if (!bytes)
    return 0;
  if (!dst || !src) {
    setError("kiln_cuda_copy_to_host: null buffer");
    return -1;
  }
  std::string err;
  if (!kiln_cuda::deviceCopy(dst, (const void *)(uintptr_t)src, bytes, /*toDevice=*/false,
                             err)) {
    setError(err);
    return -1;
  }
  lastError.clear();
  return 0;
}

const char *kiln_last_error(void) { return lastError.c_str(); }

void kiln_set_num_threads(int threads) { ThreadPool::get().setThreads(threads); }

int kiln_get_num_threads(void) { return ThreadPool::get().threads(); }

void kiln_parallel_for(int64_t count, void (*fn)(void *, int64_t, int64_t), void *ctx) {
  ThreadPool::get().parallelFor(count, fn, ctx);
}

} // extern "C"
