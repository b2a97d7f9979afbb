// RUN: kiln-opt %s -kiln-cpu-contraction-to-call -canonicalize | FileCheck %s

// Row-major matmul: batch 1 (strides 0), M=64, N=128, K=96, then each
// operand's address and its strides along (batch, m, k), (batch, k, n) and
// (batch, m, n).
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: linalg.matmul
// CHECK: call @kiln_cpu_sgemm(%c1, %c64, %c128, %c96, %{{.*}}, %c0, %c96, %c1, %{{.*}}, %c0, %c128, %c1, %{{.*}}, %c0, %c128, %c1)
func.func @matmul(%a: memref<64x96xf32>, %b: memref<96x128xf32>, %c: memref<64x128xf32>) {
  linalg.matmul ins(%a, %b : memref<64x96xf32>, memref<96x128xf32>) outs(%c : memref<64x128xf32>)
  return
}

// The im2col form of a convolution over two images: the image loop is the
// batch, which the weights do not walk (stride 0).
// CHECK-LABEL: func.func @im2col
// CHECK: call @kiln_cpu_sgemm(%c2, %c32, %c256, %c27, %{{.*}}, %c0, %c27, %c1, %{{.*}}, %c6912, %c256, %c1, %{{.*}}, %c8192, %c256, %c1)
#w = affine_map<(n, f, p, k) -> (f, k)>
#col = affine_map<(n, f, p, k) -> (n, k, p)>
#out = affine_map<(n, f, p, k) -> (n, f, p)>
func.func @im2col(%w: memref<32x27xf32>, %col: memref<2x27x256xf32>, %o: memref<2x32x256xf32>) {
  linalg.generic {indexing_maps = [#w, #col, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%w, %col : memref<32x27xf32>, memref<2x27x256xf32>) outs(%o : memref<2x32x256xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A view with an offset and a row stride, and B transposed (n, k): the
// address moves by 8 floats, the strides are the view's.
// CHECK-LABEL: func.func @strided_view
// CHECK: %[[A:.+]] = arith.addi %{{.*}}, %c32 : index
// CHECK: call @kiln_cpu_sgemm(%c1, %c64, %c128, %c96, %[[A]], %c0, %c200, %c1, %{{.*}}, %c0, %c1, %c96, %{{.*}}, %c0, %c128, %c1)
func.func @strided_view(%a: memref<64x96xf32, strided<[200, 1], offset: 8>>, %b: memref<128x96xf32>, %c: memref<64x128xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<64x96xf32, strided<[200, 1], offset: 8>>, memref<128x96xf32>) outs(%c : memref<64x128xf32>)
  return
}

// A depthwise convolution (grouped, one input and one output channel per
// group), stride 2: N, C, OH, OW, KH, KW, strides, dilations, then the
// input's address and strides along (n, channel, row, column), the
// filter's along (channel, kh, kw) and the output's.
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT: linalg.generic
// CHECK: call @kiln_cpu_depthwise_conv2d(%c1, %c32, %c28, %c28, %c3, %c3, %c2, %c2, %c1, %c1, %{{.*}}, %c103968, %c3249, %c57, %c1, %{{.*}}, %c9, %c3, %c1, %{{.*}}, %c25088, %c784, %c28, %c1)
#dwin = affine_map<(n, g, f, oh, ow, c, kh, kw) -> (n, g, c, oh * 2 + kh, ow * 2 + kw)>
#dwfl = affine_map<(n, g, f, oh, ow, c, kh, kw) -> (g, f, c, kh, kw)>
#dwout = affine_map<(n, g, f, oh, ow, c, kh, kw) -> (n, g, f, oh, ow)>
func.func @depthwise(%i: memref<1x32x1x57x57xf32>, %w: memref<32x1x1x3x3xf32>, %o: memref<1x32x1x28x28xf32>) {
  linalg.generic {indexing_maps = [#dwin, #dwfl, #dwout], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%i, %w : memref<1x32x1x57x57xf32>, memref<32x1x1x3x3xf32>) outs(%o : memref<1x32x1x28x28xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Not f32, too small, two loops outside M x N, or still on tensors: left
// to the inline register blocks.
// CHECK-LABEL: func.func @f16
// CHECK: linalg.matmul
func.func @f16(%a: memref<64x96xf16>, %b: memref<96x128xf16>, %c: memref<64x128xf16>) {
  linalg.matmul ins(%a, %b : memref<64x96xf16>, memref<96x128xf16>) outs(%c : memref<64x128xf16>)
  return
}

// CHECK-LABEL: func.func @tiny
// CHECK: linalg.matmul
func.func @tiny(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %c: memref<4x4xf32>) {
  linalg.matmul ins(%a, %b : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  return
}

// CHECK-LABEL: func.func @two_outer
// CHECK: linalg.generic
#a2 = affine_map<(b, n0, m, n, k) -> (b, m, k)>
#b2 = affine_map<(b, n0, m, n, k) -> (b, n0, k, n)>
#c2 = affine_map<(b, n0, m, n, k) -> (b, n0, m, n)>
func.func @two_outer(%a: memref<2x16x64xf32>, %b: memref<2x3x64x32xf32>, %c: memref<2x3x16x32xf32>) {
  linalg.generic {indexing_maps = [#a2, #b2, #c2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<2x16x64xf32>, memref<2x3x64x32xf32>) outs(%c : memref<2x3x16x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK-LABEL: func.func @on_tensors
// CHECK: linalg.matmul
// CHECK: func.func private @kiln_cpu_sgemm(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @on_tensors(%a: tensor<64x96xf32>, %b: tensor<96x128xf32>, %c: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x96xf32>, tensor<96x128xf32>) outs(%c : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}
