// RUN: kiln-opt %s -kiln-gpu-thread-blocks | FileCheck %s

// A 3-D loop nest of 2 x 4 x 100 = 800 iterations becomes blocks of 256
// threads: an outer loop over 0..800 step 256 and an inner one over 256,
// guarded against the last, partial block.
// CHECK-LABEL: func.func @nest
// CHECK: scf.parallel (%[[B:.+]]) = (%{{.*}}) to (%{{.*}}) step (%[[C256:.+]])
// CHECK: scf.parallel (%[[T:.+]]) = (%{{.*}}) to (%[[C256]]) step
// CHECK: scf.if
// CHECK: memref.store
func.func @nest(%out: memref<2x4x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c2, %c4, %c100) step (%c1, %c1, %c1) {
    memref.store %one, %out[%i, %j, %k] : memref<2x4x100xf32>
  }
  return
}
