// Kernel arguments travel in 8-byte slots; a wider one is an error.
// RUN: not kiln-opt %s --kiln-gpu-emulation-to-llvm 2>&1 | FileCheck %s
// CHECK: error: GPU emulation passes kernel arguments in 8-byte slots, not 'vector<4xf32>'

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @store(%v: vector<4xf32>, %out: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      vector.store %v, %out[%c0] : memref<4xf32>, vector<4xf32>
      gpu.return
    }
  }
  func.func @main(%v: vector<4xf32>, %out: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@store blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%v : vector<4xf32>, %out : memref<4xf32>)
    return
  }
}
