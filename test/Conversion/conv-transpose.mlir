// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// kiln.conv_transpose as a stride-1 convolution: the input is scattered
// into zeros with a strided tensor.insert_slice (leading/trailing padding
// (k-1)*dilation - pad, plus output_padding at the end), cropped where that
// padding is negative, and the kernel is flipped spatially with its two
// channel dimensions swapped per group.

// CHECK-DAG: #[[FLIP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, -d3 + 2, -d4 + 1)>
// CHECK-DAG: #[[ID5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[GX:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7 * 2)>
// CHECK-DAG: #[[GW:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
// CHECK-DAG: #[[GY:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[FLIP23:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, -d3 + 1, -d4 + 2)>

// Grouped, strided, dilated, output padding, bias. Spread sizes:
// H: (5-1)*3+1 + (2-1) + (2-0+2) = 18, inserted at 1;
// W: (4-1)*2+1 + (2-2) + (2-1+1) = 9, inserted at 0.
// CHECK-LABEL: func.func @convt_grouped
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x4x5x4xf32>, %[[W:[^:]+]]: tensor<4x3x3x2xf32>, %[[B:[^:]+]]: tensor<6xf32>)
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[Z:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<1x4x18x9xf32>)
// CHECK: %[[S:.+]] = tensor.insert_slice %[[X]] into %[[Z]][0, 0, 1, 0] [1, 4, 5, 4] [1, 1, 3, 2] : tensor<1x4x5x4xf32> into tensor<1x4x18x9xf32>
// CHECK: %[[WG:.+]] = tensor.expand_shape %[[W]] {{\[}}[0, 1], [2], [3], [4]] output_shape [2, 2, 3, 3, 2]
// CHECK: %[[F:.+]] = linalg.generic {indexing_maps = [#[[FLIP]], #[[ID5]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[WG]] : tensor<2x2x3x3x2xf32>) outs(%{{.+}} : tensor<2x3x2x3x2xf32>)
// CHECK: %[[FW:.+]] = tensor.collapse_shape %[[F]] {{\[}}[0, 1], [2], [3], [4]] : tensor<2x3x2x3x2xf32> into tensor<6x2x3x2xf32>
// CHECK: %[[INIT:.+]] = linalg.broadcast ins(%[[B]] : tensor<6xf32>)
// CHECK: %[[XG:.+]] = tensor.expand_shape %[[S]] {{\[}}[0], [1, 2], [3], [4]] output_shape [1, 2, 2, 18, 9]
// CHECK: %[[WG2:.+]] = tensor.expand_shape %[[FW]] {{\[}}[0, 1], [2], [3], [4]] output_shape [2, 3, 2, 3, 2]
// CHECK: %[[AG:.+]] = tensor.expand_shape %[[INIT]] {{\[}}[0], [1, 2], [3], [4]] output_shape [1, 2, 3, 16, 7]
// CHECK: %[[G:.+]] = linalg.generic {indexing_maps = [#[[GX]], #[[GW]], #[[GY]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[XG]], %[[WG2]] : tensor<1x2x2x18x9xf32>, tensor<2x3x2x3x2xf32>) outs(%[[AG]] : tensor<1x2x3x16x7xf32>)
// CHECK: tensor.collapse_shape %[[G]] {{\[}}[0], [1, 2], [3], [4]] : tensor<1x2x3x16x7xf32> into tensor<1x6x16x7xf32>
func.func @convt_grouped(%x: tensor<1x4x5x4xf32>, %w: tensor<4x3x3x2xf32>, %b: tensor<6xf32>) -> tensor<1x6x16x7xf32> {
  %0 = kiln.conv_transpose %x, %w, %b {dilations = array<i64: 1, 2>, group = 2 : i64, output_padding = array<i64: 2, 1>, pads = array<i64: 1, 2, 0, 1>, strides = array<i64: 3, 2>} : (tensor<1x4x5x4xf32>, tensor<4x3x3x2xf32>, tensor<6xf32>) -> tensor<1x6x16x7xf32>
  return %0 : tensor<1x6x16x7xf32>
}

// Pads beyond the kernel extent: one row/column cropped at each end.
// CHECK-LABEL: func.func @convt_crop
// CHECK: %[[S:.+]] = tensor.insert_slice %{{.+}} into %{{.+}}[0, 0, 0, 0] [2, 3, 4, 5] [1, 1, 2, 2] : tensor<2x3x4x5xf32> into tensor<2x3x7x9xf32>
// CHECK: %[[C:.+]] = tensor.extract_slice %[[S]][0, 0, 1, 1] [2, 3, 5, 7] [1, 1, 1, 1] : tensor<2x3x7x9xf32> to tensor<2x3x5x7xf32>
// CHECK: %[[F:.+]] = linalg.generic {indexing_maps = [#[[FLIP23]], #[[ID5]]]
// CHECK: %[[FW:.+]] = tensor.collapse_shape %[[F]] {{.+}} into tensor<2x3x2x3xf32>
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%[[C]], %[[FW]] : tensor<2x3x5x7xf32>, tensor<2x3x2x3xf32>) outs(%{{.+}} : tensor<2x2x4x5xf32>)
func.func @convt_crop(%x: tensor<2x3x4x5xf32>, %w: tensor<3x2x2x3xf32>) -> tensor<2x2x4x5xf32> {
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 1, 0>, pads = array<i64: 2, 3, 3, 3>, strides = array<i64: 2, 2>} : (tensor<2x3x4x5xf32>, tensor<3x2x2x3xf32>) -> tensor<2x2x4x5xf32>
  return %0 : tensor<2x2x4x5xf32>
}

// Unit stride with pads equal to the kernel extent: no scatter, no crop.
// CHECK-LABEL: func.func @convt_no_spread
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x1x3x3xf32>
// CHECK-NOT: tensor.insert_slice
// CHECK-NOT: tensor.extract_slice
// CHECK: linalg.conv_2d_nchw_fchw {{.+}} ins(%[[X]], %{{.+}} : tensor<1x1x3x3xf32>, tensor<2x1x3x3xf32>)
func.func @convt_no_spread(%x: tensor<1x1x3x3xf32>, %w: tensor<1x2x3x3xf32>) -> tensor<1x2x1x1xf32> {
  %0 = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 2, 2, 2, 2>, strides = array<i64: 1, 1>} : (tensor<1x1x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x1x1xf32>
  return %0 : tensor<1x2x1x1xf32>
}
