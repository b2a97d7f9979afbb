//===- cuda_model.h - running CUDA model libraries -------------*- C++ -*-===//
#ifndef KILN_RUNTIME_CUDA_MODEL_H
#define KILN_RUNTIME_CUDA_MODEL_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln_cuda {

struct Model;

/// One tensor of the model's interface, as the runtime's signature holds it.
struct TensorShape {
  std::vector<int64_t> shape;
  size_t bytes;
  int aliasOf = -1; // an output that is a copy of this earlier output
};

/// Sets up a CUDA model from its loaded library: driver and context,
/// kernels (module cache), weights uploaded once. Null with `error` set,
/// and whatever the load got from the driver released.
/// `outputs` lists every result of the entry: the model's outputs, then its
/// `checks` run-time index checks (int64 tensors the runtime reads back).
Model *load(void *library, const std::string &name, std::vector<TensorShape> inputs,
            std::vector<TensorShape> outputs, size_t checks, std::string &error);
/// Deletes the model, which releases its executions, its weights and its
/// reference to the cached module (null: nothing).
void destroy(Model *model);
void setGraph(Model *model, bool enable);
/// How many weights the library left out (kilnc --elide-weights) and the
/// runtime filled with seeded values at load.
size_t elidedWeights(const Model *model);

/// Runs on host buffers (uploads, runs, downloads), one per result (outputs
/// and index checks). False with `error` set.
bool runHost(Model *model, const void *const *inputs, void *const *outputs,
             std::string &error);
/// Runs on device buffers, after the work queued on `stream` (a CUstream,
/// may be null); `outputs` are the model's outputs only, the index checks'
/// results are copied to `checkResults` (one after another).
bool runDevice(Model *model, const uint64_t *inputs, const uint64_t *outputs, void *stream,
               int64_t *checkResults, std::string &error);
/// Event-timed runs after one warm-up; outputs hold the last run's results.
/// One kernel launch of a profiled run: the kernel (index into the
/// library's kernels), its start after the run's start and its duration,
/// in milliseconds of CUDA events.
struct LaunchTime {
  int32_t kernel;
  double startMs, durationMs;
};
/// Runs once on host buffers, launch by launch (no CUDA graph), timing
/// every launch with a pair of CUDA events.
bool profileRun(Model *model, const void *const *inputs, void *const *outputs,
                std::vector<LaunchTime> &launches, std::string &error);
/// The library's kernel names, by launch index.
std::vector<std::string> kernelNames(const Model *model);
/// The device's nominal f32 CUDA-core and memory peaks (0 when unknown),
/// and how they were obtained.
std::string devicePeaks(double &gflops, double &gbytes);

bool benchmark(Model *model, const void *const *inputs, void *const *outputs, int runs,
               double *ms, std::string &error);

/// Device memory on the runtime's device (kiln_cuda_device_alloc & co.).
/// Each sets up the driver on first use; false (or -1) with `error` set.
int deviceOrdinal(std::string &error);
bool deviceAlloc(size_t bytes, uint64_t &ptr, std::string &error);
bool deviceFree(uint64_t ptr, std::string &error);
bool deviceCopy(void *dst, const void *src, size_t bytes, bool toDevice, std::string &error);

} // namespace kiln_cuda

#endif // KILN_RUNTIME_CUDA_MODEL_H
