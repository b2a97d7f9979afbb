// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-collapse-contractions))' | FileCheck %s

// The encoder's QKV projection after reshape propagation:
// [1,64,1,256] x [256,3,256] -> [1,64,1,3,256] is [64,256] x [256,768].
// M = (d0, d1, d2), N = (d3, d4), K = d5, each contiguous.
// CHECK-LABEL: func.func @qkv_projection
// CHECK-SAME: (%[[A:[^:]+]]: tensor<1x64x1x256xf32>, %[[B:[^:]+]]: tensor<256x3x256xf32>, %[[C:[^:]+]]: tensor<1x64x1x3x256xf32>)
// CHECK-DAG: %[[A2:.+]] = tensor.collapse_shape %[[A]] {{\[\[}}0, 1, 2], [3]] {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} : tensor<1x64x1x256xf32> into tensor<64x256xf32>
// CHECK-DAG: %[[B2:.+]] = tensor.collapse_shape %[[B]] {{\[\[}}0], [1, 2]] {{.*}} : tensor<256x3x256xf32> into tensor<256x768xf32>
// CHECK-DAG: %[[C2:.+]] = tensor.collapse_shape %[[C]] {{\[\[}}0, 1, 2], [3, 4]] {{.*}} : tensor<1x64x1x3x256xf32> into tensor<64x768xf32>
// CHECK: %[[P:.+]] = linalg.matmul {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} ins(%[[A2]], %[[B2]] : tensor<64x256xf32>, tensor<256x768xf32>) outs(%[[C2]] : tensor<64x768xf32>)
// CHECK: %[[R:.+]] = tensor.expand_shape %[[P]] {{\[\[}}0, 1, 2], [3, 4]] output_shape [1, 64, 1, 3, 256]
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
#a = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
#b = affine_map<(d0, d1, d2, d3, d4, d5) -> (d5, d3, d4)>
#c = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>
func.func @qkv_projection(%a: tensor<1x64x1x256xf32>, %b: tensor<256x3x256xf32>, %c: tensor<1x64x1x3x256xf32>) -> tensor<1x64x1x3x256xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<1x64x1x256xf32>, tensor<256x3x256xf32>) outs(%c : tensor<1x64x1x3x256xf32>)
      attrs = {kiln.kernel = 1 : i64, kiln.kernel_kind = #kiln<kernel_kind contraction>} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x64x1x3x256xf32>
  return %0 : tensor<1x64x1x3x256xf32>
}

// -----

// The output projection: [64,256] x [256,1,256] -> [64,1,256]; A needs no
// collapse.
// CHECK-LABEL: func.func @output_projection
// CHECK-SAME: (%[[A:[^:]+]]: tensor<64x256xf32>, %[[B:[^:]+]]: tensor<256x1x256xf32>, %[[C:[^:]+]]: tensor<64x1x256xf32>)
// CHECK-DAG: %[[B2:.+]] = tensor.collapse_shape %[[B]] {{\[\[}}0], [1, 2]] : tensor<256x1x256xf32> into tensor<256x256xf32>
// CHECK-DAG: %[[C2:.+]] = tensor.collapse_shape %[[C]] {{\[\[}}0], [1, 2]] : tensor<64x1x256xf32> into tensor<64x256xf32>
// CHECK: %[[P:.+]] = linalg.matmul ins(%[[A]], %[[B2]] : tensor<64x256xf32>, tensor<256x256xf32>) outs(%[[C2]] : tensor<64x256xf32>)
// CHECK: tensor.expand_shape %[[P]] {{\[\[}}0], [1, 2]] output_shape [64, 1, 256]
// CHECK-NOT: linalg.generic
#a = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d3, d1, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @output_projection(%a: tensor<64x256xf32>, %b: tensor<256x1x256xf32>, %c: tensor<64x1x256xf32>) -> tensor<64x1x256xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<64x256xf32>, tensor<256x1x256xf32>) outs(%c : tensor<64x1x256xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %m, %acc : f32
    linalg.yield %s : f32
  } -> tensor<64x1x256xf32>
  return %0 : tensor<64x1x256xf32>
}

// -----

// Attention scores with two batch loops (batch, head): batch_matmul over
// the merged batch.
// CHECK-LABEL: func.func @attention_batch
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] : tensor<1x4x64x32xf32> into tensor<4x64x32xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] : tensor<1x4x32x48xf32> into tensor<4x32x48xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] : tensor<1x4x64x48xf32> into tensor<4x64x48xf32>
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<4x64x32xf32>, tensor<4x32x48xf32>) outs(%{{.*}} : tensor<4x64x48xf32>)
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] output_shape [1, 4, 64, 48]
#a = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#b = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#c = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
func.func @attention_batch(%a: tensor<1x4x64x32xf32>, %b: tensor<1x4x32x48xf32>, %c: tensor<1x4x64x48xf32>) -> tensor<1x4x64x48xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<1x4x64x32xf32>, tensor<1x4x32x48xf32>) outs(%c : tensor<1x4x64x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x4x64x48xf32>
  return %0 : tensor<1x4x64x48xf32>
}

// -----

// q k^T with k stored (n, k): the transposed-B form, with explicit maps.
// CHECK-DAG: #[[MA:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[MB:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[MC:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @scores_transposed_b
// CHECK: linalg.batch_matmul indexing_maps = [#[[MA]], #[[MB]], #[[MC]]] ins(%{{.*}}, %{{.*}} : tensor<4x64x32xf32>, tensor<4x48x32xf32>) outs(%{{.*}} : tensor<4x64x48xf32>)
#a = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#b = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
#c = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
func.func @scores_transposed_b(%a: tensor<1x4x64x32xf32>, %b: tensor<1x4x48x32xf32>, %c: tensor<1x4x64x48xf32>) -> tensor<1x4x64x48xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<1x4x64x32xf32>, tensor<1x4x48x32xf32>) outs(%c : tensor<1x4x64x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x4x64x48xf32>
  return %0 : tensor<1x4x64x48xf32>
}

// -----

// An output stored (N, M) is the product with the operands swapped:
// C^T[n, m] = sum_k B[k, n] A[m, k], i.e. B transposed times A transposed.
// CHECK-DAG: #[[MA:.+]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[MB:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[MC:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @output_transposed
// CHECK-SAME: (%[[A:[^:]+]]: tensor<6x2x5xf32>, %[[B:[^:]+]]: tensor<5x7xf32>, %[[C:[^:]+]]: tensor<7x6x2xf32>)
// CHECK: %[[A2:.+]] = tensor.collapse_shape %[[A]] {{\[\[}}0, 1], [2]] : tensor<6x2x5xf32> into tensor<12x5xf32>
// CHECK: %[[C2:.+]] = tensor.collapse_shape %[[C]] {{\[\[}}0], [1, 2]] : tensor<7x6x2xf32> into tensor<7x12xf32>
// CHECK: linalg.matmul indexing_maps = [#[[MA]], #[[MB]], #[[MC]]] ins(%[[B]], %[[A2]] : tensor<5x7xf32>, tensor<12x5xf32>) outs(%[[C2]] : tensor<7x12xf32>)
#a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d2, d0, d1)>
func.func @output_transposed(%a: tensor<6x2x5xf32>, %b: tensor<5x7xf32>, %c: tensor<7x6x2xf32>) -> tensor<7x6x2xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<6x2x5xf32>, tensor<5x7xf32>) outs(%c : tensor<7x6x2xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<7x6x2xf32>
  return %0 : tensor<7x6x2xf32>
}

// -----

// M loops split by K in A: (d0, d2, d1) is no contiguous M group, so no
// collapsed view exists. Left alone.
// CHECK-LABEL: func.func @non_contiguous_m
// CHECK-NOT: collapse_shape
// CHECK-NOT: linalg.matmul
// CHECK: linalg.generic
#a = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
#b = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @non_contiguous_m(%a: tensor<6x5x2xf32>, %b: tensor<5x7xf32>, %c: tensor<6x2x7xf32>) -> tensor<6x2x7xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<6x5x2xf32>, tensor<5x7xf32>) outs(%c : tensor<6x2x7xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<6x2x7xf32>
  return %0 : tensor<6x2x7xf32>
}

// -----

// The M loops in a different order in A and C: collapsing both would pair
// the wrong rows. Left alone.
// CHECK-LABEL: func.func @m_order_differs
// CHECK-NOT: linalg.matmul
// CHECK: linalg.generic
#a = affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @m_order_differs(%a: tensor<2x6x5xf32>, %b: tensor<5x7xf32>, %c: tensor<6x2x7xf32>) -> tensor<6x2x7xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<2x6x5xf32>, tensor<5x7xf32>) outs(%c : tensor<6x2x7xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<6x2x7xf32>
  return %0 : tensor<6x2x7xf32>
}

// -----

// A batch loop that is not outermost in B. Left alone.
// CHECK-LABEL: func.func @batch_not_leading
// CHECK-NOT: linalg.batch_matmul
// CHECK: linalg.generic
#a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @batch_not_leading(%a: tensor<3x6x5xf32>, %b: tensor<5x3x7xf32>, %c: tensor<3x6x7xf32>) -> tensor<3x6x7xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<3x6x5xf32>, tensor<5x3x7xf32>) outs(%c : tensor<3x6x7xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<3x6x7xf32>
  return %0 : tensor<3x6x7xf32>
}

// -----

// A prologue fused into the body (x * y * 2): not a plain product. Left
// alone.
// CHECK-LABEL: func.func @scaled_body
// CHECK-NOT: linalg.matmul
// CHECK: linalg.generic
#a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @scaled_body(%a: tensor<6x2x5xf32>, %b: tensor<5x7xf32>, %c: tensor<6x2x7xf32>) -> tensor<6x2x7xf32> {
  %two = arith.constant 2.0 : f32
  %0 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<6x2x5xf32>, tensor<5x7xf32>) outs(%c : tensor<6x2x7xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %xs = arith.mulf %x, %two : f32
    %m = arith.mulf %xs, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<6x2x7xf32>
  return %0 : tensor<6x2x7xf32>
}
