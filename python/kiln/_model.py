"""kiln.compile, kiln.load and CompiledModel."""
from __future__ import annotations

import builtins
import collections
import json
import os
import shutil
import threading
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _runtime
from ._errors import RuntimeError, _compile_error

_runtime._set_error_class(RuntimeError)

#: IR stages that CompiledModel.ir accepts, in pipeline order.
STAGES = ("kiln", "fused", "linalg", "gpu", "ptx", "llvm")

TARGETS = ("cpu", "cuda")
GPU_ARCHES = ("sm_80", "sm_86", "sm_89", "sm_90")

# ONNX TensorProto.DataType codes <-> numpy dtypes.
_NUMPY_DTYPES = {
    1: np.dtype(np.float32),
    2: np.dtype(np.uint8),
    3: np.dtype(np.int8),
    4: np.dtype(np.uint16),
    5: np.dtype(np.int16),
    6: np.dtype(np.int32),
    7: np.dtype(np.int64),
    9: np.dtype(np.bool_),
    10: np.dtype(np.float16),
    11: np.dtype(np.float64),
    12: np.dtype(np.uint32),
    13: np.dtype(np.uint64),
}
try:  # bfloat16 has no numpy dtype; ml_dtypes provides one where installed.
    import ml_dtypes

    _NUMPY_DTYPES[16] = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - depends on the environment
    # Without ml_dtypes, bfloat16 tensors are exchanged as their uint16 bit
    # patterns (as ONNX's test data stores them).
    _NUMPY_DTYPES[16] = np.dtype(np.uint16)
_ONNX_CODES = {}
for _code, _dt in _NUMPY_DTYPES.items():
    _ONNX_CODES.setdefault(_dt, _code)

_compiler = None
_compiler_lock = threading.Lock()


def _load_compiler():
    """Imports kiln._kiln (MLIR and LLVM) on first use."""
    global _compiler
    with _compiler_lock:
        if _compiler is None:
            from . import _kiln

            _kiln._set_error_classes(_compile_error, RuntimeError)
            _compiler = _kiln
    return _compiler


class TensorInfo(NamedTuple):
    """One input or output of a compiled model."""

    name: str
    shape: Tuple[int, ...]
    dtype: np.dtype

    @property
    def onnx_type(self) -> int:
        """The ONNX TensorProto.DataType code of ``dtype``."""
        return _ONNX_CODES[self.dtype]


def _tensor_info(d: Mapping[str, Any]) -> TensorInfo:
    return TensorInfo(d["name"], tuple(d["shape"]), _NUMPY_DTYPES[d["dtype"]])


def _to_numpy(value: Any, what: str) -> np.ndarray:
    """A numpy view of `value`: numpy arrays as they are, objects with
    __dlpack__ (torch tensors, ...) without a copy, anything else through
    np.asarray."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "__dlpack__"):
        try:
            return np.from_dlpack(value)
        except (BufferError, TypeError, ValueError, builtins.RuntimeError) as e:
            raise RuntimeError(
                f"{what}: cannot read the tensor through DLPack on the CPU ({e}); "
                "host inputs must be readable in host memory (detach tensors that "
                "require grad; GPU tensors are taken by CUDA models only)") from e
    return np.asarray(value)


# DLPack device types and (type code, bits) of each numpy dtype the models
# exchange (DLPack codes: 0 int, 1 uint, 2 float, 4 bfloat, 6 bool).
_DL_CPU, _DL_CUDA = 1, 2
_DLPACK_DTYPES = {
    1: (2, 32), 2: (1, 8), 3: (0, 8), 4: (1, 16), 5: (0, 16), 6: (0, 32), 7: (0, 64),
    9: (6, 8), 10: (2, 16), 11: (2, 64), 12: (1, 32), 13: (1, 64), 16: (4, 16),
}
# The stream argument of __dlpack__ for CUDA: the legacy default stream, which
# the producer makes wait for its own work and the runtime waits for.
_CUDA_LEGACY_STREAM = 1


def _device_of(value: Any) -> Optional[Tuple[int, int]]:
    """(DLPack device type, device id) of a DLPack object, else None."""
    if isinstance(value, np.ndarray) or not hasattr(value, "__dlpack_device__"):
        return None
    try:
        dev_type, dev_id = value.__dlpack_device__()
        return int(dev_type), int(dev_id)
    except Exception:  # not a usable DLPack object: treated as host data
        return None


def _nbytes(spec: "TensorInfo") -> int:
    n = spec.dtype.itemsize
    for d in spec.shape:
        n *= d
    return n


def _as_buffer(arr: np.ndarray) -> np.ndarray:
    """The array as the buffer protocol can export it: bfloat16 (a dtype
    numpy's buffer export does not know) as its uint16 bit patterns."""
    if arr.dtype.kind == "V" and arr.dtype.itemsize == 2:
        return arr.view(np.uint16)
    return arr


class CompiledModel:
    """A compiled ONNX model.

    Call it with one array per input (``model(x, y)``), or onnxruntime-style
    with ``model.run(None, {"x": x})``. Inputs are numpy arrays of any
    layout (copied only when not C-contiguous) or objects with
    ``__dlpack__`` such as torch tensors. Outputs are new numpy arrays, or
    DLPack capsules with ``run(..., dlpack=True)``. A model can be run from
    several threads at once; the GIL is released while it runs.

    What is zero-copy where:

    * CPU models: numpy arrays and CPU DLPack tensors are read in place
      (non-contiguous ones are copied once); GPU tensors are refused.
    * CUDA models: GPU DLPack tensors (device kDLCUDA, C-contiguous, the
      model's dtype and shape, on the runtime's device, KILN_CUDA_DEVICE)
      are passed to the kernels by device pointer, without a copy. Host
      inputs (numpy, CPU DLPack) are copied to the device, also when mixed
      with GPU tensors in one call. Outputs stay on the device with
      ``dlpack=True`` (kDLCUDA capsules, freed through the runtime when the
      consumer releases them) and are copied to numpy arrays otherwise.

    Not constructed directly: see :func:`compile` and :func:`load`.
    """

    def __init__(self, compiled: Any, runner: Any, target: str, library: Optional[str] = None,
                 emulate: bool = False) -> None:
        self._compiled = compiled
        self._runner = runner
        self._target = target
        self._library = library
        self._emulate = emulate
        #: The summary table of the last ``run(..., profile=...)`` (None before).
        self.last_profile: Optional[str] = None
        source = runner if runner is not None else compiled
        self._inputs = [_tensor_info(d) for d in source.inputs()]
        self._outputs = [_tensor_info(d) for d in source.outputs()]
        self._on_gpu = runner is not None and runner.target() == "cuda"
        self._input_index = {t.name: i for i, t in enumerate(self._inputs)}
        self._output_index = {t.name: i for i, t in enumerate(self._outputs)}

    @property
    def target(self) -> str:
        """The target the model was compiled for: "cpu" or "cuda"."""
        return self._target

    @property
    def inputs(self) -> List[TensorInfo]:
        """The model's inputs: name, shape and numpy dtype of each."""
        return list(self._inputs)

    @property
    def outputs(self) -> List[TensorInfo]:
        """The model's outputs: name, shape and numpy dtype of each."""
        return list(self._outputs)

    def __repr__(self) -> str:
        ins = ", ".join(f"{t.name}: {t.dtype}{list(t.shape)}" for t in self._inputs)
        outs = ", ".join(f"{t.name}: {t.dtype}{list(t.shape)}" for t in self._outputs)
        return f"<kiln.CompiledModel target={self._target!r} ({ins}) -> ({outs})>"

    def _prepare_input(self, spec: TensorInfo, value: Any) -> np.ndarray:
        what = f"input '{spec.name}'"
        arr = _to_numpy(value, what)
        if arr.dtype != spec.dtype:
            raise RuntimeError(f"{what} expects dtype {spec.dtype}, got {arr.dtype} "
                               "(convert it with .astype)")
        if tuple(arr.shape) != spec.shape:
            raise RuntimeError(f"{what} expects shape {spec.shape}, got {tuple(arr.shape)}")
        # Copies only arrays that are not C-contiguous and aligned.
        return np.require(arr, requirements=("C", "A"))

    def _device_input(self, spec: TensorInfo, value: Any, keep: List[Any]) -> int:
        """The device pointer of a GPU DLPack input, after checking it; the
        capsule goes to `keep` so that the tensor lives through the run."""
        what = f"input '{spec.name}'"
        try:
            try:
                capsule = value.__dlpack__(stream=_CUDA_LEGACY_STREAM)
            except TypeError:  # producers without the stream argument
                capsule = value.__dlpack__()
        except (BufferError, TypeError, ValueError, builtins.RuntimeError) as e:
            raise RuntimeError(f"{what}: cannot read the GPU tensor through DLPack ({e}; "
                               "detach tensors that require grad)") from e
        keep.append(capsule)
        t = _runtime.dlpack_tensor(capsule)
        device = _runtime.cuda_device()
        if t["device_type"] != _DL_CUDA:
            raise RuntimeError(f"{what}: DLPack device type {t['device_type']} is not a "
                               "CUDA device")
        if t["device_id"] != device:
            raise RuntimeError(f"{what} is on CUDA device {t['device_id']}, but Kiln runs "
                               f"CUDA models on device {device} (set KILN_CUDA_DEVICE, or "
                               f"move the tensor with .to('cuda:{device}'))")
        code, bits = _DLPACK_DTYPES[spec.onnx_type]
        got = (t["code"], t["bits"])
        # bool is exported as uint8 by older producers.
        if t["lanes"] != 1 or (got != (code, bits) and not (code == 6 and got == (1, 8))):
            raise RuntimeError(f"{what} expects dtype {spec.dtype}, got DLPack type code "
                               f"{t['code']} with {t['bits']} bits x {t['lanes']} lanes "
                               "(convert it on the device first)")
        if tuple(t["shape"]) != spec.shape:
            raise RuntimeError(f"{what} expects shape {spec.shape}, got {tuple(t['shape'])}")
        if t["strides"] is not None:
            expect = 1
            for dim, stride in zip(reversed(spec.shape), reversed(t["strides"])):
                if dim != 1 and stride != expect:
                    raise RuntimeError(
                        f"{what}: the GPU tensor is not C-contiguous (strides "
                        f"{tuple(t['strides'])} in elements); Kiln passes device tensors "
                        "without copying them: make it contiguous first (.contiguous())")
                expect *= dim
        if not t["ptr"]:
            raise RuntimeError(f"{what}: the GPU tensor has no data pointer")
        return t["ptr"]

    def _run_on_device(self, arrays: Sequence[Any], devices: List[Optional[Tuple[int, int]]],
                       capsules: bool, picked: Optional[List[int]]) -> List[Any]:
        """Runs a CUDA model on device buffers: GPU tensors in place, host
        inputs uploaded into runtime allocations. Returns the outputs in
        `picked` (None: all) as kDLCUDA capsules or downloaded arrays."""
        keep: List[Any] = []
        owned: List[int] = []  # runtime allocations to free unless handed out
        try:
            ins = []
            for spec, value, dev in zip(self._inputs, arrays, devices):
                if dev is not None and dev[0] == _DL_CUDA:
                    ins.append(self._device_input(spec, value, keep))
                    continue
                arr = _as_buffer(self._prepare_input(spec, value))
                ptr = _runtime.device_alloc(_nbytes(spec))
                owned.append(ptr)
                _runtime.copy_to_device(ptr, arr)
                ins.append(ptr)
            outs = []
            for spec in self._outputs:
                outs.append(_runtime.device_alloc(_nbytes(spec)))
                owned.append(outs[-1])
            self._runner.run_device(ins, outs, _CUDA_LEGACY_STREAM if keep else 0)
            results: List[Any] = []
            device = _runtime.cuda_device() if capsules else 0
            for i in (picked if picked is not None else range(len(self._outputs))):
                spec = self._outputs[i]
                if capsules:
                    code, bits = _DLPACK_DTYPES[spec.onnx_type]
                    # The same output picked twice gets its own copy.
                    ptr = outs[i]
                    if ptr not in owned:
                        ptr = _runtime.device_alloc(_nbytes(spec))
                        owned.append(ptr)
                        host = np.empty(spec.shape, dtype=spec.dtype)
                        _runtime.copy_to_host(_as_buffer(host), outs[i])
                        _runtime.copy_to_device(ptr, _as_buffer(host))
                    results.append(_runtime.device_capsule(ptr, code, bits, list(spec.shape),
                                                           device))
                    owned.remove(ptr)
                else:
                    host = np.empty(spec.shape, dtype=spec.dtype)
                    _runtime.copy_to_host(_as_buffer(host), outs[i])
                    results.append(host)
            return results
        finally:
            for ptr in owned:
                _runtime.device_free(ptr)
            del keep

    def _check_runnable(self, arrays: Sequence[Any]) -> List[Optional[Tuple[int, int]]]:
        """The DLPack device of each input (None: not a DLPack object)."""
        if self._runner is None:
            raise RuntimeError(
                f"the model cannot run here: {self._compiled.load_error()} (ir(\"gpu\") "
                "and ir(\"ptx\") show the compiled kernels, save() writes the library, "
                "and kiln.compile(..., target=\"cuda\", emulate=True) runs the kernels' "
                "loop structure on the CPU)")
        if len(arrays) != len(self._inputs):
            names = ", ".join(t.name for t in self._inputs)
            raise RuntimeError(f"the model takes {len(self._inputs)} inputs ({names}), "
                               f"got {len(arrays)}")
        devices = [_device_of(v) for v in arrays]
        if not self._on_gpu:
            for spec, dev in zip(self._inputs, devices):
                if dev is not None and dev[0] == _DL_CUDA:
                    raise RuntimeError(
                        f"input '{spec.name}' is on CUDA device {dev[1]}, but this model "
                        f"runs on the CPU (target={self._target!r}"
                        f"{', emulate=True' if self._emulate else ''}): move the tensor "
                        "with .cpu(), or compile with target=\"cuda\"")
        return devices

    def _run_arrays(self, arrays: Sequence[Any], capsules: bool = False,
                    picked: Optional[List[int]] = None, profile: Optional[str] = None,
                    profile_runs: int = 10) -> List[Any]:
        devices = self._check_runnable(arrays)
        on_device = any(d is not None and d[0] == _DL_CUDA for d in devices)
        if self._on_gpu and (on_device or capsules):
            if profile is not None:
                raise RuntimeError("profile= times runs on host inputs: pass numpy arrays or "
                                   "CPU tensors (and no dlpack=True) to profile a CUDA model")
            return self._run_on_device(arrays, devices, capsules, picked)
        ins = [self._prepare_input(s, v) for s, v in zip(self._inputs, arrays)]
        outs = [np.empty(t.shape, dtype=t.dtype) for t in self._outputs]
        summary = self._runner.run([_as_buffer(a) for a in ins], [_as_buffer(a) for a in outs],
                                   profile, int(profile_runs))
        if summary is not None:
            self.last_profile = summary
            print(summary, end="", flush=True)
        if picked is not None:
            outs = [outs[i] for i in picked]
        if capsules:
            return [o.__dlpack__() for o in outs]
        return outs

    def __call__(self, *arrays: Any) -> Union[np.ndarray, Tuple[np.ndarray, ...]]:
        """Runs the model on one value per input, in order. Returns the
        output array, or a tuple of them if the model has several."""
        outs = self._run_arrays(arrays)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def run(self, output_names: Optional[Sequence[str]], feeds: Mapping[str, Any],
            *, dlpack: bool = False, profile: Optional[Union[str, "os.PathLike[str]"]] = None,
            profile_runs: int = 10) -> List[Any]:
        """Runs the model, onnxruntime-style.

        ``feeds`` maps every input name to its value; ``output_names``
        selects outputs (None: all, in model order). With ``dlpack=True``
        the outputs are DLPack capsules (``torch.from_dlpack`` takes them
        without a copy) instead of numpy arrays: host capsules for a CPU
        model, capsules of device memory (kDLCUDA, on the runtime's device)
        for a CUDA model, so that results stay on the GPU. A device capsule
        owns its memory; it is freed through Kiln's runtime when the
        consumer releases the tensor (or when an unconsumed capsule is
        garbage-collected).

        With ``profile="trace.json"`` the model runs once untimed and then
        ``profile_runs`` times with every kernel timed (CPU models; CUDA
        models time whole runs): a Chrome trace (Perfetto, chrome://tracing)
        is written there, and the kernels by time, with their share,
        GFLOP/s and GB/s against the machine's peak, are printed and kept
        in ``.last_profile``. ``profile=""`` prints the table only.
        """
        unknown = sorted(set(feeds) - set(self._input_index))
        if unknown:
            raise RuntimeError(f"no model input named {', '.join(map(repr, unknown))} "
                               f"(inputs: {', '.join(t.name for t in self._inputs)})")
        missing = [t.name for t in self._inputs if t.name not in feeds]
        if missing:
            raise RuntimeError(f"no value for input {', '.join(map(repr, missing))}")
        picked = None
        if output_names is not None:
            if isinstance(output_names, str):
                raise TypeError("output_names is a list of names, not one string")
            picked = []
            for name in output_names:
                if name not in self._output_index:
                    raise RuntimeError(
                        f"no model output named {name!r} "
                        f"(outputs: {', '.join(t.name for t in self._outputs)})")
                picked.append(self._output_index[name])
        if profile is not None:
            profile = os.fspath(profile)
            if not 1 <= int(profile_runs) <= 100000:
                raise ValueError(f"profile_runs must be in [1, 100000], got {profile_runs}")
        return self._run_arrays([feeds[t.name] for t in self._inputs], bool(dlpack), picked,
                                profile, int(profile_runs))

    def ir(self, stage: str = "kiln") -> str:
        """The IR text of a compilation stage.

        ``"kiln"``: the imported, cleaned-up kiln dialect; ``"fused"``: kiln
        IR partitioned into ``kiln.kernel`` groups; ``"linalg"``: linalg on tensors; ``"llvm"``:
        the optimized LLVM IR (target "cpu"); ``"gpu"``: the GPU kernels and
        their launches, ``"ptx"``: their PTX (target "cuda").
        """
        if self._compiled is None:
            raise RuntimeError("this model was loaded from a compiled library: its IR "
                               "is not kept (compile the ONNX model to see it)")
        return self._compiled.ir(stage)

    def fusion_report(self) -> Dict[str, Any]:
        """The kernel partition, as ``kilnc --fusion-report`` writes it: per
        kernel its name, kind, the ONNX nodes it covers, its kiln ops, FLOPs
        and bytes moved; and the totals."""
        if self._compiled is None:
            raise RuntimeError("this model was loaded from a compiled library: its "
                               "kernel partition is not kept")
        return json.loads(self._compiled.fusion_report())

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the compiled model as a shared library that
        :func:`kiln.load` (or the C runtime, kiln_model_load) runs without
        the compiler. Weights of 1 GiB or more go to a file beside it
        (``PATH.weights``), which must stay in the library's folder."""
        path = os.fspath(path)
        if self._compiled is None:
            shutil.copyfile(self._library, path)
            # A library with its weights in a file finds it by name in its
            # own folder: the file goes along.
            weights = self._runner.weights_file()
            if weights:
                target = os.path.join(os.path.dirname(os.path.abspath(path)),
                                      os.path.basename(weights))
                if not (os.path.exists(target) and os.path.samefile(weights, target)):
                    shutil.copyfile(weights, target)
            return
        self._compiled.save(path)


class DynamicModel:
    """A model with symbolic (or unknown) input dimensions, compiled once per
    distinct set of input shapes.

    Calls look like :class:`CompiledModel`'s: ``model(x, ...)`` or
    ``model.run(None, feeds)``. The shapes of the given values pick a
    specialization: the first call with new shapes compiles the model for
    them (as ``kilnc --input-shape`` would), later calls with those shapes
    reuse it. The most recently used ``cache_size`` specializations are
    kept (least recently used dropped first). A value whose rank, fixed
    dims or shared symbolic dims disagree with the model's declaration is
    an error naming the input before anything is compiled.

    Not constructed directly: :func:`compile` returns one for a model with
    symbolic input dims that ``input_shapes`` does not pin.
    """

    def __init__(self, declared: List[Dict[str, Any]], compile_for: Any, target: str,
                 cache_size: int) -> None:
        self._declared = declared
        self._compile_for = compile_for
        self._target = target
        self._capacity = cache_size
        self._cache: "collections.OrderedDict[Tuple[Any, ...], CompiledModel]" = \
            collections.OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._index = {d["name"]: i for i, d in enumerate(declared)}

    @property
    def target(self) -> str:
        """The target specializations are compiled for."""
        return self._target

    @property
    def inputs(self) -> List[TensorInfo]:
        """The declared inputs; a symbolic dim is None, and so is the shape
        of an input declared without one."""
        out = []
        for d in self._declared:
            shape = tuple(None if v < 0 else v for v in d["dims"]) if d["has_shape"] else None
            out.append(TensorInfo(d["name"], shape, _NUMPY_DTYPES.get(d["dtype"])))
        return out

    @property
    def symbolic_dims(self) -> Dict[str, List[Tuple[str, int]]]:
        """Each named symbolic dim with the (input, axis) places it sizes."""
        dims: Dict[str, List[Tuple[str, int]]] = {}
        for d in self._declared:
            for axis, name in enumerate(d["dim_names"]):
                if name:
                    dims.setdefault(name, []).append((d["name"], axis))
        return dims

    def cache_info(self) -> Dict[str, Any]:
        """Hits, misses (compilations), capacity and the cached shapes, most
        recently used last."""
        with self._lock:
            return {"hits": self._hits, "misses": self._misses, "capacity": self._capacity,
                    "shapes": [dict(zip(self._index, key)) for key in self._cache]}

    def _shapes_of(self, values: Sequence[Any]) -> Tuple[Tuple[int, ...], ...]:
        if len(values) != len(self._declared):
            raise RuntimeError(f"the model takes {len(self._declared)} inputs "
                               f"({', '.join(d['name'] for d in self._declared)}), "
                               f"got {len(values)}")
        shapes = []
        sizes: Dict[str, Tuple[int, str]] = {}
        for d, value in zip(self._declared, values):
            shape = getattr(value, "shape", None)
            if shape is None:
                shape = np.shape(value)
            shape = tuple(int(v) for v in shape)
            what = f"input '{d['name']}'"
            if d["has_shape"]:
                declared = d["dims"]
                if len(shape) != len(declared):
                    spec = "x".join(n or (str(v) if v >= 0 else "?")
                                    for v, n in zip(declared, d["dim_names"])) or "a scalar"
                    raise RuntimeError(f"{what} has rank {len(shape)} (shape {shape}), the "
                                       f"model declares rank {len(declared)} ({spec})")
                for axis, (got, want, name) in enumerate(zip(shape, declared, d["dim_names"])):
                    if want >= 0 and got != want:
                        raise RuntimeError(f"{what} has size {got} at axis {axis}, the "
                                           f"model declares {want}")
                    if name:
                        seen = sizes.setdefault(name, (got, d["name"]))
                        if seen[0] != got:
                            raise RuntimeError(
                                f"symbolic dim '{name}' is {seen[0]} in input '{seen[1]}' "
                                f"but {got} in {what} (axis {axis})")
            shapes.append(shape)
        return tuple(shapes)

    def specialization(self, shapes: Mapping[str, Sequence[int]]) -> CompiledModel:
        """The model compiled for these input shapes (from the cache, or
        compiled now and cached)."""
        key = tuple(tuple(int(v) for v in shapes[d["name"]]) for d in self._declared)
        with self._lock:
            model = self._cache.get(key)
            if model is not None:
                self._cache.move_to_end(key)
                self._hits += 1
                return model
            self._misses += 1
        # Compiled outside the lock: other shapes may run meanwhile. Two
        # threads asking for one new shape at once both compile it.
        model = self._compile_for({d["name"]: list(k) for d, k in zip(self._declared, key)})
        with self._lock:
            self._cache[key] = model
            self._cache.move_to_end(key)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return model

    def _for_values(self, values: Sequence[Any]) -> CompiledModel:
        shapes = self._shapes_of(values)
        return self.specialization({d["name"]: s for d, s in zip(self._declared, shapes)})

    def __call__(self, *arrays: Any) -> Union[np.ndarray, Tuple[np.ndarray, ...]]:
        """Runs the model on one value per input, in order, compiling it for
        their shapes first if needed."""
        return self._for_values(arrays)(*arrays)

    def run(self, output_names: Optional[Sequence[str]], feeds: Mapping[str, Any],
            *, dlpack: bool = False, **profile: Any) -> List[Any]:
        """Runs the model onnxruntime-style (see :meth:`CompiledModel.run`;
        ``profile=`` and ``profile_runs=`` profile the specialization)."""
        unknown = sorted(set(feeds) - set(self._index))
        if unknown:
            raise RuntimeError(f"no model input named {', '.join(map(repr, unknown))} "
                               f"(inputs: {', '.join(self._index)})")
        missing = [n for n in self._index if n not in feeds]
        if missing:
            raise RuntimeError(f"no value for input {', '.join(map(repr, missing))}")
        model = self._for_values([feeds[n] for n in self._index])
        return model.run(output_names, feeds, dlpack=dlpack, **profile)

    def __repr__(self) -> str:
        ins = ", ".join(f"{t.name}: {t.dtype}"
                        f"{['?' if v is None else v for v in t.shape] if t.shape else '[?]'}"
                        for t in self.inputs)
        return (f"<kiln.DynamicModel target={self._target!r} ({ins}), "
                f"{len(self._cache)} of {self._capacity} shapes compiled>")


def _model_source(model: Any) -> Tuple[bytes, bool]:
    """(bytes, is_path) for a path, serialized bytes or an onnx.ModelProto."""
    if isinstance(model, (str, os.PathLike)):
        return os.fsencode(os.fspath(model)), True
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), False
    if hasattr(model, "SerializeToString"):
        # onnx.ModelProto: serialized here, so that PyPI's onnx (its own
        # protobuf) and Kiln's libonnx never exchange C++ objects.
        size = model.ByteSize() if hasattr(model, "ByteSize") else 0
        if size >= 2**31:
            raise ValueError(
                f"the model is {size} bytes, over protobuf's 2 GiB limit: save it with its "
                "weights as external data (onnx.save_model(model, 'model.onnx', "
                "save_as_external_data=True)) and compile the path")
        return model.SerializeToString(), False
    raise TypeError("kiln.compile expects a path, bytes or an onnx.ModelProto, "
                    f"got {type(model).__name__}")


def compile(model: Any, target: str = "cpu", gpu_arch: Optional[str] = None,
            input_shapes: Optional[Mapping[str, Sequence[int]]] = None,
            fusion: bool = True, **options: Any) -> Union[CompiledModel, "DynamicModel"]:
    """Compiles an ONNX model.

    Args:
      model: a path to a ``.onnx`` / ``.onnxtxt`` file, the model's bytes,
        or an ``onnx.ModelProto``.
      target: ``"cpu"`` (JIT-compiled for this machine) or ``"cuda"`` (a
        CUDA model library run through Kiln's runtime; needs an NVIDIA GPU
        and its driver to run, not to compile).
      gpu_arch: with target "cuda": ``"sm_80"`` (default), ``"sm_86"``,
        ``"sm_89"`` or ``"sm_90"``.
      input_shapes: static shapes for inputs with symbolic or unknown
        dimensions, e.g. ``{"x": (1, 3, 224, 224)}``.
      fusion: partition the graph into fused kernels (the default); False
        is ``kilnc --no-fusion``: linalg fuses what it can on its own.
      options: ``emulate=True`` (target "cuda"): run the GPU kernels' loop
        structure on the CPU; ``precision="tf32"``, ``"fp16"`` or ``"bf16"``
        (target "cuda"): round the operands of matmul/conv kernels (fp32
        accumulation; default ``"fp32"``); ``frozen_inputs={name: array}``:
        compile these inputs' values in as constants (shape-like inputs);
        ``max_tensor_bytes=N``: the largest tensor the model may declare or
        compute (default 16 GiB; ``kilnc --max-tensor-bytes``);
        ``index_checks=False``: no run-time checks of Gather, GatherElements
        and GatherND indices (``kilnc --no-index-checks``);
        ``fuse_attention=False``: attention as matmul, softmax and matmul
        instead of one fused kernel (``kilnc --no-fuse-attention``);
        ``shape_cache_size=N``: for a model with symbolic input dims, how
        many specializations (one per distinct set of input shapes) to
        keep (default 8).

    Returns:
      A :class:`CompiledModel`; or, when the model declares symbolic or
      unknown input dims that ``input_shapes`` does not pin, a
      :class:`DynamicModel` that compiles on first use for each distinct
      set of input shapes it is called with.

    Raises:
      kiln.UnsupportedOpError: the model uses ops Kiln does not import
        (``.ops`` lists them).
      kiln.CompileError: any other import or compilation failure, with the
        message kilnc prints.
    """
    source, is_path = _model_source(model)
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (available: cpu, cuda)")
    if target == "cuda":
        gpu_arch = gpu_arch or "sm_80"
        if gpu_arch not in GPU_ARCHES:
            raise ValueError(f"unsupported gpu_arch {gpu_arch!r} ({', '.join(GPU_ARCHES)})")
    elif gpu_arch is not None:
        raise ValueError("gpu_arch applies to target=\"cuda\" only")
    emulate = bool(options.pop("emulate", False))
    if emulate and target != "cuda":
        raise ValueError("emulate=True applies to target=\"cuda\" only")
    precision = str(options.pop("precision", "fp32"))
    if precision != "fp32" and target != "cuda":
        raise ValueError("precision applies to target=\"cuda\" only")
    frozen = options.pop("frozen_inputs", None) or {}
    max_tensor_bytes = options.pop("max_tensor_bytes", None)
    if max_tensor_bytes is not None:
        max_tensor_bytes = int(max_tensor_bytes)
        if max_tensor_bytes <= 0:
            raise ValueError(f"max_tensor_bytes must be positive, got {max_tensor_bytes}")
    index_checks = bool(options.pop("index_checks", True))
    fuse_attention = bool(options.pop("fuse_attention", True))
    cache_size = int(options.pop("shape_cache_size", 8))
    if cache_size < 1:
        raise ValueError(f"shape_cache_size must be at least 1, got {cache_size}")
    if options:
        raise TypeError(f"kiln.compile got unknown options: {', '.join(sorted(options))}")
    shapes: Dict[str, List[int]] = {}
    for name, dims in (input_shapes or {}).items():
        try:
            shapes[str(name)] = [int(d) for d in dims]
        except (TypeError, ValueError):
            raise ValueError(f"input_shapes[{name!r}] must be a sequence of integers, "
                             f"got {dims!r}") from None
        if any(d < 0 for d in shapes[str(name)]):
            raise ValueError(f"input_shapes[{name!r}] has a negative dimension: {dims!r}")
    frozen_values = {}
    for name, value in frozen.items():
        # np.require keeps rank 0 (np.ascontiguousarray would make it rank 1).
        arr = np.require(_to_numpy(value, f"frozen input '{name}'"), requirements="C")
        if arr.dtype not in _ONNX_CODES:
            raise ValueError(f"frozen input '{name}': unsupported dtype {arr.dtype}")
        frozen_values[str(name)] = (_ONNX_CODES[arr.dtype], list(arr.shape), arr.tobytes())

    limits = {"index_checks": index_checks, "fuse_attention": fuse_attention}
    if max_tensor_bytes is not None:
        limits["max_tensor_bytes"] = max_tensor_bytes

    def compile_for(pinned: Mapping[str, List[int]]) -> CompiledModel:
        compiled = _load_compiler().compile(source, is_path, dict(pinned), frozen_values,
                                            target, gpu_arch or "", emulate, bool(fusion),
                                            precision, **limits)
        runner = None
        if compiled.handle():
            runner = _runtime.RuntimeModel.borrow(compiled.handle(), compiled)
        return CompiledModel(compiled, runner, target, emulate=emulate)

    declared = _load_compiler().declared_inputs(source, is_path)
    if declared is not None:
        declared = [d for d in declared if d["name"] not in frozen_values]
        free = [d for d in declared if d["name"] not in shapes and
                (not d["has_shape"] or any(v < 0 for v in d["dims"]))]
        if free:
            for d in declared:
                if d["name"] in shapes:  # pinned: a fixed declaration
                    d["has_shape"], d["dims"] = True, list(shapes[d["name"]])
                    d["dim_names"] = [""] * len(d["dims"])

            def compile_pinned(pinned: Mapping[str, List[int]]) -> CompiledModel:
                return compile_for({**shapes, **pinned})

            return DynamicModel(declared, compile_pinned, target, cache_size)
    return compile_for(shapes)


def load(path: Union[str, "os.PathLike[str]"]) -> CompiledModel:
    """Loads a library written by :meth:`CompiledModel.save`. Needs only
    Kiln's runtime (the compiler is not imported)."""
    # Absolute, so that a later change of working folder does not matter.
    path = os.path.abspath(os.fspath(path))
    runner = _runtime.RuntimeModel.load(path)
    return CompiledModel(None, runner, runner.target(), library=path)


def set_num_threads(threads: int) -> None:
    """Threads that compiled models use (default: KILN_NUM_THREADS, else
    every core). Takes effect for runs that start afterwards."""
    _runtime.set_num_threads(int(threads))


def get_num_threads() -> int:
    """The number of threads compiled models use."""
    return _runtime.get_num_threads()
