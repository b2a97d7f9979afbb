//===- model_profile.h - per-kernel timelines of model runs -----*- C++ -*-===//
//
// A CPU model's code calls kiln_profile_begin(k) / kiln_profile_end(k)
// around each kernel (kiln-cpu-profile-markers). Outside a profiled run
// these return at once; kiln_model_profile installs a recorder on its own
// thread for the runs it times, then writes a Chrome trace (Perfetto and
// chrome://tracing read it) and a summary table against the machine's peak.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_MODEL_PROFILE_H
#define KILN_RUNTIME_MODEL_PROFILE_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln_profile {

/// A kernel of the model, from its signature's "kernel" lines.
struct KernelInfo {
  std::string name, kind, nodes;
  int64_t flops = 0, bytes = 0;
};

/// One timed interval, in nanoseconds of the steady clock. `kernel` is the
/// kernel's index; kRun marks a whole run.
struct Event {
  static constexpr int32_t kRun = -1;
  int32_t kernel;
  int64_t begin, end;
};

struct Recorder {
  std::vector<Event> events;
  std::vector<std::pair<int32_t, int64_t>> open; // kernels begun, not ended
};

/// Sets the recorder of the calling thread (nullptr: none).
void setRecorder(Recorder *recorder);
int64_t now();

/// The machine's nominal peaks the summary compares with.
struct Peaks {
  double gflops = 0;     // all threads the runtime uses, f32 FMA
  double gbytes = 0;     // GB/s of a measured memory copy
  std::string describe;  // how they were obtained
};
Peaks cpuPeaks(int threads);

/// Chrome trace JSON of the recorded events.
std::string traceJson(const std::string &model, const std::vector<KernelInfo> &kernels,
                      const std::vector<Event> &events, int threads);

/// The table of kernels by time: share, GFLOP/s and GB/s against `peaks`.
std::string summary(const std::string &model, const std::vector<KernelInfo> &kernels,
                    const std::vector<Event> &events, int runs, const Peaks &peaks);

} // namespace kiln_profile

#endif // KILN_RUNTIME_MODEL_PROFILE_H
