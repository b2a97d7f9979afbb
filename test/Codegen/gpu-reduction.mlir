// RUN: kiln-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy,kiln-gpu-reduction,kiln-gpu-lower-subgroup-reduce))' | FileCheck %s
// RUN: kiln-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy,kiln-gpu-reduction))' | FileCheck %s --check-prefix=SUB

// Warps combine with upstream's gpu.subgroup_reduce (the CHECK lines see it
// lowered to five xor shuffles): twice for rows of 256+ elements (within and
// across warps), once for a warp per row, with the body's combiner.
// SUB-LABEL: func.func @row_sum_exp
// SUB-COUNT-2: gpu.subgroup_reduce  add %{{.+}} uniform : (f32) -> f32
// SUB-LABEL: func.func @row_max_warp
// SUB: gpu.subgroup_reduce  maximumf %{{.+}} uniform : (f32) -> f32
// SUB-NOT: gpu.subgroup_reduce
// SUB-LABEL: func.func @not_rewritten

#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>
// Sum of exp over rows of 300: one block of 256 threads per row, the
// elementwise exp fused into the loads.
// CHECK-LABEL: func.func @row_sum_exp
// CHECK-DAG: %[[C6:.+]] = arith.constant 6 : index
// CHECK-DAG: %[[C256:.+]] = arith.constant 256 : index
// CHECK: gpu.launch blocks(%[[BX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C6]], {{.*}} threads(%[[TX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C256]], {{.*}} workgroup(%[[SH:.+]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for %{{.+}} = %[[TX]] to %{{.+}} step %{{.+}} iter_args
// CHECK: math.exp
// CHECK: arith.addf
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: scf.if
// CHECK: memref.store %{{.+}}, %[[SH]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SH]]
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: scf.if
// CHECK: memref.load %arg1
// CHECK: arith.addf
// CHECK: memref.store
// CHECK-NOT: linalg.generic
func.func @row_sum_exp(%x: memref<6x300xf32>, %y: memref<6xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<6x300xf32>) outs(%y : memref<6xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %e = math.exp %a : f32
    %s = arith.addf %acc, %e : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>
// Rows of 40: one warp, no shared memory, no barrier.
// CHECK-LABEL: func.func @row_max_warp
// CHECK: gpu.launch
// CHECK-NOT: workgroup
// CHECK-NOT: gpu.barrier
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: arith.maximumf
// CHECK-NOT: gpu.barrier
func.func @row_max_warp(%x: memref<4x40xf32>, %y: memref<4xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x40xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %acc, %a : f32
    linalg.yield %m : f32
  }
  return
}

// -----

#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>
// Short rows, products, two reduction loops and contractions keep the
// default mapping.
// CHECK-LABEL: func.func @not_rewritten
// CHECK-NOT: gpu.launch
// CHECK-COUNT-4: linalg.generic
func.func @not_rewritten(%x: memref<4x8xf32>, %y: memref<4xf32>, %z: memref<4x64xf32>,
                         %w: memref<2x64x64xf32>, %v: memref<2xf32>,
                         %z2: memref<64x64xf32>, %zo: memref<4x64xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x8xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%z : memref<4x64xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.mulf %acc, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0)>],
                  iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%w : memref<2x64x64xf32>) outs(%v : memref<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%z, %z2 : memref<4x64xf32>, memref<64x64xf32>) outs(%zo : memref<4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
