"""RNN, GRU and LSTM on random data against onnxruntime: every direction,
biases, initial states, peepholes, clip, GRU's linear_before_reset,
activations with their alpha/beta, sequence lengths given as a constant and
as an input, the batch-first layout (against the sequence-first result),
the outputs used alone; malformed nodes are one clear error.
LpPool and GlobalLpPool against onnxruntime too."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import kiln
from conftest import assert_kiln_outputs, onnxruntime_outputs

TARGETS = [dict(target="cpu"), dict(target="cuda", emulate=True)]
TARGET_IDS = ["cpu", "emulation"]
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def recurrent_model(op, seq, batch, inp, hidden, *, direction="forward", bias=True,
                    initial=True, peephole=False, lens=None, lens_const=False,
                    outputs=("Y", "Y_h", "Y_c"), layout=0, opset=14, **attrs):
    """A one-node model; returns (model, feeds)."""
    rng = np.random.default_rng(hash((op, seq, batch, direction, str(attrs))) % 2**32)
    dirs = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    x_shape = [seq, batch, inp] if layout == 0 else [batch, seq, inp]
    state_shape = [dirs, batch, hidden] if layout == 0 else [batch, dirs, hidden]
    feeds = {"X": rng.standard_normal(x_shape).astype(np.float32)}
    inits = [numpy_helper.from_array(
                 (rng.standard_normal([dirs, g * hidden, inp]) * 0.5).astype(np.float32), "W"),
             numpy_helper.from_array(
                 (rng.standard_normal([dirs, g * hidden, hidden]) * 0.5).astype(np.float32), "R")]
    names = ["X", "W", "R", "", "", "", "", ""]
    if bias:
        inits.append(numpy_helper.from_array(
            rng.standard_normal([dirs, 2 * g * hidden]).astype(np.float32), "B"))
        names[3] = "B"
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)]
    if lens is not None:
        lens = np.array(lens, dtype=np.int32)
        names[4] = "L"
        if lens_const:
            inits.append(numpy_helper.from_array(lens, "L"))
        else:
            inputs.append(helper.make_tensor_value_info("L", TensorProto.INT32, [batch]))
            feeds["L"] = lens
    if initial:
        names[5] = "H0"
        inputs.append(helper.make_tensor_value_info("H0", TensorProto.FLOAT, state_shape))
        feeds["H0"] = rng.standard_normal(state_shape).astype(np.float32)
        if op == "LSTM":
            names[6] = "C0"
            inputs.append(helper.make_tensor_value_info("C0", TensorProto.FLOAT, state_shape))
            feeds["C0"] = rng.standard_normal(state_shape).astype(np.float32)
    if peephole:
        names[7] = "P"
        inits.append(numpy_helper.from_array(
            rng.standard_normal([dirs, 3 * hidden]).astype(np.float32), "P"))
    n_in = max(i for i, n in enumerate(names) if n) + 1
    n_out = 3 if op == "LSTM" else 2
    out_names = [n if n in outputs else "" for n in ["Y", "Y_h", "Y_c"][:n_out]]
    while out_names and not out_names[-1]:
        out_names.pop()
    y_shape = [seq, dirs, batch, hidden] if layout == 0 else [batch, seq, dirs, hidden]
    shapes = {"Y": y_shape, "Y_h": state_shape, "Y_c": state_shape}
    node = helper.make_node(op, names[:n_in], out_names, name="cell", hidden_size=hidden,
                            direction=direction, **({"layout": layout} if layout else {}),
                            **attrs)
    graph = helper.make_graph(
        [node], "r", inputs,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shapes[n]) for n in out_names if n],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m, feeds


def check(m, feeds, opts, expected=None, tol=2e-5):
    if expected is None:
        expected = onnxruntime_outputs(m, feeds)
    assert_kiln_outputs(m, feeds, expected, opts, tol)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_directions(op, direction, opts):
    m, feeds = recurrent_model(op, 5, 3, 4, 6, direction=direction)
    check(m, feeds, opts)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_no_bias_no_initial_state(op):
    m, feeds = recurrent_model(op, 4, 2, 3, 5, bias=False, initial=False)
    check(m, feeds, dict(target="cpu"))


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("lens_const", [False, True], ids=["input", "const"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_sequence_lens(op, direction, lens_const, opts):
    m, feeds = recurrent_model(op, 6, 4, 3, 5, direction=direction, lens=[6, 2, 4, 1],
                               lens_const=lens_const)
    check(m, feeds, opts)


@pytest.mark.parametrize("lbr", [0, 1])
def test_gru_linear_before_reset(lbr):
    m, feeds = recurrent_model("GRU", 5, 2, 4, 3, direction="bidirectional",
                               linear_before_reset=lbr)
    check(m, feeds, dict(target="cpu"))


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
def test_lstm_peepholes_and_clip(opts):
    m, feeds = recurrent_model("LSTM", 5, 3, 4, 6, direction="bidirectional", peephole=True,
                               clip=0.7)
    check(m, feeds, opts)


def test_lstm_input_forget():
    m, feeds = recurrent_model("LSTM", 4, 2, 3, 5, input_forget=1)
    check(m, feeds, dict(target="cpu"))


@pytest.mark.parametrize("op,acts,alpha,beta", [
    ("RNN", ["Relu"], [], []),
    ("RNN", ["LeakyRelu"], [0.2], []),
    ("RNN", ["Affine"], [0.5], [0.1]),
    ("RNN", ["ScaledTanh"], [1.5], [0.7]),
    ("RNN", ["Softsign"], [], []),
    ("GRU", ["HardSigmoid", "Elu"], [0.3, 0.9], [0.4]),
    ("GRU", ["Sigmoid", "ThresholdedRelu"], [0.1], []),
    ("LSTM", ["HardSigmoid", "Tanh", "Softplus"], [0.25], [0.45]),
])
def test_activations(op, acts, alpha, beta):
    attrs = dict(activations=acts)
    if alpha:
        attrs["activation_alpha"] = alpha
    if beta:
        attrs["activation_beta"] = beta
    m, feeds = recurrent_model(op, 4, 2, 3, 4, **attrs)
    check(m, feeds, dict(target="cpu"))


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_bidirectional_activations_per_direction(op):
    per_dir = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"],
               "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[op]
    other = {"RNN": ["Relu"], "GRU": ["HardSigmoid", "Softsign"],
             "LSTM": ["HardSigmoid", "Softsign", "Relu"]}[op]
    m, feeds = recurrent_model(op, 4, 2, 3, 4, direction="bidirectional",
                               activations=per_dir + other)
    check(m, feeds, dict(target="cpu"))


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_batch_first_layout(op):
    """layout=1 against the sequence-first model's outputs, transposed
    (onnxruntime runs layout 0 only)."""
    m0, f0 = recurrent_model(op, 5, 3, 4, 6, direction="bidirectional", layout=0)
    m1, f1 = recurrent_model(op, 5, 3, 4, 6, direction="bidirectional", layout=1)
    feeds = {"X": f0["X"].transpose(1, 0, 2), "H0": f0["H0"].transpose(1, 0, 2)}
    if op == "LSTM":
        feeds["C0"] = f0["C0"].transpose(1, 0, 2)
    # Same weights: both models were seeded alike except for the layout.
    for a, b in zip(m0.graph.initializer, m1.graph.initializer):
        b.CopyFrom(a)
    ref = onnxruntime_outputs(m0, f0)
    expected = [ref[0].transpose(2, 0, 1, 3)] + [r.transpose(1, 0, 2) for r in ref[1:]]
    check(m1, feeds, dict(target="cpu"), expected=expected)


@pytest.mark.parametrize("outputs", [("Y",), ("Y_h",), ("Y_c",)])
def test_single_output(outputs):
    m, feeds = recurrent_model("LSTM", 4, 2, 3, 4, outputs=outputs)
    check(m, feeds, dict(target="cpu"))


def test_opset7_long_sequence():
    m, feeds = recurrent_model("GRU", 40, 2, 8, 16, opset=7)
    check(m, feeds, dict(target="cpu"), tol=1e-4)


def set_attr(m, name, value):
    for a in m.graph.node[0].attribute:
        if a.name == name:
            if isinstance(value, int):
                a.i = value
            else:
                a.s = value.encode()


def test_bad_recurrent_nodes():
    m, _ = recurrent_model("LSTM", 4, 2, 3, 4)
    set_attr(m, "direction", "sideways")
    with pytest.raises(kiln.CompileError, match="direction 'sideways'"):
        kiln.compile(m, target="cpu")
    m, _ = recurrent_model("GRU", 4, 2, 3, 4)
    set_attr(m, "hidden_size", 7)
    with pytest.raises(kiln.CompileError, match="input W has shape 1x12x3, expected 1x21x3"):
        kiln.compile(m, target="cpu")
    m, _ = recurrent_model("RNN", 4, 2, 3, 4, activations=["Swoosh"])
    with pytest.raises(kiln.CompileError, match="unknown activation 'swoosh'"):
        kiln.compile(m, target="cpu")
    m, _ = recurrent_model("RNN", 4, 2, 3, 4, lens=[5, 1], lens_const=True)
    with pytest.raises(kiln.CompileError, match=r"sequence_lens holds 5, outside \[0, 4\]"):
        kiln.compile(m, target="cpu")
    m, _ = recurrent_model("GRU", 4, 2, 3, 4, direction="bidirectional", activations=["Tanh"])
    with pytest.raises(kiln.CompileError, match="activations lists 1 functions; 2 direction"):
        kiln.compile(m, target="cpu")


def lppool_model(x_shape, op="LpPool", opset=18, **attrs):
    node = helper.make_node(op, ["x"], ["y"], name="pool", **attrs)
    g = helper.make_graph([node], "p", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, x_shape)], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[3, 3], p=2),
    dict(kernel_shape=[2, 3], p=1, strides=[2, 1], pads=[1, 0, 0, 1]),
    dict(kernel_shape=[3, 3], p=3, strides=[2, 2], auto_pad="SAME_UPPER"),
    dict(kernel_shape=[2, 2], p=2, dilations=[2, 2], strides=[2, 2]),
    dict(kernel_shape=[3, 3], p=2, strides=[2, 2], ceil_mode=1),
])
def test_lppool(attrs, opts, rng):
    m = lppool_model([2, 3, 9, 8], **attrs)
    x = rng.standard_normal([2, 3, 9, 8]).astype(np.float32)
    check(m, {"x": x}, opts, tol=1e-4)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_lppool_1d_and_global(p, rng):
    x = rng.standard_normal([2, 4, 10]).astype(np.float32)
    check(lppool_model([2, 4, 10], kernel_shape=[3], p=p, strides=[2]), {"x": x},
          dict(target="cpu"), tol=1e-4)
    x4 = rng.standard_normal([2, 3, 5, 6]).astype(np.float32)
    check(lppool_model([2, 3, 5, 6], op="GlobalLpPool", p=p), {"x": x4}, dict(target="cpu"),
          tol=1e-4)
