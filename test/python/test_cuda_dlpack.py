"""GPU DLPack tensors in and out of CUDA models.

Without a GPU these run on the stand-in driver test/Runtime/fake_libcuda.c
(device memory is host memory, copies really copy, kernels are checked
against their PTX but do not run). The device tensors are built here with
ctypes: DLManagedTensor capsules of device type kDLCUDA over memory from
the runtime's kiln_cuda_device_alloc. The model is one of copies only
(Concat + Identity), so its results are exact through the stand-in and are
compared with numpy and with the CPU target on random data.

The driver is chosen once per process (KILN_CUDA_DRIVER), so each check
runs in its own interpreter.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import ROOT, build_fake_driver, has_cuda_gpu

CONCAT = os.path.join(ROOT, "test", "Runtime", "Inputs", "concat_copy.onnxtxt")

# A test-only DLPack producer for device memory, and a consumer that copies
# a kDLCUDA capsule back to the host, both through the runtime's C API.
PRELUDE = textwrap.dedent(f"""
import ctypes, gc
import numpy as np
import kiln
from kiln import _model

class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]

class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]

class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]

class DLManagedTensor(ctypes.Structure):
    pass

DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                            ("deleter", DELETER)]

# libkiln_runtime is global in the process once kiln is imported.
rt = ctypes.CDLL(None)
rt.kiln_cuda_device_alloc.argtypes = [ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint64)]
rt.kiln_cuda_device_free.argtypes = [ctypes.c_uint64]
rt.kiln_cuda_copy_to_device.argtypes = [ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t]
rt.kiln_cuda_copy_to_host.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_size_t]
rt.kiln_last_error.restype = ctypes.c_char_p
api = ctypes.pythonapi
api.PyCapsule_New.restype = ctypes.py_object
api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
api.PyCapsule_GetPointer.restype = ctypes.c_void_p
api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
api.PyCapsule_GetName.restype = ctypes.c_char_p
api.PyCapsule_GetName.argtypes = [ctypes.py_object]
DEVICE = rt.kiln_cuda_device()
assert DEVICE >= 0, rt.kiln_last_error()
DL_CODES = {{np.dtype(np.float32): (2, 32), np.dtype(np.float64): (2, 64),
            np.dtype(np.int32): (0, 32)}}

class DeviceTensor:
    '''A copy of `arr` in runtime device memory, exported as kDLCUDA.'''

    def __init__(self, arr, device_id=None, strides=None, shape=None):
        self.shape = tuple(arr.shape if shape is None else shape)
        self.dtype = arr.dtype
        ptr = ctypes.c_uint64(0)
        assert rt.kiln_cuda_device_alloc(arr.nbytes, ctypes.byref(ptr)) == 0, \\
            rt.kiln_last_error()
        self.ptr = ptr.value
        host = np.ascontiguousarray(arr)
        assert rt.kiln_cuda_copy_to_device(self.ptr, host.ctypes.data, host.nbytes) == 0
        self.device_id = DEVICE if device_id is None else device_id
        self.strides = strides
        self.streams = []
        self.keep = []

    def __dlpack_device__(self):
        return (2, self.device_id)

    def __dlpack__(self, stream=None):
        self.streams.append(stream)
        shape = (ctypes.c_int64 * len(self.shape))(*self.shape)
        strides = None
        if self.strides is not None:
            strides = (ctypes.c_int64 * len(self.strides))(*self.strides)
        m = DLManagedTensor()
        code, bits = DL_CODES[self.dtype]
        m.dl_tensor = DLTensor(self.ptr, DLDevice(2, self.device_id), len(self.shape),
                               DLDataType(code, bits, 1), shape,
                               strides if strides is not None else None, 0)
        m.deleter = DELETER(0)  # the memory belongs to this object
        self.keep += [shape, strides, m]
        return api.PyCapsule_New(ctypes.addressof(m), b"dltensor", None)

    def free(self):
        assert rt.kiln_cuda_device_free(self.ptr) == 0

class HostTensor:
    '''A host array seen only through DLPack (device kDLCPU).'''

    def __init__(self, arr):
        self.arr = arr

    def __dlpack_device__(self):
        return (1, 0)

    def __dlpack__(self, stream=None):
        return self.arr.__dlpack__()

def to_host(capsule, dtype):
    '''Consumes a kDLCUDA capsule: checks it, copies it back, frees it.'''
    assert api.PyCapsule_GetName(capsule) == b"dltensor"
    m = DLManagedTensor.from_address(api.PyCapsule_GetPointer(capsule, b"dltensor"))
    t = m.dl_tensor
    assert (t.device.device_type, t.device.device_id) == (2, DEVICE)
    assert (t.dtype.code, t.dtype.bits, t.dtype.lanes) == (*DL_CODES[np.dtype(dtype)], 1)
    assert not t.strides
    out = np.empty(tuple(t.shape[i] for i in range(t.ndim)), dtype=dtype)
    assert rt.kiln_cuda_copy_to_host(out.ctypes.data, t.data + t.byte_offset,
                                     out.nbytes) == 0, rt.kiln_last_error()
    api.PyCapsule_SetName(capsule, b"used_dltensor")
    data = t.data
    m.deleter(ctypes.pointer(m))
    return out, data

def is_freed(ptr):
    '''The stand-in driver refuses copies from memory that was freed.'''
    probe = np.empty(1, dtype=np.uint8)
    return rt.kiln_cuda_copy_to_host(probe.ctypes.data, ptr, 1) != 0

class CountAllocs:
    '''Counts the package's device allocations (uploads and outputs).'''

    def __init__(self):
        self.count = 0
        self.real = _model._runtime.device_alloc

    def __enter__(self):
        def alloc(n):
            self.count += 1
            return self.real(n)
        _model._runtime.device_alloc = alloc
        return self

    def __exit__(self, *exc):
        _model._runtime.device_alloc = self.real

def expect_error(fn, text):
    try:
        fn()
    except kiln.RuntimeError as e:
        assert text in str(e), str(e)
        return str(e)
    raise AssertionError("no kiln.RuntimeError for " + text)

m = kiln.compile({CONCAT!r}, target="cuda")
cpu = kiln.compile({CONCAT!r})
rng = np.random.default_rng(SEED)
a = rng.standard_normal((2, 3, 4), dtype=np.float32)
b = rng.standard_normal((2, 5, 4), dtype=np.float32)
y_cpu, z_cpu = cpu(a, b)
np.testing.assert_array_equal(y_cpu, np.concatenate([a, b], axis=1))
""")


@pytest.fixture(scope="module")
def fake_driver(tmp_path_factory):
    return build_fake_driver(tmp_path_factory.mktemp("fake") / "fake_libcuda.so")


def run_script(fake, body, seed, **env):
    script = PRELUDE.replace("SEED", str(seed)) + textwrap.dedent(body) + "\nprint('ok')\n"
    full_env = dict(os.environ, KILN_CUDA_DRIVER=fake, **env)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env=full_env, timeout=300)
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stdout + p.stderr
    return p.stdout


def test_device_inputs_and_device_outputs(fake_driver):
    run_script(fake_driver, """
    da, db = DeviceTensor(a), DeviceTensor(b)
    with CountAllocs() as allocs:
        caps = m.run(None, {"a": da, "b": db}, dlpack=True)
    # Zero-copy: the inputs are passed by their device pointers, only the
    # two outputs are allocated.
    assert allocs.count == 2, allocs.count
    # The producer was asked to order its work before the legacy stream.
    assert da.streams == [1] and db.streams == [1], (da.streams, db.streams)
    (y, y_ptr), (z, z_ptr) = [to_host(c, np.float32) for c in caps]
    np.testing.assert_array_equal(y, y_cpu)
    np.testing.assert_array_equal(z, z_cpu)
    # The deleters freed the outputs through the runtime.
    assert is_freed(y_ptr) and is_freed(z_ptr)
    # Device inputs with host outputs; outputs picked by name.
    y2, z2 = m(da, db)
    np.testing.assert_array_equal(y2, y_cpu)
    np.testing.assert_array_equal(z2, z_cpu)
    (zc,) = m.run(["z"], {"a": da, "b": db}, dlpack=True)
    np.testing.assert_array_equal(to_host(zc, np.float32)[0], z_cpu)
    # An unconsumed capsule frees its memory when it is released.
    (yc,) = m.run(["y"], {"a": da, "b": db}, dlpack=True)
    ptr = DLManagedTensor.from_address(api.PyCapsule_GetPointer(yc, b"dltensor")).dl_tensor.data
    assert not is_freed(ptr)
    del yc
    gc.collect()
    assert is_freed(ptr)
    # The inputs are unchanged and still owned by their producer.
    back = np.empty_like(a)
    assert rt.kiln_cuda_copy_to_host(back.ctypes.data, da.ptr, back.nbytes) == 0
    np.testing.assert_array_equal(back, a)
    da.free(); db.free()
    """, seed=1)


def test_mixed_and_host_dlpack_inputs_are_uploaded(fake_driver):
    run_script(fake_driver, """
    da = DeviceTensor(a)
    with CountAllocs() as allocs:
        caps = m.run(None, {"a": da, "b": b}, dlpack=True)
    assert allocs.count == 3, allocs.count  # b uploaded, two outputs
    np.testing.assert_array_equal(to_host(caps[0], np.float32)[0], y_cpu)
    np.testing.assert_array_equal(to_host(caps[1], np.float32)[0], z_cpu)
    # CPU DLPack tensors and numpy arrays, outputs kept on the device.
    caps = m.run(None, {"a": HostTensor(a), "b": b}, dlpack=True)
    np.testing.assert_array_equal(to_host(caps[0], np.float32)[0], y_cpu)
    # Host inputs, host outputs: the plain path.
    y, z = m(HostTensor(a), HostTensor(b))
    np.testing.assert_array_equal(y, y_cpu)
    da.free()
    """, seed=2)


def test_bad_device_tensors_give_clear_errors(fake_driver):
    run_script(fake_driver, """
    good = DeviceTensor(b)
    before = _model._runtime.device_alloc
    expect_error(lambda: m(DeviceTensor(a, device_id=DEVICE + 1), good),
                 f"input 'a' is on CUDA device {DEVICE + 1}, but Kiln runs CUDA models on "
                 f"device {DEVICE}")
    expect_error(lambda: m(DeviceTensor(a.astype(np.float64)), good),
                 "input 'a' expects dtype float32, got DLPack type code 2 with 64 bits")
    expect_error(lambda: m(DeviceTensor(a.reshape(3, 2, 4)), good),
                 "input 'a' expects shape (2, 3, 4), got (3, 2, 4)")
    # Same shape, transposed strides (in elements): not C-contiguous.
    t = DeviceTensor(a, strides=(1, 2, 6))
    expect_error(lambda: m(t, good), "input 'a': the GPU tensor is not C-contiguous")
    # Contiguous strides given explicitly are accepted.
    y, _ = m(DeviceTensor(a, strides=(12, 4, 1)), good)
    np.testing.assert_array_equal(y, y_cpu)
    # A host input with a wrong shape next to a device input.
    expect_error(lambda: m(DeviceTensor(a), b[:, :2]), "input 'b' expects shape (2, 5, 4)")
    # A producer that cannot export (torch: a tensor that requires grad).
    class Refusing(DeviceTensor):
        def __dlpack__(self, stream=None):
            raise BufferError("cannot export a tensor that requires grad")
    expect_error(lambda: m(Refusing(a), good),
                 "input 'a': cannot read the GPU tensor through DLPack (cannot export")
    # GPU tensors are refused by CPU models, naming the way out.
    expect_error(lambda: cpu(DeviceTensor(a), b), "input 'a' is on CUDA device")
    good.free()
    """, seed=3)


def test_device_runs_from_many_threads(fake_driver):
    # Each thread allocates, runs on device tensors, consumes and frees its
    # own outputs; the runtime's device API sets the context per thread.
    run_script(fake_driver, """
    import threading
    errors = []
    def work(seed):
        try:
            r = np.random.default_rng(seed)
            for _ in range(10):
                x = r.standard_normal((2, 3, 4), dtype=np.float32)
                w = r.standard_normal((2, 5, 4), dtype=np.float32)
                dx, dw = DeviceTensor(x), DeviceTensor(w)
                y, z = [to_host(c, np.float32)[0]
                        for c in m.run(None, {"a": dx, "b": dw}, dlpack=True)]
                np.testing.assert_array_equal(y, cpu(x, w)[0])
                np.testing.assert_array_equal(z, w)
                dx.free(); dw.free()
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors, errors
    """, seed=6)


def test_device_errors_reach_python_as_kiln_errors(fake_driver):
    # A failure of the driver is a kiln.RuntimeError naming the call, and
    # the model runs again once the driver recovers.
    run_script(fake_driver, """
    import os
    da, db = DeviceTensor(a), DeviceTensor(b)
    m(da, db)  # the model's execution resources exist from here on
    # The stand-in driver reads FAKE_CUDA_OOM_AFTER at each cuMemAlloc: 0
    # makes every further allocation fail.
    os.environ["FAKE_CUDA_OOM_AFTER"] = "0"
    expect_error(lambda: m.run(None, {"a": da, "b": db}, dlpack=True),
                 "kiln_cuda_device_alloc: cuMemAlloc of 256 bytes failed")
    expect_error(lambda: m(da, b), "cuMemAlloc of 160 bytes failed")
    p = ctypes.c_uint64(0)
    assert rt.kiln_cuda_device_alloc(8, ctypes.byref(p)) == -1
    assert b"cuMemAlloc of 8 bytes failed" in rt.kiln_last_error(), rt.kiln_last_error()
    del os.environ["FAKE_CUDA_OOM_AFTER"]
    expect_error(lambda: kiln._runtime.copy_to_host(np.empty(4, np.uint8), 12345),
                 "kiln_cuda_copy_to_host of 4 bytes failed")
    y, _ = m(da, b)
    np.testing.assert_array_equal(y, y_cpu)
    caps = m.run(None, {"a": da, "b": db}, dlpack=True)
    np.testing.assert_array_equal(to_host(caps[0], np.float32)[0], y_cpu)
    """, seed=4)


def test_torch_cuda_tensors_on_a_gpu():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    if not has_cuda_gpu() or not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine: torch.cuda tensors cannot be made")
    import kiln

    m = kiln.compile(CONCAT, target="cuda")
    device = kiln._runtime.cuda_device()
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 3, 4), dtype=np.float32)
    b = rng.standard_normal((2, 5, 4), dtype=np.float32)
    ta = torch.from_numpy(a).to(f"cuda:{device}")
    tb = torch.from_numpy(b).to(f"cuda:{device}")
    caps = m.run(None, {"a": ta, "b": tb}, dlpack=True)
    y, z = (torch.from_dlpack(c) for c in caps)
    assert y.is_cuda and z.is_cuda
    np.testing.assert_array_equal(y.cpu().numpy(), np.concatenate([a, b], axis=1))
    np.testing.assert_array_equal(z.cpu().numpy(), b)
    with pytest.raises(kiln.RuntimeError, match="not C-contiguous"):
        m(ta.transpose(1, 2).contiguous().transpose(1, 2), tb)
    with pytest.raises(kiln.RuntimeError, match="expects dtype float32"):
        m(ta.double(), tb)
