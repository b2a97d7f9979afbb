// RUN: kiln-opt %s -split-input-file -kiln-cpu-profile-markers | FileCheck %s

// Kernel 0: a padding fill and a copy (untagged, so they join the kernel
// after them), its tagged op and a tagged runtime call. Kernel 1: an
// untagged call, then one tagged op inside a loop. The output copy at the
// end has no kernel after it and joins kernel 1. Allocations and views are
// not work and stay outside the markers.
// CHECK: module attributes {kiln.kernels = [{flops = 10 : i64, kind = "contraction", name = "k0"}, {flops = 4 : i64, kind = "elementwise", name = "k1"}]}
// CHECK-LABEL: func.func @main
// CHECK-NOT: kiln.kernels
// CHECK: memref.alloc
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : i32
// CHECK-NEXT: call @kiln_profile_begin(%[[C0]])
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: memref.copy
// CHECK-NEXT: linalg.map
// CHECK-NEXT: call @ext({{.*}}) {kiln.kernel = 0
// CHECK-NEXT: %[[E0:.*]] = arith.constant 0 : i32
// CHECK-NEXT: call @kiln_profile_end(%[[E0]])
// CHECK-NEXT: %[[C1:.*]] = arith.constant 1 : i32
// CHECK-NEXT: call @kiln_profile_begin(%[[C1]])
// CHECK-NEXT: call @ext({{.*}}) :
// CHECK-NEXT: memref.alloc
// CHECK-NEXT: scf.for
// CHECK: memref.copy
// CHECK-NEXT: %[[E1:.*]] = arith.constant 1 : i32
// CHECK-NEXT: call @kiln_profile_end(%[[E1]])
// CHECK-NEXT: return
// CHECK: func.func private @kiln_profile_begin(i32)
// CHECK: func.func private @kiln_profile_end(i32)
func.func private @ext(memref<4xf32>)
func.func @main(%in: memref<4xf32>, %out: memref<4xf32>) attributes {
    kiln.kernels = [{name = "k0", kind = "contraction", flops = 10 : i64},
                    {name = "k1", kind = "elementwise", flops = 4 : i64}]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%a : memref<4xf32>)
  memref.copy %in, %a : memref<4xf32> to memref<4xf32>
  linalg.map { math.exp } ins(%a : memref<4xf32>) outs(%a : memref<4xf32>) {kiln.kernel = 0 : i64}
  func.call @ext(%a) {kiln.kernel = 0 : i64} : (memref<4xf32>) -> ()
  func.call @ext(%a) : (memref<4xf32>) -> ()
  %b = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %a[%i] : memref<4xf32>
    %w = arith.addf %v, %v {kiln.kernel = 1 : i64} : f32
    memref.store %w, %b[%i] : memref<4xf32>
  }
  memref.copy %b, %out : memref<4xf32> to memref<4xf32>
  return
}

// -----

// No kernel tags (compiled without fusion): no markers.
// CHECK-LABEL: func.func @untagged
// CHECK-NOT: kiln_profile
func.func @untagged(%in: memref<4xf32>, %out: memref<4xf32>) {
  memref.copy %in, %out : memref<4xf32> to memref<4xf32>
  return
}
