// RUN: kiln-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy,kiln-gpu-row-kernel,kiln-gpu-lower-subgroup-reduce))' | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#bcast = affine_map<(d0, d1) -> (d0, 0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#red3 = affine_map<(d0, d1, d2) -> (d0, d1)>
// Softmax over rows of 1024 as the partition emits it: max, exp(x - max)
// into a temporary, sum of the temporary (accumulator buffer reused), divide
// in place. One launch of 256 threads per row; the max and the sum are one
// online pass carrying (m, s); the temporary is never stored, the output
// pass recomputes exp(x - m) / s.
// CHECK-LABEL: func.func @softmax
// CHECK-NOT: linalg.
// CHECK: gpu.launch blocks({{.*}}) in (%{{.+}} = %c8{{.*}}, {{.*}} threads(%[[TX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c256{{.*}} workgroup(%[[SH:.+]] : memref<32xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[ONLINE:.+]]:2 = scf.for %{{.+}} = %[[TX]] to %{{.+}} step %{{.+}} iter_args(%[[M:.+]] = %{{.+}}, %[[S:.+]] = %{{.+}}) -> (f32, f32)
// CHECK:   memref.load %arg0
// CHECK:   arith.cmpf ogt
// CHECK:   %[[MNEW:.+]] = arith.maximumf %[[M]]
// CHECK:   math.exp
// CHECK:   arith.mulf %[[S]]
// CHECK:   scf.yield %[[MNEW]]
// CHECK-COUNT-10: gpu.shuffle  xor
// CHECK: memref.store %{{.+}}, %[[SH]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SH]]
// CHECK: memref.load %[[SH]]
// CHECK-COUNT-10: gpu.shuffle  xor
// CHECK-NOT: scf.for {{.*}} iter_args
// CHECK: scf.for
// CHECK:   memref.load %arg0
// CHECK:   arith.subf
// CHECK:   math.exp
// CHECK:   arith.divf
// CHECK:   memref.store %{{.+}}, %arg1
// CHECK-NOT: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
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
// The summand is exp(x - max) of a different tensor than the max's input:
// no online pass, the max and the sum are two passes of the same launch.
// CHECK-LABEL: func.func @softmax_not_online
// CHECK: gpu.launch
// CHECK: scf.for {{.*}} iter_args(%{{[^,]+}}) -> (f32)
// CHECK: arith.maximumf
// CHECK: scf.for {{.*}} iter_args(%{{[^,]+}}) -> (f32)
// CHECK: memref.load %arg1
// CHECK: math.exp
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
func.func @softmax_not_online(%x: memref<4x64xf32>, %z: memref<4x64xf32>, %y: memref<4xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %m = memref.alloc() : memref<4xf32>
  %t = memref.alloc() : memref<4x64xf32>
  linalg.fill {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} ins(%ninf : f32) outs(%m : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%m : memref<4xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%z, %m : memref<4x64xf32>, memref<4xf32>) outs(%t : memref<4x64xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} ins(%zero : f32) outs(%y : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%t : memref<4x64xf32>) outs(%y : memref<4xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#red = affine_map<(d0, d1, d2) -> (d0, d1)>
#bc = affine_map<(d0, d1) -> (d0, 0)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#w = affine_map<(d0, d1) -> (d1)>
// Layer normalization as the partition emits it (the statistics through
// [rows, 1, K] views, a copy of the zeroed accumulator, x - mean in a
// temporary normalized in place): one launch, two block reductions (two
// barriers), x - mean recomputed instead of stored, one store of the output
// per element; the statistics are not written back (nothing else reads
// them).
// CHECK-LABEL: func.func @layer_norm
// CHECK-NOT: linalg.
// CHECK-NOT: memref.copy
// CHECK: gpu.launch
// CHECK-SAME: in (%{{.+}} = %c16{{.*}} threads({{.*}}) in (%{{.+}} = %c256
// CHECK: scf.for
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: scf.for
// CHECK:   arith.subf
// CHECK:   arith.mulf
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: scf.for
// CHECK:   math.rsqrt
// CHECK:   memref.store %{{.+}}, %arg3
// CHECK-NOT: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
func.func @layer_norm(%x: memref<16x512xf32>, %g: memref<512xf32>, %b: memref<512xf32>, %y: memref<16x512xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 512.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %s0 = memref.alloc() : memref<16xf32>
  %s = memref.expand_shape %s0 [[0, 1]] output_shape [16, 1] : memref<16xf32> into memref<16x1xf32>
  linalg.fill {kiln.kernel = 2 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} ins(%zero : f32) outs(%s : memref<16x1xf32>)
  %x3 = memref.expand_shape %x [[0, 1], [2]] output_shape [16, 1, 512] : memref<16x512xf32> into memref<16x1x512xf32>
  %mean = memref.alloc() : memref<16x1xf32>
  memref.copy %s, %mean : memref<16x1xf32> to memref<16x1xf32>
  linalg.generic {indexing_maps = [#id3, #red], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x3 : memref<16x1x512xf32>) outs(%mean : memref<16x1xf32>) attrs = {kiln.kernel = 2 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  }
  %d = memref.alloc() : memref<16x512xf32>
  linalg.generic {indexing_maps = [#id2, #bc, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean : memref<16x512xf32>, memref<16x1xf32>) outs(%d : memref<16x512xf32>) attrs = {kiln.kernel = 2 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %mu = arith.divf %m, %n : f32
    %r = arith.subf %a, %mu : f32
    linalg.yield %r : f32
  }
  %d3 = memref.expand_shape %d [[0, 1], [2]] output_shape [16, 1, 512] : memref<16x512xf32> into memref<16x1x512xf32>
  linalg.generic {indexing_maps = [#id3, #red], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%d3 : memref<16x1x512xf32>) outs(%s : memref<16x1xf32>) attrs = {kiln.kernel = 2 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %r = arith.addf %o, %q : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id2, #bc, #w, #w, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%d, %s, %g, %b : memref<16x512xf32>, memref<16x1xf32>, memref<512xf32>, memref<512xf32>) outs(%y : memref<16x512xf32>) attrs = {kiln.kernel = 2 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %v: f32, %gg: f32, %bb: f32, %o: f32):
    %var = arith.divf %v, %n : f32
    %ve = arith.addf %var, %eps : f32
    %rs = math.rsqrt %ve : f32
    %r0 = arith.mulf %a, %rs : f32
    %r1 = arith.mulf %r0, %gg : f32
    %r2 = arith.addf %r1, %bb : f32
    linalg.yield %r2 : f32
  }
  return
}

// -----

#in = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// A reduce op over a middle axis (fill + reduction): one launch, the fill
// is the accumulator's start value, thread 0 stores each row's result once.
// CHECK-LABEL: func.func @reduce_middle
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch blocks({{.*}}) in (%{{.+}} = %c15{{.*}} threads({{.*}}) in (%{{.+}} = %c32
// CHECK: scf.for
// CHECK: arith.minimumf
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK-NOT: gpu.barrier
// CHECK: scf.if
// CHECK: memref.store %{{.+}}, %arg1
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
func.func @reduce_middle(%x: memref<3x70x5xf32>, %y: memref<3x1x5xf32>) {
  %inf = arith.constant 0x7F800000 : f32
  linalg.fill {kiln.kernel = 4 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} ins(%inf : f32) outs(%y : memref<3x1x5xf32>)
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x : memref<3x70x5xf32>) outs(%y : memref<3x1x5xf32>) attrs = {kiln.kernel = 4 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %r = arith.minimumf %o, %a : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
#row = affine_map<(d0, d1) -> (d0)>
// Not row-local: the temporary is written transposed and read by the
// reduction row-wise, so element (r, k) would be written by another block
// than the one reading it. The group stays per-op (several launches later).
// CHECK-LABEL: func.func @not_row_local
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK: linalg.fill
// CHECK: linalg.generic
func.func @not_row_local(%x: memref<64x64xf32>, %y: memref<64xf32>) {
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [#id, #tr], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x64xf32>) outs(%t : memref<64x64xf32>) attrs = {kiln.kernel = 5 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  linalg.fill {kiln.kernel = 5 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} ins(%zero : f32) outs(%y : memref<64xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%t : memref<64x64xf32>) outs(%y : memref<64xf32>) attrs = {kiln.kernel = 5 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// A product is not an add/max/min combiner: left to the per-op strategies.
// CHECK-LABEL: func.func @product
// CHECK-NOT: gpu.launch
// CHECK: linalg.fill
func.func @product(%x: memref<4x64xf32>, %y: memref<4xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill {kiln.kernel = 6 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} ins(%one : f32) outs(%y : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%y : memref<4xf32>) attrs = {kiln.kernel = 6 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %p = arith.mulf %o, %a : f32
    linalg.yield %p : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// Rows shorter than a warp: a thread per row, 256 rows per block, the last
// block's extra threads idle; no shuffles, no shared memory.
// CHECK-LABEL: func.func @short_rows
// CHECK: gpu.launch blocks({{.*}}) in (%{{.+}} = %c4{{.*}} threads(%[[TX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c256
// CHECK-NOT: workgroup
// CHECK: %[[R:.+]] = arith.addi %{{.+}}, %[[TX]]
// CHECK: %[[OK:.+]] = arith.cmpi ult, %[[R]], %c1000
// CHECK: scf.if %[[OK]]
// CHECK: scf.for %{{.+}} = %c0{{.*}} to %c6{{.*}} step %c1
// CHECK: arith.addf
// CHECK-NOT: gpu.shuffle
// CHECK: memref.store %{{.+}}, %arg1
// CHECK: gpu.terminator
func.func @short_rows(%x: memref<1000x6xf32>, %y: memref<1000xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill {kiln.kernel = 7 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} ins(%zero : f32) outs(%y : memref<1000xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<1000x6xf32>) outs(%y : memref<1000xf32>) attrs = {kiln.kernel = 7 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>} {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  return
}
