"""DFT (opsets 17 and 20: axes, lengths, inverse, one-sided, real and
complex), STFT, the window functions, MelWeightMatrix, and the
rearrangements DepthToSpace, SpaceToDepth, ReverseSequence, OneHot, plus
Celu and Upsample, on random data against ONNX's reference evaluator;
malformed nodes are one clear error."""
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import kiln

TARGETS = [dict(target="cpu"), dict(target="cuda", emulate=True)]
TARGET_IDS = ["cpu", "emulation"]
NP2ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
           np.dtype(np.int32): TensorProto.INT32, np.dtype(np.float16): TensorProto.FLOAT16}


def one_node(op, inputs, consts=(), opset=17, **attrs):
    """inputs: {name: array} fed at run time; consts: [(name, array)] as
    initializers (name "" leaves an optional input out)."""
    names = list(inputs) + [n for n, _ in consts]
    node = helper.make_node(op, names, ["y"], name="n", **attrs)
    g = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(k, NP2ONNX[v.dtype], v.shape) for k, v in inputs.items()],
        [helper.make_empty_tensor_value_info("y")],
        [numpy_helper.from_array(v, n) for n, v in consts if n])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9 if opset >= 19 else 8
    return m


def with_output(m, expected):
    """The model with its output typed and shaped like `expected`."""
    out = m.__class__()
    out.CopyFrom(m)
    del out.graph.output[:]
    out.graph.output.append(helper.make_tensor_value_info(
        "y", helper.np_dtype_to_tensor_dtype(expected.dtype), expected.shape))
    return out


def check(m, feeds, opts=None, tol=1e-4, ref="onnx"):
    """Compares Kiln with ONNX's reference evaluator (or onnxruntime, for
    the ops whose reference lacks an opset's form)."""
    if ref == "onnx":
        expected = ReferenceEvaluator(m).run(None, feeds)[0]
        m = with_output(m, expected)
    else:
        sess = ort.InferenceSession(m.SerializeToString(),
                                    providers=["CPUExecutionProvider"])
        expected = sess.run(None, feeds)[0]
        m = with_output(m, expected)
    got = kiln.compile(m, **(opts or dict(target="cpu")))(*feeds.values())
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def compile_error(m):
    """Compiles a model meant to fail (its output typed as float)."""
    kiln.compile(with_output(m, np.zeros((), np.float32)), target="cpu")


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("parts", [1, 2], ids=["real", "complex"])
@pytest.mark.parametrize("inverse,onesided", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_dft20(inverse, onesided, parts, opts, rng):
    x = rng.standard_normal((2, 6, 10, parts)).astype(np.float32)
    for axis in [1, -2]:
        m = one_node("DFT", {"x": x}, [("", None), ("axis", np.array(axis, np.int64))], 20,
                     inverse=inverse, onesided=onesided)
        check(m, {"x": x}, opts)


@pytest.mark.parametrize("length", [7, 16, 5])
def test_dft20_length(length, rng):
    x = rng.standard_normal((3, 12, 2)).astype(np.float32)
    for inverse, onesided in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        m = one_node("DFT", {"x": x}, [("len", np.array(length, np.int64))], 20,
                     inverse=inverse, onesided=onesided)
        check(m, {"x": x})


def test_dft17_axis_attribute(rng):
    x = rng.standard_normal((2, 8, 3, 1)).astype(np.float32)
    check(one_node("DFT", {"x": x}, axis=1), {"x": x})
    check(one_node("DFT", {"x": x}, axis=2, onesided=1), {"x": x})


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("window", [None, "hann"])
@pytest.mark.parametrize("onesided", [0, 1])
def test_stft(onesided, window, opts, rng):
    x = rng.standard_normal((2, 64, 1)).astype(np.float32)
    consts = [("step", np.array(6, np.int64))]
    if window:
        consts.append(("win", (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(16) / 16))
                       .astype(np.float32)))
    else:
        consts += [("", None), ("flen", np.array(16, np.int64))]
    m = one_node("STFT", {"x": x}, consts, onesided=onesided)
    check(m, {"x": x}, opts)


@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
@pytest.mark.parametrize("periodic", [0, 1])
def test_windows(op, periodic):
    m = one_node(op, {}, [("size", np.array(10, np.int64))], periodic=periodic)
    check(m, {}, tol=1e-6)
    m = one_node(op, {}, [("size", np.array(5, np.int32))], output_datatype=TensorProto.DOUBLE)
    check(m, {}, tol=1e-12)


def test_mel_weight_matrix():
    m = one_node("MelWeightMatrix", {},
                 [("mels", np.array(8, np.int64)), ("dft", np.array(64, np.int64)),
                  ("rate", np.array(8000, np.int64)), ("lo", np.array(0, np.float32)),
                  ("hi", np.array(4000, np.float32))])
    check(m, {}, tol=1e-6)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space(mode, opts, rng):
    x = rng.standard_normal((2, 12, 3, 4)).astype(np.float32)
    check(one_node("DepthToSpace", {"x": x}, opset=13, blocksize=2, mode=mode), {"x": x}, opts)


def test_space_to_depth(rng):
    x = rng.standard_normal((2, 3, 6, 9)).astype(np.float32)
    check(one_node("SpaceToDepth", {"x": x}, opset=13, blocksize=3), {"x": x})


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("const", [False, True])
def test_reverse_sequence(const, batch_first, opts, rng):
    shape = (4, 5, 3) if batch_first else (5, 4, 3)
    x = rng.standard_normal(shape).astype(np.float32)
    lens = np.array([5, 1, 3, 0], np.int64)
    attrs = dict(time_axis=1, batch_axis=0) if batch_first else {}
    if const:
        m = one_node("ReverseSequence", {"x": x}, [("lens", lens)], opset=10, **attrs)
        feeds = {"x": x}
    else:
        m = one_node("ReverseSequence", {"x": x, "lens": lens}, opset=10, **attrs)
        feeds = {"x": x, "lens": lens}
    check(m, feeds, opts)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(axis, opts, rng):
    idx = rng.integers(-6, 9, size=(3, 4)).astype(np.int64)  # some out of range
    values = np.array([0.5, 3.0], np.float32)
    m = one_node("OneHot", {"idx": idx}, [("depth", np.array(6, np.int64)), ("values", values)],
                 opset=11, axis=axis)
    check(m, {"idx": idx}, opts, ref="ort")


def test_one_hot_float_indices(rng):
    idx = rng.integers(-5, 5, size=(5,)).astype(np.float32)
    m = one_node("OneHot", {"idx": idx}, [("depth", np.array([5.0], np.float32)),
                                          ("values", np.array([0, 1], np.int64))], opset=11)
    # (onnxruntime has no kernel for float indices with int64 values.)
    expected = np.eye(5, dtype=np.int64)[idx.astype(np.int64) % 5]
    got = kiln.compile(with_output(m, expected), target="cpu")(idx)
    np.testing.assert_array_equal(got, expected)


def test_celu(rng):
    x = rng.standard_normal((3, 7)).astype(np.float32) * 3
    check(one_node("Celu", {"x": x}, opset=12, alpha=0.7), {"x": x}, tol=1e-5)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_upsample(mode, rng):
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    m7 = one_node("Upsample", {"x": x}, opset=7, mode=mode, scales=[1.0, 1.0, 2.0, 3.0])
    m9 = one_node("Upsample", {"x": x}, [("s", np.array([1, 1, 2.0, 1.5], np.float32))],
                  opset=9, mode=mode)
    for m in (m7, m9):
        check(m, {"x": x}, tol=1e-5, ref="ort")


def test_bad_signal_and_layout_nodes(rng):
    x = rng.standard_normal((1, 10, 1)).astype(np.float32)
    m = one_node("DFT", {"x": x}, [("", None), ("axis", np.array(2, np.int64))], 20)
    with pytest.raises(kiln.CompileError, match="axis must not be the last dim"):
        compile_error(m)
    x3 = rng.standard_normal((1, 10, 3)).astype(np.float32)
    with pytest.raises(kiln.CompileError, match="last dim of the input must be 1"):
        compile_error(one_node("DFT", {"x": x3}, axis=1))
    m = one_node("STFT", {"x": x}, [("step", np.array(2, np.int64)),
                                    ("win", np.ones(16, np.float32))])
    with pytest.raises(kiln.CompileError, match="frames of 16 samples"):
        compile_error(m)
    y = rng.standard_normal((1, 6, 2, 2)).astype(np.float32)
    with pytest.raises(kiln.CompileError, match="not a multiple of blocksize"):
        compile_error(one_node("DepthToSpace", {"x": y}, opset=13, blocksize=2))
    idx = np.zeros((2,), np.int64)
    m = one_node("OneHot", {"idx": idx}, [("depth", np.array(0, np.int64)),
                                          ("values", np.array([0, 1], np.float32))], opset=11)
    with pytest.raises(kiln.CompileError, match="depth must be in"):
        compile_error(m)


@pytest.mark.parametrize("ctm", ["half_pixel", "pytorch_half_pixel", "align_corners",
                                 "asymmetric", "half_pixel_symmetric"])
@pytest.mark.parametrize("scales", [[1, 1, 2.0, 1.5], [1, 1, 0.6, 0.5]], ids=["up", "down"])
def test_resize_cubic(scales, ctm, rng):
    x = rng.standard_normal((1, 2, 5, 6)).astype(np.float32)
    for extra in [{}, dict(exclude_outside=1, cubic_coeff_a=-0.5)]:
        m = one_node("Resize", {"x": x}, [("", None), ("s", np.array(scales, np.float32))],
                     opset=19, mode="cubic", coordinate_transformation_mode=ctm, **extra)
        check(m, {"x": x}, tol=1e-5)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_resize_antialias(mode, opts, rng):
    x = rng.standard_normal((1, 3, 16, 12)).astype(np.float32)
    m = one_node("Resize", {"x": x}, [("", None), ("", None),
                                      ("sizes", np.array([1, 3, 5, 7], np.int64))],
                 opset=18, mode=mode, antialias=1)
    check(m, {"x": x}, opts, tol=1e-5)


def test_resize_linear_half_pixel_symmetric(rng):
    x = rng.standard_normal((2, 1, 7, 5)).astype(np.float32)
    m = one_node("Resize", {"x": x}, [("", None), ("s", np.array([1, 1, 1.7, 0.8], np.float32))],
                 opset=19, mode="linear", coordinate_transformation_mode="half_pixel_symmetric")
    check(m, {"x": x}, tol=1e-5)


def test_nonzero_of_a_constant(rng):
    c = (rng.random((3, 4)) < 0.4).astype(np.float32) * rng.standard_normal((3, 4)).astype(
        np.float32)
    x = rng.standard_normal((2,)).astype(np.float32)
    # NonZero of an initializer, added to a run-time input to keep a graph input.
    node = helper.make_node("NonZero", ["c"], ["nz"])
    cast = helper.make_node("Cast", ["nz"], ["nzf"], to=TensorProto.FLOAT)
    red = helper.make_node("ReduceSum", ["nzf"], ["s"], keepdims=0)
    add = helper.make_node("Add", ["x", "s"], ["y"])
    g = helper.make_graph([node, cast, red, add], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2]),
                           helper.make_tensor_value_info("nz", TensorProto.INT64,
                                                         [2, int(np.count_nonzero(c))])],
                          [numpy_helper.from_array(c, "c")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    expected = ort.InferenceSession(m.SerializeToString(),
                                    providers=["CPUExecutionProvider"]).run(None, {"x": x})
    got = kiln.compile(m, target="cpu")(x)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
    np.testing.assert_array_equal(got[1], expected[1])


def test_nonzero_of_run_time_data_is_an_error(rng):
    x = rng.standard_normal((3,)).astype(np.float32)
    with pytest.raises(kiln.CompileError, match="NonZero: its output shape depends on"):
        compile_error(one_node("NonZero", {"x": x}, opset=13))


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_compress_with_a_constant_condition(axis, rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    cond = np.array([True, False, True, True], bool)
    attrs = {} if axis is None else {"axis": axis}
    m = one_node("Compress", {"x": x}, [("cond", cond)], opset=11, **attrs)
    check(m, {"x": x}, ref="ort")


@pytest.mark.parametrize("axes,shape", [(None, [3, 7, 2]), ([1, -1], [2, 9]), ([0], [6])])
def test_center_crop_pad(axes, shape, rng):
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    attrs = {} if axes is None else {"axes": axes}
    m = one_node("CenterCropPad", {"x": x}, [("shape", np.array(shape, np.int64))], opset=18,
                 **attrs)
    check(m, {"x": x})


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("stride,dilation,pad", [(1, 1, 0), (2, 1, 1), (1, 2, 0), (3, 1, 2)])
def test_col2im_against_torch_fold(stride, dilation, pad, opts, rng):
    torch = pytest.importorskip("torch")
    image, block, c = [9, 8], [3, 2], 2
    blocks = [(image[i] + 2 * pad - dilation * (block[i] - 1) - 1) // stride + 1
              for i in range(2)]
    x = rng.standard_normal((2, c * 6, blocks[0] * blocks[1])).astype(np.float32)
    expected = torch.nn.functional.fold(torch.from_numpy(x), image, block, dilation=dilation,
                                        padding=pad, stride=stride).numpy()
    m = one_node("Col2Im", {"x": x}, [("img", np.array(image, np.int64)),
                                      ("blk", np.array(block, np.int64))], opset=18,
                 strides=[stride] * 2, dilations=[dilation] * 2, pads=[pad] * 4)
    got = kiln.compile(with_output(m, expected), **opts)(x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("batch_dims,k", [(1, 1), (1, 2), (2, 1)])
def test_gather_nd_batch_dims(batch_dims, k, opts, rng):
    data = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    lead = data.shape[:batch_dims]
    dims = data.shape[batch_dims:batch_dims + k]
    idx = np.stack([rng.integers(-d, d, size=lead + (3,)) for d in dims], -1).astype(np.int64)
    m = one_node("GatherND", {"data": data, "idx": idx}, opset=13, batch_dims=batch_dims)
    check(m, {"data": data, "idx": idx}, opts)


@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("axes", [None, [2, 3]])
def test_resize_tf_crop_and_resize(mode, axes, rng):
    x = rng.standard_normal((1, 2, 6, 7)).astype(np.float32)
    box = [0.2, -0.1, 0.9, 1.2]  # the second axis' box reaches outside the input
    roi = np.array(box if axes else [0, 0] + box[:2] + [1, 1] + box[2:], np.float32)
    sizes = np.array([5, 4] if axes else [1, 2, 5, 4], np.int64)
    attrs = dict(mode=mode, coordinate_transformation_mode="tf_crop_and_resize",
                 extrapolation_value=-3.0)
    if axes:
        attrs["axes"] = axes
    m = one_node("Resize", {"x": x}, [("roi", roi), ("", None), ("sizes", sizes)], opset=19,
                 **attrs)
    check(m, {"x": x}, tol=1e-5)
