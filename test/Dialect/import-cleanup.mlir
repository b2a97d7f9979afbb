// RUN: kiln-opt %s -kiln-import-cleanup | FileCheck %s

// The import cleanup pipeline (canonicalize, then CSE) folds the constant
// shape computations an ONNX import leaves behind, removes dead ops and
// merges duplicate ones.

// [2, 3, 4] * 2 = [4, 6, 8]; / 1 is the identity; the cast and the reshape
// of the constant fold too, leaving one constant.
// CHECK-LABEL: func.func @fold_shape_computation
// CHECK-NEXT: %[[C:.+]] = kiln.constant dense<{{\[}}[4.000000e+00], [6.000000e+00], [8.000000e+00]]> : tensor<3x1xf32>
// CHECK-NEXT: return %[[C]] : tensor<3x1xf32>
func.func @fold_shape_computation() -> tensor<3x1xf32> {
  %shape = kiln.constant dense<[2, 3, 4]> : tensor<3xi64>
  %two = kiln.constant dense<2> : tensor<i64>
  %one = kiln.constant dense<1> : tensor<3xi64>
  %0 = kiln.binary mul %shape, %two : tensor<3xi64>, tensor<i64> -> tensor<3xi64>
  %1 = kiln.binary div %0, %one : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  %2 = kiln.cast %1 : tensor<3xi64> to tensor<3xf32>
  %3 = kiln.reshape %2 : tensor<3xf32> -> tensor<3x1xf32>
  return %3 : tensor<3x1xf32>
}

// Two identical transpose + reshape chains become one; the unused exp goes
// away, and so does the identity reshape.
// CHECK-LABEL: func.func @cse_duplicates
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[T:.+]] = kiln.transpose %[[X]] [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
// CHECK-NEXT: %[[R:.+]] = kiln.reshape %[[T]] : tensor<4x2x3xf32> -> tensor<4x6xf32>
// CHECK-NEXT: return %[[R]], %[[R]] : tensor<4x6xf32>, tensor<4x6xf32>
func.func @cse_duplicates(%x: tensor<2x3x4xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
  %t0 = kiln.transpose %x [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %t1 = kiln.transpose %x [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %dead = kiln.unary exp %x : tensor<2x3x4xf32>
  %r0 = kiln.reshape %t0 : tensor<4x2x3xf32> -> tensor<4x6xf32>
  %r1 = kiln.reshape %t1 : tensor<4x2x3xf32> -> tensor<4x6xf32>
  %r2 = kiln.reshape %r1 : tensor<4x6xf32> -> tensor<4x6xf32>
  return %r0, %r2 : tensor<4x6xf32>, tensor<4x6xf32>
}

// Ops that differ in an attribute are not duplicates: the two softmaxes stay,
// while the duplicated relu is merged and the x * 1 and select on a splat
// condition fold away.
// CHECK-LABEL: func.func @cse_keeps_distinct_ops
// CHECK-SAME: (%[[X:.+]]: tensor<4x10xf32>)
// CHECK-NEXT: %[[R:.+]] = kiln.unary relu %[[X]] : tensor<4x10xf32>
// CHECK-NEXT: %[[S:.+]] = kiln.softmax %[[R]] {axis = 1 : i64} : tensor<4x10xf32>
// CHECK-NEXT: %[[L:.+]] = kiln.softmax %[[R]] {axis = 1 : i64, log} : tensor<4x10xf32>
// CHECK-NEXT: return %[[S]], %[[L]], %[[R]]
func.func @cse_keeps_distinct_ops(%x: tensor<4x10xf32>) -> (tensor<4x10xf32>, tensor<4x10xf32>, tensor<4x10xf32>) {
  %one = kiln.constant dense<1.0> : tensor<f32>
  %true = kiln.constant dense<true> : tensor<i1>
  %0 = kiln.unary relu %x : tensor<4x10xf32>
  %1 = kiln.unary relu %x : tensor<4x10xf32>
  %2 = kiln.softmax %0 {axis = 1 : i64} : tensor<4x10xf32>
  %3 = kiln.softmax %1 {axis = 1 : i64, log} : tensor<4x10xf32>
  %4 = kiln.binary mul %1, %one : tensor<4x10xf32>, tensor<f32> -> tensor<4x10xf32>
  %5 = kiln.select %true, %4, %x : (tensor<i1>, tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
  return %2, %3, %5 : tensor<4x10xf32>, tensor<4x10xf32>, tensor<4x10xf32>
}
