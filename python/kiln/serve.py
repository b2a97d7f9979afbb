"""Serving Kiln-compiled ONNX models through NVIDIA Triton Inference Server.

    python -m kiln.serve model.onnx --max-batch 8 --instances 2 --http-port 8000

The model is compiled with :func:`kiln.compile` and bound to Triton through
PyTriton (``nvidia-pytriton``, which ships the ``tritonserver`` binary): one
Triton tensor per model input and output, Triton's dynamic batching when the
model's first input dim is a symbolic batch dim, ``--instances`` model
instances, and Triton's HTTP, gRPC, health and metrics endpoints.

Batched requests are padded with zeros to the next size of a small set of
*buckets* (powers of two up to ``--max-batch``, and ``--max-batch`` itself),
run, and sliced back, so that a :class:`kiln.DynamicModel` compiles one
specialization per bucket instead of one per batch size.

From Python::

    with kiln.serve.KilnServer("model.onnx", http_port=8000) as server:
        ...                       # serving until the block ends
    kiln.serve.serve("model.onnx")  # blocks until SIGINT or SIGTERM

PyTriton 0.7 runs Triton's Python backend stub with the numpy of the Python
that runs this module, and that stub needs numpy < 2: run the server from a
virtual environment made with ``requirements/serve.txt`` (docs/serving.md).
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import signal
import socket
import sys
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._errors import KilnError
from ._model import CompiledModel, DynamicModel, compile as _kiln_compile, set_num_threads

__all__ = ["KilnServer", "ModelPlan", "ServeError", "TensorSpec", "batch_buckets", "main",
           "plan_model", "serve"]

LOG = logging.getLogger("kiln.serve")

#: How to make a Python that can run the server (see docs/serving.md).
SETUP_HINT = ("make a serving venv: /usr/bin/python3 -m venv .venv-serve && "
              ".venv-serve/bin/pip install -r requirements/serve.txt, then run "
              ".venv-serve/bin/python -m kiln.serve (docs/serving.md)")

# Dtypes Triton (and PyTriton) exchange; bfloat16 has no numpy type there.
_SERVABLE_KINDS = "biuf"


class ServeError(Exception):
    """A problem that stops the server from starting, said in one line."""


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """One Triton tensor: its dims leave out the batch dim when batching;
    -1 is a dim of any size."""

    name: str
    dtype: np.dtype
    dims: Tuple[int, ...]


@dataclasses.dataclass
class ModelPlan:
    """How a compiled model is served."""

    model: Any  # kiln.CompiledModel or kiln.DynamicModel
    inputs: List[TensorSpec]
    outputs: List[TensorSpec]
    batching: bool
    max_batch: int  # Triton's max_batch_size (0 without batching)
    buckets: List[int]  # batch sizes requests are padded to (empty without batching)
    note: str  # why batching is on or off, for the log
    warm_shapes: List[Dict[str, Tuple[int, ...]]] = dataclasses.field(default_factory=list)

    def bucket(self, n: int) -> int:
        """The smallest bucket holding a batch of `n` (n itself past the
        largest bucket)."""
        for b in self.buckets:
            if b >= n:
                return b
        return n


def batch_buckets(max_batch: int) -> List[int]:
    """The batch sizes batched requests are padded to: the powers of two
    below `max_batch`, and `max_batch`."""
    if max_batch < 1:
        return []
    sizes = []
    b = 1
    while b < max_batch:
        sizes.append(b)
        b *= 2
    sizes.append(max_batch)
    return sizes


def _fmt_dims(dims: Sequence[int]) -> str:
    return "[" + ", ".join("?" if d < 0 else str(d) for d in dims) + "]"


def _check_dtype(name: str, dtype: Optional[np.dtype]) -> np.dtype:
    if dtype is None or dtype.kind not in _SERVABLE_KINDS:
        raise ServeError(f"tensor '{name}' has dtype {dtype}, which Triton cannot exchange "
                         "through PyTriton (bool, integers and float16/32/64 can)")
    return np.dtype(dtype)


def plan_model(model: Any, max_batch: int = 8) -> ModelPlan:
    """Decides how `model` (a kiln.CompiledModel or kiln.DynamicModel) is
    served: batched along a symbolic first input dim shared by every input
    and output, with up to `max_batch` rows (0: never batched); otherwise
    unbatched, with -1 for the symbolic dims."""
    if max_batch < 0:
        raise ServeError(f"--max-batch must be 0 or more, got {max_batch}")
    if isinstance(model, CompiledModel):
        inputs = [TensorSpec(t.name, _check_dtype(t.name, t.dtype), tuple(t.shape))
                  for t in model.inputs]
        outputs = [TensorSpec(t.name, _check_dtype(t.name, t.dtype), tuple(t.shape))
                   for t in model.outputs]
        first = model.inputs[0] if model.inputs else None
        if first is not None and first.shape:
            why = (f"the batch dim is fixed (input '{first.name}' is "
                   f"{_fmt_dims(first.shape)})")
        else:
            why = "the model has no input with a batch dim"
        return ModelPlan(model, inputs, outputs, False, 0, [],
                         f"{why}: serving without batching (max_batch_size 0)")
    if not isinstance(model, DynamicModel):
        raise ServeError(f"expected a kiln.CompiledModel or kiln.DynamicModel, got "
                         f"{type(model).__name__}")

    declared = model.inputs
    for t in declared:
        if t.shape is None:
            raise ServeError(f"input '{t.name}' declares no shape (not even its rank); "
                             "give it one in the ONNX model")
        _check_dtype(t.name, t.dtype)
    places = {}  # (input, axis) -> symbolic dim name
    for dim, where in model.symbolic_dims.items():
        for place in where:
            places[place] = dim
    batch_dim = _batch_dim(declared, places, model.symbolic_dims)
    reason = batch_dim if batch_dim.startswith("!") else None
    free_other = any(d is None for t in declared for d in t.shape[1:])

    def shapes_for(batch: int) -> Dict[str, Tuple[int, ...]]:
        # Sizes the free dims for a trial compilation: the batch dim as asked,
        # any other symbolic dim as 1.
        out = {}
        for t in declared:
            out[t.name] = tuple(
                (batch if axis == 0 and reason is None else 1) if d is None else d
                for axis, d in enumerate(t.shape))
        return out

    try:
        one = model.specialization(shapes_for(1))
    except KilnError as e:
        raise ServeError(f"cannot compile the model for shapes {shapes_for(1)}: "
                         f"{_one_line(e)}") from None
    out_dtypes = [(t.name, _check_dtype(t.name, t.dtype)) for t in one.outputs]

    if reason is None and max_batch >= 1:
        try:
            two = model.specialization(shapes_for(2))
        except KilnError as e:
            raise ServeError(f"cannot compile the model for shapes {shapes_for(2)}: "
                             f"{_one_line(e)}") from None
        for t1, t2 in zip(one.outputs, two.outputs):
            if len(t1.shape) == 0 or t1.shape[0] != 1 or t2.shape[0] != 2:
                reason = (f"!output '{t1.name}' ({_fmt_dims(t1.shape)} for a batch of 1) "
                          "does not carry the batch dim")
                break
    elif reason is None:
        reason = "!--max-batch is 0"

    if reason is None:
        buckets = batch_buckets(max_batch)
        inputs = [TensorSpec(t.name, np.dtype(t.dtype),
                             tuple(-1 if d is None else d for d in t.shape[1:]))
                  for t in declared]
        outputs = []
        for (name, dtype), t1 in zip(out_dtypes, one.outputs):
            dims = tuple(-1 for _ in t1.shape[1:]) if free_other else tuple(t1.shape[1:])
            outputs.append(TensorSpec(name, dtype, dims))
        plan = ModelPlan(model, inputs, outputs, True, max_batch, buckets,
                         f"dynamic batching on {_dim_name(batch_dim)}, up to {max_batch} rows "
                         f"a batch, padded to the buckets {', '.join(map(str, buckets))}")
        if not free_other:
            plan.warm_shapes = [shapes_for(b) for b in buckets]
        return plan

    inputs = [TensorSpec(t.name, np.dtype(t.dtype), tuple(-1 if d is None else d for d in t.shape))
              for t in declared]
    outputs = [TensorSpec(name, dtype, tuple(-1 for _ in t1.shape))
               for (name, dtype), t1 in zip(out_dtypes, one.outputs)]
    return ModelPlan(model, inputs, outputs, False, 0, [],
                     f"{reason[1:]}: serving without batching (max_batch_size 0); "
                     "Kiln compiles each new set of input shapes once")


def _batch_dim(declared, places, symbolic_dims) -> str:
    """The name of the batch dim, or a reason (starting with '!') why the
    model has none that batching can use."""
    names = []
    for t in declared:
        if len(t.shape) == 0 or t.shape[0] is not None:
            shown = _fmt_dims([-1 if d is None else d for d in t.shape])
            return (f"!the batch dim is fixed (input '{t.name}' is {shown})" if t.shape
                    else f"!input '{t.name}' is a scalar")
        names.append(places.get((t.name, 0), ""))
    if len(declared) == 1 and not names[0]:
        return "?"  # one input with an unnamed unknown first dim
    if not names or not names[0] or any(n != names[0] for n in names):
        return "!the inputs' first dims are not one shared symbolic dim"
    if any(axis != 0 for _, axis in symbolic_dims[names[0]]):
        return f"!symbolic dim '{names[0]}' also sizes axes other than the first"
    return names[0]


def _dim_name(dim: str) -> str:
    return "the inputs' first dim" if dim == "?" else f"symbolic dim '{dim}'"


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 600 else text[:600] + " ..."


class KilnInfer:
    """The inference callable of one model instance: runs PyTriton's
    requests (each a mapping of input name to array) and returns one dict of
    output arrays per request."""

    def __init__(self, plan: ModelPlan) -> None:
        self.plan = plan
        self._names = [t.name for t in plan.inputs]
        self._out_names = [t.name for t in plan.outputs]
        self.bucket_runs: Dict[int, int] = {}  # padded batch size -> runs
        self._lock = threading.Lock()

    def _run(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        outs = self.plan.model.run(None, feeds)
        return dict(zip(self._out_names, outs))

    def __call__(self, requests: Sequence[Any]) -> List[Dict[str, np.ndarray]]:
        if not self.plan.batching:
            return [self._run({n: np.asarray(r[n]) for n in self._names}) for r in requests]
        # Requests whose non-batch dims agree are run as one padded batch.
        groups: Dict[Tuple[Any, ...], List[int]] = {}
        arrays = [[np.asarray(r[n]) for n in self._names] for r in requests]
        for i, values in enumerate(arrays):
            key = tuple((v.dtype.str, v.shape[1:]) for v in values)
            groups.setdefault(key, []).append(i)
        responses: List[Optional[Dict[str, np.ndarray]]] = [None] * len(requests)
        for members in groups.values():
            sizes = [arrays[i][0].shape[0] for i in members]
            total = sum(sizes)
            padded = self.plan.bucket(total)
            feeds = {}
            for k, name in enumerate(self._names):
                parts = [arrays[i][k] for i in members]
                if padded > total:
                    first = parts[0]
                    parts.append(np.zeros((padded - total,) + first.shape[1:], first.dtype))
                feeds[name] = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
            outs = self._run(feeds)
            with self._lock:
                self.bucket_runs[padded] = self.bucket_runs.get(padded, 0) + 1
            start = 0
            for i, n in zip(members, sizes):
                responses[i] = {name: out[start:start + n] for name, out in outs.items()}
                start += n
        return responses  # type: ignore[return-value]


def _check_port(address: str, port: int, what: str) -> None:
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ServeError(f"the {what} port must be in 1..65535, got {port}")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError as e:
            raise ServeError(f"cannot use {what} port {port} on {address}: "
                             f"{e.strerror or e}") from None


def _model_name(model: Any) -> str:
    if isinstance(model, (str, os.PathLike)):
        base = os.path.basename(os.fspath(model))
        for ext in (".onnxtxt", ".onnx"):
            if base.endswith(ext):
                base = base[:-len(ext)]
        name = re.sub(r"[^A-Za-z0-9._-]", "_", base)
        if name.strip("._-"):
            return name
    return "model"


def _import_pytriton():
    """PyTriton's modules, after checking this Python can run its stub."""
    try:
        import pytriton  # noqa: F401
        from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
        from pytriton.triton import Triton, TritonConfig
    except ImportError as e:
        raise ServeError(f"PyTriton is not importable in {sys.executable} ({e}); "
                         f"{SETUP_HINT}") from None
    if int(np.__version__.split(".")[0]) >= 2:
        raise ServeError(f"PyTriton's Triton Python backend stub needs numpy < 2, and "
                         f"{sys.executable} has numpy {np.__version__}; {SETUP_HINT}")
    return Triton, TritonConfig, ModelConfig, Tensor, DynamicBatcher


class KilnServer:
    """A Kiln model served by Triton through PyTriton.

    ``start()`` (or entering a ``with`` block) compiles the model, starts
    ``tritonserver`` and returns when the model is ready; ``stop()`` (or
    leaving the block) shuts it down. All addresses default to the loopback
    interface; pass ``address="0.0.0.0"`` to serve other hosts.

    Args:
      model: a path, the model's bytes, an ``onnx.ModelProto``, or a model
        that :func:`kiln.compile` returned.
      name: the Triton model name (default: the file name without extension).
      max_batch: Triton's max_batch_size when the model batches (0: never).
      instances: model instances (Triton's instance_group count), each run
        by its own thread of this process; they share the compiled model.
      threads: threads each Kiln run uses (``kiln.set_num_threads``).
      queue_delay_us: how long Triton's dynamic batcher may hold a request
        to batch it with later ones.
      warmup: compile every batch bucket before serving.
      exit_timeout: seconds Triton waits for in-flight requests on stop.
      log_verbose: Triton's verbose log level; triton_log: a file for
        Triton's log (default: this process's stdout).
    """

    def __init__(self, model: Any, *, name: Optional[str] = None, max_batch: int = 8,
                 instances: int = 1, http_port: int = 8000, grpc_port: int = 8001,
                 metrics_port: int = 8002, address: str = "127.0.0.1",
                 threads: Optional[int] = None, target: str = "cpu", queue_delay_us: int = 100,
                 warmup: bool = True, exit_timeout: int = 10, log_verbose: int = 0,
                 triton_log: Optional[str] = None, **compile_options: Any) -> None:
        self.model_source = model
        self.name = name or _model_name(model)
        self.max_batch = int(max_batch)
        self.instances = int(instances)
        self.http_port, self.grpc_port, self.metrics_port = http_port, grpc_port, metrics_port
        self.address = address
        self.threads = threads
        self.target = target
        self.queue_delay_us = int(queue_delay_us)
        self.warmup = warmup
        self.exit_timeout = int(exit_timeout)
        self.log_verbose = int(log_verbose)
        self.triton_log = triton_log
        self.compile_options = compile_options
        self.plan: Optional[ModelPlan] = None
        self.runners: List[KilnInfer] = []
        self._triton = None
        self._lock = threading.Lock()

    @property
    def http_url(self) -> str:
        return f"{self._host()}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self._host()}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self._host()}:{self.metrics_port}/metrics"

    def _host(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address
        return f"[{host}]" if ":" in host else host

    def check(self) -> None:
        """Validates the options and ports (before anything is compiled)."""
        if not re.match(r"^[A-Za-z0-9._-]+$", self.name):
            raise ServeError(f"model name {self.name!r} may hold only letters, digits, '.', "
                             "'_' and '-'")
        if self.instances < 1:
            raise ServeError(f"--instances must be 1 or more, got {self.instances}")
        if self.max_batch < 0:
            raise ServeError(f"--max-batch must be 0 or more, got {self.max_batch}")
        if self.threads is not None and self.threads < 1:
            raise ServeError(f"--threads must be 1 or more, got {self.threads}")
        if self.queue_delay_us < 0:
            raise ServeError(f"--queue-delay-us must be 0 or more, got {self.queue_delay_us}")
        ports = {"HTTP": self.http_port, "gRPC": self.grpc_port, "metrics": self.metrics_port}
        if len(set(ports.values())) != len(ports):
            raise ServeError("the HTTP, gRPC and metrics ports must differ, got " +
                             ", ".join(f"{k} {v}" for k, v in ports.items()))
        for what, port in ports.items():
            _check_port(self.address, port, what)
        src = self.model_source
        if isinstance(src, (str, os.PathLike)) and not os.path.isfile(src):
            raise ServeError(f"no model file {os.fspath(src)!r}")

    def compile(self) -> ModelPlan:
        """Compiles the model (if not compiled yet) and plans how to serve it."""
        if self.plan is not None:
            return self.plan
        model = self.model_source
        if not isinstance(model, (CompiledModel, DynamicModel)):
            opts = dict(self.compile_options)
            opts.setdefault("shape_cache_size", len(batch_buckets(self.max_batch)) + 8)
            try:
                model = _kiln_compile(model, target=self.target, **opts)
            except KilnError as e:
                raise ServeError(f"cannot compile the model: {_one_line(e)}") from None
            except (ValueError, TypeError) as e:
                raise ServeError(f"cannot compile the model: {_one_line(e)}") from None
        plan = plan_model(model, self.max_batch)
        if self.warmup:
            for shapes in plan.warm_shapes:
                try:
                    model.specialization(shapes)
                except KilnError as e:
                    raise ServeError(f"cannot compile the model for shapes {shapes}: "
                                     f"{_one_line(e)}") from None
        self.plan = plan
        return plan

    def start(self) -> "KilnServer":
        """Checks, compiles, starts Triton and waits until the model is ready."""
        with self._lock:
            if self._triton is not None:
                return self
            self.check()
            plan = self.compile()
            Triton, TritonConfig, ModelConfig, Tensor, DynamicBatcher = _import_pytriton()
            if self.threads is not None:
                set_num_threads(self.threads)
            config = TritonConfig(
                http_address=self.address, http_port=self.http_port,
                grpc_address=self.address, grpc_port=self.grpc_port,
                metrics_address=self.address, metrics_port=self.metrics_port,
                allow_gpu_metrics=False, strict_readiness=True,
                exit_timeout_secs=self.exit_timeout, log_verbose=self.log_verbose,
                log_file=self.triton_log)
            if plan.batching:
                model_config = ModelConfig(
                    batching=True, max_batch_size=plan.max_batch,
                    batcher=DynamicBatcher(
                        max_queue_delay_microseconds=self.queue_delay_us,
                        preferred_batch_size=[b for b in plan.buckets if b > 1] or None))
            else:
                model_config = ModelConfig(batching=False)
            self.runners = [KilnInfer(plan) for _ in range(self.instances)]
            triton = Triton(config=config)
            try:
                triton.bind(
                    model_name=self.name,
                    infer_func=self.runners if self.instances > 1 else self.runners[0],
                    inputs=[Tensor(name=t.name, dtype=t.dtype, shape=t.dims) for t in plan.inputs],
                    outputs=[Tensor(name=t.name, dtype=t.dtype, shape=t.dims)
                             for t in plan.outputs],
                    config=model_config, strict=False)
                triton.run()
            except Exception as e:  # PyTriton's and Triton's start-up failures
                try:
                    triton.stop()
                except Exception:
                    pass
                raise ServeError(f"Triton did not start: {_one_line(e)}") from None
            self._triton = triton
        return self

    def is_alive(self) -> bool:
        t = self._triton
        return t is not None and t.is_alive()

    def stop(self) -> None:
        """Stops Triton and PyTriton's threads (idempotent)."""
        with self._lock:
            triton, self._triton = self._triton, None
        if triton is not None:
            triton.stop()

    def __enter__(self) -> "KilnServer":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def describe(self) -> List[str]:
        """Lines saying what is served where."""
        plan = self.plan
        lines = []
        if plan is not None:
            ins = ", ".join(f"{t.name}: {t.dtype}{_fmt_dims(t.dims)}" for t in plan.inputs)
            outs = ", ".join(f"{t.name}: {t.dtype}{_fmt_dims(t.dims)}" for t in plan.outputs)
            lines.append(f"model '{self.name}' ({self.target}): ({ins}) -> ({outs})"
                         f"{' per request row' if plan.batching else ''}")
            lines.append(plan.note)
            lines.append(f"{self.instances} instance{'s' if self.instances != 1 else ''}"
                         f"{f', {self.threads} Kiln threads each' if self.threads else ''}")
        lines.append(f"HTTP {self.http_url}, gRPC {self.grpc_url}, metrics {self.metrics_url}, "
                     f"ready http://{self.http_url}/v2/models/{self.name}/ready")
        return lines


def serve(model: Any, **options: Any) -> None:
    """Serves `model` (see :class:`KilnServer` for the options) until
    SIGINT or SIGTERM, or until Triton exits; raises ServeError if it
    cannot start."""
    stop = threading.Event()
    received = []

    def on_signal(signum, _frame):
        received.append(signum)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    server = KilnServer(model, **options)
    try:
        server.start()
        for line in server.describe():
            LOG.info("%s", line)
        LOG.info("ready (pid %d; SIGINT or SIGTERM stops it)", os.getpid())
        while not stop.wait(0.5):
            if not server.is_alive():
                raise ServeError("Triton exited unexpectedly (see its log above)")
        LOG.info("%s received: shutting down", signal.Signals(received[0]).name)
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    LOG.info("stopped")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m kiln.serve",
        description="Serve an ONNX model compiled by Kiln through NVIDIA Triton Inference "
                    "Server (PyTriton): HTTP/REST and gRPC inference, health and metrics.")
    p.add_argument("model", help="the .onnx or .onnxtxt model")
    p.add_argument("--name", help="Triton model name (default: the file name)")
    p.add_argument("--max-batch", type=int, default=8, metavar="B",
                   help="largest dynamic batch (default 8; 0: no batching)")
    p.add_argument("--instances", type=int, default=1, metavar="K",
                   help="model instances (default 1)")
    p.add_argument("--address", default="127.0.0.1",
                   help="address the endpoints bind to (default 127.0.0.1; 0.0.0.0: all)")
    p.add_argument("--http-port", type=int, default=8000, metavar="P", help="default 8000")
    p.add_argument("--grpc-port", type=int, default=8001, metavar="G", help="default 8001")
    p.add_argument("--metrics-port", type=int, default=8002, metavar="M", help="default 8002")
    p.add_argument("--threads", type=int, metavar="T",
                   help="threads per Kiln run (default: KILN_NUM_THREADS, else every core)")
    p.add_argument("--target", default="cpu", choices=["cpu", "cuda"],
                   help="Kiln target (default cpu)")
    p.add_argument("--queue-delay-us", type=int, default=100, metavar="US",
                   help="how long the dynamic batcher may hold a request (default 100)")
    p.add_argument("--no-warmup", action="store_true",
                   help="compile the batch buckets on first use, not at start")
    p.add_argument("--exit-timeout", type=int, default=10, metavar="S",
                   help="seconds to wait for in-flight requests on shutdown (default 10)")
    p.add_argument("--log-verbose", type=int, default=0, metavar="N",
                   help="Triton's verbose log level (default 0)")
    p.add_argument("--triton-log", metavar="FILE",
                   help="write Triton's log to FILE instead of stdout")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="kiln.serve: %(message)s", stream=sys.stderr)
    # PyTriton's own INFO lines repeat what kiln.serve says.
    logging.getLogger("pytriton").setLevel(logging.WARNING if args.log_verbose == 0
                                           else logging.INFO)
    try:
        serve(args.model, name=args.name, max_batch=args.max_batch, instances=args.instances,
              http_port=args.http_port, grpc_port=args.grpc_port, metrics_port=args.metrics_port,
              address=args.address, threads=args.threads, target=args.target,
              queue_delay_us=args.queue_delay_us, warmup=not args.no_warmup,
              exit_timeout=args.exit_timeout, log_verbose=args.log_verbose,
              triton_log=args.triton_log)
    except ServeError as e:
        print(f"kiln.serve: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # during compilation, before the handlers are in
        print("kiln.serve: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
