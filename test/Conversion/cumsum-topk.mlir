// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// kiln.cumsum: a scalar scf.for nest over the input in row-major order,
// carrying one running sum per row (O(n) per row). kiln.topk: k selection
// passes in an scf.for; pass j is a linalg reduction over the axis that
// picks the best element after pick j-1 (read back from the results), and a
// masked write stores column j. Both move data with tensor.extract/insert
// only, updating the carried tensors in place.

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>

// Reverse exclusive along axis 0: rows are walked from the end and the sum
// before the element is stored.
// CHECK-LABEL: func.func @cumsum_rev_excl
// CHECK-SAME: (%[[X:[^:]+]]: tensor<3x4xi32>)
// CHECK: %[[ACC0:.+]] = linalg.fill ins(%{{.+}} : i32) outs(%{{.+}} : tensor<4xi32>)
// CHECK: %[[LAST:.+]] = arith.constant 2 : index
// CHECK: %[[OUT:.+]]:2 = scf.for %[[I:.+]] = %{{.+}} iter_args(%[[A:.+]] = %[[ACC0]], %[[R:.+]] = %{{.+}}) -> (tensor<4xi32>, tensor<3x4xi32>)
// CHECK: scf.for %[[J:.+]] = %{{.+}} iter_args(%[[A2:.+]] = %[[A]], %[[R2:.+]] = %[[R]])
// CHECK: %[[K:.+]] = arith.subi %[[LAST]], %[[I]] : index
// CHECK: %[[BEFORE:.+]] = tensor.extract %[[A2]][%[[J]]] : tensor<4xi32>
// CHECK: %[[V:.+]] = tensor.extract %[[X]][%[[K]], %[[J]]] : tensor<3x4xi32>
// CHECK: %[[AFTER:.+]] = arith.addi %[[BEFORE]], %[[V]] : i32
// CHECK: %[[NA:.+]] = tensor.insert %[[AFTER]] into %[[A2]][%[[J]]] : tensor<4xi32>
// CHECK: %[[NR:.+]] = tensor.insert %[[BEFORE]] into %[[R2]][%[[K]], %[[J]]] : tensor<3x4xi32>
// CHECK: scf.yield %[[NA]], %[[NR]]
// CHECK: return %[[OUT]]#1
func.func @cumsum_rev_excl(%x: tensor<3x4xi32>) -> tensor<3x4xi32> {
  %y = kiln.cumsum %x {axis = 0 : i64, exclusive, reverse} : tensor<3x4xi32>
  return %y : tensor<3x4xi32>
}

// CHECK-LABEL: func.func @cumsum_inclusive
// CHECK: %[[AFTER:.+]] = arith.addf
// CHECK: tensor.insert %[[AFTER]] into %{{.+}} : tensor<5xf32>
func.func @cumsum_inclusive(%x: tensor<5xf32>) -> tensor<5xf32> {
  %y = kiln.cumsum %x {axis = 0 : i64} : tensor<5xf32>
  return %y : tensor<5xf32>
}

// CHECK-LABEL: func.func @topk_middle_axis
// CHECK-SAME: (%[[X:[^:]+]]: tensor<3x4x5xf32>)
// CHECK: %[[K:.+]] = arith.constant 2 : index
// CHECK: %[[L:.+]]:4 = scf.for %[[J:.+]] = %{{.+}} to %[[K]] step %{{.+}} iter_args(%[[V:.+]] = %{{.+}}, %[[I:.+]] = %{{.+}}, %[[AV:.+]] = %{{.+}}, %[[AI:.+]] = %{{.+}}) -> (tensor<3x2x5xf32>, tensor<3x2x5xi64>, tensor<3x5xf32>, tensor<3x5xi64>)
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[J]], %{{.+}} : index
// CHECK: %[[PREV:.+]] = arith.maxsi
// CHECK: %[[FV:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[AV]] : tensor<3x5xf32>)
// CHECK: %[[FI:.+]] = linalg.fill ins(%{{.+}} : i64) outs(%[[AI]] : tensor<3x5xi64>)
// CHECK: %[[P:.+]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X]] : tensor<3x4x5xf32>) outs(%[[FV]], %[[FI]] : tensor<3x5xf32>, tensor<3x5xi64>)
// CHECK: tensor.extract %[[V]][%{{.+}}, %[[PREV]], %{{.+}}] : tensor<3x2x5xf32>
// CHECK: tensor.extract %[[I]][%{{.+}}, %[[PREV]], %{{.+}}] : tensor<3x2x5xi64>
// CHECK: arith.ori %[[FIRST]]
// CHECK: linalg.yield
// CHECK: %[[S:.+]]:2 = linalg.generic {indexing_maps = [#[[ROW]], #[[ROW]], #[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[P]]#0, %[[P]]#1 : tensor<3x5xf32>, tensor<3x5xi64>) outs(%[[V]], %[[I]] : tensor<3x2x5xf32>, tensor<3x2x5xi64>)
// CHECK: %[[POS:.+]] = linalg.index 1 : index
// CHECK: arith.cmpi eq, %[[POS]], %[[J]] : index
// CHECK: scf.yield %[[S]]#0, %[[S]]#1, %[[P]]#0, %[[P]]#1
// CHECK: return %[[L]]#0, %[[L]]#1
func.func @topk_middle_axis(%x: tensor<3x4x5xf32>) -> (tensor<3x2x5xf32>, tensor<3x2x5xi64>) {
  %v, %i = kiln.topk %x {axis = 1 : i64, k = 2 : i64, largest = true} : tensor<3x4x5xf32> -> tensor<3x2x5xf32>, tensor<3x2x5xi64>
  return %v, %i : tensor<3x2x5xf32>, tensor<3x2x5xi64>
}

// Smallest on unsigned integers compares unsigned.
// CHECK-LABEL: func.func @topk_smallest_u8
// CHECK: scf.for
// CHECK: linalg.generic
// CHECK: arith.cmpi ugt
// CHECK-NOT: arith.cmpi sgt
// CHECK: linalg.yield
func.func @topk_smallest_u8(%x: tensor<6xui8>) -> (tensor<3xui8>, tensor<3xi64>) {
  %v, %i = kiln.topk %x {axis = 0 : i64, k = 3 : i64, largest = false} : tensor<6xui8> -> tensor<3xui8>, tensor<3xi64>
  return %v, %i : tensor<3xui8>, tensor<3xi64>
}
