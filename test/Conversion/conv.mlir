// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// kiln.conv: zero padding through tensor.pad, the bias as the accumulator's
// initial value, linalg's named ops for ungrouped 1-D/2-D/3-D convolutions
// and one generic over split channel views for grouped ones.

// CHECK-DAG: #[[GX:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 * 2 + d6 * 2, d4 + d7 * 3)>
// CHECK-DAG: #[[GW:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
// CHECK-DAG: #[[GY:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[G1X:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d3 + d5)>
// CHECK-DAG: #[[G1W:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d2, d4, d5)>
// CHECK-DAG: #[[G1Y:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>

// CHECK-LABEL: func.func @conv2d_bias_pads
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x3x8x8xf32>, %[[W:[^:]+]]: tensor<4x3x3x3xf32>, %[[B:[^:]+]]: tensor<4xf32>)
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[P:.+]] = tensor.pad %[[X]] low[0, 0, 1, 2] high[0, 0, 3, 0]
// CHECK: tensor.yield %[[ZERO]] : f32
// CHECK: } : tensor<1x3x8x8xf32> to tensor<1x3x12x10xf32>
// CHECK: %[[E:.+]] = tensor.empty() : tensor<1x4x5x4xf32>
// CHECK: %[[INIT:.+]] = linalg.broadcast ins(%[[B]] : tensor<4xf32>) outs(%[[E]] : tensor<1x4x5x4xf32>) dimensions = [0, 2, 3]
// CHECK: %[[Y:.+]] = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[P]], %[[W]] : tensor<1x3x12x10xf32>, tensor<4x3x3x3xf32>) outs(%[[INIT]] : tensor<1x4x5x4xf32>)
// CHECK: return %[[Y]]
func.func @conv2d_bias_pads(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x5x4xf32> {
  %0 = kiln.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 2, 3, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x5x4xf32>
  return %0 : tensor<1x4x5x4xf32>
}

// CHECK-LABEL: func.func @conv1d
// CHECK-NOT: tensor.pad
// CHECK: %[[INIT:.+]] = linalg.fill
// CHECK: linalg.conv_1d_ncw_fcw {dilations = dense<2> : tensor<1xi64>, strides = dense<3> : tensor<1xi64>} ins(%{{.+}}, %{{.+}} : tensor<1x2x10xf32>, tensor<3x2x3xf32>) outs(%[[INIT]] : tensor<1x3x2xf32>)
func.func @conv1d(%x: tensor<1x2x10xf32>, %w: tensor<3x2x3xf32>) -> tensor<1x3x2xf32> {
  %0 = kiln.conv %x, %w {dilations = array<i64: 2>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 3>} : (tensor<1x2x10xf32>, tensor<3x2x3xf32>) -> tensor<1x3x2xf32>
  return %0 : tensor<1x3x2xf32>
}

// CHECK-LABEL: func.func @conv3d
// CHECK: linalg.conv_3d_ncdhw_fcdhw {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
// CHECK-SAME: -> tensor<1x3x4x4x4xf32>
func.func @conv3d(%x: tensor<1x2x5x5x5xf32>, %w: tensor<3x2x2x2x2xf32>) -> tensor<1x3x4x4x4xf32> {
  %0 = kiln.conv %x, %w {dilations = array<i64: 1, 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0, 0, 0>, strides = array<i64: 1, 1, 1>} : (tensor<1x2x5x5x5xf32>, tensor<3x2x2x2x2xf32>) -> tensor<1x3x4x4x4xf32>
  return %0 : tensor<1x3x4x4x4xf32>
}

// Grouped, strided, dilated: channels split into [G, C/G] and weights into
// [G, M/G, C/G, K...]; loops (n, g, m, oh, ow) parallel, (c, kh, kw)
// reduction.
// CHECK-LABEL: func.func @conv2d_grouped
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x6x11x13xf32>, %[[W:[^:]+]]: tensor<9x2x3x2xf32>, %[[B:[^:]+]]: tensor<9xf32>)
// CHECK: %[[P:.+]] = tensor.pad %[[X]] low[0, 0, 1, 0] high[0, 0, 2, 3]
// CHECK: } : tensor<2x6x11x13xf32> to tensor<2x6x14x16xf32>
// CHECK: %[[INIT:.+]] = linalg.broadcast ins(%[[B]] : tensor<9xf32>)
// CHECK: %[[XG:.+]] = tensor.expand_shape %[[P]] {{\[}}[0], [1, 2], [3], [4]] output_shape [2, 3, 2, 14, 16]
// CHECK: %[[WG:.+]] = tensor.expand_shape %[[W]] {{\[}}[0, 1], [2], [3], [4]] output_shape [3, 3, 2, 3, 2]
// CHECK: %[[AG:.+]] = tensor.expand_shape %[[INIT]] {{\[}}[0], [1, 2], [3], [4]] output_shape [2, 3, 3, 5, 13]
// CHECK: %[[G:.+]] = linalg.generic {indexing_maps = [#[[GX]], #[[GW]], #[[GY]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[XG]], %[[WG]] : tensor<2x3x2x14x16xf32>, tensor<3x3x2x3x2xf32>) outs(%[[AG]] : tensor<2x3x3x5x13xf32>)
// CHECK: ^bb0(%[[A:.+]]: f32, %[[C:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK: %[[M:.+]] = arith.mulf %[[A]], %[[C]] : f32
// CHECK: %[[S:.+]] = arith.addf %[[ACC]], %[[M]] : f32
// CHECK: linalg.yield %[[S]]
// CHECK: %[[R:.+]] = tensor.collapse_shape %[[G]] {{\[}}[0], [1, 2], [3], [4]] : tensor<2x3x3x5x13xf32> into tensor<2x9x5x13xf32>
// CHECK: return %[[R]]
func.func @conv2d_grouped(%x: tensor<2x6x11x13xf32>, %w: tensor<9x2x3x2xf32>, %b: tensor<9xf32>) -> tensor<2x9x5x13xf32> {
  %0 = kiln.conv %x, %w, %b {dilations = array<i64: 2, 3>, group = 3 : i64, pads = array<i64: 1, 0, 2, 3>, strides = array<i64: 2, 1>} : (tensor<2x6x11x13xf32>, tensor<9x2x3x2xf32>, tensor<9xf32>) -> tensor<2x9x5x13xf32>
  return %0 : tensor<2x9x5x13xf32>
}

// Integer convolutions are signless after conversion.
// CHECK-LABEL: func.func @conv1d_grouped_i32
// CHECK: linalg.generic {indexing_maps = [#[[G1X]], #[[G1W]], #[[G1Y]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK: arith.muli
// CHECK: arith.addi
// CHECK: tensor.collapse_shape {{.+}} : tensor<1x2x3x8xi32> into tensor<1x6x8xi32>
func.func @conv1d_grouped_i32(%x: tensor<1x4x10xi32>, %w: tensor<6x2x3xi32>) -> tensor<1x6x8xi32> {
  %0 = kiln.conv %x, %w {dilations = array<i64: 1>, group = 2 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x4x10xi32>, tensor<6x2x3xi32>) -> tensor<1x6x8xi32>
  return %0 : tensor<1x6x8xi32>
}
