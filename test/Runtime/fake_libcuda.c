/* A stand-in for the CUDA driver, for testing the runtime on machines
 * without a GPU (KILN_CUDA_DRIVER=<this library>). Device memory is host
 * memory; copies really copy; kernels do not run, but every launch checks
 * its parameters against the kernel's PTX declaration: the number of
 * parameters is what the PTX declares and every pointer parameter points
 * into a live device allocation. Stream capture records copies and
 * launches, and a graph launch replays them.
 *
 * Environment: FAKE_CUDA_DEVICES (count, default 1), FAKE_CUDA_CC
 * (compute capability, default 90), FAKE_CUDA_OOM_AFTER (cuMemAlloc fails
 * after this many allocations), FAKE_CUDA_FAULT (synchronization reports
 * an illegal address once a kernel ran), FAKE_CUDA_REJECT_PTX (the JIT
 * rejects PTX). It reads no cubins (CUDA_ERROR_INVALID_IMAGE). */
#include "cuda_driver_abi.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef KilnCUresult CUresult;
typedef KilnCUdeviceptr CUdeviceptr;

#define MAX_ALLOCS 4096
#define MAX_KERNELS 16384
#define MAX_MODULES 4096
#define MAX_PARAMS 1024
#define MAX_OPS 65536

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char *p; size_t n; } allocs[MAX_ALLOCS];
static int numAllocs, allocCalls;
static struct Kernel { char name[128]; int numParams; char isPtr[MAX_PARAMS]; } kernels[MAX_KERNELS];
static int numKernels;
/* A module's kernels are kernels[first, first + count): kernel names repeat
 * across modules (every model has a "main_kernel"). */
static struct Module { int first, count; } modules[MAX_MODULES];
static int numModules;
static long launches, badLaunches, graphLaunches, capturedLaunches, setAttributes;
static int faulted, moduleLoads;

typedef KilnCudaMemcpy2D Memcpy2D;

/* One recorded operation of a capture. */
typedef struct { int kind; Memcpy2D c; } Op; /* kind 0: copy, 1: launch */
typedef struct { Op *ops; int n; } Graph;
static __thread Graph *capture;

static int envInt(const char *name, int dflt) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : dflt;
}

static int isDevicePointer(const char *p) {
  for (int i = 0; i < numAllocs; ++i)
    if (allocs[i].p && p >= allocs[i].p && p < allocs[i].p + allocs[i].n)
      return 1;
  return 0;
}

CUresult cuInit(unsigned flags) { return 0; }
CUresult cuDriverGetVersion(int *v) { *v = 12080; return 0; }
CUresult cuDeviceGetCount(int *n) { *n = envInt("FAKE_CUDA_DEVICES", 1); return 0; }
CUresult cuDeviceGet(int *d, int ordinal) { *d = ordinal; return 0; }
CUresult cuDeviceGetName(char *name, int len, int d) {
  snprintf(name, len, "Fake GPU");
  return 0;
}
CUresult cuDeviceGetAttribute(int *v, int attr, int d) {
  int cc = envInt("FAKE_CUDA_CC", 90);
  *v = attr == 75 ? cc / 10 : attr == 76 ? cc % 10 : attr == 97 ? 227 * 1024 : 0;
  return 0;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int d) { *ctx = (void *)0x1; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx ? 0 : 201; }

/* Reads each ".entry NAME(" and its ".param" lines from PTX text. */
CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned n, int *opts, void **vals) {
  const char *text = image;
  if (strncmp(text, "//", 2) != 0 && strncmp(text, ".version", 8) != 0)
    return 200; /* not PTX: this fake reads no cubins */
  if (envInt("FAKE_CUDA_REJECT_PTX", 0)) {
    for (unsigned i = 0; i < n; ++i)
      if (opts[i] == 5) /* CU_JIT_ERROR_LOG_BUFFER */
        snprintf(vals[i], 64, "ptxas fatal: fake rejection");
    return 218;
  }
  pthread_mutex_lock(&lock);
  if (numModules == MAX_MODULES) {
    pthread_mutex_unlock(&lock);
    return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
  }
  moduleLoads++;
  struct Module *mod = &modules[numModules++];
  mod->first = numKernels;
  for (const char *p = strstr(text, ".entry "); p; p = strstr(p + 1, ".entry ")) {
    if (numKernels == MAX_KERNELS) {
      pthread_mutex_unlock(&lock);
      return 2;
    }
    struct Kernel *k = &kernels[numKernels++];
    const char *name = p + 7, *paren = strchr(name, '(');
    snprintf(k->name, sizeof(k->name), "%.*s", (int)(paren - name), name);
    k->numParams = 0;
    const char *end = strchr(paren, ')');
    for (const char *q = strstr(paren, ".param"); q && q < end; q = strstr(q + 1, ".param")) {
      const char *eol = strchr(q, '\n');
      const char *ptr = strstr(q, ".ptr");
      k->isPtr[k->numParams++] = ptr && ptr < eol;
    }
  }
  mod->count = numKernels - mod->first;
  pthread_mutex_unlock(&lock);
  *module = mod;
  return 0;
}
CUresult cuModuleUnload(void *m) { return 0; }
CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
  const struct Module *mod = m;
  for (int i = mod->first; i < mod->first + mod->count; ++i)
    if (strcmp(kernels[i].name, name) == 0) {
      *f = &kernels[i];
      return 0;
    }
  return 500;
}
CUresult cuFuncSetAttribute(void *f, int attr, int value) {
  __sync_fetch_and_add(&setAttributes, 1);
  return 0;
}

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
  pthread_mutex_lock(&lock);
  int limit = envInt("FAKE_CUDA_OOM_AFTER", -1);
  if (limit >= 0 && allocCalls >= limit) {
    pthread_mutex_unlock(&lock);
    return 2;
  }
  int slot = 0;
  while (slot < numAllocs && allocs[slot].p)
    ++slot;
  if (slot == MAX_ALLOCS) {
    pthread_mutex_unlock(&lock);
    return 2;
  }
  allocCalls++;
  char *mem = calloc(1, n ? n : 1);
  allocs[slot].p = mem;
  allocs[slot].n = n;
  if (slot == numAllocs)
    numAllocs++;
  pthread_mutex_unlock(&lock);
  *p = (CUdeviceptr)(uintptr_t)mem;
  return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  pthread_mutex_lock(&lock);
  for (int i = 0; i < numAllocs; ++i)
    if (allocs[i].p == (char *)(uintptr_t)p) {
      free(allocs[i].p);
      allocs[i].p = NULL;
    }
  pthread_mutex_unlock(&lock);
  return 0;
}

static void record(int kind, const Memcpy2D *c) {
  Graph *g = capture;
  g->ops = realloc(g->ops, sizeof(Op) * (g->n + 1));
  g->ops[g->n].kind = kind;
  if (c)
    g->ops[g->n].c = *c;
  g->n++;
}

static CUresult copy2D(const Memcpy2D *c) {
  const char *src = c->srcMemoryType == 2 ? (const char *)(uintptr_t)c->srcDevice : c->srcHost;
  char *dst = c->dstMemoryType == 2 ? (char *)(uintptr_t)c->dstDevice : c->dstHost;
  if (c->srcMemoryType == 2 && !isDevicePointer(src))
    return 1;
  if (c->dstMemoryType == 2 && !isDevicePointer(dst))
    return 1;
  if (c->Height > 1 && (c->srcPitch < c->WidthInBytes || c->dstPitch < c->WidthInBytes))
    return 1;
  for (size_t r = 0; r < c->Height; ++r)
    memmove(dst + r * c->dstPitch, src + r * c->srcPitch, c->WidthInBytes);
  return 0;
}

static CUresult copy(void *dst, int dstDev, const void *src, int srcDev, size_t n) {
  Memcpy2D c;
  memset(&c, 0, sizeof(c));
  c.srcMemoryType = srcDev ? 2 : 1;
  c.srcDevice = (CUdeviceptr)(uintptr_t)src;
  c.srcHost = src;
  c.dstMemoryType = dstDev ? 2 : 1;
  c.dstDevice = (CUdeviceptr)(uintptr_t)dst;
  c.dstHost = dst;
  c.WidthInBytes = n;
  c.Height = 1;
  if (capture) {
    record(0, &c);
    return 0;
  }
  return copy2D(&c);
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, void *s) {
  return copy((void *)(uintptr_t)d, 1, h, 0, n);
}
CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, void *s) {
  return copy(h, 0, (void *)(uintptr_t)d, 1, n);
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void *st) {
  return copy((void *)(uintptr_t)d, 1, (void *)(uintptr_t)s, 1, n);
}
CUresult cuMemcpy2DAsync_v2(const Memcpy2D *c, void *s) {
  if (capture) {
    record(0, c);
    return 0;
  }
  return copy2D(c);
}

CUresult cuStreamCreate(void **s, unsigned flags) { *s = malloc(1); return 0; }
CUresult cuStreamDestroy_v2(void *s) { free(s); return 0; }
CUresult cuStreamSynchronize(void *s) {
  return faulted && envInt("FAKE_CUDA_FAULT", 0) ? 700 : 0;
}

CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned smem, void *stream, void **params,
                        void **extra) {
  struct Kernel *k = f;
  int ok = params != NULL && gx && gy && gz && bx && by && bz;
  pthread_mutex_lock(&lock);
  for (int i = 0; ok && i < k->numParams; ++i)
    if (k->isPtr[i] && !isDevicePointer(*(char **)params[i])) {
      fprintf(stderr, "fake cuda: kernel %s parameter %d is not a device pointer\n", k->name, i);
      ok = 0;
    }
  pthread_mutex_unlock(&lock);
  if (!ok) {
    __sync_fetch_and_add(&badLaunches, 1);
    return 1;
  }
  if (capture) {
    __sync_fetch_and_add(&capturedLaunches, 1);
    record(1, NULL);
    return 0;
  }
  __sync_fetch_and_add(&launches, 1);
  faulted = 1;
  return 0;
}

CUresult cuEventCreate(void **e, unsigned flags) { *e = malloc(1); return 0; }
CUresult cuEventDestroy_v2(void *e) { free(e); return 0; }
CUresult cuEventRecord(void *e, void *s) { return 0; }
CUresult cuEventSynchronize(void *e) { return 0; }
CUresult cuEventElapsedTime(float *ms, void *a, void *b) { *ms = 0.5f; return 0; }

CUresult cuStreamBeginCapture_v2(void *s, int mode) {
  capture = calloc(1, sizeof(Graph));
  return 0;
}
CUresult cuStreamEndCapture(void *s, void **graph) {
  *graph = capture;
  capture = NULL;
  return 0;
}
CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
  Graph *g = graph, *copyOf = calloc(1, sizeof(Graph));
  copyOf->n = g->n;
  copyOf->ops = malloc(sizeof(Op) * (g->n ? g->n : 1));
  memcpy(copyOf->ops, g->ops, sizeof(Op) * g->n);
  *exec = copyOf;
  return 0;
}
CUresult cuGraphLaunch(void *exec, void *s) {
  Graph *g = exec;
  __sync_fetch_and_add(&graphLaunches, 1);
  for (int i = 0; i < g->n; ++i) {
    if (g->ops[i].kind == 1) {
      __sync_fetch_and_add(&launches, 1);
      continue;
    }
    CUresult r = copy2D(&g->ops[i].c);
    if (r)
      return r;
  }
  return 0;
}
static void freeGraph(Graph *g) {
  free(g->ops);
  free(g);
}
CUresult cuGraphExecDestroy(void *exec) { freeGraph(exec); return 0; }
CUresult cuGraphDestroy(void *graph) { freeGraph(graph); return 0; }

/* Counters for the test program. */
void fake_cuda_stats(long *outLaunches, long *outBad, long *outGraphLaunches,
                     long *outCaptured) {
  *outLaunches = launches;
  *outBad = badLaunches;
  *outGraphLaunches = graphLaunches;
  *outCaptured = capturedLaunches;
}

/* Synchronous copies, for test programs that fill device buffers. */
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *h, size_t n) {
  return copy((void *)(uintptr_t)d, 1, h, 0, n);
}
CUresult cuMemcpyDtoH_v2(void *h, CUdeviceptr d, size_t n) {
  return copy(h, 0, (void *)(uintptr_t)d, 1, n);
}
long fake_cuda_set_attributes(void) { return setAttributes; }
long fake_cuda_module_loads(void) { return moduleLoads; }
