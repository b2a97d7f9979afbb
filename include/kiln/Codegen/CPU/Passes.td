//===- Passes.td - CPU code generation passes --------------*- tablegen -*-===//
#ifndef KILN_CODEGEN_CPU_PASSES_TD
#define KILN_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvToIm2col : Pass<"kiln-cpu-conv-to-im2col", "mlir::func::FuncOp"> {
  let summary = "Rewrite 2-D convolutions as an im2col copy and a contraction";
  let description = [{
    `linalg.conv_2d_nchw_fchw` becomes a copy of every input window into an
    [N, C*KH*KW, OH*OW] tensor and a contraction with the weights seen as
    [F, C*KH*KW]. The contraction's innermost loop then runs over contiguous
    output pixels, which vectorizes; the convolution's own innermost loop
    runs over the kernel width, which does not.

    With `runtime-convs`, the f32 convolutions that the runtime's implicit
    GEMM runs (kiln_cpu_conv2d, see kiln-cpu-contraction-to-call), 1x1
    ones included, stay convolutions.
  }];
  let options = [
    Option<"runtimeConvs", "runtime-convs", "bool", /*default=*/"false",
           "leave the convolutions kiln_cpu_conv2d runs as they are">
  ];
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
    convolution, any generic of that shape) that does not become a runtime
    GEMM call (see kiln-cpu-contraction-to-call) is tiled with scf.for loops
    into blocks of M x N x K = `tile-m` x `tile-n` x `tile-k` (each the
    largest divisor of the dimension up to the requested size, so tiles
    stay static), and each block becomes one `vector.contract`. Lowered
    as outer products, the M x N accumulator block stays in vector
    registers across the K loop of the block.
  }];
  let options = [
    Option<"tileM", "tile-m", "int64_t", /*default=*/"4", "rows of the register block">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"16", "columns of the register block">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"64", "reduction depth of one block">,
    Option<"gemmCalls", "gemm-calls", "bool", /*default=*/"true",
           "leave the contractions that kiln-cpu-contraction-to-call turns into runtime GEMM calls">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect", "mlir::tensor::TensorDialect"];
}

def CpuParallelize : Pass<"kiln-cpu-parallelize", "mlir::func::FuncOp"> {
  let summary = "Split every remaining kernel's outer parallel loops over the thread pool";
  let description = [{
    Each linalg op on tensors at the top level of a function that is not
    already tiled and is not a runtime GEMM call (which runs on the pool
    itself) is tiled with an scf.forall over its outer parallel loops into
    about `min-tasks` tiles; the innermost loop stays whole so that it
    still vectorizes. kiln-cpu-outline-parallel then runs each forall on
    the runtime's thread pool. Ops with fewer than `min-work` iterations
    stay serial: a launch would cost more than it saves.
  }];
  let options = [
    Option<"minTasks", "min-tasks", "int64_t", /*default=*/"64", "tiles to aim for">,
    Option<"minWork", "min-work", "int64_t", /*default=*/"16384",
           "iterations below which an op stays serial">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def CpuFastMath : Pass<"kiln-cpu-fast-math", "mlir::func::FuncOp"> {
  let summary = "f32 erf and tanh as polynomial approximations that vectorize";
  let description = [{
    Rewrites f32 `math.erf` (GELU) and `math.tanh` into upstream MLIR's
    polynomial approximations: plain arithmetic that LLVM vectorizes with
    the loop around it, where the libm calls they would become are scalar.
    Other math functions keep their exact lowering (exp and log meet -inf
    attention masks and must stay exact there).
  }];
  let dependentDialects = ["mlir::math::MathDialect", "mlir::arith::ArithDialect",
                           "mlir::vector::VectorDialect"];
}

def CpuAttentionToCall : Pass<"kiln-cpu-attention-to-call", "mlir::ModuleOp"> {
  let summary = "Compute f32 kiln.attention with the runtime's fused kernel";
  let description = [{
    Each `kiln.attention` left by `convert-kiln-to-linalg` (static f32)
    becomes a call to `kiln_cpu_attention` on its operands' buffers
    (`bufferization.to_buffer`, read only, any strided layout: the call
    takes every operand's address and element strides, 0 for broadcast
    mask dimensions) and a new output buffer. Runs on tensors, before
    bufferization; the scores are never materialized. The call sits in an
    `scf.execute_region` (no_inline) that reads the buffers' metadata, so
    the memory plan keeps them live across it.
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect",
                           "mlir::memref::MemRefDialect", "mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect", "mlir::scf::SCFDialect"];
}

def CpuContractionToCall : Pass<"kiln-cpu-contraction-to-call", "mlir::ModuleOp"> {
  let summary = "Run f32 contractions and depthwise convolutions on buffers as runtime calls";
  let description = [{
    Every f32 contraction on buffers that `kiln::matchCpuGemm` accepts
    (matmul, batch_matmul, the im2col form of a convolution, any generic
    of that shape: at most one batch, m and n loop and one k loop) becomes
    one call to `kiln_cpu_sgemm(batch, M, N, K, A, A strides, B, B strides,
    C, C strides)` with each operand's address and element strides read
    from its memref. The runtime packs the operands into panels and runs a
    register-blocked microkernel chosen for the CPU (AVX-512, AVX2 or
    portable) on its thread pool: one kernel shared by every layer and
    every model instead of unrolled vector code per layer. Likewise every
    f32 depthwise 2-D convolution (`kiln::matchCpuDepthwise`: one input
    and one output channel per group) becomes a call to
    `kiln_cpu_depthwise_conv2d` with its window geometry and strides.

    A GEMM operand that is a constant (a view of a constant memref.global,
    static layout, the same for every batch) is packed at compile time
    into a new constant global in the microkernel's panels (A: `a-panel`
    rows, B: `b-panel` columns, each over all of K), so that runs read the
    weights as they are instead of packing them every time. 0 asks the
    runtime for this CPU's panels; -1 packs nothing.

    An f32 `linalg.conv_2d_nchw_fchw` becomes a call to kiln_cpu_conv2d,
    the runtime's implicit GEMM, with the filter packed as A. When its
    input is a zero-padded copy P of a buffer X (an allocation filled with
    0 whose interior receives a copy of X, read by nothing else, with X
    unchanged until the convolution), the call reads X with the pads
    instead and the fill, the copy and P go. That structure exists only
    before buffers are planned into one arena: the CPU pipeline runs this
    pass with `convs-only` right after bufferization, and once more after
    the plan for everything else. The call's operands are extracted output
    first, input last, so that the plan keeps X live up to the call.
  }];
  let options = [
    Option<"aPanelOption", "a-panel", "int64_t", /*default=*/"0",
           "rows of A's prepacked panels (0: the runtime's, -1: none)">,
    Option<"bPanelOption", "b-panel", "int64_t", /*default=*/"0",
           "columns of B's prepacked panels (0: the runtime's, -1: none)">,
    Option<"minWork", "min-work", "int64_t", /*default=*/"4096",
           "multiply-adds below which a contraction keeps its inline register blocks">,
    Option<"convsOnly", "convs-only", "bool", /*default=*/"false",
           "rewrite the convolutions only (run right after bufferization, so that a padded copy of the input can still be read in place)">
  ];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def CpuProfileMarkers : Pass<"kiln-cpu-profile-markers", "mlir::ModuleOp"> {
  let summary = "Mark where each kernel starts and ends, for the runtime's profiles";
  let description = [{
    Runs on bufferized host code, before parallel loops are outlined. The
    top-level ops of each function that do work (write memory, call, or
    hold loops) are grouped into runs of one kernel: an op belongs to the
    kernel of the first op inside it tagged `kiln.kernel`; an untagged op
    (a padding fill, a copy, a runtime call) to the kernel that follows it,
    or to the one before when none follows. Each run is bracketed by
    `call @kiln_profile_begin(id)` and `call @kiln_profile_end(id)`, which
    cost a load and a branch unless the runtime is profiling that run. The
    function's kernel table (`kiln.kernels`, from kiln-inline-kernels)
    moves to the module, where the model's signature reads it.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::arith::ArithDialect"];
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

def SplitHostCode : Pass<"kiln-split-host-code", "mlir::ModuleOp"> {
  let summary = "Split a long host function into functions of bounded size";
  let description = [{
    A model's host code is one function (`main`) that runs its kernels in
    order. LLVM's optimizer and code generator take more than linear time
    in the size of a function, so a model of many small kernels (an
    unrolled recurrence, a deep stack of layers) compiled slowly. Once the
    parallel loops are outlined, the top-level ops of every function with
    more than `ops-per-function` nested ops are cut, in order, into runs
    of at most that many, and each run becomes a private `noinline`
    function called in its place. A run takes as arguments the values it
    uses that are defined before it (side-effect free ops without regions,
    such as constants, weights' `memref.get_global` and views of the
    arena, are recomputed inside instead), and returns the values that
    later ops use. Allocations stay in the calling function. Side-effect
    free ops that read a run's values go with it, uncounted.
  }];
  let options = [
    Option<"opsPerFunction", "ops-per-function", "int64_t", /*default=*/"1000",
           "Most nested ops in one function (0: never split)">,
  ];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

#endif // KILN_CODEGEN_CPU_PASSES_TD
