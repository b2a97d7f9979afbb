#!/usr/bin/env python3
"""Writes small ONNX models for the GPU strategies (reductions: one warp per
row below 256 elements, 256 threads above; elementwise: 16-byte vectors,
broadcast operands, a scalar tail), each with random inputs and
onnxruntime's outputs in the ONNX test-data layout:
OUT/<name>/model.onnx, OUT/<name>/test_data_set_0/{input,output}_*.pb."""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def model(name, nodes, inputs, outputs, out_dir, rng, consts=None):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        [numpy_helper.from_array(v, n) for n, v in (consts or {}).items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    d = os.path.join(out_dir, name)
    data = os.path.join(d, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    feeds = {n: rng.standard_normal(s).astype(np.float32) * 3 for n, s in inputs}
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    results = sess.run([n for n, _ in outputs], feeds)
    for i, (n, _) in enumerate(inputs):
        with open(os.path.join(data, f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(feeds[n], n).SerializeToString())
    for i, ((n, _), r) in enumerate(zip(outputs, results)):
        with open(os.path.join(data, f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(r, n).SerializeToString())


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(4)
    # 300-element rows: 256 threads, shuffles and shared memory.
    model("softmax_rows", [helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
          [("x", [6, 300])], [("y", [6, 300])], out, rng)
    # 40-element rows: one warp per row.
    model("reduce_max_warp",
          [helper.make_node("ReduceMax", ["x"], ["y"], axes=[1], keepdims=0)],
          [("x", [4, 40])], [("y", [4])], out, rng)
    # Reduction over a middle axis: strided rows.
    model("reduce_mean_middle",
          [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=1)],
          [("x", [3, 700, 5])], [("y", [3, 1, 5])], out, rng)
    # Layer normalization: mean and variance rows with fused elementwise work.
    model("layer_norm",
          [helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1,
                            epsilon=1e-5)],
          [("x", [8, 512]), ("g", [512]), ("b", [512])], [("y", [8, 512])], out, rng)

    # Reduction kernel groups as one launch each (kiln-gpu-row-kernel):
    # softmax on warp-sized rows (online max/sum), log-softmax (a max, then a
    # sum of exp(x - max) through a temporary), layer normalization on many
    # rows of 256, softmax over a non-trailing axis (not row-local: per-op
    # launches), a sum over two axes (two reduction loops in one row).
    model("softmax_warp", [helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
          [("x", [2, 4, 37, 64])], [("y", [2, 4, 37, 64])], out, rng)
    model("log_softmax_rows", [helper.make_node("LogSoftmax", ["x"], ["y"], axis=-1)],
          [("x", [5, 1000])], [("y", [5, 1000])], out, rng)
    model("layer_norm_many",
          [helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1,
                            epsilon=1e-5)],
          [("x", [3, 64, 256]), ("g", [256]), ("b", [256])], [("y", [3, 64, 256])], out, rng)
    model("softmax_axis1", [helper.make_node("Softmax", ["x"], ["y"], axis=1)],
          [("x", [2, 50, 3, 4])], [("y", [2, 50, 3, 4])], out, rng)
    model("reduce_sum_two_axes",
          [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
          [("x", [6, 20, 30])], [("y", [6])], out, rng, consts={"axes": np.array([1, 2], np.int64)})
    # Rows shorter than a warp: a thread per row, the last block partly idle.
    model("reduce_short_rows",
          [helper.make_node("ReduceMax", ["x"], ["y"], axes=[2], keepdims=0)],
          [("x", [7, 100, 5])], [("y", [7, 100])], out, rng)

    # Elementwise with a broadcast bias: vector loads of x, scalar loads of b.
    model("bias_relu",
          [helper.make_node("Add", ["x", "b"], ["s"]), helper.make_node("Relu", ["s"], ["y"])],
          [("x", [2, 3, 8, 8]), ("b", [3, 1, 1])], [("y", [2, 3, 8, 8])], out, rng)
    # 35 elements: 8 vectors and a tail of 3.
    model("sigmoid_tail", [helper.make_node("Sigmoid", ["x"], ["y"])],
          [("x", [5, 7])], [("y", [5, 7])], out, rng)
    # More vectors than the grid's threads: the grid-stride loop iterates.
    model("tanh_large", [helper.make_node("Tanh", ["x"], ["y"])],
          [("x", [1100, 1000])], [("y", [1100, 1000])], out, rng)


if __name__ == "__main__":
    main()
