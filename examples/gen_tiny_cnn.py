#!/usr/bin/env python3
"""Writes examples/tiny_cnn.onnxtxt: a small image classifier in ONNX text
syntax with seeded random weights. Its flatten step is spelled the way
PyTorch exports it (Shape -> Gather -> Unsqueeze -> Concat -> Reshape), so
the demo shows that subgraph folding away."""
import os
import random

rng = random.Random(7)


def tensor(name, shape, scale=0.2, positive=False):
    n = 1
    for d in shape:
        n *= d
    vals = [abs(rng.gauss(0, scale)) + 0.5 if positive else rng.gauss(0, scale)
            for _ in range(n)]
    dims = ",".join(str(d) for d in shape)
    body = ", ".join(f"{v:.6f}" for v in vals)
    return f"float[{dims}] {name} = {{{body}}}"


inits = [
    tensor("conv1_w", [8, 3, 3, 3]), tensor("conv1_b", [8]),
    tensor("bn_scale", [8], positive=True), tensor("bn_bias", [8]),
    tensor("bn_mean", [8]), tensor("bn_var", [8], positive=True),
    tensor("conv2_w", [16, 8, 3, 3]), tensor("conv2_b", [16]),
    tensor("fc_w", [10, 16]), tensor("fc_b", [10]),
]
text = f"""<
  ir_version: 8,
  opset_import: ["" : 17],
  producer_name: "kiln-examples"
>
tiny_cnn (float[1,3,32,32] image, {", ".join(inits)}) => (float[1,10] probs)
{{
  c1 = Conv <pads = [1, 1, 1, 1]> (image, conv1_w, conv1_b)
  b1 = BatchNormalization <epsilon = 1e-5> (c1, bn_scale, bn_bias, bn_mean, bn_var)
  r1 = Relu (b1)
  p1 = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (r1)
  c2 = Conv <pads = [1, 1, 1, 1], strides = [2, 2]> (p1, conv2_w, conv2_b)
  r2 = Relu (c2)
  g = GlobalAveragePool (r2)
  shape = Shape (g)
  zero = Constant <value = int64 {{0}}> ()
  batch = Gather <axis = 0> (shape, zero)
  zero_axes = Constant <value = int64[1] {{0}}> ()
  batch1 = Unsqueeze (batch, zero_axes)
  minus1 = Constant <value = int64[1] {{-1}}> ()
  new_shape = Concat <axis = 0> (batch1, minus1)
  flat = Reshape (g, new_shape)
  logits = Gemm <transB = 1> (flat, fc_w, fc_b)
  probs = Softmax <axis = 1> (logits)
}}
"""
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny_cnn.onnxtxt")
with open(out, "w") as f:
    f.write(text)
print(out)
