/* Loads a compiled model twice and runs it from several threads at once;
 * every run must give the same bytes as a single-threaded run. Also checks
 * the error paths of the C API (null models, lists and buffers), and that
 * loading and freeing the model many times leaves memory flat.
 * Usage: runtime_threads MODEL.so [THREADS RUNS LOADS] */
#include "kiln_runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64
static int THREADS = 4, RUNS = 20, LOADS = 0;

/* Resident memory of this process in KiB (Linux). */
static long residentKiB(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f)
    return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
    resident = -1;
  fclose(f);
  return resident * 4;
}

typedef struct {
  kiln_model *model;
  const void *input;
  const void *expected;
  size_t outBytes;
  int failures;
} job;

static void *worker(void *arg) {
  job *j = (job *)arg;
  void *out = malloc(j->outBytes);
  for (int r = 0; r < RUNS; ++r) {
    memset(out, 0, j->outBytes);
    void *outs[1] = {out};
    const void *ins[1] = {j->input};
    if (kiln_model_run(j->model, ins, outs) != 0 || memcmp(out, j->expected, j->outBytes))
      j->failures++;
  }
  free(out);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 5)
    return 2;
  if (argc == 5) {
    THREADS = atoi(argv[2]);
    RUNS = atoi(argv[3]);
    LOADS = atoi(argv[4]);
    if (THREADS < 1 || THREADS > MAX_THREADS || RUNS < 1 || LOADS < 0)
      return 2;
  }
  if (kiln_model_load("/nonexistent/model.so") != NULL ||
      strstr(kiln_last_error(), "cannot load model '/nonexistent/model.so'") == NULL) {
    printf("FAIL: missing file error: %s\n", kiln_last_error());
    return 1;
  }
  kiln_model *a = kiln_model_load(argv[1]);
  kiln_model *b = kiln_model_load(argv[1]);
  if (!a || !b) {
    printf("FAIL: load: %s\n", kiln_last_error());
    return 1;
  }
  if (kiln_model_num_inputs(a) != 1 || kiln_model_num_outputs(a) != 1) {
    printf("FAIL: expected one input and one output\n");
    return 1;
  }
  const kiln_tensor_info *in = kiln_model_input(a, 0), *out = kiln_model_output(a, 0);
  printf("input %s dtype %d rank %d, output %s dtype %d rank %d\n", in->name, in->dtype,
         in->rank, out->name, out->dtype, out->rank);
  if (kiln_model_input(a, 1) != NULL || kiln_model_input(a, -1) != NULL ||
      kiln_model_run(a, NULL, NULL) == 0 || kiln_model_run(NULL, NULL, NULL) == 0 ||
      kiln_model_num_inputs(NULL) != 0 || kiln_tensor_bytes(NULL) != 0) {
    printf("FAIL: bad arguments were accepted\n");
    return 1;
  }
  kiln_model_free(NULL);
  size_t inBytes = kiln_tensor_bytes(in), outBytes = kiln_tensor_bytes(out);
  float *input = malloc(inBytes);
  for (size_t i = 0; i < inBytes / sizeof(float); ++i)
    input[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
  void *expected = malloc(outBytes);
  const void *ins[1] = {input};
  void *outs[1] = {expected};
  if (kiln_model_run(a, ins, outs) != 0) {
    printf("FAIL: run: %s\n", kiln_last_error());
    return 1;
  }
  {
    /* A list whose entries are null: refused, naming the tensor. */
    const void *noIn[1] = {NULL};
    void *someOut[1] = {expected};
    if (kiln_model_run(a, noIn, someOut) == 0 || !strstr(kiln_last_error(), in->name)) {
      printf("FAIL: a null input buffer was accepted (%s)\n", kiln_last_error());
      return 1;
    }
    void *noOut[1] = {NULL};
    if (kiln_model_run(a, ins, noOut) == 0 || !strstr(kiln_last_error(), out->name)) {
      printf("FAIL: a null output buffer was accepted (%s)\n", kiln_last_error());
      return 1;
    }
    if (kiln_model_run(a, ins, outs) != 0) {
      printf("FAIL: run: %s\n", kiln_last_error());
      return 1;
    }
  }
  {
    /* Checked runs: each wrong dtype, shape, rank, size or count refused
     * with one message naming the tensor; the right views run. */
    void *check = malloc(outBytes);
    kiln_tensor_view iv = {input, inBytes, in->dtype, in->rank, in->shape};
    kiln_tensor_view ov = {check, outBytes, out->dtype, out->rank, out->shape};
    int64_t wrongShape[8];
    for (int d = 0; d < in->rank; ++d)
      wrongShape[d] = in->shape[d] + (d == in->rank - 1);
    struct { kiln_tensor_view in, out; int nin; const char *expect; } bad[] = {
        {{input, inBytes, KILN_FLOAT16, in->rank, in->shape}, ov, 1, "is float16, the model takes float32"},
        {{input, inBytes, in->dtype, in->rank, wrongShape}, ov, 1, "the model takes"},
        {{input, inBytes, in->dtype, in->rank - 1, in->shape}, ov, 1, "has shape"},
        {{input, inBytes - 1, in->dtype, in->rank, in->shape}, ov, 1, "bytes,"},
        {{NULL, inBytes, in->dtype, in->rank, in->shape}, ov, 1, "has no buffer"},
        {iv, {check, outBytes / 2, out->dtype, out->rank, out->shape}, 1, "output"},
        {iv, ov, 2, "takes 1 inputs, 2 given"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) {
      if (kiln_model_run_views(a, &bad[k].in, bad[k].nin, &bad[k].out, 1) == 0 ||
          !strstr(kiln_last_error(), bad[k].expect) ||
          (k < 5 && !strstr(kiln_last_error(), in->name))) {
        printf("FAIL: checked run %zu: '%s' does not say '%s'\n", k, kiln_last_error(),
               bad[k].expect);
        return 1;
      }
    }
    if (kiln_model_run_views(a, &iv, 1, &ov, 1) != 0 || memcmp(check, expected, outBytes) ||
        kiln_model_run_views(NULL, &iv, 1, &ov, 1) == 0 ||
        kiln_model_run_views(a, NULL, 1, &ov, 1) == 0) {
      printf("FAIL: checked run: %s\n", kiln_last_error());
      return 1;
    }
    printf("OK: checked runs refuse wrong dtypes, shapes, sizes, counts and null buffers\n");
    free(check);
  }
  pthread_t threads[MAX_THREADS];
  job jobs[MAX_THREADS];
  for (int t = 0; t < THREADS; ++t) {
    jobs[t] = (job){t % 2 ? a : b, input, expected, outBytes, 0};
    pthread_create(&threads[t], NULL, worker, &jobs[t]);
  }
  int failures = 0;
  for (int t = 0; t < THREADS; ++t) {
    pthread_join(threads[t], NULL);
    failures += jobs[t].failures;
  }
  kiln_model_free(a);
  kiln_model_free(b);
  free(input);
  free(expected);
  if (failures) {
    printf("FAIL: %d of %d threaded runs differ\n", failures, THREADS * RUNS);
    return 1;
  }
  printf("OK: %d threaded runs over two loads match\n", THREADS * RUNS);
  if (LOADS) {
    /* Memory after a tenth of the loads is the baseline (allocators and
     * the loader's caches warm up first); the rest must not grow it. */
    long base = 0;
    for (int k = 0; k < LOADS; ++k) {
      kiln_model *m = kiln_model_load(argv[1]);
      if (!m) {
        printf("FAIL: load %d: %s\n", k, kiln_last_error());
        return 1;
      }
      kiln_model_free(m);
      if (k == LOADS / 10)
        base = residentKiB();
    }
    long growth = residentKiB() - base;
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer keeps freed memory in quarantine: resident memory
     * says nothing; LeakSanitizer checks at exit instead. */
    (void)growth;
    printf("OK: %d loads and frees, leaks left to LeakSanitizer\n", LOADS);
#else
    if (growth > 2048) {
      printf("FAIL: %d loads grew resident memory by %ld KiB\n", LOADS, growth);
      return 1;
    }
    printf("OK: %d loads and frees, resident memory flat\n", LOADS);
#endif
  }
  return 0;
}
