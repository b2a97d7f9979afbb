// RUN: kiln-opt %s -kiln-gpu-parallel-outer | FileCheck %s

// A reduction over the outer dimension: its parallel dimension moves
// outside, so the GPU mapping puts it on threads instead of leaving a host
// loop around launches.
// CHECK-LABEL: func.func @reduce_outer
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
func.func @reduce_outer(%in: memref<8x4xf32>, %out: memref<4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%in : memref<8x4xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// A reduction with no parallel dimension, and a rank-0 fill, each become a
// one-iteration parallel loop (a kernel of one thread).
// CHECK-LABEL: func.func @reduce_all
// CHECK: scf.parallel (%{{.*}}) = (%[[Z:.+]]) to (%[[O:.+]]) step (%[[O]])
// CHECK-NEXT: linalg.fill
// CHECK: scf.parallel
// CHECK-NEXT: linalg.generic
// CHECK-SAME: iterator_types = ["reduction", "reduction"]
func.func @reduce_all(%in: memref<8x4xf32>, %out: memref<f32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<f32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%in : memref<8x4xf32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}
