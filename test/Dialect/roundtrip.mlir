// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// Every kiln op must print in a form that parses back to the same op. The
// checks spell out the printed form (attributes included) of each op after
// two print/parse round trips.

//===----------------------------------------------------------------------===//
// kiln.constant
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @constant_dense_int
func.func @constant_dense_int() -> tensor<4xi64> {
  // CHECK: %[[C:.+]] = kiln.constant dense<[1, 3, 224, 224]> : tensor<4xi64>
  // CHECK: return %[[C]] : tensor<4xi64>
  %0 = kiln.constant dense<[1, 3, 224, 224]> : tensor<4xi64>
  return %0 : tensor<4xi64>
}

// CHECK-LABEL: func.func @constant_dense_float
func.func @constant_dense_float() -> tensor<2x2xf32> {
  // CHECK: kiln.constant dense<{{\[}}[1.000000e+00, 2.500000e+00], [-3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
  %0 = kiln.constant dense<[[1.0, 2.5], [-3.0, 4.0]]> : tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// CHECK-LABEL: func.func @constant_splat_f16
func.func @constant_splat_f16() -> tensor<2x3xf16> {
  // CHECK: kiln.constant dense<5.000000e-01> : tensor<2x3xf16>
  %0 = kiln.constant dense<0.5> : tensor<2x3xf16>
  return %0 : tensor<2x3xf16>
}

// CHECK-LABEL: func.func @constant_i1
func.func @constant_i1() -> tensor<2xi1> {
  // CHECK: kiln.constant dense<[true, false]> : tensor<2xi1>
  %0 = kiln.constant dense<[true, false]> : tensor<2xi1>
  return %0 : tensor<2xi1>
}

// CHECK-LABEL: func.func @constant_scalar
func.func @constant_scalar() -> tensor<i32> {
  // CHECK: kiln.constant dense<-7> : tensor<i32>
  %0 = kiln.constant dense<-7> : tensor<i32>
  return %0 : tensor<i32>
}

// The blob is 4-byte alignment (0x04000000) followed by 1.0f and 2.0f.
// CHECK-LABEL: func.func @constant_dense_resource
func.func @constant_dense_resource() -> tensor<2xf32> {
  // CHECK: %[[W:.+]] = kiln.constant dense_resource<conv1_weight> : tensor<2xf32>
  // CHECK: return %[[W]]
  %0 = kiln.constant dense_resource<conv1_weight> : tensor<2xf32>
  return %0 : tensor<2xf32>
}

//===----------------------------------------------------------------------===//
// kiln.unary
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @unary_relu
// CHECK-SAME: (%[[X:.+]]: tensor<1x64x56x56xf32>)
func.func @unary_relu(%x: tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32> {
  // CHECK: %[[R:.+]] = kiln.unary relu %[[X]] : tensor<1x64x56x56xf32>
  // CHECK: return %[[R]]
  %0 = kiln.unary relu %x : tensor<1x64x56x56xf32>
  return %0 : tensor<1x64x56x56xf32>
}

// CHECK-LABEL: func.func @unary_float_kinds
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
func.func @unary_float_kinds(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: %[[A:.+]] = kiln.unary exp %[[X]] : tensor<4xf32>
  // CHECK: %[[B:.+]] = kiln.unary log %[[A]] : tensor<4xf32>
  // CHECK: %[[C:.+]] = kiln.unary sqrt %[[B]] : tensor<4xf32>
  // CHECK: %[[D:.+]] = kiln.unary reciprocal %[[C]] : tensor<4xf32>
  // CHECK: %[[E:.+]] = kiln.unary erf %[[D]] : tensor<4xf32>
  // CHECK: %[[F:.+]] = kiln.unary tanh %[[E]] : tensor<4xf32>
  // CHECK: %[[G:.+]] = kiln.unary sigmoid %[[F]] : tensor<4xf32>
  // CHECK: %[[H:.+]] = kiln.unary hard_swish %[[G]] : tensor<4xf32>
  // CHECK: %[[I:.+]] = kiln.unary softplus %[[H]] : tensor<4xf32>
  // CHECK: %[[J:.+]] = kiln.unary floor %[[I]] : tensor<4xf32>
  // CHECK: %[[K:.+]] = kiln.unary ceil %[[J]] : tensor<4xf32>
  // CHECK: %[[L:.+]] = kiln.unary round %[[K]] : tensor<4xf32>
  // CHECK: %[[M:.+]] = kiln.unary sin %[[L]] : tensor<4xf32>
  // CHECK: %[[N:.+]] = kiln.unary cos %[[M]] : tensor<4xf32>
  // CHECK: return %[[N]]
  %0 = kiln.unary exp %x : tensor<4xf32>
  %1 = kiln.unary log %0 : tensor<4xf32>
  %2 = kiln.unary sqrt %1 : tensor<4xf32>
  %3 = kiln.unary reciprocal %2 : tensor<4xf32>
  %4 = kiln.unary erf %3 : tensor<4xf32>
  %5 = kiln.unary tanh %4 : tensor<4xf32>
  %6 = kiln.unary sigmoid %5 : tensor<4xf32>
  %7 = kiln.unary hard_swish %6 : tensor<4xf32>
  %8 = kiln.unary softplus %7 : tensor<4xf32>
  %9 = kiln.unary floor %8 : tensor<4xf32>
  %10 = kiln.unary ceil %9 : tensor<4xf32>
  %11 = kiln.unary round %10 : tensor<4xf32>
  %12 = kiln.unary sin %11 : tensor<4xf32>
  %13 = kiln.unary cos %12 : tensor<4xf32>
  return %13 : tensor<4xf32>
}

// neg, abs, sign and relu also apply to integers.
// CHECK-LABEL: func.func @unary_int_kinds
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xi32>)
func.func @unary_int_kinds(%x: tensor<2x3xi32>) -> tensor<2x3xi32> {
  // CHECK: %[[A:.+]] = kiln.unary neg %[[X]] : tensor<2x3xi32>
  // CHECK: %[[B:.+]] = kiln.unary abs %[[A]] : tensor<2x3xi32>
  // CHECK: %[[C:.+]] = kiln.unary sign %[[B]] : tensor<2x3xi32>
  // CHECK: %[[D:.+]] = kiln.unary relu %[[C]] : tensor<2x3xi32>
  // CHECK: return %[[D]]
  %0 = kiln.unary neg %x : tensor<2x3xi32>
  %1 = kiln.unary abs %0 : tensor<2x3xi32>
  %2 = kiln.unary sign %1 : tensor<2x3xi32>
  %3 = kiln.unary relu %2 : tensor<2x3xi32>
  return %3 : tensor<2x3xi32>
}

// CHECK-LABEL: func.func @unary_not
// CHECK-SAME: (%[[X:.+]]: tensor<8xi1>)
func.func @unary_not(%x: tensor<8xi1>) -> tensor<8xi1> {
  // CHECK: %[[R:.+]] = kiln.unary not %[[X]] : tensor<8xi1>
  // CHECK: return %[[R]]
  %0 = kiln.unary not %x : tensor<8xi1>
  return %0 : tensor<8xi1>
}

// CHECK-LABEL: func.func @unary_alpha
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
func.func @unary_alpha(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: %[[A:.+]] = kiln.unary leaky_relu %[[X]] {alpha = 1.000000e-01 : f32} : tensor<4xf32>
  // CHECK: %[[B:.+]] = kiln.unary elu %[[A]] {alpha = 1.000000e+00 : f32} : tensor<4xf32>
  // CHECK: return %[[B]]
  %0 = kiln.unary leaky_relu %x {alpha = 0.1 : f32} : tensor<4xf32>
  %1 = kiln.unary elu %0 {alpha = 1.0 : f32} : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// CHECK-LABEL: func.func @unary_alpha_beta
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
func.func @unary_alpha_beta(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: %[[A:.+]] = kiln.unary hard_sigmoid %[[X]] {alpha = 2.000000e-01 : f32, beta = 5.000000e-01 : f32} : tensor<4xf32>
  // CHECK: %[[B:.+]] = kiln.unary selu %[[A]] {alpha = 1.67326319 : f32, beta = 1.05070102 : f32} : tensor<4xf32>
  // CHECK: return %[[B]]
  %0 = kiln.unary hard_sigmoid %x {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<4xf32>
  %1 = kiln.unary selu %0 {alpha = 1.67326319 : f32, beta = 1.05070102 : f32} : tensor<4xf32>
  return %1 : tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// kiln.binary
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @binary_add_broadcast
// CHECK-SAME: (%[[A:.+]]: tensor<1x64x56x56xf32>, %[[B:.+]]: tensor<64x1x1xf32>)
func.func @binary_add_broadcast(%a: tensor<1x64x56x56xf32>, %b: tensor<64x1x1xf32>) -> tensor<1x64x56x56xf32> {
  // CHECK: %[[R:.+]] = kiln.binary add %[[A]], %[[B]] : tensor<1x64x56x56xf32>, tensor<64x1x1xf32> -> tensor<1x64x56x56xf32>
  // CHECK: return %[[R]]
  %0 = kiln.binary add %a, %b : tensor<1x64x56x56xf32>, tensor<64x1x1xf32> -> tensor<1x64x56x56xf32>
  return %0 : tensor<1x64x56x56xf32>
}

// Both operands broadcast: 3x1 with 1x4 gives 3x4.
// CHECK-LABEL: func.func @binary_arith_kinds
// CHECK-SAME: (%[[A:.+]]: tensor<3x1xi64>, %[[B:.+]]: tensor<1x4xi64>)
func.func @binary_arith_kinds(%a: tensor<3x1xi64>, %b: tensor<1x4xi64>) -> tensor<3x4xi64> {
  // CHECK: %[[S:.+]] = kiln.binary sub %[[A]], %[[B]] : tensor<3x1xi64>, tensor<1x4xi64> -> tensor<3x4xi64>
  // CHECK: %[[M:.+]] = kiln.binary mul %[[S]], %[[B]] : tensor<3x4xi64>, tensor<1x4xi64> -> tensor<3x4xi64>
  // CHECK: %[[D:.+]] = kiln.binary div %[[M]], %[[A]] : tensor<3x4xi64>, tensor<3x1xi64> -> tensor<3x4xi64>
  // CHECK: %[[P:.+]] = kiln.binary pow %[[D]], %[[A]] : tensor<3x4xi64>, tensor<3x1xi64> -> tensor<3x4xi64>
  // CHECK: %[[X:.+]] = kiln.binary max %[[P]], %[[B]] : tensor<3x4xi64>, tensor<1x4xi64> -> tensor<3x4xi64>
  // CHECK: %[[N:.+]] = kiln.binary min %[[X]], %[[A]] : tensor<3x4xi64>, tensor<3x1xi64> -> tensor<3x4xi64>
  // CHECK: return %[[N]]
  %0 = kiln.binary sub %a, %b : tensor<3x1xi64>, tensor<1x4xi64> -> tensor<3x4xi64>
  %1 = kiln.binary mul %0, %b : tensor<3x4xi64>, tensor<1x4xi64> -> tensor<3x4xi64>
  %2 = kiln.binary div %1, %a : tensor<3x4xi64>, tensor<3x1xi64> -> tensor<3x4xi64>
  %3 = kiln.binary pow %2, %a : tensor<3x4xi64>, tensor<3x1xi64> -> tensor<3x4xi64>
  %4 = kiln.binary max %3, %b : tensor<3x4xi64>, tensor<1x4xi64> -> tensor<3x4xi64>
  %5 = kiln.binary min %4, %a : tensor<3x4xi64>, tensor<3x1xi64> -> tensor<3x4xi64>
  return %5 : tensor<3x4xi64>
}

// Comparisons produce i1 whatever the operand element type; eq also takes i1.
// CHECK-LABEL: func.func @binary_comparisons
// CHECK-SAME: (%[[A:.+]]: tensor<4xi64>, %[[B:.+]]: tensor<i64>, %[[F:.+]]: tensor<2x4xf32>)
func.func @binary_comparisons(%a: tensor<4xi64>, %b: tensor<i64>, %f: tensor<2x4xf32>) -> tensor<2x4xi1> {
  // CHECK: %[[LT:.+]] = kiln.binary lt %[[A]], %[[B]] : tensor<4xi64>, tensor<i64> -> tensor<4xi1>
  // CHECK: %[[LE:.+]] = kiln.binary le %[[B]], %[[A]] : tensor<i64>, tensor<4xi64> -> tensor<4xi1>
  // CHECK: %[[GT:.+]] = kiln.binary gt %[[F]], %[[F]] : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xi1>
  // CHECK: %[[GE:.+]] = kiln.binary ge %[[A]], %[[A]] : tensor<4xi64>, tensor<4xi64> -> tensor<4xi1>
  // CHECK: %[[EQ:.+]] = kiln.binary eq %[[LT]], %[[GT]] : tensor<4xi1>, tensor<2x4xi1> -> tensor<2x4xi1>
  // CHECK: return %[[EQ]]
  %0 = kiln.binary lt %a, %b : tensor<4xi64>, tensor<i64> -> tensor<4xi1>
  %1 = kiln.binary le %b, %a : tensor<i64>, tensor<4xi64> -> tensor<4xi1>
  %2 = kiln.binary gt %f, %f : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xi1>
  %3 = kiln.binary ge %a, %a : tensor<4xi64>, tensor<4xi64> -> tensor<4xi1>
  %4 = kiln.binary eq %0, %2 : tensor<4xi1>, tensor<2x4xi1> -> tensor<2x4xi1>
  return %4 : tensor<2x4xi1>
}

// CHECK-LABEL: func.func @binary_logical
// CHECK-SAME: (%[[A:.+]]: tensor<4xi1>, %[[B:.+]]: tensor<4xi1>)
func.func @binary_logical(%a: tensor<4xi1>, %b: tensor<4xi1>) -> tensor<4xi1> {
  // CHECK: %[[AND:.+]] = kiln.binary and %[[A]], %[[B]] : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  // CHECK: %[[OR:.+]] = kiln.binary or %[[AND]], %[[B]] : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  // CHECK: %[[XOR:.+]] = kiln.binary xor %[[OR]], %[[A]] : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  // CHECK: return %[[XOR]]
  %0 = kiln.binary and %a, %b : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  %1 = kiln.binary or %0, %b : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  %2 = kiln.binary xor %1, %a : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  return %2 : tensor<4xi1>
}

//===----------------------------------------------------------------------===//
// kiln.select, kiln.cast
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @select_broadcast
// CHECK-SAME: (%[[C:.+]]: tensor<4xi1>, %[[A:.+]]: tensor<4xf32>, %[[B:.+]]: tensor<f32>)
func.func @select_broadcast(%c: tensor<4xi1>, %a: tensor<4xf32>, %b: tensor<f32>) -> tensor<4xf32> {
  // CHECK: %[[R:.+]] = kiln.select %[[C]], %[[A]], %[[B]] : (tensor<4xi1>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  // CHECK: return %[[R]]
  %0 = kiln.select %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// The condition may be the operand that is broadcast up.
// CHECK-LABEL: func.func @select_condition_broadcast
// CHECK-SAME: (%[[C:.+]]: tensor<2x1xi1>, %[[A:.+]]: tensor<3xi64>, %[[B:.+]]: tensor<2x3xi64>)
func.func @select_condition_broadcast(%c: tensor<2x1xi1>, %a: tensor<3xi64>, %b: tensor<2x3xi64>) -> tensor<2x3xi64> {
  // CHECK: %[[R:.+]] = kiln.select %[[C]], %[[A]], %[[B]] : (tensor<2x1xi1>, tensor<3xi64>, tensor<2x3xi64>) -> tensor<2x3xi64>
  // CHECK: return %[[R]]
  %0 = kiln.select %c, %a, %b : (tensor<2x1xi1>, tensor<3xi64>, tensor<2x3xi64>) -> tensor<2x3xi64>
  return %0 : tensor<2x3xi64>
}

// CHECK-LABEL: func.func @cast
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xi64>)
func.func @cast(%x: tensor<2x3xi64>) -> tensor<2x3xi1> {
  // CHECK: %[[F:.+]] = kiln.cast %[[X]] : tensor<2x3xi64> to tensor<2x3xf32>
  // CHECK: %[[H:.+]] = kiln.cast %[[F]] : tensor<2x3xf32> to tensor<2x3xf16>
  // CHECK: %[[B:.+]] = kiln.cast %[[H]] : tensor<2x3xf16> to tensor<2x3xi1>
  // CHECK: return %[[B]]
  %0 = kiln.cast %x : tensor<2x3xi64> to tensor<2x3xf32>
  %1 = kiln.cast %0 : tensor<2x3xf32> to tensor<2x3xf16>
  %2 = kiln.cast %1 : tensor<2x3xf16> to tensor<2x3xi1>
  return %2 : tensor<2x3xi1>
}

//===----------------------------------------------------------------------===//
// kiln.matmul
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @matmul_2d
// CHECK-SAME: (%[[A:.+]]: tensor<3x4xf32>, %[[B:.+]]: tensor<4x5xf32>)
func.func @matmul_2d(%a: tensor<3x4xf32>, %b: tensor<4x5xf32>) -> tensor<3x5xf32> {
  // CHECK: %[[R:.+]] = kiln.matmul %[[A]], %[[B]] : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  // CHECK: return %[[R]]
  %0 = kiln.matmul %a, %b : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// CHECK-LABEL: func.func @matmul_batched
// CHECK-SAME: (%[[A:.+]]: tensor<8x128x64xf32>, %[[B:.+]]: tensor<64x32xf32>, %[[C:.+]]: tensor<2x1x32x16xf32>)
func.func @matmul_batched(%a: tensor<8x128x64xf32>, %b: tensor<64x32xf32>, %c: tensor<2x1x32x16xf32>) -> tensor<2x8x128x16xf32> {
  // CHECK: %[[AB:.+]] = kiln.matmul %[[A]], %[[B]] : (tensor<8x128x64xf32>, tensor<64x32xf32>) -> tensor<8x128x32xf32>
  // CHECK: %[[R:.+]] = kiln.matmul %[[AB]], %[[C]] : (tensor<8x128x32xf32>, tensor<2x1x32x16xf32>) -> tensor<2x8x128x16xf32>
  // CHECK: return %[[R]]
  %0 = kiln.matmul %a, %b : (tensor<8x128x64xf32>, tensor<64x32xf32>) -> tensor<8x128x32xf32>
  %1 = kiln.matmul %0, %c : (tensor<8x128x32xf32>, tensor<2x1x32x16xf32>) -> tensor<2x8x128x16xf32>
  return %1 : tensor<2x8x128x16xf32>
}

// 1-D operands are promoted and the promoted dimension dropped.
// CHECK-LABEL: func.func @matmul_vectors
// CHECK-SAME: (%[[V:.+]]: tensor<4xf32>, %[[M:.+]]: tensor<4x5xf32>, %[[N:.+]]: tensor<3x4xf32>)
func.func @matmul_vectors(%v: tensor<4xf32>, %m: tensor<4x5xf32>, %n: tensor<3x4xf32>) -> (tensor<5xf32>, tensor<3xf32>, tensor<f32>) {
  // CHECK: %[[VM:.+]] = kiln.matmul %[[V]], %[[M]] : (tensor<4xf32>, tensor<4x5xf32>) -> tensor<5xf32>
  // CHECK: %[[NV:.+]] = kiln.matmul %[[N]], %[[V]] : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3xf32>
  // CHECK: %[[VV:.+]] = kiln.matmul %[[V]], %[[V]] : (tensor<4xf32>, tensor<4xf32>) -> tensor<f32>
  // CHECK: return %[[VM]], %[[NV]], %[[VV]]
  %0 = kiln.matmul %v, %m : (tensor<4xf32>, tensor<4x5xf32>) -> tensor<5xf32>
  %1 = kiln.matmul %n, %v : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3xf32>
  %2 = kiln.matmul %v, %v : (tensor<4xf32>, tensor<4xf32>) -> tensor<f32>
  return %0, %1, %2 : tensor<5xf32>, tensor<3xf32>, tensor<f32>
}

//===----------------------------------------------------------------------===//
// kiln.conv, kiln.conv_transpose
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @conv_no_bias
// CHECK-SAME: (%[[X:.+]]: tensor<1x3x32x32xf32>, %[[W:.+]]: tensor<16x3x3x3xf32>)
func.func @conv_no_bias(%x: tensor<1x3x32x32xf32>, %w: tensor<16x3x3x3xf32>) -> tensor<1x16x30x30xf32> {
  // CHECK: %[[R:.+]] = kiln.conv %[[X]], %[[W]] {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x30x30xf32>
  // CHECK: return %[[R]]
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x30x30xf32>
  return %0 : tensor<1x16x30x30xf32>
}

// (32 + 1 + 1 - 3) / 2 + 1 = 16.
// CHECK-LABEL: func.func @conv_bias
// CHECK-SAME: (%[[X:.+]]: tensor<1x3x32x32xf32>, %[[W:.+]]: tensor<16x3x3x3xf32>, %[[B:.+]]: tensor<16xf32>)
func.func @conv_bias(%x: tensor<1x3x32x32xf32>, %w: tensor<16x3x3x3xf32>, %b: tensor<16xf32>) -> tensor<1x16x16x16xf32> {
  // CHECK: %[[R:.+]] = kiln.conv %[[X]], %[[W]], %[[B]] {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x16x16xf32>
  // CHECK: return %[[R]]
  %0 = kiln.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x16x16xf32>
  return %0 : tensor<1x16x16x16xf32>
}

// Depthwise 1-D conv with dilation 2 and asymmetric padding:
// 10 + 2 + 0 - ((3 - 1) * 2 + 1) + 1 = 8.
// CHECK-LABEL: func.func @conv_grouped_1d
// CHECK-SAME: (%[[X:.+]]: tensor<2x4x10xf32>, %[[W:.+]]: tensor<4x1x3xf32>)
func.func @conv_grouped_1d(%x: tensor<2x4x10xf32>, %w: tensor<4x1x3xf32>) -> tensor<2x4x8xf32> {
  // CHECK: %[[R:.+]] = kiln.conv %[[X]], %[[W]] {dilations = array<i64: 2>, group = 4 : i64, pads = array<i64: 2, 0>, strides = array<i64: 1>} : (tensor<2x4x10xf32>, tensor<4x1x3xf32>) -> tensor<2x4x8xf32>
  // CHECK: return %[[R]]
  %0 = kiln.conv %x, %w {dilations = array<i64: 2>, group = 4 : i64, pads = array<i64: 2, 0>, strides = array<i64: 1>} : (tensor<2x4x10xf32>, tensor<4x1x3xf32>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// 2 * (4 - 1) + 0 + (2 - 1) * 1 + 1 - 0 - 0 = 8.
// CHECK-LABEL: func.func @conv_transpose_no_bias
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x4x4xf32>, %[[W:.+]]: tensor<8x4x2x2xf32>)
func.func @conv_transpose_no_bias(%x: tensor<1x8x4x4xf32>, %w: tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32> {
  // CHECK: %[[R:.+]] = kiln.conv_transpose %[[X]], %[[W]] {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: return %[[R]]
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// Two groups of 2 output channels: M = 2 * 2 = 4;
// 2 * (4 - 1) + 1 + (3 - 1) * 1 + 1 - 1 - 1 = 8.
// CHECK-LABEL: func.func @conv_transpose_bias
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x4x4xf32>, %[[W:.+]]: tensor<8x2x3x3xf32>, %[[B:.+]]: tensor<4xf32>)
func.func @conv_transpose_bias(%x: tensor<1x8x4x4xf32>, %w: tensor<8x2x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x8x8xf32> {
  // CHECK: %[[R:.+]] = kiln.conv_transpose %[[X]], %[[W]], %[[B]] {dilations = array<i64: 1, 1>, group = 2 : i64, output_padding = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: return %[[R]]
  %0 = kiln.conv_transpose %x, %w, %b {dilations = array<i64: 1, 1>, group = 2 : i64, output_padding = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x4x4xf32>, tensor<8x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

//===----------------------------------------------------------------------===//
// Normalizations and softmax
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @batch_norm
// CHECK-SAME: (%[[X:.+]]: tensor<1x16x8x8xf32>, %[[S:.+]]: tensor<16xf32>, %[[B:.+]]: tensor<16xf32>, %[[M:.+]]: tensor<16xf32>, %[[V:.+]]: tensor<16xf32>)
func.func @batch_norm(%x: tensor<1x16x8x8xf32>, %s: tensor<16xf32>, %b: tensor<16xf32>, %m: tensor<16xf32>, %v: tensor<16xf32>) -> tensor<1x16x8x8xf32> {
  // CHECK: %[[R:.+]] = kiln.batch_norm %[[X]], %[[S]], %[[B]], %[[M]], %[[V]] {epsilon = 9.99999974E-6 : f32} : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  // CHECK: return %[[R]]
  %0 = kiln.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-5 : f32} : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  return %0 : tensor<1x16x8x8xf32>
}

// CHECK-LABEL: func.func @layer_norm_bias
// CHECK-SAME: (%[[X:.+]]: tensor<1x128x768xf32>, %[[G:.+]]: tensor<768xf32>, %[[B:.+]]: tensor<768xf32>)
func.func @layer_norm_bias(%x: tensor<1x128x768xf32>, %g: tensor<768xf32>, %b: tensor<768xf32>) -> tensor<1x128x768xf32> {
  // CHECK: %[[R:.+]] = kiln.layer_norm %[[X]], %[[G]], %[[B]] {axis = 2 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<1x128x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<1x128x768xf32>
  // CHECK: return %[[R]]
  %0 = kiln.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<1x128x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<1x128x768xf32>
  return %0 : tensor<1x128x768xf32>
}

// Normalizing over dims 1 and 2; the scale broadcasts against 4x8.
// CHECK-LABEL: func.func @layer_norm_no_bias
// CHECK-SAME: (%[[X:.+]]: tensor<2x4x8xf16>, %[[G:.+]]: tensor<8xf16>)
func.func @layer_norm_no_bias(%x: tensor<2x4x8xf16>, %g: tensor<8xf16>) -> tensor<2x4x8xf16> {
  // CHECK: %[[R:.+]] = kiln.layer_norm %[[X]], %[[G]] {axis = 1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x4x8xf16>, tensor<8xf16>) -> tensor<2x4x8xf16>
  // CHECK: return %[[R]]
  %0 = kiln.layer_norm %x, %g {axis = 1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x4x8xf16>, tensor<8xf16>) -> tensor<2x4x8xf16>
  return %0 : tensor<2x4x8xf16>
}

// CHECK-LABEL: func.func @instance_norm
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x8x8xf32>, %[[S:.+]]: tensor<3xf32>, %[[B:.+]]: tensor<3xf32>)
func.func @instance_norm(%x: tensor<2x3x8x8xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<2x3x8x8xf32> {
  // CHECK: %[[R:.+]] = kiln.instance_norm %[[X]], %[[S]], %[[B]] {epsilon = 9.99999974E-6 : f32} : (tensor<2x3x8x8xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x8x8xf32>
  // CHECK: return %[[R]]
  %0 = kiln.instance_norm %x, %s, %b {epsilon = 9.99999974E-6 : f32} : (tensor<2x3x8x8xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x8x8xf32>
  return %0 : tensor<2x3x8x8xf32>
}

// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[X:.+]]: tensor<4x10xf32>)
func.func @softmax(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // CHECK: %[[R:.+]] = kiln.softmax %[[X]] {axis = 1 : i64} : tensor<4x10xf32>
  // CHECK: return %[[R]]
  %0 = kiln.softmax %x {axis = 1 : i64} : tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// CHECK-LABEL: func.func @log_softmax
// CHECK-SAME: (%[[X:.+]]: tensor<4x10xf32>)
func.func @log_softmax(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // CHECK: %[[R:.+]] = kiln.softmax %[[X]] {axis = 0 : i64, log} : tensor<4x10xf32>
  // CHECK: return %[[R]]
  %0 = kiln.softmax %x {axis = 0 : i64, log} : tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

//===----------------------------------------------------------------------===//
// Reductions, pooling, topk, cumsum
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @reduce_keep_dims
// CHECK-SAME: (%[[X:.+]]: tensor<1x64x7x7xf32>)
func.func @reduce_keep_dims(%x: tensor<1x64x7x7xf32>) -> tensor<1x64x1x1xf32> {
  // CHECK: %[[R:.+]] = kiln.reduce mean %[[X]] {axes = array<i64: 2, 3>, keep_dims} : tensor<1x64x7x7xf32> -> tensor<1x64x1x1xf32>
  // CHECK: return %[[R]]
  %0 = kiln.reduce mean %x {axes = array<i64: 2, 3>, keep_dims} : tensor<1x64x7x7xf32> -> tensor<1x64x1x1xf32>
  return %0 : tensor<1x64x1x1xf32>
}

// CHECK-LABEL: func.func @reduce_kinds
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
func.func @reduce_kinds(%x: tensor<2x3x4xf32>) -> (tensor<3xf32>, tensor<2x4xf32>, tensor<f32>) {
  // CHECK: %[[S:.+]] = kiln.reduce sum %[[X]] {axes = array<i64: 0, 2>} : tensor<2x3x4xf32> -> tensor<3xf32>
  // CHECK: %[[P:.+]] = kiln.reduce prod %[[X]] {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  // CHECK: %[[MAX:.+]] = kiln.reduce max %[[X]] {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  // CHECK: %[[MIN:.+]] = kiln.reduce min %[[MAX]] {axes = array<i64: 1>} : tensor<2x4xf32> -> tensor<2xf32>
  // CHECK: %[[L1:.+]] = kiln.reduce l1 %[[X]] {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  // CHECK: %[[L2:.+]] = kiln.reduce l2 %[[X]] {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  // CHECK: %[[SQ:.+]] = kiln.reduce sum_square %[[X]] {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  // CHECK: %[[LS:.+]] = kiln.reduce log_sum %[[X]] {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  // CHECK: %[[LSE:.+]] = kiln.reduce log_sum_exp %[[X]] {axes = array<i64: 0, 1, 2>} : tensor<2x3x4xf32> -> tensor<f32>
  // CHECK: return %[[S]], %[[P]], %[[LSE]]
  %0 = kiln.reduce sum %x {axes = array<i64: 0, 2>} : tensor<2x3x4xf32> -> tensor<3xf32>
  %1 = kiln.reduce prod %x {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  %2 = kiln.reduce max %x {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  %3 = kiln.reduce min %2 {axes = array<i64: 1>} : tensor<2x4xf32> -> tensor<2xf32>
  %4 = kiln.reduce l1 %x {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  %5 = kiln.reduce l2 %x {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  %6 = kiln.reduce sum_square %x {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  %7 = kiln.reduce log_sum %x {axes = array<i64: 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  %8 = kiln.reduce log_sum_exp %x {axes = array<i64: 0, 1, 2>} : tensor<2x3x4xf32> -> tensor<f32>
  return %0, %1, %8 : tensor<3xf32>, tensor<2x4xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @arg_reduce
// CHECK-SAME: (%[[X:.+]]: tensor<4x10xf32>)
func.func @arg_reduce(%x: tensor<4x10xf32>) -> (tensor<4xi64>, tensor<1x10xi64>) {
  // CHECK: %[[MAX:.+]] = kiln.arg_reduce max %[[X]] {axis = 1 : i64} : tensor<4x10xf32> -> tensor<4xi64>
  // CHECK: %[[MIN:.+]] = kiln.arg_reduce min %[[X]] {axis = 0 : i64, keep_dims, select_last_index} : tensor<4x10xf32> -> tensor<1x10xi64>
  // CHECK: return %[[MAX]], %[[MIN]]
  %0 = kiln.arg_reduce max %x {axis = 1 : i64} : tensor<4x10xf32> -> tensor<4xi64>
  %1 = kiln.arg_reduce min %x {axis = 0 : i64, keep_dims, select_last_index} : tensor<4x10xf32> -> tensor<1x10xi64>
  return %0, %1 : tensor<4xi64>, tensor<1x10xi64>
}

// (112 + 1 + 1 - 3) / 2 + 1 = 56.
// CHECK-LABEL: func.func @pool_max
// CHECK-SAME: (%[[X:.+]]: tensor<1x64x112x112xf32>)
func.func @pool_max(%x: tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32> {
  // CHECK: %[[R:.+]] = kiln.pool max %[[X]] {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
  // CHECK: return %[[R]]
  %0 = kiln.pool max %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
  return %0 : tensor<1x64x56x56xf32>
}

// ceil_mode rounds up: ceil((7 + 0 + 0 - 2) / 2) + 1 = 4 (floor would give 3).
// CHECK-LABEL: func.func @pool_avg
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x7x7xf32>)
func.func @pool_avg(%x: tensor<1x8x7x7xf32>) -> tensor<1x8x4x4xf32> {
  // CHECK: %[[R:.+]] = kiln.pool avg %[[X]] {ceil_mode, count_include_pad, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x8x7x7xf32> -> tensor<1x8x4x4xf32>
  // CHECK: return %[[R]]
  %0 = kiln.pool avg %x {ceil_mode, count_include_pad, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x8x7x7xf32> -> tensor<1x8x4x4xf32>
  return %0 : tensor<1x8x4x4xf32>
}

// CHECK-LABEL: func.func @topk
// CHECK-SAME: (%[[X:.+]]: tensor<3x4xf32>)
func.func @topk(%x: tensor<3x4xf32>) -> (tensor<3x3xf32>, tensor<3x3xi64>, tensor<1x4xi64>) {
  // CHECK: %[[V:.+]], %[[I:.+]] = kiln.topk %[[X]] {axis = 1 : i64, k = 3 : i64, largest = true} : tensor<3x4xf32> -> tensor<3x3xf32>, tensor<3x3xi64>
  // CHECK: %[[SV:.+]], %[[SI:.+]] = kiln.topk %[[X]] {axis = 0 : i64, k = 1 : i64, largest = false} : tensor<3x4xf32> -> tensor<1x4xf32>, tensor<1x4xi64>
  // CHECK: return %[[V]], %[[I]], %[[SI]]
  %v, %i = kiln.topk %x {axis = 1 : i64, k = 3 : i64, largest = true} : tensor<3x4xf32> -> tensor<3x3xf32>, tensor<3x3xi64>
  %sv, %si = kiln.topk %x {axis = 0 : i64, k = 1 : i64, largest = false} : tensor<3x4xf32> -> tensor<1x4xf32>, tensor<1x4xi64>
  return %v, %i, %si : tensor<3x3xf32>, tensor<3x3xi64>, tensor<1x4xi64>
}

// CHECK-LABEL: func.func @cumsum
// CHECK-SAME: (%[[X:.+]]: tensor<5x2xi32>)
func.func @cumsum(%x: tensor<5x2xi32>) -> tensor<5x2xi32> {
  // CHECK: %[[A:.+]] = kiln.cumsum %[[X]] {axis = 0 : i64} : tensor<5x2xi32>
  // CHECK: %[[B:.+]] = kiln.cumsum %[[A]] {axis = 1 : i64, exclusive, reverse} : tensor<5x2xi32>
  // CHECK: return %[[B]]
  %0 = kiln.cumsum %x {axis = 0 : i64} : tensor<5x2xi32>
  %1 = kiln.cumsum %0 {axis = 1 : i64, exclusive, reverse} : tensor<5x2xi32>
  return %1 : tensor<5x2xi32>
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @reshape
// CHECK-SAME: (%[[X:.+]]: tensor<1x512x1x1xf32>)
func.func @reshape(%x: tensor<1x512x1x1xf32>) -> tensor<512xf32> {
  // CHECK: %[[A:.+]] = kiln.reshape %[[X]] : tensor<1x512x1x1xf32> -> tensor<1x512xf32>
  // CHECK: %[[B:.+]] = kiln.reshape %[[A]] : tensor<1x512xf32> -> tensor<512xf32>
  // CHECK: return %[[B]]
  %0 = kiln.reshape %x : tensor<1x512x1x1xf32> -> tensor<1x512xf32>
  %1 = kiln.reshape %0 : tensor<1x512xf32> -> tensor<512xf32>
  return %1 : tensor<512xf32>
}

// CHECK-LABEL: func.func @reshape_scalar
// CHECK-SAME: (%[[X:.+]]: tensor<1x1xi64>)
func.func @reshape_scalar(%x: tensor<1x1xi64>) -> tensor<i64> {
  // CHECK: %[[R:.+]] = kiln.reshape %[[X]] : tensor<1x1xi64> -> tensor<i64>
  // CHECK: return %[[R]]
  %0 = kiln.reshape %x : tensor<1x1xi64> -> tensor<i64>
  return %0 : tensor<i64>
}

// CHECK-LABEL: func.func @transpose
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  // CHECK: %[[R:.+]] = kiln.transpose %[[X]] [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  // CHECK: return %[[R]]
  %0 = kiln.transpose %x [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// CHECK-LABEL: func.func @concat
// CHECK-SAME: (%[[A:.+]]: tensor<1x2xf32>, %[[B:.+]]: tensor<1x3xf32>, %[[C:.+]]: tensor<2x5xf32>)
func.func @concat(%a: tensor<1x2xf32>, %b: tensor<1x3xf32>, %c: tensor<2x5xf32>) -> tensor<4x5xf32> {
  // CHECK: %[[AB:.+]] = kiln.concat %[[A]], %[[B]] {axis = 1 : i64} : (tensor<1x2xf32>, tensor<1x3xf32>) -> tensor<1x5xf32>
  // CHECK: %[[R:.+]] = kiln.concat %[[AB]], %[[C]], %[[AB]] {axis = 0 : i64} : (tensor<1x5xf32>, tensor<2x5xf32>, tensor<1x5xf32>) -> tensor<4x5xf32>
  // CHECK: return %[[R]]
  %0 = kiln.concat %a, %b {axis = 1 : i64} : (tensor<1x2xf32>, tensor<1x3xf32>) -> tensor<1x5xf32>
  %1 = kiln.concat %0, %c, %0 {axis = 0 : i64} : (tensor<1x5xf32>, tensor<2x5xf32>, tensor<1x5xf32>) -> tensor<4x5xf32>
  return %1 : tensor<4x5xf32>
}

// CHECK-LABEL: func.func @slice
// CHECK-SAME: (%[[X:.+]]: tensor<4x10xf32>)
func.func @slice(%x: tensor<4x10xf32>) -> tensor<4x4xf32> {
  // CHECK: %[[R:.+]] = kiln.slice %[[X]] {starts = array<i64: 0, 2>, steps = array<i64: 1, 2>} : tensor<4x10xf32> -> tensor<4x4xf32>
  // CHECK: return %[[R]]
  %0 = kiln.slice %x {starts = array<i64: 0, 2>, steps = array<i64: 1, 2>} : tensor<4x10xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// Reversal: dim 0 visits 3, 2, 1, 0 and dim 1 visits 9, 7, 5, 3, 1.
// CHECK-LABEL: func.func @slice_negative_step
// CHECK-SAME: (%[[X:.+]]: tensor<4x10xf32>)
func.func @slice_negative_step(%x: tensor<4x10xf32>) -> tensor<4x5xf32> {
  // CHECK: %[[R:.+]] = kiln.slice %[[X]] {starts = array<i64: 3, 9>, steps = array<i64: -1, -2>} : tensor<4x10xf32> -> tensor<4x5xf32>
  // CHECK: return %[[R]]
  %0 = kiln.slice %x {starts = array<i64: 3, 9>, steps = array<i64: -1, -2>} : tensor<4x10xf32> -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// CHECK-LABEL: func.func @broadcast
// CHECK-SAME: (%[[X:.+]]: tensor<3x1xf32>)
func.func @broadcast(%x: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  // CHECK: %[[R:.+]] = kiln.broadcast %[[X]] : tensor<3x1xf32> -> tensor<2x3x4xf32>
  // CHECK: return %[[R]]
  %0 = kiln.broadcast %x : tensor<3x1xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @gather
// CHECK-SAME: (%[[E:.+]]: tensor<1000x64xf32>, %[[I:.+]]: tensor<1x8xi64>)
func.func @gather(%emb: tensor<1000x64xf32>, %ids: tensor<1x8xi64>) -> tensor<1x8x64xf32> {
  // CHECK: %[[R:.+]] = kiln.gather %[[E]], %[[I]] {axis = 0 : i64} : (tensor<1000x64xf32>, tensor<1x8xi64>) -> tensor<1x8x64xf32>
  // CHECK: return %[[R]]
  %0 = kiln.gather %emb, %ids {axis = 0 : i64} : (tensor<1000x64xf32>, tensor<1x8xi64>) -> tensor<1x8x64xf32>
  return %0 : tensor<1x8x64xf32>
}

// Gathering along a middle axis with i32 indices; a scalar index drops the axis.
// CHECK-LABEL: func.func @gather_middle_axis
// CHECK-SAME: (%[[D:.+]]: tensor<2x5x3xf32>, %[[I:.+]]: tensor<4xi32>, %[[S:.+]]: tensor<i64>)
func.func @gather_middle_axis(%d: tensor<2x5x3xf32>, %i: tensor<4xi32>, %s: tensor<i64>) -> (tensor<2x4x3xf32>, tensor<2x3xf32>) {
  // CHECK: %[[A:.+]] = kiln.gather %[[D]], %[[I]] {axis = 1 : i64} : (tensor<2x5x3xf32>, tensor<4xi32>) -> tensor<2x4x3xf32>
  // CHECK: %[[B:.+]] = kiln.gather %[[D]], %[[S]] {axis = 1 : i64} : (tensor<2x5x3xf32>, tensor<i64>) -> tensor<2x3xf32>
  // CHECK: return %[[A]], %[[B]]
  %0 = kiln.gather %d, %i {axis = 1 : i64} : (tensor<2x5x3xf32>, tensor<4xi32>) -> tensor<2x4x3xf32>
  %1 = kiln.gather %d, %s {axis = 1 : i64} : (tensor<2x5x3xf32>, tensor<i64>) -> tensor<2x3xf32>
  return %0, %1 : tensor<2x4x3xf32>, tensor<2x3xf32>
}

// CHECK-LABEL: func.func @gather_elements
// CHECK-SAME: (%[[D:.+]]: tensor<2x3xf32>, %[[I:.+]]: tensor<2x2xi64>)
func.func @gather_elements(%d: tensor<2x3xf32>, %i: tensor<2x2xi64>) -> tensor<2x2xf32> {
  // CHECK: %[[R:.+]] = kiln.gather_elements %[[D]], %[[I]] {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  // CHECK: return %[[R]]
  %0 = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// CHECK-LABEL: func.func @pad_constant
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
func.func @pad_constant(%x: tensor<2x3xf32>) -> tensor<2x5xf32> {
  // CHECK: %[[R:.+]] = kiln.pad constant %[[X]] {pads = array<i64: 0, 1, 0, 1>, value = 0.000000e+00 : f64} : tensor<2x3xf32> -> tensor<2x5xf32>
  // CHECK: return %[[R]]
  %0 = kiln.pad constant %x {pads = array<i64: 0, 1, 0, 1>, value = 0.0 : f64} : tensor<2x3xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// Negative pads crop: 4 - 1 - 1 = 2 along dim 1.
// CHECK-LABEL: func.func @pad_modes
// CHECK-SAME: (%[[X:.+]]: tensor<3x4xf32>)
func.func @pad_modes(%x: tensor<3x4xf32>) -> (tensor<5x7xf32>, tensor<4x2xf32>) {
  // CHECK: %[[R:.+]] = kiln.pad reflect %[[X]] {pads = array<i64: 2, 3, 0, 0>, value = 0.000000e+00 : f64} : tensor<3x4xf32> -> tensor<5x7xf32>
  // CHECK: %[[E:.+]] = kiln.pad edge %[[X]] {pads = array<i64: 1, -1, 0, -1>, value = -1.500000e+00 : f64} : tensor<3x4xf32> -> tensor<4x2xf32>
  // CHECK: return %[[R]], %[[E]]
  %0 = kiln.pad reflect %x {pads = array<i64: 2, 3, 0, 0>, value = 0.0 : f64} : tensor<3x4xf32> -> tensor<5x7xf32>
  %1 = kiln.pad edge %x {pads = array<i64: 1, -1, 0, -1>, value = -1.5 : f64} : tensor<3x4xf32> -> tensor<4x2xf32>
  return %0, %1 : tensor<5x7xf32>, tensor<4x2xf32>
}

// CHECK-LABEL: func.func @resize_nearest
// CHECK-SAME: (%[[X:.+]]: tensor<1x3x4x4xf32>)
func.func @resize_nearest(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x8x8xf32> {
  // CHECK: %[[R:.+]] = kiln.resize nearest %[[X]] {coord_mode = #kiln<coord_mode asymmetric>, nearest_mode = #kiln<nearest_mode floor>, scales = array<f64: 1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00>} : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
  // CHECK: return %[[R]]
  %0 = kiln.resize nearest %x {coord_mode = #kiln<coord_mode asymmetric>, nearest_mode = #kiln<nearest_mode floor>, scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
  return %0 : tensor<1x3x8x8xf32>
}

// CHECK-LABEL: func.func @resize_linear
// CHECK-SAME: (%[[X:.+]]: tensor<1x3x8x8xf16>)
func.func @resize_linear(%x: tensor<1x3x8x8xf16>) -> tensor<1x3x4x4xf16> {
  // CHECK: %[[R:.+]] = kiln.resize linear %[[X]] {coord_mode = #kiln<coord_mode half_pixel>, nearest_mode = #kiln<nearest_mode round_prefer_floor>, scales = array<f64: 1.000000e+00, 1.000000e+00, 5.000000e-01, 5.000000e-01>} : tensor<1x3x8x8xf16> -> tensor<1x3x4x4xf16>
  // CHECK: return %[[R]]
  %0 = kiln.resize linear %x {coord_mode = #kiln<coord_mode half_pixel>, nearest_mode = #kiln<nearest_mode round_prefer_floor>, scales = array<f64: 1.0, 1.0, 0.5, 0.5>} : tensor<1x3x8x8xf16> -> tensor<1x3x4x4xf16>
  return %0 : tensor<1x3x4x4xf16>
}

// kiln.kernel / kiln.yield
// CHECK-LABEL: func.func @kernel
// CHECK: %[[K:.+]]:2 = kiln.kernel "k0" contraction(%arg0, %arg1) : (tensor<2x8xf32>, tensor<8x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
// CHECK-NEXT: ^bb0(%[[A:.+]]: tensor<2x8xf32>, %[[B:.+]]: tensor<8x4xf32>):
// CHECK-NEXT: %[[M:.+]] = kiln.matmul %[[A]], %[[B]]
// CHECK-NEXT: %[[R:.+]] = kiln.unary relu %[[M]]
// CHECK-NEXT: kiln.yield %[[R]], %[[M]] : tensor<2x4xf32>, tensor<2x4xf32>
// CHECK: kiln.kernel "k1" elementwise() : () -> ()
// CHECK-NEXT: }
func.func @kernel(%x: tensor<2x8xf32>, %w: tensor<8x4xf32>) -> tensor<2x4xf32> {
  %k:2 = kiln.kernel "k0" contraction(%x, %w) : (tensor<2x8xf32>, tensor<8x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  ^bb0(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>):
    %m = kiln.matmul %a, %b : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
    %r = kiln.unary relu %m : tensor<2x4xf32>
    kiln.yield %r, %m : tensor<2x4xf32>, tensor<2x4xf32>
  }
  kiln.kernel "k1" elementwise() : () -> () {
  }
  return %k#0 : tensor<2x4xf32>
}

// The resource blob survives both round trips.
// CHECK: {-#
// CHECK-NEXT: dialect_resources: {
// CHECK-NEXT: builtin: {
// CHECK-NEXT: conv1_weight: "0x040000000000803F00000040"
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: #-}

{-#
  dialect_resources: {
    builtin: {
      conv1_weight: "0x040000000000803F00000040"
    }
  }
#-}

