// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// kiln.pad: negative pads crop first (extract_slice). Constant mode fills
// the result and inserts what is left; edge and reflect modes are one
// generic over the result reading the input at a mapped index (clamped for
// edge, numpy's periodic mirror for reflect).

// CHECK-LABEL: func.func @pad_constant_crop
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x3xi8>)
// CHECK: %[[S:.+]] = tensor.extract_slice %[[X]][0, 1] [2, 2] [1, 1] : tensor<2x3xi8> to tensor<2x2xi8>
// CHECK: %[[V:.+]] = arith.constant -56 : i8
// CHECK: %[[F:.+]] = linalg.fill ins(%[[V]] : i8) outs(%{{.+}} : tensor<3x4xi8>)
// CHECK: %[[R:.+]] = tensor.insert_slice %[[S]] into %[[F]][1, 0] [2, 2] [1, 1] : tensor<2x2xi8> into tensor<3x4xi8>
// CHECK: return %[[R]]
func.func @pad_constant_crop(%x: tensor<2x3xui8>) -> tensor<3x4xui8> {
  %y = kiln.pad constant %x {pads = array<i64: 1, -1, 0, 2>, value = 200.0 : f64} : tensor<2x3xui8> -> tensor<3x4xui8>
  return %y : tensor<3x4xui8>
}

// Dim 0 is not padded and is read at the loop index; dim 1 mirrors about
// 0 and 4 with period 8.
// CHECK-LABEL: func.func @pad_reflect
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x5xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]} outs(%{{.+}} : tensor<2x8xf32>)
// CHECK: %[[R:.+]] = linalg.index 0 : index
// CHECK: %[[C:.+]] = linalg.index 1 : index
// CHECK: %[[I:.+]] = arith.subi %[[C]], %{{.+}} : index
// CHECK: arith.maxsi
// CHECK: %[[P:.+]] = arith.constant 8 : index
// CHECK: arith.remsi %{{.+}}, %[[P]] : index
// CHECK: arith.maxsi
// CHECK-NEXT: %[[M:.+]] = arith.subi %{{.+}}, %{{.+}} : index
// CHECK-NEXT: tensor.extract %[[X]][%[[R]], %[[M]]] : tensor<2x5xf32>
func.func @pad_reflect(%x: tensor<2x5xf32>) -> tensor<2x8xf32> {
  %y = kiln.pad reflect %x {pads = array<i64: 0, 2, 0, 1>, value = 0.0 : f64} : tensor<2x5xf32> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// Edges are taken from the cropped input.
// CHECK-LABEL: func.func @pad_edge_crop
// CHECK-SAME: (%[[X:[^:]+]]: tensor<4xf32>)
// CHECK: %[[S:.+]] = tensor.extract_slice %[[X]][1] [3] [1] : tensor<4xf32> to tensor<3xf32>
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.+}} : tensor<5xf32>)
// CHECK: arith.maxsi
// CHECK: %[[HI:.+]] = arith.minsi %{{.+}}, %{{.+}} : index
// CHECK: tensor.extract %[[S]][%[[HI]]] : tensor<3xf32>
func.func @pad_edge_crop(%x: tensor<4xf32>) -> tensor<5xf32> {
  %y = kiln.pad edge %x {pads = array<i64: -1, 2>, value = 0.0 : f64} : tensor<4xf32> -> tensor<5xf32>
  return %y : tensor<5xf32>
}
