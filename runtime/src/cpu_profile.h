//===- cpu_profile.h - time the runtime's CPU kernels per shape -*- C++ -*-===//
//
// With KILN_CPU_PROFILE=1 in the environment, the runtime's CPU kernels
// (GEMM, depthwise convolution) record the time and floating-point work
// of each call by kernel and shape; at exit the process prints the kernels
// that took the most time, with their GFLOP/s, to stderr.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CPU_PROFILE_H
#define KILN_RUNTIME_CPU_PROFILE_H

#include <chrono>
#include <string>

namespace kiln_cpu_profile {

bool enabled();
void record(const char *kernel, const std::string &shape, double flops, double seconds);

/// Times one kernel call when profiling is on.
class Scope {
public:
  Scope(const char *kernel, std::string shape, double flops)
      : on(enabled()), kernel(kernel), shape(std::move(shape)), flops(flops) {
    if (on)
      start = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (on)
      record(kernel, shape, flops,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

private:
  bool on;
  const char *kernel;
  std::string shape;
  double flops;
  std::chrono::steady_clock::time_point start;
};

} // namespace kiln_cpu_profile

#endif // KILN_RUNTIME_CPU_PROFILE_H
