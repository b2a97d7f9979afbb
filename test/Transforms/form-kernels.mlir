// RUN: kiln-opt %s -split-input-file -kiln-form-kernels | FileCheck %s

// The fusion partition, one function per rule.

// A matmul's elementwise consumers (bias, activation) are its epilogue.
// Splat constants are copied into the kernel.
// CHECK-LABEL: func.func @matmul_epilogue
// CHECK: %[[K:.+]] = kiln.kernel "k0" contraction(%arg0, %arg1)
// CHECK-NEXT: ^bb0(%[[A:.+]]: tensor<2x8xf32>, %[[BIAS:.+]]: tensor<4xf32>):
// CHECK-NEXT: %[[B:.+]] = kiln.constant dense<1.000000e+00> : tensor<8x4xf32>
// CHECK-NEXT: %[[M:.+]] = kiln.matmul %[[A]], %[[B]]
// CHECK-NEXT: %[[S:.+]] = kiln.binary add %[[M]], %[[BIAS]]
// CHECK-NEXT: %[[R:.+]] = kiln.unary relu %[[S]]
// CHECK-NEXT: kiln.yield %[[R]] : tensor<2x4xf32>
// CHECK: return %[[K]]
func.func @matmul_epilogue(%x: tensor<2x8xf32>, %bias: tensor<4xf32>) -> tensor<2x4xf32> {
  %w = kiln.constant dense<1.0> : tensor<8x4xf32>
  %0 = kiln.matmul %x, %w : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %1 = kiln.binary add %0, %bias : tensor<2x4xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %2 = kiln.unary relu %1 : tensor<2x4xf32>
  return %2 : tensor<2x4xf32>
}

// -----

// A residual add joins the convolution that computes one of its operands,
// the most recent anchored kernel; the skip value is a kernel input.
// CHECK-LABEL: func.func @conv_residual
// CHECK: %[[K0:.+]] = kiln.kernel "k0" contraction
// CHECK: kiln.conv
// CHECK-NEXT: kiln.unary relu
// CHECK-NEXT: kiln.yield
// CHECK: %[[K1:.+]] = kiln.kernel "k1" contraction(%[[K0]], %{{.+}}, %arg0)
// CHECK: kiln.conv
// CHECK-NEXT: kiln.binary add
// CHECK-NEXT: kiln.unary relu
// CHECK-NEXT: kiln.yield
// CHECK-NOT: kiln.kernel
// CHECK: return %[[K1]]
func.func @conv_residual(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %1 = kiln.unary relu %0 : tensor<1x4x8x8xf32>
  %2 = kiln.conv %1, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %3 = kiln.binary add %2, %x : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
  %4 = kiln.unary relu %3 : tensor<1x4x8x8xf32>
  return %4 : tensor<1x4x8x8xf32>
}

// -----

// A chain (here a DAG: x is used twice, as in GELU) of elementwise ops is
// one kernel; small constants are copied in rather than passed.
// CHECK-LABEL: func.func @elementwise_chain
// CHECK: %[[K:.+]] = kiln.kernel "k0" elementwise(%arg0) : (tensor<16xf32>) -> tensor<16xf32>
// CHECK-NEXT: ^bb0(%[[X:.+]]: tensor<16xf32>):
// CHECK-DAG: kiln.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: kiln.constant dense<1.000000e+00> : tensor<f32>
// CHECK: kiln.binary mul %[[X]]
// CHECK: kiln.unary erf
// CHECK: kiln.binary add
// CHECK: kiln.binary mul %[[X]]
// CHECK-NEXT: kiln.yield
// CHECK-NOT: kiln.kernel
func.func @elementwise_chain(%x: tensor<16xf32>) -> tensor<16xf32> {
  %half = kiln.constant dense<0.5> : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %0 = kiln.binary mul %x, %half : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %1 = kiln.unary erf %0 : tensor<16xf32>
  %2 = kiln.binary add %1, %one : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %3 = kiln.binary mul %x, %2 : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  return %3 : tensor<16xf32>
}

// -----

// Softmax takes in its elementwise producers (scale, mask) and consumers.
// CHECK-LABEL: func.func @softmax_producers_consumers
// CHECK: %[[K:.+]] = kiln.kernel "k0" reduction(%arg0, %arg1)
// CHECK: kiln.binary mul
// CHECK-NEXT: kiln.binary add
// CHECK-NEXT: kiln.softmax
// CHECK-NEXT: kiln.cast
// CHECK-NEXT: kiln.yield
// CHECK-NOT: kiln.kernel
func.func @softmax_producers_consumers(%x: tensor<4x16xf32>, %mask: tensor<4x16xf32>) -> tensor<4x16xf16> {
  %scale = kiln.constant dense<0.125> : tensor<f32>
  %0 = kiln.binary mul %x, %scale : tensor<4x16xf32>, tensor<f32> -> tensor<4x16xf32>
  %1 = kiln.binary add %0, %mask : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %2 = kiln.softmax %1 {axis = 1 : i64} : tensor<4x16xf32>
  %3 = kiln.cast %2 : tensor<4x16xf32> to tensor<4x16xf16>
  return %3 : tensor<4x16xf16>
}

// -----

// Contractions take no producers: the elementwise op before a matmul is its
// own kernel.
// CHECK-LABEL: func.func @no_prologue
// CHECK: %[[E:.+]] = kiln.kernel "k0" elementwise(%arg0)
// CHECK: kiln.unary exp
// CHECK: kiln.kernel "k1" contraction(%[[E]], %arg1)
// CHECK: kiln.matmul
func.func @no_prologue(%x: tensor<2x8xf32>, %w: tensor<8x4xf32>) -> tensor<2x4xf32> {
  %0 = kiln.unary exp %x : tensor<2x8xf32>
  %1 = kiln.matmul %0, %w : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// Reshapes are views and stay outside kernels; one between two ops of a
// kernel goes in with them.
// CHECK-LABEL: func.func @views
// CHECK: %[[R:.+]] = kiln.reshape %arg0
// CHECK: %[[K:.+]] = kiln.kernel "k0" contraction(%[[R]], %arg1, %arg2)
// CHECK: kiln.matmul
// CHECK-NEXT: kiln.reshape
// CHECK-NEXT: kiln.binary add
// CHECK-NEXT: kiln.yield
// CHECK: %[[OUT:.+]] = kiln.reshape %[[K]]
// CHECK: return %[[OUT]]
func.func @views(%x: tensor<2x3x8xf32>, %w: tensor<8x4xf32>, %r: tensor<2x3x4xf32>) -> tensor<24xf32> {
  %0 = kiln.reshape %x : tensor<2x3x8xf32> -> tensor<6x8xf32>
  %1 = kiln.matmul %0, %w : (tensor<6x8xf32>, tensor<8x4xf32>) -> tensor<6x4xf32>
  %2 = kiln.reshape %1 : tensor<6x4xf32> -> tensor<2x3x4xf32>
  %3 = kiln.binary add %2, %r : tensor<2x3x4xf32>, tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %4 = kiln.reshape %3 : tensor<2x3x4xf32> -> tensor<24xf32>
  return %4 : tensor<24xf32>
}

// -----

// A matmul result that a softmax reads before the relu comes: the relu
// cannot join the matmul (the softmax kernel, placed before it, would need
// the matmul kernel to come after). It starts its own kernel, which the add
// then takes in together with the softmax kernel.
// CHECK-LABEL: func.func @legality
// CHECK: %[[M:.+]] = kiln.kernel "k0" contraction
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.matmul
// CHECK-NEXT: kiln.yield
// CHECK: %[[S:.+]] = kiln.kernel "k1" reduction(%[[M]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.softmax
// CHECK-NEXT: kiln.unary relu
// CHECK-NEXT: kiln.binary add
// CHECK-NEXT: kiln.yield
// CHECK-NOT: kiln.kernel
func.func @legality(%x: tensor<2x8xf32>, %w: tensor<8x4xf32>) -> tensor<2x4xf32> {
  %0 = kiln.matmul %x, %w : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %1 = kiln.softmax %0 {axis = 1 : i64} : tensor<2x4xf32>
  %2 = kiln.unary relu %0 : tensor<2x4xf32>
  %3 = kiln.binary add %2, %1 : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  return %3 : tensor<2x4xf32>
}

// -----

// A kernel whose intermediate is also used later has several results.
// CHECK-LABEL: func.func @multi_output
// CHECK: %[[K:.+]]:2 = kiln.kernel "k0" contraction(%arg0, %arg1) : (tensor<2x8xf32>, tensor<8x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>)
// CHECK: kiln.matmul
// CHECK-NEXT: %[[R:.+]] = kiln.unary relu
// CHECK-NEXT: %[[T:.+]] = kiln.unary tanh
// CHECK-NEXT: kiln.yield %[[R]], %[[T]]
// CHECK: kiln.kernel "k1" reduction(%[[K]]#1, %[[K]]#0)
func.func @multi_output(%x: tensor<2x8xf32>, %w: tensor<8x4xf32>) -> tensor<2x4xf32> {
  %0 = kiln.matmul %x, %w : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %1 = kiln.unary relu %0 : tensor<2x4xf32>
  %2 = kiln.unary tanh %1 : tensor<2x4xf32>
  %3 = kiln.softmax %2 {axis = 1 : i64} : tensor<2x4xf32>
  %4 = kiln.binary add %3, %1 : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  return %4 : tensor<2x4xf32>
}

// -----

// Data movement ops are kernels of their own, with elementwise consumers.
// CHECK-LABEL: func.func @data_movement
// CHECK: kiln.kernel "k0" data_movement(%arg0, %arg1)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.concat
// CHECK-NEXT: kiln.unary neg
// CHECK-NEXT: kiln.yield
func.func @data_movement(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) -> tensor<5x4xf32> {
  %0 = kiln.concat %a, %b {axis = 0 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  %1 = kiln.unary neg %0 : tensor<5x4xf32>
  return %1 : tensor<5x4xf32>
}
