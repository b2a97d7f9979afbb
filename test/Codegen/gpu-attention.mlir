// RUN: kiln-opt %s -convert-kiln-to-linalg=keep-f32-attention=1 -kiln-gpu-attention | FileCheck %s

// One launch per attention: blocks over (64-row query tiles, batch x
// heads) = (2, 8), 64 threads; K and V tiles of 32 keys and the 64 x 33
// score tile in shared memory; a barrier after the tile loads and one
// after the tile's use; exp for the online softmax; nothing of 100 x 100.
// CHECK-LABEL: func.func @attention
// CHECK: %[[OUT:.+]] = memref.alloc() : memref<2x4x100x16xf32>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c2{{.*}}, {{.*}} = %c8{{.*}}, {{.*}}) threads({{.*}}) in ({{.*}} = %c64,
// CHECK-SAME: workgroup(%{{.+}} : memref<32x16xf32, #gpu.address_space<workgroup>>, %{{.+}} : memref<32x16xf32, #gpu.address_space<workgroup>>, %{{.+}} : memref<64x33xf32, #gpu.address_space<workgroup>>)
// CHECK: gpu.barrier
// CHECK: math.exp
// CHECK: gpu.barrier
// CHECK: gpu.terminator
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK-NOT: 100x100
func.func @attention(%q: tensor<2x4x100x16xf32>, %k: tensor<2x2x100x16xf32>, %v: tensor<2x2x100x16xf32>) -> tensor<2x4x100x16xf32> {
  %0 = kiln.attention %q, %k, %v {scale = 0.25 : f32, causal_offset = 0 : i64} : (tensor<2x4x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x2x100x16xf32>) -> tensor<2x4x100x16xf32>
  return %0 : tensor<2x4x100x16xf32>
}

// Decoding (one query row, 300 cached keys): a block per (row, batch x
// head) = (1, 4), 64 threads splitting the keys, their partial outputs
// and (max, sum) pairs combined through shared memory.
// CHECK-LABEL: func.func @decode
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c4{{.*}}, {{.*}}) threads({{.*}}) in ({{.*}} = %c64,
// CHECK-SAME: workgroup(%{{.+}} : memref<64x16xf32, #gpu.address_space<workgroup>>, %{{.+}} : memref<64x2xf32, #gpu.address_space<workgroup>>)
// CHECK: math.exp
// CHECK: gpu.barrier
// CHECK: gpu.terminator
func.func @decode(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x300x16xf32>, %v: tensor<1x2x300x16xf32>) -> tensor<1x4x1x16xf32> {
  %0 = kiln.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<1x4x1x16xf32>, tensor<1x2x300x16xf32>, tensor<1x2x300x16xf32>) -> tensor<1x4x1x16xf32>
  return %0 : tensor<1x4x1x16xf32>
}
