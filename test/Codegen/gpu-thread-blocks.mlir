// RUN: kiln-opt %s -kiln-gpu-thread-blocks | FileCheck %s
// RUN: kiln-opt %s -kiln-gpu-thread-blocks=block-size=128 | FileCheck %s --check-prefix=B128

// A 3-D loop nest of 2 x 4 x 100 = 800 iterations becomes blocks of 256
// threads: an outer loop over 0..800 step 256 and an inner one over 256,
// guarded against the last, partial block (800 = 3 * 256 + 32). The bounds
// are not folded: the trip count is the product 1 * 2 * 4 * 100 and the step
// 1 * 256. The linear index is thread + block start, and it is split back
// into (i, j, k) = ((idx / 100) / 4, (idx / 100) % 4, idx % 100), that is
// (idx / 400, (idx / 100) % 4, idx % 100), stored in that order.
// CHECK-LABEL: func.func @nest
// CHECK-SAME: (%[[OUT:.+]]: memref<2x4x100xf32>)
// CHECK: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[N2:.+]] = arith.constant 2 : index
// CHECK-NEXT: %[[N4:.+]] = arith.constant 4 : index
// CHECK-NEXT: %[[N100:.+]] = arith.constant 100 : index
// CHECK-NEXT: %[[LB:.+]] = arith.constant 0 : index
// CHECK-NEXT: %[[STEP:.+]] = arith.constant 1 : index
// CHECK-NEXT: %[[UNIT:.+]] = arith.constant 1 : index
// CHECK-NEXT: %[[P2:.+]] = arith.muli %[[UNIT]], %[[N2]] : index
// CHECK-NEXT: %[[P8:.+]] = arith.muli %[[P2]], %[[N4]] : index
// CHECK-NEXT: %[[TOTAL:.+]] = arith.muli %[[P8]], %[[N100]] : index
// CHECK-NEXT: %[[TLB:.+]] = arith.constant 0 : index
// CHECK-NEXT: %[[C256:.+]] = arith.constant 256 : index
// CHECK-NEXT: %[[BLOCK:.+]] = arith.muli %[[STEP]], %[[C256]] : index
// CHECK-NEXT: scf.parallel (%[[B:.+]]) = (%[[LB]]) to (%[[TOTAL]]) step (%[[BLOCK]]) {
// CHECK-NEXT: scf.parallel (%[[T:.+]]) = (%[[TLB]]) to (%[[BLOCK]]) step (%[[STEP]]) {
// CHECK-NEXT: %[[IDX:.+]] = arith.addi %[[T]], %[[B]] : index
// CHECK-NEXT: %[[TRUE:.+]] = arith.constant true
// CHECK-NEXT: %[[TS:.+]] = arith.muli %[[T]], %[[STEP]] : index
// CHECK-NEXT: %[[POS:.+]] = arith.addi %[[TS]], %[[B]] : index
// CHECK-NEXT: %[[INB:.+]] = arith.cmpi ult, %[[POS]], %[[TOTAL]] : index
// CHECK-NEXT: %[[COND:.+]] = arith.andi %[[TRUE]], %[[INB]] : i1
// CHECK-NEXT: scf.if %[[COND]] {
// CHECK-NEXT: %[[K:.+]] = arith.remsi %[[IDX]], %[[N100]] : index
// CHECK-NEXT: %[[Q:.+]] = arith.divsi %[[IDX]], %[[N100]] : index
// CHECK-NEXT: %[[J:.+]] = arith.remsi %[[Q]], %[[N4]] : index
// CHECK-NEXT: %[[I:.+]] = arith.divsi %[[Q]], %[[N4]] : index
// CHECK-NEXT: memref.store %[[ONE]], %[[OUT]][%[[I]], %[[J]], %[[K]]] : memref<2x4x100xf32>
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: return

// With block-size=128 the same nest gets blocks of 128 threads: step and
// inner bound 1 * 128, the same guard against the trip count (800 is not a
// multiple of 128 either).
// B128-LABEL: func.func @nest
// B128: arith.constant 1.000000e+00 : f32
// B128: %[[STEP:.+]] = arith.constant 1 : index
// B128-NEXT: %[[UNIT:.+]] = arith.constant 1 : index
// B128-NEXT: %[[P2:.+]] = arith.muli %[[UNIT]], %{{.+}} : index
// B128-NEXT: %[[P8:.+]] = arith.muli %[[P2]], %{{.+}} : index
// B128-NEXT: %[[TOTAL:.+]] = arith.muli %[[P8]], %{{.+}} : index
// B128-NEXT: %[[TLB:.+]] = arith.constant 0 : index
// B128-NEXT: %[[C128:.+]] = arith.constant 128 : index
// B128-NEXT: %[[BLOCK:.+]] = arith.muli %[[STEP]], %[[C128]] : index
// B128-NEXT: scf.parallel (%[[B:.+]]) = (%{{.+}}) to (%[[TOTAL]]) step (%[[BLOCK]]) {
// B128-NEXT: scf.parallel (%[[T:.+]]) = (%[[TLB]]) to (%[[BLOCK]]) step (%[[STEP]]) {
// B128-NEXT: %[[IDX:.+]] = arith.addi %[[T]], %[[B]] : index
// B128: %[[POS:.+]] = arith.addi %{{.+}}, %[[B]] : index
// B128-NEXT: arith.cmpi ult, %[[POS]], %[[TOTAL]] : index
// B128: scf.if
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

// 8 x 64 = 512 iterations, two full blocks of 256. There is no partial
// block, yet the pass still emits the guard (`cmpi ult idx, 512`, always
// true here): after the collapse the trip count is a product of constants,
// not a constant, so the tiling cannot see that it divides evenly. The
// index is split back into (idx / 64, idx % 64).
// CHECK-LABEL: func.func @even
// CHECK-SAME: (%[[OUT:.+]]: memref<8x64xf32>)
// CHECK: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[N8:.+]] = arith.constant 8 : index
// CHECK-NEXT: %[[N64:.+]] = arith.constant 64 : index
// CHECK-NEXT: %[[LB:.+]] = arith.constant 0 : index
// CHECK-NEXT: %[[STEP:.+]] = arith.constant 1 : index
// CHECK-NEXT: %[[UNIT:.+]] = arith.constant 1 : index
// CHECK-NEXT: %[[P8:.+]] = arith.muli %[[UNIT]], %[[N8]] : index
// CHECK-NEXT: %[[TOTAL:.+]] = arith.muli %[[P8]], %[[N64]] : index
// CHECK-NEXT: %[[TLB:.+]] = arith.constant 0 : index
// CHECK-NEXT: %[[C256:.+]] = arith.constant 256 : index
// CHECK-NEXT: %[[BLOCK:.+]] = arith.muli %[[STEP]], %[[C256]] : index
// CHECK-NEXT: scf.parallel (%[[B:.+]]) = (%[[LB]]) to (%[[TOTAL]]) step (%[[BLOCK]]) {
// CHECK-NEXT: scf.parallel (%[[T:.+]]) = (%[[TLB]]) to (%[[BLOCK]]) step (%[[STEP]]) {
// CHECK-NEXT: %[[IDX:.+]] = arith.addi %[[T]], %[[B]] : index
// CHECK-NEXT: %[[TRUE:.+]] = arith.constant true
// CHECK-NEXT: %[[TS:.+]] = arith.muli %[[T]], %[[STEP]] : index
// CHECK-NEXT: %[[POS:.+]] = arith.addi %[[TS]], %[[B]] : index
// CHECK-NEXT: %[[INB:.+]] = arith.cmpi ult, %[[POS]], %[[TOTAL]] : index
// CHECK-NEXT: %[[COND:.+]] = arith.andi %[[TRUE]], %[[INB]] : i1
// CHECK-NEXT: scf.if %[[COND]] {
// CHECK-NEXT: %[[J:.+]] = arith.remsi %[[IDX]], %[[N64]] : index
// CHECK-NEXT: %[[I:.+]] = arith.divsi %[[IDX]], %[[N64]] : index
// CHECK-NEXT: memref.store %[[ONE]], %[[OUT]][%[[I]], %[[J]]] : memref<8x64xf32>
// CHECK-NEXT: }
func.func @even(%out: memref<8x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c64) step (%c1, %c1) {
    memref.store %one, %out[%i, %j] : memref<8x64xf32>
  }
  return
}
