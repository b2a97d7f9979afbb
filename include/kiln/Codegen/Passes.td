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

#endif // KILN_CODEGEN_PASSES_TD
