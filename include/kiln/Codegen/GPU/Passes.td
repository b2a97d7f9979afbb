//===- Passes.td - GPU strategies and thread mapping -------*- tablegen -*-===//
#ifndef KILN_CODEGEN_GPU_PASSES_TD
#define KILN_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def GpuAttention : Pass<"kiln-gpu-attention", "mlir::func::FuncOp"> {
  let summary = "Compute each f32 kiln.attention in one flash-style GPU kernel";
  let description = [{
    Runs on tensors, before bufferization: each static f32 `kiln.attention`
    becomes one `gpu.launch` on its operands' buffers (read-only
    `bufferization.to_buffer`) writing a new buffer. A block per (64 query
    rows, batch x head), a thread per query row; K and V tiles of up to 32
    keys staged in shared memory; an online softmax (running maximum and
    sum per row, the output row rescaled as the maximum grows) so that the
    sequence x sequence scores are never stored; causal blocks stop at
    their last row's keys. Decoding (up to 4 query rows, a long key/value
    cache) takes a block per query row instead, its 64 threads splitting
    the keys, each with its own running maximum, sum and output row in
    registers, combined through shared memory at the end. CUDA cores (no
    tensor cores yet).
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::memref::MemRefDialect", "mlir::math::MathDialect",
                           "mlir::bufferization::BufferizationDialect"];
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

def MergeGpuModules : Pass<"kiln-gpu-merge-modules", "mlir::ModuleOp"> {
  let summary = "Gather every outlined kernel into one gpu.module";
  let description = [{
    Kernel outlining makes one gpu.module per kernel. This pass moves every
    kernel into a single `gpu.module @kiln_kernels`, renamed after its old
    module, and retargets the launches, so a model compiles to one PTX
    module holding all of its kernels. Each kernel takes the
    `kiln_gpu.strategy` that `kiln-gpu-carry-strategy` left in its body
    as its own attribute (kernels of the direct mapping get
    `thread_per_element`), so `kilnc --emit=gpu` shows it.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "kiln::KilnGPUDialect"];
}

def GpuCarryStrategy : Pass<"kiln-gpu-carry-strategy", "mlir::func::FuncOp"> {
  let summary = "Keep each launch's strategy through kernel outlining";
  let description = [{
    Kernel outlining drops the attributes of `gpu.launch` but keeps those of
    the ops it moves into the kernel: the `kiln_gpu.strategy` of each launch
    is copied onto the first op of its body, where
    `kiln-gpu-merge-modules` finds it and gives it to the outlined kernel.
  }];
  let dependentDialects = ["kiln::KilnGPUDialect"];
}

def GpuSelectStrategy : Pass<"kiln-gpu-select-strategy", "mlir::func::FuncOp"> {
  let summary = "Choose the GPU kernel strategy of every linalg op, once";
  let description = [{
    Runs on bufferized functions before the GPU strategies. Asks each
    strategy, in priority order, whether it takes an op or a kernel group,
    and records the answer as a `kiln_gpu.strategy` attribute
    (`#kiln_gpu.strategy<kind = ..., tile = ..., threads = ..., note = ...>`)
    on every linalg op: the tiled shared-memory contraction (with its tile
    sizes, threads, stages, precision and whether tensor cores compute it;
    its fused epilogue, folded operand producers and accumulator init are
    marked `fused`), one launch per row for reduction kernel groups, one
    thread per output element for the contraction groups left and for
    windowed reductions, a block per row for single-loop reductions of at
    least `min-row-size` elements, vectorized elementwise kernels, and the
    direct mapping (`thread_per_element`) for the rest. An op's `note` says
    why it got its strategy, or what the better ones lacked. The strategy
    passes only rewrite the ops chosen for them, with these parameters; the
    attribute is carried onto the `gpu.launch` they build.
    `-debug-only=kiln-gpu-select-strategy` prints every decision.
  }];
  let options = [
    Option<"precision", "precision", "::kiln::Precision",
           /*default=*/"::kiln::Precision::FP32",
           "operand precision of tiled contractions",
           [{::llvm::cl::values(
             clEnumValN(::kiln::Precision::FP32, "fp32", "f32 operands"),
             clEnumValN(::kiln::Precision::TF32, "tf32", "operands rounded to tf32"),
             clEnumValN(::kiln::Precision::FP16, "fp16", "operands rounded to fp16"),
             clEnumValN(::kiln::Precision::BF16, "bf16", "operands rounded to bf16"))}]>,
    Option<"minRowSize", "min-row-size", "int64_t", /*default=*/"32",
           "smallest reduction extent a block per row takes (shorter rows get a thread each)">
  ];
  let dependentDialects = ["kiln::KilnGPUDialect"];
}

def GpuContraction : Pass<"kiln-gpu-contraction", "mlir::func::FuncOp"> {
  let summary = "GPU strategy for matmul, batch_matmul and convolution kernels";
  let description = [{
    Every op that `kiln-gpu-select-strategy` gave a `tiled_contraction`
    strategy (static f32 linalg.matmul, batch_matmul, any generic
    contraction with one M, N and K loop, and linalg.conv_2d_nchw_fchw as
    an implicit GEMM that indexes the input window directly) becomes one
    kernel in "phase form": an `scf.forall`
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
    #kiln<kernel_kind data_movement>`) whose buffer only the contraction reads is not run:
    the tile loaders evaluate its body at each element they load.
    Block tile, micro-tile and precision are the strategy's parameters.
    With `emulation`, the buffers stay in the default memory space so the
    phase form runs on the CPU. A reduced precision rounds the operands to
    tf32, fp16 or bf16 as they enter shared memory (fp32 accumulation);
    with `tensor_cores`, the 64x64 tiles compute on tensor cores
    (`nvgpu.mma.sync`, m16n8k16 for fp16 and bf16, m16n8k8 for tf32), each
    warp a 16x32 tile (bf16 reaches NVVM through
    `kiln-gpu-lower-bf16-mma-sync`); emulation computes the same per-thread
    accumulator layout with scalar multiply-adds.
  }];
  let options = [
    Option<"emulation", "emulation", "bool", /*default=*/"false",
           "keep every buffer in the default memory space (CPU execution)">
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

def LowerBf16MmaSync : Pass<"kiln-gpu-lower-bf16-mma-sync", "mlir::ModuleOp"> {
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
    Rewrites each linalg.generic given a `reduction` strategy (it reduces
    over exactly one loop, combining with addf,
    maximumf, minimumf, maxnumf or minnumf into f32, as one gpu.launch with
    one block per output element. Each thread folds a strided slice of the
    row into a register (the body's elementwise expression fused in); the
    warp combines with `gpu.shuffle xor`; rows of 256 or more elements use
    256 threads whose warps combine their results through shared memory
    after a `gpu.barrier`. Thread 0 folds the row's total into the output.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::affine::AffineDialect", "mlir::memref::MemRefDialect"];
}

def GpuLowerSubgroupReduce : Pass<"kiln-gpu-lower-subgroup-reduce", "mlir::func::FuncOp"> {
  let summary = "Lower warp reductions (gpu.subgroup_reduce) to xor shuffles";
  let description = [{
    The reduction strategies combine a warp's values with
    `gpu.subgroup_reduce`; upstream's butterfly lowering turns each into
    five `gpu.shuffle xor` steps over 32 lanes (offsets 1, 2, 4, 8, 16), each
    lane getting the result, for the NVVM lowering and the emulator alike.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::arith::ArithDialect",
                           "mlir::vector::VectorDialect"];
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

#endif // KILN_CODEGEN_GPU_PASSES_TD
