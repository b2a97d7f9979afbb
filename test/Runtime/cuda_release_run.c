/* Checks that CUDA models release what they get from the driver: after a
 * run, after each failed load and failed run, when models sharing a module
 * are freed one by one, and when weights left out of the library are
 * filled in. Runs handmade_cuda_model.c's libraries (argv[1]: the normal
 * one, argv[2]: one without weight data) on counting_libcuda.c, which
 * counts live driver objects and makes chosen calls fail. */
#include "kiln_runtime.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KINDS = 5 };
static void (*liveCounts)(long out[KINDS]);
static void (*failCall)(const char *call, int after, int result);

typedef struct {
  long n[KINDS];
} Live;

static Live live(void) {
  Live l;
  liveCounts(l.n);
  return l;
}

static void print(const char *when) {
  Live l = live();
  printf("%s: %ld allocations, %ld modules, %ld streams, %ld events, %ld graphs\n", when,
         l.n[0], l.n[1], l.n[2], l.n[3], l.n[4]);
}

/* The input and outputs of the handmade model. */
static float x[12], xt[12], w[4];
static const void *ins[] = {x};
static void *outs[] = {xt, w};

/* A load that must fail, and leave the driver as it was. */
static void failedLoad(const char *what, const char *path) {
  Live before = live();
  kiln_model *m = kiln_model_load(path);
  if (m) {
    printf("%s: the load did not fail\n", what);
    exit(1);
  }
  printf("%s: %s\n", what, kiln_last_error());
  Live after = live();
  printf("%s: %s\n", what, memcmp(&before, &after, sizeof(Live)) ? "LEAK" : "released");
}

static kiln_model *load(const char *path) {
  kiln_model *m = kiln_model_load(path);
  if (!m) {
    printf("load failed: %s\n", kiln_last_error());
    exit(2);
  }
  return m;
}

static void run(kiln_model *m) {
  if (kiln_model_run(m, ins, outs) != 0) {
    printf("run failed: %s\n", kiln_last_error());
    exit(2);
  }
}

int main(int argc, char **argv) {
  /* The runtime loads the driver with the first CUDA model. */
  kiln_model *a = load(argv[1]);
  void *driver = dlopen(getenv("KILN_CUDA_DRIVER"), RTLD_NOW | RTLD_NOLOAD);
  if (!driver) {
    printf("the counting driver is not loaded\n");
    return 2;
  }
  *(void **)&liveCounts = dlsym(driver, "counting_live");
  *(void **)&failCall = dlsym(driver, "counting_fail");
  kiln_model_set_cuda_graph(a, 0);
  run(a);
  kiln_model_set_cuda_graph(a, 1);
  run(a);
  print("after two runs");

  /* Each of these loads fails after the library's module is found in the
   * cache (a's): the reference it took goes back, the module stays. */
  failCall("cuModuleGetFunction", 0, 500);
  failedLoad("kernel", argv[1]);
  failCall("cuMemAlloc_v2", 0, 2);
  failedLoad("weights", argv[1]);
  failCall("cuMemcpyHtoDAsync_v2", 0, 700);
  failedLoad("upload", argv[1]);

  /* A run whose execution cannot get its buffers releases the rest. */
  kiln_model *b = load(argv[1]);
  Live before = live();
  failCall("cuMemAlloc_v2", 1, 2);
  if (kiln_model_run(b, ins, outs) == 0) {
    printf("the run did not fail\n");
    return 1;
  }
  printf("run: %s\n", kiln_last_error());
  Live after = live();
  printf("run: %s\n", memcmp(&before, &after, sizeof(Live)) ? "LEAK" : "released");
  run(b);

  /* The module goes with the last model that uses it. */
  kiln_model_free(a);
  print("a freed");
  kiln_model_free(b);
  print("b freed");

  /* Weights the library leaves out get seeded values in [-1/32, 1/32]. */
  kiln_model *e = load(argv[2]);
  run(e);
  int inRange = 1;
  for (int i = 0; i < 4; ++i)
    inRange = inRange && fabsf(w[i]) <= 1.0f / 32 && w[i] != 0;
  printf("elided weights: %d, %s\n", kiln_model_elided_weights(e),
         inRange ? "values in range" : "VALUES OUT OF RANGE");
  kiln_model_free(e);
  print("elided freed");

  /* Without its context, freeing a model calls the driver for nothing. */
  kiln_model *c = load(argv[1]);
  run(c);
  before = live();
  failCall("cuCtxSetCurrent", 0, 201);
  kiln_model_free(c);
  after = live();
  printf("no context: %s\n", memcmp(&before, &after, sizeof(Live)) ? "released" : "kept");
  return 0;
}
