// RUN: kiln-opt %s -split-input-file -kiln-fold-weights | FileCheck %s

// Batch normalization folds into the convolution's weights and bias:
// s = gamma / sqrt(var + eps) = [1/sqrt(4), 2/sqrt(1)] = [0.5, 2]
// W' = W * s = [2 * 0.5, 3 * 2] = [1, 6]
// b' = (b - mean) * s + beta = [(1 - 1) * 0.5 + 0, (1 - 0) * 2 + 1] = [0, 3]
// CHECK-LABEL: func.func @conv_bn
// CHECK-DAG: %[[W:.+]] = kiln.constant dense<[{{\[\[\[}}1.000000e+00]]], {{\[\[\[}}6.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-DAG: %[[B:.+]] = kiln.constant dense<[0.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK: %[[C:.+]] = kiln.conv %arg0, %[[W]], %[[B]]
// CHECK-NOT: kiln.batch_norm
// CHECK: return %[[C]]
func.func @conv_bn(%x: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = kiln.constant dense<[[[[2.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %b = kiln.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %gamma = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %beta = kiln.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %mean = kiln.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %var = kiln.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %0 = kiln.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %1 = kiln.batch_norm %0, %gamma, %beta, %mean, %var {epsilon = 1.0 : f32} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  return %1 : tensor<1x2x2x2xf32>
}

// -----

// Without a conv bias, b' = -mean * s + beta.
// CHECK-LABEL: func.func @conv_bn_no_bias
// CHECK-DAG: kiln.constant dense<[-5.000000e-01, 1.000000e+00]> : tensor<2xf32>
// CHECK-NOT: kiln.batch_norm
func.func @conv_bn_no_bias(%x: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = kiln.constant dense<[[[[2.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %gamma = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %beta = kiln.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %mean = kiln.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %var = kiln.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x2x2xf32>
  %1 = kiln.batch_norm %0, %gamma, %beta, %mean, %var {epsilon = 1.0 : f32} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  return %1 : tensor<1x2x2x2xf32>
}

// -----

// Not folded: the conv result has another use, or the statistics are not
// constants.
// CHECK-LABEL: func.func @not_folded
// CHECK-COUNT-2: kiln.batch_norm
func.func @not_folded(%x: tensor<1x1x2x2xf32>, %var: tensor<2xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  %w = kiln.constant dense<[[[[2.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %c = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x2x2xf32>
  %1 = kiln.batch_norm %0, %c, %c, %c, %c {epsilon = 1.0 : f32} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %2 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x2x2xf32>
  %3 = kiln.batch_norm %2, %c, %c, %c, %var {epsilon = 1.0 : f32} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  return %0, %1, %3 : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}

// -----

// A transposed constant weight is stored transposed.
// CHECK-LABEL: func.func @transpose_constant
// CHECK: %[[T:.+]] = kiln.constant dense<{{\[\[}}1, 4], [2, 5], [3, 6]]> : tensor<3x2xi32>
// CHECK-NOT: kiln.transpose
// CHECK: return %[[T]]
func.func @transpose_constant() -> tensor<3x2xi32> {
  %c = kiln.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi32>
  %0 = kiln.transpose %c [1, 0] : tensor<2x3xi32> -> tensor<3x2xi32>
  return %0 : tensor<3x2xi32>
}

// -----

// Large constants (resource blobs, beyond what op folders handle) are
// transposed at compile time too: out[i][j] = in[j][i] with in = 0..19 as
// 2x10.
// CHECK-LABEL: func.func @transpose_resource
// CHECK: %[[T:.+]] = kiln.constant dense_resource<w_t> : tensor<10x2xi32>
// CHECK-NOT: kiln.transpose
// CHECK: return %[[T]]
// CHECK: w_t: "0x{{........}}000000000A000000010000000B000000020000000C000000030000000D000000040000000E000000050000000F0000000600000010000000070000001100000008000000120000000900000013000000"
func.func @transpose_resource() -> tensor<10x2xi32> {
  %c = kiln.constant dense_resource<w> : tensor<2x10xi32>
  %0 = kiln.transpose %c [1, 0] : tensor<2x10xi32> -> tensor<10x2xi32>
  return %0 : tensor<10x2xi32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x04000000000000000100000002000000030000000400000005000000060000000700000008000000090000000a0000000b0000000c0000000d0000000e0000000f00000010000000110000001200000013000000"
    }
  }
#-}

// -----

// A slice of a resource constant (a recurrent layer's weights of one
// direction) becomes a constant; so does a reshape of the slice, its last
// use. rows[1] of [[1, 2, 3], [4, 5, 6]] = [4, 5, 6].
// CHECK-LABEL: func.func @slice_reshape
// CHECK-DAG: %[[S:.+]] = kiln.constant dense<[4.000000e+00, 5.000000e+00, 6.000000e+00]> : tensor<3xf32>
// CHECK-NOT: kiln.slice
// CHECK-NOT: kiln.reshape
// CHECK: kiln.binary add %arg0, %[[S]]
func.func @slice_reshape(%x: tensor<3xf32>) -> tensor<3xf32> {
  %c = kiln.constant dense_resource<m> : tensor<2x3xf32>
  %s = kiln.slice %c {starts = array<i64: 1, 0>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<1x3xf32>
  %r = kiln.reshape %s : tensor<1x3xf32> -> tensor<3xf32>
  %y = kiln.binary add %x, %r : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %y : tensor<3xf32>
}

{-#
  dialect_resources: {
    builtin: {
      m: "0x040000000000803f0000004000004040000080400000a0400000c040"
    }
  }
#-}

// -----

// A reshape of a constant that has another use stays a view: folding it
// would store the weight twice.
// CHECK-LABEL: func.func @reshape_shared
// CHECK: kiln.reshape
func.func @reshape_shared(%x: tensor<6xf32>, %z: tensor<2x3xf32>) -> (tensor<6xf32>, tensor<2x3xf32>) {
  %c = kiln.constant dense_resource<m> : tensor<2x3xf32>
  %r = kiln.reshape %c : tensor<2x3xf32> -> tensor<6xf32>
  %y = kiln.binary add %x, %r : tensor<6xf32>, tensor<6xf32> -> tensor<6xf32>
  %w = kiln.binary mul %z, %c : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %y, %w : tensor<6xf32>, tensor<2x3xf32>
}

{-#
  dialect_resources: {
    builtin: {
      m: "0x040000000000803f0000004000004040000080400000a0400000c040"
    }
  }
#-}
