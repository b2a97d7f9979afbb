"""ScatterElements and ScatterND on random data against ONNX's reference
evaluator: run-time and constant indices, negative indices, duplicates
with every reduction, updates smaller than the data, the KV-cache write
of decoder exports; an index out of range is a run-time error naming the
node."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import kiln

TARGETS = [dict(target="cpu"), dict(target="cuda", emulate=True)]
TARGET_IDS = ["cpu", "emulation"]
ONNX = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64,
        np.int32: TensorProto.INT32, np.float16: TensorProto.FLOAT16}


def model(op, data, indices, updates, const_indices, attrs, opset=18):
    inputs = [helper.make_tensor_value_info("data", ONNX[data.dtype.type], data.shape),
              helper.make_tensor_value_info("upd", ONNX[updates.dtype.type], updates.shape)]
    inits = []
    if const_indices:
        inits.append(numpy_helper.from_array(indices, "idx"))
    else:
        inputs.insert(1, helper.make_tensor_value_info("idx", ONNX[indices.dtype.type],
                                                       indices.shape))
    node = helper.make_node(op, ["data", "idx", "upd"], ["y"], name="scatter", **attrs)
    g = helper.make_graph([node], "s", inputs,
                          [helper.make_tensor_value_info("y", ONNX[data.dtype.type],
                                                         data.shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def check(m, feeds, opts):
    expected = ReferenceEvaluator(m).run(None, feeds)[0]
    got = kiln.compile(m, **opts)(*feeds.values())
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def unique_rows(rng, count, bound):
    return rng.permutation(bound)[:count]


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("const", [False, True], ids=["runtime", "const"])
@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_scatter_elements(axis, reduction, const, opts, rng):
    data = rng.standard_normal((5, 6, 4)).astype(np.float32)
    ushape = [3, 4, 3]
    ax = axis % 3
    if reduction == "none":
        # Distinct targets along the axis per line (ONNX leaves duplicates
        # undefined without a reduction).
        idx = np.stack([np.stack([unique_rows(rng, ushape[ax], data.shape[ax])
                                  for _ in range(int(np.prod(ushape)) // ushape[ax])])])
        idx = np.moveaxis(idx.reshape([s for d, s in enumerate(ushape) if d != ax] +
                                      [ushape[ax]]), -1, ax)
    else:
        idx = rng.integers(0, data.shape[ax], size=ushape)
    idx = np.where(rng.random(ushape) < 0.3, idx - data.shape[ax], idx).astype(np.int64)
    upd = rng.standard_normal(ushape).astype(np.float32)
    m = model("ScatterElements", data, idx, upd, const, dict(axis=axis, reduction=reduction))
    feeds = {"data": data, "upd": upd} if const else {"data": data, "idx": idx, "upd": upd}
    check(m, feeds, opts)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("const", [False, True], ids=["runtime", "const"])
@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_scatter_nd(k, reduction, const, opts, rng):
    data = rng.standard_normal((6, 5, 4)).astype(np.float32)
    positions = np.array(list(np.ndindex(*data.shape[:k])))
    count = min(7, len(positions)) if reduction == "none" else 9
    if reduction == "none":
        rows = positions[rng.permutation(len(positions))[:count]]
    else:
        rows = positions[rng.integers(0, len(positions), size=count)]  # duplicates
    idx = np.where(rng.random(rows.shape) < 0.3, rows - np.array(data.shape[:k]), rows)
    idx = idx.reshape(count, k).astype(np.int64)
    upd = rng.standard_normal((count,) + data.shape[k:]).astype(np.float32)
    m = model("ScatterND", data, idx, upd, const, dict(reduction=reduction))
    feeds = {"data": data, "upd": upd} if const else {"data": data, "idx": idx, "upd": upd}
    check(m, feeds, opts)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
def test_kv_cache_write(opts, rng):
    # A static KV cache [batch, heads, max_len, head_dim] written at the
    # current positions: ScatterND with indices (b, h, pos), run-time.
    cache = rng.standard_normal((2, 3, 16, 8)).astype(np.float32)
    pos = np.array([5, 11])
    idx = np.array([[[b, h, pos[b]] for h in range(3)] for b in range(2)], np.int64)
    new = rng.standard_normal((2, 3, 8)).astype(np.float32)
    m = model("ScatterND", cache, idx, new, False, {})
    check(m, {"data": cache, "idx": idx, "upd": new}, opts)
    # Integer data and int32 indices.
    data = rng.integers(-50, 50, size=(4, 5)).astype(np.int64)
    idx = np.array([[1, 3, 0], [2, 2, 4]], np.int32)
    upd = rng.integers(-50, 50, size=(2, 3)).astype(np.int64)
    m = model("ScatterElements", data, idx, upd, False, dict(axis=1, reduction="add"))
    check(m, {"data": data, "idx": idx, "upd": upd}, opts)


def test_out_of_range_index_is_an_error(rng):
    data = np.zeros((4, 3), np.float32)
    idx = np.array([[1], [4]], np.int64)
    upd = np.ones((2, 3), np.float32)
    m = kiln.compile(model("ScatterND", data, idx, upd, False, {}))
    with pytest.raises(kiln.RuntimeError,
                       match=r"ScatterND node 'scatter' input 'idx': index 4 is out of range"):
        m(data, idx, upd)
    with pytest.raises(kiln.CompileError, match=r"index 4 in input 1 \(.idx.\) is out of range"):
        kiln.compile(model("ScatterND", data, idx, upd, True, {}))
    bad = model("ScatterElements", data, np.zeros((2, 4), np.int64), np.ones((2, 4), np.float32),
                False, dict(axis=0))
    with pytest.raises(kiln.CompileError, match="exceed data 4x3 at axis 1"):
        kiln.compile(bad)
