// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy,kiln-gpu-contraction,kiln-gpu-contraction-mapping))' | FileCheck %s

// The block loop becomes the grid (x: N tiles, y: M tiles, z: batch), the
// shared buffers workgroup attributions, each thread phase is inlined
// with gpu.thread_id x and followed by a barrier (none after the last),
// and each thread keeps a 4x4 accumulator array of its own.
// CHECK-LABEL: func.func @matmul
// CHECK:         gpu.launch blocks(%[[BX:.*]], %[[BY:.*]], %{{.*}}) in (%{{.*}} = %c3{{.*}}, %{{.*}} = %c2{{.*}}, %{{.*}} = %c1{{.*}}) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c256{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) workgroup(%[[SA:.*]] : memref<2x16x66xf32, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<2x16x64xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[TID:.*]] = gpu.thread_id x
// CHECK:           %[[ACC:.*]] = memref.alloca() : memref<4x4xf32>
// CHECK:           arith.muli %[[BY]], %c64
// CHECK:           arith.muli %[[BX]], %c64
// CHECK:           memref.store %{{.*}}, %[[ACC]][%c0{{.*}}, %c0{{.*}}] : memref<4x4xf32>
// CHECK:           memref.store %{{.*}}, %[[SA]]
// CHECK:           gpu.barrier
// CHECK:           scf.for
// CHECK:             memref.load %[[SA]]
// CHECK:             memref.load %[[SB]]
// CHECK:             gpu.barrier
// CHECK:           }
// CHECK-NOT:       gpu.barrier
// CHECK:           memref.load %[[ACC]]
// CHECK:           gpu.terminator
// CHECK-NOT:     scf.forall
func.func @matmul(%a: memref<128x48xf32>, %b: memref<48x192xf32>, %out: memref<128x192xf32>) {
  linalg.matmul ins(%a, %b : memref<128x48xf32>, memref<48x192xf32>) outs(%out : memref<128x192xf32>)
  return
}
