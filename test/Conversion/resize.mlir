// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// kiln.resize: source positions are static, so every resized dim gets
// constant tables worked out at compile time the way the ONNX reference
// does (in double). Nearest reads one element; linear lerps between two
// neighbours per resized dim, with narrow floats computed in f32. Dims
// that keep their size and scale 1 read at the loop index.

// CHECK-DAG: #[[D2:.+]] = affine_map<(d0, d1, d2, d3) -> (d2)>
// CHECK-DAG: #[[D3:.+]] = affine_map<(d0, d1, d2, d3) -> (d3)>
// CHECK-DAG: #[[ID4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[L2:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// asymmetric + floor: x / scale rounded down.
// CHECK-LABEL: func.func @resize_nearest
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x1x2x2xf32>)
// CHECK-DAG: %[[H:.+]] = arith.constant dense<[0, 0, 1, 1]> : tensor<4xi64>
// CHECK-DAG: %[[W:.+]] = arith.constant dense<[0, 0, 0, 1, 1, 1]> : tensor<6xi64>
// CHECK: linalg.generic {indexing_maps = [#[[D2]], #[[D3]], #[[ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[H]], %[[W]] : tensor<4xi64>, tensor<6xi64>)
// CHECK: ^bb0(%[[IH:.+]]: i64, %[[IW:.+]]: i64, %{{.+}}: f32):
// CHECK: %[[N:.+]] = linalg.index 0 : index
// CHECK: %[[C:.+]] = linalg.index 1 : index
// CHECK: %[[HH:.+]] = arith.index_cast %[[IH]] : i64 to index
// CHECK: %[[WW:.+]] = arith.index_cast %[[IW]] : i64 to index
// CHECK: tensor.extract %[[X]][%[[N]], %[[C]], %[[HH]], %[[WW]]] : tensor<1x1x2x2xf32>
func.func @resize_nearest(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x4x6xf32> {
  %y = kiln.resize nearest %x {coord_mode = #kiln<coord_mode asymmetric>, nearest_mode = #kiln<nearest_mode floor>, scales = array<f64: 1.0, 1.0, 2.0, 3.0>} : tensor<1x1x2x2xf32> -> tensor<1x1x4x6xf32>
  return %y : tensor<1x1x4x6xf32>
}

// half_pixel + round_prefer_ceil, downsampling 5 -> 2: (o + 0.5) * 2.5 - 0.5
// is 0.75 and 3.25, rounded to 1 and 3.
// CHECK-LABEL: func.func @resize_nearest_down
// CHECK: arith.constant dense<[1, 3]> : tensor<2xi64>
func.func @resize_nearest_down(%x: tensor<5xf32>) -> tensor<2xf32> {
  %y = kiln.resize nearest %x {coord_mode = #kiln<coord_mode half_pixel>, nearest_mode = #kiln<nearest_mode round_prefer_ceil>, scales = array<f64: 0.4>} : tensor<5xf32> -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// align_corners 2 -> 4: coordinates 0, 1/3, 2/3, 1; the last one sits on
// the edge (both neighbours 1, weight 0).
// CHECK-LABEL: func.func @resize_linear_f16
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x2x2xf16>)
// CHECK-DAG: %[[LO:.+]] = arith.constant dense<[0, 0, 0, 1]> : tensor<4xi64>
// CHECK-DAG: %[[HI:.+]] = arith.constant dense<1> : tensor<4xi64>
// CHECK-DAG: %[[WT:.+]] = arith.constant dense<[0.000000e+00, 0.333333343, 0.666666686, 0.000000e+00]> : tensor<4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[L2]], #[[L2]], #[[L2]], #[[ID3]]]
// CHECK-SAME: ins(%[[LO]], %[[HI]], %[[WT]] : tensor<4xi64>, tensor<4xi64>, tensor<4xf32>)
// CHECK: ^bb0(%[[I0:.+]]: i64, %[[I1:.+]]: i64, %[[W:.+]]: f32, %{{.+}}: f16):
// CHECK: %[[A:.+]] = tensor.extract %[[X]]
// CHECK: %[[AF:.+]] = arith.extf %[[A]] : f16 to f32
// CHECK: %[[B:.+]] = tensor.extract %[[X]]
// CHECK: %[[BF:.+]] = arith.extf %[[B]] : f16 to f32
// CHECK: %[[DIFF:.+]] = arith.subf %[[BF]], %[[AF]] : f32
// CHECK: %[[MUL:.+]] = arith.mulf %[[W]], %[[DIFF]] : f32
// CHECK: %[[SUM:.+]] = arith.addf %[[AF]], %[[MUL]] : f32
// CHECK: %[[R:.+]] = arith.truncf %[[SUM]] : f32 to f16
// CHECK: linalg.yield %[[R]] : f16
func.func @resize_linear_f16(%x: tensor<1x2x2xf16>) -> tensor<1x2x4xf16> {
  %y = kiln.resize linear %x {coord_mode = #kiln<coord_mode align_corners>, nearest_mode = #kiln<nearest_mode round_prefer_floor>, scales = array<f64: 1.0, 1.0, 2.0>} : tensor<1x2x2xf16> -> tensor<1x2x4xf16>
  return %y : tensor<1x2x4xf16>
}

// Bilinear: 2 resized dims, 4 corners.
// CHECK-LABEL: func.func @resize_bilinear
// CHECK: linalg.generic
// CHECK-COUNT-4: tensor.extract
// CHECK-NOT: tensor.extract
// CHECK: linalg.yield
func.func @resize_bilinear(%x: tensor<1x1x3x3xf32>) -> tensor<1x1x6x5xf32> {
  %y = kiln.resize linear %x {coord_mode = #kiln<coord_mode half_pixel>, nearest_mode = #kiln<nearest_mode round_prefer_floor>, scales = array<f64: 1.0, 1.0, 2.0, 1.6666666666666667>} : tensor<1x1x3x3xf32> -> tensor<1x1x6x5xf32>
  return %y : tensor<1x1x6x5xf32>
}
