//===- fuzz_runtime_api.cpp - fuzz what callers pass to kiln_model_run ----===//
//
// A model with a fixed signature and an entry that reads every input and
// writes every output through the descriptors the runtime builds; the
// fuzzer picks which buffers are missing, the thread count and the data.
// Missing buffers must be refused with an error, present ones used within
// their bounds (AddressSanitizer checks the entry's accesses).
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"

#include <cstdint>
#include <cstdlib>
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
  return 0;
}
