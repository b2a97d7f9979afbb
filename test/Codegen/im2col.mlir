// RUN: kiln-opt %s -split-input-file -kiln-cpu-conv-to-im2col | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-cpu-conv-to-im2col=runtime-convs=1 | FileCheck %s --check-prefix=RUNTIME

// A strided 3x3 convolution: windows copied to [N, C*KH*KW, OH*OW], then
// out[n, f, p] += w[f, k] * col[n, k, p].
// CHECK-DAG: #[[WIN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4 * 2 + d2, d5 * 2 + d3)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @conv3x3_stride2
// CHECK: %[[COPY:.+]] = linalg.generic {indexing_maps = [#[[WIN]],
// CHECK: } -> tensor<1x3x3x3x4x4xf32>
// CHECK: %[[COLS:.+]] = tensor.collapse_shape %[[COPY]] {{\[\[}}0], [1, 2, 3], [4, 5]] : tensor<1x3x3x3x4x4xf32> into tensor<1x27x16xf32>
// CHECK: %[[WS:.+]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] : tensor<8x3x3x3xf32> into tensor<8x27xf32>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[W]], #[[COL]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[WS]], %[[COLS]]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: tensor.expand_shape %[[R]] {{\[\[}}0], [1], [2, 3]] output_shape [1, 8, 4, 4]
func.func @conv3x3_stride2(%x: tensor<1x3x9x9xf32>, %w: tensor<8x3x3x3xf32>, %init: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%x, %w : tensor<1x3x9x9xf32>, tensor<8x3x3x3xf32>) outs(%init : tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  return %0 : tensor<1x8x4x4xf32>
}

// -----

// A 1x1, stride-1 convolution reads the input directly as columns.
// CHECK-LABEL: func.func @conv1x1
// CHECK-NOT: tensor<1x3x1x1x5x5xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<1x3x5x5xf32> into tensor<1x3x25xf32>
func.func @conv1x1(%x: tensor<1x3x5x5xf32>, %w: tensor<4x3x1x1xf32>, %init: tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x3x5x5xf32>, tensor<4x3x1x1xf32>) outs(%init : tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  return %0 : tensor<1x4x5x5xf32>
}

// -----

// With runtime-convs, an f32 convolution large enough for the runtime's
// implicit GEMM stays a convolution; small ones (above, the 1x1 one too)
// still become contractions.
// CHECK-LABEL: func.func @conv_runtime
// CHECK: tensor<1x8x3x3x16x16xf32>
// RUNTIME-LABEL: func.func @conv3x3_stride2
// RUNTIME: tensor<1x3x3x3x4x4xf32>
// RUNTIME-LABEL: func.func @conv1x1
// RUNTIME: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<1x3x5x5xf32> into tensor<1x3x25xf32>
// RUNTIME-LABEL: func.func @conv_runtime
// RUNTIME-NOT: tensor.collapse_shape
// RUNTIME: linalg.conv_2d_nchw_fchw {{.*}} ins(%arg0, %arg1 : tensor<1x8x18x18xf32>, tensor<16x8x3x3xf32>)
func.func @conv_runtime(%x: tensor<1x8x18x18xf32>, %w: tensor<16x8x3x3xf32>, %init: tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32> {
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x8x18x18xf32>, tensor<16x8x3x3xf32>) outs(%init : tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
  return %0 : tensor<1x16x16x16xf32>
}
