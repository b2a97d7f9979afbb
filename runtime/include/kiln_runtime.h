/*===- kiln_runtime.h - C API of Kiln's runtime library -------------------===*
 *
 * Loads a model compiled by `kilnc --emit=so` and runs it with caller-owned
 * buffers. Needs only this library (and libc/libm); no compiler.
 *
 *   kiln_model *m = kiln_model_load("model.so");
 *   if (!m) { fprintf(stderr, "%s\n", kiln_last_error()); return 1; }
 *   const kiln_tensor_info *in = kiln_model_input(m, 0);
 *   ... fill input buffers of kiln_tensor_bytes(in) bytes ...
 *   if (kiln_model_run(m, inputs, outputs) != 0) ... kiln_last_error() ...
 *   kiln_model_free(m);
 *
 * Loading the same library twice, loading from several threads, and running
 * one model from several threads at once are all safe.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types use ONNX's TensorProto.DataType codes. */
enum {
  KILN_FLOAT = 1, KILN_UINT8 = 2, KILN_INT8 = 3, KILN_UINT16 = 4,
  KILN_INT16 = 5, KILN_INT32 = 6, KILN_INT64 = 7, KILN_BOOL = 9,
  KILN_FLOAT16 = 10, KILN_DOUBLE = 11, KILN_UINT32 = 12, KILN_UINT64 = 13,
  KILN_BFLOAT16 = 16
};

/* Bytes per element of a data type (bool: one byte); 0 if unknown. */
static inline size_t kiln_dtype_bytes(int32_t dtype) {
  switch (dtype) {
  case KILN_FLOAT: case KILN_INT32: case KILN_UINT32: return 4;
  case KILN_DOUBLE: case KILN_INT64: case KILN_UINT64: return 8;
  case KILN_FLOAT16: case KILN_BFLOAT16: case KILN_INT16: case KILN_UINT16: return 2;
  case KILN_BOOL: case KILN_INT8: case KILN_UINT8: return 1;
  default: return 0;
  }
}

typedef struct kiln_tensor_info {
  const char *name;
  int32_t dtype;
  int32_t rank;
  const int64_t *shape;
} kiln_tensor_info;

typedef struct kiln_model kiln_model;

/* The entry point of a compiled model: one memref descriptor pointer per
 * input, then per output. */
typedef void (*kiln_entry_fn)(void **descriptors);

/* Loads a compiled model library. NULL on failure (see kiln_last_error). */
kiln_model *kiln_model_load(const char *path);

/* Wraps an entry point and signature that are already in this process (a
 * model compiled just in time). `signature` is copied. */
kiln_model *kiln_model_from_entry(kiln_entry_fn entry, const char *signature,
                                  const char *name);

void kiln_model_free(kiln_model *model);

int kiln_model_num_inputs(const kiln_model *model);
int kiln_model_num_outputs(const kiln_model *model);
const kiln_tensor_info *kiln_model_input(const kiln_model *model, int index);
const kiln_tensor_info *kiln_model_output(const kiln_model *model, int index);

/* Bytes of a dense row-major tensor of this type (bool: 1 byte/element). */
size_t kiln_tensor_bytes(const kiln_tensor_info *info);

/* Runs the model: inputs[i] / outputs[i] point to dense row-major buffers
 * of kiln_tensor_bytes() bytes. Returns 0, or -1 with kiln_last_error(). */
int kiln_model_run(kiln_model *model, const void *const *inputs,
                   void *const *outputs);

/* A caller's tensor: its buffer and what the caller says it holds. */
typedef struct kiln_tensor_view {
  void *data;           /* dense row-major elements */
  size_t bytes;         /* the size of the buffer at data */
  int32_t dtype;        /* KILN_FLOAT, ... */
  int32_t rank;
  const int64_t *shape; /* rank dims */
} kiln_tensor_view;

/* kiln_model_run with every buffer checked first: the number of inputs and
 * outputs, and for each its dtype, rank, shape and buffer size (at least
 * kiln_tensor_bytes) against the model's, and a buffer present. A mismatch
 * is an error naming the tensor and both values; nothing runs. */
int kiln_model_run_views(kiln_model *model, const kiln_tensor_view *inputs,
                         int num_inputs, const kiln_tensor_view *outputs,
                         int num_outputs);

/* Threads that compiled models use (the caller's thread included). The
 * default is the KILN_NUM_THREADS environment variable, else the number of
 * cores. Takes effect for runs that start afterwards. */
void kiln_set_num_threads(int threads);
int kiln_get_num_threads(void);

/* Called by compiled code: runs fn(ctx, begin, end) over chunks of
 * [0, count) on the runtime's thread pool and returns when all are done. */
void kiln_parallel_for(int64_t count, void (*fn)(void *ctx, int64_t begin, int64_t end),
                       void *ctx);

/* Called by compiled code for its f32 contractions: over `batch` problems,
 * C[b][m][n] += sum_k A[b][m][k] * B[b][k][n], each operand addressed with
 * element strides (0 broadcasts). Packed, register-blocked, on the thread
 * pool; the microkernel (AVX-512, AVX2 or portable) is chosen at run time
 * from the CPU. An operand the compiler packed ahead of time (weights,
 * shared by every batch) has a_panel_rows / b_panel_cols > 0: A as panels
 * of that many rows, B of that many columns, each over the whole of K
 * (element (m, k) of A at (m / R) * K * R + k * R + m % R), zero-padded;
 * its strides are then ignored. 0 means strided. */
void kiln_cpu_sgemm(int64_t batch, int64_t M, int64_t N, int64_t K, const float *A,
                    int64_t a_stride_b, int64_t a_stride_m, int64_t a_stride_k,
                    const float *B, int64_t b_stride_b, int64_t b_stride_k,
                    int64_t b_stride_n, float *C, int64_t c_stride_b, int64_t c_stride_m,
                    int64_t c_stride_n, int64_t a_panel_rows, int64_t b_panel_cols);
/* The panel sizes of this CPU's microkernel: A rows and B columns. */
void kiln_cpu_sgemm_panels(int64_t *rows, int64_t *cols);
/* Called by compiled code for f32 2-D convolutions (one group):
 * out[n][f][oh][ow] += sum over c < C, kh < KH, kw < KW of
 * in[n][c][oh*SH - PT + kh*DH][ow*SW - PL + kw*DW] * w[f][c][kh][kw],
 * zero outside the H x W input (so PT, PL and any bottom/right padding
 * are read, not stored). Every operand is addressed with element strides.
 * With w_panel_rows > 0 the filter is instead the compiler's packing of
 * w as an F x (C*KH*KW) matrix in panels of that many rows (as for
 * kiln_cpu_sgemm's A) and its strides are ignored. An implicit GEMM: the
 * im2col matrix is gathered panel by panel, never stored.
 * The epilogue, applied as the output is stored:
 * out = clamp(start + conv + bias[f * bias_stride] + res[n][f][oh][ow], lo, hi)
 * where start is out's own value with KILN_CONV_ACCUMULATE and 0 without
 * (out is then only written), bias and res are left out when NULL (res
 * addressed with element strides; it must not overlap out), and the clamp
 * (NaN propagating) applies with KILN_CONV_CLAMP. */
#define KILN_CONV_ACCUMULATE 1
#define KILN_CONV_CLAMP 2

void kiln_cpu_conv2d(int64_t N, int64_t C, int64_t H, int64_t W, int64_t F, int64_t KH,
                     int64_t KW, int64_t OH, int64_t OW, int64_t SH, int64_t SW, int64_t DH,
                     int64_t DW, int64_t PT, int64_t PL, const float *in, int64_t in_stride_n,
                     int64_t in_stride_c, int64_t in_stride_h, int64_t in_stride_w,
                     const float *w, int64_t w_stride_f, int64_t w_stride_c,
                     int64_t w_stride_h, int64_t w_stride_w, float *out,
                     int64_t out_stride_n, int64_t out_stride_f, int64_t out_stride_h,
                     int64_t out_stride_w, int64_t w_panel_rows, const float *bias,
                     int64_t bias_stride, const float *res, int64_t res_stride_n,
                     int64_t res_stride_f, int64_t res_stride_h, int64_t res_stride_w,
                     float lo, float hi, int64_t flags);
/* Called by compiled code for f32 depthwise convolutions:
 * out[n][c][oh][ow] = clamp(start + bias[c * bias_stride] + res[n][c][oh][ow]
 *   + sum over kh < KH, kw < KW of in[n][c][ih][iw] * w[c][kh][kw], lo, hi)
 * with ih = oh*SH - PT + kh*DH, iw = ow*SW - PL + kw*DW and taps outside the
 * H x W input left out (zero padding read in place). start is out's own
 * value with KILN_CONV_ACCUMULATE, else 0; bias and res are left out when
 * NULL (res must not overlap out), the clamp (NaN propagating) applies
 * with KILN_CONV_CLAMP. Every operand is addressed with element strides.
 * One (n, c) plane per task on the thread pool. */
void kiln_cpu_depthwise_conv2d(int64_t N, int64_t C, int64_t OH, int64_t OW, int64_t KH,
                               int64_t KW, int64_t SH, int64_t SW, int64_t DH, int64_t DW,
                               const float *in, int64_t in_stride_n, int64_t in_stride_c,
                               int64_t in_stride_h, int64_t in_stride_w, const float *w,
                               int64_t w_stride_c, int64_t w_stride_h, int64_t w_stride_w,
                               float *out, int64_t out_stride_n, int64_t out_stride_c,
                               int64_t out_stride_h, int64_t out_stride_w, int64_t H, int64_t W,
                               int64_t PT, int64_t PL, const float *bias, int64_t bias_stride,
                               const float *res, int64_t res_stride_n, int64_t res_stride_c,
                               int64_t res_stride_h, int64_t res_stride_w, float lo, float hi,
                               int64_t flags);
/* Called by compiled code for fused f32 attention (kiln.attention):
 * out[b][h][i][:] = softmax_j(Q[b][h][i] . K[b][g][j] * scale + mask[b][h][i][j]) V[b][g][j][:]
 * with g = h / (H / Hkv) (grouped-query heads), every operand addressed
 * with element strides (0 broadcasts; mask may be NULL). With
 * KILN_ATTENTION_CAUSAL, query i sees keys j <= i + causal_offset only;
 * with KILN_ATTENTION_ZERO_NAN_ROWS, a row whose weights are NaN (every key
 * masked) is 0 instead of NaN. Flash-style: the Sq x Sk scores are never
 * stored; (batch, head, query tile) tasks on the thread pool. */
#define KILN_ATTENTION_CAUSAL 1
#define KILN_ATTENTION_ZERO_NAN_ROWS 2
void kiln_cpu_attention(int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D,
                        int64_t Dv, const float *q, int64_t q_stride_b, int64_t q_stride_h,
                        int64_t q_stride_s, int64_t q_stride_d, const float *k,
                        int64_t k_stride_b, int64_t k_stride_h, int64_t k_stride_s,
                        int64_t k_stride_d, const float *v, int64_t v_stride_b,
                        int64_t v_stride_h, int64_t v_stride_s, int64_t v_stride_d,
                        const float *mask, int64_t mask_stride_b, int64_t mask_stride_h,
                        int64_t mask_stride_q, int64_t mask_stride_k, float *out,
                        int64_t out_stride_b, int64_t out_stride_h, int64_t out_stride_s,
                        int64_t out_stride_d, float scale, int64_t causal_offset,
                        int64_t flags);
/* The microkernel kiln_cpu_sgemm uses: "avx512", "avx2" or "portable".
 * KILN_CPU_GEMM_ISA=avx2|portable asks for a smaller one. */
const char *kiln_cpu_sgemm_kernel(void);

/* The last error of the calling thread, or "" if none. */
const char *kiln_last_error(void);

/* Profiles: runs the model once untimed, then `runs` times (1 to 100000)
 * timing each run and, for CPU models, each kernel (the code calls
 * kiln_profile_begin/end around every kernel group; they cost a load and a
 * branch outside a profiled run). Writes a Chrome trace (JSON: one "X"
 * event per run and per kernel run, with FLOPs, bytes, GFLOP/s and GB/s)
 * to `trace_path` unless it is NULL; kiln_model_profile_summary then gives
 * the table of kernels by time against the machine's peaks (f32 FMA
 * throughput of the threads used; a measured memory copy; or
 * KILN_PEAK_GFLOPS / KILN_PEAK_GBPS). 0 on success, -1 with
 * kiln_last_error on failure. Outputs hold the last run's results. */
int kiln_model_profile(kiln_model *model, const void *const *inputs,
                       void *const *outputs, int runs, const char *trace_path);
const char *kiln_model_profile_summary(const kiln_model *model);
/* GPU emulation's shared-memory checks. Always on: an access to shared
 * memory that an asynchronous copy (cp.async) still writes is an error of
 * the run. With kiln_emu_set_checks(1) (or KILN_EMU_CHECKS=1) the emulator
 * also counts bank conflicts per shared-memory instruction and reports
 * races (an access to shared memory another warp wrote, or a write to
 * shared memory another warp read, with no barrier between).
 * kiln_emu_report gives the findings since the last reset as JSON:
 * {"checks", "hazards", "hazard_examples": [...], "instructions":
 * [{"kernel", "op", "location", "executions", "wavefronts", "ideal"}]};
 * the text stays valid until the next call. */
int kiln_emu_set_checks(int on);
const char *kiln_emu_report(void);
void kiln_emu_report_reset(void);
/* The kernels a CPU model's profile names (0: none recorded). */
int kiln_model_num_kernels(const kiln_model *model);
void kiln_profile_begin(int32_t kernel);
void kiln_profile_end(int32_t kernel);

/* The symbols a compiled model library exports. */
#define KILN_MODEL_ENTRY_SYMBOL "kiln_model_entry"
#define KILN_MODEL_SIGNATURE_SYMBOL "kiln_model_signature"
/* A CPU model library's x86 extensions, comma-separated LLVM names from
 * KILN_CPU_FEATURE_NAMES: kiln_model_load refuses the library on a machine
 * that lacks one. */
#define KILN_MODEL_CPU_FEATURES_SYMBOL "kiln_model_cpu_features"
/* A library whose weights are in a file beside it (kilnc --weights=file,
 * and by default once they reach 1 GiB) exports three more symbols:
 *   const char kiln_model_weights_file[]: the file's name, looked up in
 *     the library's folder (kilnc -o model.so writes model.so.weights);
 *   const uint64_t kiln_model_weights_layout[3 + 2n]: n, the file's size,
 *     the tag of the compilation that wrote both, then each weight's offset
 *     and size in the file;
 *   const void *kiln_model_weight_slots[n]: the weights' addresses, which
 *     kiln_model_load fills after mapping the file (read-only, shared by
 *     every load of the library).
 * The file starts with KILN_WEIGHTS_MAGIC and the tag (8 bytes each); a
 * missing file, one of another size or with another tag is an error. */
#define KILN_MODEL_WEIGHTS_FILE_SYMBOL "kiln_model_weights_file"
#define KILN_MODEL_WEIGHTS_LAYOUT_SYMBOL "kiln_model_weights_layout"
#define KILN_MODEL_WEIGHT_SLOTS_SYMBOL "kiln_model_weight_slots"
#define KILN_WEIGHTS_MAGIC "KILNWTS1"
#define KILN_CPU_FEATURE_NAMES                                                 \
  "sse4.2", "avx", "avx2", "fma", "f16c", "bmi", "bmi2", "avx512f",            \
      "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512vnni",            \
      "avx512bf16", "avx512fp16", "avxvnni", "amx-tile", "amx-bf16", "amx-int8"

/*===-- CUDA models --------------------------------------------------------===*
 *
 * `kilnc --target=cuda -o model.so` builds a library that kiln_model_load
 * runs on an NVIDIA GPU. The runtime loads the CUDA driver (libcuda.so.1,
 * or the file named by the KILN_CUDA_DRIVER environment variable) with
 * dlopen when the first CUDA model is loaded; without a driver or a device,
 * kiln_model_load fails with one clear error. At load, the model's kernels
 * are loaded (cubin when it matches the device, else the driver
 * JIT-compiles the PTX; one module per distinct PTX in the process) and
 * its weights are uploaded once. kiln_model_run copies the host inputs to
 * the device, runs the kernels in order on one stream, and copies the
 * outputs back. KILN_CUDA_DEVICE picks the device (default 0);
 * KILN_CUDA_SYNC=1 synchronizes after every kernel so that an error names
 * the kernel that caused it; KILN_CUDA_VERBOSE=1 prints, at load, the
 * device, which kernel image was loaded and the memory the model uses.
 *===----------------------------------------------------------------------===*/

enum { KILN_TARGET_CPU = 0, KILN_TARGET_CUDA = 1 };

/* KILN_TARGET_CPU or KILN_TARGET_CUDA; -1 without a model. */
int kiln_model_target(const kiln_model *model);

/* How many of the model's weights were left out of its library (kilnc
 * --elide-weights) and filled with seeded values at load (KILN_WEIGHT_SEED,
 * default 0): when not 0, the outputs are for timing only. */
int kiln_model_elided_weights(const kiln_model *model);
/* The path of the weights file a loaded library maps (kilnc --weights), or
 * NULL when its weights are inside it. Valid while the model lives. */
const char *kiln_model_weights_file(const kiln_model *model);

/* CUDA models: capture a whole run in a CUDA graph the first time and
 * replay it afterwards (less launch overhead for small batches). Off by
 * default. Returns 0, or -1 (not a CUDA model). */
int kiln_model_set_cuda_graph(kiln_model *model, int enable);

/* CUDA models: runs on buffers already in device memory (CUdeviceptr
 * values of kiln_tensor_bytes() bytes each), in the runtime's context on
 * the model's device. `stream` is a CUstream to order the run after (NULL:
 * none); the call returns once the outputs are written. */
int kiln_model_run_device(kiln_model *model, const uint64_t *inputs,
                          const uint64_t *outputs, void *stream);

/* Device memory on the runtime's CUDA device: the device and primary
 * context that CUDA models run in (KILN_CUDA_DEVICE), so that buffers from
 * here can be handed to kiln_model_run_device and are valid for anything
 * else in the process that uses the primary context. Each call sets up the
 * driver on first use (no model needs to be loaded), may be made from any
 * thread, and returns 0 (kiln_cuda_device: the device ordinal) or -1 with
 * kiln_last_error(). Freeing 0 and copying 0 bytes do nothing. The copies
 * are complete when they return. */
int kiln_cuda_device(void);
int kiln_cuda_device_alloc(size_t bytes, uint64_t *ptr);
int kiln_cuda_device_free(uint64_t ptr);
int kiln_cuda_copy_to_device(uint64_t dst, const void *src, size_t bytes);
int kiln_cuda_copy_to_host(void *dst, uint64_t src, size_t bytes);

/* Times `runs` runs after one warm-up run; ms[i] receives run i in
 * milliseconds. CUDA models: the inputs are uploaded once and each run is
 * timed on the device with CUDA events (kernels only, no copies); CPU
 * models: wall-clock time of kiln_model_run. Returns 0 or -1. */
int kiln_model_benchmark(kiln_model *model, const void *const *inputs,
                         void *const *outputs, int runs, double *ms);

/* Called by compiled CUDA models' host code (`exec` is the handle the
 * runtime passes to the entry); not for direct use. */
void *kiln_cuda_arena(void *exec, int64_t bytes);
void *kiln_cuda_weight(void *exec, int64_t index);
void kiln_cuda_launch(void *exec, int32_t kernel, int64_t grid_x, int64_t grid_y,
                      int64_t grid_z, int64_t block_x, int64_t block_y,
                      int64_t block_z, int32_t dynamic_shared_bytes, void **params);
void kiln_cuda_memcpy(void *exec, void *dst, const void *src, int64_t bytes);
void kiln_cuda_copy_strided(void *exec, int64_t element_bytes, void *src,
                            void *dst);

/* The symbols a CUDA model library exports. */
#define KILN_CUDA_ENTRY_SYMBOL "kiln_cuda_model_entry"
#define KILN_CUDA_PTX_SYMBOL "kiln_cuda_ptx"
#define KILN_CUDA_ARCH_SYMBOL "kiln_cuda_arch"
#define KILN_CUDA_CUBIN_SYMBOL "kiln_cuda_cubin"
#define KILN_CUDA_CUBIN_SIZE_SYMBOL "kiln_cuda_cubin_size"
#define KILN_CUDA_KERNELS_SYMBOL "kiln_cuda_kernels"
#define KILN_CUDA_ARENA_BYTES_SYMBOL "kiln_cuda_arena_bytes"
#define KILN_CUDA_NUM_WEIGHTS_SYMBOL "kiln_cuda_num_weights"
#define KILN_CUDA_WEIGHTS_SYMBOL "kiln_cuda_weights"

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H */
