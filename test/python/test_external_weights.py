"""Weights that live in files: a model's external data (model.onnx.data) is
read where it is mapped, and a compiled library keeps its weights in a file
beside it (kilnc --weights=file; by default from 1 GiB of weights on), up
to a model over 2 GiB, which no single library could address."""
import os
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import kiln
from conftest import ROOT

BUILD = os.environ.get("KILN_BUILD", os.path.join(ROOT, "build"))
KILNC = os.path.join(BUILD, "bin", "kilnc")
KILN_RUN = os.path.join(BUILD, "bin", "kiln-run")


def _run(*args):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=900)


def _mlp(rng, hidden=2048):
    """X[2,256] -> MatMul W1 -> Add b -> Relu -> MatMul W2 -> Y[2,64]; W1 is
    2 MiB, above the size the importer copies into the model."""
    w1 = rng.standard_normal((256, hidden)).astype(np.float32)
    b = rng.standard_normal(hidden).astype(np.float32)
    w2 = rng.standard_normal((hidden, 64)).astype(np.float32) / 16
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W1"], ["h"]),
         helper.make_node("Add", ["h", "b"], ["hb"]),
         helper.make_node("Relu", ["hb"], ["r"]),
         helper.make_node("MatMul", ["r", "W2"], ["Y"])],
        "mlp",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 256])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 64])],
        [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(b, "b"),
         numpy_helper.from_array(w2, "W2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, (w1, b, w2)


def _reference(x, weights):
    w1, b, w2 = weights
    return np.maximum(x @ w1 + b, 0) @ w2


def _save_external(model, folder):
    path = os.path.join(folder, "model.onnx")
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=1024)
    return path


def test_external_data_runs_from_its_mapping(tmp_path, rng):
    model, weights = _mlp(rng)
    path = _save_external(model, str(tmp_path))
    assert os.path.getsize(path) < 4096  # the weights are all in model.onnx.data
    x = rng.standard_normal((2, 256)).astype(np.float32)
    got = kiln.compile(path)(x)
    np.testing.assert_allclose(got, _reference(x, weights), rtol=1e-4, atol=1e-4)


def test_external_data_at_unaligned_offsets(tmp_path, rng):
    """Offsets that are no multiple of the element size: such a tensor is
    copied out of the mapping instead of read in place."""
    model, weights = _mlp(rng)
    blob = bytearray()
    for t in model.graph.initializer:
        blob += b"\x00" * 3  # every tensor starts 3 bytes after the last one
        offset = len(blob)
        blob += t.raw_data
        length = len(t.raw_data)
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "w.bin"), ("offset", str(offset)),
                           ("length", str(length))):
            e = t.external_data.add()
            e.key, e.value = key, value
    (tmp_path / "w.bin").write_bytes(bytes(blob))
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    x = rng.standard_normal((2, 256)).astype(np.float32)
    got = kiln.compile(str(path))(x)
    np.testing.assert_allclose(got, _reference(x, weights), rtol=1e-4, atol=1e-4)


def test_external_data_shorter_than_its_shape(tmp_path, rng):
    model, _ = _mlp(rng)
    path = _save_external(model, str(tmp_path))
    data = tmp_path / "model.onnx.data"
    data.write_bytes(data.read_bytes()[: 1 << 20])
    with pytest.raises(kiln.CompileError, match="offset/length exceed 'model.onnx.data'"):
        kiln.compile(path)


def test_library_with_a_weights_file(tmp_path, rng):
    model, weights = _mlp(rng)
    source = _save_external(model, str(tmp_path))
    lib = tmp_path / "out" / "mlp.so"
    lib.parent.mkdir()
    p = _run(KILNC, source, "--weights=file", "-o", lib)
    assert p.returncode == 0, p.stderr
    side = tmp_path / "out" / "mlp.so.weights"
    assert side.exists()
    weight_bytes = sum(w.nbytes for w in weights)
    # The file holds the weights (packed or not), the library only code.
    assert side.stat().st_size >= weight_bytes * 0.9
    assert lib.stat().st_size < weight_bytes / 4
    assert side.read_bytes()[:8] == b"KILNWTS1"
    x = rng.standard_normal((2, 256)).astype(np.float32)
    want = _reference(x, weights)
    np.testing.assert_allclose(kiln.load(lib)(x), want, rtol=1e-4, atol=1e-4)
    # The pair moves together: the file is found beside the library.
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(lib, moved / "m.so")
    shutil.copy(side, moved / "mlp.so.weights")
    np.testing.assert_allclose(kiln.load(moved / "m.so")(x), want, rtol=1e-4, atol=1e-4)
    # A loaded library saved elsewhere takes its weights file along (under
    # the name the library records); saved beside itself, it shares it.
    saved = tmp_path / "saved"
    saved.mkdir()
    kiln.load(moved / "m.so").save(saved / "copy.so")
    assert (saved / "mlp.so.weights").read_bytes() == side.read_bytes()
    np.testing.assert_allclose(kiln.load(saved / "copy.so")(x), want, rtol=1e-4, atol=1e-4)
    kiln.load(saved / "copy.so").save(saved / "again.so")
    np.testing.assert_allclose(kiln.load(saved / "again.so")(x), want, rtol=1e-4, atol=1e-4)
    assert sorted(os.listdir(saved)) == ["again.so", "copy.so", "mlp.so.weights"]
    # Two loads of one library share its mapping; freeing one keeps the
    # other's weights.
    a, b = kiln.load(lib), kiln.load(lib)
    del a
    np.testing.assert_allclose(b(x), want, rtol=1e-4, atol=1e-4)


def test_weights_file_errors(tmp_path, rng):
    model, _ = _mlp(rng)
    source = _save_external(model, str(tmp_path))
    libs = []
    for name in ("a.so", "b.so"):
        p = _run(KILNC, source, "--weights=file", "-o", tmp_path / name)
        assert p.returncode == 0, p.stderr
        libs.append(tmp_path / name)
    a_weights = tmp_path / "a.so.weights"
    kept = a_weights.read_bytes()

    a_weights.unlink()
    with pytest.raises(kiln.RuntimeError, match=r"cannot open its weights file .*a\.so\.weights"):
        kiln.load(libs[0])
    # The other compilation's file has the same size but not the same tag.
    shutil.copy(tmp_path / "b.so.weights", a_weights)
    with pytest.raises(kiln.RuntimeError, match="was not written with this library"):
        kiln.load(libs[0])
    a_weights.write_bytes(kept[:-100])
    with pytest.raises(kiln.RuntimeError, match=f"has {len(kept) - 100} bytes, the library "
                                                f"expects {len(kept)}"):
        kiln.load(libs[0])
    a_weights.write_bytes(kept)
    kiln.load(libs[0])

    p = _run(KILNC, source, "--weights=somewhere", "-o", tmp_path / "c.so")
    assert p.returncode != 0 and "weights placement" in p.stderr and "auto, embed, file" in p.stderr
    p = _run(KILNC, source, "--weights=file", "--emit=llvm", "-o", "-")
    assert p.returncode != 0 and "--weights=file needs" in p.stderr


def test_embedded_weights_leave_no_file(tmp_path, rng):
    model, weights = _mlp(rng)
    source = _save_external(model, str(tmp_path))
    lib = tmp_path / "m.so"
    stale = tmp_path / "m.so.weights"
    stale.write_bytes(b"an earlier compilation's file")
    for flags in ([], ["--weights=embed"]):  # auto keeps a small model's weights inside
        p = _run(KILNC, source, *flags, "-o", lib)
        assert p.returncode == 0, p.stderr
        assert not stale.exists()
        x = rng.standard_normal((2, 256)).astype(np.float32)
        np.testing.assert_allclose(kiln.load(lib)(x), _reference(x, weights),
                                   rtol=1e-4, atol=1e-4)


def test_jit_reads_weights_in_place(tmp_path, rng):
    """kiln-run --weights=file: the JIT-compiled code reads the weights
    where the importer holds them (here, the mapped model.onnx.data)."""
    model, weights = _mlp(rng)
    source = _save_external(model, str(tmp_path))
    x = rng.standard_normal((2, 256)).astype(np.float32)
    case = tmp_path / "test_data_set_0"
    case.mkdir()
    (case / "input_0.pb").write_bytes(numpy_helper.from_array(x, "X").SerializeToString())
    good = numpy_helper.from_array(_reference(x, weights).astype(np.float32), "Y")
    (case / "output_0.pb").write_bytes(good.SerializeToString())
    p = _run(KILN_RUN, source, "--weights=file", f"--test-data={case}", "--rtol=1e-4",
             "--atol=1e-4")
    assert p.returncode == 0, p.stdout + p.stderr
    # The same check fails on a wrong expectation: the comparison is real.
    bad = numpy_helper.from_array(_reference(x, weights).astype(np.float32) + 1, "Y")
    (case / "output_0.pb").write_bytes(bad.SerializeToString())
    p = _run(KILN_RUN, source, "--weights=file", f"--test-data={case}")
    assert p.returncode != 0


def test_model_over_2_gib(tmp_path):
    """A 2.25 GiB embedding table (protobuf's 2 GiB limit applies to the
    .onnx file only): compiled to a library, whose weights go to a file
    beside it by default, and JIT-compiled, reading the table in place."""
    rows, width = 2_359_296, 256  # 2.25 GiB of f32
    # A cheap pattern that tells every row and column apart, written in
    # slices so that no copy of the whole table is ever held here.
    columns = np.arange(width, dtype=np.float32) / 1024

    def block(first, count):
        r = (np.arange(first, first + count) % 65521).astype(np.float32)
        return r[:, None] + columns

    with open(tmp_path / "model.onnx.data", "wb") as f:
        for first in range(0, rows, 65536):
            f.write(block(first, min(65536, rows - first)).tobytes())
    tensor = TensorProto(name="E", data_type=TensorProto.FLOAT, dims=[rows, width],
                         data_location=TensorProto.EXTERNAL)
    for key, value in (("location", "model.onnx.data"), ("offset", "0"),
                       ("length", str(rows * width * 4))):
        e = tensor.external_data.add()
        e.key, e.value = key, value
    graph = helper.make_graph(
        [helper.make_node("Gather", ["E", "idx"], ["G"]),
         helper.make_node("Mul", ["G", "s"], ["Y"])],
        "embedding",
        [helper.make_tensor_value_info("idx", TensorProto.INT64, [5])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [5, width])],
        [tensor, numpy_helper.from_array(np.array(2.0, dtype=np.float32), "s")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    source = tmp_path / "model.onnx"
    source.write_bytes(model.SerializeToString())
    idx = np.array([0, rows - 1, 1_234_567, rows // 2, 7], dtype=np.int64)
    want = np.concatenate([block(int(i), 1) for i in idx]) * 2

    # Embedded, the table would be out of the library code's reach.
    p = _run(KILNC, source, "--weights=embed", "-o", tmp_path / "embedded.so")
    assert p.returncode != 0 and "cannot be embedded in one library" in p.stderr
    lib = tmp_path / "embedding.so"
    p = _run(KILNC, source, "-o", lib)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "embedding.so.weights").stat().st_size > rows * width * 4
    assert lib.stat().st_size < (1 << 20)
    np.testing.assert_array_equal(kiln.load(lib)(idx), want)
    (tmp_path / "embedding.so.weights").unlink()
    np.testing.assert_array_equal(kiln.compile(str(source))(idx), want)


def test_model_proto_over_2_gib_is_refused_with_advice():
    class Huge:
        """Stands in for an onnx.ModelProto whose weights are inline."""

        def ByteSize(self):
            return 2**31 + 5

        def SerializeToString(self):
            raise AssertionError("not serialized: protobuf cannot")

    with pytest.raises(ValueError, match=r"2147483653 bytes, over protobuf's 2 GiB limit.*"
                                         r"save_as_external_data=True"):
        kiln.compile(Huge())


def test_mapped_booleans_and_4_bit_weights(tmp_path, rng):
    """External booleans and INT4 weights over 1 MiB are read from the
    mapping too (unpacked, not kept in place)."""
    mask = rng.random((2, 600_000)) < 0.5
    q = rng.integers(-8, 8, size=(2048, 1040))
    flat = q.flatten().astype(np.uint8) & 0xF  # two to a byte, low nibble first
    w4 = helper.make_tensor("W", TensorProto.INT4, q.shape,
                            (flat[0::2] | (flat[1::2] << 4)).tobytes(), raw=True)
    graph = helper.make_graph(
        [helper.make_node("Where", ["M", "A", "zero"], ["masked"]),
         helper.make_node("DequantizeLinear", ["W", "scale"], ["Wf"]),
         helper.make_node("MatMul", ["X", "Wf"], ["Y"])],
        "mapped",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [2, 600_000]),
         helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 2048])],
        [helper.make_tensor_value_info("masked", TensorProto.FLOAT, [2, 600_000]),
         helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 1040])],
        [numpy_helper.from_array(mask, "M"), w4,
         numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
         numpy_helper.from_array(np.array(0.5, dtype=np.float32), "scale")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    path = _save_external(model, str(tmp_path))
    loaded = onnx.load(path, load_external_data=False)
    external = {t.name for t in loaded.graph.initializer
                if t.data_location == TensorProto.EXTERNAL}
    assert {"M", "W"} <= external
    a = rng.standard_normal((2, 600_000)).astype(np.float32)
    x = rng.standard_normal((2, 2048)).astype(np.float32)
    masked, y = kiln.compile(path)(a, x)
    np.testing.assert_array_equal(masked, np.where(mask, a, 0))
    np.testing.assert_allclose(y, x @ (q.astype(np.float32) * 0.5), rtol=1e-4, atol=1e-3)
