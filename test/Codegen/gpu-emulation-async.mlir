// cp.async, ldmatrix and the shared-memory checks in thread-level GPU
// emulation. Hand-written kernels of 64 threads (two warps) copy a 256-float
// source into shared memory with nvgpu.device_async_copy (16 bytes a
// thread), then each thread reads four floats that the OTHER warp copied,
// mirrored, and stores them; the host counts the elements that differ from
// src[255 - i]. The count is 0 only where the copies were waited on and a
// barrier separates them from the reads: the emulator holds every copy
// until its group is waited on, so a kernel that reads early gets the stale
// bytes (and the run an error naming the read), and with the checks on
// (KILN_EMU_CHECKS=1) a read of another warp's copy with no barrier between
// is a race. ldmatrix x4 of f32 tiles and x1.trans of f16 tiles hand each
// lane the registers of the PTX ISA layout, which the host checks element
// by element.
// RUN: kiln-opt %s --kiln-gpu-emulation-to-llvm | env KILN_EMU_CHECKS=1 %preload_sanitizers mlir-runner -e main -entry-point-result=void -shared-libs=%kiln_lib/libkiln_runtime.so,%mlir_lib/libmlir_c_runner_utils.so 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=ERR < %t.err

// CHECK: waited, barrier: 0
// CHECK-NEXT: errors: 0
// CHECK-NEXT: hazards: 0
// CHECK-NEXT: two stages, wait_group 1 then 0: 0
// CHECK-NEXT: errors: 0
// CHECK-NEXT: hazards: 0
// CHECK-NEXT: half the bytes from global: 0
// CHECK-NEXT: errors: 0
// CHECK-NEXT: hazards: 0
// CHECK-NEXT: not waited: {{[1-9][0-9]*}}
// CHECK-NEXT: errors: 1
// CHECK-NEXT: hazards: {{[1-9][0-9]*}}
// CHECK-NEXT: waited, no barrier: {{[1-9][0-9]*}}
// CHECK-NEXT: errors: 0
// CHECK-NEXT: hazards: {{[1-9][0-9]*}}
// CHECK-NEXT: ldmatrix x4 f32: 0
// CHECK-NEXT: errors: 0
// CHECK-NEXT: hazards: 0
// CHECK-NEXT: ldmatrix x1 trans f16: 0
// CHECK-NEXT: errors: 0
// CHECK-NEXT: hazards: 0
// CHECK-NEXT: ldmatrix without the barrier after the stores: 0
// CHECK-NEXT: errors: 0
// CHECK-NEXT: hazards: 0
// CHECK-NEXT: ldmatrix by half a warp: {{[1-9][0-9]*}}
// CHECK-NEXT: errors: 1
// ERR: GPU emulation: kernel kernels_copy_not_waited, load #{{[0-9]+}} at {{.*}}gpu-emulation-async.mlir:{{[0-9]+}}:{{[0-9]+}}: thread {{[0-9]+}} of block (0, 0, 0) reads shared byte {{[0-9]+}} while an asynchronous copy to it (cp.async) has not been waited on

// ERR-NEXT: GPU emulation: in block (0, 0, 0), warp 0 reaches a warp collective (shuffle, mma.sync) with 16 lanes while 16 lanes have exited

#wg = #gpu.address_space<workgroup>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @copy_waited(%src: memref<256xf32>, %dst: memref<256xf32>, %exp: memref<256xf32>)
        workgroup(%sh : memref<256xf32, #wg>) kernel {
      %tid = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %i = arith.muli %tid, %c4 : index
      %j = arith.addi %i, %c2 : index
      %t = nvgpu.device_async_copy %src[%i], %sh[%i], 4 {bypassL1} : memref<256xf32> to memref<256xf32, #wg>
      %g = nvgpu.device_async_create_group %t
      nvgpu.device_async_wait %g {numGroups = 0 : i32}
      gpu.barrier
      %m1 = arith.constant 1 : index
      %m255 = arith.constant 255 : index
      %zero = arith.constant 0.0 : f32
      scf.for %e = %c0 to %c4 step %m1 {
        %jj = arith.addi %i, %e : index
        %r = arith.subi %m255, %jj : index
        %v = memref.load %sh[%r] : memref<256xf32, #wg>
        memref.store %v, %dst[%jj] : memref<256xf32>
        %s = memref.load %src[%r] : memref<256xf32>
        %w = arith.remui %r, %c4 : index
        %in = arith.cmpi ult, %w, %c4 : index
        %x = arith.select %in, %s, %zero : f32
        memref.store %x, %exp[%jj] : memref<256xf32>
      }
      gpu.return
    }
    gpu.func @copy_two_stages(%src: memref<256xf32>, %dst: memref<256xf32>, %exp: memref<256xf32>)
        workgroup(%sh : memref<256xf32, #wg>) kernel {
      %tid = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %i = arith.muli %tid, %c4 : index
      %j = arith.addi %i, %c2 : index
      %t0 = nvgpu.device_async_copy %src[%i], %sh[%i], 2 : memref<256xf32> to memref<256xf32, #wg>
      %g0 = nvgpu.device_async_create_group %t0
      %t1 = nvgpu.device_async_copy %src[%j], %sh[%j], 2 : memref<256xf32> to memref<256xf32, #wg>
      %g1 = nvgpu.device_async_create_group %t1
      nvgpu.device_async_wait %g1 {numGroups = 1 : i32}
      nvgpu.device_async_wait %g1 {numGroups = 0 : i32}
      gpu.barrier
      %m1 = arith.constant 1 : index
      %m255 = arith.constant 255 : index
      %zero = arith.constant 0.0 : f32
      scf.for %e = %c0 to %c4 step %m1 {
        %jj = arith.addi %i, %e : index
        %r = arith.subi %m255, %jj : index
        %v = memref.load %sh[%r] : memref<256xf32, #wg>
        memref.store %v, %dst[%jj] : memref<256xf32>
        %s = memref.load %src[%r] : memref<256xf32>
        %w = arith.remui %r, %c4 : index
        %in = arith.cmpi ult, %w, %c4 : index
        %x = arith.select %in, %s, %zero : f32
        memref.store %x, %exp[%jj] : memref<256xf32>
      }
      gpu.return
    }
    gpu.func @copy_partial(%src: memref<256xf32>, %dst: memref<256xf32>, %exp: memref<256xf32>)
        workgroup(%sh : memref<256xf32, #wg>) kernel {
      %tid = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %i = arith.muli %tid, %c4 : index
      %j = arith.addi %i, %c2 : index
      %t = nvgpu.device_async_copy %src[%i], %sh[%i], 4, %c2 {bypassL1} : memref<256xf32> to memref<256xf32, #wg>
      %g = nvgpu.device_async_create_group %t
      nvgpu.device_async_wait %g {numGroups = 0 : i32}
      gpu.barrier
      %m1 = arith.constant 1 : index
      %m255 = arith.constant 255 : index
      %zero = arith.constant 0.0 : f32
      scf.for %e = %c0 to %c4 step %m1 {
        %jj = arith.addi %i, %e : index
        %r = arith.subi %m255, %jj : index
        %v = memref.load %sh[%r] : memref<256xf32, #wg>
        memref.store %v, %dst[%jj] : memref<256xf32>
        %s = memref.load %src[%r] : memref<256xf32>
        %w = arith.remui %r, %c4 : index
        %in = arith.cmpi ult, %w, %c2 : index
        %x = arith.select %in, %s, %zero : f32
        memref.store %x, %exp[%jj] : memref<256xf32>
      }
      gpu.return
    }
    gpu.func @copy_not_waited(%src: memref<256xf32>, %dst: memref<256xf32>, %exp: memref<256xf32>)
        workgroup(%sh : memref<256xf32, #wg>) kernel {
      %tid = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %i = arith.muli %tid, %c4 : index
      %j = arith.addi %i, %c2 : index
      %t = nvgpu.device_async_copy %src[%i], %sh[%i], 4 {bypassL1} : memref<256xf32> to memref<256xf32, #wg>
      %g = nvgpu.device_async_create_group %t
      gpu.barrier
      %m1 = arith.constant 1 : index
      %m255 = arith.constant 255 : index
      %zero = arith.constant 0.0 : f32
      scf.for %e = %c0 to %c4 step %m1 {
        %jj = arith.addi %i, %e : index
        %r = arith.subi %m255, %jj : index
        %v = memref.load %sh[%r] : memref<256xf32, #wg>
        memref.store %v, %dst[%jj] : memref<256xf32>
        %s = memref.load %src[%r] : memref<256xf32>
        %w = arith.remui %r, %c4 : index
        %in = arith.cmpi ult, %w, %c4 : index
        %x = arith.select %in, %s, %zero : f32
        memref.store %x, %exp[%jj] : memref<256xf32>
      }
      nvgpu.device_async_wait %g {numGroups = 0 : i32}
      gpu.return
    }
    gpu.func @copy_no_barrier(%src: memref<256xf32>, %dst: memref<256xf32>, %exp: memref<256xf32>)
        workgroup(%sh : memref<256xf32, #wg>) kernel {
      %tid = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %i = arith.muli %tid, %c4 : index
      %j = arith.addi %i, %c2 : index
      %t = nvgpu.device_async_copy %src[%i], %sh[%i], 4 {bypassL1} : memref<256xf32> to memref<256xf32, #wg>
      %g = nvgpu.device_async_create_group %t
      nvgpu.device_async_wait %g {numGroups = 0 : i32}
      %m1 = arith.constant 1 : index
      %m255 = arith.constant 255 : index
      %zero = arith.constant 0.0 : f32
      scf.for %e = %c0 to %c4 step %m1 {
        %jj = arith.addi %i, %e : index
        %r = arith.subi %m255, %jj : index
        %v = memref.load %sh[%r] : memref<256xf32, #wg>
        memref.store %v, %dst[%jj] : memref<256xf32>
        %s = memref.load %src[%r] : memref<256xf32>
        %w = arith.remui %r, %c4 : index
        %in = arith.cmpi ult, %w, %c4 : index
        %x = arith.select %in, %s, %zero : f32
        memref.store %x, %exp[%jj] : memref<256xf32>
      }
      gpu.return
    }
    // Each copy kernel ends with dst[i + e] = sh[255 - i - e] for e < 4,
    // and exp the same element of src where its chunk copied it (the first
    // `valid` floats of each 4), else 0.
    // 32 x 4 f32 in shared memory, value 4r + c; lane l gives the address
    // of row l; register i of lane l must be row 8i + l / 4, column l % 4.
    gpu.func @ldm_x4(%out: memref<128xf32>, %exp: memref<128xf32>, %barrier: i1)
        workgroup(%sh : memref<32x4xf32, #wg>) kernel {
      %l = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      scf.for %c = %c0 to %c4 step %c1 {
        %r4 = arith.muli %l, %c4 : index
        %v = arith.addi %r4, %c : index
        %vi = arith.index_cast %v : index to i32
        %vf = arith.sitofp %vi : i32 to f32
        memref.store %vf, %sh[%l, %c] : memref<32x4xf32, #wg>
      }
      scf.if %barrier {
        gpu.barrier
      }
      %m = nvgpu.ldmatrix %sh[%l, %c0] {numTiles = 4 : i32, transpose = false} : memref<32x4xf32, #wg> -> vector<4x1xf32>
      %base = arith.muli %l, %c4 : index
      %q = arith.divui %l, %c4 : index
      %col = arith.remui %l, %c4 : index
      %flat = vector.shape_cast %m : vector<4x1xf32> to vector<4xf32>
      scf.for %i = %c0 to %c4 step %c1 {
        %e = vector.extract %flat[%i] : f32 from vector<4xf32>
        %o = arith.addi %base, %i : index
        memref.store %e, %out[%o] : memref<128xf32>
        %r8 = arith.muli %i, %c8 : index
        %row = arith.addi %r8, %q : index
        %row4 = arith.muli %row, %c4 : index
        %want = arith.addi %row4, %col : index
        %wi = arith.index_cast %want : index to i32
        %wf = arith.sitofp %wi : i32 to f32
        memref.store %wf, %exp[%o] : memref<128xf32>
      }
      gpu.return
    }
    // 8 x 8 f16, value 8r + c, written by lanes 0-7; .trans: lane l holds
    // elements (2 (l % 4), l / 4) and (2 (l % 4) + 1, l / 4).
    gpu.func @ldm_trans(%out: memref<64xf32>, %exp: memref<64xf32>)
        workgroup(%sh : memref<8x8xf16, #wg>) kernel {
      %l = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %row = arith.remui %l, %c8 : index
      %writer = arith.cmpi ult, %l, %c8 : index
      scf.if %writer {
        scf.for %c = %c0 to %c8 step %c1 {
          %r8 = arith.muli %row, %c8 : index
          %v = arith.addi %r8, %c : index
          %vi = arith.index_cast %v : index to i32
          %vf = arith.sitofp %vi : i32 to f16
          memref.store %vf, %sh[%row, %c] : memref<8x8xf16, #wg>
        }
      }
      gpu.barrier
      %m = nvgpu.ldmatrix %sh[%row, %c0] {numTiles = 1 : i32, transpose = true} : memref<8x8xf16, #wg> -> vector<1x2xf16>
      %flat = vector.shape_cast %m : vector<1x2xf16> to vector<2xf16>
      %t = arith.remui %l, %c4 : index
      %g = arith.divui %l, %c4 : index
      %r0 = arith.muli %t, %c2 : index
      %base = arith.muli %l, %c2 : index
      scf.for %h = %c0 to %c2 step %c1 {
        %e = vector.extract %flat[%h] : f16 from vector<2xf16>
        %ef = arith.extf %e : f16 to f32
        %o = arith.addi %base, %h : index
        memref.store %ef, %out[%o] : memref<64xf32>
        %r = arith.addi %r0, %h : index
        %r8 = arith.muli %r, %c8 : index
        %want = arith.addi %r8, %g : index
        %wi = arith.index_cast %want : index to i32
        %wf = arith.sitofp %wi : i32 to f32
        memref.store %wf, %exp[%o] : memref<64xf32>
      }
      gpu.return
    }
    // Lanes 16-31 leave before the ldmatrix: a run error, not a hang.
    gpu.func @ldm_half(%out: memref<128xf32>) workgroup(%sh : memref<32x4xf32, #wg>) kernel {
      %l = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c16 = arith.constant 16 : index
      %low = arith.cmpi ult, %l, %c16 : index
      scf.if %low {
        %m = nvgpu.ldmatrix %sh[%l, %c0] {numTiles = 4 : i32, transpose = false} : memref<32x4xf32, #wg> -> vector<4x1xf32>
        %e = vector.extract %m[0, 0] : f32 from vector<4x1xf32>
        memref.store %e, %out[%l] : memref<128xf32>
      }
      gpu.return
    }
  }

  func.func private @kiln_emu_check() -> i64
  func.func private @kiln_emu_hazards() -> i64
  func.func private @kiln_emu_report_reset()

  func.func @mismatches(%x: memref<?xf32>, %y: memref<?xf32>) -> i64 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = memref.dim %x, %c0 : memref<?xf32>
    %z = arith.constant 0 : i64
    %one = arith.constant 1 : i64
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (i64) {
      %a = memref.load %x[%i] : memref<?xf32>
      %b = memref.load %y[%i] : memref<?xf32>
      %same = arith.cmpf oeq, %a, %b : f32
      %add = arith.select %same, %z, %one : i64
      %next = arith.addi %acc, %add : i64
      scf.yield %next : i64
    }
    return %r : i64
  }

  func.func @report(%x: memref<?xf32>, %y: memref<?xf32>, %hazards: i1) {
    %m = func.call @mismatches(%x, %y) : (memref<?xf32>, memref<?xf32>) -> i64
    vector.print %m : i64
    %e = func.call @kiln_emu_check() : () -> i64
    vector.print str "errors: "
    vector.print %e : i64
    scf.if %hazards {
      %h = func.call @kiln_emu_hazards() : () -> i64
      vector.print str "hazards: "
      vector.print %h : i64
    }
    func.call @kiln_emu_report_reset() : () -> ()
    return
  }

  func.func @main() {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    %c64 = arith.constant 64 : index
    %c256 = arith.constant 256 : index
    %true = arith.constant true
    %false = arith.constant false
    %src = memref.alloc() : memref<256xf32>
    %dst = memref.alloc() : memref<256xf32>
    %exp = memref.alloc() : memref<256xf32>
    scf.for %i = %c0 to %c256 step %c1 {
      %ii = arith.index_cast %i : index to i32
      %f = arith.sitofp %ii : i32 to f32
      %h = arith.constant 0.5 : f32
      %v = arith.addf %f, %h : f32
      memref.store %v, %src[%i] : memref<256xf32>
    }
    %dd = memref.cast %dst : memref<256xf32> to memref<?xf32>
    %ed = memref.cast %exp : memref<256xf32> to memref<?xf32>
    func.call @kiln_emu_report_reset() : () -> ()

    gpu.launch_func @kernels::@copy_waited blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%src : memref<256xf32>, %dst : memref<256xf32>, %exp : memref<256xf32>)
    vector.print str "waited, barrier: "
    func.call @report(%dd, %ed, %true) : (memref<?xf32>, memref<?xf32>, i1) -> ()

    gpu.launch_func @kernels::@copy_two_stages blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%src : memref<256xf32>, %dst : memref<256xf32>, %exp : memref<256xf32>)
    vector.print str "two stages, wait_group 1 then 0: "
    func.call @report(%dd, %ed, %true) : (memref<?xf32>, memref<?xf32>, i1) -> ()

    gpu.launch_func @kernels::@copy_partial blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%src : memref<256xf32>, %dst : memref<256xf32>, %exp : memref<256xf32>)
    vector.print str "half the bytes from global: "
    func.call @report(%dd, %ed, %true) : (memref<?xf32>, memref<?xf32>, i1) -> ()

    gpu.launch_func @kernels::@copy_not_waited blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%src : memref<256xf32>, %dst : memref<256xf32>, %exp : memref<256xf32>)
    vector.print str "not waited: "
    func.call @report(%dd, %ed, %true) : (memref<?xf32>, memref<?xf32>, i1) -> ()

    gpu.launch_func @kernels::@copy_no_barrier blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%src : memref<256xf32>, %dst : memref<256xf32>, %exp : memref<256xf32>)
    vector.print str "waited, no barrier: "
    func.call @report(%dd, %ed, %true) : (memref<?xf32>, memref<?xf32>, i1) -> ()

    %out = memref.alloc() : memref<128xf32>
    %oexp = memref.alloc() : memref<128xf32>
    %od = memref.cast %out : memref<128xf32> to memref<?xf32>
    %oed = memref.cast %oexp : memref<128xf32> to memref<?xf32>
    gpu.launch_func @kernels::@ldm_x4 blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%out : memref<128xf32>, %oexp : memref<128xf32>, %true : i1)
    vector.print str "ldmatrix x4 f32: "
    func.call @report(%od, %oed, %true) : (memref<?xf32>, memref<?xf32>, i1) -> ()

    %tout = memref.alloc() : memref<64xf32>
    %texp = memref.alloc() : memref<64xf32>
    %td = memref.cast %tout : memref<64xf32> to memref<?xf32>
    %ted = memref.cast %texp : memref<64xf32> to memref<?xf32>
    gpu.launch_func @kernels::@ldm_trans blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%tout : memref<64xf32>, %texp : memref<64xf32>)
    vector.print str "ldmatrix x1 trans f16: "
    func.call @report(%td, %ted, %true) : (memref<?xf32>, memref<?xf32>, i1) -> ()

    // One warp: its lanes' stores precede its ldmatrix (a warp collective)
    // in every lane, so no barrier is needed and no race is reported.
    gpu.launch_func @kernels::@ldm_x4 blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%out : memref<128xf32>, %oexp : memref<128xf32>, %false : i1)
    vector.print str "ldmatrix without the barrier after the stores: "
    func.call @report(%od, %oed, %true) : (memref<?xf32>, memref<?xf32>, i1) -> ()

    scf.for %i = %c0 to %c32 step %c1 {
      %z = arith.constant 0.0 : f32
      memref.store %z, %out[%i] : memref<128xf32>
    }
    gpu.launch_func @kernels::@ldm_half blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%out : memref<128xf32>)
    vector.print str "ldmatrix by half a warp: "
    func.call @report(%od, %oed, %false) : (memref<?xf32>, memref<?xf32>, i1) -> ()
    return
  }
}
