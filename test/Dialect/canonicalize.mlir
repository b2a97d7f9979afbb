// RUN: kiln-opt %s -split-input-file -canonicalize | FileCheck %s

// Folders of the kiln ops. Folded values are worked out by hand from the op
// semantics; every "not folded" case is one where folding would be wrong.

//===----------------------------------------------------------------------===//
// kiln.unary constant folding
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @fold_unary_relu
// CHECK: %[[C:.+]] = kiln.constant dense<[0.000000e+00, 0.000000e+00, 0.000000e+00, 3.000000e+00]> : tensor<4xf32>
// CHECK-NOT: kiln.unary
// CHECK: return %[[C]]
func.func @fold_unary_relu() -> tensor<4xf32> {
  %c = kiln.constant dense<[-2.0, -0.5, 0.0, 3.0]> : tensor<4xf32>
  %0 = kiln.unary relu %c : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @fold_unary_int_kinds
// CHECK-DAG: %[[NEG:.+]] = kiln.constant dense<[3, 0, -5]> : tensor<3xi32>
// CHECK-DAG: %[[ABS:.+]] = kiln.constant dense<[3, 0, 5]> : tensor<3xi32>
// CHECK-DAG: %[[SIGN:.+]] = kiln.constant dense<[-1, 0, 1]> : tensor<3xi32>
// CHECK-DAG: %[[RELU:.+]] = kiln.constant dense<[0, 0, 5]> : tensor<3xi32>
// CHECK-NOT: kiln.unary
// CHECK: return %[[NEG]], %[[ABS]], %[[SIGN]], %[[RELU]]
func.func @fold_unary_int_kinds() -> (tensor<3xi32>, tensor<3xi32>, tensor<3xi32>, tensor<3xi32>) {
  %c = kiln.constant dense<[-3, 0, 5]> : tensor<3xi32>
  %0 = kiln.unary neg %c : tensor<3xi32>
  %1 = kiln.unary abs %c : tensor<3xi32>
  %2 = kiln.unary sign %c : tensor<3xi32>
  %3 = kiln.unary relu %c : tensor<3xi32>
  return %0, %1, %2, %3 : tensor<3xi32>, tensor<3xi32>, tensor<3xi32>, tensor<3xi32>
}

// -----

// CHECK-LABEL: func.func @fold_unary_not
// CHECK: %[[C:.+]] = kiln.constant dense<[false, true, false]> : tensor<3xi1>
// CHECK-NOT: kiln.unary
// CHECK: return %[[C]]
func.func @fold_unary_not() -> tensor<3xi1> {
  %c = kiln.constant dense<[true, false, true]> : tensor<3xi1>
  %0 = kiln.unary not %c : tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

// CHECK-LABEL: func.func @fold_unary_float_math
// CHECK-DAG: %[[SQRT:.+]] = kiln.constant dense<[2.000000e+00, 3.000000e+00, 5.000000e-01]> : tensor<3xf32>
// CHECK-DAG: %[[RECIP:.+]] = kiln.constant dense<[2.500000e-01, 1.000000e+00, -2.000000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[EXP:.+]] = kiln.constant dense<1.000000e+00> : tensor<3xf32>
// CHECK-NOT: kiln.unary
// CHECK: return %[[SQRT]], %[[RECIP]], %[[EXP]]
func.func @fold_unary_float_math() -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %a = kiln.constant dense<[4.0, 9.0, 0.25]> : tensor<3xf32>
  %b = kiln.constant dense<[4.0, 1.0, -0.5]> : tensor<3xf32>
  %z = kiln.constant dense<0.0> : tensor<3xf32>
  %0 = kiln.unary sqrt %a : tensor<3xf32>
  %1 = kiln.unary reciprocal %b : tensor<3xf32>
  %2 = kiln.unary exp %z : tensor<3xf32>
  return %0, %1, %2 : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// round is round-half-to-even, like ONNX Round.
// CHECK-LABEL: func.func @fold_unary_rounding
// CHECK-DAG: %[[FLOOR:.+]] = kiln.constant dense<[-2.000000e+00, -1.000000e+00, 0.000000e+00, 2.000000e+00]> : tensor<4xf32>
// CHECK-DAG: %[[CEIL:.+]] = kiln.constant dense<[-1.000000e+00, -0.000000e+00, 1.000000e+00, 3.000000e+00]> : tensor<4xf32>
// CHECK-DAG: %[[ROUND:.+]] = kiln.constant dense<[-2.000000e+00, -0.000000e+00, 0.000000e+00, 2.000000e+00]> : tensor<4xf32>
// CHECK-NOT: kiln.unary
// CHECK: return %[[FLOOR]], %[[CEIL]], %[[ROUND]]
func.func @fold_unary_rounding() -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %c = kiln.constant dense<[-1.5, -0.5, 0.5, 2.5]> : tensor<4xf32>
  %0 = kiln.unary floor %c : tensor<4xf32>
  %1 = kiln.unary ceil %c : tensor<4xf32>
  %2 = kiln.unary round %c : tensor<4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// leaky_relu(x) = x < 0 ? alpha * x : x.
// CHECK-LABEL: func.func @fold_unary_leaky_relu
// CHECK: %[[C:.+]] = kiln.constant dense<[-1.000000e+00, 0.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK-NOT: kiln.unary
// CHECK: return %[[C]]
func.func @fold_unary_leaky_relu() -> tensor<3xf32> {
  %c = kiln.constant dense<[-2.0, 0.0, 3.0]> : tensor<3xf32>
  %0 = kiln.unary leaky_relu %c {alpha = 5.000000e-01 : f32} : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// hard_sigmoid(x) = max(0, min(1, alpha * x + beta)) with alpha 0.5, beta 0.25.
// CHECK-LABEL: func.func @fold_unary_hard_sigmoid
// CHECK: %[[C:.+]] = kiln.constant dense<[0.000000e+00, 2.500000e-01, 7.500000e-01, 1.000000e+00]> : tensor<4xf32>
// CHECK-NOT: kiln.unary
// CHECK: return %[[C]]
func.func @fold_unary_hard_sigmoid() -> tensor<4xf32> {
  %c = kiln.constant dense<[-4.0, 0.0, 1.0, 4.0]> : tensor<4xf32>
  %0 = kiln.unary hard_sigmoid %c {alpha = 5.000000e-01 : f32, beta = 2.500000e-01 : f32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// selu(x) = beta * x for x > 0 (beta is ONNX's gamma).
// CHECK-LABEL: func.func @fold_unary_selu
// CHECK: %[[C:.+]] = kiln.constant dense<[2.000000e+00, 0.000000e+00]> : tensor<2xf32>
// CHECK-NOT: kiln.unary
// CHECK: return %[[C]]
func.func @fold_unary_selu() -> tensor<2xf32> {
  %c = kiln.constant dense<[4.0, 0.0]> : tensor<2xf32>
  %0 = kiln.unary selu %c {alpha = 2.000000e+00 : f32, beta = 5.000000e-01 : f32} : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @fold_unary_f16
// CHECK: %[[C:.+]] = kiln.constant dense<[-1.500000e+00, 2.500000e-01]> : tensor<2xf16>
// CHECK-NOT: kiln.unary
// CHECK: return %[[C]]
func.func @fold_unary_f16() -> tensor<2xf16> {
  %c = kiln.constant dense<[1.5, -0.25]> : tensor<2xf16>
  %0 = kiln.unary neg %c : tensor<2xf16>
  return %0 : tensor<2xf16>
}

// -----

// CHECK-LABEL: func.func @no_fold_unary_non_constant
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK: %[[R:.+]] = kiln.unary relu %[[X]] : tensor<4xf32>
// CHECK: return %[[R]]
func.func @no_fold_unary_non_constant(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.unary relu %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// kiln.binary constant folding
//===----------------------------------------------------------------------===//

// -----

// CHECK-LABEL: func.func @fold_binary_add_f32
// CHECK: %[[C:.+]] = kiln.constant dense<[4.000000e+00, 6.500000e+00]> : tensor<2xf32>
// CHECK-NOT: kiln.binary
// CHECK: return %[[C]]
func.func @fold_binary_add_f32() -> tensor<2xf32> {
  %a = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = kiln.constant dense<[3.0, 4.5]> : tensor<2xf32>
  %0 = kiln.binary add %a, %b : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// 2x1 times 3 broadcasts to 2x3: row i is a[i] * b.
// CHECK-LABEL: func.func @fold_binary_mul_broadcast
// CHECK: %[[C:.+]] = kiln.constant dense<{{\[}}[10, 20, 30], [20, 40, 60]]> : tensor<2x3xi32>
// CHECK-NOT: kiln.binary
// CHECK: return %[[C]]
func.func @fold_binary_mul_broadcast() -> tensor<2x3xi32> {
  %a = kiln.constant dense<[[1], [2]]> : tensor<2x1xi32>
  %b = kiln.constant dense<[10, 20, 30]> : tensor<3xi32>
  %0 = kiln.binary mul %a, %b : tensor<2x1xi32>, tensor<3xi32> -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

// A scalar operand broadcasts over a shape vector, as in shape computations.
// CHECK-LABEL: func.func @fold_binary_scalar_broadcast
// CHECK: %[[C:.+]] = kiln.constant dense<[2, 6, 448]> : tensor<3xi64>
// CHECK-NOT: kiln.binary
// CHECK: return %[[C]]
func.func @fold_binary_scalar_broadcast() -> tensor<3xi64> {
  %s = kiln.constant dense<[1, 3, 224]> : tensor<3xi64>
  %k = kiln.constant dense<2> : tensor<i64>
  %0 = kiln.binary mul %k, %s : tensor<i64>, tensor<3xi64> -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// CHECK-LABEL: func.func @fold_binary_sub_i64
// CHECK: %[[C:.+]] = kiln.constant dense<[3, -4]> : tensor<2xi64>
// CHECK-NOT: kiln.binary
// CHECK: return %[[C]]
func.func @fold_binary_sub_i64() -> tensor<2xi64> {
  %a = kiln.constant dense<[5, 3]> : tensor<2xi64>
  %b = kiln.constant dense<[2, 7]> : tensor<2xi64>
  %0 = kiln.binary sub %a, %b : tensor<2xi64>, tensor<2xi64> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// Integer division truncates toward zero: -7 / 2 = -3 and 6 / -4 = -1.
// CHECK-LABEL: func.func @fold_binary_div_int
// CHECK: %[[C:.+]] = kiln.constant dense<[3, -3, -1]> : tensor<3xi32>
// CHECK-NOT: kiln.binary
// CHECK: return %[[C]]
func.func @fold_binary_div_int() -> tensor<3xi32> {
  %a = kiln.constant dense<[7, -7, 6]> : tensor<3xi32>
  %b = kiln.constant dense<[2, 2, -4]> : tensor<3xi32>
  %0 = kiln.binary div %a, %b : tensor<3xi32>, tensor<3xi32> -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

// CHECK-LABEL: func.func @fold_binary_div_float
// CHECK: %[[C:.+]] = kiln.constant dense<[2.500000e-01, -1.500000e+00]> : tensor<2xf32>
// CHECK-NOT: kiln.binary
// CHECK: return %[[C]]
func.func @fold_binary_div_float() -> tensor<2xf32> {
  %a = kiln.constant dense<[1.0, -3.0]> : tensor<2xf32>
  %b = kiln.constant dense<[4.0, 2.0]> : tensor<2xf32>
  %0 = kiln.binary div %a, %b : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @fold_binary_pow
// CHECK: %[[C:.+]] = kiln.constant dense<[8.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK-NOT: kiln.binary
// CHECK: return %[[C]]
func.func @fold_binary_pow() -> tensor<2xf32> {
  %a = kiln.constant dense<[2.0, 9.0]> : tensor<2xf32>
  %b = kiln.constant dense<[3.0, 0.5]> : tensor<2xf32>
  %0 = kiln.binary pow %a, %b : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @fold_binary_max_min
// CHECK-DAG: %[[MAX:.+]] = kiln.constant dense<[3, 5, -1]> : tensor<3xi32>
// CHECK-DAG: %[[MIN:.+]] = kiln.constant dense<[1, 2, -4]> : tensor<3xi32>
// CHECK-NOT: kiln.binary
// CHECK: return %[[MAX]], %[[MIN]]
func.func @fold_binary_max_min() -> (tensor<3xi32>, tensor<3xi32>) {
  %a = kiln.constant dense<[1, 5, -4]> : tensor<3xi32>
  %b = kiln.constant dense<[3, 2, -1]> : tensor<3xi32>
  %0 = kiln.binary max %a, %b : tensor<3xi32>, tensor<3xi32> -> tensor<3xi32>
  %1 = kiln.binary min %a, %b : tensor<3xi32>, tensor<3xi32> -> tensor<3xi32>
  return %0, %1 : tensor<3xi32>, tensor<3xi32>
}

// -----

// Comparisons of [1, 2, 3] against the scalar 2 produce i1 vectors.
// CHECK-LABEL: func.func @fold_binary_comparisons
// CHECK-DAG: %[[LT:.+]] = kiln.constant dense<[true, false, false]> : tensor<3xi1>
// CHECK-DAG: %[[LE:.+]] = kiln.constant dense<[true, true, false]> : tensor<3xi1>
// CHECK-DAG: %[[GT:.+]] = kiln.constant dense<[false, false, true]> : tensor<3xi1>
// CHECK-DAG: %[[GE:.+]] = kiln.constant dense<[false, true, true]> : tensor<3xi1>
// CHECK-DAG: %[[EQ:.+]] = kiln.constant dense<[false, true, false]> : tensor<3xi1>
// CHECK-NOT: kiln.binary
// CHECK: return %[[LT]], %[[LE]], %[[GT]], %[[GE]], %[[EQ]]
func.func @fold_binary_comparisons() -> (tensor<3xi1>, tensor<3xi1>, tensor<3xi1>, tensor<3xi1>, tensor<3xi1>) {
  %a = kiln.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %b = kiln.constant dense<2.0> : tensor<f32>
  %0 = kiln.binary lt %a, %b : tensor<3xf32>, tensor<f32> -> tensor<3xi1>
  %1 = kiln.binary le %a, %b : tensor<3xf32>, tensor<f32> -> tensor<3xi1>
  %2 = kiln.binary gt %a, %b : tensor<3xf32>, tensor<f32> -> tensor<3xi1>
  %3 = kiln.binary ge %a, %b : tensor<3xf32>, tensor<f32> -> tensor<3xi1>
  %4 = kiln.binary eq %a, %b : tensor<3xf32>, tensor<f32> -> tensor<3xi1>
  return %0, %1, %2, %3, %4 : tensor<3xi1>, tensor<3xi1>, tensor<3xi1>, tensor<3xi1>, tensor<3xi1>
}

// -----

// CHECK-LABEL: func.func @fold_binary_logical
// CHECK-DAG: %[[AND:.+]] = kiln.constant dense<[true, false, false, false]> : tensor<4xi1>
// CHECK-DAG: %[[OR:.+]] = kiln.constant dense<[true, true, true, false]> : tensor<4xi1>
// CHECK-DAG: %[[XOR:.+]] = kiln.constant dense<[false, true, true, false]> : tensor<4xi1>
// CHECK-DAG: %[[EQ:.+]] = kiln.constant dense<[true, false, false, true]> : tensor<4xi1>
// CHECK-NOT: kiln.binary
// CHECK: return %[[AND]], %[[OR]], %[[XOR]], %[[EQ]]
func.func @fold_binary_logical() -> (tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>) {
  %a = kiln.constant dense<[true, true, false, false]> : tensor<4xi1>
  %b = kiln.constant dense<[true, false, true, false]> : tensor<4xi1>
  %0 = kiln.binary and %a, %b : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  %1 = kiln.binary or %a, %b : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  %2 = kiln.binary xor %a, %b : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  %3 = kiln.binary eq %a, %b : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  return %0, %1, %2, %3 : tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>
}

//===----------------------------------------------------------------------===//
// kiln.binary identities
//===----------------------------------------------------------------------===//

// -----

// CHECK-LABEL: func.func @fold_add_zero
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xi32>)
// CHECK-NOT: kiln.binary
// CHECK: return %[[X]]
func.func @fold_add_zero(%x: tensor<2x3xi32>) -> tensor<2x3xi32> {
  %z = kiln.constant dense<0> : tensor<2x3xi32>
  %0 = kiln.binary add %x, %z : tensor<2x3xi32>, tensor<2x3xi32> -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

// The zero may be a broadcast scalar as long as the result type is x's.
// CHECK-LABEL: func.func @fold_sub_zero
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NOT: kiln.binary
// CHECK: return %[[X]]
func.func @fold_sub_zero(%x: tensor<4xf32>) -> tensor<4xf32> {
  %z = kiln.constant dense<0.0> : tensor<f32>
  %0 = kiln.binary sub %x, %z : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @fold_mul_one
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NOT: kiln.binary
// CHECK: return %[[X]]
func.func @fold_mul_one(%x: tensor<4xf32>) -> tensor<4xf32> {
  %one = kiln.constant dense<1.0> : tensor<4xf32>
  %0 = kiln.binary mul %x, %one : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @fold_div_one
// CHECK-SAME: (%[[X:.+]]: tensor<3xi64>, %[[Y:.+]]: tensor<2x2xf16>)
// CHECK-NOT: kiln.binary
// CHECK: return %[[X]], %[[Y]]
func.func @fold_div_one(%x: tensor<3xi64>, %y: tensor<2x2xf16>) -> (tensor<3xi64>, tensor<2x2xf16>) {
  %one = kiln.constant dense<1> : tensor<1xi64>
  %onef = kiln.constant dense<1.0> : tensor<2x1xf16>
  %0 = kiln.binary div %x, %one : tensor<3xi64>, tensor<1xi64> -> tensor<3xi64>
  %1 = kiln.binary div %y, %onef : tensor<2x2xf16>, tensor<2x1xf16> -> tensor<2x2xf16>
  return %0, %1 : tensor<3xi64>, tensor<2x2xf16>
}

// -----

// Broadcasting makes the result bigger than x, so x cannot replace it.
// CHECK-LABEL: func.func @no_fold_mul_one_broadcast
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK: %[[ONE:.+]] = kiln.constant dense<1.000000e+00> : tensor<2x4xf32>
// CHECK: %[[R:.+]] = kiln.binary mul %[[X]], %[[ONE]] : tensor<4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
// CHECK: return %[[R]]
func.func @no_fold_mul_one_broadcast(%x: tensor<4xf32>) -> tensor<2x4xf32> {
  %one = kiln.constant dense<1.0> : tensor<2x4xf32>
  %0 = kiln.binary mul %x, %one : tensor<4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func.func @no_fold_add_zero_broadcast
// CHECK-SAME: (%[[X:.+]]: tensor<1x4xi32>)
// CHECK: %[[Z:.+]] = kiln.constant dense<0> : tensor<3x1xi32>
// CHECK: %[[R:.+]] = kiln.binary add %[[X]], %[[Z]] : tensor<1x4xi32>, tensor<3x1xi32> -> tensor<3x4xi32>
// CHECK: return %[[R]]
func.func @no_fold_add_zero_broadcast(%x: tensor<1x4xi32>) -> tensor<3x4xi32> {
  %z = kiln.constant dense<0> : tensor<3x1xi32>
  %0 = kiln.binary add %x, %z : tensor<1x4xi32>, tensor<3x1xi32> -> tensor<3x4xi32>
  return %0 : tensor<3x4xi32>
}

// -----

// 0 - x is -x, not x.
// CHECK-LABEL: func.func @no_fold_zero_minus_x
// CHECK-SAME: (%[[X:.+]]: tensor<4xi32>)
// CHECK: %[[Z:.+]] = kiln.constant dense<0> : tensor<4xi32>
// CHECK: %[[R:.+]] = kiln.binary sub %[[Z]], %[[X]] : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
// CHECK: return %[[R]]
func.func @no_fold_zero_minus_x(%x: tensor<4xi32>) -> tensor<4xi32> {
  %z = kiln.constant dense<0> : tensor<4xi32>
  %0 = kiln.binary sub %z, %x : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// 1 / x is not x.
// CHECK-LABEL: func.func @no_fold_one_div_x
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK: %[[ONE:.+]] = kiln.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK: %[[R:.+]] = kiln.binary div %[[ONE]], %[[X]] : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
// CHECK: return %[[R]]
func.func @no_fold_one_div_x(%x: tensor<4xf32>) -> tensor<4xf32> {
  %one = kiln.constant dense<1.0> : tensor<4xf32>
  %0 = kiln.binary div %one, %x : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// The identities are only for 0 with add/sub and 1 with mul/div.
// CHECK-LABEL: func.func @no_fold_wrong_identity
// CHECK-SAME: (%[[X:.+]]: tensor<4xi32>)
// CHECK-DAG: %[[ZERO:.+]] = kiln.constant dense<0> : tensor<4xi32>
// CHECK-DAG: %[[ONE:.+]] = kiln.constant dense<1> : tensor<4xi32>
// CHECK-DAG: %[[MUL:.+]] = kiln.binary mul %[[X]], %[[ZERO]]
// CHECK-DAG: %[[ADD:.+]] = kiln.binary add %[[X]], %[[ONE]]
// CHECK-DAG: %[[MAX:.+]] = kiln.binary max %[[X]], %[[ZERO]]
// CHECK: return %[[MUL]], %[[ADD]], %[[MAX]]
func.func @no_fold_wrong_identity(%x: tensor<4xi32>) -> (tensor<4xi32>, tensor<4xi32>, tensor<4xi32>) {
  %z = kiln.constant dense<0> : tensor<4xi32>
  %one = kiln.constant dense<1> : tensor<4xi32>
  %0 = kiln.binary mul %x, %z : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
  %1 = kiln.binary add %x, %one : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
  %2 = kiln.binary max %x, %z : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
  return %0, %1, %2 : tensor<4xi32>, tensor<4xi32>, tensor<4xi32>
}

//===----------------------------------------------------------------------===//
// kiln.select
//===----------------------------------------------------------------------===//

// -----

// CHECK-LABEL: func.func @fold_select_splat_true
// CHECK-SAME: (%[[A:.+]]: tensor<4xf32>, %[[B:.+]]: tensor<4xf32>)
// CHECK-NOT: kiln.select
// CHECK: return %[[A]]
func.func @fold_select_splat_true(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %c = kiln.constant dense<true> : tensor<4xi1>
  %0 = kiln.select %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A scalar false condition picks the false value everywhere.
// CHECK-LABEL: func.func @fold_select_splat_false
// CHECK-SAME: (%[[A:.+]]: tensor<2x4xi64>, %[[B:.+]]: tensor<2x4xi64>)
// CHECK-NOT: kiln.select
// CHECK: return %[[B]]
func.func @fold_select_splat_false(%a: tensor<2x4xi64>, %b: tensor<2x4xi64>) -> tensor<2x4xi64> {
  %c = kiln.constant dense<false> : tensor<i1>
  %0 = kiln.select %c, %a, %b : (tensor<i1>, tensor<2x4xi64>, tensor<2x4xi64>) -> tensor<2x4xi64>
  return %0 : tensor<2x4xi64>
}

// -----

// CHECK-LABEL: func.func @no_fold_select_mixed_condition
// CHECK-SAME: (%[[A:.+]]: tensor<2xf32>, %[[B:.+]]: tensor<2xf32>)
// CHECK: %[[C:.+]] = kiln.constant dense<[true, false]> : tensor<2xi1>
// CHECK: %[[R:.+]] = kiln.select %[[C]], %[[A]], %[[B]]
// CHECK: return %[[R]]
func.func @no_fold_select_mixed_condition(%a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<2xf32> {
  %c = kiln.constant dense<[true, false]> : tensor<2xi1>
  %0 = kiln.select %c, %a, %b : (tensor<2xi1>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// The chosen value is a scalar that the select broadcasts: its type differs
// from the result type, so it cannot replace the select.
// CHECK-LABEL: func.func @no_fold_select_broadcast_value
// CHECK-SAME: (%[[A:.+]]: tensor<f32>, %[[B:.+]]: tensor<4xf32>)
// CHECK: %[[C:.+]] = kiln.constant dense<true> : tensor<4xi1>
// CHECK: %[[R:.+]] = kiln.select %[[C]], %[[A]], %[[B]] : (tensor<4xi1>, tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: return %[[R]]
func.func @no_fold_select_broadcast_value(%a: tensor<f32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %c = kiln.constant dense<true> : tensor<4xi1>
  %0 = kiln.select %c, %a, %b : (tensor<4xi1>, tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// kiln.cast
//===----------------------------------------------------------------------===//

// -----

// Float to integer truncates toward zero.
// CHECK-LABEL: func.func @fold_cast_float_to_int
// CHECK: %[[C:.+]] = kiln.constant dense<[1, -1, 0, 2]> : tensor<4xi32>
// CHECK-NOT: kiln.cast
// CHECK: return %[[C]]
func.func @fold_cast_float_to_int() -> tensor<4xi32> {
  %c = kiln.constant dense<[1.7, -1.7, 0.0, 2.5]> : tensor<4xf32>
  %0 = kiln.cast %c : tensor<4xf32> to tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @fold_cast_int_to_float
// CHECK: %[[C:.+]] = kiln.constant dense<[3.000000e+00, -2.000000e+00]> : tensor<2xf32>
// CHECK-NOT: kiln.cast
// CHECK: return %[[C]]
func.func @fold_cast_int_to_float() -> tensor<2xf32> {
  %c = kiln.constant dense<[3, -2]> : tensor<2xi64>
  %0 = kiln.cast %c : tensor<2xi64> to tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Casting to i1 is "!= 0".
// CHECK-LABEL: func.func @fold_cast_to_i1
// CHECK: %[[C:.+]] = kiln.constant dense<[false, true, true]> : tensor<3xi1>
// CHECK-NOT: kiln.cast
// CHECK: return %[[C]]
func.func @fold_cast_to_i1() -> tensor<3xi1> {
  %c = kiln.constant dense<[0.0, 0.5, -2.0]> : tensor<3xf32>
  %0 = kiln.cast %c : tensor<3xf32> to tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

// true becomes 1, not -1 (i1 is zero-extended).
// CHECK-LABEL: func.func @fold_cast_from_i1
// CHECK-DAG: %[[I:.+]] = kiln.constant dense<[1, 0]> : tensor<2xi64>
// CHECK-DAG: %[[F:.+]] = kiln.constant dense<[1.000000e+00, 0.000000e+00]> : tensor<2xf32>
// CHECK-NOT: kiln.cast
// CHECK: return %[[I]], %[[F]]
func.func @fold_cast_from_i1() -> (tensor<2xi64>, tensor<2xf32>) {
  %c = kiln.constant dense<[true, false]> : tensor<2xi1>
  %0 = kiln.cast %c : tensor<2xi1> to tensor<2xi64>
  %1 = kiln.cast %c : tensor<2xi1> to tensor<2xf32>
  return %0, %1 : tensor<2xi64>, tensor<2xf32>
}

// -----

// 0.1 rounds to the nearest f16, 0x2E66 = 0.0999755859375.
// CHECK-LABEL: func.func @fold_cast_f32_to_f16
// CHECK: %[[C:.+]] = kiln.constant dense<[9.997550e-02, -2.000000e+00]> : tensor<2xf16>
// CHECK-NOT: kiln.cast
// CHECK: return %[[C]]
func.func @fold_cast_f32_to_f16() -> tensor<2xf16> {
  %c = kiln.constant dense<[0.1, -2.0]> : tensor<2xf32>
  %0 = kiln.cast %c : tensor<2xf32> to tensor<2xf16>
  return %0 : tensor<2xf16>
}

// -----

// CHECK-LABEL: func.func @fold_cast_same_type
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NOT: kiln.cast
// CHECK: return %[[X]]
func.func @fold_cast_same_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.cast %x : tensor<4xf32> to tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @no_fold_cast_non_constant
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK: %[[R:.+]] = kiln.cast %[[X]] : tensor<4xf32> to tensor<4xi32>
// CHECK: return %[[R]]
func.func @no_fold_cast_non_constant(%x: tensor<4xf32>) -> tensor<4xi32> {
  %0 = kiln.cast %x : tensor<4xf32> to tensor<4xi32>
  return %0 : tensor<4xi32>
}

//===----------------------------------------------------------------------===//
// kiln.reshape
//===----------------------------------------------------------------------===//

// -----

// CHECK-LABEL: func.func @fold_reshape_of_reshape
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[R:.+]] = kiln.reshape %[[X]] : tensor<2x3x4xf32> -> tensor<24xf32>
// CHECK-NOT: kiln.reshape
// CHECK: return %[[R]]
func.func @fold_reshape_of_reshape(%x: tensor<2x3x4xf32>) -> tensor<24xf32> {
  %0 = kiln.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = kiln.reshape %0 : tensor<6x4xf32> -> tensor<24xf32>
  return %1 : tensor<24xf32>
}

// -----

// A reshape chain that comes back to the input type disappears.
// CHECK-LABEL: func.func @fold_reshape_round_trip
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NOT: kiln.reshape
// CHECK: return %[[X]]
func.func @fold_reshape_round_trip(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<6xf32>
  %1 = kiln.reshape %0 : tensor<6xf32> -> tensor<3x2xf32>
  %2 = kiln.reshape %1 : tensor<3x2xf32> -> tensor<2x3xf32>
  return %2 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @fold_reshape_constant
// CHECK: %[[C:.+]] = kiln.constant dense<{{\[}}[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
// CHECK-NOT: kiln.reshape
// CHECK: return %[[C]]
func.func @fold_reshape_constant() -> tensor<2x3xi64> {
  %c = kiln.constant dense<[1, 2, 3, 4, 5, 6]> : tensor<6xi64>
  %0 = kiln.reshape %c : tensor<6xi64> -> tensor<2x3xi64>
  return %0 : tensor<2x3xi64>
}

// -----

// CHECK-LABEL: func.func @fold_reshape_identity
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NOT: kiln.reshape
// CHECK: return %[[X]]
func.func @fold_reshape_identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

//===----------------------------------------------------------------------===//
// kiln.transpose
//===----------------------------------------------------------------------===//

// -----

// [0, 2, 1] then [1, 0, 2] is input dims [2, 0, 1]: 2x3x4 -> 4x2x3.
// CHECK-LABEL: func.func @fold_transpose_of_transpose
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[R:.+]] = kiln.transpose %[[X]] [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
// CHECK-NOT: kiln.transpose
// CHECK: return %[[R]]
func.func @fold_transpose_of_transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = kiln.transpose %x [0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %1 = kiln.transpose %0 [1, 0, 2] : tensor<2x4x3xf32> -> tensor<4x2x3xf32>
  return %1 : tensor<4x2x3xf32>
}

// -----

// [1, 2, 0] then [2, 0, 1] composes to the identity.
// CHECK-LABEL: func.func @fold_transpose_inverse
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK-NOT: kiln.transpose
// CHECK: return %[[X]]
func.func @fold_transpose_inverse(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = kiln.transpose %x [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %1 = kiln.transpose %0 [2, 0, 1] : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  return %1 : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @fold_transpose_identity
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NOT: kiln.transpose
// CHECK: return %[[X]]
func.func @fold_transpose_identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.transpose %x [0, 1] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @fold_transpose_splat
// CHECK: %[[C:.+]] = kiln.constant dense<2.500000e+00> : tensor<3x2xf32>
// CHECK-NOT: kiln.transpose
// CHECK: return %[[C]]
func.func @fold_transpose_splat() -> tensor<3x2xf32> {
  %c = kiln.constant dense<2.5> : tensor<2x3xf32>
  %0 = kiln.transpose %c [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// A non-identity permutation of a non-constant stays.
// CHECK-LABEL: func.func @no_fold_transpose_non_identity
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK: %[[R:.+]] = kiln.transpose %[[X]] [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
// CHECK: return %[[R]]
func.func @no_fold_transpose_non_identity(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = kiln.transpose %x [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

//===----------------------------------------------------------------------===//
// kiln.concat, kiln.slice, kiln.broadcast
//===----------------------------------------------------------------------===//

// -----

// CHECK-LABEL: func.func @fold_concat_single_input
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NOT: kiln.concat
// CHECK: return %[[X]]
func.func @fold_concat_single_input(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.concat %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @no_fold_concat_two_inputs
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK: %[[R:.+]] = kiln.concat %[[X]], %[[X]] {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// CHECK: return %[[R]]
func.func @no_fold_concat_two_inputs(%x: tensor<2x3xf32>) -> tensor<4x3xf32> {
  %0 = kiln.concat %x, %x {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @fold_slice_identity
// CHECK-SAME: (%[[X:.+]]: tensor<4x10xf32>)
// CHECK-NOT: kiln.slice
// CHECK: return %[[X]]
func.func @fold_slice_identity(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<4x10xf32> -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

// Same type as the input, but it reverses dim 1.
// CHECK-LABEL: func.func @no_fold_slice_reversal
// CHECK-SAME: (%[[X:.+]]: tensor<4x10xf32>)
// CHECK: %[[R:.+]] = kiln.slice %[[X]] {starts = array<i64: 0, 9>, steps = array<i64: 1, -1>} : tensor<4x10xf32> -> tensor<4x10xf32>
// CHECK: return %[[R]]
func.func @no_fold_slice_reversal(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  %0 = kiln.slice %x {starts = array<i64: 0, 9>, steps = array<i64: 1, -1>} : tensor<4x10xf32> -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

// A window that starts at element 1 is not the whole input.
// CHECK-LABEL: func.func @no_fold_slice_offset
// CHECK-SAME: (%[[X:.+]]: tensor<4x1xf32>)
// CHECK: %[[R:.+]] = kiln.slice %[[X]] {starts = array<i64: 1, 0>, steps = array<i64: 1, 1>} : tensor<4x1xf32> -> tensor<3x1xf32>
// CHECK: return %[[R]]
func.func @no_fold_slice_offset(%x: tensor<4x1xf32>) -> tensor<3x1xf32> {
  %0 = kiln.slice %x {starts = array<i64: 1, 0>, steps = array<i64: 1, 1>} : tensor<4x1xf32> -> tensor<3x1xf32>
  return %0 : tensor<3x1xf32>
}

// -----

// CHECK-LABEL: func.func @fold_slice_splat
// CHECK: %[[C:.+]] = kiln.constant dense<7> : tensor<2x3xi32>
// CHECK-NOT: kiln.slice
// CHECK: return %[[C]]
func.func @fold_slice_splat() -> tensor<2x3xi32> {
  %c = kiln.constant dense<7> : tensor<4x10xi32>
  %0 = kiln.slice %c {starts = array<i64: 3, 1>, steps = array<i64: -2, 3>} : tensor<4x10xi32> -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

// CHECK-LABEL: func.func @fold_broadcast_identity
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NOT: kiln.broadcast
// CHECK: return %[[X]]
func.func @fold_broadcast_identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.broadcast %x : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @fold_broadcast_splat
// CHECK: %[[C:.+]] = kiln.constant dense<-1.000000e+00> : tensor<2x3x4xf32>
// CHECK-NOT: kiln.broadcast
// CHECK: return %[[C]]
func.func @fold_broadcast_splat() -> tensor<2x3x4xf32> {
  %c = kiln.constant dense<-1.0> : tensor<3x1xf32>
  %0 = kiln.broadcast %c : tensor<3x1xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @no_fold_broadcast_non_constant
// CHECK-SAME: (%[[X:.+]]: tensor<3x1xf32>)
// CHECK: %[[R:.+]] = kiln.broadcast %[[X]] : tensor<3x1xf32> -> tensor<3x4xf32>
// CHECK: return %[[R]]
func.func @no_fold_broadcast_non_constant(%x: tensor<3x1xf32>) -> tensor<3x4xf32> {
  %0 = kiln.broadcast %x : tensor<3x1xf32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

//===----------------------------------------------------------------------===//
// kiln.reduce
//===----------------------------------------------------------------------===//

// -----

// Reducing over no axes combines each element with nothing: for these kinds
// that is the element itself.
// CHECK-LABEL: func.func @fold_reduce_empty_axes
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NOT: kiln.reduce
// CHECK: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]]
func.func @fold_reduce_empty_axes(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = kiln.reduce sum %x {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = kiln.reduce mean %x {axes = array<i64>, keep_dims} : tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = kiln.reduce max %x {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %3 = kiln.reduce min %x {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %4 = kiln.reduce prod %x {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0, %1, %2, %3, %4 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Over no axes l1 is |x|, l2 is sqrt(x^2), sum_square is x^2, log_sum is
// log(x) and log_sum_exp is log(exp(x)): none of them is x itself in general.
// CHECK-LABEL: func.func @no_fold_reduce_empty_axes_nonlinear
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-DAG: %[[L1:.+]] = kiln.reduce l1 %[[X]] {axes = array<i64>}
// CHECK-DAG: %[[L2:.+]] = kiln.reduce l2 %[[X]] {axes = array<i64>}
// CHECK-DAG: %[[SQ:.+]] = kiln.reduce sum_square %[[X]] {axes = array<i64>}
// CHECK-DAG: %[[LS:.+]] = kiln.reduce log_sum %[[X]] {axes = array<i64>}
// CHECK: return %[[L1]], %[[L2]], %[[SQ]], %[[LS]]
func.func @no_fold_reduce_empty_axes_nonlinear(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = kiln.reduce l1 %x {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = kiln.reduce l2 %x {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = kiln.reduce sum_square %x {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %3 = kiln.reduce log_sum %x {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0, %1, %2, %3 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @no_fold_reduce_with_axes
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK: %[[R:.+]] = kiln.reduce sum %[[X]] {axes = array<i64: 1>, keep_dims} : tensor<2x3xf32> -> tensor<2x1xf32>
// CHECK: return %[[R]]
func.func @no_fold_reduce_with_axes(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  %0 = kiln.reduce sum %x {axes = array<i64: 1>, keep_dims} : tensor<2x3xf32> -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// Integer folds are exact in 64 bits (no rounding through double).
// CHECK-LABEL: func.func @fold_i64_exact
// CHECK-DAG: %[[A:.+]] = kiln.constant dense<9223372036854775807> : tensor<i64>
// CHECK-DAG: %[[B:.+]] = kiln.constant dense<9007199254740995> : tensor<i64>
// CHECK-DAG: %[[C:.+]] = kiln.constant dense<false> : tensor<i1>
// CHECK-DAG: %[[D:.+]] = kiln.constant dense<-1> : tensor<i32>
// CHECK: return %[[A]], %[[B]], %[[C]], %[[D]]
func.func @fold_i64_exact() -> (tensor<i64>, tensor<i64>, tensor<i1>, tensor<i32>) {
  %max = kiln.constant dense<9223372036854775807> : tensor<i64>
  %zero = kiln.constant dense<0> : tensor<i64>
  %0 = kiln.binary max %max, %zero : tensor<i64>, tensor<i64> -> tensor<i64>
  %big = kiln.constant dense<9007199254740993> : tensor<i64>
  %two = kiln.constant dense<2> : tensor<i64>
  %1 = kiln.binary add %big, %two : tensor<i64>, tensor<i64> -> tensor<i64>
  %big2 = kiln.constant dense<9007199254740992> : tensor<i64>
  %2 = kiln.binary eq %big, %big2 : tensor<i64>, tensor<i64> -> tensor<i1>
  %3 = kiln.cast %max : tensor<i64> to tensor<i32>
  return %0, %1, %2, %3 : tensor<i64>, tensor<i64>, tensor<i1>, tensor<i32>
}

// -----

// x + 0.0 is not x for x = -0.0; x + (-0.0) and x - 0.0 are.
// CHECK-LABEL: func.func @float_zero_identities
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK: %[[ADD:.+]] = kiln.binary add %[[X]]
// CHECK: return %[[ADD]], %[[X]], %[[X]]
func.func @float_zero_identities(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %pz = kiln.constant dense<0.0> : tensor<f32>
  %nz = kiln.constant dense<-0.0> : tensor<f32>
  %0 = kiln.binary add %x, %pz : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = kiln.binary add %x, %nz : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %2 = kiln.binary sub %x, %pz : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
