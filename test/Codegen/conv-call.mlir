// RUN: kiln-opt %s -split-input-file -kiln-cpu-contraction-to-call="a-panel=4 convs-only=1" -canonicalize | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-cpu-contraction-to-call="a-panel=4" -canonicalize | FileCheck %s --check-prefix=ALL

// f32 convolutions become calls to the runtime's implicit GEMM:
// N, C, H, W, F, KH, KW, OH, OW, strides, dilations, top and left pads,
// then the input's address and strides (n, c, h, w), the filter's (here
// packed: panels of 4 filters over (c, kh, kw), zero strides), the
// output's, the panel width, then the epilogue: the bias (address,
// stride), the residual (address, strides), the clamp bounds and the flags
// (1: add to the output's start value, 2: clamp). The operands are
// extracted output first, input last.

// A zero-padded copy of the input, read only by the convolution: the call
// reads the input in place with pads (1, 2) (the bottom and right pads are
// read as zeros past the input), and the fill, the copy and the padded
// buffer go.
// CHECK-LABEL: func.func @padded
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.map
// CHECK-NOT: memref.copy
// CHECK: %[[OUT:.+]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK: %[[W:.+]] = memref.get_global @filter_panels : memref<48xf32>
// CHECK: %[[WP:.+]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK: %[[IN:.+]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: call @kiln_cpu_conv2d(%c1, %c2, %c12, %c10, %c3, %c2, %c3, %c12, %c10, %c1, %c1, %c1, %c1, %c1, %c2, %[[IN]], %c240, %c120, %c10, %c1, %[[WP]], %c0, %c0, %c0, %c0, %[[OUT]], %c360, %c120, %c10, %c1, %c4, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %{{.*}}, %{{.*}}, %c1)
// Panels of 4 filters over k = (c, kh, kw), k-major: (filter f, k) is
// 100 f + k; filters 0-2 and a zero row: 0 100 200 0, 1 101 201 0, ...
// CHECK: filter_panels: "0x40000000000000000000C84200004843000000000000803F0000CA420000494300000000000000400000CC4200004A43
memref.global "private" constant @filter : memref<3x2x2x3xf32> = dense<[[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], [[6.0, 7.0, 8.0], [9.0, 10.0, 11.0]]], [[[100.0, 101.0, 102.0], [103.0, 104.0, 105.0]], [[106.0, 107.0, 108.0], [109.0, 110.0, 111.0]]], [[[200.0, 201.0, 202.0], [203.0, 204.0, 205.0]], [[206.0, 207.0, 208.0], [209.0, 210.0, 211.0]]]]>
func.func @padded(%x: memref<1x2x12x10xf32>, %out: memref<1x3x12x10xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @filter : memref<3x2x2x3xf32>
  %p = memref.alloc() : memref<1x2x13x12xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x2x13x12xf32>)
  %interior = memref.subview %p[0, 0, 1, 2] [1, 2, 12, 10] [1, 1, 1, 1] : memref<1x2x13x12xf32> to memref<1x2x12x10xf32, strided<[312, 156, 12, 1], offset: 14>>
  memref.copy %x, %interior : memref<1x2x12x10xf32> to memref<1x2x12x10xf32, strided<[312, 156, 12, 1], offset: 14>>
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%p, %w : memref<1x2x13x12xf32>, memref<3x2x2x3xf32>) outs(%out : memref<1x3x12x10xf32>)
  return
}

// -----

// Padded with 1, not 0: the call reads the padded buffer with no pads.
// CHECK-LABEL: func.func @padded_with_one
// CHECK: linalg.fill
// CHECK: memref.copy
// CHECK: call @kiln_cpu_conv2d(%c1, %c4, %c10, %c10, %c3, %c3, %c3, %c8, %c8, %c1, %c1, %c1, %c1, %c0, %c0,
func.func @padded_with_one(%x: memref<1x4x8x8xf32>, %w: memref<3x4x3x3xf32>, %out: memref<1x3x8x8xf32>) {
  %one = arith.constant 1.0 : f32
  %p = memref.alloc() : memref<1x4x10x10xf32>
  linalg.fill ins(%one : f32) outs(%p : memref<1x4x10x10xf32>)
  %interior = memref.subview %p[0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1] : memref<1x4x10x10xf32> to memref<1x4x8x8xf32, strided<[400, 100, 10, 1], offset: 11>>
  memref.copy %x, %interior : memref<1x4x8x8xf32> to memref<1x4x8x8xf32, strided<[400, 100, 10, 1], offset: 11>>
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%p, %w : memref<1x4x10x10xf32>, memref<3x4x3x3xf32>) outs(%out : memref<1x3x8x8xf32>)
  return
}

// -----

// The padded buffer has another reader: kept, and the convolution reads it
// as it is. A filter that is not a constant goes in with its strides
// (panel width 0); stride 2 and dilation 2 go in as they are.
// CHECK-LABEL: func.func @shared
// CHECK: memref.copy
// CHECK: call @kiln_cpu_conv2d(%c1, %c8, %c10, %c10, %c8, %c3, %c3, %c3, %c3, %c2, %c2, %c2, %c2, %c0, %c0, %{{.*}}, %c800, %c100, %c10, %c1, %{{.*}}, %c72, %c9, %c3, %c1, %{{.*}}, %c72, %c9, %c3, %c1, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %{{.*}}, %{{.*}}, %c1)
// CHECK: linalg.generic
func.func @shared(%x: memref<1x8x8x8xf32>, %w: memref<8x8x3x3xf32>, %out: memref<1x8x3x3xf32>, %sum: memref<1x8x10x10xf32>) {
  %zero = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<1x8x10x10xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x8x10x10xf32>)
  %interior = memref.subview %p[0, 0, 1, 1] [1, 8, 8, 8] [1, 1, 1, 1] : memref<1x8x10x10xf32> to memref<1x8x8x8xf32, strided<[800, 100, 10, 1], offset: 11>>
  memref.copy %x, %interior : memref<1x8x8x8xf32> to memref<1x8x8x8xf32, strided<[800, 100, 10, 1], offset: 11>>
  linalg.conv_2d_nchw_fchw {dilations = dense<2> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%p, %w : memref<1x8x10x10xf32>, memref<8x8x3x3xf32>) outs(%out : memref<1x8x3x3xf32>)
  linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%p : memref<1x8x10x10xf32>) outs(%sum : memref<1x8x10x10xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  return
}

// -----

// With convs-only, matmuls wait for the second run; f16 convolutions and
// tiny ones are never calls.
// CHECK-LABEL: func.func @others
// CHECK: linalg.matmul
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} memref<1x8x10x10xf16>
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} memref<1x1x3x3xf32>
// ALL-LABEL: func.func @others
// ALL: call @kiln_cpu_sgemm
// ALL: linalg.conv_2d_nchw_fchw {{.*}} memref<1x8x10x10xf16>
// ALL: linalg.conv_2d_nchw_fchw {{.*}} memref<1x1x3x3xf32>
func.func @others(%a: memref<64x96xf32>, %b: memref<96x128xf32>, %c: memref<64x128xf32>,
                  %hx: memref<1x4x12x12xf16>, %hw: memref<8x4x3x3xf16>, %ho: memref<1x8x10x10xf16>,
                  %tx: memref<1x1x5x5xf32>, %tw: memref<1x1x3x3xf32>, %to: memref<1x1x3x3xf32>) {
  linalg.matmul ins(%a, %b : memref<64x96xf32>, memref<96x128xf32>) outs(%c : memref<64x128xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%hx, %hw : memref<1x4x12x12xf16>, memref<8x4x3x3xf16>) outs(%ho : memref<1x8x10x10xf16>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%tx, %tw : memref<1x1x5x5xf32>, memref<1x1x3x3xf32>) outs(%to : memref<1x1x3x3xf32>)
  return
}

// -----

// The output's start value and the op after the convolution go into the
// call's store: a per-filter bias broadcast before it, and after it an
// elementwise op computing max(min(O + R, 6), 0) into O itself (R a
// residual); O's later reader sees the final values. The bias goes in with
// its address and stride, R with its strides, the clamp as [0, 6], flags
// 2 (clamp, no start value).
// CHECK-LABEL: func.func @epilogue
// CHECK-NOT: linalg.broadcast
// CHECK-DAG: %[[LO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[HI:.+]] = arith.constant 6.000000e+00 : f32
// CHECK: %[[O:.+]] = memref.extract_aligned_pointer_as_index %[[OBUF:.+]] :
// CHECK: %[[B:.+]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK: %[[R:.+]] = memref.extract_aligned_pointer_as_index %arg3
// CHECK: call @kiln_cpu_conv2d({{.*}}, %c0, %[[B]], %c1, %[[R]], %c1024, %c64, %c8, %c1, %[[LO]], %[[HI]], %c2)
// CHECK-NOT: linalg.generic
// CHECK: memref.copy %[[OBUF]], %arg4
func.func @epilogue(%x: memref<1x16x8x8xf32>, %w: memref<16x16x3x3xf32>, %bias: memref<16xf32>, %r: memref<1x16x8x8xf32>, %y: memref<1x16x8x8xf32>) {
  %o = memref.alloc() : memref<1x16x8x8xf32>
  %c0 = arith.constant 0.0 : f32
  %c6 = arith.constant 6.0 : f32
  %p = memref.alloc() : memref<1x16x10x10xf32>
  linalg.fill ins(%c0 : f32) outs(%p : memref<1x16x10x10xf32>)
  %interior = memref.subview %p[0, 0, 1, 1] [1, 16, 8, 8] [1, 1, 1, 1] : memref<1x16x10x10xf32> to memref<1x16x8x8xf32, strided<[1600, 100, 10, 1], offset: 11>>
  memref.copy %x, %interior : memref<1x16x8x8xf32> to memref<1x16x8x8xf32, strided<[1600, 100, 10, 1], offset: 11>>
  linalg.broadcast ins(%bias : memref<16xf32>) outs(%o : memref<1x16x8x8xf32>) dimensions = [0, 2, 3]
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%p, %w : memref<1x16x10x10xf32>, memref<16x16x3x3xf32>) outs(%o : memref<1x16x8x8xf32>)
  linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%o, %r : memref<1x16x8x8xf32>, memref<1x16x8x8xf32>) outs(%o : memref<1x16x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    %m = arith.minimumf %s, %c6 : f32
    %n = arith.maximumf %m, %c0 : f32
    linalg.yield %n : f32
  }
  memref.copy %o, %y : memref<1x16x8x8xf32> to memref<1x16x8x8xf32>
  return
}

// -----

// Not folded into the store: a residual added after the clamp, and an op
// that uses its output's old value. The start value (zeros here) still
// is: no fill, flags 0.
// CHECK-LABEL: func.func @not_epilogue
// CHECK-NOT: linalg.fill
// CHECK: call @kiln_cpu_conv2d({{.*}}, %c0)
// CHECK: linalg.generic
// CHECK: call @kiln_cpu_conv2d({{.*}}, %c0)
// CHECK: linalg.generic
func.func @not_epilogue(%x: memref<1x16x8x8xf32>, %w: memref<16x16x3x3xf32>, %r: memref<1x16x6x6xf32>, %y: memref<1x16x6x6xf32>, %z: memref<1x16x6x6xf32>) {
  %c0 = arith.constant 0.0 : f32
  %o = memref.alloc() : memref<1x16x6x6xf32>
  linalg.fill ins(%c0 : f32) outs(%o : memref<1x16x6x6xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : memref<1x16x8x8xf32>, memref<16x16x3x3xf32>) outs(%o : memref<1x16x6x6xf32>)
  linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%o, %r : memref<1x16x6x6xf32>, memref<1x16x6x6xf32>) outs(%y : memref<1x16x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.maximumf %a, %c0 : f32
    %s = arith.addf %m, %b : f32
    linalg.yield %s : f32
  }
  %o2 = memref.alloc() : memref<1x16x6x6xf32>
  linalg.fill ins(%c0 : f32) outs(%o2 : memref<1x16x6x6xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : memref<1x16x8x8xf32>, memref<16x16x3x3xf32>) outs(%o2 : memref<1x16x6x6xf32>)
  linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%o2 : memref<1x16x6x6xf32>) outs(%z : memref<1x16x6x6xf32>) {
  ^bb0(%a: f32, %out: f32):
    %s = arith.addf %a, %out : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A depthwise convolution (grouped, one channel per group) gets the same:
// its zero-padded input read in place (extent 8 x 8, pads 1 and 1), the
// per-channel bias broadcast (a linalg.generic) as its start value, and
// the clamp to [0, 6] after it in the store (flags 2).
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT: linalg.fill
// CHECK-NOT: memref.copy
// CHECK-NOT: linalg.generic
// CHECK: call @kiln_cpu_depthwise_conv2d(%c1, %c32, %c8, %c8, %c3, %c3, %c1, %c1, %c1, %c1, %{{.*}}, %c2048, %c64, %c8, %c1, %{{.*}}, %c9, %c3, %c1, %{{.*}}, %c2048, %c64, %c8, %c1, %c8, %c8, %c1, %c1, %{{.*}}, %c1, %c0, %c0, %c0, %c0, %c0, %{{.*}}, %{{.*}}, %c2)
// CHECK-NOT: linalg.generic
#dwin = affine_map<(n, g, f, oh, ow, c, kh, kw) -> (n, g, c, oh + kh, ow + kw)>
#dwfl = affine_map<(n, g, f, oh, ow, c, kh, kw) -> (g, f, c, kh, kw)>
#dwout = affine_map<(n, g, f, oh, ow, c, kh, kw) -> (n, g, f, oh, ow)>
#bias = affine_map<(a, b, c, d, e) -> (b, c)>
#id5 = affine_map<(a, b, c, d, e) -> (a, b, c, d, e)>
func.func @depthwise(%x: memref<1x32x1x8x8xf32>, %w: memref<32x1x1x3x3xf32>, %bias: memref<32x1xf32>) -> memref<1x32x1x8x8xf32> {
  %c0 = arith.constant 0.0 : f32
  %c6 = arith.constant 6.0 : f32
  %o = memref.alloc() : memref<1x32x1x8x8xf32>
  linalg.generic {indexing_maps = [#bias, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%bias : memref<32x1xf32>) outs(%o : memref<1x32x1x8x8xf32>) {
  ^bb0(%b: f32, %out: f32):
    linalg.yield %b : f32
  }
  %p = memref.alloc() : memref<1x32x1x10x10xf32>
  linalg.fill ins(%c0 : f32) outs(%p : memref<1x32x1x10x10xf32>)
  %interior = memref.subview %p[0, 0, 0, 1, 1] [1, 32, 1, 8, 8] [1, 1, 1, 1, 1] : memref<1x32x1x10x10xf32> to memref<1x32x1x8x8xf32, strided<[3200, 100, 100, 10, 1], offset: 11>>
  memref.copy %x, %interior : memref<1x32x1x8x8xf32> to memref<1x32x1x8x8xf32, strided<[3200, 100, 100, 10, 1], offset: 11>>
  linalg.generic {indexing_maps = [#dwin, #dwfl, #dwout], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%p, %w : memref<1x32x1x10x10xf32>, memref<32x1x1x3x3xf32>) outs(%o : memref<1x32x1x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%o : memref<1x32x1x8x8xf32>) outs(%o : memref<1x32x1x8x8xf32>) {
  ^bb0(%a: f32, %out: f32):
    %lo = arith.maximumf %a, %c0 : f32
    %hi = arith.minimumf %lo, %c6 : f32
    linalg.yield %hi : f32
  }
  return %o : memref<1x32x1x8x8xf32>
}
