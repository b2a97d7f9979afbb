// RUN: kiln-opt %s -split-input-file -kiln-memory-plan | FileCheck %s

// %a dies when %b is written, so %c reuses %a's bytes; %b stays apart.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME: kiln.arena_bytes = 512
// CHECK: %[[ARENA:.+]] = memref.alloc() {alignment = 64 : i64} : memref<512xi8>
// CHECK-NOT: memref.alloc()
// CHECK: %[[OA:.+]] = arith.constant 0 : index
// CHECK: memref.view %[[ARENA]][%[[OA]]][] : memref<512xi8> to memref<64xf32>
// CHECK: %[[OB:.+]] = arith.constant 256 : index
// CHECK: memref.view %[[ARENA]][%[[OB]]][] : memref<512xi8> to memref<64xf32>
// CHECK: %[[OC:.+]] = arith.constant 0 : index
// CHECK: memref.view %[[ARENA]][%[[OC]]][] : memref<512xi8> to memref<64xf32>
func.func @reuse(%in: memref<64xf32>, %out: memref<64xf32>) {
  %a = memref.alloc() : memref<64xf32>
  memref.copy %in, %a : memref<64xf32> to memref<64xf32>
  %b = memref.alloc() : memref<64xf32>
  memref.copy %a, %b : memref<64xf32> to memref<64xf32>
  %c = memref.alloc() : memref<64xf32>
  memref.copy %b, %c : memref<64xf32> to memref<64xf32>
  memref.copy %c, %out : memref<64xf32> to memref<64xf32>
  return
}

// -----

// A view keeps its buffer alive: %a is used through %v after %b exists,
// so they cannot share.
// CHECK-LABEL: func.func @alias_extends_life
// CHECK-SAME: kiln.arena_bytes = 512
func.func @alias_extends_life(%in: memref<8x8xf32>, %out: memref<64xf32>) {
  %a = memref.alloc() : memref<8x8xf32>
  memref.copy %in, %a : memref<8x8xf32> to memref<8x8xf32>
  %v = memref.collapse_shape %a [[0, 1]] : memref<8x8xf32> into memref<64xf32>
  %b = memref.alloc() : memref<64xf32>
  memref.copy %v, %b : memref<64xf32> to memref<64xf32>
  memref.copy %v, %out : memref<64xf32> to memref<64xf32>
  memref.copy %b, %out : memref<64xf32> to memref<64xf32>
  return
}

// -----

// Dynamic shapes stay ordinary allocations.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: kiln.arena_bytes
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
func.func @dynamic(%n: index) {
  %a = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %a : memref<?xf32>
  return
}
