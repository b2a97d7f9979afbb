// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg=keep-f32-attention=1 -kiln-cpu-attention-to-call | FileCheck %s
// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg | FileCheck %s --check-prefix=PARTS

// On the CPU a static f32 attention is one call to the runtime's kernel on
// its operands' buffers, inside a region that keeps them live; the key
// heads (2) go in unrepeated, the broadcast mask with stride 0 along heads
// and queries, the causal offset and flags (causal | zero NaN rows = 3).
// CHECK-LABEL: func.func @attention
// CHECK-DAG: bufferization.to_buffer %arg0 read_only : tensor<1x4x6x8xf32> to memref<1x4x6x8xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-DAG: bufferization.to_buffer %arg3 read_only : tensor<1x1x1x6xf32>
// CHECK: %[[OUT:.+]] = memref.alloc() {alignment = 64 : i64} : memref<1x4x6x8xf32>
// CHECK: scf.execute_region no_inline {
// CHECK: func.call @kiln_cpu_attention(
// CHECK: scf.yield
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: func.func private @kiln_cpu_attention(index, {{.*}}, f32, index, index)

// Without keep-f32-attention (and for other types) it becomes its parts: K and V
// repeated over query heads, matmul, scale, mask, causal bias, softmax,
// NaN rows zeroed, matmul.
// PARTS-LABEL: func.func @attention
// PARTS-NOT: kiln.attention
// PARTS: linalg.batch_matmul
// PARTS: math.exp
// PARTS: arith.cmpf oeq
func.func @attention(%q: tensor<1x4x6x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x8xf32>, %m: tensor<1x1x1x6xf32>) -> tensor<1x4x6x8xf32> {
  %0 = kiln.attention %q, %k, %v mask %m {scale = 0.35 : f32, causal_offset = 0 : i64, zero_nan_rows} : (tensor<1x4x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x1x1x6xf32>) -> tensor<1x4x6x8xf32>
  return %0 : tensor<1x4x6x8xf32>
}

// -----

// f16 has no CPU kernel: its parts, even when f32 ones are kept.
// CHECK-LABEL: func.func @half
// CHECK-NOT: kiln_cpu_attention
// CHECK: linalg
func.func @half(%q: tensor<1x2x4x8xf16>) -> tensor<1x2x4x8xf16> {
  %0 = kiln.attention %q, %q, %q {scale = 0.35 : f32} : (tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>) -> tensor<1x2x4x8xf16>
  return %0 : tensor<1x2x4x8xf16>
}
