// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy,kiln-gpu-contraction))' | FileCheck %s
// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy{precision=fp16},kiln-gpu-contraction))' | FileCheck %s --check-prefix=FP16
// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy{precision=tf32},kiln-gpu-contraction))' | FileCheck %s --check-prefix=TF32
// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy{precision=bf16},kiln-gpu-contraction))' | FileCheck %s --check-prefix=BF16
// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy{precision=bf16},kiln-gpu-contraction{emulation=true}))' | FileCheck %s --check-prefix=EMU
// RUN: kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy{precision=fp16},kiln-gpu-contraction{emulation=true}))' | FileCheck %s --check-prefix=EMU16
// RUN: not kiln-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy{precision=fp8},kiln-gpu-contraction))' 2>&1 | FileCheck %s --check-prefix=BADPREC

// A 128x96 * 96x80 matmul with its relu: 64x64 block tiles (grid 1x2x2),
// 16-deep K tiles, 256 threads with 4x4 micro-tiles, two shared buffers
// per operand, the relu in the epilogue and no intermediate buffer.
// CHECK-LABEL: func.func @matmul_relu
// CHECK-NOT:     memref.alloc(
// CHECK:         scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (1, 2, 2) {
// CHECK:           memref.alloca() : memref<2x16x66xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.alloca() : memref<2x16x64xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.alloca() : memref<256x4x4xf32, #gpu.address_space<private>>
// Phase 1: accumulators, then the first K tile into buffer 0.
// CHECK:           scf.forall (%{{.*}}) in (256) {
// CHECK:             memref.load %arg0
// CHECK:             memref.store %{{.*}}, %{{.*}}[%c0{{.*}}, %{{.*}}, %{{.*}}] : memref<2x16x66xf32, #gpu.address_space<workgroup>>
// CHECK:           } {mapping = [#gpu.thread<x>]}
// One phase per K tile: prefetch the next tile, compute, fill the other buffer.
// CHECK:           scf.for %[[KT:.*]] = %{{.*}} to %c6 step
// CHECK:             scf.forall (%{{.*}}) in (256) {
// CHECK:               scf.if %{{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK:               arith.remui %[[KT]], %c2
// CHECK:               scf.for %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (f32,
// CHECK:                 memref.load %{{.*}} : memref<2x16x66xf32, #gpu.address_space<workgroup>>
// CHECK:                 memref.load %{{.*}} : memref<2x16x64xf32, #gpu.address_space<workgroup>>
// CHECK:                 math.fma
// CHECK:               scf.if %{{.*}} {
// CHECK:                 memref.store %{{.*}} : memref<2x16x64xf32, #gpu.address_space<workgroup>>
// CHECK:             } {mapping = [#gpu.thread<x>]}
// Epilogue: N = 80 is not a multiple of 64, so stores are guarded.
// CHECK:           scf.forall (%{{.*}}) in (256) {
// CHECK:             scf.if
// CHECK:               arith.maximumf
// CHECK:               memref.store %{{.*}}, %arg2
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {kiln_gpu.strategy = #kiln_gpu.strategy<kind = tiled_contraction, tile = [64, 64, 16], micro_tile = [4, 4], threads = 256, stages = 2, note = "m=128 n=80 k=96">, mapping = [#gpu.block<z>, #gpu.block<y>, #gpu.block<x>]}
// CHECK-NOT:     linalg.
// CHECK:         return

// fp16, bf16 and tf32: the matmul (M, N >= 64, K >= 16, operands with a
// contiguous GEMM coordinate) takes the pipelined tensor-core kernel:
// 64 x 64 x 32 tiles (128-wide ones would give two blocks) copied with
// cp.async into three f32 stages, A's fragments (k-contiguous) read with
// ldmatrix, B's (n-contiguous) with swizzled loads, per warp (32 x 16 warp
// tiles) and K step two m16n8 mma tiles in each of the two n8 columns.
// FP16-LABEL: func.func @matmul_relu
// FP16:         nvgpu.device_async_copy {{.*}} : memref<128x96xf32> to memref<3x64x32xf32, #gpu.address_space<workgroup>>
// FP16:         nvgpu.device_async_copy {{.*}} : memref<96x80xf32> to memref<3x32x64xf32, #gpu.address_space<workgroup>>
// FP16:         nvgpu.device_async_create_group
// FP16:         nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// FP16:         nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<3x64x32xf32, #gpu.address_space<workgroup>> -> vector<4x1xf32>
// FP16:         arith.truncf %{{.*}} : f32 to f16
// FP16:         vector.from_elements {{.*}} : vector<4x2xf16>
// FP16-COUNT-4: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// FP16:         arith.maximumf
// FP16-LABEL: func.func @conv
// FP16-NOT:     nvgpu.mma.sync
// FP16:         arith.extf %{{.*}} : f16 to f32
// FP16:         math.fma
// bf16 on tensor cores too, with the fp16 fragment layout.
// BF16-LABEL: func.func @matmul_relu
// BF16:         nvgpu.device_async_copy
// BF16:         arith.truncf %{{.*}} : f32 to bf16
// BF16:         vector.from_elements {{.*}} : vector<4x2xbf16>
// BF16-COUNT-4: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
// BF16:         arith.maximumf
// BF16-LABEL: func.func @conv
// BF16-NOT:     nvgpu.mma.sync
// BF16:         arith.extf %{{.*}} : bf16 to f32
// BF16:         math.fma
// TF32-LABEL: func.func @matmul_relu
// TF32-COUNT-4: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>

// Phase-by-phase emulation has no asynchronous copies: the pipelined
// kernel's tiles with scalar fmas, double-buffered f32 shared tiles.
// EMU16-LABEL: func.func @matmul_relu
// EMU16-NOT:     nvgpu.
// EMU16:         math.fma

// In emulation, every buffer is in the default memory space and bf16
// rounding is integer arithmetic on the f32 bits.
// EMU-LABEL:  func.func @matmul_relu
// EMU:          memref.alloca() : memref<2x32x65xf32>
// EMU:          memref.alloca() : memref<2x32x64xf32>
// EMU:          memref.alloca() : memref<256x2x8xf32>
// EMU:          arith.bitcast %{{.*}} : f32 to i32
// EMU:          arith.andi %{{.*}}, %c-65536_i32

// BADPREC: for the --precision option: Cannot find option named 'fp8'!
func.func @matmul_relu(%a: memref<128x96xf32>, %b: memref<96x80xf32>, %out: memref<128x80xf32>) {
  %cst = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<128x80xf32>
  linalg.fill ins(%cst : f32) outs(%c : memref<128x80xf32>)
  linalg.matmul ins(%a, %b : memref<128x96xf32>, memref<96x80xf32>) outs(%c : memref<128x80xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%c : memref<128x80xf32>) outs(%out : memref<128x80xf32>) {
  ^bb0(%in: f32, %o: f32):
    %r = arith.maximumf %in, %cst : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Implicit GEMM: M = 16 filters, N = 64 pixels, K = 8*3*3; the input
// window is indexed in place (oh + kh, ow + kw), no im2col buffer. The
// accumulators start from the output (the bias broadcast into it).
// CHECK-LABEL: func.func @conv
// CHECK-NOT:     memref.alloc(
// CHECK:         scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (1, 1, 1) {
// CHECK:           memref.alloca() : memref<2x16x18xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.alloca() : memref<2x16x64xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.alloca() : memref<256x1x4xf32, #gpu.address_space<private>>
// CHECK:           scf.forall
// CHECK:             memref.load %arg2
// CHECK:             memref.load %arg1[{{.*}}] : memref<16x8x3x3xf32>
// CHECK:             arith.remui %{{.*}}, %c8
// CHECK:             memref.load %arg0[{{.*}}] : memref<1x8x10x10xf32>
// CHECK:         } {kiln_gpu.strategy = #kiln_gpu.strategy<kind = tiled_contraction, tile = [16, 64, 16], micro_tile = [1, 4], threads = 256
// CHECK-NOT:     linalg.conv
func.func @conv(%x: memref<1x8x10x10xf32>, %w: memref<16x8x3x3xf32>, %out: memref<1x16x8x8xf32>) {
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : memref<1x8x10x10xf32>, memref<16x8x3x3xf32>) outs(%out : memref<1x16x8x8xf32>)
  return
}

// -----

// A skinny batched matmul (M = 3): the block takes all rows (BM = 4) and
// gives its 256 threads to the columns, one output each.
// CHECK-LABEL: func.func @batch_skinny
// CHECK:         scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (6, 1, 1) {
// CHECK:           memref.alloca() : memref<256x1x1xf32, #gpu.address_space<private>>
// CHECK:         } {kiln_gpu.strategy = #kiln_gpu.strategy<kind = tiled_contraction, tile = [4, 64, 16], micro_tile = [1, 1], threads = 256
func.func @batch_skinny(%a: memref<6x3x40xf32>, %b: memref<6x40x50xf32>, %out: memref<6x3x50xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<6x3x40xf32>, memref<6x40x50xf32>) outs(%out : memref<6x3x50xf32>)
  return
}

// -----

// The result is read by a second op: the consumer is not fused, the
// contraction stores its result and the generic stays.
// CHECK-LABEL: func.func @two_readers
// CHECK:         scf.forall
// CHECK:         linalg.generic
// CHECK:         memref.copy
func.func @two_readers(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %out: memref<64x64xf32>, %out2: memref<64x64xf32>) {
  %cst = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<64x64xf32>
  linalg.fill ins(%cst : f32) outs(%c : memref<64x64xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>) outs(%c : memref<64x64xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%c : memref<64x64xf32>) outs(%out : memref<64x64xf32>) {
  ^bb0(%in: f32, %o: f32):
    %r = arith.maximumf %in, %cst : f32
    linalg.yield %r : f32
  }
  memref.copy %c, %out2 : memref<64x64xf32> to memref<64x64xf32>
  return
}

// -----

// Different kernel groups from the fusion partition: not fused.
// CHECK-LABEL: func.func @other_group
// CHECK:         scf.forall
// CHECK:         linalg.generic
func.func @other_group(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %out: memref<64x64xf32>) {
  %cst = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<64x64xf32>
  linalg.fill ins(%cst : f32) outs(%c : memref<64x64xf32>)
  linalg.matmul {kiln.kernel = 1 : i64} ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>) outs(%c : memref<64x64xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%c : memref<64x64xf32>) outs(%out : memref<64x64xf32>) attrs = {kiln.kernel = 2 : i64} {
  ^bb0(%in: f32, %o: f32):
    %r = arith.maximumf %in, %cst : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// The bias broadcast into the output before the convolution becomes the
// accumulators' start value, read from the bias itself: no broadcast
// kernel and no intermediate buffer remain.
// CHECK-LABEL: func.func @conv_bias_relu
// CHECK-NOT:     linalg.broadcast
// CHECK-NOT:     memref.alloc(
// CHECK:         scf.forall
// CHECK:           memref.load %arg2[%{{.*}}] : memref<16xf32>
// CHECK:           arith.maximumf
// CHECK:           memref.store %{{.*}}, %arg3
// CHECK-NOT:     linalg.
func.func @conv_bias_relu(%x: memref<1x8x10x10xf32>, %w: memref<16x8x3x3xf32>, %bias: memref<16xf32>, %out: memref<1x16x8x8xf32>) {
  %cst = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<1x16x8x8xf32>
  linalg.broadcast ins(%bias : memref<16xf32>) outs(%c : memref<1x16x8x8xf32>) dimensions = [0, 2, 3]
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : memref<1x8x10x10xf32>, memref<16x8x3x3xf32>) outs(%c : memref<1x16x8x8xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c : memref<1x16x8x8xf32>) outs(%out : memref<1x16x8x8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %r = arith.maximumf %in, %cst : f32
    linalg.yield %r : f32
  }
  return
}
