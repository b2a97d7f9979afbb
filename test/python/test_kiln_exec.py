"""kiln-exec (tools/kiln-exec/kiln_exec.py), the runtime-only runner: its
own TensorProto reader against onnx's, and runs of compiled libraries
through libkiln_runtime alone (CPU libraries; CUDA ones on the stand-in
driver)."""
import os
import subprocess
import sys

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import EXAMPLES, ROOT, build_fake_driver

sys.path.insert(0, os.path.join(ROOT, "tools", "kiln-exec"))
import kiln_exec  # noqa: E402

BUILD = os.environ.get("KILN_BUILD", os.path.join(ROOT, "build"))
KILNC = os.path.join(BUILD, "bin", "kilnc")
RUNTIME = os.path.join(BUILD, "lib", "libkiln_runtime.so")
EXEC = os.path.join(ROOT, "tools", "kiln-exec", "kiln_exec.py")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int8, np.uint8,
                                   np.int16, np.uint16, np.int32, np.int64, np.uint32,
                                   np.uint64, np.bool_])
def test_raw_tensors_match_onnx(rng, dtype):
    shape = (3, 1, 5)
    if dtype == np.bool_:
        a = rng.integers(0, 2, shape).astype(dtype)
    elif np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        a = rng.integers(max(info.min, -1000), min(info.max, 1000), shape).astype(dtype)
    else:
        a = rng.standard_normal(shape).astype(dtype)
    data = numpy_helper.from_array(a, "t").SerializeToString()
    name, got = kiln_exec.read_tensor_proto(data)
    assert name == "t" and got.dtype == a.dtype and got.shape == a.shape
    np.testing.assert_array_equal(got, a)


@pytest.mark.parametrize("elem,values", [
    (TensorProto.FLOAT, [1.5, -2.25, 3.0e-8, 7.0, 0.0, -1.0]),
    (TensorProto.DOUBLE, [1.5, -2.25, 3.0e-300, 7.0, 0.0, -1.0]),
    (TensorProto.INT32, [1, -2, 2**31 - 1, -2**31, 0, 5]),
    (TensorProto.INT64, [1, -2, 2**63 - 1, -2**63, 0, 5]),
    (TensorProto.INT8, [1, -2, 127, -128, 0, 5]),
    (TensorProto.UINT64, [1, 2, 2**64 - 1, 0, 3, 5]),
    (TensorProto.BOOL, [1, 0, 1, 1, 0, 0]),
])
def test_typed_fields_match_onnx(elem, values):
    # The *_data fields (not raw_data), as hand-written test data uses them.
    t = helper.make_tensor("v", elem, [2, 3], values, raw=False)
    want = numpy_helper.to_array(t)
    _, got = kiln_exec.read_tensor_proto(t.SerializeToString())
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_float16_in_int32_data():
    a = np.array([[0.5, -3.25], [65504.0, 1e-4]], dtype=np.float16)
    t = TensorProto(name="h", data_type=TensorProto.FLOAT16, dims=list(a.shape),
                    int32_data=a.view(np.uint16).ravel().tolist())  # bit patterns, as ONNX stores them
    np.testing.assert_array_equal(numpy_helper.to_array(t), a)
    _, got = kiln_exec.read_tensor_proto(t.SerializeToString())
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, a)


def test_bad_tensor_files_are_errors():
    good = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3)).SerializeToString()
    for bad in (good[:-3], b"\x0a\xff", b"\x0f"):
        with pytest.raises(kiln_exec.KilnError):
            kiln_exec.read_tensor_proto(bad)
    wrong_count = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4],
                              float_data=[1.0, 2.0])
    with pytest.raises(kiln_exec.KilnError, match="2 values for shape"):
        kiln_exec.read_tensor_proto(wrong_count.SerializeToString())


def compile_model(tmp_path, target):
    lib = tmp_path / f"tiny_cnn.{target}.so"
    p = subprocess.run([KILNC, os.path.join(EXAMPLES, "tiny_cnn.onnxtxt"), f"--target={target}",
                        "-o", str(lib)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return str(lib)


def reference(tmp_path):
    """onnxruntime's output on a seeded input, as a test_data_set folder."""
    data = tmp_path / "data"
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, "make_reference.py"),
                        os.path.join(EXAMPLES, "tiny_cnn.onnxtxt"), str(data)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return str(data)


@pytest.mark.skipif(not os.path.exists(KILNC), reason="Kiln is not built in build/")
def test_cli_checks_cpu_library_against_onnxruntime(tmp_path):
    lib, data = compile_model(tmp_path, "cpu"), reference(tmp_path)
    p = subprocess.run([sys.executable, EXEC, lib, "--runtime", RUNTIME, "--test-data", data,
                        "--bench", "3", "--json", str(tmp_path / "r.json")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "output 'probs': OK" in p.stdout and "latency over 3 runs" in p.stdout
    # The same library xz-compressed, as the GPU bundle stores libraries.
    import lzma
    with open(lib, "rb") as src, lzma.open(lib + ".xz", "wb") as dst:
        dst.write(src.read())
    p = subprocess.run([sys.executable, EXEC, lib + ".xz", "--runtime", RUNTIME,
                        "--test-data", data], capture_output=True, text=True)
    assert p.returncode == 0 and "output 'probs': OK" in p.stdout, p.stdout + p.stderr
    # A wrong reference is a mismatch and exit 1, not a pass.
    out = os.path.join(data, "output_0.pb")
    _, want = kiln_exec.read_tensor(out)
    with open(out, "wb") as f:
        f.write(numpy_helper.from_array(want[:, ::-1].copy(), "probs").SerializeToString())
    p = subprocess.run([sys.executable, EXEC, lib, "--runtime", RUNTIME, "--test-data", data],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "MISMATCH" in p.stdout


@pytest.mark.skipif(not os.path.exists(KILNC), reason="Kiln is not built in build/")
def test_errors_are_one_line(tmp_path):
    p = subprocess.run([sys.executable, EXEC, str(tmp_path / "missing.so"), "--runtime", RUNTIME],
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert p.stderr.startswith("kiln-exec: error: cannot load model") and "Traceback" not in p.stderr
    lib = compile_model(tmp_path, "cpu")
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((2, 2), np.float32))
    p = subprocess.run([sys.executable, EXEC, lib, "--runtime", RUNTIME, "--input", f"image={bad}"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "must be float32[1, 3, 32, 32], got float32[2, 2]" in p.stderr


@pytest.mark.skipif(not os.path.exists(KILNC), reason="Kiln is not built in build/")
def test_cuda_library_on_the_stand_in_driver(tmp_path, monkeypatch):
    driver = build_fake_driver(tmp_path / "fake_libcuda.so")
    lib = compile_model(tmp_path, "cuda")
    # The runtime reads KILN_CUDA_DRIVER when it first loads a CUDA model.
    p = subprocess.run([sys.executable, EXEC, lib, "--runtime", RUNTIME, "--random-inputs",
                        "--bench", "2", "--cuda-graph"], capture_output=True, text=True,
                       env=dict(os.environ, KILN_CUDA_DRIVER=driver))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "latency over 2 runs" in p.stdout
