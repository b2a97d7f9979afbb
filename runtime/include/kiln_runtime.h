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

/* Threads that compiled models use (the caller's thread included). The
 * default is the KILN_NUM_THREADS environment variable, else the number of
 * cores. Takes effect for runs that start afterwards. */
void kiln_set_num_threads(int threads);
int kiln_get_num_threads(void);

/* Called by compiled code: runs fn(ctx, begin, end) over chunks of
 * [0, count) on the runtime's thread pool and returns when all are done. */
void kiln_parallel_for(int64_t count, void (*fn)(void *ctx, int64_t begin, int64_t end),
                       void *ctx);

/* The last error of the calling thread, or "" if none. */
const char *kiln_last_error(void);

/* The symbols a compiled model library exports. */
#define KILN_MODEL_ENTRY_SYMBOL "kiln_model_entry"
#define KILN_MODEL_SIGNATURE_SYMBOL "kiln_model_signature"

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H */
