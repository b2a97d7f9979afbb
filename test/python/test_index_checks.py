"""Run-time index checks: Gather, GatherElements and GatherND reject an index
out of range with an error naming the node, the input and the index, on
every target; in-range indices (negative ones included) give numpy's
results."""
import threading

import numpy as np
import pytest
from onnx import TensorProto, helper

import kiln
from conftest import has_cuda_gpu

TARGETS = [dict(target="cpu"), dict(target="cuda", emulate=True)]
if has_cuda_gpu():
    TARGETS.append(dict(target="cuda"))


def model(op, idx_type, idx_shape, out_shape, attrs=None):
    node = helper.make_node(op, ["data", "ids"], ["y"], name="pick", **(attrs or {}))
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, (6, 4)),
         helper.make_tensor_value_info("ids", idx_type, idx_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


@pytest.fixture
def data(rng):
    return rng.standard_normal((6, 4), dtype=np.float32)


def run_bad(m, data, ids, message):
    with pytest.raises(kiln.RuntimeError, match=message):
        m(data, ids)


@pytest.mark.parametrize("opts", TARGETS, ids=lambda o: "-".join(map(str, o.values())))
@pytest.mark.parametrize("idx_type,dtype", [(TensorProto.INT64, np.int64),
                                            (TensorProto.INT32, np.int32)])
def test_gather(opts, idx_type, dtype, rng, data):
    m = kiln.compile(model("Gather", idx_type, (2, 3), (6, 2, 3), {"axis": 1}), **opts)
    for _ in range(3):
        ids = rng.integers(-4, 4, size=(2, 3)).astype(dtype)
        np.testing.assert_array_equal(m(data, ids), np.take(data, ids, axis=1))
    for bad in (4, -5, 1000):
        ids = rng.integers(-4, 4, size=(2, 3)).astype(dtype)
        ids[1, rng.integers(0, 3)] = bad
        run_bad(m, data, ids,
                rf"Gather node 'pick' input 'ids': index {bad} is out of range \[-4, 3\]")
    # The model still runs after a refused call.
    ids = np.zeros((2, 3), dtype)
    np.testing.assert_array_equal(m(data, ids), np.take(data, ids, axis=1))


@pytest.mark.parametrize("opts", TARGETS, ids=lambda o: "-".join(map(str, o.values())))
def test_gather_elements(opts, rng, data):
    m = kiln.compile(model("GatherElements", TensorProto.INT64, (3, 4), (3, 4), {"axis": 0}),
                     **opts)
    ids = rng.integers(-6, 6, size=(3, 4))
    np.testing.assert_array_equal(m(data, ids), np.take_along_axis(data, ids % 6, axis=0))
    ids[2, 3] = 6
    run_bad(m, data, ids,
            r"GatherElements node 'pick' input 'ids': index 6 is out of range \[-6, 5\]")


@pytest.mark.parametrize("opts", TARGETS, ids=lambda o: "-".join(map(str, o.values())))
def test_gather_nd(opts, rng, data):
    m = kiln.compile(model("GatherND", TensorProto.INT64, (5, 2), (5,)), **opts)
    ids = np.stack([rng.integers(-6, 6, size=5), rng.integers(-4, 4, size=5)], axis=1)
    np.testing.assert_array_equal(m(data, ids), data[ids[:, 0], ids[:, 1]])
    # Each component against its own dim: 5 is in range for dim 0, not dim 1.
    ids[3] = [5, 5]
    run_bad(m, data, ids, r"GatherND node 'pick' input 'ids': index 5 is out of range "
                          r"\[-4, 3\] \(position 1 of its last axis\)")
    ids[3] = [-7, 0]
    run_bad(m, data, ids, r"index -7 is out of range \[-6, 5\] \(position 0")


def test_saved_library_checks(tmp_path, rng, data):
    m = kiln.compile(model("Gather", TensorProto.INT64, (3,), (3, 4)))
    m.save(tmp_path / "gather.so")
    loaded = kiln.load(tmp_path / "gather.so")
    assert [o.name for o in loaded.outputs] == ["y"]
    ids = np.array([5, 0, -6])
    np.testing.assert_array_equal(loaded(data, ids), data[ids])
    run_bad(loaded, data, np.array([0, 6, 1]), r"gather.so: Gather node 'pick' input 'ids': index 6")


def test_checks_are_per_call_across_threads(rng, data):
    # One model run from several threads: a refused call in one thread
    # never shows in another's results or errors.
    m = kiln.compile(model("Gather", TensorProto.INT64, (3,), (3, 4)))
    errors, wrong = [], []

    def work(seed):
        r = np.random.default_rng(seed)
        for k in range(200):
            bad = (k + seed) % 3 == 0
            ids = r.integers(-6, 6, size=3)
            if bad:
                ids[r.integers(0, 3)] = 6 + r.integers(0, 5)
            try:
                y = m(data, ids)
                if bad or not np.array_equal(y, data[ids]):
                    wrong.append((seed, k))
            except kiln.RuntimeError:
                if not bad:
                    errors.append((seed, k))

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not wrong, (errors[:5], wrong[:5])


def test_index_checks_off(rng, data):
    # index_checks=False (kilnc --no-index-checks): no extra result and no
    # error; an index out of range is then clamped into the dim.
    m = kiln.compile(model("Gather", TensorProto.INT64, (3,), (3, 4)), index_checks=False)
    ids = np.array([5, 0, -6])
    np.testing.assert_array_equal(m(data, ids), data[ids])
    m(data, np.array([0, 6, 1]))


def test_max_tensor_bytes():
    # The 6x4 float32 input is 96 bytes: over a 64-byte limit.
    with pytest.raises(kiln.CompileError, match=r"'data' of shape 6x4 needs 96 bytes, over "
                                                r"the limit of 64"):
        kiln.compile(model("Gather", TensorProto.INT64, (6,), (6, 4)), max_tensor_bytes=64)
    with pytest.raises(ValueError, match="max_tensor_bytes"):
        kiln.compile(model("Gather", TensorProto.INT64, (6,), (6, 4)), max_tensor_bytes=0)
