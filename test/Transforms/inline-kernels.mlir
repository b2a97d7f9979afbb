// RUN: kiln-opt %s -kiln-inline-kernels | FileCheck %s

// Kernel bodies move in front of their kernel op; their ops carry the
// kernel's position and kind, constants do not. The function records
// each kernel's name and kind (and kiln-kernel-costs' costs when present).
// CHECK-LABEL: func.func @two_kernels
// CHECK-SAME: attributes {kiln.kernels = [{kind = "contraction", name = "k0"}, {kind = "reduction", name = "k1"}]}
// CHECK-NOT: kiln.kernel "
// CHECK: %[[M:.+]] = kiln.matmul %arg0, %arg1 {kiln.kernel = 0 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>}
// CHECK: %[[C:.+]] = kiln.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NOT: kiln.kernel =
// CHECK: %[[A:.+]] = kiln.binary add %[[M]], %[[C]] {kiln.kernel = 0 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>}
// CHECK: %[[S:.+]] = kiln.softmax %[[A]] {axis = 1 : i64, kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind reduction>}
// CHECK: return %[[S]], %[[M]]
func.func @two_kernels(%x: tensor<2x8xf32>, %w: tensor<8x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %k:2 = kiln.kernel "k0" contraction(%x, %w) : (tensor<2x8xf32>, tensor<8x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  ^bb0(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>):
    %m = kiln.matmul %a, %b : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
    %one = kiln.constant dense<1.0> : tensor<f32>
    %s = kiln.binary add %m, %one : tensor<2x4xf32>, tensor<f32> -> tensor<2x4xf32>
    kiln.yield %s, %m : tensor<2x4xf32>, tensor<2x4xf32>
  }
  %r = kiln.kernel "k1" reduction(%k#0) : (tensor<2x4xf32>) -> tensor<2x4xf32> {
  ^bb0(%a: tensor<2x4xf32>):
    %s = kiln.softmax %a {axis = 1 : i64} : tensor<2x4xf32>
    kiln.yield %s : tensor<2x4xf32>
  }
  return %r, %k#1 : tensor<2x4xf32>, tensor<2x4xf32>
}
