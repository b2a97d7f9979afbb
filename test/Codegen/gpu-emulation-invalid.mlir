// RUN: kiln-opt %s --split-input-file --kiln-emu-threads --verify-diagnostics

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @reduce(%in: memref<32xf32>, %out: memref<1xf32>) kernel {
      %c0 = arith.constant 0 : index
      %t = gpu.thread_id x
      %v = memref.load %in[%t] : memref<32xf32>
      // expected-error @+1 {{'gpu.subgroup_reduce' op is not supported by GPU emulation}}
      %s = gpu.subgroup_reduce add %v : (f32) -> f32
      memref.store %s, %out[%c0] : memref<1xf32>
      gpu.return
    }
  }
  func.func @main(%in: memref<32xf32>, %out: memref<1xf32>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@reduce blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%in : memref<32xf32>, %out : memref<1xf32>)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @+1 {{GPU emulation needs shared memory of a static, contiguous type, not 'memref<?xf32>'}}
    gpu.func @dyn(%out: memref<?xf32>) workgroup(%tile : memref<?xf32, #gpu.address_space<workgroup>>) kernel {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma_k8_f16(%a: vector<2x2xf16>, %b: vector<1x2xf16>, %c: vector<2x2xf32>,
                         %out: memref<2x2xf32>) kernel {
      %c0 = arith.constant 0 : index
      // expected-error @+1 {{GPU emulation runs mma.sync m16n8k16 with f16/bf16 inputs and m16n8k8 tf32, not this shape and type}}
      %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 8]} : (vector<2x2xf16>, vector<1x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      vector.store %d, %out[%c0, %c0] : memref<2x2xf32>, vector<2x2xf32>
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma_f16_acc(%a: vector<4x2xf16>, %b: vector<2x2xf16>, %c: vector<2x2xf16>,
                          %out: memref<2x2xf16>) kernel {
      %c0 = arith.constant 0 : index
      // expected-error @+1 {{GPU emulation runs mma.sync with f32 accumulators (vector<2x2xf32>) only}}
      %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf16>) -> vector<2x2xf16>
      vector.store %d, %out[%c0, %c0] : memref<2x2xf16>, vector<2x2xf16>
      gpu.return
    }
  }
}
