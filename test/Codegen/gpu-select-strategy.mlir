// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy))' | FileCheck %s
// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy{precision=fp16}))' | FileCheck %s --check-prefix=FP16
// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy{min-row-size=64}))' | FileCheck %s --check-prefix=ROW64
// RUN: not kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy{precision=fp8}))' 2>&1 | FileCheck %s --check-prefix=BADPREC

// Each linalg op gets one strategy, chosen once, with its parameters and the
// reason. A 128x96 * 96x80 matmul: 64x64x16 block tiles of 256 threads with
// 4x4 micro-tiles, double-buffered (2 stages); its zero fill and its relu
// are computed by that kernel (fused). At fp32 there are no tensor cores;
// at fp16 the 64x64x16 tile uses them.
// CHECK-LABEL: func.func @matmul_relu
// CHECK: linalg.fill {kiln_gpu.strategy = #kiln_gpu.strategy<kind = fused, note = "computed by the tiled contraction of m=128 n=80 k=96">}
// CHECK: linalg.matmul {kiln_gpu.strategy = #kiln_gpu.strategy<kind = tiled_contraction, tile = [64, 64, 16], micro_tile = [4, 4], threads = 256, stages = 2, note = "m=128 n=80 k=96">}
// CHECK: linalg.generic
// CHECK-SAME: kiln_gpu.strategy = #kiln_gpu.strategy<kind = fused
// FP16-LABEL: func.func @matmul_relu
// FP16: linalg.matmul {kiln_gpu.strategy = #kiln_gpu.strategy<kind = tiled_contraction, tile = [64, 64, 32], micro_tile = [2, 8], threads = 256, stages = 3, precision = fp16, tensor_cores = true, note = "m=128 n=80 k=96; cp.async 3-stage pipeline, ldmatrix for A, swizzled loads for B; 64x64 tiles: larger ones give 2 blocks">}
// BADPREC: for the --precision option: Cannot find option named 'fp8'!
// BADPREC: failed to add `kiln-gpu-select-strategy` with options `precision=fp8`
func.func @matmul_relu(%a: memref<128x96xf32>, %b: memref<96x80xf32>, %out: memref<128x80xf32>) {
  %cst = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<128x80xf32>
  linalg.fill ins(%cst : f32) outs(%c : memref<128x80xf32>)
  linalg.matmul ins(%a, %b : memref<128x96xf32>, memref<96x80xf32>) outs(%c : memref<128x80xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%c : memref<128x80xf32>) outs(%out : memref<128x80xf32>) {
  ^bb0(%in: f32, %o: f32):
    %r = arith.maximumf %in, %cst : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A skinny matmul (M = 4): the block takes all 4 rows and gives its 256
// threads to 64 columns, one element each. Too small for tensor cores: at
// fp16 the note says why.
// CHECK-LABEL: func.func @skinny
// CHECK: linalg.matmul {kiln_gpu.strategy = #kiln_gpu.strategy<kind = tiled_contraction, tile = [4, 64, 16], micro_tile = [1, 1], threads = 256, stages = 2, note = "m=4 n=512 k=64">}
// FP16-LABEL: func.func @skinny
// FP16: tile = [4, 64, 16], micro_tile = [1, 1], threads = 256, stages = 2, precision = fp16, note = "m=4 n=512 k=64; no tensor cores: they need M, N >= 32 and K >= 16"
func.func @skinny(%a: memref<4x64xf32>, %b: memref<64x512xf32>, %c: memref<4x512xf32>) {
  linalg.matmul ins(%a, %b : memref<4x64xf32>, memref<64x512xf32>) outs(%c : memref<4x512xf32>)
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#bcast = affine_map<(d0, d1) -> (d0, 0)>
// A softmax kernel group over rows of 1024: one launch, a block of 256
// threads per row, for all of its ops (fills included).
// CHECK-LABEL: func.func @softmax
// CHECK-COUNT-6: kiln_gpu.strategy = #kiln_gpu.strategy<kind = row_kernel, threads = 256, note = "6 ops">
// CHECK-NOT: kiln_gpu.strategy
// CHECK: return
func.func @softmax(%x: memref<8x1024xf32>, %y: memref<8x1024xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<8xf32>
  %acc2 = memref.expand_shape %acc [[0, 1]] output_shape [8, 1] : memref<8xf32> into memref<8x1xf32>
  linalg.fill {kiln.kernel = 3 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} ins(%ninf : f32) outs(%acc : memref<8xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x1024xf32>) outs(%acc : memref<8xf32>) attrs = {kiln.kernel = 3 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %o, %a : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#id, #bcast, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %acc2 : memref<8x1024xf32>, memref<8x1xf32>) outs(%y : memref<8x1024xf32>) attrs = {kiln.kernel = 3 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill {kiln.kernel = 3 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} ins(%zero : f32) outs(%acc : memref<8xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<8x1024xf32>) outs(%acc : memref<8xf32>) attrs = {kiln.kernel = 3 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #bcast, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %acc2 : memref<8x1024xf32>, memref<8x1xf32>) outs(%y : memref<8x1024xf32>) attrs = {kiln.kernel = 3 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %q = arith.divf %a, %s : f32
    linalg.yield %q : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// Outside any kernel group: a sum over rows of 40 gets a warp per row
// (rows under 256), unless the minimum row size is raised above 40; an
// elementwise op over 6x130 f32 gets the vectorized kernel; an i64 op and
// a reduction over rows of 8 get the direct mapping, with the reasons.
// CHECK-LABEL: func.func @singles
// CHECK: kind = reduction, threads = 32, note = "a block per output element"
// CHECK: kind = elementwise, threads = 256, note = "16-byte vectors"
// CHECK: kind = thread_per_element, threads = 256, note = "not vectorized: the output is not a contiguous buffer of 32-bit elements written in order"
// CHECK: kind = thread_per_element, threads = 256, note = "not a block per row: rows shorter than the minimum row size"
// ROW64-LABEL: func.func @singles
// ROW64: kind = thread_per_element, threads = 256, note = "not a block per row: rows shorter than the minimum row size"
func.func @singles(%x: memref<4x40xf32>, %s: memref<4xf32>, %a: memref<6x130xf32>, %b: memref<6x130xf32>,
                   %i: memref<64xi64>, %j: memref<64xi64>, %z: memref<4x8xf32>, %t: memref<4xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x40xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.addf %o, %v : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<6x130xf32>) outs(%b : memref<6x130xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = math.exp %v : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%i : memref<64xi64>) outs(%j : memref<64xi64>) {
  ^bb0(%v: i64, %o: i64):
    %r = arith.addi %v, %v : i64
    linalg.yield %r : i64
  }
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%z : memref<4x8xf32>) outs(%t : memref<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.maximumf %o, %v : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#bias = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
#out = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
#in1 = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>
// A depthwise convolution group (bias, 3x3 window per channel, ReLU6): the
// tiled strategy wants one M, N and K loop, so the group gets one thread
// per output element; the note of its contraction says why it is not tiled
// only when it falls to the direct mapping.
// CHECK-LABEL: func.func @depthwise
// CHECK-COUNT-3: kind = direct_contraction, threads = 256, note = "group of 3 ops"
func.func @depthwise(%x: memref<1x8x1x12x14xf32>, %b: memref<8x1xf32>, %wt: memref<8x1x1x3x3xf32>, %y: memref<1x8x1x10x12xf32>) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  linalg.generic {indexing_maps = [#bias, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%b : memref<8x1xf32>) outs(%y : memref<1x8x1x10x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#in1, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %wt : memref<1x8x1x12x14xf32>, memref<8x1x1x3x3xf32>) outs(%y : memref<1x8x1x10x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %m = arith.mulf %a, %c : f32
    %s2 = arith.addf %o, %m : f32
    linalg.yield %s2 : f32
  }
  linalg.generic {indexing_maps = [#id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%y : memref<1x8x1x10x12xf32>) outs(%y : memref<1x8x1x10x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%in: f32, %o: f32):
    %r0 = arith.maximumf %in, %zero : f32
    %r1 = arith.minimumf %r0, %six : f32
    linalg.yield %r1 : f32
  }
  return
}
