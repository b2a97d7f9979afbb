// RUN: kiln-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-mark-padding,kiln-gpu-select-strategy,kiln-gpu-direct-contraction,kiln-gpu-fold-padding,canonicalize))' | FileCheck %s

// A mobilenet depthwise group (bias broadcast, 3x3 depthwise conv on a
// zero-padded copy, ReLU6): one launch of 960 threads; the bias is the
// accumulator's start, one store. The kernel reads the padded copy with
// plain loads, which kiln-gpu-fold-padding turns into loads of the
// unpadded input under a bounds predicate (no fill, copy or padded buffer).
// CHECK-LABEL: func.func @dw_stride1
// CHECK-NOT: linalg.
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c4, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c256,
// CHECK: arith.cmpi ult, %{{.+}}, %c960
// CHECK: %[[B:.+]] = memref.load %arg1
// CHECK: scf.for {{.*}} iter_args(%{{.+}} = %[[B]]) -> (f32)
// CHECK: scf.for
// CHECK: %[[IN:.+]] = arith.andi
// CHECK: %[[X:.+]] = memref.load %arg0
// CHECK: arith.select %[[IN]], %[[X]], %cst : f32
// CHECK: memref.load %arg2
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK-COUNT-1: memref.store
// CHECK-NOT: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK-NOT: linalg.
// CHECK: return
#bias = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
#out = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
#in1 = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>
func.func @dw_stride1(%x: memref<1x8x1x10x12xf32>, %b: memref<8x1xf32>, %wt: memref<8x1x1x3x3xf32>, %y: memref<1x8x1x10x12xf32>) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  linalg.generic {indexing_maps = [#bias, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%b : memref<8x1xf32>) outs(%y : memref<1x8x1x10x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %p = memref.alloc() {alignment = 64 : i64} : memref<1x8x1x12x14xf32>
  linalg.map outs(%p : memref<1x8x1x12x14xf32>)
    (%init: f32) {
      linalg.yield %zero : f32
    }
  %s = memref.subview %p[0, 0, 0, 1, 1] [1, 8, 1, 10, 12] [1, 1, 1, 1, 1] : memref<1x8x1x12x14xf32> to memref<1x8x1x10x12xf32, strided<[1344, 168, 168, 14, 1], offset: 15>>
  memref.copy %x, %s : memref<1x8x1x10x12xf32> to memref<1x8x1x10x12xf32, strided<[1344, 168, 168, 14, 1], offset: 15>>
  linalg.generic {indexing_maps = [#in1, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%p, %wt : memref<1x8x1x12x14xf32>, memref<8x1x1x3x3xf32>) outs(%y : memref<1x8x1x10x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
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

// -----

// Stride 2: 240 threads in one block; the window start is twice the
// output position, still predicated against the unpadded 9x11 input.
// CHECK-LABEL: func.func @dw_stride2
// CHECK-NOT: linalg.
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c240,
// CHECK-NOT: arith.cmpi ult, %{{.+}}, %c240
// CHECK: memref.load %arg1
// CHECK: arith.cmpi ult, %{{.+}}, %c9
// CHECK: arith.cmpi ult, %{{.+}}, %c11
// CHECK: memref.load %arg0
// CHECK: arith.select
// CHECK-COUNT-1: memref.store
// CHECK-NOT: memref.store
// CHECK-NOT: gpu.launch
// CHECK: return
#bias = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
#out = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
#in2 = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 * 2 + d6, d4 * 2 + d7)>
func.func @dw_stride2(%x: memref<1x8x1x9x11xf32>, %b: memref<8x1xf32>, %wt: memref<8x1x1x3x3xf32>, %y: memref<1x8x1x5x6xf32>) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  linalg.generic {indexing_maps = [#bias, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%b : memref<8x1xf32>) outs(%y : memref<1x8x1x5x6xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %p = memref.alloc() {alignment = 64 : i64} : memref<1x8x1x11x13xf32>
  linalg.map outs(%p : memref<1x8x1x11x13xf32>)
    (%init: f32) {
      linalg.yield %zero : f32
    }
  %s = memref.subview %p[0, 0, 0, 1, 1] [1, 8, 1, 9, 11] [1, 1, 1, 1, 1] : memref<1x8x1x11x13xf32> to memref<1x8x1x9x11xf32, strided<[1144, 143, 143, 13, 1], offset: 14>>
  memref.copy %x, %s : memref<1x8x1x9x11xf32> to memref<1x8x1x9x11xf32, strided<[1144, 143, 143, 13, 1], offset: 14>>
  linalg.generic {indexing_maps = [#in2, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%p, %wt : memref<1x8x1x11x13xf32>, memref<8x1x1x3x3xf32>) outs(%y : memref<1x8x1x5x6xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %m = arith.mulf %a, %c : f32
    %s2 = arith.addf %o, %m : f32
    linalg.yield %s2 : f32
  }
  linalg.generic {indexing_maps = [#id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%y : memref<1x8x1x5x6xf32>) outs(%y : memref<1x8x1x5x6xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%in: f32, %o: f32):
    %r0 = arith.maximumf %in, %zero : f32
    %r1 = arith.minimumf %r0, %six : f32
    linalg.yield %r1 : f32
  }
  return
}

// -----

// The epilogue reads the output transposed, another thread's element:
// the group stays as it is.
// CHECK-LABEL: func.func @reads_other_element
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK: memref.copy
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-NOT: gpu.launch
#bias = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
#out = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
#in1 = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>
#tr5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>
func.func @reads_other_element(%x: memref<1x8x1x12x12xf32>, %b: memref<8x1xf32>, %wt: memref<8x1x1x3x3xf32>, %y: memref<1x8x1x12x12xf32>) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  linalg.generic {indexing_maps = [#bias, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%b : memref<8x1xf32>) outs(%y : memref<1x8x1x12x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %p = memref.alloc() {alignment = 64 : i64} : memref<1x8x1x14x14xf32>
  linalg.map outs(%p : memref<1x8x1x14x14xf32>)
    (%init: f32) {
      linalg.yield %zero : f32
    }
  %s = memref.subview %p[0, 0, 0, 1, 1] [1, 8, 1, 12, 12] [1, 1, 1, 1, 1] : memref<1x8x1x14x14xf32> to memref<1x8x1x12x12xf32, strided<[1568, 196, 196, 14, 1], offset: 15>>
  memref.copy %x, %s : memref<1x8x1x12x12xf32> to memref<1x8x1x12x12xf32, strided<[1568, 196, 196, 14, 1], offset: 15>>
  linalg.generic {indexing_maps = [#in1, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%p, %wt : memref<1x8x1x14x14xf32>, memref<8x1x1x3x3xf32>) outs(%y : memref<1x8x1x12x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %m = arith.mulf %a, %c : f32
    %s2 = arith.addf %o, %m : f32
    linalg.yield %s2 : f32
  }
  linalg.generic {indexing_maps = [#tr5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%y : memref<1x8x1x12x12xf32>) outs(%y : memref<1x8x1x12x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%in: f32, %o: f32):
    %r0 = arith.maximumf %in, %zero : f32
    %r1 = arith.minimumf %r0, %six : f32
    linalg.yield %r1 : f32
  }
  return
}

// -----

// The padded buffer has another reader: the group is still one launch,
// which reads the padded buffer as it is; its fill and copy stay.
// CHECK-LABEL: func.func @padded_read_twice
// CHECK: %[[P:.+]] = memref.alloc
// CHECK: linalg.map outs(%[[P]]
// CHECK: memref.copy %arg1,
// CHECK: gpu.launch
// CHECK-NOT: arith.select
// CHECK: memref.load %[[P]]
// CHECK-COUNT-1: memref.store
// CHECK: gpu.terminator
// CHECK: memref.copy %[[P]], %arg0
#bias = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
#out = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
#in1 = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>
func.func @padded_read_twice(%z: memref<1x8x1x12x14xf32>, %x: memref<1x8x1x10x12xf32>, %b: memref<8x1xf32>, %wt: memref<8x1x1x3x3xf32>, %y: memref<1x8x1x10x12xf32>) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  linalg.generic {indexing_maps = [#bias, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%b : memref<8x1xf32>) outs(%y : memref<1x8x1x10x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %p = memref.alloc() {alignment = 64 : i64} : memref<1x8x1x12x14xf32>
  linalg.map outs(%p : memref<1x8x1x12x14xf32>)
    (%init: f32) {
      linalg.yield %zero : f32
    }
  %s = memref.subview %p[0, 0, 0, 1, 1] [1, 8, 1, 10, 12] [1, 1, 1, 1, 1] : memref<1x8x1x12x14xf32> to memref<1x8x1x10x12xf32, strided<[1344, 168, 168, 14, 1], offset: 15>>
  memref.copy %x, %s : memref<1x8x1x10x12xf32> to memref<1x8x1x10x12xf32, strided<[1344, 168, 168, 14, 1], offset: 15>>
  linalg.generic {indexing_maps = [#in1, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%p, %wt : memref<1x8x1x12x14xf32>, memref<8x1x1x3x3xf32>) outs(%y : memref<1x8x1x10x12xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
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
  memref.copy %p, %z : memref<1x8x1x12x14xf32> to memref<1x8x1x12x14xf32>
  return
}
