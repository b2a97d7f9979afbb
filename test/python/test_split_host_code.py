"""A model of many small kernels: its host code is cut into functions of
bounded size (kiln-split-host-code), and the pieces compute what one
function would."""
import os
import re
import subprocess

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import kiln
from conftest import ROOT

BUILD = os.environ.get("KILN_BUILD", os.path.join(ROOT, "build"))
KILNC = os.path.join(BUILD, "bin", "kilnc")


def _deep_mlp(rng, layers):
    """`layers` x (MatMul by a 16x16 weight, Add a bias, Tanh), then a
    residual Add every fourth layer: hundreds of small kernels in order."""
    nodes, inits, prev = [], [], "x"
    weights = []
    for i in range(layers):
        w = (rng.standard_normal((16, 16)) / 4).astype(np.float32)
        b = (rng.standard_normal(16) / 4).astype(np.float32)
        weights.append((w, b))
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes += [helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"]),
                  helper.make_node("Tanh", [f"a{i}"], [f"t{i}"])]
        out = f"t{i}"
        if i % 4 == 3:
            nodes.append(helper.make_node("Add", [out, prev], [f"r{i}"]))
            out = f"r{i}"
        prev = out
    graph = helper.make_graph(
        nodes, "deep", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 16])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [3, 16])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, weights


def _reference(x, weights):
    prev = x.astype(np.float64)
    for i, (w, b) in enumerate(weights):
        out = np.tanh(prev @ w + b)
        if i % 4 == 3:
            out = out + prev
        prev = out
    return prev


def test_deep_model_split_into_functions(tmp_path, rng):
    model, weights = _deep_mlp(rng, 160)
    path = tmp_path / "deep.onnx"
    path.write_bytes(model.SerializeToString())
    ir = subprocess.run([KILNC, str(path), "--emit=llvm", "-o", "-"], capture_output=True,
                        text=True, timeout=600)
    assert ir.returncode == 0, ir.stderr
    parts = [line for line in ir.stdout.splitlines()
             if line.startswith("define") and "@main_part_" in line]
    assert len(parts) >= 2, "the host code was not split"
    # Kept apart: LLVM would inline a function called once.
    groups = dict(re.findall(r"^attributes (#\d+) = \{(.*)\}$", ir.stdout, re.M))
    for define in parts:
        group = re.search(r"\) [^(]*?(#\d+) \{$", define)
        assert group and "noinline" in groups[group.group(1)], define[:120]
    x = rng.standard_normal((3, 16)).astype(np.float32)
    want = _reference(x, weights)
    compiled = kiln.compile(str(path))
    np.testing.assert_allclose(compiled(x), want, rtol=1e-4, atol=1e-4)
    lib = tmp_path / "deep.so"
    compiled.save(str(lib))
    np.testing.assert_allclose(kiln.load(lib)(x), want, rtol=1e-4, atol=1e-4)
