// RUN: kiln-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(kiln-gpu-select-strategy,kiln-gpu-elementwise{max-blocks=2}))' | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#bc = affine_map<(d0, d1) -> (d1)>
// 6x130 = 195 vectors of 4: x and y as 16-byte vectors, the bias per
// element; no tail.
// CHECK-LABEL: func.func @bias_relu
// CHECK-DAG: %[[X:.+]] = memref.collapse_shape %arg0 {{\[\[}}0, 1]] : memref<6x130xf32> into memref<780xf32>
// CHECK-DAG: %[[Y:.+]] = memref.collapse_shape %arg2 {{\[\[}}0, 1]] : memref<6x130xf32> into memref<780xf32>
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: vector.load %[[X]][%{{.+}}] {alignment = 16 : i64} : memref<780xf32>, vector<4xf32>
// CHECK-COUNT-4: memref.load %arg1
// CHECK: vector.from_elements
// CHECK: vector.store %{{.+}}, %[[Y]][%{{.+}}] {alignment = 16 : i64} : memref<780xf32>, vector<4xf32>
// CHECK-NOT: scf.if
// CHECK: gpu.terminator
func.func @bias_relu(%x: memref<6x130xf32>, %bias: memref<130xf32>, %y: memref<6x130xf32>) {
  linalg.generic {indexing_maps = [#id, #bc, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %bias : memref<6x130xf32>, memref<130xf32>) outs(%y : memref<6x130xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %s, %z : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// 2047 elements: 511 vectors in a grid-stride loop over 2 blocks, then a
// tail of 3 elements.
// CHECK-LABEL: func.func @tail
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.+}} = %[[C2]],
// CHECK-DAG: %[[N:.+]] = arith.constant 511 : index
// CHECK-DAG: %[[S:.+]] = arith.constant 512 : index
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[N]] step %[[S]]
// CHECK: vector.load
// CHECK-COUNT-4: math.exp
// CHECK: vector.store
// CHECK: %[[T:.+]] = arith.cmpi ult, %{{.+}}, %c3
// CHECK: scf.if %[[T]]
// CHECK: memref.load
// CHECK: math.exp
// CHECK: memref.store
func.func @tail(%x: memref<2047xf32>, %y: memref<2047xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : memref<2047xf32>) outs(%y : memref<2047xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// Reductions and 64-bit outputs are not elementwise kernels of this strategy.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: gpu.launch
func.func @untouched(%x: memref<8x8xf32>, %y: memref<8xf32>, %a: memref<64xi64>, %b: memref<64xi64>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x8xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                  iterator_types = ["parallel"]}
      ins(%a : memref<64xi64>) outs(%b : memref<64xi64>) {
  ^bb0(%v: i64, %o: i64):
    linalg.yield %v : i64
  }
  return
}
