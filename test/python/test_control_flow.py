"""If, Loop and Scan against onnxruntime on random data: an If whose
condition folds from the input's shape (as exports with dynamic axes
write it), branches reading outer-scope values, a Loop with loop-carried
values and scan outputs, a Loop ended by its body's condition, a Loop
nested If, Scan with reversed inputs and outputs on other axes; a
condition or trip count known only at run time is one clear error."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import kiln
from conftest import assert_kiln_outputs, onnxruntime_outputs

TARGETS = [dict(target="cpu"), dict(target="cuda", emulate=True)]
TARGET_IDS = ["cpu", "emulation"]
F = TensorProto.FLOAT


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "cf", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def check(m, feeds, opts=dict(target="cpu"), tol=1e-5):
    assert_kiln_outputs(m, feeds, onnxruntime_outputs(m, feeds), opts, tol)


def const(name, value):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value))


def shape_if(batch_threshold):
    """y = x * 2 if batch > threshold else x + w (w from the outer scope)."""
    then = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["t_out"])], "then", [],
                             [vi("t_out", None)])
    other = helper.make_graph([helper.make_node("Add", ["x", "w"], ["e_out"])], "else", [],
                              [vi("e_out", None)])
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             const("zero", np.array([0], np.int64)),
             helper.make_node("Gather", ["s", "zero"], ["b"]),
             const("thr", np.array([batch_threshold], np.int64)),
             helper.make_node("Greater", ["b", "thr"], ["c1"]),
             helper.make_node("Squeeze", ["c1"], ["c"]),
             helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)]
    inits = [numpy_helper.from_array(np.array(2.0, np.float32), "two"),
             numpy_helper.from_array(np.arange(5, dtype=np.float32), "w")]
    return model(nodes, [vi("x", [3, 5])], [vi("y", [3, 5])], inits)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("threshold", [1, 7], ids=["then", "else"])
def test_if_on_a_shape(threshold, opts, rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    check(shape_if(threshold), {"x": x}, opts)


def test_if_on_run_time_data_is_an_error(rng):
    then = helper.make_graph([helper.make_node("Neg", ["x"], ["t"])], "then", [], [vi("t", None)])
    other = helper.make_graph([helper.make_node("Abs", ["x"], ["e"])], "else", [],
                              [vi("e", None)])
    m = model([helper.make_node("If", ["c"], ["y"], name="branch", then_branch=then,
                                else_branch=other)],
              [vi("c", [], TensorProto.BOOL), vi("x", [4])], [vi("y", [4])])
    with pytest.raises(kiln.CompileError,
                       match="node 'branch': If: the condition must be a compile-time constant"):
        kiln.compile(m, target="cpu")


def loop_model(trips, with_cond_out_limit=None):
    """Loop: acc = acc * 0.5 + x * i each iteration; scans acc and i."""
    body_nodes = [helper.make_node("Cast", ["i"], ["fi"], to=F),
                  helper.make_node("Mul", ["x", "fi"], ["xi"]),
                  helper.make_node("Mul", ["acc_in", "half"], ["h"]),
                  helper.make_node("Add", ["h", "xi"], ["acc_out"]),
                  helper.make_node("Identity", ["acc_out"], ["scan_acc"]),
                  helper.make_node("Identity", ["fi"], ["scan_i"])]
    if with_cond_out_limit is None:
        body_nodes.append(helper.make_node("Identity", ["cond_in"], ["cond_out"]))
    else:
        body_nodes += [const("lim", np.array(with_cond_out_limit, np.int64)),
                       helper.make_node("Less", ["i", "lim"], ["cond_out"])]
    body = helper.make_graph(
        body_nodes, "body",
        [vi("i", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL), vi("acc_in", [4])],
        [vi("cond_out", [], TensorProto.BOOL), vi("acc_out", [4]), vi("scan_acc", [4]),
         vi("scan_i", [])])
    inits = [numpy_helper.from_array(np.array(trips, np.int64), "M"),
             numpy_helper.from_array(np.array(True), "cond"),
             numpy_helper.from_array(np.array(0.5, np.float32), "half")]
    n = trips if with_cond_out_limit is None else min(trips, with_cond_out_limit + 1)
    return model([helper.make_node("Loop", ["M", "cond", "acc0"], ["acc", "accs", "is"],
                                   name="loop", body=body)],
                 [vi("acc0", [4]), vi("x", [4])],
                 [vi("acc", [4]), vi("accs", [n, 4]), vi("is", [n])], inits)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
def test_loop_carried_and_scan_outputs(opts, rng):
    feeds = {"acc0": rng.standard_normal(4).astype(np.float32),
             "x": rng.standard_normal(4).astype(np.float32)}
    check(loop_model(6), feeds, opts)


def test_loop_ended_by_its_condition(rng):
    feeds = {"acc0": rng.standard_normal(4).astype(np.float32),
             "x": rng.standard_normal(4).astype(np.float32)}
    check(loop_model(10, with_cond_out_limit=3), feeds)


def test_loop_with_run_time_condition_is_an_error():
    body = helper.make_graph(
        [helper.make_node("ReduceSum", ["v_in"], ["s"], keepdims=0),
         const("z", np.array(0.0, np.float32)),
         helper.make_node("Greater", ["s", "z"], ["cond_out"]),
         helper.make_node("Neg", ["v_in"], ["v_out"])], "body",
        [vi("i", [], TensorProto.INT64), vi("c", [], TensorProto.BOOL), vi("v_in", [3])],
        [vi("cond_out", [], TensorProto.BOOL), vi("v_out", [3])])
    m = model([helper.make_node("Loop", ["", "", "v"], ["out"], name="loop", body=body)],
              [vi("v", [3])], [vi("out", [3])])
    with pytest.raises(kiln.CompileError, match="condition output is not a compile-time"):
        kiln.compile(m, target="cpu")


def test_if_nested_in_loop(rng):
    """Each iteration picks a branch by its (constant) iteration number."""
    then = helper.make_graph([helper.make_node("Mul", ["v_in", "x"], ["a"])], "then", [],
                             [vi("a", None)])
    other = helper.make_graph([helper.make_node("Sub", ["v_in", "x"], ["b"])], "else", [],
                              [vi("b", None)])
    body = helper.make_graph(
        [const("two", np.array(2, np.int64)),
         helper.make_node("Mod", ["i", "two"], ["r"]),
         const("zero", np.array(0, np.int64)),
         helper.make_node("Equal", ["r", "zero"], ["even"]),
         helper.make_node("If", ["even"], ["v_out"], then_branch=then, else_branch=other),
         helper.make_node("Identity", ["c"], ["cond_out"])], "body",
        [vi("i", [], TensorProto.INT64), vi("c", [], TensorProto.BOOL), vi("v_in", [3])],
        [vi("cond_out", [], TensorProto.BOOL), vi("v_out", [3])])
    inits = [numpy_helper.from_array(np.array(5, np.int64), "M")]
    m = model([helper.make_node("Loop", ["M", "", "v"], ["out"], body=body)],
              [vi("v", [3]), vi("x", [3])], [vi("out", [3])], inits)
    check(m, {"v": rng.standard_normal(3).astype(np.float32),
              "x": rng.standard_normal(3).astype(np.float32)})


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
def test_scan(opts, rng):
    """A running sum over axis 1 of one input read backwards, and a
    product of two inputs' slices, stacked on output axis 1."""
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "a"], ["s_out"]),
         helper.make_node("Mul", ["a", "b"], ["p"]),
         helper.make_node("Identity", ["s_out"], ["running"])], "body",
        [vi("s_in", [2]), vi("a", [2]), vi("b", [2])],
        [vi("s_out", [2]), vi("p", [2]), vi("running", [2])])
    m = model([helper.make_node("Scan", ["s0", "xa", "xb"], ["s", "ps", "rs"], body=body,
                                num_scan_inputs=2, scan_input_axes=[1, 0],
                                scan_input_directions=[1, 0], scan_output_axes=[1, 0],
                                scan_output_directions=[0, 1])],
              [vi("s0", [2]), vi("xa", [2, 5]), vi("xb", [5, 2])],
              [vi("s", [2]), vi("ps", [2, 5]), vi("rs", [5, 2])], opset=16)
    check(m, {"s0": rng.standard_normal(2).astype(np.float32),
              "xa": rng.standard_normal((2, 5)).astype(np.float32),
              "xb": rng.standard_normal((5, 2)).astype(np.float32)}, opts)


def test_loop_beyond_the_unroll_limit_is_an_error():
    body = helper.make_graph(
        [helper.make_node("Neg", ["v_in"], ["v_out"]),
         helper.make_node("Identity", ["c"], ["cond_out"])], "body",
        [vi("i", [], TensorProto.INT64), vi("c", [], TensorProto.BOOL), vi("v_in", [3])],
        [vi("cond_out", [], TensorProto.BOOL), vi("v_out", [3])])
    inits = [numpy_helper.from_array(np.array(10**9, np.int64), "M")]
    m = model([helper.make_node("Loop", ["M", "", "v"], ["out"], name="loop", body=body)],
              [vi("v", [3])], [vi("out", [3])], inits)
    with pytest.raises(kiln.CompileError, match="runs more than 4096 iterations"):
        kiln.compile(m, target="cpu")
