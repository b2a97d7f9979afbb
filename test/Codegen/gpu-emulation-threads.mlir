// Thread-level GPU emulation: hand-written kernels run thread by thread on
// the CPU, with barriers, warp shuffles and per-block shared memory. Each
// kernel's result is compared with a reference computed by sequential host
// loops on pseudo-random data; the number of mismatching elements is
// printed. The correct kernels give 0; a missing barrier, an off-by-one
// block stride and an early exit before a barrier give wrong numbers or an
// error.
// RUN: kiln-opt %s --kiln-gpu-emulation-to-llvm | %preload_sanitizers mlir-runner -e main -entry-point-result=void -shared-libs=%kiln_lib/libkiln_runtime.so,%mlir_lib/libmlir_c_runner_utils.so 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=ERR < %t.err

// CHECK: reverse with barrier: 0
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: reverse without barrier: {{[1-9][0-9]*}}
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: reverse with off-by-one block stride: {{[1-9][0-9]*}}
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: rotate in dynamic shared memory: 0
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: 3-D thread and block ids: 0
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: warp sums by xor shuffles: 0
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: warp sums by down shuffles: 0
// CHECK-NEXT: emulation errors: 0
// CHECK-NEXT: early exit before a barrier: 1
// CHECK-NEXT: shuffle by half a warp: 1
// ERR: GPU emulation: in block (0, 0, 0), 32 of 64 threads wait at a barrier that the other 32 threads never reach (they exited)
// ERR-NEXT: GPU emulation: in block (0, 0, 0), warp 0 reaches a warp collective (shuffle, mma.sync) with 16 lanes while 16 lanes have exited

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // Each block of 64 threads reverses its 64 elements through shared memory.
    gpu.func @reverse(%in: memref<256xf32>, %out: memref<256xf32>)
        workgroup(%tile : memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %c63 = arith.constant 63 : index
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %n = gpu.block_dim x
      %base = arith.muli %b, %n : index
      %i = arith.addi %base, %t : index
      %v = memref.load %in[%i] : memref<256xf32>
      memref.store %v, %tile[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %r = arith.subi %c63, %t : index
      %w = memref.load %tile[%r] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %out[%i] : memref<256xf32>
      gpu.return
    }
    // The same without the barrier: threads read slots not yet written.
    gpu.func @reverse_no_barrier(%in: memref<256xf32>, %out: memref<256xf32>)
        workgroup(%tile : memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %c63 = arith.constant 63 : index
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %n = gpu.block_dim x
      %base = arith.muli %b, %n : index
      %i = arith.addi %base, %t : index
      %v = memref.load %in[%i] : memref<256xf32>
      memref.store %v, %tile[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      %r = arith.subi %c63, %t : index
      %w = memref.load %tile[%r] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %out[%i] : memref<256xf32>
      gpu.return
    }
    // The block stride is off by one (blockDim - 1).
    gpu.func @reverse_off_by_one(%in: memref<256xf32>, %out: memref<256xf32>)
        workgroup(%tile : memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %c1 = arith.constant 1 : index
      %c63 = arith.constant 63 : index
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %n = gpu.block_dim x
      %n1 = arith.subi %n, %c1 : index
      %base = arith.muli %b, %n1 : index
      %i = arith.addi %base, %t : index
      %v = memref.load %in[%i] : memref<256xf32>
      memref.store %v, %tile[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %r = arith.subi %c63, %t : index
      %w = memref.load %tile[%r] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %out[%i] : memref<256xf32>
      gpu.return
    }
    // Rotates each block's elements by one through dynamic shared memory.
    gpu.func @rotate_dynamic(%in: memref<256xf32>, %out: memref<256xf32>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %n = gpu.block_dim x
      %base = arith.muli %b, %n : index
      %i = arith.addi %base, %t : index
      %dyn = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %tile = memref.view %dyn[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf32, #gpu.address_space<workgroup>>
      %v = memref.load %in[%i] : memref<256xf32>
      memref.store %v, %tile[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %t1 = arith.addi %t, %c1 : index
      %r = arith.remui %t1, %n : index
      %w = memref.load %tile[%r] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %out[%i] : memref<256xf32>
      gpu.return
    }
    // Writes an encoding of every id and dimension at the thread's linear
    // position in the grid.
    gpu.func @ids(%out: memref<768xi64>) kernel {
      %tx = gpu.thread_id x
      %ty = gpu.thread_id y
      %tz = gpu.thread_id z
      %bx = gpu.block_id x
      %by = gpu.block_id y
      %nx = gpu.block_dim x
      %ny = gpu.block_dim y
      %nz = gpu.block_dim z
      %gx = gpu.grid_dim x
      %gy = gpu.grid_dim y
      %lane = gpu.lane_id
      %c10 = arith.constant 10 : index
      // linear = ((by * gx + bx) * nz + tz) * ny + ty) * nx + tx
      %l0 = arith.muli %by, %gx : index
      %l1 = arith.addi %l0, %bx : index
      %l2 = arith.muli %l1, %nz : index
      %l3 = arith.addi %l2, %tz : index
      %l4 = arith.muli %l3, %ny : index
      %l5 = arith.addi %l4, %ty : index
      %l6 = arith.muli %l5, %nx : index
      %lin = arith.addi %l6, %tx : index
      // code = ((((((gy*10 + gx)*10 + nz)*10 + ny)*10 + nx)*10 + by)*10 + bx)*10 ... as digits
      %e0 = arith.muli %gy, %c10 : index
      %e1 = arith.addi %e0, %gx : index
      %e2 = arith.muli %e1, %c10 : index
      %e3 = arith.addi %e2, %nz : index
      %e4 = arith.muli %e3, %c10 : index
      %e5 = arith.addi %e4, %ny : index
      %e6 = arith.muli %e5, %c10 : index
      %e7 = arith.addi %e6, %by : index
      %e8 = arith.muli %e7, %c10 : index
      %e9 = arith.addi %e8, %bx : index
      %e10 = arith.muli %e9, %c10 : index
      %e11 = arith.addi %e10, %tz : index
      %e12 = arith.muli %e11, %c10 : index
      %e13 = arith.addi %e12, %ty : index
      %c100 = arith.constant 100 : index
      %e14 = arith.muli %e13, %c100 : index
      %e15 = arith.addi %e14, %lane : index
      %e16 = arith.muli %e15, %c10 : index
      %e17 = arith.addi %e16, %tx : index
      %code = arith.index_cast %e17 : index to i64
      memref.store %code, %out[%lin] : memref<768xi64>
      gpu.return
    }
    // Each warp sums its 32 values with xor shuffles; lane 0 stores the sum.
    gpu.func @warp_sum_xor(%in: memref<256xi32>, %out: memref<8xi32>) kernel {
      %c0 = arith.constant 0 : index
      %c32 = arith.constant 32 : index
      %w32 = arith.constant 32 : i32
      %o16 = arith.constant 16 : i32
      %o8 = arith.constant 8 : i32
      %o4 = arith.constant 4 : i32
      %o2 = arith.constant 2 : i32
      %o1 = arith.constant 1 : i32
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %n = gpu.block_dim x
      %base = arith.muli %b, %n : index
      %i = arith.addi %base, %t : index
      %v = memref.load %in[%i] : memref<256xi32>
      %s1, %p1 = gpu.shuffle xor %v, %o16, %w32 : i32
      %a1 = arith.addi %v, %s1 : i32
      %s2, %p2 = gpu.shuffle xor %a1, %o8, %w32 : i32
      %a2 = arith.addi %a1, %s2 : i32
      %s3, %p3 = gpu.shuffle xor %a2, %o4, %w32 : i32
      %a3 = arith.addi %a2, %s3 : i32
      %s4, %p4 = gpu.shuffle xor %a3, %o2, %w32 : i32
      %a4 = arith.addi %a3, %s4 : i32
      %s5, %p5 = gpu.shuffle xor %a4, %o1, %w32 : i32
      %a5 = arith.addi %a4, %s5 : i32
      %lane = arith.remui %t, %c32 : index
      %first = arith.cmpi eq, %lane, %c0 : index
      cf.cond_br %first, ^store, ^done
    ^store:
      %w = arith.divui %i, %c32 : index
      memref.store %a5, %out[%w] : memref<8xi32>
      gpu.return
    ^done:
      gpu.return
    }
    // The same with down shuffles on f32 values, invalid lanes adding 0.
    gpu.func @warp_sum_down(%in: memref<256xf32>, %out: memref<8xf32>) kernel {
      %c0 = arith.constant 0 : index
      %c32 = arith.constant 32 : index
      %zero = arith.constant 0.0 : f32
      %w32 = arith.constant 32 : i32
      %o16 = arith.constant 16 : i32
      %o8 = arith.constant 8 : i32
      %o4 = arith.constant 4 : i32
      %o2 = arith.constant 2 : i32
      %o1 = arith.constant 1 : i32
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %n = gpu.block_dim x
      %base = arith.muli %b, %n : index
      %i = arith.addi %base, %t : index
      %v = memref.load %in[%i] : memref<256xf32>
      %s1, %p1 = gpu.shuffle down %v, %o16, %w32 : f32
      %z1 = arith.select %p1, %s1, %zero : f32
      %a1 = arith.addf %v, %z1 : f32
      %s2, %p2 = gpu.shuffle down %a1, %o8, %w32 : f32
      %z2 = arith.select %p2, %s2, %zero : f32
      %a2 = arith.addf %a1, %z2 : f32
      %s3, %p3 = gpu.shuffle down %a2, %o4, %w32 : f32
      %z3 = arith.select %p3, %s3, %zero : f32
      %a3 = arith.addf %a2, %z3 : f32
      %s4, %p4 = gpu.shuffle down %a3, %o2, %w32 : f32
      %z4 = arith.select %p4, %s4, %zero : f32
      %a4 = arith.addf %a3, %z4 : f32
      %s5, %p5 = gpu.shuffle down %a4, %o1, %w32 : f32
      %z5 = arith.select %p5, %s5, %zero : f32
      %a5 = arith.addf %a4, %z5 : f32
      %lane = arith.remui %t, %c32 : index
      %first = arith.cmpi eq, %lane, %c0 : index
      cf.cond_br %first, ^store, ^done
    ^store:
      %w = arith.divui %i, %c32 : index
      memref.store %a5, %out[%w] : memref<8xf32>
      gpu.return
    ^done:
      gpu.return
    }
    // Half of the block returns before the barrier.
    gpu.func @early_exit(%in: memref<256xf32>, %out: memref<256xf32>)
        workgroup(%tile : memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %c32 = arith.constant 32 : index
      %t = gpu.thread_id x
      %low = arith.cmpi ult, %t, %c32 : index
      cf.cond_br %low, ^exit, ^body
    ^body:
      %v = memref.load %in[%t] : memref<256xf32>
      memref.store %v, %tile[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      memref.store %v, %out[%t] : memref<256xf32>
      gpu.return
    ^exit:
      gpu.return
    }
    // Lanes 16..31 return before a full-warp shuffle.
    gpu.func @half_warp_shuffle(%in: memref<256xi32>, %out: memref<256xi32>) kernel {
      %c16 = arith.constant 16 : index
      %w32 = arith.constant 32 : i32
      %o1 = arith.constant 1 : i32
      %t = gpu.thread_id x
      %high = arith.cmpi uge, %t, %c16 : index
      cf.cond_br %high, ^exit, ^body
    ^body:
      %v = memref.load %in[%t] : memref<256xi32>
      %s, %p = gpu.shuffle xor %v, %o1, %w32 : i32
      memref.store %s, %out[%t] : memref<256xi32>
      gpu.return
    ^exit:
      gpu.return
    }
  }

  func.func private @kiln_emu_check() -> i64

  // Pseudo-random values in [-0.5, 0.5), from a multiplicative hash of i.
  func.func @fill(%m: memref<256xf32>, %seed: i64) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c256 = arith.constant 256 : index
    %mul = arith.constant 2654435761 : i64
    %mod = arith.constant 1000 : i64
    %scale = arith.constant 1.0e-3 : f32
    %half = arith.constant 0.5 : f32
    scf.for %i = %c0 to %c256 step %c1 {
      %ii = arith.index_cast %i : index to i64
      %x = arith.addi %ii, %seed : i64
      %h = arith.muli %x, %mul : i64
      %h2 = arith.shrui %h, %seed : i64
      %r = arith.remui %h2, %mod : i64
      %f = arith.uitofp %r : i64 to f32
      %g = arith.mulf %f, %scale : f32
      %v = arith.subf %g, %half : f32
      memref.store %v, %m[%i] : memref<256xf32>
    }
    return
  }

  func.func @mismatches(%a: memref<256xf32>, %b: memref<256xf32>) -> i64 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c256 = arith.constant 256 : index
    %zero = arith.constant 0 : i64
    %one = arith.constant 1 : i64
    %n = scf.for %i = %c0 to %c256 step %c1 iter_args(%acc = %zero) -> i64 {
      %x = memref.load %a[%i] : memref<256xf32>
      %y = memref.load %b[%i] : memref<256xf32>
      %ne = arith.cmpf une, %x, %y : f32
      %inc = arith.select %ne, %one, %zero : i64
      %next = arith.addi %acc, %inc : i64
      scf.yield %next : i64
    }
    return %n : i64
  }

  func.func @report_errors() {
    %e = func.call @kiln_emu_check() : () -> i64
    vector.print str "emulation errors: "
    vector.print %e : i64
    return
  }

  func.func @main() {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    %c32 = arith.constant 32 : index
    %c63 = arith.constant 63 : index
    %c64 = arith.constant 64 : index
    %c256 = arith.constant 256 : index
    %seed = arith.constant 7 : i64
    %in = memref.alloc() : memref<256xf32>
    %out = memref.alloc() : memref<256xf32>
    %ref = memref.alloc() : memref<256xf32>
    func.call @fill(%in, %seed) : (memref<256xf32>, i64) -> ()

    // Reference reversal per 64-element block.
    scf.for %i = %c0 to %c256 step %c1 {
      %t = arith.remui %i, %c64 : index
      %base = arith.subi %i, %t : index
      %r = arith.subi %c63, %t : index
      %src = arith.addi %base, %r : index
      %v = memref.load %in[%src] : memref<256xf32>
      memref.store %v, %ref[%i] : memref<256xf32>
    }
    gpu.launch_func @kernels::@reverse blocks in (%c4, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%in : memref<256xf32>, %out : memref<256xf32>)
    %m1 = func.call @mismatches(%out, %ref) : (memref<256xf32>, memref<256xf32>) -> i64
    vector.print str "reverse with barrier: "
    vector.print %m1 : i64
    func.call @report_errors() : () -> ()

    gpu.launch_func @kernels::@reverse_no_barrier blocks in (%c4, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%in : memref<256xf32>, %out : memref<256xf32>)
    %m2 = func.call @mismatches(%out, %ref) : (memref<256xf32>, memref<256xf32>) -> i64
    vector.print str "reverse without barrier: "
    vector.print %m2 : i64
    func.call @report_errors() : () -> ()

    gpu.launch_func @kernels::@reverse_off_by_one blocks in (%c4, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%in : memref<256xf32>, %out : memref<256xf32>)
    %m3 = func.call @mismatches(%out, %ref) : (memref<256xf32>, memref<256xf32>) -> i64
    vector.print str "reverse with off-by-one block stride: "
    vector.print %m3 : i64
    func.call @report_errors() : () -> ()

    // Reference rotation by one within each block.
    scf.for %i = %c0 to %c256 step %c1 {
      %t = arith.remui %i, %c64 : index
      %base = arith.subi %i, %t : index
      %t1 = arith.addi %t, %c1 : index
      %r = arith.remui %t1, %c64 : index
      %src = arith.addi %base, %r : index
      %v = memref.load %in[%src] : memref<256xf32>
      memref.store %v, %ref[%i] : memref<256xf32>
    }
    %dynBytes = arith.constant 256 : i32
    gpu.launch_func @kernels::@rotate_dynamic blocks in (%c4, %c1, %c1) threads in (%c64, %c1, %c1)
        dynamic_shared_memory_size %dynBytes
        args(%in : memref<256xf32>, %out : memref<256xf32>)
    %m4 = func.call @mismatches(%out, %ref) : (memref<256xf32>, memref<256xf32>) -> i64
    vector.print str "rotate in dynamic shared memory: "
    vector.print %m4 : i64
    func.call @report_errors() : () -> ()

    // Ids: grid (2, 3, 1) of blocks (8, 4, 2), 768 threads.
    %ids = memref.alloc() : memref<768xi64>
    gpu.launch_func @kernels::@ids blocks in (%c2, %c3, %c1) threads in (%c8, %c4, %c2)
        args(%ids : memref<768xi64>)
    %zero = arith.constant 0 : i64
    %one = arith.constant 1 : i64
    %c10 = arith.constant 10 : i64
    %c100 = arith.constant 100 : i64
    // Expected: digits gy gx nz ny by bx tz ty, lane (two digits), tx.
    %bad = scf.for %by = %c0 to %c3 step %c1 iter_args(%a0 = %zero) -> i64 {
      %r1 = scf.for %bx = %c0 to %c2 step %c1 iter_args(%a1 = %a0) -> i64 {
        %r2 = scf.for %tz = %c0 to %c2 step %c1 iter_args(%a2 = %a1) -> i64 {
          %r3 = scf.for %ty = %c0 to %c4 step %c1 iter_args(%a3 = %a2) -> i64 {
            %r4 = scf.for %tx = %c0 to %c8 step %c1 iter_args(%a4 = %a3) -> i64 {
              %blk = arith.muli %by, %c2 : index
              %blk1 = arith.addi %blk, %bx : index
              %inb0 = arith.muli %tz, %c32 : index
              %inb1 = arith.muli %ty, %c8 : index
              %inb2 = arith.addi %inb0, %inb1 : index
              %inb = arith.addi %inb2, %tx : index
              %blkoff = arith.muli %blk1, %c64 : index
              %lin = arith.addi %blkoff, %inb : index
              %lane = arith.remui %inb, %c32 : index
              %digits = arith.constant 3224 : i64
              %byi = arith.index_cast %by : index to i64
              %bxi = arith.index_cast %bx : index to i64
              %tzi = arith.index_cast %tz : index to i64
              %tyi = arith.index_cast %ty : index to i64
              %txi = arith.index_cast %tx : index to i64
              %lanei = arith.index_cast %lane : index to i64
              %d0 = arith.muli %digits, %c10 : i64
              %d1 = arith.addi %d0, %byi : i64
              %d2 = arith.muli %d1, %c10 : i64
              %d3 = arith.addi %d2, %bxi : i64
              %d4 = arith.muli %d3, %c10 : i64
              %d5 = arith.addi %d4, %tzi : i64
              %d6 = arith.muli %d5, %c10 : i64
              %d7 = arith.addi %d6, %tyi : i64
              %d8 = arith.muli %d7, %c100 : i64
              %d9 = arith.addi %d8, %lanei : i64
              %d10 = arith.muli %d9, %c10 : i64
              %want = arith.addi %d10, %txi : i64
              %got = memref.load %ids[%lin] : memref<768xi64>
              %ne = arith.cmpi ne, %got, %want : i64
              %inc = arith.select %ne, %one, %zero : i64
              %next = arith.addi %a4, %inc : i64
              scf.yield %next : i64
            }
            scf.yield %r4 : i64
          }
          scf.yield %r3 : i64
        }
        scf.yield %r2 : i64
      }
      scf.yield %r1 : i64
    }
    vector.print str "3-D thread and block ids: "
    vector.print %bad : i64
    func.call @report_errors() : () -> ()

    // Warp sums of integers (exact), blocks of 64 threads = 2 warps.
    %iin = memref.alloc() : memref<256xi32>
    %iout = memref.alloc() : memref<8xi32>
    %mod = arith.constant 1000 : i32
    scf.for %i = %c0 to %c256 step %c1 {
      %v = memref.load %in[%i] : memref<256xf32>
      %s = arith.constant 1000.0 : f32
      %x = arith.mulf %v, %s : f32
      %xi = arith.fptosi %x : f32 to i32
      memref.store %xi, %iin[%i] : memref<256xi32>
    }
    gpu.launch_func @kernels::@warp_sum_xor blocks in (%c4, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%iin : memref<256xi32>, %iout : memref<8xi32>)
    %zero32 = arith.constant 0 : i32
    %badsum = scf.for %w = %c0 to %c8 step %c1 iter_args(%acc = %zero) -> i64 {
      %lo = arith.muli %w, %c32 : index
      %hi = arith.addi %lo, %c32 : index
      %sum = scf.for %i = %lo to %hi step %c1 iter_args(%s = %zero32) -> i32 {
        %v = memref.load %iin[%i] : memref<256xi32>
        %n = arith.addi %s, %v : i32
        scf.yield %n : i32
      }
      %got = memref.load %iout[%w] : memref<8xi32>
      %ne = arith.cmpi ne, %got, %sum : i32
      %inc = arith.select %ne, %one, %zero : i64
      %next = arith.addi %acc, %inc : i64
      scf.yield %next : i64
    }
    vector.print str "warp sums by xor shuffles: "
    vector.print %badsum : i64
    func.call @report_errors() : () -> ()

    // Float warp sums with down shuffles; values are multiples of 1/1000
    // below 1, so compare with a tolerance.
    %fout = memref.alloc() : memref<8xf32>
    gpu.launch_func @kernels::@warp_sum_down blocks in (%c4, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%in : memref<256xf32>, %fout : memref<8xf32>)
    %zf = arith.constant 0.0 : f32
    %tol = arith.constant 1.0e-4 : f32
    %badf = scf.for %w = %c0 to %c8 step %c1 iter_args(%acc = %zero) -> i64 {
      %lo = arith.muli %w, %c32 : index
      %hi = arith.addi %lo, %c32 : index
      %sum = scf.for %i = %lo to %hi step %c1 iter_args(%s = %zf) -> f32 {
        %v = memref.load %in[%i] : memref<256xf32>
        %n = arith.addf %s, %v : f32
        scf.yield %n : f32
      }
      %got = memref.load %fout[%w] : memref<8xf32>
      %d = arith.subf %got, %sum : f32
      %ad = math.absf %d : f32
      %ne = arith.cmpf ugt, %ad, %tol : f32
      %inc = arith.select %ne, %one, %zero : i64
      %next = arith.addi %acc, %inc : i64
      scf.yield %next : i64
    }
    vector.print str "warp sums by down shuffles: "
    vector.print %badf : i64
    func.call @report_errors() : () -> ()

    gpu.launch_func @kernels::@early_exit blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%in : memref<256xf32>, %out : memref<256xf32>)
    %e1 = func.call @kiln_emu_check() : () -> i64
    vector.print str "early exit before a barrier: "
    vector.print %e1 : i64

    %iout2 = memref.alloc() : memref<256xi32>
    gpu.launch_func @kernels::@half_warp_shuffle blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%iin : memref<256xi32>, %iout2 : memref<256xi32>)
    %e2 = func.call @kiln_emu_check() : () -> i64
    vector.print str "shuffle by half a warp: "
    vector.print %e2 : i64

    return
  }
}
