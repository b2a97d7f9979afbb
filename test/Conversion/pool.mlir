// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// kiln.pool: pad with the combiner's neutral value (plus the ceil_mode
// extension at the end), one generic over (n, c, o..., k...) with a
// kernel-shaped tensor.empty giving the reduction loops their sizes; average
// pooling divides by per-dimension window counts known at compile time.

// CHECK-DAG: #[[MX:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2 * 2 + d5 * 2, d3 * 2 + d6, d4 * 3 + d7)>
// CHECK-DAG: #[[MK:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d5, d6, d7)>
// CHECK-DAG: #[[MY:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[AX:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
// CHECK-DAG: #[[AK:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
// CHECK-DAG: #[[AY:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[ID4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[ROWS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
// CHECK-DAG: #[[COLS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d3)>

// 3-D max with dilation and ceil_mode: the last window along W starts at 6
// of the padded 7 and runs to 7, so the end padding grows by one.
// CHECK-LABEL: func.func @max_3d_ceil
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x2x7x6x6xf32>)
// CHECK: %[[NEG:.+]] = arith.constant 0xFF800000 : f32
// CHECK: %[[P:.+]] = tensor.pad %[[X]] low[0, 0, 1, 0, 1] high[0, 0, 1, 1, 1]
// CHECK: tensor.yield %[[NEG]] : f32
// CHECK: } : tensor<1x2x7x6x6xf32> to tensor<1x2x9x7x8xf32>
// CHECK: %[[K:.+]] = tensor.empty() : tensor<2x3x2xf32>
// CHECK: %[[INIT:.+]] = linalg.fill ins(%[[NEG]] : f32) outs(%{{.+}} : tensor<1x2x4x3x3xf32>)
// CHECK: %[[Y:.+]] = linalg.generic {indexing_maps = [#[[MX]], #[[MK]], #[[MY]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[P]], %[[K]] : tensor<1x2x9x7x8xf32>, tensor<2x3x2xf32>) outs(%[[INIT]] : tensor<1x2x4x3x3xf32>)
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32, %[[ACC:.+]]: f32):
// CHECK: %[[M:.+]] = arith.maximumf %[[ACC]], %[[IN]] : f32
// CHECK: linalg.yield %[[M]]
// CHECK: return %[[Y]]
func.func @max_3d_ceil(%x: tensor<1x2x7x6x6xf32>) -> tensor<1x2x4x3x3xf32> {
  %0 = kiln.pool max %x {kernel_shape = array<i64: 2, 3, 2>, strides = array<i64: 2, 2, 3>, pads = array<i64: 1, 0, 1, 1, 1, 0>, dilations = array<i64: 2, 1, 1>, ceil_mode} : tensor<1x2x7x6x6xf32> -> tensor<1x2x4x3x3xf32>
  return %0 : tensor<1x2x4x3x3xf32>
}

// Unsigned max: the neutral value is 0 and the comparison unsigned.
// CHECK-LABEL: func.func @max_ui8
// CHECK: %[[Z:.+]] = arith.constant 0 : i8
// CHECK: tensor.pad
// CHECK: tensor.yield %[[Z]] : i8
// CHECK: linalg.fill ins(%[[Z]] : i8)
// CHECK: linalg.generic {indexing_maps = [#[[AX]], #[[AK]], #[[AY]]]
// CHECK: arith.maxui
func.func @max_ui8(%x: tensor<1x1x4x4xui8>) -> tensor<1x1x3x3xui8> {
  %0 = kiln.pool max %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : tensor<1x1x4x4xui8> -> tensor<1x1x3x3xui8>
  return %0 : tensor<1x1x3x3xui8>
}

// Every window full: one scalar divisor, no padding.
// CHECK-LABEL: func.func @avg_uniform
// CHECK-NOT: tensor.pad
// CHECK: %[[S:.+]] = linalg.generic {indexing_maps = [#[[AX]], #[[AK]], #[[AY]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[ID4]], #[[ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[S]] : tensor<1x3x4x4xf32>)
// CHECK: %[[FOUR:.+]] = arith.constant 4.000000e+00 : f32
// CHECK: arith.divf %{{.+}}, %[[FOUR]] : f32
func.func @avg_uniform(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  %0 = kiln.pool avg %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// Padding excluded from the count. Rows: padded 10, ceil_mode extends it
// to 11; the first window sees 2 input rows, the last only 1 (the rest is
// end pad and extension). Columns: the first and last windows see 2.
// CHECK-LABEL: func.func @avg_exclude_pad
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: tensor.pad %{{.+}} low[0, 0, 1, 1] high[0, 0, 2, 1]
// CHECK: tensor.yield %[[ZERO]] : f32
// CHECK: } : tensor<1x1x8x7xf32> to tensor<1x1x11x9xf32>
// CHECK: %[[S:.+]] = linalg.generic {indexing_maps = [#[[AX]], #[[AK]], #[[AY]]]
// CHECK-DAG: %[[R:.+]] = arith.constant dense<{{\[\[\[}}[2.000000e+00], [3.000000e+00], [3.000000e+00], [3.000000e+00], [1.000000e+00]]]]> : tensor<1x1x5x1xf32>
// CHECK-DAG: %[[C:.+]] = arith.constant dense<{{\[\[\[}}[2.000000e+00, 3.000000e+00, 3.000000e+00, 2.000000e+00]]]]> : tensor<1x1x1x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID4]], #[[ROWS]], #[[COLS]], #[[ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[S]], %[[R]], %[[C]] : tensor<1x1x5x4xf32>, tensor<1x1x5x1xf32>, tensor<1x1x1x4xf32>)
// CHECK: ^bb0(%[[SUM:.+]]: f32, %[[NR:.+]]: f32, %[[NC:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[N:.+]] = arith.mulf %[[NR]], %[[NC]] : f32
// CHECK: arith.divf %[[SUM]], %[[N]] : f32
func.func @avg_exclude_pad(%x: tensor<1x1x8x7xf32>) -> tensor<1x1x5x4xf32> {
  %0 = kiln.pool avg %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 0>, dilations = array<i64: 1, 1>, ceil_mode} : tensor<1x1x8x7xf32> -> tensor<1x1x5x4xf32>
  return %0 : tensor<1x1x5x4xf32>
}

// count_include_pad counts the pads but still not the ceil_mode extension.
// CHECK-LABEL: func.func @avg_include_pad
// CHECK: tensor.pad %{{.+}} low[0, 0, 1] high[0, 0, 1]
// CHECK: arith.constant dense<{{\[\[}}[3.000000e+00, 3.000000e+00, 2.000000e+00]]]> : tensor<1x1x3xf32>
func.func @avg_include_pad(%x: tensor<1x1x5xf32>) -> tensor<1x1x3xf32> {
  %0 = kiln.pool avg %x {kernel_shape = array<i64: 3>, strides = array<i64: 2>, pads = array<i64: 1, 0>, dilations = array<i64: 1>, ceil_mode, count_include_pad} : tensor<1x1x5xf32> -> tensor<1x1x3xf32>
  return %0 : tensor<1x1x3xf32>
}
