//===- fuzz_runtime_api.cpp - fuzz what callers pass to kiln_model_run ----===//
//
// A model with a fixed signature and an entry that reads every input and
// writes every output through the descriptors the runtime builds; the
// fuzzer picks which buffers are missing, the thread count and the data.
// Missing buffers must be refused with an error, present ones used within
// their bounds (AddressSanitizer checks the entry's accesses). Then the
// same through kiln_model_run_views with fuzzed dtypes, ranks, shapes,
// sizes and counts: exactly the calls whose views all match must run.
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"

#include <cstdint>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <vector>

namespace {
// A ranked memref descriptor: allocated, aligned, offset, sizes, strides.
struct Descriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizesAndStrides[];
};

const char *kSignature = "in\tx\t1\t3,5\nin\tidx\t7\t4\nin\tflag\t9\t\nout\ty\t1\t3,5\nout\tz\t7\t4\n";
const int kRanks[] = {2, 1, 0, 2, 1};
const size_t kWidths[] = {4, 8, 1, 4, 8};

void entry(void **descriptors) {
  // Reads each input and writes each output over the extent its
  // descriptor gives.
  int64_t sum = 0;
  for (int t = 0; t < 5; ++t) {
    auto *d = static_cast<Descriptor *>(descriptors[t]);
    int64_t n = 1;
    for (int r = 0; r < kRanks[t]; ++r)
      n *= d->sizesAndStrides[r];
    auto *bytes = static_cast<unsigned char *>(d->aligned) + d->offset * kWidths[t];
    for (int64_t i = 0; i < n * (int64_t)kWidths[t]; ++i) {
      if (t < 3)
        sum += bytes[i];
      else
        bytes[i] = (unsigned char)(sum + i);
    }
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static kiln_model *m = kiln_model_from_entry(entry, kSignature, "fuzz");
  if (!m)
    abort();
  if (size < 2)
    return 0;
  uint8_t missing = data[0], threads = data[1];
  kiln_set_num_threads(1 + threads % 4);
  std::vector<std::vector<unsigned char>> buffers;
  std::vector<const void *> ins;
  std::vector<void *> outs;
  size_t pos = 2;
  for (int t = 0; t < 5; ++t) {
    const kiln_tensor_info *info = t < 3 ? kiln_model_input(m, t) : kiln_model_output(m, t - 3);
    std::vector<unsigned char> buf(kiln_tensor_bytes(info));
    for (auto &b : buf)
      b = pos < size ? data[pos++] : 0;
    buffers.push_back(std::move(buf));
    bool absent = missing & (1u << t);
    void *p = absent ? nullptr : buffers.back().data();
    if (t < 3)
      ins.push_back(p);
    else
      outs.push_back(p);
  }
  bool noList = missing & 0x80;
  int rc = kiln_model_run(m, noList ? nullptr : ins.data(), outs.data());
  bool anyMissing = noList || (missing & 0x1f);
  if (anyMissing != (rc != 0))
    abort(); // a missing buffer must be refused, a complete call must run
  if (rc != 0 && !*kiln_last_error())
    abort();

  // Checked runs: the fuzzer perturbs each view's dtype, rank, shape and
  // buffer size (buffers are exactly as large as the view says, so a view
  // accepted with too few bytes is an AddressSanitizer report).
  auto next = [&]() -> uint8_t { return pos < size ? data[pos++] : 0; };
  std::vector<kiln_tensor_view> views;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::vector<unsigned char>> storage;
  bool allMatch = true;
  for (int t = 0; t < 5; ++t) {
    const kiln_tensor_info *info = t < 3 ? kiln_model_input(m, t) : kiln_model_output(m, t - 3);
    uint8_t how = next();
    kiln_tensor_view v{};
    v.dtype = info->dtype + ((how & 1) ? 1 + next() % 3 : 0);
    v.rank = info->rank + ((how & 2) ? (next() % 2 ? 1 : -1) : 0);
    shapes.emplace_back(info->shape, info->shape + info->rank);
    shapes.back().resize(v.rank < 0 ? 0 : v.rank, 1);
    if ((how & 4) && !shapes.back().empty())
      shapes.back()[next() % shapes.back().size()] += 1 + next() % 3;
    v.shape = shapes.back().data();
    size_t need = kiln_tensor_bytes(info);
    v.bytes = need;
    if ((how & 8) && need)
      v.bytes = need - 1 - next() % need;
    storage.emplace_back(v.bytes);
    v.data = (how & 16) ? nullptr : storage.back().data();
    bool match = v.dtype == info->dtype && v.rank == info->rank &&
                 std::equal(shapes.back().begin(), shapes.back().end(), info->shape) &&
                 v.bytes >= need && (v.data || !need);
    allMatch &= match;
    views.push_back(v);
  }
  int extra = next() % 4 == 0 ? 1 : 0; // a wrong output count
  views.push_back(kiln_tensor_view{});  // never read: the count is refused first
  rc = kiln_model_run_views(m, views.data(), 3, views.data() + 3, 2 + extra);
  if ((allMatch && !extra) != (rc == 0))
    abort(); // exactly the matching views run
  if (rc != 0 && !*kiln_last_error())
    abort();
  return 0;
}
