// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg | FileCheck %s

// kiln.matmul: a right operand without batch dimensions (a weight) is
// shared by all rows, so the left operand's rows are collapsed and one
// linalg.matmul computes everything; the weight is never broadcast into a
// per-batch copy.

// CHECK-LABEL: func.func @rows_times_weight
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x64x256xf32>, %[[W:[^:]+]]: tensor<256x1024xf32>)
// CHECK-NOT: linalg.broadcast
// CHECK-NOT: linalg.batch_matmul
// CHECK: %[[X2:.+]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<1x64x256xf32> into tensor<64x256xf32>
// CHECK: %[[ZERO:.+]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<64x1024xf32>)
// CHECK: %[[P:.+]] = linalg.matmul ins(%[[X2]], %[[W]] : tensor<64x256xf32>, tensor<256x1024xf32>) outs(%[[ZERO]] : tensor<64x1024xf32>)
// CHECK-NOT: linalg.broadcast
// CHECK-NOT: linalg.batch_matmul
// CHECK: return %{{.*}} : tensor<1x64x1024xf32>
func.func @rows_times_weight(%x: tensor<1x64x256xf32>, %w: tensor<256x1024xf32>) -> tensor<1x64x1024xf32> {
  %0 = kiln.matmul %x, %w : (tensor<1x64x256xf32>, tensor<256x1024xf32>) -> tensor<1x64x1024xf32>
  return %0 : tensor<1x64x1024xf32>
}

// -----

// Four dimensions, several batches: still one matrix of 2*3*5 rows.
// CHECK-LABEL: func.func @rank4_times_weight
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2], [3]] : tensor<2x3x5x7xf32> into tensor<30x7xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<30x7xf32>, tensor<7x4xf32>) outs(%{{.*}} : tensor<30x4xf32>)
// CHECK-NOT: linalg.batch_matmul
// CHECK: return %{{.*}} : tensor<2x3x5x4xf32>
func.func @rank4_times_weight(%x: tensor<2x3x5x7xf32>, %w: tensor<7x4xf32>) -> tensor<2x3x5x4xf32> {
  %0 = kiln.matmul %x, %w : (tensor<2x3x5x7xf32>, tensor<7x4xf32>) -> tensor<2x3x5x4xf32>
  return %0 : tensor<2x3x5x4xf32>
}

// -----

// A 1-D right operand is a one-column matrix: the same single matmul.
// CHECK-LABEL: func.func @rows_times_vector
// CHECK: tensor.collapse_shape %{{.*}} : tensor<2x3x7xf32> into tensor<6x7xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<6x7xf32>, tensor<7x1xf32>) outs(%{{.*}} : tensor<6x1xf32>)
// CHECK-NOT: linalg.batch_matmul
func.func @rows_times_vector(%x: tensor<2x3x7xf32>, %w: tensor<7xf32>) -> tensor<2x3xf32> {
  %0 = kiln.matmul %x, %w : (tensor<2x3x7xf32>, tensor<7xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Batched times batched stays a batch_matmul over the flattened batch.
// CHECK-LABEL: func.func @batched_both
// CHECK-NOT: linalg.matmul
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<6x4x8xf32>, tensor<6x8x5xf32>) outs(%{{.*}} : tensor<6x4x5xf32>)
func.func @batched_both(%a: tensor<2x3x4x8xf32>, %b: tensor<2x3x8x5xf32>) -> tensor<2x3x4x5xf32> {
  %0 = kiln.matmul %a, %b : (tensor<2x3x4x8xf32>, tensor<2x3x8x5xf32>) -> tensor<2x3x4x5xf32>
  return %0 : tensor<2x3x4x5xf32>
}

// -----

// Plain matrices: one matmul, no reshapes.
// CHECK-LABEL: func.func @matrices
// CHECK-NOT: collapse_shape
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<8x5xf32>)
func.func @matrices(%a: tensor<4x8xf32>, %b: tensor<8x5xf32>) -> tensor<4x5xf32> {
  %0 = kiln.matmul %a, %b : (tensor<4x8xf32>, tensor<8x5xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}
