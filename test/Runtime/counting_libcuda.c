/* A layer over the stand-in driver (fake_libcuda.c, which this library
 * links to): KILN_CUDA_DRIVER=<this library> finds the calls defined here
 * first and the fake's for the rest. It counts what is live (device
 * allocations, modules, streams, events, instantiated graphs) and can make
 * one call fail, so that a test can check that the runtime releases all it
 * gets, on its error paths too. */
#define _GNU_SOURCE
#include "cuda_driver_abi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef KilnCUresult CUresult;
typedef KilnCUdeviceptr CUdeviceptr;

enum { ALLOCS, MODULES, STREAMS, EVENTS, GRAPHS, KINDS };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long live[KINDS];
static char failName[64];
static int failAfter = -1;
static CUresult failResult;

/* The call named `call` fails with `result` after `after` more calls of it
 * succeed; once. */
void counting_fail(const char *call, int after, int result) {
  pthread_mutex_lock(&lock);
  snprintf(failName, sizeof(failName), "%s", call);
  failAfter = after;
  failResult = result;
  pthread_mutex_unlock(&lock);
}

/* What is live now: allocations, modules, streams, events, graphs. */
void counting_live(long out[KINDS]) {
  pthread_mutex_lock(&lock);
  memcpy(out, live, sizeof(live));
  pthread_mutex_unlock(&lock);
}

static int failing(const char *call) {
  pthread_mutex_lock(&lock);
  int fail = failAfter >= 0 && strcmp(call, failName) == 0 && failAfter-- == 0;
  pthread_mutex_unlock(&lock);
  return fail;
}

static void count(int kind, int delta) {
  pthread_mutex_lock(&lock);
  live[kind] += delta;
  pthread_mutex_unlock(&lock);
}

/* The fake's function of the same name. */
#define NEXT(name, type) ((type)dlsym(RTLD_NEXT, #name))

/* Calls the fake's `name` unless this call is the one to fail. */
#define FORWARD(name, type, ...)                                                                  \
  (failing(#name) ? failResult : NEXT(name, type)(__VA_ARGS__))

CUresult cuCtxSetCurrent(void *ctx) {
  return FORWARD(cuCtxSetCurrent, CUresult (*)(void *), ctx);
}

CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned n, int *opts,
                            void **vals) {
  CUresult r = FORWARD(cuModuleLoadDataEx,
                       CUresult (*)(void **, const void *, unsigned, int *, void **), module,
                       image, n, opts, vals);
  if (r == 0)
    count(MODULES, 1);
  return r;
}

CUresult cuModuleUnload(void *module) {
  count(MODULES, -1);
  return NEXT(cuModuleUnload, CUresult (*)(void *))(module);
}

CUresult cuModuleGetFunction(void **f, void *module, const char *name) {
  return FORWARD(cuModuleGetFunction, CUresult (*)(void **, void *, const char *), f, module,
                 name);
}

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
  CUresult r = FORWARD(cuMemAlloc_v2, CUresult (*)(CUdeviceptr *, size_t), p, n);
  if (r == 0)
    count(ALLOCS, 1);
  return r;
}

CUresult cuMemFree_v2(CUdeviceptr p) {
  count(ALLOCS, -1);
  return NEXT(cuMemFree_v2, CUresult (*)(CUdeviceptr))(p);
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, void *s) {
  return FORWARD(cuMemcpyHtoDAsync_v2, CUresult (*)(CUdeviceptr, const void *, size_t, void *),
                 d, h, n, s);
}

CUresult cuStreamCreate(void **s, unsigned flags) {
  CUresult r = FORWARD(cuStreamCreate, CUresult (*)(void **, unsigned), s, flags);
  if (r == 0)
    count(STREAMS, 1);
  return r;
}

CUresult cuStreamDestroy_v2(void *s) {
  count(STREAMS, -1);
  return NEXT(cuStreamDestroy_v2, CUresult (*)(void *))(s);
}

CUresult cuEventCreate(void **e, unsigned flags) {
  CUresult r = FORWARD(cuEventCreate, CUresult (*)(void **, unsigned), e, flags);
  if (r == 0)
    count(EVENTS, 1);
  return r;
}

CUresult cuEventDestroy_v2(void *e) {
  count(EVENTS, -1);
  return NEXT(cuEventDestroy_v2, CUresult (*)(void *))(e);
}

CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
  CUresult r = FORWARD(cuGraphInstantiateWithFlags,
                       CUresult (*)(void **, void *, unsigned long long), exec, graph, flags);
  if (r == 0)
    count(GRAPHS, 1);
  return r;
}

CUresult cuGraphExecDestroy(void *exec) {
  count(GRAPHS, -1);
  return NEXT(cuGraphExecDestroy, CUresult (*)(void *))(exec);
}
