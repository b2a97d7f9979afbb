//===- KilnOps.td - kiln dialect operations ------------------*- tablegen -*-===//
#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "kiln/Dialect/Kiln/KilnBase.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Kiln_Tensor : RankedTensorOf<[AnyType]>;
def Kiln_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Kiln_IndexTensor : RankedTensorOf<[I32, I64]>;
def Kiln_BoolTensor : RankedTensorOf<[I1]>;

//===----------------------------------------------------------------------===//
// Constants and pointwise ops
//===----------------------------------------------------------------------===//

def Kiln_ConstantOp : Kiln_Op<"constant",
    [ConstantLike, Pure, InferTypeOpAdaptor]> {
  let summary = "tensor constant (weights, folded shape values)";
  let description = [{
    A constant tensor. Model weights are stored as `dense_resource` blobs so
    that the IR stays small; folded shape computations and small constants
    use `dense` literals.

    ```mlir
    %0 = kiln.constant dense<[1, 3, 224, 224]> : tensor<4xi64>
    %w = kiln.constant dense_resource<conv1_weight> : tensor<64x3x7x7xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Kiln_UnaryOp : Kiln_Op<"unary", [Pure, InferTypeOpAdaptor]> {
  let summary = "pointwise function of one tensor";
  let description = [{
    Applies the function named by `kind` to every element. Parameterized
    activations carry their constants: `leaky_relu` and `elu` use `alpha`,
    `selu` uses `alpha` (scale of the negative part) and `beta` (gamma),
    `hard_sigmoid` computes `max(0, min(1, alpha * x + beta))`. `not` works
    on `i1`; `abs`, `neg`, `sign` and `relu` on any number; the rest on
    floats.

    ```mlir
    %1 = kiln.unary relu %0 : tensor<1x64x56x56xf32>
    %2 = kiln.unary leaky_relu %1 {alpha = 1.000000e-01 : f32} : tensor<4xf32>
    ```
  }];
  let arguments = (ins Kiln_UnaryKindAttr:$kind, Kiln_Tensor:$input,
                       OptionalAttr<F32Attr>:$alpha, OptionalAttr<F32Attr>:$beta);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_BinaryOp : Kiln_Op<"binary", [Pure, InferTypeOpAdaptor]> {
  let summary = "pointwise function of two tensors with numpy broadcasting";
  let description = [{
    Applies `kind` elementwise after numpy-style broadcasting of the two
    operands. Both operands have the same element type. Comparisons
    (`eq`, `lt`, `le`, `gt`, `ge`) produce `i1`; `and`, `or`, `xor` take
    integers (logical on `i1`, bitwise on wider ones).
    `mod` is the integer remainder with the sign of the divisor (Python's
    `%`); `fmod` has the sign of the dividend (C's `fmod`, also on floats).

    ```mlir
    %2 = kiln.binary add %0, %1 : tensor<1x64x56x56xf32>, tensor<64x1x1xf32> -> tensor<1x64x56x56xf32>
    %3 = kiln.binary lt %0, %1 : tensor<4xi64>, tensor<i64> -> tensor<4xi1>
    ```
  }];
  let arguments = (ins Kiln_BinaryKindAttr:$kind, Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $kind $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_SelectOp : Kiln_Op<"select", [Pure, InferTypeOpAdaptor]> {
  let summary = "pointwise choice between two tensors (ONNX Where)";
  let description = [{
    `result[i] = condition[i] ? true_value[i] : false_value[i]` after numpy
    broadcasting of all three operands.

    ```mlir
    %r = kiln.select %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Kiln_BoolTensor:$condition, Kiln_Tensor:$true_value,
                       Kiln_Tensor:$false_value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$condition `,` $true_value `,` $false_value attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_CastOp : Kiln_Op<"cast", [Pure]> {
  let summary = "element type conversion";
  let description = [{
    Converts every element to the result's element type with ONNX Cast
    semantics (float to integer truncates toward zero; to `i1` is `!= 0`).

    ```mlir
    %1 = kiln.cast %0 : tensor<2x3xi64> to tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contractions and normalizations
//===----------------------------------------------------------------------===//

def Kiln_MatMulOp : Kiln_Op<"matmul", [Pure, InferTypeOpAdaptor]> {
  let summary = "numpy matmul: batched, broadcasting matrix product";
  let description = [{
    Matrix product with numpy semantics: 1-D operands are promoted to
    matrices (and the promoted dimension dropped from the result), leading
    batch dimensions broadcast. Gemm and Einsum are normalized onto it.

    ```mlir
    %c = kiln.matmul %a, %b : (tensor<8x128x64xf32>, tensor<64x32xf32>) -> tensor<8x128x32xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ConvOp : Kiln_Op<"conv", [Pure, InferTypeOpAdaptor]> {
  let summary = "N-d grouped convolution (NCHW, OIHW)";
  let description = [{
    Cross-correlation of `input` (N x C x D1 ... Dn) with `weight`
    (M x C/group x K1 ... Kn), plus an optional 1-D `bias` of size M.
    `pads` holds the begin paddings of every spatial dimension followed by
    the end paddings; auto_pad is resolved by the importer.

    ```mlir
    %y = kiln.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64,
           pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
         : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x32x32xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$weight,
                       Optional<Kiln_Tensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ConvTransposeOp : Kiln_Op<"conv_transpose", [Pure, InferTypeOpAdaptor]> {
  let summary = "N-d grouped transposed convolution (NCHW, IOHW)";
  let description = [{
    Gradient of convolution with respect to its input. `weight` is
    C x M/group x K1 ... Kn. The output size of each spatial dimension is
    `stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pad_begin - pad_end`;
    the importer turns ONNX's `output_shape` into `pads`.

    ```mlir
    %y = kiln.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64,
           output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>,
           strides = array<i64: 2, 2>}
         : (tensor<1x8x4x4xf32>, tensor<8x4x2x2xf32>) -> tensor<1x4x8x8xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$weight,
                       Optional<Kiln_Tensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations, DenseI64ArrayAttr:$output_padding,
                       I64Attr:$group);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_BatchNormOp : Kiln_Op<"batch_norm", [Pure, InferTypeOpAdaptor]> {
  let summary = "inference-mode batch normalization over channel dimension 1";
  let description = [{
    `y = scale * (x - mean) / sqrt(variance + epsilon) + bias`, each
    parameter a 1-D tensor over the channel dimension. Kept as one op so that
    it can fold into the weights of a preceding convolution.

    ```mlir
    %y = kiln.batch_norm %x, %s, %b, %m, %v {epsilon = 9.99999974E-6 : f32}
         : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                       Kiln_FloatTensor:$bias, Kiln_FloatTensor:$mean,
                       Kiln_FloatTensor:$variance, F32Attr:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $scale `,` $bias `,` $mean `,` $variance attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_LayerNormOp : Kiln_Op<"layer_norm", [Pure, InferTypeOpAdaptor]> {
  let summary = "layer normalization over the trailing dimensions from `axis`";
  let description = [{
    Normalizes over dimensions `axis ..< rank` to zero mean and unit variance,
    then applies `scale` and the optional `bias`, which broadcast against
    those trailing dimensions.

    ```mlir
    %y = kiln.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 9.99999974E-6 : f32}
         : (tensor<1x128x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<1x128x768xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                       Optional<Kiln_FloatTensor>:$bias, I64Attr:$axis,
                       F32Attr:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $scale (`,` $bias^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_InstanceNormOp : Kiln_Op<"instance_norm", [Pure, InferTypeOpAdaptor]> {
  let summary = "instance normalization over the spatial dimensions";
  let description = [{
    Normalizes each (batch, channel) slice over its spatial dimensions, then
    applies the per-channel `scale` and `bias`.

    ```mlir
    %y = kiln.instance_norm %x, %s, %b {epsilon = 9.99999974E-6 : f32}
         : (tensor<2x3x8x8xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x8x8xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                       Kiln_FloatTensor:$bias, F32Attr:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $scale `,` $bias attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxOp : Kiln_Op<"softmax", [Pure, InferTypeOpAdaptor]> {
  let summary = "softmax or log-softmax along one axis";
  let description = [{
    `exp(x - max) / sum(exp(x - max))` along `axis`; with `log`, the
    logarithm of that (ONNX LogSoftmax).

    ```mlir
    %y = kiln.softmax %x {axis = 1 : i64} : tensor<4x10xf32>
    %z = kiln.softmax %x {axis = 1 : i64, log} : tensor<4x10xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$axis, UnitAttr:$log);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_AttentionOp : Kiln_Op<"attention", [Pure]> {
  let summary = "scaled dot-product attention: softmax(Q K^T * scale + mask) V";
  let description = [{
    Attention over [batch, heads, sequence, head size] tensors:

    `result[b, h, i, :] = sum_j softmax_j(Q[b, h, i] . K[b, g, j] * scale
    + mask[b, h, i, j]) V[b, g, j, :]`

    with `g = h / (H / Hkv)`: key and value may have fewer heads than the
    query (grouped-query attention), each serving `H / Hkv` consecutive
    query heads. `mask` is an optional additive bias of the query's element
    type that broadcasts (numpy rules) to [batch, heads, query length, key
    length]; `-inf` entries hide a key. With `causal_offset`, query `i` sees
    keys `j <= i + causal_offset` only (0: aligned at the start, as ONNX
    `is_causal`; key length - query length: aligned at the end, a KV
    cache). A row that sees no key is NaN, as the softmax it replaces, or 0
    with `zero_nan_rows` (exports that zero NaN probabilities).

    `kiln-fuse-attention` forms it from the matmul, scale, mask, softmax,
    matmul chains of exported transformers (and ONNX Attention). The CPU
    (f32) and the GPU (f32, f16, bf16) compute it in one kernel that never
    stores the sequence x sequence scores; other element types lower it
    back to those ops.

    ```mlir
    %o = kiln.attention %q, %k, %v mask %m {scale = 0.125 : f32, causal_offset = 0 : i64}
        : (tensor<2x8x128x64xf32>, tensor<2x2x128x64xf32>, tensor<2x2x128x64xf32>,
           tensor<2x1x1x128xf32>) -> tensor<2x8x128x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$query, Kiln_FloatTensor:$key,
                       Kiln_FloatTensor:$value, Optional<Kiln_FloatTensor>:$mask,
                       F32Attr:$scale, OptionalAttr<I64Attr>:$causal_offset,
                       UnitAttr:$zero_nan_rows);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` $mask^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Reductions and pooling
//===----------------------------------------------------------------------===//

def Kiln_ReduceOp : Kiln_Op<"reduce", [Pure, InferTypeOpAdaptor]> {
  let summary = "reduction over a set of axes";
  let description = [{
    Combines elements along `axes` (sorted, unique, non-negative) with
    `kind`. With `keep_dims` the reduced dimensions stay with size 1.
    `l1`, `l2`, `sum_square`, `log_sum` and `log_sum_exp` follow the ONNX
    ReduceL1 ... ReduceLogSumExp definitions; global pooling is a `mean` or
    `max` over the spatial axes.

    ```mlir
    %s = kiln.reduce mean %x {axes = array<i64: 2, 3>, keep_dims} : tensor<1x64x7x7xf32> -> tensor<1x64x1x1xf32>
    ```
  }];
  let arguments = (ins Kiln_ReduceKindAttr:$kind, Kiln_Tensor:$input,
                       DenseI64ArrayAttr:$axes, UnitAttr:$keep_dims);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_ArgReduceOp : Kiln_Op<"arg_reduce", [Pure, InferTypeOpAdaptor]> {
  let summary = "index of the maximum or minimum along one axis";
  let description = [{
    Returns `i64` indices of the extreme element along `axis`; ties resolve
    to the first index, or the last with `select_last_index`.

    ```mlir
    %i = kiln.arg_reduce max %x {axis = 1 : i64} : tensor<4x10xf32> -> tensor<4xi64>
    ```
  }];
  let arguments = (ins Kiln_ArgKindAttr:$kind, Kiln_Tensor:$input, I64Attr:$axis,
                       UnitAttr:$keep_dims, UnitAttr:$select_last_index);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_PoolOp : Kiln_Op<"pool", [Pure, InferTypeOpAdaptor]> {
  let summary = "windowed max or average pooling over spatial dimensions";
  let description = [{
    Slides a `kernel_shape` window over the spatial dimensions (all but the
    first two). `pads` holds begin paddings then end paddings. Average
    pooling divides by the window size including padding only with
    `count_include_pad`; `ceil_mode` rounds the output size up.

    ```mlir
    %y = kiln.pool max %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>,
           pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
         : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins Kiln_PoolKindAttr:$kind, Kiln_Tensor:$input,
                       DenseI64ArrayAttr:$kernel_shape, DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                       UnitAttr:$ceil_mode, UnitAttr:$count_include_pad);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_TopKOp : Kiln_Op<"topk", [Pure, InferTypeOpAdaptor]> {
  let summary = "k largest or smallest elements along an axis, sorted";
  let description = [{
    Returns the `k` largest (or, without `largest`, smallest) elements along
    `axis` in sorted order, and their `i64` indices. Equal values keep the
    lower index first.

    ```mlir
    %v, %i = kiln.topk %x {axis = 1 : i64, k = 3 : i64, largest = true} : tensor<3x4xf32> -> tensor<3x3xf32>, tensor<3x3xi64>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$k, I64Attr:$axis, BoolAttr:$largest);
  let results = (outs Kiln_Tensor:$values, RankedTensorOf<[I64]>:$indices);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($values) `,` type($indices)";
  let hasVerifier = 1;
}

def Kiln_CumSumOp : Kiln_Op<"cumsum", [Pure, InferTypeOpAdaptor]> {
  let summary = "cumulative sum along an axis";
  let description = [{
    Running sum along `axis`; `exclusive` leaves the current element out and
    `reverse` sums from the end.

    ```mlir
    %y = kiln.cumsum %x {axis = 0 : i64, exclusive} : tensor<5xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$axis, UnitAttr:$exclusive,
                       UnitAttr:$reverse);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Kiln_ReshapeOp : Kiln_Op<"reshape", [Pure]> {
  let summary = "reinterpret a tensor with a new static shape";
  let description = [{
    Same elements in row-major order, new shape. ONNX Reshape, Flatten,
    Squeeze and Unsqueeze all become this op. It is a view, never a kernel.

    ```mlir
    %y = kiln.reshape %x : tensor<1x512x1x1xf32> -> tensor<1x512xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_TransposeOp : Kiln_Op<"transpose", [Pure, InferTypeOpAdaptor]> {
  let summary = "permute dimensions";
  let description = [{
    `result.shape[i] = input.shape[permutation[i]]`.

    ```mlir
    %y = kiln.transpose %x [0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input $permutation attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_ConcatOp : Kiln_Op<"concat", [Pure, InferTypeOpAdaptor]> {
  let summary = "join tensors along an axis";
  let description = [{
    All inputs have the same rank, element type, and sizes except along
    `axis`.

    ```mlir
    %y = kiln.concat %a, %b {axis = 1 : i64} : (tensor<1x2xf32>, tensor<1x3xf32>) -> tensor<1x5xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_SliceOp : Kiln_Op<"slice", [Pure]> {
  let summary = "strided window of a tensor";
  let description = [{
    `result[i0, ...] = input[starts[0] + i0 * steps[0], ...]`, with the
    window sizes given by the result type. Steps may be negative (reversal).
    ONNX Slice and Split become this op with resolved, in-bounds starts.

    ```mlir
    %y = kiln.slice %x {starts = array<i64: 0, 2>, steps = array<i64: 1, 2>} : tensor<4x10xf32> -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$steps);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_BroadcastOp : Kiln_Op<"broadcast", [Pure]> {
  let summary = "numpy broadcast to a larger static shape (ONNX Expand)";
  let description = [{
    Broadcasts `input` to the result shape with numpy rules: the input is
    right-aligned and each of its dimensions is 1 or equal to the result's.

    ```mlir
    %y = kiln.broadcast %x : tensor<3x1xf32> -> tensor<2x3x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_GatherOp : Kiln_Op<"gather", [Pure, InferTypeOpAdaptor]> {
  let summary = "take slices along an axis at given indices";
  let description = [{
    ONNX Gather: the result shape is `data.shape[:axis] + indices.shape +
    data.shape[axis+1:]`. Negative indices count from the end.

    ```mlir
    %y = kiln.gather %emb, %ids {axis = 0 : i64} : (tensor<1000x64xf32>, tensor<1x8xi64>) -> tensor<1x8x64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$data `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_GatherElementsOp : Kiln_Op<"gather_elements", [Pure, InferTypeOpAdaptor]> {
  let summary = "pick elements along an axis at per-element indices";
  let description = [{
    ONNX GatherElements: the result has the shape of `indices`;
    `result[i][j] = data[indices[i][j]][j]` for `axis = 0`.

    ```mlir
    %y = kiln.gather_elements %x, %i {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$data `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_PadOp : Kiln_Op<"pad", [Pure, InferTypeOpAdaptor]> {
  let summary = "pad with a constant, reflection or edge values";
  let description = [{
    `pads` holds the begin amounts of every dimension followed by the end
    amounts; negative amounts crop. `value` is used by the `constant` mode.

    ```mlir
    %y = kiln.pad constant %x {pads = array<i64: 0, 1, 0, 1>, value = 0.0 : f64} : tensor<2x3xf32> -> tensor<2x5xf32>
    ```
  }];
  let arguments = (ins Kiln_PadModeAttr:$mode, Kiln_Tensor:$input,
                       DenseI64ArrayAttr:$pads, F64Attr:$value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$mode $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_ResizeOp : Kiln_Op<"resize", [Pure]> {
  let summary = "nearest or (multi)linear resampling";
  let description = [{
    Resamples every dimension by `scales` (one per dimension; the output
    size is in the result type). Coordinates map back to the input by
    `coord_mode`; nearest rounding follows `nearest_mode`.

    ```mlir
    %y = kiln.resize nearest %x {coord_mode = #kiln<coord_mode asymmetric>,
           nearest_mode = #kiln<nearest_mode floor>,
           scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
    ```
  }];
  let arguments = (ins Kiln_ResizeModeAttr:$mode, Kiln_FloatTensor:$input,
                       DenseF64ArrayAttr:$scales, Kiln_CoordModeAttr:$coord_mode,
                       Kiln_NearestModeAttr:$nearest_mode);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$mode $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}


//===----------------------------------------------------------------------===//
// Kernel groups
//===----------------------------------------------------------------------===//

def Kiln_KernelOp : Kiln_Op<"kernel", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "a group of ops that runs as one kernel launch";
  let description = [{
    The fusion partition (`kiln-form-kernels`) gathers the ops that one
    kernel computes into the body of a `kiln.kernel`: a contraction with
    its elementwise epilogue, a reduction with its elementwise producers and
    consumers, a chain of elementwise ops. The body is isolated from above:
    its block arguments are the kernel's `inputs`, and `kiln.yield` gives
    its results, the values used outside the group. `kind` says which code
    generation strategy the kernel takes; `name` identifies it in the fusion
    report and in diagnostics.

    ```mlir
    %y = kiln.kernel "k0" contraction (%x, %w) : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32> {
    ^bb0(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>):
      %m = kiln.matmul %a, %b : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
      %r = kiln.unary relu %m : tensor<2x4xf32> -> tensor<2x4xf32>
      kiln.yield %r : tensor<2x4xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$inputs, StrAttr:$name,
                       Kiln_KernelKindAttr:$kind);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name $kind `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "mlir::TypeRange":$resultTypes, "mlir::ValueRange":$inputs,
                   "llvm::StringRef":$name, "KernelKind":$kind)>
  ];
}

def Kiln_YieldOp : Kiln_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"KernelOp">]> {
  let summary = "the results of a kernel group";
  let description = [{
    Ends the body of a `kiln.kernel`; its operands become the kernel's
    results, in order.
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* no values */ }]>];
}

#endif // KILN_OPS_TD
