// RUN: kiln-opt %s -split-input-file -kiln-cpu-parallelize -canonicalize | FileCheck %s

// 32 channels x 2 halves of 112 rows: 64 tiles; each keeps whole rows.
// CHECK-LABEL: func.func @relu
// CHECK: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (32, 112) step (1, 56)
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x1x56x112xf32>)
func.func @relu(%x: tensor<1x32x112x112xf32>) -> tensor<1x32x112x112xf32> {
  %e = tensor.empty() : tensor<1x32x112x112xf32>
  %c0 = arith.constant 0.0 : f32
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x32x112x112xf32>) outs(%e : tensor<1x32x112x112xf32>) {
  ^bb0(%i: f32, %o: f32):
    %m = arith.maximumf %i, %c0 : f32
    linalg.yield %m : f32
  } -> tensor<1x32x112x112xf32>
  return %r : tensor<1x32x112x112xf32>
}

// -----

// A reduction splits its parallel rows only.
// CHECK-LABEL: func.func @row_sum
// CHECK: scf.forall (%{{.*}}) = (0) to (512) step (8)
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<8x1000xf32>) outs(%{{.*}} : tensor<8xf32>)
func.func @row_sum(%x: tensor<512x1000xf32>, %init: tensor<512xf32>) -> tensor<512xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<512x1000xf32>) outs(%init : tensor<512xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.addf %i, %o : f32
    linalg.yield %s : f32
  } -> tensor<512xf32>
  return %r : tensor<512xf32>
}

// -----

// Too little work for a launch; and a contraction that the runtime GEMM
// runs on the pool itself.
// CHECK-LABEL: func.func @small
// CHECK-NOT: scf.forall
// CHECK: linalg.generic
func.func @small(%x: tensor<4x1000xf32>) -> tensor<4x1000xf32> {
  %e = tensor.empty() : tensor<4x1000xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x1000xf32>) outs(%e : tensor<4x1000xf32>) {
  ^bb0(%i: f32, %o: f32):
    %n = arith.negf %i : f32
    linalg.yield %n : f32
  } -> tensor<4x1000xf32>
  return %r : tensor<4x1000xf32>
}

// -----

// CHECK-LABEL: func.func @gemm
// CHECK-NOT: scf.forall
// CHECK: linalg.matmul
func.func @gemm(%a: tensor<256x256xf32>, %b: tensor<256x256xf32>, %c: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<256x256xf32>, tensor<256x256xf32>) outs(%c : tensor<256x256xf32>) -> tensor<256x256xf32>
  return %r : tensor<256x256xf32>
}

// -----

// A runtime convolution's bias broadcast and the ReLU on its result stay
// whole ops: the call takes both into its store (and runs on the thread
// pool itself). An op on the result that the store cannot take (a sigmoid)
// is tiled as usual.
// CHECK-LABEL: func.func @conv_epilogue
// CHECK-NOT: scf.forall
// CHECK: linalg.broadcast
// CHECK: linalg.conv_2d_nchw_fchw
// CHECK: linalg.generic
// CHECK: arith.maximumf
// CHECK: scf.forall
// CHECK: math.exp
func.func @conv_epilogue(%x: tensor<1x32x58x58xf32>, %w: tensor<32x32x3x3xf32>, %b: tensor<32xf32>) -> (tensor<1x32x56x56xf32>, tensor<1x32x56x56xf32>) {
  %e = tensor.empty() : tensor<1x32x56x56xf32>
  %c0 = arith.constant 0.0 : f32
  %c1 = arith.constant 1.0 : f32
  %init = linalg.broadcast ins(%b : tensor<32xf32>) outs(%e : tensor<1x32x56x56xf32>) dimensions = [0, 2, 3]
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x32x58x58xf32>, tensor<32x32x3x3xf32>) outs(%init : tensor<1x32x56x56xf32>) -> tensor<1x32x56x56xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x32x56x56xf32>) outs(%e : tensor<1x32x56x56xf32>) {
  ^bb0(%i: f32, %o: f32):
    %m = arith.maximumf %i, %c0 : f32
    linalg.yield %m : f32
  } -> tensor<1x32x56x56xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x32x56x56xf32>) outs(%e : tensor<1x32x56x56xf32>) {
  ^bb0(%i: f32, %o: f32):
    %n = arith.negf %i : f32
    %x2 = math.exp %n : f32
    %d = arith.addf %x2, %c1 : f32
    %q = arith.divf %c1, %d : f32
    linalg.yield %q : f32
  } -> tensor<1x32x56x56xf32>
  return %r, %s : tensor<1x32x56x56xf32>, tensor<1x32x56x56xf32>
}
