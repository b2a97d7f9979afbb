"""Fused attention: attention subgraphs become one `attention` kernel
(kiln-fuse-attention; the CPU runtime's flash-style kernel, or one GPU
launch run here by the thread emulator) and give softmax(Q K^T * scale +
mask) V, checked against numpy in double precision on random data: ONNX
Attention (causal, grouped-query heads, a boolean mask), the
MatMul/Softmax/MatMul chain exporters write (scale on the scores, an
additive mask with -inf entries); and a 16-head, 4096-token attention runs
in a fraction of the memory its score matrix would need."""
import os
import subprocess
import sys

import numpy as np
import pytest
from onnx import TensorProto, helper

import kiln

F = TensorProto.FLOAT


def reference(q, k, v, mask=None, scale=None, causal=False):
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    rep = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if mask is not None:
        s = s + (np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask)
    if causal:
        sq, sk = s.shape[-2:]
        s = np.where(np.tril(np.ones((sq, sk), bool)), s, -np.inf)
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    return (p / p.sum(-1, keepdims=True)) @ v


def attention_model(q_shape, kv_shape, mask=None, causal=False, dtype=F):
    inputs = [helper.make_tensor_value_info("q", dtype, q_shape),
              helper.make_tensor_value_info("k", dtype, kv_shape),
              helper.make_tensor_value_info("v", dtype, kv_shape)]
    names = ["q", "k", "v"]
    if mask is not None:
        inputs.append(helper.make_tensor_value_info("mask", mask, [q_shape[0], 1, 1, kv_shape[2]]))
        names.append("mask")
    node = helper.make_node("Attention", names, ["y"], is_causal=int(causal))
    graph = helper.make_graph([node], "attention", inputs,
                              [helper.make_tensor_value_info("y", dtype, q_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 10
    return model.SerializeToString()


def chain_model(b, h, s, d, scale):
    """The legacy exporter's chain: MatMul(Q, Transpose(K)) / sqrt(d) + mask,
    Softmax, MatMul with V."""
    nodes = [
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["s"]),
        helper.make_node("Div", ["s", "c"], ["ss"]),
        helper.make_node("Add", ["ss", "mask"], ["sm"]),
        helper.make_node("Softmax", ["sm"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["y"]),
    ]
    shape = [b, h, s, d]
    graph = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info(n, F, shape) for n in ("q", "k", "v")] +
        [helper.make_tensor_value_info("mask", F, [b, 1, s, s])],
        [helper.make_tensor_value_info("y", F, shape)],
        [helper.make_tensor("c", F, [], [scale])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def random_case(rng, b, heads, kv_heads, sq, skv, d, mask):
    """Q, K, V and (for a BOOL or FLOAT mask type) a key-padding mask that
    hides some keys but never all of a row's: the arrays and the feeds."""
    q = rng.standard_normal((b, heads, sq, d), np.float32)
    k = rng.standard_normal((b, kv_heads, skv, d), np.float32)
    v = rng.standard_normal((b, kv_heads, skv, d), np.float32)
    feeds = {"q": q, "k": k, "v": v}
    m = None
    if mask == TensorProto.BOOL:
        m = rng.random((b, 1, 1, skv)) < 0.8
    elif mask == F:
        m = rng.standard_normal((b, 1, 1, skv)).astype(np.float32)
        m[rng.random(m.shape) < 0.2] = -np.inf
    if m is not None:
        m[..., 0] = True if m.dtype == bool else 0.0  # every row sees key 0
        feeds["mask"] = m
    return q, k, v, m, feeds


def attention_kernels(model):
    return [k for k in model.fusion_report()["kernels"] if k["kind"] == "attention"]


@pytest.mark.parametrize("heads,kv_heads,causal,mask", [
    (4, 4, False, None), (4, 4, True, None), (8, 2, True, None), (4, 2, False, TensorProto.BOOL),
    (6, 6, False, F), (4, 2, True, TensorProto.BOOL), (2, 2, True, F)])
def test_onnx_attention(heads, kv_heads, causal, mask):
    rng = np.random.default_rng(heads * 10 + kv_heads + causal)
    b, s, d = 2, 150, 32
    q, k, v, m, feeds = random_case(rng, b, heads, kv_heads, s, s, d, mask)
    model = kiln.compile(attention_model([b, heads, s, d], [b, kv_heads, s, d], mask, causal))
    assert len(attention_kernels(model)) == 1
    (y,) = model.run(None, feeds)
    np.testing.assert_allclose(y, reference(q, k, v, m, causal=causal), rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("heads,kv_heads,causal,mask,sq,skv", [
    (2, 2, False, None, 70, 70), (4, 2, True, TensorProto.BOOL, 70, 70),
    (2, 2, False, F, 70, 70), (4, 2, False, F, 1, 300), (2, 2, True, None, 3, 200)])
def test_onnx_attention_gpu_emulation(heads, kv_heads, causal, mask, sq, skv):
    """The GPU kernels, each GPU thread run by the emulator: 70 query rows
    (two blocks of rows, the second partial) against 70 keys (three key
    tiles); and decoding, 1 or 3 query rows against a few hundred keys
    (the keys split over a block's threads, partial results combined)."""
    rng = np.random.default_rng(heads + 5 * causal + sq)
    b, d = 1, 16
    q, k, v, m, feeds = random_case(rng, b, heads, kv_heads, sq, skv, d, mask)
    model = kiln.compile(attention_model([b, heads, sq, d], [b, kv_heads, skv, d], mask, causal),
                         target="cuda", emulate=True)
    (y,) = model.run(None, feeds)
    np.testing.assert_allclose(y, reference(q, k, v, m, causal=causal), rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("sq,skv,causal", [(70, 70, True), (1, 200, False)])
def test_half_attention_gpu_emulation(sq, skv, causal):
    """f16 attention on the GPU: f16 in and out, computed in f32 (the
    tiled kernel accumulates in an f32 buffer, the decoding one in
    registers)."""
    rng = np.random.default_rng(sq)
    b, h, d = 1, 2, 16
    q = rng.standard_normal((b, h, sq, d)).astype(np.float16)
    k, v = (rng.standard_normal((b, h, skv, d)).astype(np.float16) for _ in range(2))
    model = kiln.compile(attention_model([b, h, sq, d], [b, h, skv, d], None, causal,
                                         TensorProto.FLOAT16), target="cuda", emulate=True)
    assert len(attention_kernels(model)) == 1
    (y,) = model.run(None, {"q": q, "k": k, "v": v})
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.astype(np.float64), reference(q, k, v, causal=causal),
                               rtol=2e-3, atol=2e-3)


def kv_cache_model(b, h, past, new, d):
    """ONNX Attention with a key/value cache: past_key/past_value in front
    of this step's keys and values, is_causal aligned to the end."""
    f4 = lambda name, s: helper.make_tensor_value_info(name, F, [b, h, s, d])  # noqa: E731
    node = helper.make_node("Attention", ["q", "k", "v", "", "past_k", "past_v"],
                            ["y", "present_k", "present_v"], is_causal=1)
    graph = helper.make_graph([node], "decode",
                              [f4("q", new), f4("k", new), f4("v", new), f4("past_k", past),
                               f4("past_v", past)],
                              [f4("y", new), f4("present_k", past + new),
                               f4("present_v", past + new)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 10
    return model.SerializeToString()


@pytest.mark.parametrize("target", ["cpu", "cuda"])
@pytest.mark.parametrize("new", [1, 5])
def test_kv_cache(target, new):
    """Decoding steps against a 300-entry cache: the query rows see the whole
    cache and this step's keys up to their own position."""
    rng = np.random.default_rng(new)
    b, h, past, d = 1, 3, 300, 16
    q, k, v = (rng.standard_normal((b, h, new, d), np.float32) for _ in range(3))
    pk, pv = (rng.standard_normal((b, h, past, d), np.float32) for _ in range(2))
    options = {"emulate": True} if target == "cuda" else {}
    model = kiln.compile(kv_cache_model(b, h, past, new, d), target=target, **options)
    assert len(attention_kernels(model)) == 1
    y, present_k, _ = model.run(None, {"q": q, "k": k, "v": v, "past_k": pk, "past_v": pv})
    keys, values = np.concatenate([pk, k], 2), np.concatenate([pv, v], 2)
    np.testing.assert_array_equal(present_k, keys)
    # Query i (at position past + i) sees keys 0 .. past + i.
    visible = np.arange(past + new)[None, :] <= past + np.arange(new)[:, None]
    want = reference(q, keys, values, np.broadcast_to(visible, (b, 1, new, past + new)))
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=2e-5)


def test_unfused_option():
    """fuse_attention=False (kilnc --no-fuse-attention): the same numbers
    from matmul, softmax and matmul kernels."""
    rng = np.random.default_rng(9)
    q, k, v = (rng.standard_normal((1, 2, 33, 16), np.float32) for _ in range(3))
    data = attention_model([1, 2, 33, 16], [1, 2, 33, 16], None, True)
    fused, unfused = kiln.compile(data), kiln.compile(data, fuse_attention=False)
    assert len(attention_kernels(fused)) == 1 and not attention_kernels(unfused)
    (a,), (b,) = (m.run(None, {"q": q, "k": k, "v": v}) for m in (fused, unfused))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_exported_chain():
    rng = np.random.default_rng(3)
    b, h, s, d = 1, 3, 77, 40
    q, k, v = (rng.standard_normal((b, h, s, d), np.float32) for _ in range(3))
    mask = rng.standard_normal((b, 1, s, s)).astype(np.float32)
    mask[rng.random(mask.shape) < 0.3] = -np.inf
    mask[..., 0] = 0.0
    model = kiln.compile(chain_model(b, h, s, d, np.sqrt(d)))
    assert len(attention_kernels(model)) == 1
    (y,) = model.run(None, {"q": q, "k": k, "v": v, "mask": mask})
    np.testing.assert_allclose(y, reference(q, k, v, mask), rtol=1e-4, atol=2e-5)


LONG = """
import sys
import numpy as np
import kiln
sys.path.insert(0, {here!r})
from test_attention import attention_model
b, h, s, d = 1, 16, 4096, 64
model = kiln.compile(attention_model([b, h, s, d], [b, h, s, d], causal={causal}))
rng = np.random.default_rng(0)
q, k, v = (rng.standard_normal((b, h, s, d), np.float32) for _ in range(3))
(y,) = model.run(None, {{"q": q, "k": k, "v": v}})
assert np.isfinite(y).all()
# The peak of this process's own memory (VmHWM: getrusage's maxrss would
# also count the pages of the parent it was forked from).
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024)
"""


@pytest.mark.parametrize("causal", [False, True])
def test_long_sequence_memory(causal):
    """S = 4096, 16 heads: the scores alone would be 1 GiB in f32; the
    whole process (compiler, inputs, output) stays under 300 MB, also with
    is_causal (no mask tensor: the causal bias becomes the kernel's
    causal offset)."""
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run([sys.executable, "-c", LONG.format(here=here, causal=causal)],
                       capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    peak_mb = int(p.stdout.split()[-1])
    print(f"peak memory {peak_mb} MB")
    assert peak_mb < 300
