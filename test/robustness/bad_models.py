#!/usr/bin/env python3
"""The malformed-model corpus: writes every case below into a folder and
compiles each with kilnc under a memory limit and a timeout.

A model file is untrusted input. Each case must end with Kiln's error exit
(status 1) and exactly one `kilnc: error:` line that matches the case's
pattern (it names the node, tensor, input or attribute that is wrong);
never a signal, an assertion, a stack dump, a hang or an unbounded
allocation. Cases marked `ok` are legal models with unusual content
(zero-size tensors, NaN weights): they may compile, or fail the same clean
way.

  bad_models.py --kilnc build/bin/kilnc [--out DIR] [--keep] [-k PATTERN]
"""
import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
I64 = TensorProto.INT64

CASES = []  # (name, writer(folder) -> model path, pattern, ok_allowed, extra kilnc args)


# A node named n0: Kiln's own errors say `node 'n0'`, libonnx's checker
# and shape inference `node name: n0` or `Node (n0)`.
N0 = r"(\bn0\b)"


# Opset and IR version model() writes. Cases marked `modern` run a second
# time at opset 21 / IR 10, newer than libonnx's checker and shape
# inference: there Kiln's own checks stand alone.
VERSIONS = {"opset": 17, "ir": 8}


def case(pattern, ok=False, args=(), modern=False):
    def register(fn):
        CASES.append((fn.__name__, fn, pattern, ok, list(args)))
        if modern:
            def at_modern(d):
                VERSIONS.update(opset=21, ir=10)
                try:
                    return fn(d)
                finally:
                    VERSIONS.update(opset=17, ir=8)
            CASES.append((fn.__name__ + "_opset21", at_modern, pattern, ok, list(args)))
        return fn
    return register


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, inits=(), opset=None, ir=None, domains=()):
    opset = opset or VERSIONS["opset"]
    ir = ir or VERSIONS["ir"]
    g = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]
                          + [helper.make_opsetid(d, 1) for d in domains])
    m.ir_version = ir
    return m


def save(folder, m, name="model.onnx"):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def relu_model():
    return model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                 [vi("x", F, [2, 3])], [vi("y", F, [2, 3])])


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def one_node(op, inputs, outputs, inits=(), out_shape=None, attrs=None, opset=None, **kw):
    node = helper.make_node(op, [n for n, _, _ in inputs] + [t.name for t in inits],
                            ["y"], name="n0", **(attrs or {}), **kw)
    return model([node], [vi(n, e, s) for n, e, s in inputs],
                 [vi("y", outputs, out_shape)], inits, opset=opset)


def bare_tensor(name, elem, dims):
    """A TensorProto with dims and no data (make_tensor checks the size)."""
    t = TensorProto()
    t.name, t.data_type = name, elem
    t.dims.extend(dims)
    return t


def write_bytes(folder, data, name="model.onnx"):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# --- the file itself ------------------------------------------------------

@case(r"not a valid ONNX model|empty")
def empty_file(d):
    return write_bytes(d, b"")


for cut in (1, 10, 40, 70):
    def truncated(d, cut=cut):
        data = relu_model().SerializeToString()
        return write_bytes(d, data[:len(data) * cut // 100])
    truncated.__name__ = f"truncated_{cut}pct"
    case(r"not a valid ONNX model|truncated|corrupt")(truncated)


@case(r"not a valid ONNX model")
def garbage_bytes(d):
    return write_bytes(d, np.random.default_rng(1).bytes(4096))


@case(r"not a valid ONNX model|no graph|parse")
def text_in_binary_file(d):
    return write_bytes(d, b"this is not a model at all\n" * 20)


@case(r"error")
def onnxtxt_syntax_error(d):
    return write_bytes(d, b"<ir_version: 8, opset_import: [\"\" : 17]>\nbad (float[2] x) => (float[2] y) {\n  y = Relu(x\n}\n",
                       "model.onnxtxt")


@case(r"not a valid ONNX model|graph|no nodes|output")
def tensor_proto_not_model(d):
    return write_bytes(d, const("t", np.ones((4, 4), np.float32)).SerializeToString())


@case(r"graph")
def model_without_graph(d):
    m = relu_model()
    m.ClearField("graph")
    return save(d, m)


@case(r"IR version|ir_version")
def ir_version_too_new(d):
    m = relu_model()
    m.ir_version = 99
    return save(d, m)


@case(r"opset")
def opset_too_new(d):
    m = relu_model()
    m.opset_import[0].version = 999
    return save(d, m)


@case(r"opset|domain")
def no_opset_import(d):
    m = relu_model()
    del m.opset_import[:]
    return save(d, m)


# --- element types --------------------------------------------------------

@case(r"'x'.*(type|element)|(type|element).*'x'", modern=True)
def unknown_input_elem_type(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", 99, [2])], [vi("y", F, [2])]))


@case(r"'x'.*(type|element)|(type|element).*'x'")
def undefined_input_elem_type(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", 0, [2])], [vi("y", F, [2])]))


@case(r"'x'.*(type|string)|(type|string).*'x'")
def string_input(d):
    return save(d, model([helper.make_node("Identity", ["x"], ["y"])],
                         [vi("x", TensorProto.STRING, [2])], [vi("y", TensorProto.STRING, [2])]))


@case(r"'w'.*(type|element)|(type|element).*'w'")
def initializer_unknown_type(d):
    t = const("w", np.ones(2, np.float32))
    t.data_type = 77
    return save(d, model([helper.make_node("Add", ["x", "w"], ["y"])],
                         [vi("x", F, [2])], [vi("y", F, [2])], [t]))


@case(r"'x'.*type|type.*'x'")
def input_without_type(d):
    m = relu_model()
    m.graph.input[0].ClearField("type")
    return save(d, m)


@case(r"" + N0 + r"|Cast.*'to'|'to'")
def cast_to_unknown_type(d):
    return save(d, one_node("Cast", [("x", F, [2])], F, out_shape=[2], to=99))


# --- dimensions and data sizes -------------------------------------------

@case(r"'x'.*(dimension|shape)|(dimension|shape).*'x'")
def negative_input_dim(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", F, [2, -5])], [vi("y", F, [2, -5])]))


@case(r"'x'.*(needs|limit)")
def huge_input(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["y"])],
                         [vi("x", F, [1000000, 1000000])], [vi("y", F, [1000000, 1000000])]))


@case(r"'x'.*(needs|limit)")
def overflowing_input_dims(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["y"])],
                         [vi("x", F, [2**40, 2**40, 2**40])], [vi("y", F, [2**40, 2**40, 2**40])]))


@case(r"'w'")
def initializer_huge_dims_no_data(d):
    t = bare_tensor("w", F, [1000000, 1000000])
    return save(d, model([helper.make_node("Add", ["x", "w"], ["h"]),
                          helper.make_node("ReduceSum", ["h"], ["y"], keepdims=0)],
                         [vi("x", F, [1])], [vi("y", F, [])], [t]))


@case(r"'w'", modern=True)
def initializer_negative_dim(d):
    t = const("w", np.ones(4, np.float32))
    t.dims[:] = [-4]
    return save(d, model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, [4])], [vi("y", F, [4])], [t]))


@case(r"'w'", modern=True)
def raw_data_too_short(d):
    t = const("w", np.ones((2, 3), np.float32))
    t.raw_data = t.raw_data[:10]
    return save(d, model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, [2, 3])], [vi("y", F, [2, 3])], [t]))


@case(r"'w'")
def raw_data_too_long(d):
    t = const("w", np.ones((2, 3), np.float32))
    t.raw_data = t.raw_data + b"\0" * 8
    return save(d, model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, [2, 3])], [vi("y", F, [2, 3])], [t]))


@case(r"'w'")
def float_data_count_mismatch(d):
    t = bare_tensor("w", F, [2, 3])
    t.float_data.extend([1.0, 2.0])
    return save(d, model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, [2, 3])], [vi("y", F, [2, 3])], [t]))


@case(r"\bw\b")
def int64_data_count_mismatch(d):
    t = bare_tensor("w", I64, [4])
    t.int64_data.extend([1, 2, 3])
    return save(d, model([helper.make_node("Reshape", ["x", "w"], ["y"])], [vi("x", F, [2, 3])], [vi("y", F, [6])], [t]))


@case(r"", ok=True)
def zero_size_input(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", F, [0, 3])], [vi("y", F, [0, 3])]))


@case(r"", ok=True)
def zero_size_initializer(d):
    return save(d, model([helper.make_node("Concat", ["x", "w"], ["y"], axis=0)],
                         [vi("x", F, [2, 3])], [vi("y", F, [2, 3])], [const("w", np.zeros((0, 3), np.float32))]))


@case(r"", ok=True)
def nan_inf_weights(d):
    w = np.array([[np.nan, np.inf, -np.inf], [1, 2, 3]], np.float32)
    return save(d, model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, [2, 3])], [vi("y", F, [2, 3])],
                         [const("w", w)]))


# --- graph structure ------------------------------------------------------

@case(r"'t'.*(defined|produced|twice|duplicate)|(defined|produced|twice|duplicate).*'t'", modern=True)
def duplicate_value_names(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["t"], name="a"),
                          helper.make_node("Neg", ["x"], ["t"], name="b"),
                          helper.make_node("Abs", ["t"], ["y"], name="c")],
                         [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"'w'")
def duplicate_initializer_names(d):
    return save(d, model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, [2])], [vi("y", F, [2])],
                         [const("w", np.ones(2, np.float32)), const("w", np.zeros(3, np.float32))]))


@case(r"cycle", modern=True)
def graph_cycle(d):
    return save(d, model([helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
                          helper.make_node("Relu", ["a"], ["b"], name="n2"),
                          helper.make_node("Abs", ["b"], ["y"], name="n3")],
                         [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"'ghost'", modern=True)
def undefined_value(d):
    return save(d, model([helper.make_node("Add", ["x", "ghost"], ["y"], name="n0")],
                         [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"'y'", modern=True)
def output_never_produced(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["z"])], [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"output")
def no_outputs(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["z"])], [vi("x", F, [2])], []))


@case(r"'w'")
def missing_initializer_for_input(d):
    # IR 3 lists initializers among the inputs; here `w` is listed but has
    # neither an initializer nor a shape.
    m = model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, [2]), vi("w", F, None)], [vi("y", F, [2])], ir=3)
    return save(d, m)


@case(r"op.*(type|empty)|''")
def empty_op_type(d):
    return save(d, model([helper.make_node("", ["x"], ["y"], name="n0")], [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"FrobnicateNd")
def unknown_op(d):
    return save(d, model([helper.make_node("FrobnicateNd", ["x"], ["y"], name="n0")], [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"com\.example|domain")
def unknown_domain(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["y"], name="n0", domain="com.example")],
                         [vi("x", F, [2])], [vi("y", F, [2])], domains=["com.example"]))


@case(r"" + N0 + r".*input|input.*" + N0 + r"|Add", modern=True)
def missing_required_input(d):
    return save(d, model([helper.make_node("Add", ["x"], ["y"], name="n0")], [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"" + N0 + r".*input|input.*" + N0 + r"|Relu", modern=True)
def too_many_inputs(d):
    return save(d, model([helper.make_node("Relu", ["x", "x", "x"], ["y"], name="n0")], [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"" + N0 + r".*output|output.*" + N0 + r"|Relu")
def too_many_outputs(d):
    return save(d, model([helper.make_node("Relu", ["x"], ["y", "z"], name="n0")], [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"axis|" + N0 + r"", modern=True)
def attribute_wrong_type_float(d):
    n = helper.make_node("Softmax", ["x"], ["y"], name="n0")
    n.attribute.append(helper.make_attribute("axis", 1.5))
    return save(d, model([n], [vi("x", F, [2, 3])], [vi("y", F, [2, 3])]))


@case(r"perm|" + N0 + r"")
def attribute_wrong_type_string(d):
    n = helper.make_node("Transpose", ["x"], ["y"], name="n0")
    n.attribute.append(helper.make_attribute("perm", "1,0"))
    return save(d, model([n], [vi("x", F, [2, 3])], [vi("y", F, [3, 2])]))


@case(r"body|branch|subgraph|attribute|" + N0 + r"")
def subgraph_where_none_belongs(d):
    sub = helper.make_graph([helper.make_node("Relu", ["a"], ["b"])], "sub", [vi("a", F, [2])], [vi("b", F, [2])])
    n = helper.make_node("Relu", ["x"], ["y"], name="n0")
    n.attribute.append(helper.make_attribute("body", sub))
    return save(d, model([n], [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"" + N0 + r"|then_branch|else_branch|If")
def if_without_branches(d):
    return save(d, model([helper.make_node("If", ["c"], ["y"], name="n0")],
                         [vi("c", TensorProto.BOOL, [])], [vi("y", F, [2])]))


# --- axes, shapes and attributes out of range -----------------------------

@case(r"" + N0 + r".*axis|axis.*" + N0 + r"", modern=True)
def softmax_axis_out_of_range(d):
    return save(d, one_node("Softmax", [("x", F, [2, 3])], F, out_shape=[2, 3], axis=5))


@case(r"" + N0 + r".*axis|axis.*" + N0 + r"")
def concat_axis_out_of_range(d):
    return save(d, one_node("Concat", [("x", F, [2, 3]), ("z", F, [2, 3])], F, out_shape=[4, 3], axis=-7))


@case(r"" + N0 + r".*axis|axis.*" + N0 + r"", modern=True)
def gather_axis_out_of_range(d):
    return save(d, one_node("Gather", [("x", F, [2, 3])], F, [const("i", np.array([0], np.int64))], out_shape=[1], axis=3))


@case(r"" + N0 + r".*axes|axes.*" + N0 + r"|axis")
def reduce_axes_out_of_range(d):
    return save(d, one_node("ReduceSum", [("x", F, [2, 3])], F, [const("a", np.array([4], np.int64))], out_shape=[2]))


@case(r"" + N0 + r".*axes|axes.*" + N0 + r"|axis")
def squeeze_non_unit_axis(d):
    return save(d, one_node("Squeeze", [("x", F, [2, 3])], F, [const("a", np.array([1], np.int64))], out_shape=[2]))


@case(r"" + N0 + r".*perm|perm.*" + N0 + r"", modern=True)
def transpose_duplicate_perm(d):
    return save(d, one_node("Transpose", [("x", F, [2, 3])], F, out_shape=[3, 2], perm=[0, 0]))


@case(r"" + N0 + r".*perm|perm.*" + N0 + r"", modern=True)
def transpose_perm_out_of_range(d):
    return save(d, one_node("Transpose", [("x", F, [2, 3])], F, out_shape=[3, 2], perm=[1, 5]))


@case(r"" + N0 + r".*(shape|elements|size)|(shape|elements|size).*" + N0 + r"", modern=True)
def reshape_size_mismatch(d):
    return save(d, one_node("Reshape", [("x", F, [2, 3])], F, [const("s", np.array([4, 2], np.int64))], out_shape=[4, 2]))


@case(r"" + N0 + r".*(-1|shape)|(-1|shape).*" + N0 + r"")
def reshape_two_inferred(d):
    return save(d, one_node("Reshape", [("x", F, [2, 3])], F, [const("s", np.array([-1, -1], np.int64))], out_shape=[6]))


@case(r"" + N0 + r".*(shape|elements|size|large)|(shape|elements|size|large).*" + N0 + r"")
def reshape_huge_target(d):
    return save(d, one_node("Reshape", [("x", F, [2, 3])], F, [const("s", np.array([2**40, 2**40], np.int64))], out_shape=[6]))


@case(r"" + N0 + r".*(step|steps)|(step|steps).*" + N0 + r"", modern=True)
def slice_step_zero(d):
    inits = [const("s", np.array([0], np.int64)), const("e", np.array([2], np.int64)),
             const("a", np.array([0], np.int64)), const("p", np.array([0], np.int64))]
    return save(d, one_node("Slice", [("x", F, [4])], F, inits, out_shape=[2]))


@case(r"" + N0 + r".*(split|sum|size)|(split|sum|size).*" + N0 + r"")
def split_sizes_wrong_sum(d):
    m = model([helper.make_node("Split", ["x", "s"], ["a", "b"], name="n0", axis=0)],
              [vi("x", F, [6])], [vi("a", F, [2]), vi("b", F, [2])], [const("s", np.array([2, 2], np.int64))])
    return save(d, m)


@case(r"" + N0 + r".*(pad|size)|(pad|size).*" + N0 + r"")
def pad_negative_beyond_size(d):
    return save(d, one_node("Pad", [("x", F, [2, 3])], F, [const("p", np.array([0, -5, 0, 0], np.int64))], out_shape=[2, 3]))


@case(r"" + N0 + r".*(shape|dimension|inner|broadcast|match)|(shape|dimension|inner|broadcast|match).*" + N0 + r"", modern=True)
def matmul_inner_mismatch(d):
    return save(d, one_node("MatMul", [("x", F, [2, 3]), ("z", F, [4, 5])], F, out_shape=[2, 5]))


@case(r"" + N0 + r".*(broadcast|shape)|(broadcast|shape).*" + N0 + r"", modern=True)
def add_not_broadcastable(d):
    return save(d, one_node("Add", [("x", F, [2, 3]), ("z", F, [4, 5])], F, out_shape=[2, 3]))


@case(r"" + N0 + r".*(rank|shape)|(rank|shape).*" + N0 + r"", modern=True)
def concat_rank_mismatch(d):
    return save(d, one_node("Concat", [("x", F, [2, 3]), ("z", F, [2, 3, 1])], F, out_shape=[4, 3], axis=0))


@case(r"" + N0 + r".*(kernel|input|window|size)|(kernel|input|window|size).*" + N0 + r"", modern=True)
def conv_kernel_larger_than_input(d):
    return save(d, one_node("Conv", [("x", F, [1, 1, 3, 3])], F, [const("w", np.ones((1, 1, 5, 5), np.float32))],
                            out_shape=[1, 1, 1, 1]))


@case(r"" + N0 + r".*(channel)|(channel).*" + N0 + r"", modern=True)
def conv_group_channel_mismatch(d):
    return save(d, one_node("Conv", [("x", F, [1, 3, 8, 8])], F, [const("w", np.ones((4, 3, 3, 3), np.float32))],
                            out_shape=[1, 4, 6, 6], group=2))


@case(r"" + N0 + r".*(kernel|window|input|size)|(kernel|window|input|size).*" + N0 + r"")
def maxpool_kernel_larger_than_input(d):
    return save(d, one_node("MaxPool", [("x", F, [1, 1, 3, 3])], F, out_shape=[1, 1, 1, 1], kernel_shape=[7, 7]))


@case(r"" + N0 + r".*(kernel|stride|dilation)|(kernel|stride|dilation).*" + N0 + r"", modern=True)
def maxpool_zero_stride(d):
    return save(d, one_node("MaxPool", [("x", F, [1, 1, 8, 8])], F, out_shape=[1, 1, 4, 4], kernel_shape=[2, 2],
                            strides=[0, 0]))


@case(r"" + N0 + r".*rank|rank.*" + N0 + r"", modern=True)
def conv_transpose_weight_rank_too_low(d):
    # libonnx's shape inference reads the weight's dims by the input's rank.
    return save(d, one_node("ConvTranspose", [("x", F, [1, 1, 3]), ("w", F, [1, 3])], F,
                            out_shape=[1, 2, 5]))


@case(r"" + N0 + r".*rank|rank.*" + N0 + r"", modern=True)
def conv_weight_rank_differs(d):
    return save(d, one_node("Conv", [("x", F, [1, 2, 5, 5]), ("w", F, [4, 2, 3])], F,
                            out_shape=[1, 4, 3, 3]))


@case(r"" + N0 + r".*kernel_shape|kernel_shape.*" + N0 + r"", modern=True)
def conv_kernel_shape_entries(d):
    return save(d, one_node("Conv", [("x", F, [1, 2, 5, 5]), ("w", F, [4, 2, 3, 3])], F,
                            out_shape=[1, 4, 3, 3], kernel_shape=[3, 3, 3]))


@case(r"" + N0 + r".*(scale|size)|(scale|size).*" + N0 + r"")
def resize_negative_scale(d):
    inits = [const("r", np.zeros(0, np.float32)), const("sc", np.array([1, 1, -2, 2], np.float32))]
    return save(d, one_node("Resize", [("x", F, [1, 1, 4, 4])], F, inits, out_shape=[1, 1, 8, 8]))


@case(r"" + N0 + r".*(k|K)|(k|K).*" + N0 + r"")
def topk_k_too_large(d):
    m = model([helper.make_node("TopK", ["x", "k"], ["v", "i"], name="n0")],
              [vi("x", F, [2, 3])], [vi("v", F, [2, 9]), vi("i", I64, [2, 9])], [const("k", np.array([9], np.int64))])
    return save(d, m)


@case(r"" + N0 + r".*(depth)|(depth).*" + N0 + r"")
def onehot_negative_depth(d):
    inits = [const("dp", np.array(-3, np.int64)), const("v", np.array([0, 1], np.float32))]
    return save(d, one_node("OneHot", [("x", I64, [3])], F, inits, out_shape=[3, 3]))


@case(r"" + N0 + r".*input 1 is missing", modern=True)
def mean_absent_input(d):
    m = model([helper.make_node("Mean", ["x", ""], ["y"], name="n0")],
              [vi("x", F, [2, 3])], [vi("y", F, [2, 3])])
    return save(d, m)


@case(r"" + N0 + r".*int32 or int64 indices", modern=True)
def gather_float_indices(d):
    idx = const("i", np.array([1.0, 0.0], np.float32))
    return save(d, one_node("Gather", [("x", F, [2, 3])], F, [idx], out_shape=[2, 3], axis=0))


@case(r"" + N0 + r".*index -4 .*range|range.*" + N0 + r"")
def gather_nd_constant_index_out_of_range(d):
    idx = const("i", np.array([[1, 2], [-4, 0]], np.int64))
    return save(d, one_node("GatherND", [("x", F, [3, 3])], F, [idx], out_shape=[2]))


@case(r"" + N0 + r".*index 5 .*range|range.*" + N0 + r"")
def gather_elements_constant_index_out_of_range(d):
    idx = const("i", np.array([[0, 5]], np.int64))
    return save(d, one_node("GatherElements", [("x", F, [2, 3])], F, [idx], out_shape=[1, 2], axis=1))


@case(r"" + N0 + r".*(index|indices|range)|(index|indices|range).*" + N0 + r"")
def gather_constant_index_out_of_range(d):
    return save(d, one_node("Gather", [("x", F, [2, 3])], F, [const("i", np.array([7], np.int64))], out_shape=[1, 3], axis=0))


# --- results too large to fold or allocate --------------------------------

@case(r"" + N0 + r".*(needs|limit)")
def constant_of_shape_huge(d):
    m = model([helper.make_node("ConstantOfShape", ["s"], ["c"], name="n0"),
               helper.make_node("ReduceSum", ["c"], ["y"], name="n1", keepdims=0)],
              [vi("x", F, [1])], [vi("y", F, [])], [const("s", np.array([1000000, 1000000], np.int64))])
    return save(d, m)


def nested_if(depth):
    """An If whose then branch is another If, `depth` deep, on a
    constant condition."""
    def leaf(level):
        return helper.make_graph([helper.make_node("Neg", ["x"], [f"e{level}"])], f"leaf{level}",
                                 [], [vi(f"e{level}", F, [2])])
    inner = helper.make_graph([helper.make_node("Neg", ["x"], ["o0"])], "g0", [],
                              [vi("o0", F, [2])])
    for level in range(1, depth + 1):
        node = helper.make_node("If", ["c"], [f"o{level}"], name=f"if{level}",
                                then_branch=inner, else_branch=leaf(level))
        inner = helper.make_graph([node], f"g{level}", [], [vi(f"o{level}", F, [2])])
    return model([helper.make_node("If", ["c"], ["y"], name="n0", then_branch=inner,
                                   else_branch=leaf(depth + 1))],
                 [vi("x", F, [2])], [vi("y", F, [2])], [const("c", np.array(True))])


@case(r"nested more than 16 deep")
def if_nested_too_deep(d):
    return save(d, nested_if(20))


@case(r"" + N0 + r".*If: the condition must be a compile-time constant")
def if_on_run_time_data(d):
    g = helper.make_graph([helper.make_node("Neg", ["x"], ["o"])], "b", [], [vi("o", F, [2])])
    return save(d, model([helper.make_node("If", ["c"], ["y"], name="n0", then_branch=g,
                                           else_branch=g)],
                         [vi("c", TensorProto.BOOL, []), vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"" + N0 + r".*Loop: runs more than")
def loop_unbounded(d):
    body = helper.make_graph(
        [helper.make_node("Neg", ["v_in"], ["v_out"]),
         helper.make_node("Identity", ["c_in"], ["c_out"])], "body",
        [vi("i", TensorProto.INT64, []), vi("c_in", TensorProto.BOOL, []), vi("v_in", F, [2])],
        [vi("c_out", TensorProto.BOOL, []), vi("v_out", F, [2])])
    return save(d, model([helper.make_node("Loop", ["", "", "x"], ["y"], name="n0", body=body)],
                         [vi("x", F, [2])], [vi("y", F, [2])]))


@case(r"" + N0 + r".*(LSTM: input W has shape|W)")
def lstm_wrong_weight_shape(d):
    inits = [const("W", np.zeros((1, 12, 3), np.float32)),
             const("R", np.zeros((1, 16, 4), np.float32))]
    m = model([helper.make_node("LSTM", ["x", "W", "R"], ["y"], name="n0", hidden_size=4)],
              [vi("x", F, [5, 2, 3])], [vi("y", F, [5, 1, 2, 4])], inits)
    return save(d, m)


def summed(op, x_shape, inits, elem=F, **attrs):
    """`op` (node n0) on input x and `inits`, summed to a scalar output, so
    that only n0's result is huge, not a declared graph output."""
    return model([helper.make_node(op, ["x"] + [t.name for t in inits], ["h"], name="n0", **attrs),
                  helper.make_node("ReduceSum", ["h"], ["y"], name="n1", keepdims=0)],
                 [vi("x", elem, x_shape)], [vi("y", elem, [])], inits)


@case(r"" + N0 + r".*(needs|limit)", modern=True)
def expand_huge(d):
    return save(d, summed("Expand", [1, 1], [const("s", np.array([1000000, 1000000], np.int64))]))


@case(r"" + N0 + r".*(needs|limit)")
def expand_constant_huge(d):
    # Expand of a constant: the kind of result constant folding would
    # materialize.
    m = model([helper.make_node("Expand", ["c", "s"], ["h"], name="n0"),
               helper.make_node("Add", ["h", "x"], ["z"], name="n1"),
               helper.make_node("ReduceSum", ["z"], ["y"], name="n2", keepdims=0)],
              [vi("x", F, [1])], [vi("y", F, [])],
              [const("c", np.ones((1, 1), np.float32)), const("s", np.array([10**6, 10**6], np.int64))])
    return save(d, m)


@case(r"" + N0 + r".*(needs|limit)")
def tile_huge(d):
    return save(d, summed("Tile", [2, 3], [const("r", np.array([10**7, 10**7], np.int64))]))


@case(r"" + N0 + r".*(needs|limit|elements)")
def range_huge(d):
    inits = [const("a", np.array(0, np.int64)), const("b", np.array(10**13, np.int64)), const("c", np.array(1, np.int64))]
    m = model([helper.make_node("Range", ["a", "b", "c"], ["h"], name="n0"),
               helper.make_node("ReduceSum", ["h"], ["y"], name="n1", keepdims=0)],
              [vi("x", F, [1])], [vi("y", I64, [])], inits)
    return save(d, m)


@case(r"" + N0 + r".*(needs|limit)")
def resize_huge(d):
    inits = [const("r", np.zeros(0, np.float32)), const("sc", np.array([1, 1, 1e6, 1e6], np.float32))]
    return save(d, summed("Resize", [1, 1, 4, 4], inits))


@case(r"'y'.*(needs|limit)")
def huge_output(d):
    return save(d, model([helper.make_node("Expand", ["x", "s"], ["y"], name="n0")],
                         [vi("x", F, [1, 1])], [vi("y", F, [10**6, 10**6])],
                         [const("s", np.array([10**6, 10**6], np.int64))]))


@case(r"" + N0 + r".*(needs|limit)", args=["--max-tensor-bytes=1024"])
def over_configured_limit(d):
    return save(d, summed("Expand", [1, 1], [const("s", np.array([32, 32], np.int64))]))


@case(r"" + N0 + r".*(delta|zero|step)|(delta|zero|step).*" + N0 + r"")
def range_zero_delta(d):
    inits = [const("a", np.array(0, np.int64)), const("b", np.array(10, np.int64)), const("c", np.array(0, np.int64))]
    m = model([helper.make_node("Range", ["a", "b", "c"], ["y"], name="n0")], [vi("x", F, [1])], [vi("y", I64, [10])], inits)
    return save(d, m)


@case(r"" + N0 + r"|\bv\b")
def constant_node_huge_dims(d):
    t = bare_tensor("v", F, [10**6, 10**6])
    m = model([helper.make_node("Constant", [], ["c"], name="n0", value=t),
               helper.make_node("Add", ["x", "c"], ["h"], name="n1"),
               helper.make_node("ReduceSum", ["h"], ["y"], name="n2", keepdims=0)], [vi("x", F, [1])], [vi("y", F, [])])
    return save(d, m)


# --- external data --------------------------------------------------------

def external_model(d, location, length=None, offset=None, shape=(4,)):
    t = bare_tensor("w", F, list(shape))
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return save(d, model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, list(shape))],
                         [vi("y", F, list(shape))], [t]))


@case(r"'w'.*(outside|escape|folder)|(outside|escape|folder).*'w'")
def external_data_dotdot(d):
    return external_model(d, "../outside.bin")


@case(r"'w'.*(outside|escape|folder|absolute)|(outside|escape|folder|absolute).*'w'")
def external_data_absolute(d):
    return external_model(d, "/etc/passwd")


@case(r"'w'.*(outside|escape|folder|link)|(outside|escape|folder|link).*'w'")
def external_data_symlink_escape(d):
    outside = tempfile.mkdtemp()
    with open(os.path.join(outside, "weights.bin"), "wb") as f:
        f.write(np.ones(4, np.float32).tobytes())
    os.symlink(os.path.join(outside, "weights.bin"), os.path.join(d, "weights.bin"))
    return external_model(d, "weights.bin")


@case(r"'w'")
def external_data_file_too_short(d):
    with open(os.path.join(d, "w.bin"), "wb") as f:
        f.write(b"\0" * 6)
    return external_model(d, "w.bin")


@case(r"'w'")
def external_data_offset_past_end(d):
    with open(os.path.join(d, "w.bin"), "wb") as f:
        f.write(b"\0" * 16)
    return external_model(d, "w.bin", offset=1 << 40)


@case(r"'w'")
def external_data_negative_offset(d):
    with open(os.path.join(d, "w.bin"), "wb") as f:
        f.write(b"\0" * 16)
    return external_model(d, "w.bin", offset=-8)


@case(r"'w'")
def external_data_length_mismatch(d):
    with open(os.path.join(d, "w.bin"), "wb") as f:
        f.write(b"\0" * 64)
    return external_model(d, "w.bin", length=12)


@case(r"'w'")
def external_data_missing_file(d):
    return external_model(d, "nowhere.bin")


@case(r"'w'")
def external_data_no_location(d):
    t = bare_tensor("w", F, [4])
    t.data_location = TensorProto.EXTERNAL
    return save(d, model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, [4])], [vi("y", F, [4])], [t]))


@case(r"'w'")
def external_data_is_a_folder(d):
    os.mkdir(os.path.join(d, "wdir"))
    return external_model(d, "wdir")


# --- running a case -------------------------------------------------------

BAD_MARKERS = ("Assertion", "Stack dump", "PLEASE submit", "LLVM ERROR", "terminate called",
               "Segmentation", "AddressSanitizer", "runtime error:")


def limit_memory(mib):
    """An address-space limit for the compile (0: none, as sanitizers
    reserve terabytes of address space)."""
    def apply():
        if mib:
            resource.setrlimit(resource.RLIMIT_AS, (mib << 20, mib << 20))
    return apply


def run_case(kilnc, folder, name, writer, pattern, ok, args, memory_mib, timeout):
    d = os.path.join(folder, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    path = writer(d)
    cmd = [kilnc, path, "--emit=llvm", "-o", os.devnull] + args
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout,
                           preexec_fn=limit_memory(memory_mib))
    except subprocess.TimeoutExpired:
        return f"hang (over {timeout} s)"
    err = p.stderr
    if p.returncode < 0:
        return f"killed by signal {-p.returncode}: {err.strip()[-400:]}"
    if any(m in err for m in BAD_MARKERS):
        return f"crash output: {err.strip()[-400:]}"
    if p.returncode == 0:
        return None if ok else "accepted (expected an error)"
    if p.returncode != 1:
        return f"exit status {p.returncode} (expected 1): {err.strip()[-400:]}"
    lines = [l for l in err.splitlines() if "error:" in l]
    if len(lines) != 1:
        return f"{len(lines)} error lines (expected 1): {err.strip()[-600:]}"
    if not re.search(pattern, lines[0]):
        return f"error does not name what is wrong (/{pattern}/): {lines[0]}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kilnc", required=True)
    ap.add_argument("--out", help="folder for the corpus (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the corpus folder")
    ap.add_argument("-k", dest="only", help="run the cases whose name contains this")
    ap.add_argument("--memory-mib", type=int, default=4096, help="address-space limit per compile")
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("-v", action="store_true", help="print every case's error line")
    opts = ap.parse_args()
    folder = opts.out or tempfile.mkdtemp(prefix="kiln-bad-models-")
    os.makedirs(folder, exist_ok=True)
    failures, ran = [], 0
    for name, writer, pattern, ok, args in CASES:
        if opts.only and opts.only not in name:
            continue
        ran += 1
        problem = run_case(opts.kilnc, folder, name, writer, pattern, ok, args, opts.memory_mib, opts.timeout)
        if problem:
            failures.append((name, problem))
            print(f"FAIL {name}: {problem}", flush=True)
        elif opts.v:
            print(f"ok   {name}", flush=True)
    if not opts.keep and not opts.out:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"malformed models: {ran} cases, {ran - len(failures)} clean errors, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
