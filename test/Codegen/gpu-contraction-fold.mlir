// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy,kiln-gpu-contraction))' | FileCheck %s

// The epilogue reads the result through a reshape and a transpose (the
// head split after the QKV projection): it is fused all the same, each
// value stored at its transposed position, and the result buffer is gone.
// CHECK-LABEL: func.func @epilogue_through_reshape
// CHECK-NOT:     memref.alloc(
// CHECK-NOT:     memref.expand_shape
// CHECK:         scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (1, 1, 2) {
// CHECK:           memref.alloca() : memref<2x16x66xf32, #gpu.address_space<workgroup>>
// CHECK:           scf.forall (%{{.*}}) in (256) {
// CHECK:             arith.divui %{{.*}}, %c24
// CHECK:             arith.remui %{{.*}}, %c24
// CHECK:             %[[BIAS:.+]] = memref.load %arg2
// CHECK:             arith.addf %[[BIAS]]
// CHECK:             memref.store %{{.*}}, %arg3[%{{.*}}, %{{.*}}, %c0{{.*}}, %{{.*}}] : memref<3x48x1x24xf32>
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {kiln_gpu.strategy = #kiln_gpu.strategy<kind = tiled_contraction
// CHECK-NOT:     linalg.
// CHECK:         return
func.func @epilogue_through_reshape(%a: memref<48x40xf32>, %w: memref<40x72xf32>, %bias: memref<3x24xf32>, %out: memref<3x48x1x24xf32>) {
  %cst = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<48x72xf32>
  linalg.fill ins(%cst : f32) outs(%c : memref<48x72xf32>)
  linalg.matmul ins(%a, %w : memref<48x40xf32>, memref<40x72xf32>) outs(%c : memref<48x72xf32>)
  %v = memref.expand_shape %c [[0, 1], [2, 3]] output_shape [48, 1, 3, 24] : memref<48x72xf32> into memref<48x1x3x24xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d1, d2, d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%bias, %v : memref<3x24xf32>, memref<48x1x3x24xf32>) outs(%out : memref<3x48x1x24xf32>) {
  ^bb0(%b: f32, %x: f32, %o: f32):
    %r = arith.addf %b, %x : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A data-movement producer (a head split with a scale) that only the
// contraction reads is evaluated by the loader: it reads the packed source
// itself, and neither the producer nor its buffer remains.
// CHECK-LABEL: func.func @producer_folded
// CHECK-NOT:     memref.alloc(
// CHECK-NOT:     linalg.generic
// CHECK:         scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (4, 1, 1) {
// CHECK:           scf.forall (%{{.*}}) in (256) {
// CHECK:             %[[Q:.+]] = memref.load %arg0[%c0{{.*}}, %{{.*}}, %{{.*}}] : memref<3x64x32xf32>
// CHECK:             arith.mulf %[[Q]], %{{.*}} : f32
// CHECK:         } {kiln_gpu.strategy = #kiln_gpu.strategy<kind = tiled_contraction
// CHECK-NOT:     linalg.
// CHECK:         return
func.func @producer_folded(%packed: memref<3x64x32xf32>, %k: memref<4x8x64xf32>, %out: memref<4x64x64xf32>) {
  %cst = arith.constant 0.0 : f32
  %scale = arith.constant 0.35 : f32
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %q = memref.alloc() : memref<1x4x64x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%q : memref<1x4x64x8xf32>) attrs = {kiln.kernel = 3 : i64, kiln.kernel_kind = #kiln<kernel_kind data_movement>} {
  ^bb0(%o: f32):
    %h = linalg.index 1 : index
    %s = linalg.index 2 : index
    %d = linalg.index 3 : index
    %hd = arith.muli %h, %c8 : index
    %col = arith.addi %hd, %d : index
    %x = memref.load %packed[%c0, %s, %col] : memref<3x64x32xf32>
    %y = arith.mulf %x, %scale : f32
    linalg.yield %y : f32
  }
  %qv = memref.collapse_shape %q [[0, 1], [2], [3]] : memref<1x4x64x8xf32> into memref<4x64x8xf32>
  linalg.fill ins(%cst : f32) outs(%out : memref<4x64x64xf32>)
  linalg.batch_matmul ins(%qv, %k : memref<4x64x8xf32>, memref<4x8x64xf32>) outs(%out : memref<4x64x64xf32>)
  return
}

// -----

// The producer's buffer has another reader: it stays a kernel of its own
// and the contraction loads the buffer.
// CHECK-LABEL: func.func @producer_two_readers
// CHECK:         memref.alloc() : memref<64x8xf32>
// CHECK:         linalg.generic
// CHECK:         scf.forall
// CHECK:           memref.load %alloc
// CHECK:         memref.copy %alloc, %arg3
func.func @producer_two_readers(%src: memref<8x64xf32>, %w: memref<8x64xf32>, %out: memref<64x64xf32>, %copy: memref<64x8xf32>) {
  %cst = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<64x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%src : memref<8x64xf32>) outs(%t : memref<64x8xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind data_movement>} {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.fill ins(%cst : f32) outs(%out : memref<64x64xf32>)
  linalg.matmul ins(%t, %w : memref<64x8xf32>, memref<8x64xf32>) outs(%out : memref<64x64xf32>)
  memref.copy %t, %copy : memref<64x8xf32> to memref<64x8xf32>
  return
}

// -----

// The producer's source is overwritten between the producer and the
// contraction: evaluating it later would read the new values. Not folded.
// CHECK-LABEL: func.func @source_overwritten
// CHECK:         linalg.generic
// CHECK:         memref.copy %arg3, %arg0
// CHECK:         scf.forall
func.func @source_overwritten(%src: memref<8x64xf32>, %w: memref<8x64xf32>, %out: memref<64x64xf32>, %other: memref<8x64xf32>) {
  %cst = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<64x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%src : memref<8x64xf32>) outs(%t : memref<64x8xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind data_movement>} {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  memref.copy %other, %src : memref<8x64xf32> to memref<8x64xf32>
  linalg.fill ins(%cst : f32) outs(%out : memref<64x64xf32>)
  linalg.matmul ins(%t, %w : memref<64x8xf32>, memref<8x64xf32>) outs(%out : memref<64x64xf32>)
  return
}

// -----

// An elementwise producer of another kernel group (not data movement) is
// not re-evaluated per loaded element: it keeps its kernel.
// CHECK-LABEL: func.func @elementwise_producer_kept
// CHECK:         linalg.generic
// CHECK:           math.exp
// CHECK:         scf.forall
func.func @elementwise_producer_kept(%src: memref<64x8xf32>, %w: memref<8x64xf32>, %out: memref<64x64xf32>) {
  %cst = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<64x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%src : memref<64x8xf32>) outs(%t : memref<64x8xf32>) attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind elementwise>} {
  ^bb0(%x: f32, %o: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%cst : f32) outs(%out : memref<64x64xf32>)
  linalg.matmul ins(%t, %w : memref<64x8xf32>, memref<8x64xf32>) outs(%out : memref<64x64xf32>)
  return
}
