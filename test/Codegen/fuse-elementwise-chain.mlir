// RUN: kiln-opt %s -split-input-file -kiln-fuse-elementwise | FileCheck %s

// A chain of plain elementwise generics (identity maps, each result read
// only by the next) is merged in one step: one generic, the members'
// other inputs passed once each, the bodies in order.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @chain_with_inputs
// CHECK-SAME:    (%[[X:.*]]: tensor<4x8xf32>, %[[Y:.*]]: tensor<4x8xf32>, %[[Z:.*]]: tensor<4x8xi32>)
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[X]], %[[Y]], %[[Z]] : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xi32>)
// CHECK-NEXT:    ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: i32, %{{.*}}: f32):
// CHECK-NEXT:      %[[N:.*]] = arith.negf %[[A]]
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[N]], %[[B]]
// CHECK-NEXT:      %[[F:.*]] = arith.sitofp %[[C]]
// CHECK-NEXT:      %[[M:.*]] = arith.mulf %[[F]], %[[S]]
// CHECK-NEXT:      %[[Q:.*]] = arith.mulf %[[M]], %[[B]]
// CHECK-NEXT:      linalg.yield %[[Q]]
// CHECK-NOT:     linalg.generic
func.func @chain_with_inputs(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>, %z: tensor<4x8xi32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  // The previous result as the second input, an integer input first.
  %2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%z, %1 : tensor<4x8xi32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%c: i32, %a: f32, %o: f32):
    %f = arith.sitofp %c : i32 to f32
    %r = arith.mulf %f, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  // %y again: passed once.
  %3 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%2, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %3 : tensor<4x8xf32>
}

// -----

// A result also read outside the chain is not a chain link: that generic
// is computed once and stays (upstream fusion does not duplicate it either).
#id = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @shared
// CHECK:         %[[E:.*]] = linalg.generic
// CHECK:           math.exp
// CHECK:         %[[S:.*]] = linalg.generic
// CHECK-SAME:      ins(%[[E]] :
// CHECK-NOT:       math.exp
// CHECK:           arith.negf
// CHECK:         return %[[E]], %[[S]]
func.func @shared(%x: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  %e = tensor.empty() : tensor<16xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%0 : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  return %0, %1 : tensor<16xf32>, tensor<16xf32>
}
