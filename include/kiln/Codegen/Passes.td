//===- Passes.td - Kiln code generation passes ---------------*- tablegen -*-===//
#ifndef KILN_CODEGEN_PASSES_TD
#define KILN_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvToIm2col : Pass<"kiln-conv-to-im2col", "mlir::func::FuncOp"> {
  let summary = "Rewrite 2-D convolutions as an im2col copy and a contraction";
  let description = [{
    `linalg.conv_2d_nchw_fchw` becomes a copy of every input window into an
    [N, C*KH*KW, OH*OW] tensor and a contraction with the weights seen as
    [F, C*KH*KW]. The contraction's innermost loop then runs over contiguous
    output pixels, which vectorizes; the convolution's own innermost loop
    runs over the kernel width, which does not.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def CpuLoopOrder : Pass<"kiln-cpu-loop-order", "mlir::func::FuncOp"> {
  let summary = "Order the loops of reductions so the innermost loop is contiguous";
  let description = [{
    For linalg ops with reduction loops (matmul, batch_matmul, contractions,
    reductions over non-innermost axes), moves the parallel loop that walks
    the output's innermost dimension inside the reduction loops, when every
    input that uses it walks its own innermost dimension with it. Matmul's
    (i, j, k) becomes (i, k, j): the inner loop streams a row of B into a
    row of C, and LLVM vectorizes it.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def CpuTileAndVectorize : Pass<"kiln-cpu-tile-and-vectorize", "mlir::func::FuncOp"> {
  let summary = "Tile contractions into register blocks and vectorize them";
  let description = [{
    Every static contraction (matmul, batch_matmul, the im2col form of a
    convolution, any generic of that shape) is tiled with scf.for loops
    into blocks of M x N x K = `tile-m` x `tile-n` x `tile-k` (each the
    largest divisor of the dimension up to the requested size, so tiles
    stay static), and each block becomes one `vector.contract`. Lowered
    as outer products, the M x N accumulator block stays in vector
    registers across the K loop of the block.
  }];
  let options = [
    Option<"tileM", "tile-m", "int64_t", /*default=*/"4", "rows of the register block">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"16", "columns of the register block">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"64", "reduction depth of one block">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect", "mlir::tensor::TensorDialect"];
}

def OutlineParallelLoops : Pass<"kiln-cpu-outline-parallel", "mlir::ModuleOp"> {
  let summary = "Turn top-level scf.forall loops on buffers into thread-pool launches";
  let description = [{
    Each scf.forall with static bounds at the top level of a function has
    its body outlined into `kiln_par_body_<n>(flat index, captured values)`
    and is replaced by a call to the declaration `kiln_par_launch_<n>(trip
    count, captured values)`. After the LLVM conversion, the launcher is
    defined to pack its arguments and call the runtime's
    `kiln_parallel_for`, which runs the body over the flat iteration space
    on the runtime's thread pool.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::arith::ArithDialect"];
}

def GpuThreadBlocks : Pass<"kiln-gpu-thread-blocks", "mlir::func::FuncOp"> {
  let summary = "Shape top-level parallel loops into blocks of GPU threads";
  let description = [{
    Collapses each outermost scf.parallel into one dimension and tiles it
    by `block-size`, so that the mapping to the GPU puts the outer loop on
    the grid and the inner loop on the threads of a block (each thread one
    element, consecutive threads on consecutive elements).
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256", "threads per block">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::arith::ArithDialect"];
}

def GpuParallelOuter : Pass<"kiln-gpu-parallel-outer", "mlir::func::FuncOp"> {
  let summary = "Keep the loops of the direct GPU mapping off the host";
  let description = [{
    For the linalg ops that no GPU strategy took, before they become loops:
    the parallel dimensions of every linalg.generic move outside its
    reduction dimensions (an argmax over axis 0 would otherwise be a host
    loop around launches), and an op without any parallel dimension (a
    full reduction, a rank-0 fill or elementwise op) is wrapped in a
    one-iteration scf.parallel, so that it becomes a kernel of one thread
    instead of host code touching device memory.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::linalg::LinalgDialect",
                           "mlir::arith::ArithDialect"];
}

def MergeGpuModules : Pass<"kiln-merge-gpu-modules", "mlir::ModuleOp"> {
  let summary = "Gather every outlined kernel into one gpu.module";
  let description = [{
    Kernel outlining makes one gpu.module per kernel. This pass moves every
    kernel into a single `gpu.module @kiln_kernels`, renamed after its old
    module, and retargets the launches, so a model compiles to one PTX
    module holding all of its kernels.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def MemoryPlan : Pass<"kiln-memory-plan", "mlir::func::FuncOp"> {
  let summary = "Place intermediate buffers in one arena, reusing memory by liveness";
  let description = [{
    Replaces every static `memref.alloc` at the top level of a function with
    a `memref.view` into a single arena allocated once per call. Buffers
    whose live ranges (from the allocation to the last use of any alias)
    do not overlap share memory; offsets are assigned largest-first at the
    lowest free address, aligned to 64 bytes. The arena size is recorded
    in the `kiln.arena_bytes` attribute of the function.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect"];
}

def GpuContraction : Pass<"kiln-gpu-contraction", "mlir::func::FuncOp"> {
  let summary = "GPU strategy for matmul, batch_matmul and convolution kernels";
  let description = [{
    Every static f32 contraction on buffers (linalg.matmul, batch_matmul,
    any generic contraction with one M, N and K loop, and
    linalg.conv_2d_nchw_fchw as an implicit GEMM that indexes the input
    window directly) becomes one kernel in "phase form": an `scf.forall`
    over thread blocks (`#gpu.block<z/y/x>`: batch, M tiles, N tiles)
    whose body holds the block's shared memory (`#gpu.address_space
    <workgroup>`, two buffers per operand) and a sequence of `scf.forall`
    loops over the block's threads (`#gpu.thread<x>`), each one phase
    between two barriers: zero/load the accumulators and the first K tile;
    then per K tile, load the next tile from global memory, compute a
    TM x TN register micro-tile from the current tile in shared memory,
    store the next tile into the other buffer (double buffering); finally
    the epilogue stores the accumulators, through an elementwise consumer
    fused into it when the contraction's result has no other reader
    (or when both carry the same `kiln.kernel` group id); the consumer may
    read the result through reshapes and a permutation of its loops (a
    transpose). A data-movement generic (`kiln.kernel_kind =
    "data_movement"`) whose buffer only the contraction reads is not run:
    the tile loaders evaluate its body at each element they load.
    Tile sizes follow the shapes: 64x64x16 with 4x4 micro-tiles for large
    M and N, smaller tiles for small or skinny shapes.
    With `emulation`, the buffers stay in the default memory space so the
    phase form runs on the CPU. `precision` rounds the operands to
    tf32, fp16 or bf16 as they enter shared memory (fp32 accumulation);
    with any of them, 64x64 tiles compute on tensor cores
    (`nvgpu.mma.sync`, m16n8k16 for fp16 and bf16, m16n8k8 for tf32), each
    warp a 16x32 tile (bf16 reaches NVVM through
    `kiln-lower-bf16-mma-sync`); emulation computes the same per-thread
    accumulator layout with scalar multiply-adds.
  }];
  let options = [
    Option<"emulation", "emulation", "bool", /*default=*/"false",
           "keep every buffer in the default memory space (CPU execution)">,
    Option<"precision", "precision", "std::string", /*default=*/"\"fp32\"",
           "operand precision: fp32, tf32, fp16 or bf16">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::gpu::GPUDialect",
                           "mlir::memref::MemRefDialect", "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect", "mlir::nvgpu::NVGPUDialect",
                           "mlir::vector::VectorDialect"];
}

def GpuContractionMapping : Pass<"kiln-gpu-contraction-mapping", "mlir::func::FuncOp"> {
  let summary = "Map the phase form of contraction kernels to gpu.launch";
  let description = [{
    Each `scf.forall` mapped to `#gpu.block` becomes a `gpu.launch` whose
    grid is the loop's trip counts; its workgroup buffers become workgroup
    attributions; each nested thread `scf.forall` is inlined with its
    index replaced by `gpu.thread_id x` and followed by `gpu.barrier`;
    the per-thread accumulator array [threads x TM x TN] shrinks to one
    [TM x TN] array per thread, indexed with constants, which LLVM keeps
    in registers.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::memref::MemRefDialect"];
}

def GpuContractionOccupancy : Pass<"kiln-gpu-contraction-occupancy", "mlir::ModuleOp"> {
  let summary = "Let ptxas give tiled kernels the registers they need";
  let description = [{
    Marks every outlined kernel that uses workgroup memory (the tiled
    contraction kernels) with `nvvm.minctasm = 1` (PTX `.minnctapersm 1`):
    one resident block of 256 threads per SM is enough, so ptxas uses up to
    255 registers per thread instead of spilling the accumulator micro-tile
    and the prefetched tile to local memory to fit more blocks.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def LowerBf16MmaSync : Pass<"kiln-lower-bf16-mma-sync", "mlir::ModuleOp"> {
  let summary = "Lower bf16 nvgpu.mma.sync to nvvm.mma.sync";
  let description = [{
    Upstream's NVGPU-to-NVVM conversion has no bf16 case for
    `nvgpu.mma.sync`. This pass rewrites every mma.sync with bf16
    fragments (f32 accumulators) into `nvvm.mma.sync` with bf16 PTX types:
    each row of a fragment, two bf16 values, becomes one i32 register (the
    first value in the lower half), and the f32 accumulators are passed and
    returned one by one. Runs before the NVVM lowering of GPU modules; other
    mma.sync ops are left to it.

    ```mlir
    %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 16]}
        : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
    // becomes
    %r = nvvm.mma.sync A[%a0, %a1, %a2, %a3] B[%b0, %b1] C[%c0, %c1, %c2, %c3]
        {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
         multiplicandAPtxType = #nvvm.mma_type<bf16>,
         multiplicandBPtxType = #nvvm.mma_type<bf16>,
         shape = #nvvm.shape<m = 16, n = 8, k = 16>}
        : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
    ```
  }];
  let dependentDialects = ["mlir::NVVM::NVVMDialect", "mlir::LLVM::LLVMDialect",
                           "mlir::vector::VectorDialect"];
}

def GpuEmulation : Pass<"kiln-gpu-emulation", "mlir::ModuleOp"> {
  let summary = "Turn GPU kernels and their launches into CPU code run thread by thread";
  let description = [{
    For GPU emulation on the CPU. Every kernel of a `gpu.module` becomes a
    `func.func @kiln_emu_kernel_<module>_<kernel>(%ctx, %shared, args...)`
    that computes one GPU thread: thread, block, lane ids and dimensions
    are loaded from the thread context `%ctx` that the runtime fills in;
    `gpu.barrier` and `gpu.shuffle` call the runtime, which runs the
    threads of a block as fibers and synchronizes them; workgroup memory
    (attributions, `gpu.dynamic_shared_memory`, workgroup globals) are
    views into the block's shared buffer `%shared`; private attributions
    are allocas. Each `gpu.launch_func` becomes a call to
    `@kiln_emu_launch_<module>_<kernel>(static shared bytes, flags, grid,
    block, dynamic shared bytes, args...)`, a declaration that
    `kiln-gpu-emulation-abi` defines after the lowering to LLVM.
    Ops the emulation does not know are an error naming the op.

    The launches and the kernels can be converted separately (options
    `launches`, `kernels`), so that host buffers are planned and
    deallocated while the kernels are still GPU functions.
  }];
  let options = [
    Option<"convertLaunches", "launches", "bool", /*default=*/"true",
           "rewrite gpu.launch_func into calls of the emulated launchers">,
    Option<"convertKernels", "kernels", "bool", /*default=*/"true",
           "turn the kernels into per-thread CPU functions and drop the gpu.modules">
  ];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect", "mlir::LLVM::LLVMDialect"];
}

def GpuEmulationABI : Pass<"kiln-gpu-emulation-abi", "mlir::ModuleOp"> {
  let summary = "Define the launchers of emulated GPU kernels (LLVM dialect)";
  let description = [{
    Runs after the lowering to LLVM. Defines each declared
    `kiln_emu_launch_<name>`: it stores the kernel's arguments in 8-byte
    slots and calls the runtime's `kiln_emu_launch` with a thunk
    `kiln_emu_thunk_<name>(slots, ctx)` that reloads them and calls
    `kiln_emu_kernel_<name>` for one GPU thread, with the block's shared
    buffer taken from the thread context.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def GpuRowKernel : Pass<"kiln-gpu-row-kernel", "mlir::func::FuncOp"> {
  let summary = "One GPU launch per reduction kernel group: a block or warp per row";
  let description = [{
    Turns every linalg op of one reduction kernel group (same `kiln.kernel`
    id, kind "reduction", fills included), on buffers, into one gpu.launch
    with a block of 256 threads (one warp for rows under 256 elements) per
    row; rows shorter than a warp get one thread each. In program order: per-row accumulators (fills, per-row elementwise
    ops) are registers; reductions fold a strided slice of the row per
    thread, then combine with `gpu.shuffle xor` and, across warps, shared
    memory and a `gpu.barrier`, every thread getting the row's result;
    elementwise ops over the row run strided over its elements. A max
    reduction followed by a sum of exp(same input - max) is one pass
    carrying (max, sum) per thread (online softmax). Full-row
    intermediates that only the group reads are recomputed by their
    readers instead of stored; per-row results read outside the group are
    stored once.

    The rewrite is proven legal first: every buffer the group writes and
    accesses more than once must be accessed row-locally (its linear
    offset through expand/collapse views is row * K + element or row).
    Any other group (dynamic shapes, non-f32, other views, combiners other
    than add/max/min, contractions) is left to the per-op strategies.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::affine::AffineDialect", "mlir::memref::MemRefDialect",
                           "mlir::math::MathDialect", "mlir::arith::ArithDialect"];
}

def GpuReduction : Pass<"kiln-gpu-reduction", "mlir::func::FuncOp"> {
  let summary = "GPU strategy for reductions over one loop: a block per row, warp shuffles";
  let description = [{
    Rewrites each bufferized linalg.generic that reduces over exactly one
    loop of at least `min-row-size` iterations, combining with addf,
    maximumf, minimumf, maxnumf or minnumf into f32, as one gpu.launch with
    one block per output element. Each thread folds a strided slice of the
    row into a register (the body's elementwise expression fused in); the
    warp combines with `gpu.shuffle xor`; rows of 256 or more elements use
    256 threads whose warps combine their results through shared memory
    after a `gpu.barrier`. Thread 0 folds the row's total into the output.
  }];
  let options = [
    Option<"minRowSize", "min-row-size", "int64_t", /*default=*/"32",
           "smallest reduction extent to rewrite (shorter rows stay one thread each)">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::affine::AffineDialect", "mlir::memref::MemRefDialect"];
}

def GpuElementwise : Pass<"kiln-gpu-elementwise", "mlir::func::FuncOp"> {
  let summary = "GPU strategy for elementwise ops: 16-byte vector accesses, grid-stride loop";
  let description = [{
    Rewrites each bufferized, top-level, all-parallel linalg.generic whose
    output is a contiguous buffer of 32-bit elements as one gpu.launch of
    blocks of 256 threads. Each thread computes 4 consecutive elements per
    step: operands laid out like the output are read with one 16-byte
    `vector.load` (`ld.global.v4` in PTX), the result written with one
    `vector.store`; broadcast operands are read per element. The grid is
    at most `max-blocks` blocks and the threads stride over the vectors;
    the last n % 4 elements are computed by the first threads one each.
  }];
  let options = [
    Option<"maxBlocks", "max-blocks", "int64_t", /*default=*/"1024",
           "grid size cap (about 8 blocks per SM of the largest supported GPUs)">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::affine::AffineDialect", "mlir::memref::MemRefDialect",
                           "mlir::vector::VectorDialect"];
}

def GpuMarkPadding : Pass<"kiln-gpu-mark-padding", "mlir::func::FuncOp"> {
  let summary = "Give the fills of padded window inputs a form kiln-gpu-fold-padding can remove";
  let description = [{
    On bufferized linalg, before the GPU strategies: a padded input of a
    convolution or pooling is a buffer filled with the pad value whose
    interior (one subview) receives a `memref.copy` of the unpadded input.
    Where every reader of that buffer is a window op (a linalg op with
    reduction loops) whose combiner's identity is the pad value (0 for
    sums of products and sums, -inf for maxima), the fill becomes an
    `scf.parallel` store loop tagged `kiln.padding_fill`, with the same
    meaning. Other pad values, other readers, and fills of other buffers
    are left alone. Without kiln-gpu-fold-padding the loop is an ordinary
    direct-mapped kernel.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

def GpuFoldPadding : Pass<"kiln-gpu-fold-padding", "mlir::func::FuncOp"> {
  let summary = "Read padded window inputs in place, with bounds predicates";
  let description = [{
    After the GPU strategies have turned every op into loops and loads:
    for a buffer whose fill is tagged `kiln.padding_fill` (see
    kiln-gpu-mark-padding), whose interior is a copy of X, and whose only
    readers are `memref.load`s placed after that copy with nothing writing
    X in between, every load P[i] becomes a load of X at i - low with each
    index clamped into X, selected against the pad value where i lies in
    the padding. No address outside X is formed. The fill, the copy and
    the padded buffer disappear. Where any condition fails the buffer is
    kept and its fill stays an ordinary kernel.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::memref::MemRefDialect"];
}

def CollapseContractions : Pass<"kiln-collapse-contractions", "mlir::func::FuncOp"> {
  let summary = "Rewrite generic contractions as matmul / batch_matmul on collapsed operands";
  let description = [{
    A `linalg.generic` on tensors whose body is `out + a * b` and whose
    loops split into batch, M, N and K groups
    (`linalg::inferContractionDims`) becomes `linalg.matmul` or
    `linalg.batch_matmul` on `tensor.collapse_shape` views of its operands,
    with the result expanded back, when every group is one contiguous run
    of dimensions, in the same order, in every operand that has it, and
    the batch group comes first. Operands stored (K, M) or (N, K) give the
    transposed-operand form (explicit `indexing_maps`); an output stored
    (N, M) swaps the operands. Anything else is left alone.

    ```mlir
    // [1,64,1,256] x [256,3,256] -> [1,64,1,3,256] becomes
    // [64,256] x [256,768] -> [64,768]
    %r = linalg.matmul ins(%a, %b : tensor<64x256xf32>, tensor<256x768xf32>)
                       outs(%c : tensor<64x768xf32>) -> tensor<64x768xf32>
    ```
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def GpuDirectContraction : Pass<"kiln-gpu-direct-contraction", "mlir::func::FuncOp"> {
  let summary = "A contraction group that is not tiled as one launch, a thread per output element";
  let description = [{
    For each kernel group (ops with one `kiln.kernel` id) of kind
    "contraction" whose contraction the tiled strategy left (depthwise and
    grouped convolutions, other static contractions on buffers), and each
    group of kind "reduction" over a window (more than one reduction loop:
    pooling): the group's ops, the init of the output (broadcast of a bias,
    fill), the one op with reduction loops and the elementwise epilogue,
    become one `gpu.launch` of blocks of 256 threads, one thread per
    element of the contraction's parallel loops, consecutive threads on the
    output's innermost dimension. The thread computes the init value, loops
    over the reduction loops with the accumulator in a register, applies
    the epilogue and stores each buffer the group writes once.

    Taken only when every op of the group accesses every buffer that the
    group writes at the thread's own element (indexing maps composed with
    the buffers' strides into linear offsets and compared, dimensions of
    extent 1 counting as 0), shapes are static, every element is f32, and
    no op outside the group between its first and last op touches those
    buffers. Other groups are left as they are.

    A padded input keeps its padded buffer here; kiln-gpu-fold-padding
    then turns the kernel's loads of it into predicated loads of the
    unpadded input and removes the fill and the copy.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::affine::AffineDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

#endif // KILN_CODEGEN_PASSES_TD
