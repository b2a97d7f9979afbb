// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// kiln.arg_reduce: one generic reducing the axis into a (value, index)
// pair. Ties break by index (first, or last with select_last_index), which
// makes the result independent of the iteration order; NaN wins either
// way, as in numpy. Signedness comes from the kiln type.

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1) -> (d1)>

// CHECK-LABEL: func.func @argmax_u8_last
// CHECK-SAME: (%[[X:[^:]+]]: tensor<3x4xi8>)
// CHECK: %[[LOW:.+]] = arith.constant 0 : i8
// CHECK: %[[V0:.+]] = linalg.fill ins(%[[LOW]] : i8) outs(%{{.+}} : tensor<3xi8>)
// CHECK: %[[I0:.+]] = linalg.fill ins(%{{.+}} : i64) outs(%{{.+}} : tensor<3xi64>)
// CHECK: %[[R:.+]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]] : tensor<3x4xi8>) outs(%[[V0]], %[[I0]] : tensor<3xi8>, tensor<3xi64>)
// CHECK: ^bb0(%[[IN:.+]]: i8, %[[ACC:.+]]: i8, %[[ACCI:.+]]: i64):
// CHECK: %[[K:.+]] = linalg.index 1 : index
// CHECK: %[[KI:.+]] = arith.index_cast %[[K]] : index to i64
// CHECK: %[[GT:.+]] = arith.cmpi ugt, %[[IN]], %[[ACC]] : i8
// CHECK: %[[LATER:.+]] = arith.cmpi sgt, %[[KI]], %[[ACCI]] : i64
// CHECK: %[[EQ:.+]] = arith.cmpi eq, %[[IN]], %[[ACC]] : i8
// CHECK: %[[TIE:.+]] = arith.andi %[[EQ]], %[[LATER]] : i1
// CHECK: %[[TAKE:.+]] = arith.ori %[[GT]], %[[TIE]] : i1
// CHECK: %[[NV:.+]] = arith.select %[[TAKE]], %[[IN]], %[[ACC]] : i8
// CHECK: %[[NI:.+]] = arith.select %[[TAKE]], %[[KI]], %[[ACCI]] : i64
// CHECK: linalg.yield %[[NV]], %[[NI]] : i8, i64
// CHECK: %[[E:.+]] = tensor.expand_shape %[[R]]#1 {{\[}}[0, 1]] output_shape [3, 1] : tensor<3xi64> into tensor<3x1xi64>
// CHECK: return %[[E]]
func.func @argmax_u8_last(%x: tensor<3x4xui8>) -> tensor<3x1xi64> {
  %i = kiln.arg_reduce max %x {axis = 1 : i64, keep_dims, select_last_index} : tensor<3x4xui8> -> tensor<3x1xi64>
  return %i : tensor<3x1xi64>
}

// CHECK-LABEL: func.func @argmin_f32
// CHECK: %[[INF:.+]] = arith.constant 0x7F800000 : f32
// CHECK: linalg.fill ins(%[[INF]] : f32)
// CHECK: %[[R:.+]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[COL]], #[[COL]]], iterator_types = ["reduction", "parallel"]}
// CHECK: arith.cmpf olt
// CHECK: arith.cmpf uno
// CHECK: arith.cmpi slt
// CHECK: arith.cmpf oeq
// CHECK: return %[[R]]#1 : tensor<4xi64>
func.func @argmin_f32(%x: tensor<3x4xf32>) -> tensor<4xi64> {
  %i = kiln.arg_reduce min %x {axis = 0 : i64} : tensor<3x4xf32> -> tensor<4xi64>
  return %i : tensor<4xi64>
}
