"""kiln.compile / CompiledModel / kiln.load against onnxruntime and numpy."""
import os
import subprocess
import sys
import threading

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import kiln
from conftest import EXAMPLES, ROOT, build_fake_driver, has_cuda_gpu

TINY_CNN = os.path.join(EXAMPLES, "tiny_cnn.onnxtxt")
# float32 results against onnxruntime: different summation orders.
RTOL, ATOL = 1e-4, 1e-5


def tiny_cnn_proto():
    with open(TINY_CNN) as f:
        return onnx.parser.parse_model(f.read())


def reference(model_proto, feeds):
    sess = ort.InferenceSession(model_proto.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def make_model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


@pytest.fixture(scope="module")
def cnn():
    return kiln.compile(TINY_CNN)


def test_compile_from_path_bytes_and_proto_match_onnxruntime(rng):
    proto = tiny_cnn_proto()
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    (expected,) = reference(proto, {"image": x})
    for source in (TINY_CNN, proto, proto.SerializeToString()):
        model = kiln.compile(source)
        np.testing.assert_allclose(model(x), expected, rtol=RTOL, atol=ATOL)


def test_signature(cnn):
    (inp,) = cnn.inputs
    (out,) = cnn.outputs
    assert inp == ("image", (1, 3, 32, 32), np.dtype(np.float32))
    assert (out.name, out.shape, out.dtype) == ("probs", (1, 10), np.dtype(np.float32))
    assert inp.onnx_type == TensorProto.FLOAT
    assert cnn.target == "cpu"
    assert "image" in repr(cnn)


def test_run_onnxruntime_style(cnn, rng):
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    (expected,) = reference(tiny_cnn_proto(), {"image": x})
    (y,) = cnn.run(None, {"image": x})
    np.testing.assert_allclose(y, expected, rtol=RTOL, atol=ATOL)
    (y2,) = cnn.run(["probs"], {"image": x})
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize("layout", ["transposed", "strided", "fortran", "readonly"])
def test_inputs_of_any_layout(cnn, rng, layout):
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    if layout == "transposed":
        view = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    elif layout == "strided":
        big = np.zeros((1, 3, 32, 64), dtype=np.float32)
        big[..., ::2] = x
        view = big[..., ::2]
    elif layout == "fortran":
        view = np.asfortranarray(x)
    else:
        view = x.copy()
        view.setflags(write=False)
    assert np.array_equal(view, x)
    np.testing.assert_array_equal(cnn(view), cnn(x))


def test_contiguous_input_is_not_copied(cnn, rng):
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    assert cnn._prepare_input(cnn.inputs[0], x) is x
    strided = np.zeros((1, 3, 32, 64), dtype=np.float32)[..., ::2]
    assert cnn._prepare_input(cnn.inputs[0], strided).flags.c_contiguous


def test_bad_inputs(cnn, rng):
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    with pytest.raises(kiln.RuntimeError, match="expects dtype float32, got float64"):
        cnn(x.astype(np.float64))
    with pytest.raises(kiln.RuntimeError, match=r"expects shape \(1, 3, 32, 32\)"):
        cnn(x[:, :2])
    with pytest.raises(kiln.RuntimeError, match="takes 1 inputs"):
        cnn(x, x)
    with pytest.raises(kiln.RuntimeError, match="no model input named 'img'"):
        cnn.run(None, {"img": x})
    with pytest.raises(kiln.RuntimeError, match="no value for input 'image'"):
        cnn.run(None, {})
    with pytest.raises(kiln.RuntimeError, match="no model output named 'logits'"):
        cnn.run(["logits"], {"image": x})
    with pytest.raises(TypeError):
        cnn.run("probs", {"image": x})
    # kiln.RuntimeError is also a builtin RuntimeError.
    assert issubclass(kiln.RuntimeError, RuntimeError)


def test_ir_stages(cnn):
    assert "kiln.conv" in cnn.ir("kiln")
    assert "kiln.conv" in cnn.ir()
    linalg = cnn.ir("linalg")
    assert "linalg." in linalg and "kiln.conv" not in linalg
    assert "define void @kiln_model_entry" in cnn.ir("llvm")
    with pytest.raises(ValueError, match="target=\"cuda\""):
        cnn.ir("ptx")
    with pytest.raises(ValueError, match="unknown IR stage 'mlir'"):
        cnn.ir("mlir")
    fused = cnn.ir("fused")
    assert 'kiln.kernel "k0"' in fused
    assert "kiln.kernel" in linalg  # linalg ops are tagged with their kernel
    assert set(kiln.STAGES) == {"kiln", "fused", "linalg", "gpu", "ptx", "llvm"}


def test_save_and_load_without_compiler(cnn, rng, tmp_path):
    lib = tmp_path / "tiny_cnn.so"
    cnn.save(lib)
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    (expected,) = reference(tiny_cnn_proto(), {"image": x})
    np.save(tmp_path / "expected.npy", expected)
    # A fresh interpreter: kiln.load runs the library without importing the
    # compiler (kiln._kiln, libMLIR).
    script = f"""
import sys, numpy as np, kiln
m = kiln.load({str(lib)!r})
assert m.inputs[0].name == "image", m.inputs
y = m(np.load({str(tmp_path / 'x.npy')!r}))
np.testing.assert_allclose(y, np.load({str(tmp_path / 'expected.npy')!r}), rtol={RTOL}, atol={ATOL})
assert "kiln._kiln" not in sys.modules
maps = open("/proc/self/maps").read()
assert "libMLIR" not in maps, "the compiler library was loaded"
try:
    m.ir("kiln")
except kiln.RuntimeError:
    pass
else:
    raise AssertionError("ir() of a loaded model should fail")
m.save({str(tmp_path / 'copy.so')!r})
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert p.returncode == 0 and "ok" in p.stdout, p.stdout + p.stderr
    np.testing.assert_allclose(kiln.load(tmp_path / "copy.so")(x), expected,
                               rtol=RTOL, atol=ATOL)
    # A bare file name is in the working directory, as for open().
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        np.testing.assert_allclose(kiln.load("copy.so")(x), expected, rtol=RTOL, atol=ATOL)
    finally:
        os.chdir(cwd)


def test_load_errors(tmp_path):
    with pytest.raises(kiln.RuntimeError, match="no-such.so"):
        kiln.load(tmp_path / "no-such.so")
    not_a_model = tmp_path / "empty.so"
    not_a_model.write_bytes(b"\x7fELF not really")
    with pytest.raises(kiln.RuntimeError):
        kiln.load(not_a_model)


def test_compile_errors(tmp_path):
    with pytest.raises(kiln.CompileError, match="<bytes>"):
        kiln.compile(b"\x08\x07garbage")
    with pytest.raises(kiln.CompileError, match="missing.onnx"):
        kiln.compile(tmp_path / "missing.onnx")
    with pytest.raises(TypeError, match="path, bytes or an onnx.ModelProto"):
        kiln.compile(42)
    with pytest.raises(ValueError, match="unknown target 'tpu'"):
        kiln.compile(TINY_CNN, target="tpu")
    with pytest.raises(ValueError, match="unsupported gpu_arch 'sm_70'"):
        kiln.compile(TINY_CNN, target="cuda", gpu_arch="sm_70")
    with pytest.raises(ValueError, match="gpu_arch applies"):
        kiln.compile(TINY_CNN, gpu_arch="sm_80")
    with pytest.raises(TypeError, match="unknown options: opt_level"):
        kiln.compile(TINY_CNN, opt_level=3)


def test_error_names_the_node():
    # Conv weight with 4 input channels on a 3-channel input.
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 4, 3, 3], [0.5] * 72)
    model = make_model(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv1")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 6, 6])], [w])
    with pytest.raises(kiln.CompileError) as info:
        kiln.compile(model)
    assert not isinstance(info.value, kiln.UnsupportedOpError)
    assert "node 'conv1'" in str(info.value)


def test_unsupported_ops():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["a"], name="r"),
         helper.make_node("Det", ["a"], ["b"], name="det1"),
         helper.make_node("Custom", ["b"], ["y"], name="c", domain="my.domain")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 3])])
    model.opset_import.append(helper.make_opsetid("my.domain", 1))
    with pytest.raises(kiln.UnsupportedOpError) as info:
        kiln.compile(model)
    assert info.value.ops == ["Det", "my.domain.Custom"]
    assert "first at node 'det1'" in str(info.value)
    assert isinstance(info.value, kiln.CompileError)


def test_input_shapes_pin_symbolic_dims(rng):
    model = make_model([helper.make_node("Relu", ["x"], ["y"])],
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    # Unpinned, the model compiles per input shape (test_dynamic_shapes.py).
    dynamic = kiln.compile(model)
    assert isinstance(dynamic, kiln.DynamicModel)
    x = rng.standard_normal((5, 4), dtype=np.float32)
    np.testing.assert_array_equal(dynamic(x), np.maximum(x, 0))
    relu = kiln.compile(model, input_shapes={"x": (3, 4)})
    assert relu.inputs[0].shape == (3, 4)
    x = rng.standard_normal((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(relu(x), np.maximum(x, 0))
    with pytest.raises(ValueError, match="sequence of integers"):
        kiln.compile(model, input_shapes={"x": "3x4"})
    with pytest.raises(ValueError, match="negative"):
        kiln.compile(model, input_shapes={"x": (-1, 4)})


def test_frozen_inputs(rng):
    model = make_model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4]),
                        helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 6])])
    with pytest.raises(kiln.CompileError, match="compile-time constant"):
        kiln.compile(model)
    m = kiln.compile(model, frozen_inputs={"shape": np.array([2, 6], dtype=np.int64)})
    assert [t.name for t in m.inputs] == ["x"]
    x = rng.standard_normal((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(m(x), x.reshape(2, 6))


def test_integer_and_bool_dtypes(rng):
    model = make_model(
        [helper.make_node("Add", ["a", "b"], ["s"]),
         helper.make_node("Greater", ["a", "b"], ["g"]),
         helper.make_node("And", ["g", "m"], ["y"])],
        [helper.make_tensor_value_info("a", TensorProto.INT64, [5, 7]),
         helper.make_tensor_value_info("b", TensorProto.INT64, [5, 7]),
         helper.make_tensor_value_info("m", TensorProto.BOOL, [5, 7])],
        [helper.make_tensor_value_info("s", TensorProto.INT64, [5, 7]),
         helper.make_tensor_value_info("y", TensorProto.BOOL, [5, 7])])
    m = kiln.compile(model)
    a = rng.integers(-1000, 1000, (5, 7))
    b = rng.integers(-1000, 1000, (5, 7))
    mask = rng.random((5, 7)) < 0.5
    s, y = m(a, b, mask)
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(y, (a > b) & mask)
    assert [t.dtype for t in m.outputs] == [np.dtype(np.int64), np.dtype(np.bool_)]


def test_threads_setting():
    old = kiln.get_num_threads()
    try:
        kiln.set_num_threads(2)
        assert kiln.get_num_threads() == 2
    finally:
        kiln.set_num_threads(old)
    with pytest.raises(ValueError, match="positive"):
        kiln.set_num_threads(0)


def test_one_model_from_many_threads(cnn, rng):
    xs = [rng.standard_normal((1, 3, 32, 32), dtype=np.float32) for _ in range(8)]
    expected = [cnn(x) for x in xs]
    results = [None] * len(xs)
    errors = []
    start = threading.Barrier(len(xs))

    def work(i):
        try:
            start.wait()
            for _ in range(5):
                y = cnn(xs[i])
                np.testing.assert_array_equal(y, expected[i])
            results[i] = y
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert all(r is not None for r in results)


def test_compiles_in_parallel_and_releases_the_gil(rng):
    proto = tiny_cnn_proto()
    models, errors = [None] * 3, []

    def work(i):
        try:
            models[i] = kiln.compile(proto)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    # The GIL is free while the compilers work: this thread keeps running.
    ticks = 0
    while any(t.is_alive() for t in threads):
        ticks += 1
        threading.Event().wait(0.001)
    for t in threads:
        t.join()
    assert not errors, errors
    assert ticks > 50, f"the main thread ran only {ticks} times during three compilations"
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    (expected,) = reference(proto, {"image": x})
    for m in models:
        np.testing.assert_allclose(m(x), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("order", ["onnx-first", "kiln-first"])
def test_onnx_and_kiln_in_one_process(order):
    imports = "import onnx, kiln" if order == "onnx-first" else "import kiln, onnx"
    script = f"""
{imports}
import numpy as np
with open({TINY_CNN!r}) as f:
    proto = onnx.parser.parse_model(f.read())
onnx.checker.check_model(proto)
m = kiln.compile(proto)
y = m(np.ones((1, 3, 32, 32), np.float32))
assert y.shape == (1, 10) and abs(float(y.sum()) - 1) < 1e-4  # softmax
onnx.checker.check_model(onnx.load_from_string(proto.SerializeToString()))
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert p.returncode == 0 and "ok" in p.stdout, p.stdout + p.stderr


def test_cuda_target_compiles_kernels(rng):
    m = kiln.compile(TINY_CNN, target="cuda", gpu_arch="sm_90")
    assert m.target == "cuda"
    assert "gpu.module" in m.ir("gpu") and "gpu.launch_func" in m.ir("gpu")
    ptx = m.ir("ptx")
    assert ".target sm_90" in ptx and ".entry" in ptx
    with pytest.raises(ValueError, match="target=\"cpu\""):
        m.ir("llvm")
    with pytest.raises(kiln.RuntimeError, match="cannot write '/nonexistent/model.so'"):
        m.save("/nonexistent/model.so")


@pytest.mark.skipif(has_cuda_gpu(), reason="checks the errors on a machine without a GPU")
def test_cuda_model_without_a_gpu(rng, tmp_path):
    m = kiln.compile(TINY_CNN, target="cuda")
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    with pytest.raises(kiln.RuntimeError, match="cannot run here: .*CUDA"):
        m(x)
    # The library is written all the same; loading it needs the GPU.
    m.save(tmp_path / "cnn_cuda.so")
    with pytest.raises(kiln.RuntimeError, match="cnn_cuda.so.*CUDA"):
        kiln.load(tmp_path / "cnn_cuda.so")


def test_cuda_model_on_a_stand_in_driver(tmp_path):
    # test/Runtime/fake_libcuda.c: device memory is host memory and copies
    # really copy, kernels do not run but every launch is checked against
    # its PTX. A model of copies only gives exact results through it.
    fake = build_fake_driver(tmp_path / "fake_libcuda.so")
    concat = os.path.join(ROOT, "test", "Runtime", "Inputs", "concat_copy.onnxtxt")
    script = f"""
import numpy as np, kiln
m = kiln.compile({concat!r}, target="cuda")
rng = np.random.default_rng(1)
a = rng.standard_normal((2, 3, 4), dtype=np.float32)
b = rng.standard_normal((2, 5, 4), dtype=np.float32)
y, z = m(a, b)
np.testing.assert_array_equal(y, np.concatenate([a, b], axis=1))
np.testing.assert_array_equal(z, b)
m.save({str(tmp_path / 'concat.so')!r})
loaded = kiln.load({str(tmp_path / 'concat.so')!r})
assert loaded.target == "cuda"
np.testing.assert_array_equal(loaded(a, b)[0], y)
# Every kernel of the example network is launched with valid parameters.
cnn = kiln.compile({TINY_CNN!r}, target="cuda")
cnn(rng.standard_normal((1, 3, 32, 32), dtype=np.float32))
print("ok")
"""
    env = dict(os.environ, KILN_CUDA_DRIVER=str(fake))
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and "ok" in p.stdout, p.stdout + p.stderr


def test_cuda_emulation_matches_onnxruntime(rng):
    m = kiln.compile(TINY_CNN, target="cuda", emulate=True)
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    (expected,) = reference(tiny_cnn_proto(), {"image": x})
    np.testing.assert_allclose(m(x), expected, rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="emulate=True applies"):
        kiln.compile(TINY_CNN, emulate=True)


@pytest.mark.skipif(not has_cuda_gpu(), reason="no CUDA GPU on this machine")
def test_cuda_runs_on_the_gpu(rng):
    m = kiln.compile(TINY_CNN, target="cuda")
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    (expected,) = reference(tiny_cnn_proto(), {"image": x})
    np.testing.assert_allclose(m(x), expected, rtol=1e-3, atol=1e-4)


def test_device_tensors_are_refused_with_a_clear_error(cnn):
    class FakeCudaTensor:
        """Looks like a DLPack tensor on a CUDA device (kDLCUDA = 2)."""

        def __dlpack_device__(self):
            return (2, 0)

        def __dlpack__(self, **kwargs):
            raise BufferError("this tensor lives on a CUDA device")

    # A CPU model takes host memory only; the message names the way out.
    with pytest.raises(kiln.RuntimeError,
                       match="input 'image' is on CUDA device 0, but this model runs on the CPU"):
        cnn(FakeCudaTensor())


def test_runtime_checks_buffer_sizes(cnn):
    # The binding checks sizes itself, below the package's dtype/shape checks.
    with pytest.raises(kiln.RuntimeError, match="needs a dense buffer of 12288 bytes"):
        cnn._runner.run([np.zeros(3, np.float32)], [np.empty((1, 10), np.float32)])
    with pytest.raises(kiln.RuntimeError, match="takes 1 inputs and 1 outputs"):
        cnn._runner.run([], [])


def test_backend_interface(rng):
    import kiln.backend as kb

    assert kb.supports_device("CPU") and not kb.supports_device("CUDA")
    with pytest.raises(ValueError, match="runs on the CPU"):
        kb.prepare(tiny_cnn_proto(), "CUDA")
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    (expected,) = reference(tiny_cnn_proto(), {"image": x})
    (y,) = kb.run_model(tiny_cnn_proto(), [x])
    np.testing.assert_allclose(y, expected, rtol=RTOL, atol=ATOL)
    # Reshape's shape as a graph input: compiled at run, with it frozen.
    model = make_model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4]),
                        helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 6])])
    rep = kb.prepare(model)
    a = rng.standard_normal((3, 4), dtype=np.float32)
    (out,) = rep.run([a, np.array([2, 6], dtype=np.int64)])
    np.testing.assert_array_equal(out, a.reshape(2, 6))
    b = rng.standard_normal((3, 4), dtype=np.float32)
    (out,) = rep.run({"x": b, "shape": np.array([2, 6], dtype=np.int64)})
    np.testing.assert_array_equal(out, b.reshape(2, 6))
    with pytest.raises(kiln.UnsupportedOpError):
        kb.prepare(make_model([helper.make_node("Det", ["x"], ["y"])],
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])]))
    with pytest.raises(NotImplementedError):
        kb.run_node(helper.make_node("Relu", ["x"], ["y"]), [a])


def test_fusion_report(cnn):
    report = cnn.fusion_report()
    kernels = report["kernels"]
    # One entry per kiln.kernel group of the fused IR.
    assert len(kernels) == cnn.ir("fused").count("kiln.kernel \"")
    assert {"name", "kind", "nodes", "ops", "flops", "bytes"} <= set(kernels[0])
    nodes = [n for k in kernels for n in k["nodes"]]
    assert len(nodes) == len(set(nodes)), "a node in two kernels"
    # tiny_cnn: Conv, BatchNormalization and Relu form the first kernel.
    assert [n.split("#")[0] for n in kernels[0]["nodes"]] == [
        "Conv", "BatchNormalization", "Relu"]
    assert any(n.startswith("Softmax") for n in nodes)


def test_cuda_precision_and_strategies(rng):
    # The GPU strategy of every kernel is in the fusion report; fp16 rounds
    # the contraction operands (emulated here), within fp16's tolerance.
    m = kiln.compile(TINY_CNN, target="cuda", precision="fp16", emulate=True)
    kernels = m.fusion_report()["kernels"]
    assert all(k["gpu_strategies"] for k in kernels)
    assert "kind = tiled_contraction" in " ".join(kernels[0]["gpu_strategies"])
    assert "precision = fp16" in " ".join(kernels[0]["gpu_strategies"])
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    (expected,) = reference(tiny_cnn_proto(), {"image": x})
    np.testing.assert_allclose(m(x), expected, rtol=2e-2, atol=2e-3)
    assert "gpu_strategies" not in kiln.compile(TINY_CNN).fusion_report()["kernels"][0]
    with pytest.raises(ValueError, match="precision applies"):
        kiln.compile(TINY_CNN, precision="fp16")
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        kiln.compile(TINY_CNN, target="cuda", precision="fp8")


def test_without_fusion(rng):
    model = kiln.compile(TINY_CNN, fusion=False)
    x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
    (expected,) = reference(tiny_cnn_proto(), {"image": x})
    np.testing.assert_allclose(model(x), expected, rtol=RTOL, atol=ATOL)
    assert "kiln.kernel" not in model.ir("linalg")
    with pytest.raises(kiln.RuntimeError, match="fusion=False"):
        model.ir("fused")
    with pytest.raises(kiln.RuntimeError, match="fusion=False"):
        model.fusion_report()


REPEATED_OUTPUTS = """
<
  ir_version: 8,
  opset_import: ["" : 17]
>
repeated (float[2,3] x) => (float[2,3] a, float[2,3] b, float[2,3] c, float[2,3] d) {
  a = Relu(x)
  b = Identity(a)
  c = Identity(x)
  d = Identity(x)
}
"""


@pytest.mark.parametrize("opts", [dict(target="cpu"), dict(target="cuda", emulate=True)],
                         ids=["cpu", "emulation"])
def test_one_tensor_as_several_outputs(opts, rng, tmp_path):
    # b repeats a, d repeats c (an input passed through): each output gets
    # its own buffer with the same values.
    path = tmp_path / "repeated.onnxtxt"
    path.write_text(REPEATED_OUTPUTS)
    m = kiln.compile(str(path), **opts)
    assert [o.name for o in m.outputs] == ["a", "b", "c", "d"]
    x = rng.standard_normal((2, 3), dtype=np.float32)
    a, b, c, d = m(x)
    np.testing.assert_array_equal(a, np.maximum(x, 0))
    np.testing.assert_array_equal(b, a)
    np.testing.assert_array_equal(c, x)
    np.testing.assert_array_equal(d, x)
    if opts["target"] == "cpu":
        m.save(tmp_path / "repeated.so")
        for got, want in zip(kiln.load(tmp_path / "repeated.so")(x), (a, b, c, d)):
            np.testing.assert_array_equal(got, want)


def test_one_tensor_as_several_outputs_on_a_stand_in_driver(tmp_path):
    # The stand-in driver copies for real (kernels do not run): the
    # passed-through input and its repeat arrive in both outputs.
    fake = build_fake_driver(tmp_path / "fake_libcuda.so")
    path = tmp_path / "repeated.onnxtxt"
    path.write_text(REPEATED_OUTPUTS)
    script = f"""
import numpy as np, kiln
m = kiln.compile({str(path)!r}, target="cuda")
x = np.arange(6, dtype=np.float32).reshape(2, 3)
for _ in range(2):
    a, b, c, d = m(x)
    np.testing.assert_array_equal(c, x)
    np.testing.assert_array_equal(d, x)
print("ok")
"""
    env = dict(os.environ, KILN_CUDA_DRIVER=str(fake))
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and "ok" in p.stdout, p.stdout + p.stderr
