"""Models with symbolic input dims: kiln.compile returns a DynamicModel
that compiles once per distinct set of input shapes (LRU-cached), checks
ranks, fixed dims and shared symbolic dims before compiling, and gives
onnxruntime's results at every shape; kiln-run pins the dims from the
values it is given."""
import os
import subprocess

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import kiln

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = [dict(target="cpu"), dict(target="cuda", emulate=True)]
TARGET_IDS = ["cpu", "emulation"]


def encoder_block(rng):
    """x [batch, seq, 16] with a padding mask [batch, seq]: self-attention
    (shape subgraph Shape -> Gather -> Concat -> Reshape, like torch's
    exports) plus a residual; batch and seq are symbolic."""
    d, heads = 16, 2
    w = {n: numpy_helper.from_array((rng.standard_normal((d, d)) * 0.2).astype(np.float32), n)
         for n in ("wq", "wk", "wv")}
    c = lambda n, v: numpy_helper.from_array(np.array(v, np.int64), n)
    nodes = [
        helper.make_node("Shape", ["x"], ["shp"]),
        helper.make_node("Gather", ["shp", "i0"], ["b"], axis=0),
        helper.make_node("Gather", ["shp", "i1"], ["s"], axis=0),
        helper.make_node("Concat", ["b", "s", "h", "hd"], ["split_shape"], axis=0),
        helper.make_node("MatMul", ["x", "wq"], ["q0"]),
        helper.make_node("MatMul", ["x", "wk"], ["k0"]),
        helper.make_node("MatMul", ["x", "wv"], ["v0"]),
        helper.make_node("Reshape", ["q0", "split_shape"], ["q1"]),
        helper.make_node("Reshape", ["k0", "split_shape"], ["k1"]),
        helper.make_node("Reshape", ["v0", "split_shape"], ["v1"]),
        helper.make_node("Transpose", ["q1"], ["q"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["k1"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["v1"], ["v"], perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["q", "kt"], ["scores0"]),
        helper.make_node("Mul", ["scores0", "scale"], ["scores1"]),
        helper.make_node("Unsqueeze", ["mask", "axes12"], ["m4"]),
        helper.make_node("Cast", ["m4"], ["mf"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["one", "mf"], ["inv"]),
        helper.make_node("Mul", ["inv", "big"], ["bias"]),
        helper.make_node("Add", ["scores1", "bias"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["o"]),
        helper.make_node("Transpose", ["o"], ["ot"], perm=[0, 2, 1, 3]),
        helper.make_node("Concat", ["b", "s", "dd"], ["merge_shape"], axis=0),
        helper.make_node("Reshape", ["ot", "merge_shape"], ["att"]),
        helper.make_node("Add", ["att", "x"], ["y"]),
    ]
    inits = list(w.values()) + [
        c("i0", [0]), c("i1", [1]), c("h", [heads]), c("hd", [d // heads]), c("dd", [d]),
        c("axes12", [1, 2]),
        numpy_helper.from_array(np.array(1.0 / np.sqrt(d // heads), np.float32), "scale"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(-1e4, np.float32), "big")]
    g = helper.make_graph(
        nodes, "block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", d]),
         helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", d])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def reference(model, feeds):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def feeds_for(rng, batch, seq):
    mask = np.ones((batch, seq), np.int64)
    mask[0, seq // 2:] = 0  # one padded sequence
    return {"x": rng.standard_normal((batch, seq, 16), dtype=np.float32), "mask": mask}


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
def test_compiles_once_per_shape(opts, rng):
    onnx_model = encoder_block(rng)
    m = kiln.compile(onnx_model, shape_cache_size=2, **opts)
    assert isinstance(m, kiln.DynamicModel)
    assert [t.shape for t in m.inputs] == [(None, None, 16), (None, None)]
    assert m.symbolic_dims == {"batch": [("x", 0), ("mask", 0)], "seq": [("x", 1), ("mask", 1)]}
    for batch, seq in [(2, 5), (1, 9), (2, 5), (3, 7)]:
        f = feeds_for(rng, batch, seq)
        np.testing.assert_allclose(m(f["x"], f["mask"]), reference(onnx_model, f),
                                   rtol=1e-4, atol=1e-5)
        (y,) = m.run(None, f)
        np.testing.assert_allclose(y, reference(onnx_model, f), rtol=1e-4, atol=1e-5)
    info = m.cache_info()
    # (2, 5) compiled once and reused; the cache keeps the two most recent.
    assert info["misses"] == 3 and info["hits"] == 5
    assert info["shapes"] == [{"x": (2, 5, 16), "mask": (2, 5)},
                              {"x": (3, 7, 16), "mask": (3, 7)}]
    f = feeds_for(rng, 1, 9)  # dropped from the cache: compiled again
    m(f["x"], f["mask"])
    assert m.cache_info()["misses"] == 4


def test_bad_shapes_name_the_input(rng):
    m = kiln.compile(encoder_block(rng))
    x = np.zeros((2, 5, 16), np.float32)
    with pytest.raises(kiln.RuntimeError, match=r"input 'mask' has rank 3 \(shape \(2, 5, 1\)\), "
                                                r"the model declares rank 2 \(batchxseq\)"):
        m(x, np.zeros((2, 5, 1), np.int64))
    with pytest.raises(kiln.RuntimeError, match="input 'x' has size 8 at axis 2, the model "
                                                "declares 16"):
        m(np.zeros((2, 5, 8), np.float32), np.zeros((2, 5), np.int64))
    with pytest.raises(kiln.RuntimeError, match="symbolic dim 'seq' is 5 in input 'x' but 6 "
                                                r"in input 'mask' \(axis 1\)"):
        m(x, np.zeros((2, 6), np.int64))
    with pytest.raises(kiln.RuntimeError, match="input 'x' expects dtype float32, got float64"):
        m(x.astype(np.float64), np.zeros((2, 5), np.int64))
    with pytest.raises(kiln.RuntimeError, match="takes 2 inputs"):
        m(x)
    assert m.cache_info()["misses"] == 1  # only the dtype error reached a compile


def test_input_shapes_still_pin(rng):
    m = kiln.compile(encoder_block(rng), input_shapes={"x": (1, 4, 16), "mask": (1, 4)})
    assert isinstance(m, kiln.CompiledModel)
    assert m.inputs[0].shape == (1, 4, 16)


def test_kiln_run_pins_from_given_inputs(rng, tmp_path):
    onnx_model = encoder_block(rng)
    path = tmp_path / "block.onnx"
    path.write_bytes(onnx_model.SerializeToString())
    kiln_run = os.path.join(os.environ.get("KILN_BUILD", os.path.join(ROOT, "build")),
                            "bin", "kiln-run")
    for batch, seq in [(1, 3), (2, 6)]:
        f = feeds_for(rng, batch, seq)
        data = tmp_path / f"data_{batch}_{seq}"
        data.mkdir()
        for i, (name, value) in enumerate(f.items()):
            (data / f"input_{i}.pb").write_bytes(
                numpy_helper.from_array(value, name).SerializeToString())
        (data / "output_0.pb").write_bytes(
            numpy_helper.from_array(reference(onnx_model, f), "y").SerializeToString())
        p = subprocess.run([kiln_run, str(path), "--test-data", str(data)],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        assert f"({batch}x{seq}x16)" in p.stdout
    # Without values the dims stay unknown: the error says how to pin them.
    p = subprocess.run([kiln_run, str(path), "--random-inputs"], capture_output=True, text=True)
    assert p.returncode == 2
    assert "input 'x' has unknown dimension 'batch' at index 0" in p.stderr
