"""Writes a one-input ONNX test case the way kiln-run --test-data reads it.

Shared by the generators under test/*/Inputs/: each builds nodes and
initializers for input `x`, computes the reference outputs independently
(numpy in float64, or onnxruntime), and calls write_case.
"""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def write_test_data(folder, inputs, outputs):
    """Writes folder/input_<i>.pb and output_<i>.pb, the backend-test layout
    kiln-run --test-data reads, from lists of (name, array)."""
    os.makedirs(folder, exist_ok=True)
    for kind, values in (("input", inputs), ("output", outputs)):
        for i, (n, v) in enumerate(values):
            with open(os.path.join(folder, f"{kind}_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(np.asarray(v), n).SerializeToString())


def write_case(out_dir, name, nodes, inits, x, outputs, opset=17, ir_version=8):
    """Saves out_dir/model.onnx (graph `name`, input `x`, the outputs named
    in `outputs`, a list of (name, reference array)) and test_data_set_0
    with input_0.pb and output_<i>.pb: float references in float32, boolean
    and integer ones in their own type."""
    def stored(ref):
        ref = np.asarray(ref)
        return ref if ref.dtype.kind in "biu" else ref.astype(np.float32)
    outputs = [(n, stored(ref)) for n, ref in outputs]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)]
    if ir_version < 4:  # IR 3 lists every initializer among the graph inputs too
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in inits]
    graph = helper.make_graph(
        nodes, name, inputs,
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(ref.dtype), ref.shape)
         for n, ref in outputs],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    write_test_data(os.path.join(out_dir, "test_data_set_0"), [("x", x)], outputs)
