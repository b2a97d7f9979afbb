//===- Passes.td - kiln graph passes --------------------------*- tablegen -*-===//
#ifndef KILN_TRANSFORMS_PASSES_TD
#define KILN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FoldWeights : Pass<"kiln-fold-weights", "mlir::func::FuncOp"> {
  let summary = "Precompute weight transformations at compile time";
  let description = [{
    Transposes and slices of constants of any size become constants (op
    folders only handle small ones), and so do reshapes of a constant's
    last use, so a Gemm's `transB` weight is stored transposed instead of
    transposed at every run, and a recurrent layer's per-direction
    weights are sliced once.

    `kiln.batch_norm(kiln.conv(x, W, b))`, where the convolution's only use
    is the normalization and W, b and the normalization's parameters are
    constants, becomes one convolution with per-output-channel scaled weights
    `W' = W * s` and bias `b' = (b - mean) * s + beta`, where
    `s = gamma / sqrt(variance + epsilon)`. The new weights are computed at
    compile time, in double precision, and rounded once to float.
  }];
  let dependentDialects = ["kiln::KilnDialect"];
}

def FuseAttention : Pass<"kiln-fuse-attention", "mlir::func::FuncOp"> {
  let summary = "Turn the attention subgraphs of exported transformers into kiln.attention";
  let description = [{
    Finds `matmul(softmax(matmul(Q, K^T) * scale + mask), V)` in the forms
    exporters write it: the scale on the scores or its square root on Q and
    K, K^T as a transpose of K (also of a [batch * heads] view), the mask
    an added bias (broadcasts removed; a constant causal mask becomes
    `causal_offset`), NaN probabilities zeroed (`select(isnan(P), 0, P)`,
    `zero_nan_rows`), 3-D [batch * heads, sequence, dim] products, and K and
    V repeated over query heads by reshape, broadcast, reshape (grouped-query
    attention: the fused op reads the unrepeated tensors). ONNX Attention
    imports as that chain, so it fuses too. Every intermediate must be used
    only by the chain; a chain that does not match stays as it is, and
    `-debug-only=kiln-fuse-attention` says why.
  }];
  let dependentDialects = ["kiln::KilnDialect"];
}

def FormKernels : Pass<"kiln-form-kernels", "mlir::func::FuncOp"> {
  let summary = "Partition the graph into kernel groups (kiln.kernel)";
  let description = [{
    Every op that computes (everything but constants and views) moves into
    a `kiln.kernel`, one per kernel launch. Rules:

    * an attention forms an `attention` kernel of its own;
    * a matmul, convolution or transposed convolution starts a
      `contraction` kernel, a reduction (reduce, softmax, layer/instance
      norm, pooling, arg-reduce, cumsum, topk) starts a `reduction` kernel,
      concat/pad/resize/gather start a `data_movement` kernel;
    * an elementwise op (unary, binary, select, cast, broadcast, transpose,
      unfolded batch_norm) joins the kernel of one of its operands, the
      nearest one with an anchor first, as an epilogue; otherwise it starts an
      `elementwise` kernel;
    * a reduction or an elementwise op also takes in `elementwise` kernels
      that only it uses (its producers);
    * reshape and slice are views and stay outside kernels, unless they sit
      between two ops of one kernel;
    * a group is legal only if every use of its values outside the group
      comes after its last op, so kernels never form cycles.

    Small constants (splats, or at most 16 elements) are cloned into the
    kernels that use them; other constants are kernel inputs.
  }];
  let dependentDialects = ["kiln::KilnDialect"];
}

def KernelCosts : Pass<"kiln-kernel-costs", "mlir::func::FuncOp"> {
  let summary = "Record each kernel group's FLOPs, bytes and ONNX nodes on it";
  let description = [{
    Runs while kernel bodies are still kiln ops (before lowering to linalg)
    and sets `kiln.cost = {flops, bytes, nodes}` on every `kiln.kernel`,
    counted as the fusion report counts them. kiln-inline-kernels turns
    these into the function's kernel table, which the CPU target's
    profiles report against.
  }];
}

def InlineKernels : Pass<"kiln-inline-kernels", "mlir::func::FuncOp"> {
  let summary = "Dissolve kiln.kernel ops, tagging their ops with the kernel";
  let description = [{
    Runs after the kernels' bodies have been lowered and fused. Moves the
    body of every `kiln.kernel` in front of it and tags each of its ops
    (but constants and `tensor.empty`) with `kiln.kernel = N : i64` (the
    kernel's position in the function) and `kiln.kernel_kind`, so the code
    generation strategies know which ops form one kernel. The function gets
    `kiln.kernels`: per kernel its name, kind and (from `kiln.cost`) FLOPs,
    bytes and ONNX nodes.
  }];
}

#endif // KILN_TRANSFORMS_PASSES_TD
