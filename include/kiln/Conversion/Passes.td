//===- Passes.td - Kiln conversion passes --------------------*- tablegen -*-===//
#ifndef KILN_CONVERSION_PASSES_TD
#define KILN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertKilnToLinalg : Pass<"convert-kiln-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower kiln ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Rewrites every kiln op into upstream ops on tensors: pointwise ops and
    broadcasts become `linalg.generic`, contractions become named linalg
    ops or generics, views become `tensor.collapse_shape` /
    `tensor.expand_shape` / `tensor.extract_slice`. A kiln op without a
    lowering is reported at its location (the ONNX node).

    `kiln.attention` becomes its parts (matmul, scale, mask, softmax,
    matmul) unless `keep-f32-attention` is set and it is f32 with static
    shapes (or f16/bf16 with `keep-half-attention`): then it stays for the
    target's own kernel (the CPU's `kiln-cpu-attention-to-call`, the GPU's
    `kiln-gpu-attention`).
  }];
  let options = [
    Option<"keepF32Attention", "keep-f32-attention", "bool", /*default=*/"false",
           "leave static f32 kiln.attention ops for the target">,
    Option<"keepHalfAttention", "keep-half-attention", "bool", /*default=*/"false",
           "leave static f16 and bf16 kiln.attention ops for the target">
  ];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::scf::SCFDialect"
  ];
}

def ConvertMemRefCopyToLinalg : Pass<"kiln-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    Bufferization copies with `memref.copy`, whose LLVM lowering calls a
    runtime library function for non-contiguous copies. As `linalg.copy` the
    copies become plain loops, so compiled models need no extra library.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

#endif // KILN_CONVERSION_PASSES_TD
