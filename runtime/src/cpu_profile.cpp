//===- cpu_profile.cpp - time the runtime's CPU kernels per shape ---------===//
#include "cpu_profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

namespace kiln_cpu_profile {
namespace {

struct Entry {
  long calls = 0;
  double seconds = 0, flops = 0;
};

class Table {
public:
  void add(const std::string &key, double flops, double seconds) {
    std::lock_guard<std::mutex> lock(mutex);
    Entry &e = entries[key];
    ++e.calls;
    e.seconds += seconds;
    e.flops += flops;
  }
  ~Table() {
    if (entries.empty())
      return;
    std::vector<std::pair<std::string, Entry>> rows(entries.begin(), entries.end());
    std::sort(rows.begin(), rows.end(),
              [](const auto &a, const auto &b) { return a.second.seconds > b.second.seconds; });
    double total = 0;
    for (auto &r : rows)
      total += r.second.seconds;
    std::fprintf(stderr,
                 "kiln CPU kernels by time (KILN_CPU_PROFILE), %zu kinds, %.3f s in all:\n"
                 "  %-44s %8s %10s %8s %9s\n",
                 rows.size(), total, "kernel and shape", "calls", "ms/call", "share", "GFLOP/s");
    for (size_t i = 0; i < rows.size() && i < 15; ++i) {
      const Entry &e = rows[i].second;
      std::fprintf(stderr, "  %-44s %8ld %10.3f %7.1f%% %9.1f\n", rows[i].first.c_str(), e.calls,
                   1000 * e.seconds / e.calls, 100 * e.seconds / total,
                   e.seconds > 0 ? e.flops / e.seconds * 1e-9 : 0.0);
    }
  }

private:
  std::mutex mutex;
  std::map<std::string, Entry> entries;
};

Table &table() {
  static Table t;
  return t;
}

} // namespace

bool enabled() {
  static const bool on = [] {
    const char *v = std::getenv("KILN_CPU_PROFILE");
    bool yes = v && *v && std::string(v) != "0";
    if (yes)
      table(); // constructed now, so destroyed (and printed) at exit
    return yes;
  }();
  return on;
}

void record(const char *kernel, const std::string &shape, double flops, double seconds) {
  table().add(std::string(kernel) + " " + shape, flops, seconds);
}

} // namespace kiln_cpu_profile
