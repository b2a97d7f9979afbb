// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// Kernel groups survive the lowering with signless signatures; the ops in
// them still read signedness from their kiln types (unsigned division).
// CHECK-LABEL: func.func @unsigned_kernel
// CHECK-SAME: (%[[X:.+]]: tensor<4xi8>, %[[Y:.+]]: tensor<4xi8>) -> tensor<4xi8>
// CHECK: %[[K:.+]] = kiln.kernel "k0" elementwise(%[[X]], %[[Y]]) : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
// CHECK-NEXT: ^bb0(%{{.+}}: tensor<4xi8>, %{{.+}}: tensor<4xi8>):
// CHECK: linalg.generic
// CHECK: arith.divui
// CHECK: kiln.yield %{{.+}} : tensor<4xi8>
// CHECK: return %[[K]]
func.func @unsigned_kernel(%x: tensor<4xui8>, %y: tensor<4xui8>) -> tensor<4xui8> {
  %0 = kiln.kernel "k0" elementwise(%x, %y) : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8> {
  ^bb0(%a: tensor<4xui8>, %b: tensor<4xui8>):
    %r = kiln.binary div %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
    kiln.yield %r : tensor<4xui8>
  }
  return %0 : tensor<4xui8>
}
