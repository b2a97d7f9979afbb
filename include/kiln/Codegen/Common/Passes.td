//===- Passes.td - passes shared by every target -----------*- tablegen -*-===//
#ifndef KILN_CODEGEN_COMMON_PASSES_TD
#define KILN_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

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

def FuseElementwise : Pass<"kiln-fuse-elementwise"> {
  let summary = "Upstream elementwise fusion, each fused body bounded in size";
  let description = [{
    linalg's elementwise op fusion (producers with one use, reshapes folded
    by expansion, constant folding), refusing a fusion whose body would
    exceed `max-body-ops` operations. Fusion clones both bodies each time,
    so an unbounded chain costs quadratic time; bounded, it is linear.
    First, each chain of plain elementwise generics (identity maps, each
    result read only by the next) is merged in one step, every body cloned
    once, under the same bound.
  }];
  let options = [
    Option<"maxBodyOps", "max-body-ops", "int64_t", /*default=*/"256",
           "largest fused body, in operations">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
                           "mlir::affine::AffineDialect"];
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

#endif // KILN_CODEGEN_COMMON_PASSES_TD
