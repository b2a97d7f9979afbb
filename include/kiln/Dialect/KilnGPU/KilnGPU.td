//===- KilnGPU.td - GPU code generation decisions -----------*- tablegen -*-===//
#ifndef KILN_GPU_TD
#define KILN_GPU_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def KilnGPU_Dialect : Dialect {
  let name = "kiln_gpu";
  let cppNamespace = "::kiln";
  let summary = "Kiln's GPU code generation decisions";
  let description = [{
    Attributes only: the strategy that `kiln-gpu-select-strategy` chooses
    for each linalg op of a bufferized model, with its parameters. The GPU
    strategy passes read the decision instead of deciding again, so one
    place says which kernel every op becomes and why.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class KilnGPU_I32Enum<string name, string doc, list<I32EnumAttrCase> cases>
    : I32EnumAttr<name, doc, cases> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}

def KilnGPU_StrategyKind : KilnGPU_I32Enum<"StrategyKind", "GPU kernel strategy", [
  I32EnumAttrCase<"TiledContraction", 0, "tiled_contraction">,
  I32EnumAttrCase<"DirectContraction", 1, "direct_contraction">,
  I32EnumAttrCase<"RowKernel", 2, "row_kernel">,
  I32EnumAttrCase<"Reduction", 3, "reduction">,
  I32EnumAttrCase<"Elementwise", 4, "elementwise">,
  I32EnumAttrCase<"ThreadPerElement", 5, "thread_per_element">,
  I32EnumAttrCase<"Fused", 6, "fused">
]>;

def KilnGPU_Precision : KilnGPU_I32Enum<"Precision", "operand precision of contractions", [
  I32EnumAttrCase<"FP32", 0, "fp32">,
  I32EnumAttrCase<"TF32", 1, "tf32">,
  I32EnumAttrCase<"FP16", 2, "fp16">,
  I32EnumAttrCase<"BF16", 3, "bf16">
]>;

def KilnGPU_PrecisionParameter : EnumParameter<KilnGPU_Precision> {
  let defaultValue = "::kiln::Precision::FP32";
}

/// A list of integers written [a, b, c]; omitted when empty.
def KilnGPU_IntList : OptionalArrayRefParameter<"int64_t"> {
  let printer = [{
    $_printer << '[';
    ::llvm::interleaveComma($_self, $_printer);
    $_printer << ']';
  }];
  let parser = [{ [&]() -> ::mlir::FailureOr<::llvm::SmallVector<int64_t>> {
    ::llvm::SmallVector<int64_t> values;
    if ($_parser.parseCommaSeparatedList(::mlir::AsmParser::Delimiter::Square,
                                         [&]() { return $_parser.parseInteger(values.emplace_back()); }))
      return ::mlir::failure();
    return values;
  }() }];
}

def KilnGPU_StrategyAttr : AttrDef<KilnGPU_Dialect, "Strategy"> {
  let mnemonic = "strategy";
  let summary = "the GPU kernel strategy of one op, with its parameters";
  let description = [{
    Set by `kiln-gpu-select-strategy` on every linalg op of a bufferized
    function (discardable attribute `kiln_gpu.strategy`) and carried onto
    the `gpu.launch` the strategy builds. `kind` names the strategy:

    - `tiled_contraction`: block tiles `tile` = [BM, BN, BK] in shared
      memory, `micro_tile` = [TM, TN] accumulators per thread, `threads`
      per block, `stages` shared-memory buffers per operand, operands
      rounded to `precision`, `tensor_cores` for mma.sync. With
      `tensor_cores` and more than two `stages` the kernel is the
      cp.async pipeline (stages of f32 tiles, ldmatrix, 8 warps of
      (BM/2) x (BN/4)), and a fourth `tile` entry is its split-K: K in
      that many ranges, summed by a second kernel;
    - `direct_contraction`: one thread per output element of the group;
    - `row_kernel`: one launch per reduction kernel group, a block (or
      warp) of `threads` per row;
    - `reduction`: one block of `threads` per output element;
    - `elementwise`: `threads` per block, 16-byte vector accesses;
    - `thread_per_element`: the direct mapping, blocks of `threads`;
    - `fused`: computed inside another op's kernel (a contraction's
      epilogue, an operand producer folded into its tile loaders, or its
      accumulator's initialization).

    `note` says why (the shape that decided, or what a better strategy
    lacked).

    ```mlir
    linalg.matmul {kiln_gpu.strategy = #kiln_gpu.strategy<kind = tiled_contraction,
        tile = [64, 64, 16], micro_tile = [4, 4], threads = 256, stages = 2,
        precision = fp16, tensor_cores = true, note = "m=512 n=512 k=768">} ...
    ```
  }];
  let parameters = (ins
    EnumParameter<KilnGPU_StrategyKind>:$kind,
    KilnGPU_IntList:$tile,
    KilnGPU_IntList:$micro_tile,
    DefaultValuedParameter<"int64_t", "0">:$threads,
    DefaultValuedParameter<"int64_t", "0">:$stages,
    KilnGPU_PrecisionParameter:$precision,
    DefaultValuedParameter<"bool", "false">:$tensor_cores,
    StringRefParameter<"why this strategy", "\"\"">:$note
  );
  let assemblyFormat = "`<` struct(params) `>`";
}

#endif // KILN_GPU_TD
