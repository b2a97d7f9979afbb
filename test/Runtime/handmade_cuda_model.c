/* A CUDA model library written by hand against the ABI that kilnc emits
 * (kiln_runtime.h), to exercise runtime paths that the compiled examples
 * do not reach yet: a launch with more than 48 KiB of dynamic shared
 * memory (the runtime must raise the kernel's limit first), a launch with
 * too much of it (an error naming the kernel), a transposing strided
 * device copy and a weight read back through kiln_cuda_weight.
 *
 * The model: out[j][i] = in[i][j] (3x4 -> 4x3), out2 = the weight (4
 * floats), plus one launch of "big_smem" with KERNEL_SMEM bytes. */
#include "kiln_runtime.h"

#include <stdint.h>
#include <stdlib.h>

#ifndef KERNEL_SMEM
#define KERNEL_SMEM 65536
#endif

const char kiln_model_signature[] = "in\tx\t1\t3,4\nout\txt\t1\t4,3\nout\tw\t1\t4\n";
const char kiln_cuda_ptx[] =
    "//\n.version 8.0\n.target sm_80\n.address_size 64\n"
    ".visible .entry big_smem(\n\t.param .u64 .ptr .align 1 big_smem_param_0,\n"
    "\t.param .u64 big_smem_param_1\n)\n{\n\tret;\n}\n";
const char kiln_cuda_arch[] = "sm_80";
const char kiln_cuda_cubin[] = "";
const int64_t kiln_cuda_cubin_size = 0;
const char kiln_cuda_kernels[] = "big_smem\n";
const int64_t kiln_cuda_arena_bytes = 1024;
const int64_t kiln_cuda_num_weights = 1;
static const float weight[4] = {1.5f, -2.0f, 0.25f, 8.0f};

void kiln_cuda_weights(const void **data, int64_t *bytes) {
  data[0] = weight;
  bytes[0] = sizeof(weight);
}

/* A memref descriptor of rank 2 and its unranked wrapper. */
struct Desc2 { float *alloc, *aligned; int64_t offset, sizes[2], strides[2]; };
struct Unranked { int64_t rank; void *desc; };

void kiln_cuda_model_entry(void *exec, void **descriptors) {
  struct Desc2 *in = descriptors[0], *out = descriptors[1];
  struct { float *alloc, *aligned; int64_t offset, size, stride; } *w = descriptors[2];
  /* out viewed as a 3x4 memref with strides (1, 3): the transpose. */
  struct Desc2 src = *in, dst = {out->alloc, out->aligned, 0, {3, 4}, {1, 3}};
  struct Unranked s = {2, &src}, d = {2, &dst};
  kiln_cuda_copy_strided(exec, 4, &s, &d);
  float *dw = kiln_cuda_weight(exec, 0);
  kiln_cuda_memcpy(exec, w->aligned, dw, sizeof(weight));
  void *arena = kiln_cuda_arena(exec, 1024);
  int64_t n = 4;
  void *params[] = {&arena, &n};
  kiln_cuda_launch(exec, 0, 2, 1, 1, 128, 1, 1, KERNEL_SMEM, params);
}
