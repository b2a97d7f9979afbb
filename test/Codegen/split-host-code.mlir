// RUN: kiln-opt %s -split-input-file -kiln-split-host-code=ops-per-function=3 | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-split-host-code=ops-per-function=0 | FileCheck %s --check-prefix=OFF

// A host function over the budget is cut into runs of at most 3 nested ops
// (pure ops that read a run's values ride along uncounted). Each run is a
// private noinline function: constants and views of the arena are
// recomputed inside, the arena, the stack buffer and earlier runs' values
// come in as arguments, values that later ops read go out as results. The
// allocations stay in the caller, before the first call.

// CHECK-LABEL: func.func private @main_part_0(
// CHECK-SAME:    %[[IN:.*]]: memref<4xf32>, %[[ARENA:.*]]: memref<64xi8>, %[[STACK:.*]]: memref<4xf32>) -> f32 attributes {passthrough = ["noinline"]}
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK:         %[[VIEW:.*]] = memref.view %[[ARENA]][%[[C0]]][]
// CHECK:         %[[A:.*]] = memref.load %[[IN]][%[[C0]]]
// CHECK:         %[[B:.*]] = arith.addf %[[A]], %[[A]]
// CHECK:         memref.store %[[B]], %[[VIEW]]
// CHECK:         memref.store %[[B]], %[[STACK]]
// CHECK:         return %[[B]] : f32
// CHECK-LABEL: func.func private @main_part_1(
// CHECK-SAME:    %{{.*}}: memref<64xi8>, %[[B1:.*]]: f32, %{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>) -> f32
// CHECK:         arith.mulf %{{.*}}, %[[B1]]
// CHECK-LABEL: func.func private @main_part_2(
// CHECK:         memref.dealloc
// CHECK-LABEL: func.func @main(
// CHECK:         %[[ALLOC:.*]] = memref.alloc()
// CHECK:         %[[ALLOCA:.*]] = memref.alloca()
// CHECK-NEXT:    %[[R0:.*]] = call @main_part_0(%{{.*}}, %[[ALLOC]], %[[ALLOCA]])
// CHECK-NEXT:    %[[R1:.*]] = call @main_part_1(%[[ALLOC]], %[[R0]],
// CHECK-NEXT:    call @main_part_2(%[[R1]],
// CHECK-NEXT:    return

// OFF-NOT: main_part
func.func @main(%in: memref<4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %arena = memref.alloc() : memref<64xi8>
  %tmp = memref.view %arena[%c0][] : memref<64xi8> to memref<4xf32>
  %a = memref.load %in[%c0] : memref<4xf32>
  %b = arith.addf %a, %a : f32
  memref.store %b, %tmp[%c1] : memref<4xf32>
  %st = memref.alloca() : memref<4xf32>
  memref.store %b, %st[%c0] : memref<4xf32>
  %d = memref.load %tmp[%c1] : memref<4xf32>
  %e = arith.mulf %d, %b : f32
  memref.store %e, %out[%c0] : memref<4xf32>
  %f = memref.load %st[%c0] : memref<4xf32>
  memref.store %f, %out[%c1] : memref<4xf32>
  memref.dealloc %arena : memref<64xi8>
  return
}

// -----

// Under the budget (3 ops in all): nothing changes.
// CHECK-LABEL: func.func @small(
// CHECK-NOT:     call
// CHECK:         return
func.func @small(%in: memref<4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  memref.copy %in, %out : memref<4xf32> to memref<4xf32>
  return
}

// -----

// A loop nest over the budget is a run of its own, and a stack allocation
// whose size a run computes comes after that run's call.
// CHECK-LABEL: func.func private @dyn_part_0(
// CHECK:         scf.for
// CHECK:       func.func private @dyn_part_1(
// CHECK:         return %{{.*}} : index
// CHECK-LABEL: func.func @dyn(
// CHECK:         call @dyn_part_0(
// CHECK-NEXT:    %[[N:.*]] = call @dyn_part_1(
// CHECK-NEXT:    memref.alloca(%[[N]])
func.func @dyn(%in: memref<4xf32>, %out: memref<4xf32>, %k: memref<index>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %in[%i] : memref<4xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %out[%i] : memref<4xf32>
  }
  %n = memref.load %k[] : memref<index>
  %buf = memref.alloca(%n) : memref<?xf32>
  %z = memref.load %out[%c0] : memref<4xf32>
  memref.store %z, %buf[%c0] : memref<?xf32>
  %y = memref.load %buf[%c0] : memref<?xf32>
  memref.store %y, %out[%c1] : memref<4xf32>
  return
}
