//===- model_profile.cpp - per-kernel timelines of model runs ------------===//
#include "model_profile.h"
#include "kiln_runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

namespace kiln_profile {
namespace {

thread_local Recorder *active = nullptr;

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += (char)c;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += (char)c;
    }
  }
  return out + "\"";
}

std::string number(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double maxCoreGHz() {
  if (FILE *f = std::fopen("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "r")) {
    long khz = 0;
    int n = std::fscanf(f, "%ld", &khz);
    std::fclose(f);
    if (n == 1 && khz > 0)
      return khz / 1e6;
  }
  double best = 0;
  if (FILE *f = std::fopen("/proc/cpuinfo", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      double mhz;
      if (std::strncmp(line, "cpu MHz", 7) == 0 && std::sscanf(std::strchr(line, ':') + 1,
                                                               "%lf", &mhz) == 1)
        best = std::max(best, mhz / 1000);
    }
    std::fclose(f);
  }
  return best;
}

/// GB/s of copying 64 MiB (read plus write), the best of three.
double copyBandwidth() {
  const size_t bytes = size_t(64) << 20;
  std::unique_ptr<char[]> a(new char[bytes]), b(new char[bytes]);
  std::memset(a.get(), 1, bytes);
  std::memset(b.get(), 0, bytes);
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    int64_t t0 = now();
    std::memcpy(b.get(), a.get(), bytes);
    int64_t t1 = now();
    if (t1 > t0)
      best = std::max(best, 2.0 * bytes / (t1 - t0));
  }
  return best; // bytes per ns = GB/s
}

double envNumber(const char *name) {
  const char *v = std::getenv(name);
  if (!v || !*v)
    return 0;
  char *end = nullptr;
  double d = std::strtod(v, &end);
  return end && !*end && d > 0 ? d : 0;
}

} // namespace

void setRecorder(Recorder *recorder) { active = recorder; }

int64_t now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Peaks cpuPeaks(int threads) {
  static std::once_flag once;
  static double lanes = 4, ghz = 0, bandwidth = 0;
  static std::string isa = "SSE";
  std::call_once(once, [] {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
      lanes = 16;
      isa = "AVX-512";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      lanes = 8;
      isa = "AVX2";
    }
#else
    isa = "128-bit SIMD";
#endif
    ghz = maxCoreGHz();
    bandwidth = copyBandwidth();
  });
  Peaks p;
  // Two FMA units per core, two flops per FMA.
  double perCore = lanes * 2 * 2 * ghz;
  p.gflops = perCore * std::max(1, threads);
  p.describe = std::to_string(std::max(1, threads)) + " thread(s) x " + number(perCore, 0) +
               " GFLOP/s (" + isa + " f32, 2 FMA units, " + number(ghz, 2) + " GHz)";
  p.gbytes = bandwidth;
  std::string bw = number(bandwidth, 1) + " GB/s (a 64 MiB memcpy)";
  if (double v = envNumber("KILN_PEAK_GFLOPS")) {
    p.gflops = v;
    p.describe = number(v, 0) + " GFLOP/s (KILN_PEAK_GFLOPS)";
  }
  if (double v = envNumber("KILN_PEAK_GBPS")) {
    p.gbytes = v;
    bw = number(v, 1) + " GB/s (KILN_PEAK_GBPS)";
  }
  p.describe += ", memory " + bw;
  return p;
}

std::string traceJson(const std::string &model, const std::vector<KernelInfo> &kernels,
                      const std::vector<Event> &events, int threads) {
  int64_t origin = events.empty() ? 0 : events.front().begin;
  for (const Event &e : events)
    origin = std::min(origin, e.begin);
  std::string out = "{\"displayTimeUnit\": \"ms\",\n \"otherData\": {\"model\": " +
                    jsonString(model) + ", \"threads\": " + std::to_string(threads) +
                    "},\n \"traceEvents\": [\n";
  out += "  {\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 1, "
         "\"args\": {\"name\": " + jsonString("kiln " + model) + "}}";
  int run = 0;
  for (const Event &e : events) {
    double ts = (e.begin - origin) / 1e3, dur = (e.end - e.begin) / 1e3;
    out += ",\n  {\"ph\": \"X\", \"pid\": 1, \"tid\": 1, \"ts\": " + number(ts) +
           ", \"dur\": " + number(dur) + ", ";
    if (e.kernel == Event::kRun) {
      out += "\"name\": \"run " + std::to_string(run++) + "\", \"cat\": \"run\"}";
      continue;
    }
    KernelInfo info;
    if (e.kernel >= 0 && (size_t)e.kernel < kernels.size())
      info = kernels[e.kernel];
    else
      info.name = "kernel " + std::to_string(e.kernel);
    double ns = std::max<int64_t>(1, e.end - e.begin);
    out += "\"name\": " + jsonString(info.name + (info.kind.empty() ? "" : " " + info.kind)) +
           ", \"cat\": " + jsonString(info.kind.empty() ? "kernel" : info.kind) +
           ", \"args\": {\"kernel\": " + std::to_string(e.kernel) +
           ", \"nodes\": " + jsonString(info.nodes) +
           ", \"flops\": " + std::to_string(info.flops) +
           ", \"bytes\": " + std::to_string(info.bytes) +
           ", \"GFLOP/s\": " + number(info.flops / ns, 2) +
           ", \"GB/s\": " + number(info.bytes / ns, 2) + "}}";
  }
  return out + "\n ]}\n";
}

std::string summary(const std::string &model, const std::vector<KernelInfo> &kernels,
                    const std::vector<Event> &events, int runs, const Peaks &peaks) {
  struct Row {
    int32_t kernel;
    long calls = 0;
    int64_t ns = 0;
  };
  std::map<int32_t, Row> rows;
  int64_t runNs = 0, kernelNs = 0;
  for (const Event &e : events) {
    if (e.kernel == Event::kRun) {
      runNs += e.end - e.begin;
      continue;
    }
    Row &r = rows[e.kernel];
    r.kernel = e.kernel;
    ++r.calls;
    r.ns += e.end - e.begin;
    kernelNs += e.end - e.begin;
  }
  runs = std::max(1, runs);
  std::vector<Row> sorted;
  for (auto &[k, r] : rows)
    sorted.push_back(r);
  std::sort(sorted.begin(), sorted.end(),
            [](const Row &a, const Row &b) { return a.ns > b.ns; });
  char line[512];
  std::string out;
  std::snprintf(line, sizeof line,
                "kiln profile of %s: %d run(s), %.3f ms per run; %zu kernels timed, "
                "%.1f%% of the run\n",
                model.c_str(), runs, runNs / 1e6 / runs, sorted.size(),
                runNs ? 100.0 * kernelNs / runNs : 0.0);
  out += line;
  out += "peak: " + peaks.describe + "\n";
  if (sorted.empty()) {
    out += "  (no per-kernel timing: the model was compiled without kernel groups, or its "
           "target does not time kernels)\n";
    return out;
  }
  std::snprintf(line, sizeof line, "  %-8s %-12s %9s %7s %9s %6s %8s %6s  %s\n", "kernel", "kind",
                "ms/run", "share", "GFLOP/s", "%peak", "GB/s", "%peak", "ONNX nodes");
  out += line;
  const size_t shown = 20;
  int64_t restNs = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const Row &r = sorted[i];
    if (i >= shown) {
      restNs += r.ns;
      continue;
    }
    KernelInfo info;
    if (r.kernel >= 0 && (size_t)r.kernel < kernels.size())
      info = kernels[r.kernel];
    else
      info.name = "#" + std::to_string(r.kernel);
    // Each kernel runs once per run; its FLOPs and bytes are per run.
    double ns = std::max<double>(1, (double)r.ns / runs);
    double gflops = info.flops / ns, gbytes = info.bytes / ns;
    std::string nodes = info.nodes.size() > 60 ? info.nodes.substr(0, 57) + "..." : info.nodes;
    // Kernels whose work is not known (GPU kernels by launch) show "-".
    auto rate = [&](double v, double peak, bool known, char *text, char *share) {
      if (!known) {
        std::snprintf(text, 16, "-");
        std::snprintf(share, 16, "-");
        return;
      }
      std::snprintf(text, 16, "%.2f", v);
      if (peak > 0)
        std::snprintf(share, 16, "%.1f%%", 100 * v / peak);
      else
        std::snprintf(share, 16, "-");
    };
    char gf[16], gfShare[16], gb[16], gbShare[16];
    rate(gflops, peaks.gflops, info.flops > 0 || info.bytes > 0, gf, gfShare);
    rate(gbytes, peaks.gbytes, info.flops > 0 || info.bytes > 0, gb, gbShare);
    std::string name = info.name.size() > 24 ? info.name.substr(0, 21) + "..." : info.name;
    std::snprintf(line, sizeof line, "  %-8s %-12s %9.3f %6.1f%% %9s %6s %8s %6s  %s\n",
                  name.c_str(), info.kind.c_str(), r.ns / 1e6 / runs,
                  kernelNs ? 100.0 * r.ns / kernelNs : 0.0, gf, gfShare, gb, gbShare,
                  nodes.c_str());
    out += line;
  }
  if (restNs) {
    std::snprintf(line, sizeof line, "  %zu more kernels: %.3f ms/run, %.1f%%\n",
                  sorted.size() - shown, restNs / 1e6 / runs, 100.0 * restNs / kernelNs);
    out += line;
  }
  return out;
}

} // namespace kiln_profile

extern "C" {

void kiln_profile_begin(int32_t kernel) {
  kiln_profile::Recorder *r = kiln_profile::active;
  if (!r)
    return;
  r->open.emplace_back(kernel, kiln_profile::now());
}

void kiln_profile_end(int32_t kernel) {
  kiln_profile::Recorder *r = kiln_profile::active;
  if (!r || r->open.empty())
    return;
  int64_t t = kiln_profile::now();
  auto [k, begin] = r->open.back();
  r->open.pop_back();
  r->events.push_back({k == kernel ? kernel : k, begin, t});
}

} // extern "C"
