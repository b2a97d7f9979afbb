/* Runs handmade_cuda_model.c's library on the fake driver and checks its
 * outputs exactly: the transpose and the weight. */
#include "kiln_runtime.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  kiln_model *m = kiln_model_load(argv[1]);
  if (!m) {
    printf("load failed: %s\n", kiln_last_error());
    return 2;
  }
  float x[12], xt[12] = {0}, w[4] = {0};
  for (int i = 0; i < 12; ++i)
    x[i] = (float)(i * 7 % 5) - 1.5f * i;
  const void *ins[] = {x};
  void *outs[] = {xt, w};
  for (int graph = 0; graph < 2; ++graph) {
    kiln_model_set_cuda_graph(m, graph);
    if (kiln_model_run(m, ins, outs) != 0) {
      printf("run failed: %s\n", kiln_last_error());
      kiln_model_free(m);
      return 2;
    }
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j)
        if (xt[j * 3 + i] != x[i * 4 + j]) {
          printf("MISMATCH at %d,%d\n", i, j);
          kiln_model_free(m);
          return 1;
        }
    if (w[0] != 1.5f || w[1] != -2.0f || w[2] != 0.25f || w[3] != 8.0f) {
      printf("MISMATCH weight\n");
      kiln_model_free(m);
      return 1;
    }
  }
  void *fake = dlopen(getenv("KILN_CUDA_DRIVER"), RTLD_NOW | RTLD_NOLOAD);
  long (*attributes)(void) = fake ? (long (*)(void))dlsym(fake, "fake_cuda_set_attributes")
                                  : NULL;
  printf("transpose and weight OK; shared memory limit raised %ld time(s)\n",
         attributes ? attributes() : -1L);
  kiln_model_free(m);
  return 0;
}
