/* Loads a compiled model twice and runs it from several threads at once;
 * every run must give the same bytes as a single-threaded run. Also checks
 * the error paths of the C API. Usage: runtime_threads MODEL.so */
#include "kiln_runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define RUNS 20

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
  if (argc != 2)
    return 2;
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
  if (kiln_model_input(a, 1) != NULL || kiln_model_run(a, NULL, NULL) == 0) {
    printf("FAIL: bad arguments were accepted\n");
    return 1;
  }
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
  pthread_t threads[THREADS];
  job jobs[THREADS];
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
  return 0;
}
