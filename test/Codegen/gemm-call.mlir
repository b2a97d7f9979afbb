// RUN: kiln-opt %s -kiln-cpu-contraction-to-call="a-panel=4 b-panel=8" -canonicalize | FileCheck %s
// RUN: kiln-opt %s -kiln-cpu-contraction-to-call="a-panel=4 b-panel=8 min-work=0" -canonicalize | FileCheck %s --check-prefix=PACKED

// Row-major matmul: batch 1 (strides 0), M=64, N=128, K=96, then each
// operand's address and its strides along (batch, m, k), (batch, k, n) and
// (batch, m, n).
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: linalg.matmul
// CHECK: call @kiln_cpu_sgemm(%c1, %c64, %c128, %c96, %{{.*}}, %c0, %c96, %c1, %{{.*}}, %c0, %c128, %c1, %{{.*}}, %c0, %c128, %c1, %c0, %c0)
func.func @matmul(%a: memref<64x96xf32>, %b: memref<96x128xf32>, %c: memref<64x128xf32>) {
  linalg.matmul ins(%a, %b : memref<64x96xf32>, memref<96x128xf32>) outs(%c : memref<64x128xf32>)
  return
}

// The im2col form of a convolution over two images: the image loop is the
// batch, which the weights do not walk (stride 0).
// CHECK-LABEL: func.func @im2col
// CHECK: call @kiln_cpu_sgemm(%c2, %c32, %c256, %c27, %{{.*}}, %c0, %c27, %c1, %{{.*}}, %c6912, %c256, %c1, %{{.*}}, %c8192, %c256, %c1, %c0, %c0)
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
// CHECK: call @kiln_cpu_sgemm(%c1, %c64, %c128, %c96, %[[A]], %c0, %c200, %c1, %{{.*}}, %c0, %c1, %c96, %{{.*}}, %c0, %c128, %c1, %c0, %c0)
func.func @strided_view(%a: memref<64x96xf32, strided<[200, 1], offset: 8>>, %b: memref<128x96xf32>, %c: memref<64x128xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<64x96xf32, strided<[200, 1], offset: 8>>, memref<128x96xf32>) outs(%c : memref<64x128xf32>)
  return
}

// A depthwise convolution (grouped, one input and one output channel per
// group), stride 2: N, C, OH, OW, KH, KW, strides, dilations, then the
// input's address and strides along (n, channel, row, column), the
// filter's along (channel, kh, kw) and the output's, the input's extent
// and pads (57 x 57, none), and the epilogue (no bias, no residual, no
// clamp: flags 1, add to the output).
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT: linalg.generic
// CHECK: call @kiln_cpu_depthwise_conv2d(%c1, %c32, %c28, %c28, %c3, %c3, %c2, %c2, %c1, %c1, %{{.*}}, %c103968, %c3249, %c57, %c1, %{{.*}}, %c9, %c3, %c1, %{{.*}}, %c25088, %c784, %c28, %c1, %c57, %c57, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %{{.*}}, %{{.*}}, %c1)
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
func.func @on_tensors(%a: tensor<64x96xf32>, %b: tensor<96x128xf32>, %c: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x96xf32>, tensor<96x128xf32>) outs(%c : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}

// Constant weights are packed at compile time: A (5x3, rows in panels of
// 4, zero-padded to 8 rows) and B (3x10, columns in panels of 8, padded to
// 16), each over all of K = 3. The call passes the packed globals with
// zero strides and the panel sizes. (min-work=0: a small example; by
// default it stays inline.)
// CHECK-LABEL: func.func @packed
// CHECK: linalg.matmul
// CHECK: func.func private @kiln_cpu_sgemm(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// PACKED-DAG: memref.global "private" constant @weights_a_panels : memref<24xf32> = dense_resource<weights_a_panels>
// PACKED-DAG: memref.global "private" constant @weights_b_panels : memref<48xf32> = dense_resource<weights_b_panels>
// PACKED-LABEL: func.func @packed
// PACKED-DAG: %[[A:.+]] = memref.get_global @weights_a_panels : memref<24xf32>
// PACKED-DAG: %[[B:.+]] = memref.get_global @weights_b_panels : memref<48xf32>
// PACKED-DAG: %[[PA:.+]] = memref.extract_aligned_pointer_as_index %[[A]]
// PACKED-DAG: %[[PB:.+]] = memref.extract_aligned_pointer_as_index %[[B]]
// PACKED: call @kiln_cpu_sgemm(%c1, %c5, %c10, %c3, %[[PA]], %c0, %c0, %c0, %[[PB]], %c0, %c0, %c0, %{{.*}}, %c0, %c10, %c1, %c4, %c8)
// A's panels: rows 0-3 k by k (1 4 7 10, 2 5 8 11, 3 6 9 12), then row 4
// and three zero rows (13 0 0 0, 14 0 0 0, 15 0 0 0).
// PACKED: weights_a_panels: "0x400000000000803F000080400000E04000002041000000400000A0400000004100003041000040400000C0400000104100004041000050410000000000000000000000000000604100000000000000000000000000007041000000000000000000000000"
memref.global "private" constant @weights_a : memref<5x3xf32> = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [10.0, 11.0, 12.0], [13.0, 14.0, 15.0]]>
memref.global "private" constant @weights_b : memref<3x10xf32> = dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], [11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0], [21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0]]>
func.func @packed(%c: memref<5x10xf32>) {
  %a = memref.get_global @weights_a : memref<5x3xf32>
  %b = memref.get_global @weights_b : memref<3x10xf32>
  linalg.matmul ins(%a, %b : memref<5x3xf32>, memref<3x10xf32>) outs(%c : memref<5x10xf32>)
  return
}
