// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// kiln.gather / kiln.gather_elements: one parallel generic over the result
// that reads the indices through its indexing map and the data with
// tensor.extract. Negative indices wrap, and every index is clamped into
// [0, size) so that a bad one never reads outside the buffer.

// CHECK-DAG: #[[IDX:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[SCALAR:.+]] = affine_map<(d0, d1) -> ()>

// CHECK-LABEL: func.func @gather_axis0
// CHECK-SAME: (%[[D:[^:]+]]: tensor<5x4xf32>, %[[I:[^:]+]]: tensor<2x3xi32>)
// CHECK: linalg.generic {indexing_maps = [#[[IDX]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[I]] : tensor<2x3xi32>) outs(%{{.+}} : tensor<2x3x4xf32>)
// CHECK: ^bb0(%[[RAW:.+]]: i32, %{{.+}}: f32):
// CHECK: %[[COL:.+]] = linalg.index 2 : index
// CHECK: %[[C:.+]] = arith.index_cast %[[RAW]] : i32 to index
// CHECK: %[[NEG:.+]] = arith.cmpi slt, %[[C]], %{{.+}} : index
// CHECK: %[[WRAP:.+]] = arith.addi %[[C]], %{{.+}} : index
// CHECK: %[[SEL:.+]] = arith.select %[[NEG]], %[[WRAP]], %[[C]] : index
// CHECK: %[[LO:.+]] = arith.maxsi %[[SEL]], %{{.+}} : index
// CHECK: %[[HI:.+]] = arith.minsi %[[LO]], %[[C4:.+]] : index
// CHECK: %[[V:.+]] = tensor.extract %[[D]][%[[HI]], %[[COL]]] : tensor<5x4xf32>
// CHECK: linalg.yield %[[V]] : f32
func.func @gather_axis0(%d: tensor<5x4xf32>, %i: tensor<2x3xi32>) -> tensor<2x3x4xf32> {
  %y = kiln.gather %d, %i {axis = 0 : i64} : (tensor<5x4xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// A scalar index along a middle axis: the indices map has no results.
// CHECK-LABEL: func.func @gather_scalar_index
// CHECK: linalg.generic {indexing_maps = [#[[SCALAR]], #[[ID2]]]
// CHECK-SAME: ins(%{{.+}} : tensor<i64>) outs(%{{.+}} : tensor<2x4xi8>)
// CHECK: %[[A:.+]] = linalg.index 0 : index
// CHECK: %[[B:.+]] = linalg.index 1 : index
// CHECK: tensor.extract %{{.+}}[%[[A]], %{{.+}}, %[[B]]] : tensor<2x3x4xi8>
func.func @gather_scalar_index(%d: tensor<2x3x4xui8>, %i: tensor<i64>) -> tensor<2x4xui8> {
  %y = kiln.gather %d, %i {axis = 1 : i64} : (tensor<2x3x4xui8>, tensor<i64>) -> tensor<2x4xui8>
  return %y : tensor<2x4xui8>
}

// CHECK-LABEL: func.func @gather_elements_axis1
// CHECK-SAME: (%[[D:[^:]+]]: tensor<3x4xf32>, %[[I:[^:]+]]: tensor<3x2xi64>)
// CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[I]] : tensor<3x2xi64>)
// CHECK: ^bb0(%[[RAW:.+]]: i64, %{{.+}}: f32):
// CHECK: %[[ROW:.+]] = linalg.index 0 : index
// CHECK: arith.index_cast %[[RAW]] : i64 to index
// CHECK: %[[HI:.+]] = arith.minsi
// CHECK: tensor.extract %[[D]][%[[ROW]], %[[HI]]] : tensor<3x4xf32>
func.func @gather_elements_axis1(%d: tensor<3x4xf32>, %i: tensor<3x2xi64>) -> tensor<3x2xf32> {
  %y = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
