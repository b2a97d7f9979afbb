/*===- cuda_driver_abi.h - CUDA driver ABI types shared with C -----------===*
 *
 * The few driver types whose layout Kiln's runtime must match, written in C
 * so that the runtime (C++) and the stand-in driver of the tests (C) use
 * the same declaration. They are cuda.h's (CUDA 12/13).
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_CUDA_DRIVER_ABI_H
#define KILN_RUNTIME_CUDA_DRIVER_ABI_H

#include <stddef.h>

typedef int KilnCUresult;
typedef unsigned long long KilnCUdeviceptr;

/* cuda.h's CUDA_MEMCPY2D (the _v2 layout). */
typedef struct KilnCudaMemcpy2D {
  size_t srcXInBytes, srcY;
  int srcMemoryType;
  const void *srcHost;
  KilnCUdeviceptr srcDevice;
  void *srcArray;
  size_t srcPitch;
  size_t dstXInBytes, dstY;
  int dstMemoryType;
  void *dstHost;
  KilnCUdeviceptr dstDevice;
  void *dstArray;
  size_t dstPitch;
  size_t WidthInBytes, Height;
} KilnCudaMemcpy2D;

#endif /* KILN_RUNTIME_CUDA_DRIVER_ABI_H */
