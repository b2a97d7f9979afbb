// RUN: kiln-opt %s -kiln-cpu-outline-parallel | FileCheck %s

// A top-level scf.forall on buffers becomes a launch over its flat
// iteration space (2 x 3 = 6); the body recovers the induction variables
// from the flat index and keeps constants local.
// CHECK-LABEL: func.func @scale
// CHECK-SAME: (%[[IN:.+]]: memref<4x6xf32>, %[[OUT:.+]]: memref<4x6xf32>)
// CHECK-NOT: scf.forall
// CHECK: %[[N:.+]] = arith.constant 6 : index
// CHECK: call @kiln_par_launch_0(%[[N]], %[[IN]], %[[OUT]]) : (index, memref<4x6xf32>, memref<4x6xf32>) -> ()
// CHECK: func.func private @kiln_par_body_0(%[[FLAT:.+]]: index, %[[A:.+]]: memref<4x6xf32>, %[[B:.+]]: memref<4x6xf32>)
// CHECK: %[[TWO:.+]] = arith.constant 2.0
// CHECK: %[[Q0:.+]] = arith.divui %[[FLAT]], %{{.*}} : index
// CHECK: %[[R0:.+]] = arith.remui %[[Q0]], %{{.*}} : index
// CHECK: %[[S0:.+]] = arith.muli %[[R0]], %{{.*}} : index
// CHECK: %[[I:.+]] = arith.addi %[[S0]], %{{.*}} : index
// CHECK: memref.load %[[A]][%[[I]], %{{.*}}]
// CHECK: arith.mulf %{{.*}}, %[[TWO]]
// CHECK: memref.store %{{.*}}, %[[B]][%[[I]], %{{.*}}]
// CHECK: func.func private @kiln_par_launch_0(index, memref<4x6xf32>, memref<4x6xf32>)
func.func @scale(%in: memref<4x6xf32>, %out: memref<4x6xf32>) {
  %two = arith.constant 2.0 : f32
  scf.forall (%i, %j) = (0, 0) to (4, 6) step (2, 2) {
    %v = memref.load %in[%i, %j] : memref<4x6xf32>
    %s = arith.mulf %v, %two : f32
    memref.store %s, %out[%i, %j] : memref<4x6xf32>
  }
  return
}
