// RUN: kiln-opt %s -split-input-file -verify-diagnostics --kiln-gpu-lower-bf16-mma-sync | FileCheck %s

// m16n8k16 bf16: each row of a fragment (two bf16) becomes one i32
// register, the f32 accumulators go one by one, and the result struct
// is reassembled into the accumulator vector.
// CHECK-LABEL: func.func @bf16_k16
// CHECK-SAME:    (%[[A:.*]]: vector<4x2xbf16>, %[[B:.*]]: vector<2x2xbf16>, %[[C:.*]]: vector<2x2xf32>)
// CHECK:         %[[A0:.*]] = vector.extract %[[A]][0] : vector<2xbf16> from vector<4x2xbf16>
// CHECK:         %[[A0W:.*]] = vector.bitcast %[[A0]] : vector<2xbf16> to vector<1xi32>
// CHECK:         %[[A0R:.*]] = vector.extract %[[A0W]][0] : i32 from vector<1xi32>
// CHECK:         %[[A3:.*]] = vector.extract %[[A]][3] : vector<2xbf16> from vector<4x2xbf16>
// CHECK:         %[[A3W:.*]] = vector.bitcast %[[A3]]
// CHECK:         %[[A3R:.*]] = vector.extract %[[A3W]][0]
// CHECK:         %[[B0:.*]] = vector.extract %[[B]][0] : vector<2xbf16> from vector<2x2xbf16>
// CHECK:         %[[B1:.*]] = vector.extract %[[B]][1] : vector<2xbf16> from vector<2x2xbf16>
// CHECK:         %[[B1W:.*]] = vector.bitcast %[[B1]]
// CHECK:         %[[B1R:.*]] = vector.extract %[[B1W]][0]
// CHECK:         %[[C0:.*]] = vector.extract %[[C]][0, 0] : f32 from vector<2x2xf32>
// CHECK:         %[[C3:.*]] = vector.extract %[[C]][1, 1] : f32 from vector<2x2xf32>
// CHECK:         %[[D:.*]] = nvvm.mma.sync A[%[[A0R]], %{{.*}}, %{{.*}}, %[[A3R]]] B[%{{.*}}, %[[B1R]]] C[%[[C0]], %{{.*}}, %{{.*}}, %[[C3]]]
// CHECK-SAME:      multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-SAME:      : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:         %[[D0:.*]] = llvm.extractvalue %[[D]][0]
// CHECK:         %[[D3:.*]] = llvm.extractvalue %[[D]][3]
// CHECK:         %[[V:.*]] = vector.from_elements %[[D0]], %{{.*}}, %{{.*}}, %[[D3]] : vector<2x2xf32>
// CHECK:         return %[[V]]
// CHECK-NOT:     nvgpu.mma.sync
func.func @bf16_k16(%a: vector<4x2xbf16>, %b: vector<2x2xbf16>, %c: vector<2x2xf32>) -> vector<2x2xf32> {
  %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}

// -----

// m16n8k8 bf16: two A registers and one B register.
// CHECK-LABEL: func.func @bf16_k8
// CHECK:         nvvm.mma.sync A[%{{.*}}, %{{.*}}] B[%{{.*}}] C[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}]
// CHECK-SAME:      shape = #nvvm.shape<m = 16, n = 8, k = 8>
// CHECK-SAME:      : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @bf16_k8(%a: vector<2x2xbf16>, %b: vector<1x2xbf16>, %c: vector<2x2xf32>) -> vector<2x2xf32> {
  %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 8]} : (vector<2x2xbf16>, vector<1x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}

// -----

// f16 is left to the upstream NVVM lowering.
// CHECK-LABEL: func.func @f16_untouched
// CHECK:         nvgpu.mma.sync
// CHECK-NOT:     nvvm.mma.sync
func.func @f16_untouched(%a: vector<4x2xf16>, %b: vector<2x2xf16>, %c: vector<2x2xf32>) -> vector<2x2xf32> {
  %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}

// -----

func.func @bf16_f16_accumulators(%a: vector<4x2xbf16>, %b: vector<2x2xbf16>, %c: vector<2x2xf16>) -> vector<2x2xf16> {
  // expected-error @+1 {{bf16 mma.sync lowers with f32 accumulators only, not 'vector<2x2xf16>'}}
  %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf16>) -> vector<2x2xf16>
  return %d : vector<2x2xf16>
}
