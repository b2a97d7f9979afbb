// RUN: kiln-opt %s -split-input-file -kiln-cpu-tile-and-vectorize="gemm-calls=0" -canonicalize | FileCheck %s

// 64x96 * 96x128: blocks of 4 x 16 x 48 (48 is the largest divisor of 96
// up to 64), each one vector.contract. The row blocks form an scf.forall
// (they may run on different cores); n blocks and then k run inside.
// CHECK-LABEL: func.func @matmul
// CHECK-DAG: %[[C16:.+]] = arith.constant 16 : index
// CHECK-DAG: %[[C48:.+]] = arith.constant 48 : index
// CHECK: scf.forall (%{{.*}}) = (0) to (64) step (4)
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C16]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C48]]
// CHECK: vector.contract {{.*}} : vector<4x48xf32>, vector<48x16xf32> into vector<4x16xf32>
func.func @matmul(%a: tensor<64x96xf32>, %b: tensor<96x128xf32>, %c: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<64x96xf32>, tensor<96x128xf32>) outs(%c : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %0 : tensor<64x128xf32>
}

// -----

// Block sizes are the largest divisors within the limits, so tiles stay
// static: M = 7 has none in [2, 4] (rows of 1), N = 49 gives 7, K = 3 gives 3.
// CHECK-LABEL: func.func @odd_sizes
// CHECK: vector.contract {{.*}} : vector<1x3xf32>, vector<3x7xf32> into vector<1x7xf32>
func.func @odd_sizes(%a: tensor<7x3xf32>, %b: tensor<3x49xf32>, %c: tensor<7x49xf32>) -> tensor<7x49xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<7x3xf32>, tensor<3x49xf32>) outs(%c : tensor<7x49xf32>) -> tensor<7x49xf32>
  return %0 : tensor<7x49xf32>
}

// -----

// Not a contraction: left alone.
// CHECK-LABEL: func.func @elementwise
// CHECK-NOT: vector.
// CHECK: linalg.generic
func.func @elementwise(%x: tensor<8xf32>, %init: tensor<8xf32>) -> tensor<8xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  } -> tensor<8xf32>
  return %0 : tensor<8xf32>
}
