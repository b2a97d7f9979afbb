// RUN: kiln-opt %s -kiln-inline-kernels | FileCheck %s

// A kernel whose group folded down to nothing yields its own argument: its
// result is then the kernel's input.
// CHECK-LABEL: func.func @yields_argument
// CHECK-SAME: (%[[X:.+]]: tensor<4x3xf32>)
// CHECK-NOT: kiln.kernel "
// CHECK: %[[S:.+]] = kiln.slice %[[X]]
// CHECK: return %[[S]]
func.func @yields_argument(%x: tensor<4x3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.kernel "k0" data_movement(%x) : (tensor<4x3xf32>) -> tensor<4x3xf32> {
  ^bb0(%a: tensor<4x3xf32>):
    kiln.yield %a : tensor<4x3xf32>
  }
  %1 = kiln.slice %0 {starts = array<i64: 1, 0>, steps = array<i64: 1, 1>} : tensor<4x3xf32> -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
