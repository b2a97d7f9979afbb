// RUN: kiln-opt %s -kiln-gpu-parallel-outer | FileCheck %s

// The affine maps of the whole module are printed first. The interchanged
// ones are checked here and used by their captured names below.
// CHECK-DAG: #[[OUTER_IN:map[0-9]*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[OUTER_OUT:map[0-9]*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ALL_IN:map[0-9]*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ALL_OUT:map[0-9]*]] = affine_map<(d0, d1) -> ()>
// CHECK-DAG: #[[THREE_IN:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d2, d0, d1)>
// CHECK-DAG: #[[THREE_OUT:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d1)>

// A reduction over the outer dimension: its parallel dimension moves
// outside, so the GPU mapping puts it on threads instead of leaving a host
// loop around launches. New loop 0 is the old parallel d1 and new loop 1 the
// old reduction d0, so the input reads (d1, d0) and the output (d0). It has a
// parallel loop, so it is not wrapped; the body is untouched.
// CHECK-LABEL: func.func @reduce_outer
// CHECK-SAME: (%[[IN:.+]]: memref<8x4xf32>, %[[OUT:.+]]: memref<4xf32>)
// CHECK-NOT: scf.parallel
// CHECK: linalg.generic {indexing_maps = [#[[OUTER_IN]], #[[OUTER_OUT]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME: ins(%[[IN]] : memref<8x4xf32>) outs(%[[OUT]] : memref<4xf32>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK-NEXT: %[[S:.+]] = arith.addf %[[A]], %[[ACC]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
// CHECK-NEXT: }
// CHECK-NOT: scf.parallel
// CHECK: return
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
// one-iteration parallel loop (a kernel of one thread): 0 to 1 step 1, with
// the original op, operands and maps unchanged, alone in its body.
// CHECK-LABEL: func.func @reduce_all
// CHECK-SAME: (%[[IN:.+]]: memref<8x4xf32>, %[[OUT:.+]]: memref<f32>)
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[LB0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[UB0:.+]] = arith.constant 1 : index
// CHECK: scf.parallel (%{{.+}}) = (%[[LB0]]) to (%[[UB0]]) step (%[[UB0]]) {
// CHECK-NEXT: linalg.fill ins(%[[ZERO]] : f32) outs(%[[OUT]] : memref<f32>)
// CHECK-NEXT: scf.reduce
// CHECK-NEXT: }
// CHECK-DAG: %[[LB1:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[UB1:.+]] = arith.constant 1 : index
// CHECK: scf.parallel (%{{.+}}) = (%[[LB1]]) to (%[[UB1]]) step (%[[UB1]]) {
// CHECK-NEXT: linalg.generic {indexing_maps = [#[[ALL_IN]], #[[ALL_OUT]]], iterator_types = ["reduction", "reduction"]}
// CHECK-SAME: ins(%[[IN]] : memref<8x4xf32>) outs(%[[OUT]] : memref<f32>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK-NEXT: %[[S:.+]] = arith.addf %[[A]], %[[ACC]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: return
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

// Three loops (reduction, parallel, parallel): both parallel loops move
// outside in their original order, new (d0, d1, d2) = old (d1, d2, d0), so
// the input reads (d2, d0, d1) and the output (d0, d1). Swapping the two
// parallel loops would give (d2, d1, d0) and (d1, d0).
// CHECK-LABEL: func.func @reduce_first_of_three
// CHECK-SAME: (%[[IN:.+]]: memref<3x4x5xf32>, %[[OUT:.+]]: memref<4x5xf32>)
// CHECK-NOT: scf.parallel
// CHECK: linalg.generic {indexing_maps = [#[[THREE_IN]], #[[THREE_OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[IN]] : memref<3x4x5xf32>) outs(%[[OUT]] : memref<4x5xf32>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK-NEXT: %[[S:.+]] = arith.addf %[[A]], %[[ACC]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
// CHECK-NEXT: }
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @reduce_first_of_three(%in: memref<3x4x5xf32>, %out: memref<4x5xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>],
                  iterator_types = ["reduction", "parallel", "parallel"]}
      ins(%in : memref<3x4x5xf32>) outs(%out : memref<4x5xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}
