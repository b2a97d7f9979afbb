// RUN: kiln-opt %s -kiln-fuse-elementwise | FileCheck %s
// RUN: kiln-opt %s -kiln-fuse-elementwise="max-body-ops=4" | FileCheck %s --check-prefix=BOUNDED
// RUN: kiln-opt %s -kiln-cpu-fast-math | FileCheck %s --check-prefix=FAST

// A chain of four elementwise generics. Unbounded (the default bound is
// far above), one generic computes all four.
// CHECK-LABEL: func.func @chain
// CHECK-COUNT-1: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: arith.negf
// CHECK-NEXT: math.exp
// CHECK-NEXT: math.tanh
// CHECK-NEXT: math.erf

// With bodies of at most 4 ops (two ops and the yield fit, three do not),
// the chain becomes two generics of two ops each.
// BOUNDED-LABEL: func.func @chain
// BOUNDED: linalg.generic
// BOUNDED: arith.negf
// BOUNDED-NEXT: math.exp
// BOUNDED-NEXT: linalg.yield
// BOUNDED: linalg.generic
// BOUNDED: math.tanh
// BOUNDED-NEXT: math.erf
// BOUNDED-NEXT: linalg.yield
// BOUNDED-NOT: linalg.generic

// kiln-cpu-fast-math: erf and tanh become polynomial arithmetic; exp
// stays exact.
// FAST-LABEL: func.func @chain
// FAST: math.exp
// FAST-NOT: math.tanh
// FAST-NOT: math.erf
// FAST: math.fma
#id = affine_map<(d0) -> (d0)>
func.func @chain(%x: tensor<64xf32>) -> tensor<64xf32> {
  %e = tensor.empty() : tensor<64xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<64xf32>) outs(%e : tensor<64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<64xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%0 : tensor<64xf32>) outs(%e : tensor<64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<64xf32>
  %2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%1 : tensor<64xf32>) outs(%e : tensor<64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.tanh %a : f32
    linalg.yield %r : f32
  } -> tensor<64xf32>
  %3 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%2 : tensor<64xf32>) outs(%e : tensor<64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.erf %a : f32
    linalg.yield %r : f32
  } -> tensor<64xf32>
  return %3 : tensor<64xf32>
}
