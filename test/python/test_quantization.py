"""Quantized models: QuantizeLinear / DequantizeLinear in every layout the
ONNX opsets define (per tensor, per axis, blocked; int8, uint8, int16,
uint16; output_dtype), the integer contractions, and a QDQ network made by
onnxruntime's quantize_static, each on random data against an independent
reference (ONNX's reference evaluator, onnxruntime) on the CPU target and
in GPU emulation."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import kiln

TARGETS = [dict(target="cpu"), dict(target="cuda", emulate=True)]
TARGET_IDS = ["cpu", "emulation"]

NP_TO_ONNX = {np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8,
              np.int16: TensorProto.INT16, np.uint16: TensorProto.UINT16,
              np.int32: TensorProto.INT32, np.float32: TensorProto.FLOAT,
              np.float16: TensorProto.FLOAT16}


def make(nodes, inputs, outputs, inits=(), opset=21):
    g = helper.make_graph(nodes, "q", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, NP_TO_ONNX[dtype], shape)


def check(model, feeds, opts, exact=True):
    expected = ReferenceEvaluator(model).run(None, feeds)
    got = kiln.compile(model, **opts)(*feeds.values())
    if not isinstance(got, (list, tuple)):
        got = [got]
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape
        if exact:
            np.testing.assert_array_equal(g, e)
        else:
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def quant_params(rng, qtype, shape):
    info = np.iinfo(qtype)
    scale = rng.uniform(0.01, 0.1, size=shape).astype(np.float32)
    zp = rng.integers(info.min // 4, info.max // 4 + 1, size=shape).astype(qtype)
    return scale, zp


# (x shape, scale shape, axis, block_size)
LAYOUTS = [((3, 8, 5), (), 1, 0), ((3, 8, 5), (8,), 1, 0), ((3, 8, 5), (5,), -1, 0),
           ((3, 8, 5), (3, 3, 5), 1, 3), ((4, 6), (4, 2), 1, 4), ((1,), (), 1, 0)]
QTYPES = [np.int8, np.uint8, np.int16, np.uint16]


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("qtype", QTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda l: f"{l[0]}-{l[1]}-b{l[3]}")
def test_quantize_dequantize(layout, qtype, opts, rng):
    xs, ss, axis, block = layout
    scale, zp = quant_params(rng, qtype, ss)
    attrs = dict(axis=axis, block_size=block)
    q = make([helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], **attrs)],
             [vi("x", np.float32, xs)], [vi("y", qtype, xs)],
             [numpy_helper.from_array(scale, "s"), numpy_helper.from_array(zp, "z")])
    # Values up to well outside the range: saturation on both ends.
    info = np.iinfo(qtype)
    span = float(info.max - info.min) * 0.1
    x = rng.uniform(-span, span, size=xs).astype(np.float32)
    check(q, {"x": x}, opts)
    dq = make([helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"], **attrs)],
              [vi("x", qtype, xs)], [vi("y", np.float32, xs)],
              [numpy_helper.from_array(scale, "s"), numpy_helper.from_array(zp, "z")])
    xq = rng.integers(info.min, info.max + 1, size=xs).astype(qtype)
    check(dq, {"x": xq}, opts, exact=False)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
def test_quantize_default_uint8_and_output_dtype(opts, rng):
    # No zero point: uint8, or the type output_dtype names (opset 21).
    x = rng.uniform(-30, 300, size=(4, 5)).astype(np.float32)
    s = numpy_helper.from_array(np.array(1.5, np.float32), "s")
    m = make([helper.make_node("QuantizeLinear", ["x", "s"], ["y"])],
             [vi("x", np.float32, (4, 5))], [vi("y", np.uint8, (4, 5))], [s])
    check(m, {"x": x}, opts)
    m = make([helper.make_node("QuantizeLinear", ["x", "s"], ["y"],
                               output_dtype=TensorProto.INT16)],
             [vi("x", np.float32, (4, 5))], [vi("y", np.int16, (4, 5))], [s])
    check(m, {"x": x}, opts)
    # DequantizeLinear of int32 (bias) and to float16 (opset 23's output_dtype).
    xi = rng.integers(-2**20, 2**20, size=(7,)).astype(np.int32)
    m = make([helper.make_node("DequantizeLinear", ["x", "s"], ["y"])],
             [vi("x", np.int32, (7,))], [vi("y", np.float32, (7,))], [s])
    check(m, {"x": xi}, opts, exact=False)
    xq = rng.integers(-128, 128, size=(3, 4)).astype(np.int8)
    m = make([helper.make_node("DequantizeLinear", ["x", "s"], ["y"],
                               output_dtype=TensorProto.FLOAT16)],
             [vi("x", np.int8, (3, 4))], [vi("y", np.float16, (3, 4))], [s], opset=23)
    m.ir_version = 11
    check(m, {"x": xq}, opts, exact=False)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("atype,btype", [(np.uint8, np.int8), (np.int8, np.int8),
                                         (np.uint8, np.uint8)])
def test_matmul_integer(atype, btype, opts, rng):
    a = rng.integers(np.iinfo(atype).min, np.iinfo(atype).max + 1, size=(2, 5, 33)).astype(atype)
    b = rng.integers(np.iinfo(btype).min, np.iinfo(btype).max + 1, size=(33, 7)).astype(btype)
    za = np.array(rng.integers(0, 100), atype)
    zb = rng.integers(0, 50, size=(7,)).astype(btype)  # per column
    m = make([helper.make_node("MatMulInteger", ["a", "b", "za", "zb"], ["y"])],
             [vi("a", atype, a.shape), vi("b", btype, b.shape)], [vi("y", np.int32, (2, 5, 7))],
             [numpy_helper.from_array(za, "za"), numpy_helper.from_array(zb, "zb")], opset=10)
    check(m, {"a": a, "b": b}, opts)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
def test_qlinear_conv_per_channel(opts, rng):
    x = rng.integers(0, 256, size=(1, 4, 9, 9)).astype(np.uint8)
    w = rng.integers(-128, 128, size=(6, 2, 3, 3)).astype(np.int8)
    bias = rng.integers(-1000, 1000, size=(6,)).astype(np.int32)
    inits = [numpy_helper.from_array(v, n) for v, n in [
        (np.array(0.02, np.float32), "xs"), (np.array(120, np.uint8), "xz"),
        (rng.uniform(0.001, 0.01, size=(6,)).astype(np.float32), "ws"),
        (np.zeros(6, np.int8), "wz"), (np.array(0.05, np.float32), "ys"),
        (np.array(128, np.uint8), "yz"), (w, "w"), (bias, "b")]]
    node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
                            ["y"], pads=[1, 1, 1, 1], strides=[2, 2], group=2)
    m = make([node], [vi("x", np.uint8, x.shape)], [vi("y", np.uint8, (1, 6, 5, 5))], inits,
             opset=10)
    check(m, {"x": x}, opts)


def test_bad_quantization_models():
    x = vi("x", np.float32, (3, 4))
    s = numpy_helper.from_array(np.ones(5, np.float32), "s")
    m = make([helper.make_node("QuantizeLinear", ["x", "s"], ["y"], axis=1)], [x],
             [vi("y", np.uint8, (3, 4))], [s])
    with pytest.raises(kiln.CompileError, match="y_scale of shape 5 must be a scalar or hold "
                                                "one value per index of axis 1"):
        kiln.compile(m)
    s = numpy_helper.from_array(np.ones((3, 3), np.float32), "s")
    m = make([helper.make_node("QuantizeLinear", ["x", "s"], ["y"], axis=1, block_size=3)],
             [x], [vi("y", np.uint8, (3, 4))], [s])
    with pytest.raises(kiln.CompileError, match="does not block the input 3x4 by 3"):
        kiln.compile(m)
    z = numpy_helper.from_array(np.array(1, np.int32), "z")
    m = make([helper.make_node("QuantizeLinear", ["x", "s1", "z"], ["y"])], [x],
             [vi("y", np.int32, (3, 4))], [numpy_helper.from_array(np.float32(1), "s1"), z])
    with pytest.raises(kiln.CompileError, match="quantizing to 'i32' is not supported"):
        kiln.compile(m)


def small_convnet(path, rng):
    """A float model with the layers a quantizer rewrites: Conv, Relu,
    MaxPool, Add (residual), GlobalAveragePool, Gemm."""
    def w(name, *shape):
        return numpy_helper.from_array(
            (rng.standard_normal(shape) * (2.0 / np.prod(shape[1:])) ** 0.5).astype(np.float32),
            name)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Add", ["r2", "p1"], ["a"]),
        helper.make_node("GlobalAveragePool", ["a"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], transB=1),
    ]
    inits = [w("w1", 16, 3, 3, 3), w("b1", 16), w("w2", 16, 16, 3, 3), w("b2", 16),
             w("w3", 10, 16), w("b3", 10)]
    m = make(nodes, [vi("x", np.float32, (1, 3, 16, 16))], [vi("y", np.float32, (1, 10))],
             inits, opset=17)
    m.ir_version = 8
    onnx.save(m, path)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
def test_onnxruntime_quantize_static(fmt, per_channel, opts, rng, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    fp32, int8 = str(tmp_path / "fp32.onnx"), str(tmp_path / "int8.onnx")
    small_convnet(fp32, rng)
    samples = [rng.standard_normal((1, 3, 16, 16), dtype=np.float32) for _ in range(8)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter({"x": s} for s in samples)

        def get_next(self):
            return next(self.it, None)

    # The operator format writes onnxruntime's own com.microsoft ops
    # (QLinearAdd, QGemm, ...) for every layer but Conv and MatMul: only
    # those are quantized there.
    extra = {} if fmt == "QDQ" else dict(op_types_to_quantize=["Conv", "MatMul"])
    quantize_static(fp32, int8, Reader(),
                    quant_format=QuantFormat.QDQ if fmt == "QDQ" else QuantFormat.QOperator,
                    per_channel=per_channel, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, **extra)
    ops = {n.op_type for n in onnx.load(int8).graph.node}
    assert ("DequantizeLinear" in ops) if fmt == "QDQ" else ("QLinearConv" in ops)
    so = ort.SessionOptions()
    # onnxruntime's own graph rewrites fuse QDQ groups into its int8 kernels;
    # the reference is the model as written.
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(int8, so, providers=["CPUExecutionProvider"])
    compiled = kiln.compile(int8, **opts)
    x = rng.standard_normal((1, 3, 16, 16), dtype=np.float32)
    expected = sess.run(None, {"x": x})[0]
    got = compiled(x)
    # One quantization step of the last layer is the most a rounding tie
    # decided differently may move an output.
    step = float(np.abs(expected).max()) / 100
    np.testing.assert_allclose(got, expected, atol=step)
    floaty = ReferenceEvaluator(onnx.load(fp32)).run(None, {"x": x})[0]
    assert np.abs(got - floaty).max() < 0.25 * np.abs(floaty).max() + 0.05


@pytest.mark.parametrize("signed", [True, False], ids=["int4", "uint4"])
@pytest.mark.parametrize("raw", [True, False], ids=["raw", "int32_data"])
@pytest.mark.parametrize("block", [0, 4], ids=["per_axis", "blocked"])
def test_int4_weights(signed, raw, block, rng):
    """4-bit weights (packed two to a byte, an odd count) dequantized into
    a MatMul, per output column or in blocks along K, against onnxruntime."""
    k, n = 8, 5
    lo, hi = (-8, 7) if signed else (0, 15)
    w = rng.integers(lo, hi + 1, size=(k, n))
    elem = TensorProto.INT4 if signed else TensorProto.UINT4
    w_t = helper.make_tensor("w", elem, [k, n], w.flatten().tolist(), raw=False)
    if raw:
        packed = [int(v) & 0xF for v in w.flatten()] + [0]
        data = bytes((packed[i] | (packed[i + 1] << 4)) for i in range(0, k * n, 2))
        w_t = helper.make_tensor("w", elem, [k, n], data, raw=True)
    if block:
        scale = (rng.random((k // block, n)) + 0.5).astype(np.float32)
        zp_vals = rng.integers(lo, hi + 1, size=(k // block, n))
        attrs = dict(axis=0, block_size=block)
    else:
        scale = (rng.random(n) + 0.5).astype(np.float32)
        zp_vals = rng.integers(lo, hi + 1, size=(n,))
        attrs = dict(axis=1)
    zp_t = helper.make_tensor("zp", elem, list(zp_vals.shape), zp_vals.flatten().tolist())
    nodes = [helper.make_node("DequantizeLinear", ["w", "s", "zp"], ["wf"], **attrs),
             helper.make_node("MatMul", ["x", "wf"], ["y"])]
    g = helper.make_graph(nodes, "int4", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                        [3, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, n])],
                          [w_t, zp_t, numpy_helper.from_array(scale, "s")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    x = rng.standard_normal((3, k)).astype(np.float32)
    # Unoptimized: onnxruntime's optimizer would fuse the pair into its own
    # 4-bit matmul, which computes at a lower precision.
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    expected = ort.InferenceSession(m.SerializeToString(), so,
                                    providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(kiln.compile(m, target="cpu")(x), expected, rtol=1e-5, atol=1e-5)


def test_quantize_to_int4_is_an_error(rng):
    zp = helper.make_tensor("zp", TensorProto.INT4, [], [0])
    g = helper.make_graph([helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["y"], name="q")],
                          "q4", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                          [helper.make_tensor_value_info("y", TensorProto.INT4, [4])],
                          [numpy_helper.from_array(np.array(0.1, np.float32), "s"), zp])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    with pytest.raises(kiln.CompileError, match="quantizing to a 4-bit type is not supported"):
        kiln.compile(m, target="cpu")
