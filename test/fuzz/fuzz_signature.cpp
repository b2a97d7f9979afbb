//===- fuzz_signature.cpp - fuzz a model library's signature --------------===//
//
// The signature a compiled model exports (one tab-separated line per
// tensor) is all the runtime reads of a library before running it: any
// text must give a model with sane tensor infos or a clear error.
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"

#include <cstdint>
#include <cstdlib>
#include <string>

static void entry(void **) {}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  kiln_model *m = kiln_model_from_entry(entry, text.c_str(), "fuzz");
  if (!m) {
    if (!*kiln_last_error())
      abort(); // a refusal must say why
    return 0;
  }
  for (int i = 0; i < kiln_model_num_inputs(m) + kiln_model_num_outputs(m); ++i) {
    bool in = i < kiln_model_num_inputs(m);
    const kiln_tensor_info *t =
        in ? kiln_model_input(m, i) : kiln_model_output(m, i - kiln_model_num_inputs(m));
    if (!t || !t->name || t->rank < 0 || kiln_dtype_bytes(t->dtype) == 0)
      abort();
    for (int d = 0; d < t->rank; ++d)
      if (t->shape[d] < 0)
        abort();
    (void)kiln_tensor_bytes(t);
  }
  if (kiln_model_input(m, -1) || kiln_model_output(m, 1 << 30))
    abort();
  kiln_model_free(m);
  return 0;
}
