#!/usr/bin/env python3
"""kiln-exec: runs compiled Kiln model libraries with the runtime alone.

Needs only libkiln_runtime.so, numpy and Python's ctypes: no compiler, no
MLIR, no onnx package, no pybind module. That makes it the runner for a
machine that has a GPU but not the compiler (scripts/gpu-run.sh), and a
small library for other scripts (`import kiln_exec`).

  kiln_exec.py MODEL.so|MODEL.so.xz [--runtime libkiln_runtime.so]
               [--test-data DIR | --input NAME=FILE.npy|FILE.pb ... | --random-inputs [--seed N]]
               [--rtol R] [--atol A] [--bench N] [--cuda-graph] [--json FILE]

Inputs and expected outputs are ONNX TensorProto files (`.pb`, the
test_data_set_* layout) or `.npy` files. With --bench N the model is timed
over N runs after a warm-up: CUDA models on the device with CUDA events
(kernels only), CPU models by wall clock. The exit code is 0 when every
output matches, 1 on a mismatch or an error (printed on one line).
"""
import argparse
import ctypes
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# ONNX TensorProto.DataType codes, as the runtime reports them.
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
          7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
          13: np.uint64, 16: np.uint16}  # bfloat16: its bits, as uint16
BFLOAT16 = 16
TARGET_CPU, TARGET_CUDA = 0, 1


class KilnError(RuntimeError):
    """An error the runtime reported (kiln_last_error) or a bad input file."""


def find_runtime():
    """libkiln_runtime.so: $KILN_RUNTIME, else beside this script (a bundle),
    else in a build folder of the source tree."""
    candidates = [os.environ.get("KILN_RUNTIME", ""),
                  os.path.join(HERE, "libkiln_runtime.so"),
                  os.path.join(HERE, "lib", "libkiln_runtime.so"),
                  os.path.join(HERE, "..", "..", "build", "lib", "libkiln_runtime.so")]
    for c in candidates:
        if c and os.path.isfile(c):
            return os.path.abspath(c)
    raise KilnError("libkiln_runtime.so not found: pass --runtime or set KILN_RUNTIME")


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32),
                ("rank", ctypes.c_int32), ("shape", ctypes.POINTER(ctypes.c_int64))]


class Runtime:
    """The runtime's C API (runtime/include/kiln_runtime.h) through ctypes."""

    def __init__(self, path=None):
        path = path or find_runtime()
        # Global: compiled models resolve kiln_parallel_for / kiln_cuda_* in it.
        self.lib = lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        self.path = path
        vp, i32, u64p = ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_uint64)
        sigs = {
            "kiln_model_load": (vp, [ctypes.c_char_p]),
            "kiln_last_error": (ctypes.c_char_p, []),
            "kiln_model_input": (ctypes.POINTER(TensorInfo), [vp, i32]),
            "kiln_model_output": (ctypes.POINTER(TensorInfo), [vp, i32]),
            "kiln_model_num_inputs": (i32, [vp]),
            "kiln_model_num_outputs": (i32, [vp]),
            "kiln_model_target": (i32, [vp]),
            "kiln_model_free": (None, [vp]),
            "kiln_model_set_cuda_graph": (i32, [vp, i32]),
            "kiln_model_elided_weights": (i32, [vp]),
            "kiln_model_run": (i32, [vp, vp, vp]),
            "kiln_model_run_device": (i32, [vp, vp, vp, vp]),
            "kiln_model_benchmark": (i32, [vp, vp, vp, i32, ctypes.POINTER(ctypes.c_double)]),
            "kiln_model_profile": (i32, [vp, vp, vp, i32, ctypes.c_char_p]),
            "kiln_model_profile_summary": (ctypes.c_char_p, [vp]),
            "kiln_cuda_device": (i32, []),
            "kiln_cuda_device_alloc": (i32, [ctypes.c_size_t, u64p]),
            "kiln_cuda_device_free": (i32, [ctypes.c_uint64]),
            "kiln_cuda_copy_to_device": (i32, [ctypes.c_uint64, vp, ctypes.c_size_t]),
            "kiln_cuda_copy_to_host": (i32, [vp, ctypes.c_uint64, ctypes.c_size_t]),
        }
        for name, (res, args) in sigs.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args

    def error(self):
        return self.lib.kiln_last_error().decode(errors="replace")

    def check(self, status, what):
        if status != 0:
            raise KilnError(f"{what}: {self.error()}")

    def load(self, path):
        return Model(self, path)


def _dense(a):
    """a as a C-contiguous array; unlike np.ascontiguousarray, a scalar
    tensor keeps its shape ()."""
    return np.array(a, order="C", copy=not (isinstance(a, np.ndarray) and a.flags.c_contiguous))


_UNPACKED = {}


def _unpacked(path):
    """The library itself: an `.xz` file (as the GPU bundle stores them) is
    decompressed once into a private temporary folder."""
    path = os.fspath(path)
    if not path.endswith(".xz"):
        return path
    if path not in _UNPACKED:
        import atexit
        import lzma
        import shutil
        import tempfile
        folder = tempfile.mkdtemp(prefix="kiln-exec-")
        atexit.register(shutil.rmtree, folder, True)
        out = os.path.join(folder, os.path.basename(path)[:-3])
        try:
            with lzma.open(path) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, lzma.LZMAError) as e:
            raise KilnError(f"cannot decompress '{path}': {e}")
        _UNPACKED[path] = out
    return _UNPACKED[path]


class Model:
    """A loaded model library; inputs/outputs are lists of
    (name, numpy dtype, shape, onnx dtype code)."""

    def __init__(self, rt, path):
        self.rt = rt
        self.path = path
        self.handle = rt.lib.kiln_model_load(os.fspath(_unpacked(path)).encode())
        if not self.handle:
            raise KilnError(rt.error())

        def infos(count, get):
            out = []
            for i in range(count(self.handle)):
                t = get(self.handle, i).contents
                if t.dtype not in DTYPES:
                    raise KilnError(f"{path}: tensor '{t.name.decode()}' has data type "
                                    f"{t.dtype}, which kiln-exec cannot hold")
                out.append((t.name.decode(), DTYPES[t.dtype],
                            tuple(t.shape[k] for k in range(t.rank)), t.dtype))
            return out
        self.inputs = infos(rt.lib.kiln_model_num_inputs, rt.lib.kiln_model_input)
        self.outputs = infos(rt.lib.kiln_model_num_outputs, rt.lib.kiln_model_output)
        self.target = rt.lib.kiln_model_target(self.handle)
        # Weights left out at compile time (kilnc --elide-weights) and filled
        # with seeded values: the outputs mean nothing, the timing does.
        self.elided_weights = rt.lib.kiln_model_elided_weights(self.handle)

    def _pointers(self, arrays):
        for a, (name, dtype, shape, _) in zip(arrays, self.inputs):
            if a.dtype != dtype or tuple(a.shape) != shape:
                raise KilnError(f"input '{name}' must be {np.dtype(dtype).name}{list(shape)}, "
                                f"got {a.dtype.name}{list(a.shape)}")
        if len(arrays) != len(self.inputs):
            raise KilnError(f"the model takes {len(self.inputs)} inputs, got {len(arrays)}")
        return (ctypes.c_void_p * max(len(arrays), 1))(*[a.ctypes.data for a in arrays])

    def empty_outputs(self):
        return [np.zeros(shape, dtype) for _, dtype, shape, _ in self.outputs]

    def run(self, arrays):
        arrays = [_dense(a) for a in arrays]
        ins = self._pointers(arrays)
        outs = self.empty_outputs()
        optr = (ctypes.c_void_p * max(len(outs), 1))(*[o.ctypes.data for o in outs])
        self.rt.check(self.rt.lib.kiln_model_run(self.handle, ins, optr),
                      f"running {os.path.basename(self.path)}")
        return outs

    def benchmark(self, arrays, runs):
        """Milliseconds of each of `runs` runs after one warm-up."""
        arrays = [_dense(a) for a in arrays]
        ins = self._pointers(arrays)
        outs = self.empty_outputs()
        optr = (ctypes.c_void_p * max(len(outs), 1))(*[o.ctypes.data for o in outs])
        ms = (ctypes.c_double * runs)()
        self.rt.check(self.rt.lib.kiln_model_benchmark(self.handle, ins, optr, runs, ms),
                      f"timing {os.path.basename(self.path)}")
        return list(ms)

    def profile(self, arrays, runs, trace_path=None):
        """Runs once untimed, then `runs` times with every kernel (CPU) or
        launch (CUDA events) timed; writes the Chrome trace to `trace_path`
        and returns the summary table."""
        arrays = [_dense(a) for a in arrays]
        ins = self._pointers(arrays)
        outs = self.empty_outputs()
        optr = (ctypes.c_void_p * max(len(outs), 1))(*[o.ctypes.data for o in outs])
        path = os.fsencode(trace_path) if trace_path else None
        self.rt.check(self.rt.lib.kiln_model_profile(self.handle, ins, optr, runs, path),
                      f"profiling {os.path.basename(self.path)}")
        return self.rt.lib.kiln_model_profile_summary(self.handle).decode(errors="replace")

    def set_cuda_graph(self, enable):
        self.rt.check(self.rt.lib.kiln_model_set_cuda_graph(self.handle, int(enable)),
                      "kiln_model_set_cuda_graph")

    def run_device(self, arrays):
        """kiln_model_run_device on device buffers from the runtime's allocator."""
        lib = self.rt.lib
        arrays = [_dense(a) for a in arrays]
        self._pointers(arrays)
        outs = self.empty_outputs()
        buffers = []
        try:
            def alloc(nbytes):
                p = ctypes.c_uint64()
                self.rt.check(lib.kiln_cuda_device_alloc(max(nbytes, 1), ctypes.byref(p)),
                              "kiln_cuda_device_alloc")
                buffers.append(p.value)
                return p.value
            dev_in = []
            for a in arrays:
                dev_in.append(alloc(a.nbytes))
                self.rt.check(lib.kiln_cuda_copy_to_device(dev_in[-1], a.ctypes.data, a.nbytes),
                              "kiln_cuda_copy_to_device")
            dev_out = [alloc(o.nbytes) for o in outs]
            ins = (ctypes.c_uint64 * max(len(dev_in), 1))(*dev_in)
            optr = (ctypes.c_uint64 * max(len(dev_out), 1))(*dev_out)
            self.rt.check(lib.kiln_model_run_device(self.handle, ins, optr, None),
                          "kiln_model_run_device")
            for o, p in zip(outs, dev_out):
                self.rt.check(lib.kiln_cuda_copy_to_host(o.ctypes.data, p, o.nbytes),
                              "kiln_cuda_copy_to_host")
        finally:
            for p in buffers:
                lib.kiln_cuda_device_free(p)
        return outs

    def free(self):
        if self.handle:
            self.rt.lib.kiln_model_free(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()


def probe_gpu():
    """(info dict, why no GPU or None). info has the device name, compute
    capability, driver version and whether the driver is the stand-in."""
    path = os.environ.get("KILN_CUDA_DRIVER") or "libcuda.so.1"
    try:
        cuda = ctypes.CDLL(path)
    except OSError as e:
        return {"driver": path}, f"no CUDA driver ({e})"
    info = {"driver": path, "stand_in": hasattr(cuda, "fake_cuda_stats")}
    if cuda.cuInit(0) != 0:
        return info, "the CUDA driver does not initialize (cuInit failed)"
    count, version = ctypes.c_int(0), ctypes.c_int(0)
    if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return info, "no CUDA device"
    cuda.cuDriverGetVersion(ctypes.byref(version))
    dev = int(os.environ.get("KILN_CUDA_DEVICE", "0"))
    name = ctypes.create_string_buffer(256)
    cuda.cuDeviceGetName(name, 256, dev)
    major, minor = ctypes.c_int(0), ctypes.c_int(0)
    cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, dev)
    cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, dev)
    info.update(name=name.value.decode(), cc=f"sm_{major.value}{minor.value}",
                driver_version=version.value, devices=count.value)
    return info, None


# --- Tensor files -----------------------------------------------------------

def _varint(buf, pos):
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise KilnError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise KilnError("varint longer than 64 bits")


def _fields(buf):
    """(field number, wire type, value) of a protobuf message; value is an
    int for varints and fixed types, bytes for length-delimited fields."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise KilnError("truncated fixed64")
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise KilnError("truncated field")
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            if pos + 4 > len(buf):
                raise KilnError("truncated fixed32")
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise KilnError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def _packed_varints(value, wire):
    if wire == 0:
        return [value]
    out, pos = [], 0
    while pos < len(value):
        v, pos = _varint(value, pos)
        out.append(v)
    return out


def read_tensor_proto(data):
    """(name, array) of a serialized ONNX TensorProto, without the onnx
    package: dims, data_type, raw_data and the typed *_data fields."""
    dims, dtype, name, raw = [], 1, "", None
    floats, doubles, ints32, ints64, uints64 = [], [], [], [], []
    for field, wire, value in _fields(data):
        if field == 1:
            dims += _packed_varints(value, wire)
        elif field == 2:
            dtype = value
        elif field == 4:
            floats.append(value)  # packed, or one fixed32
        elif field == 5:
            ints32 += _packed_varints(value, wire)
        elif field == 7:
            ints64 += _packed_varints(value, wire)
        elif field == 8:
            name = value.decode(errors="replace")
        elif field == 9:
            raw = value
        elif field == 10:
            doubles.append(value)
        elif field == 11:
            uints64 += _packed_varints(value, wire)
        elif field == 14 and value == 1:  # data_location EXTERNAL
            raise KilnError(f"tensor '{name}' keeps its data in an external file")
    if dtype not in DTYPES:
        raise KilnError(f"tensor '{name}': data type {dtype} is not supported by kiln-exec")
    np_dtype = np.dtype(DTYPES[dtype])
    shape = [d - (1 << 64) if d >= 1 << 63 else d for d in dims]
    count = int(np.prod(shape)) if shape else 1
    if raw is not None:
        arr = np.frombuffer(raw, dtype=np_dtype.newbyteorder("<"))
    elif floats:
        arr = np.frombuffer(b"".join(floats), dtype="<f4")
    elif doubles:
        arr = np.frombuffer(b"".join(doubles), dtype="<f8")
    elif ints64:
        arr = np.array([v - (1 << 64) if v >= 1 << 63 else v for v in ints64], dtype=np.int64)
    elif uints64:
        arr = np.array(uints64, dtype=np.uint64)
    else:
        # int32_data holds int32 and every narrower type (float16 and
        # bfloat16 as their bit patterns); negative values are 64-bit varints.
        vals = [v - (1 << 64) if v >= 1 << 63 else v for v in ints32]
        if np_dtype.kind in "fu" and np_dtype.itemsize == 2:
            arr = np.array(vals, dtype=np.uint16).view(np_dtype)
        else:
            arr = np.array(vals, dtype=np.int64).astype(np_dtype)
    if arr.size != count:
        raise KilnError(f"tensor '{name}': {arr.size} values for shape {shape}")
    return name, arr.astype(np_dtype, copy=False).reshape(shape).copy()


def read_tensor(path):
    """(name or "", array) of a .pb TensorProto or .npy file."""
    if path.endswith(".npy"):
        return "", np.load(path, allow_pickle=False)
    with open(path, "rb") as f:
        return read_tensor_proto(f.read())


def test_data_files(folder, kind):
    """The file names of a test_data_set_* folder's `kind` ("input" or
    "output") tensors, .pb or .npy, in index order (input_2 before input_10)."""
    found = glob.glob(os.path.join(folder, kind + "_*.pb")) + \
        glob.glob(os.path.join(folder, kind + "_*.npy"))
    names = [os.path.basename(p) for p in found]
    return sorted(names, key=lambda n: int(n.split("_")[1].split(".")[0]))


def read_test_data(folder):
    """Inputs and expected outputs of a test_data_set_* folder, in order."""
    return tuple([read_tensor(os.path.join(folder, n))[1] for n in test_data_files(folder, kind)]
                 for kind in ("input", "output"))


def random_inputs(model, seed):
    """Seeded random inputs: normal floats, small non-negative integers
    (valid as indices and shapes in most models), random booleans."""
    rng = np.random.default_rng(seed)
    arrays = []
    for _, dtype, shape, code in model.inputs:
        if code == BFLOAT16:
            f = rng.standard_normal(shape).astype(np.float32)
            arrays.append((f.view(np.uint32) >> 16).astype(np.uint16))
        elif np.issubdtype(dtype, np.floating):
            arrays.append(rng.standard_normal(shape).astype(dtype))
        elif dtype == np.bool_:
            arrays.append(rng.integers(0, 2, shape).astype(np.bool_))
        else:
            arrays.append(rng.integers(0, 8, shape).astype(dtype))
    return arrays


def compare(got, want, rtol, atol):
    """(ok, max abs error) of one output against its reference; NaNs must
    match NaNs, integers and booleans must be equal."""
    if got.shape != want.shape:
        return False, float("inf")
    if got.dtype.kind != "f":
        ok = np.array_equal(got, want.astype(got.dtype))
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        return ok, float(diff.max()) if diff.size else 0.0
    g, w = got.astype(np.float64), want.astype(np.float64)
    ok = np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    finite = np.isfinite(g) & np.isfinite(w)
    err = float(np.abs(g - w)[finite].max()) if finite.any() else 0.0
    return ok, err


# --- Command line -------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(prog="kiln-exec", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a library written by kilnc --emit=so (or it, xz-compressed)")
    ap.add_argument("--runtime", help="libkiln_runtime.so (default: $KILN_RUNTIME, or found)")
    ap.add_argument("--test-data", help="a test_data_set_* folder (input_N / output_N)")
    ap.add_argument("--input", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("--random-inputs", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--bench", type=int, default=0, metavar="N")
    ap.add_argument("--cuda-graph", action="store_true")
    ap.add_argument("--json", help="write the result (checks, latencies) to this file")
    args = ap.parse_args(argv)
    result = {"model": args.model}
    try:
        rt = Runtime(args.runtime)
        with rt.load(args.model) as model:
            if args.cuda_graph:
                model.set_cuda_graph(True)
            if model.elided_weights:
                print(f"note: {model.elided_weights} weights were left out of this library "
                      "(kilnc --elide-weights) and filled with seeded values: its outputs "
                      "are for timing only")
            expected = None
            if args.test_data:
                inputs, expected = read_test_data(args.test_data)
            elif args.input:
                by_name = dict(s.split("=", 1) for s in args.input)
                missing = [n for n, *_ in model.inputs if n not in by_name]
                if missing:
                    raise KilnError(f"no --input for {', '.join(missing)}")
                inputs = [read_tensor(by_name[n])[1] for n, *_ in model.inputs]
            else:
                inputs = random_inputs(model, args.seed)
            outputs = model.run(inputs)
            ok = True
            if expected is not None:
                if len(expected) != len(outputs):
                    raise KilnError(f"the test data has {len(expected)} outputs, "
                                    f"the model {len(outputs)}")
                result["outputs"] = []
                for (name, *_), got, want in zip(model.outputs, outputs, expected):
                    good, err = compare(got, want, args.rtol, args.atol)
                    ok &= good
                    result["outputs"].append({"name": name, "ok": bool(good), "max_abs_err": err})
                    print(f"output '{name}': {'OK' if good else 'MISMATCH'} "
                          f"(max abs error {err:.3g}, rtol {args.rtol:g}, atol {args.atol:g})")
            if args.bench:
                ms = sorted(model.benchmark(inputs, args.bench))
                result["ms_min"], result["ms_median"] = ms[0], ms[len(ms) // 2]
                print(f"latency over {args.bench} runs: min {ms[0]:.3f} ms, "
                      f"median {ms[len(ms) // 2]:.3f} ms")
            result["ok"] = bool(ok)
    except (KilnError, OSError) as e:
        print(f"kiln-exec: error: {e}", file=sys.stderr)
        result.update(ok=False, error=str(e))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
