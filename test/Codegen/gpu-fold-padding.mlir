// RUN: kiln-opt %s -split-input-file -kiln-gpu-mark-padding | FileCheck %s --check-prefix=MARK
// RUN: kiln-opt %s -split-input-file -kiln-gpu-mark-padding -kiln-gpu-select-strategy -kiln-gpu-contraction \
// RUN:   -kiln-gpu-parallel-outer -convert-linalg-to-parallel-loops -kiln-gpu-fold-padding \
// RUN:   | FileCheck %s

// A zero-padded convolution input (fill, interior copy) read only by the
// convolution: the fill becomes a tagged store loop, and once the implicit
// GEMM is built its loader reads X itself, each padded coordinate shifted
// by the low pad, checked against the extent and clamped to 0 outside it,
// the loaded value replaced by 0 there. No padded buffer, fill or copy
// remains.
// MARK-LABEL: func.func @conv
// MARK: scf.parallel
// MARK: memref.store %{{.*}}, %[[P:.+]][
// MARK: } {kiln.padding_fill}
// MARK: memref.copy
// MARK: linalg.conv_2d_nchw_fchw
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.+]]: memref<1x4x6x7xf32>, %[[W:.+]]: memref<8x4x3x3xf32>
// CHECK-NOT: memref.alloc() {{.*}}memref<1x4x9x10xf32>
// CHECK-NOT: memref.copy
// CHECK-NOT: kiln.padding_fill
// CHECK: scf.forall
// CHECK: %[[Y:.+]] = arith.subi %{{.*}}, %[[C1:.+]] : index
// CHECK: %[[YOK:.+]] = arith.cmpi ult, %[[Y]], %[[C6:.+]] : index
// CHECK: %[[YI:.+]] = arith.select %[[YOK]], %[[Y]], %[[C0:.+]] : index
// CHECK: %[[XX:.+]] = arith.subi %{{.*}}, %[[C2:.+]] : index
// CHECK: %[[XOK:.+]] = arith.cmpi ult, %[[XX]], %[[C7:.+]] : index
// CHECK: %[[XI:.+]] = arith.select %[[XOK]], %[[XX]], %{{.+}} : index
// CHECK: %[[OK:.+]] = arith.andi %[[YOK]], %[[XOK]] : i1
// CHECK: %[[V:.+]] = memref.load %[[X]][%{{.*}}, %{{.*}}, %[[YI]], %[[XI]]] : memref<1x4x6x7xf32>
// CHECK: arith.select %[[OK]], %[[V]], %{{.*}} : f32
// CHECK-NOT: memref.copy
// CHECK: return
func.func @conv(%x: memref<1x4x6x7xf32>, %w: memref<8x4x3x3xf32>, %out: memref<1x8x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<1x4x9x10xf32>
  linalg.map outs(%p : memref<1x4x9x10xf32>)
    (%init: f32) {
      linalg.yield %zero : f32
    }
  %interior = memref.subview %p[0, 0, 1, 2] [1, 4, 6, 7] [1, 1, 1, 1]
      : memref<1x4x9x10xf32> to memref<1x4x6x7xf32, strided<[360, 90, 10, 1], offset: 12>>
  memref.copy %x, %interior : memref<1x4x6x7xf32> to memref<1x4x6x7xf32, strided<[360, 90, 10, 1], offset: 12>>
  linalg.fill ins(%zero : f32) outs(%out : memref<1x8x4x4xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%p, %w : memref<1x4x9x10xf32>, memref<8x4x3x3xf32>) outs(%out : memref<1x8x4x4xf32>)
  return
}

// -----

// Max pooling pads with -inf, the identity of its maximum: the direct
// mapping's loads of the padded buffer read X, -inf in the padding.
// CHECK-LABEL: func.func @maxpool
// CHECK-SAME: (%[[X:.+]]: memref<1x2x5x5xf32>
// CHECK-NOT: memref.copy
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[V:.+]] = memref.load %[[X]]
// CHECK: %[[IN:.+]] = arith.select %{{.+}}, %[[V]], %{{.+}} : f32
// CHECK: arith.maximumf %{{.*}}, %[[IN]]
func.func @maxpool(%x: memref<1x2x5x5xf32>, %out: memref<1x2x3x3xf32>) {
  %neginf = arith.constant 0xFF800000 : f32
  %p = memref.alloc() : memref<1x2x7x7xf32>
  linalg.fill ins(%neginf : f32) outs(%p : memref<1x2x7x7xf32>)
  %interior = memref.subview %p[0, 0, 1, 1] [1, 2, 5, 5] [1, 1, 1, 1]
      : memref<1x2x7x7xf32> to memref<1x2x5x5xf32, strided<[98, 49, 7, 1], offset: 8>>
  memref.copy %x, %interior : memref<1x2x5x5xf32> to memref<1x2x5x5xf32, strided<[98, 49, 7, 1], offset: 8>>
  %window = memref.alloc() : memref<3x3xf32>
  linalg.fill ins(%neginf : f32) outs(%out : memref<1x2x3x3xf32>)
  linalg.generic {indexing_maps = [affine_map<(n, c, y, x, i, j) -> (n, c, y * 2 + i, x * 2 + j)>,
                                   affine_map<(n, c, y, x, i, j) -> (i, j)>,
                                   affine_map<(n, c, y, x, i, j) -> (n, c, y, x)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%p, %window : memref<1x2x7x7xf32>, memref<3x3xf32>) outs(%out : memref<1x2x3x3xf32>) {
  ^bb0(%in: f32, %unused: f32, %acc: f32):
    %m = arith.maximumf %acc, %in : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A pad value that is not the identity of the reader (0.5 before a
// convolution): the fill and the copy stay.
// MARK-LABEL: func.func @nonzero_pad
// MARK-NOT: kiln.padding_fill
// MARK: linalg.map
// CHECK-LABEL: func.func @nonzero_pad
// CHECK: %[[P:.+]] = memref.alloc() : memref<1x4x8x8xf32>
// CHECK: memref.copy
// CHECK: memref.load %[[P]]
func.func @nonzero_pad(%x: memref<1x4x6x6xf32>, %w: memref<8x4x3x3xf32>, %out: memref<1x8x6x6xf32>) {
  %half = arith.constant 0.5 : f32
  %zero = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<1x4x8x8xf32>
  linalg.map outs(%p : memref<1x4x8x8xf32>)
    (%init: f32) {
      linalg.yield %half : f32
    }
  %interior = memref.subview %p[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : memref<1x4x8x8xf32> to memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  memref.copy %x, %interior : memref<1x4x6x6xf32> to memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  linalg.fill ins(%zero : f32) outs(%out : memref<1x8x6x6xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%p, %w : memref<1x4x8x8xf32>, memref<8x4x3x3xf32>) outs(%out : memref<1x8x6x6xf32>)
  return
}

// -----

// The padded buffer also read by an elementwise op: kept.
// MARK-LABEL: func.func @pad_read_elsewhere
// MARK-NOT: kiln.padding_fill
// CHECK-LABEL: func.func @pad_read_elsewhere
// CHECK: %[[P:.+]] = memref.alloc() : memref<1x4x8x8xf32>
// CHECK: memref.copy
// CHECK: memref.load %[[P]]
func.func @pad_read_elsewhere(%x: memref<1x4x6x6xf32>, %w: memref<8x4x3x3xf32>, %out: memref<1x8x6x6xf32>,
                              %other: memref<1x4x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<1x4x8x8xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x4x8x8xf32>)
  %interior = memref.subview %p[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : memref<1x4x8x8xf32> to memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  memref.copy %x, %interior : memref<1x4x6x6xf32> to memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  linalg.fill ins(%zero : f32) outs(%out : memref<1x8x6x6xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%p, %w : memref<1x4x8x8xf32>, memref<8x4x3x3xf32>) outs(%out : memref<1x8x6x6xf32>)
  linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%p : memref<1x4x8x8xf32>) outs(%other : memref<1x4x8x8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// The unpadded input overwritten between the copy and the convolution:
// the padded buffer holds the old values, so it is kept.
// MARK-LABEL: func.func @input_overwritten
// MARK-NOT: kiln.padding_fill
// CHECK-LABEL: func.func @input_overwritten
// CHECK: %[[P:.+]] = memref.alloc() : memref<1x4x8x8xf32>
// CHECK: memref.copy
// CHECK: memref.load %[[P]]
func.func @input_overwritten(%x: memref<1x4x6x6xf32>, %w: memref<8x4x3x3xf32>, %out: memref<1x8x6x6xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %p = memref.alloc() : memref<1x4x8x8xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x4x8x8xf32>)
  %interior = memref.subview %p[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : memref<1x4x8x8xf32> to memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  memref.copy %x, %interior : memref<1x4x6x6xf32> to memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  linalg.fill ins(%one : f32) outs(%x : memref<1x4x6x6xf32>)
  linalg.fill ins(%zero : f32) outs(%out : memref<1x8x6x6xf32>)
  linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%p, %w : memref<1x4x8x8xf32>, memref<8x4x3x3xf32>) outs(%out : memref<1x8x6x6xf32>)
  return
}

// -----

// A fill loop tagged by kiln-gpu-mark-padding whose buffer is then read by
// something other than loads (here a copy): the fold leaves it, untagged.
// MARK-LABEL: func.func @tagged_not_foldable
// CHECK-LABEL: func.func @tagged_not_foldable
// CHECK: scf.parallel
// CHECK-NOT: kiln.padding_fill
// CHECK: memref.copy %[[P:.+]], %{{.*}} : memref<4xf32>
func.func @tagged_not_foldable(%x: memref<2xf32>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %zero, %p[%i] : memref<4xf32>
    scf.reduce
  } {kiln.padding_fill}
  %interior = memref.subview %p[1] [2] [1] : memref<4xf32> to memref<2xf32, strided<[1], offset: 1>>
  memref.copy %x, %interior : memref<2xf32> to memref<2xf32, strided<[1], offset: 1>>
  memref.copy %p, %y : memref<4xf32> to memref<4xf32>
  return
}

// -----

// A zero pad summed by a plain reduction (no window): not a convolution or
// pooling input, so it is kept.
// MARK-LABEL: func.func @pad_summed
// MARK-NOT: kiln.padding_fill
// MARK: linalg.fill
// CHECK-LABEL: func.func @pad_summed
// CHECK: %[[P:.+]] = memref.alloc() : memref<2x8xf32>
// CHECK: memref.copy
// CHECK: memref.load %[[P]]
func.func @pad_summed(%x: memref<2x6xf32>, %out: memref<2xf32>) {
  %zero = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<2x8xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<2x8xf32>)
  %interior = memref.subview %p[0, 1] [2, 6] [1, 1]
      : memref<2x8xf32> to memref<2x6xf32, strided<[8, 1], offset: 1>>
  memref.copy %x, %interior : memref<2x6xf32> to memref<2x6xf32, strided<[8, 1], offset: 1>>
  linalg.fill ins(%zero : f32) outs(%out : memref<2xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%p : memref<2x8xf32>) outs(%out : memref<2xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %acc, %in : f32
    linalg.yield %s : f32
  }
  return
}
