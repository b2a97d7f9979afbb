//===- cuda_driver.cpp - the CUDA driver API, loaded at run time ---------===//
#include "cuda_driver.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace kiln_cuda {

namespace {

struct Entry {
  void **slot;
  // Tried in order: the versioned name cuda.h maps the API to first.
  const char *names[3];
  bool optional;
};

Driver driver;
std::string loadError;

void load() {
  const char *env = std::getenv("KILN_CUDA_DRIVER");
  const char *path = env && *env ? env : "libcuda.so.1";
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *e = dlerror();
    loadError = std::string("no CUDA driver: cannot load ") + path + " (" +
                (e ? e : "unknown error") +
                "); a CUDA model needs an NVIDIA GPU and its driver";
    return;
  }
#define SLOT(f) reinterpret_cast<void **>(&driver.f)
  const Entry entries[] = {
      {SLOT(cuInit), {"cuInit"}, false},
      {SLOT(cuDriverGetVersion), {"cuDriverGetVersion"}, false},
      {SLOT(cuDeviceGetCount), {"cuDeviceGetCount"}, false},
      {SLOT(cuDeviceGet), {"cuDeviceGet"}, false},
      {SLOT(cuDeviceGetName), {"cuDeviceGetName"}, false},
      {SLOT(cuDeviceGetAttribute), {"cuDeviceGetAttribute"}, false},
      {SLOT(cuDevicePrimaryCtxRetain), {"cuDevicePrimaryCtxRetain"}, false},
      {SLOT(cuCtxSetCurrent), {"cuCtxSetCurrent"}, false},
      {SLOT(cuModuleLoadDataEx), {"cuModuleLoadDataEx"}, false},
      {SLOT(cuModuleUnload), {"cuModuleUnload"}, false},
      {SLOT(cuModuleGetFunction), {"cuModuleGetFunction"}, false},
      {SLOT(cuFuncSetAttribute), {"cuFuncSetAttribute"}, false},
      {SLOT(cuMemAlloc), {"cuMemAlloc_v2"}, false},
      {SLOT(cuMemFree), {"cuMemFree_v2"}, false},
      {SLOT(cuMemcpyHtoDAsync), {"cuMemcpyHtoDAsync_v2"}, false},
      {SLOT(cuMemcpyDtoHAsync), {"cuMemcpyDtoHAsync_v2"}, false},
      {SLOT(cuMemcpyDtoDAsync), {"cuMemcpyDtoDAsync_v2"}, false},
      {SLOT(cuMemcpy2DAsync), {"cuMemcpy2DAsync_v2"}, false},
      {SLOT(cuStreamCreate), {"cuStreamCreate"}, false},
      {SLOT(cuStreamDestroy), {"cuStreamDestroy_v2"}, false},
      {SLOT(cuStreamSynchronize), {"cuStreamSynchronize"}, false},
      {SLOT(cuLaunchKernel), {"cuLaunchKernel"}, false},
      {SLOT(cuEventCreate), {"cuEventCreate"}, false},
      {SLOT(cuEventDestroy), {"cuEventDestroy_v2"}, false},
      {SLOT(cuEventRecord), {"cuEventRecord"}, false},
      {SLOT(cuEventSynchronize), {"cuEventSynchronize"}, false},
      // CUDA 12.8 added a _v2 that cuda.h 13 maps to; older drivers have
      // only the original, with the same signature.
      {SLOT(cuEventElapsedTime), {"cuEventElapsedTime_v2", "cuEventElapsedTime"}, false},
      {SLOT(cuStreamBeginCapture), {"cuStreamBeginCapture_v2"}, false},
      {SLOT(cuStreamEndCapture), {"cuStreamEndCapture"}, false},
      {SLOT(cuGraphInstantiateWithFlags), {"cuGraphInstantiateWithFlags"}, false},
      {SLOT(cuGraphLaunch), {"cuGraphLaunch"}, false},
      {SLOT(cuGraphExecDestroy), {"cuGraphExecDestroy"}, false},
      {SLOT(cuGraphDestroy), {"cuGraphDestroy"}, false},
      {SLOT(cuGetErrorName), {"cuGetErrorName"}, true},
      {SLOT(cuGetErrorString), {"cuGetErrorString"}, true},
  };
#undef SLOT
  for (const Entry &e : entries) {
    void *fn = nullptr;
    for (const char *name : e.names)
      if (name && (fn = dlsym(handle, name)))
        break;
    if (!fn && !e.optional) {
      loadError = std::string("the CUDA driver ") + path + " lacks " + e.names[0] +
                  " (a driver for CUDA 12 or newer is needed)";
      dlclose(handle);
      return;
    }
    *e.slot = fn;
  }
}

struct Known {
  CUresult code;
  const char *name;
};
// For drivers that cannot name their errors (a stub library, say).
const Known knownErrors[] = {
    {1, "CUDA_ERROR_INVALID_VALUE"},         {2, "CUDA_ERROR_OUT_OF_MEMORY"},
    {3, "CUDA_ERROR_NOT_INITIALIZED"},       {4, "CUDA_ERROR_DEINITIALIZED"},
    {34, "CUDA_ERROR_STUB_LIBRARY"},         {35, "CUDA_ERROR_INSUFFICIENT_DRIVER"},
    {100, "CUDA_ERROR_NO_DEVICE"},           {101, "CUDA_ERROR_INVALID_DEVICE"},
    {200, "CUDA_ERROR_INVALID_IMAGE"},       {201, "CUDA_ERROR_INVALID_CONTEXT"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU"},   {218, "CUDA_ERROR_INVALID_PTX"},
    {222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION"}, {400, "CUDA_ERROR_INVALID_HANDLE"},
    {500, "CUDA_ERROR_NOT_FOUND"},           {700, "CUDA_ERROR_ILLEGAL_ADDRESS"},
    {701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"}, {702, "CUDA_ERROR_LAUNCH_TIMEOUT"},
    {710, "CUDA_ERROR_ASSERT"},              {715, "CUDA_ERROR_ILLEGAL_INSTRUCTION"},
    {716, "CUDA_ERROR_MISALIGNED_ADDRESS"},  {719, "CUDA_ERROR_LAUNCH_FAILED"},
    {801, "CUDA_ERROR_NOT_SUPPORTED"},       {803, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"},
    {804, "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"},
    {900, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"},
    {901, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"}, {999, "CUDA_ERROR_UNKNOWN"},
};

} // namespace

const Driver *loadDriver(std::string &error) {
  static std::once_flag once;
  std::call_once(once, load);
  if (!loadError.empty()) {
    error = loadError;
    return nullptr;
  }
  return &driver;
}

std::string errorName(const Driver *d, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (d && d->cuGetErrorName && d->cuGetErrorName(result, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (d && d->cuGetErrorString && d->cuGetErrorString(result, &text) != CUDA_SUCCESS)
    text = nullptr;
  if (!name)
    for (const Known &k : knownErrors)
      if (k.code == result)
        name = k.name;
  std::string out = name ? name : "CUDA error " + std::to_string(result);
  if (text)
    out += std::string(" (") + text + ")";
  return out;
}

} // namespace kiln_cuda
