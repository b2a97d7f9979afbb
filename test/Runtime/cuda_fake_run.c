/* Drives a CUDA model library through libkiln_runtime on the fake driver
 * (fake_libcuda.c): loads it, runs it with random inputs with and without
 * a CUDA graph and from two threads, and prints what the driver saw.
 * With "concat" as second argument the model is concat_copy.onnxtxt (only
 * device copies, no kernels), whose outputs are checked exactly. */
#include "kiln_runtime.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kiln_model *model;
static void **inputs, **outputs;

static void *alloc_tensors(int n, int input) {
  void **bufs = calloc(n, sizeof(void *));
  for (int i = 0; i < n; ++i) {
    const kiln_tensor_info *t = input ? kiln_model_input(model, i) : kiln_model_output(model, i);
    size_t bytes = kiln_tensor_bytes(t);
    unsigned char *b = malloc(bytes ? bytes : 1);
    for (size_t k = 0; k < bytes; ++k)
      b[k] = (unsigned char)(rand() & 0xff);
    bufs[i] = b;
  }
  return bufs;
}

static int check_concat(void) {
  /* a: 2x3x4, b: 2x5x4, y = concat(a, b, axis 1): 2x8x4, z = b. */
  const float *a = inputs[0], *b = inputs[1], *y = outputs[0], *z = outputs[1];
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 8; ++c)
      for (int w = 0; w < 4; ++w) {
        float want = c < 3 ? a[(n * 3 + c) * 4 + w] : b[(n * 5 + c - 3) * 4 + w];
        if (memcmp(&y[(n * 8 + c) * 4 + w], &want, 4) != 0) {
          printf("MISMATCH y[%d,%d,%d]\n", n, c, w);
          return 1;
        }
      }
  if (memcmp(z, b, 2 * 5 * 4 * 4) != 0) {
    printf("MISMATCH z\n");
    return 1;
  }
  return 0;
}

static void clear_outputs(void) {
  for (int i = 0; i < kiln_model_num_outputs(model); ++i)
    memset(outputs[i], 0, kiln_tensor_bytes(kiln_model_output(model, i)));
}

static void *thread_run(void *arg) {
  for (int k = 0; k < 20; ++k)
    if (kiln_model_run(model, (const void *const *)inputs, outputs) != 0) {
      printf("thread run failed: %s\n", kiln_last_error());
      return (void *)1;
    }
  return NULL;
}

int main(int argc, char **argv) {
  int concat = argc > 2 && strcmp(argv[2], "concat") == 0;
  srand(7);
  model = kiln_model_load(argv[1]);
  if (!model) {
    printf("load failed: %s\n", kiln_last_error());
    return 2;
  }
  printf("target %s, %d inputs, %d outputs\n",
         kiln_model_target(model) == KILN_TARGET_CUDA ? "cuda" : "cpu",
         kiln_model_num_inputs(model), kiln_model_num_outputs(model));
  void *fake = dlopen(getenv("KILN_CUDA_DRIVER"), RTLD_NOW | RTLD_NOLOAD);
  void (*stats)(long *, long *, long *, long *) = fake ? dlsym(fake, "fake_cuda_stats") : NULL;
  if (!stats) {
    printf("the fake driver is not loaded\n");
    return 2;
  }
  long launches, bad, graphLaunches, captured, perRun = -1;
  inputs = alloc_tensors(kiln_model_num_inputs(model), 1);
  outputs = alloc_tensors(kiln_model_num_outputs(model), 0);
  for (int graph = 0; graph < 2; ++graph) {
    kiln_model_set_cuda_graph(model, graph);
    for (int k = 0; k < 3; ++k) {
      clear_outputs();
      if (kiln_model_run(model, (const void *const *)inputs, outputs) != 0) {
        printf("run failed: %s\n", kiln_last_error());
        return 2;
      }
      if (concat && check_concat())
        return 1;
      if (perRun < 0)
        stats(&perRun, &bad, &graphLaunches, &captured);
    }
  }
  /* A second load of the same library shares the loaded kernels. */
  kiln_model *again = kiln_model_load(argv[1]);
  if (!again || kiln_model_run(again, (const void *const *)inputs, outputs) != 0) {
    printf("second load failed: %s\n", kiln_last_error());
    return 2;
  }
  kiln_model_free(again);
  long (*moduleLoads)(void) = (long (*)(void))dlsym(fake, "fake_cuda_module_loads");
  printf("kernel modules loaded for two loads: %ld\n", moduleLoads ? moduleLoads() : -1L);
  pthread_t threads[2];
  for (int t = 0; t < 2; ++t)
    pthread_create(&threads[t], NULL, thread_run, NULL);
  int failed = 0;
  for (int t = 0; t < 2; ++t) {
    void *r;
    pthread_join(threads[t], &r);
    failed |= r != NULL;
  }
  if (failed || (concat && check_concat()))
    return 1;
  double ms[4];
  if (kiln_model_benchmark(model, (const void *const *)inputs, outputs, 4, ms) != 0) {
    printf("benchmark failed: %s\n", kiln_last_error());
    return 2;
  }
  stats(&launches, &bad, &graphLaunches, &captured);
  /* 51 runs of the first load: 6 single-threaded, 40 from two threads, 5
   * benchmarked; one more of the second load. */
  printf("%ld launches a run, %s over 52 runs, bad launches %ld, graph launches %ld\n", perRun,
         launches == 52 * perRun ? "all" : "NOT all", bad, graphLaunches);
  printf("benchmark %.2f ms\n", ms[0]);
  kiln_model_free(model);
  printf("OK\n");
  return 0;
}
