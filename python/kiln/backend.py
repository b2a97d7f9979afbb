"""Kiln as an ONNX backend (``onnx.backend.base.Backend``).

>>> import kiln.backend
>>> rep = kiln.backend.prepare(onnx_model)      # compiles for the CPU
>>> outputs = rep.run([x, y])                   # one array per graph input

so that ONNX's own test runner, ``onnx.backend.test.BackendTest``, runs
against Kiln (test/python/test_backend.py).

Kiln compiles static shapes. Models whose shape-like operands (Reshape's
shape, TopK's K, Resize's scales, ...) are graph inputs only compile once
those values are known: ``prepare`` then defers compilation to ``run``,
which compiles the given values of every input but the first in as
constants (then, for models made only of shape computation, every input),
exactly as Kiln's conformance runner (test/conformance/run_node_tests.py)
does with ``kiln-run --freeze-input``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep, Device, DeviceType

from . import _model
from ._errors import CompileError

# Messages of compile errors that a frozen (constant) input resolves.
_NEEDS_CONSTANTS = ("compile-time constant", "needs constant scales or sizes")


def _graph_inputs(model: onnx.ModelProto) -> List[str]:
    """Names of the graph inputs that are not initializers, in order."""
    inits = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


class KilnRep(BackendRep):
    """A prepared model: compiled at once, or at the first run when its
    shape-like inputs must be compiled in."""

    def __init__(self, model: onnx.ModelProto, compiled: Optional[_model.CompiledModel],
                 options: Dict[str, Any]) -> None:
        self._bytes = model.SerializeToString()
        self._inputs = _graph_inputs(model)
        self._outputs = [o.name for o in model.graph.output]
        self._compiled = compiled
        self._options = options

    def _compile_frozen(self, values: Dict[str, np.ndarray]) -> Tuple[_model.CompiledModel,
                                                                      Dict[str, np.ndarray]]:
        last: Optional[CompileError] = None
        for frozen in (self._inputs[1:], self._inputs):
            consts = {n: values[n] for n in frozen if n in values}
            try:
                compiled = _model.compile(self._bytes, frozen_inputs=consts, **self._options)
            except CompileError as e:
                last = e
                continue
            return compiled, {n: v for n, v in values.items() if n not in consts}
        assert last is not None
        raise last

    def run(self, inputs: Any, **kwargs: Any) -> Tuple[np.ndarray, ...]:
        """Runs on one array per graph input (a list, or a dict by name);
        returns the outputs in graph order."""
        if isinstance(inputs, dict):
            values = {k: np.asarray(v) for k, v in inputs.items()}
        else:
            if isinstance(inputs, np.ndarray):
                inputs = [inputs]
            values = {n: np.asarray(v) for n, v in zip(self._inputs, inputs)}
        compiled = self._compiled
        if compiled is None:
            compiled, values = self._compile_frozen(values)
        feeds = {}
        for t in compiled.inputs:
            if t.name not in values:
                continue
            v = values[t.name]
            # ONNX's test data stores bfloat16 tensors as their uint16 bit
            # patterns (as kiln-run accepts them).
            if t.onnx_type == 16 and v.dtype == np.uint16:
                v = v.view(t.dtype)
            feeds[t.name] = v
        outs = compiled.run(None, feeds)
        by_name = dict(zip((t.name for t in compiled.outputs), outs))
        return tuple(by_name.get(n, o) for n, o in zip(self._outputs, outs))


class KilnBackend(Backend):
    """ONNX backend interface of Kiln's CPU target."""

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        return cls.supports_device(device)

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> KilnRep:
        """Compiles the model for ``device`` ("CPU"). Raises
        kiln.CompileError / kiln.UnsupportedOpError when it cannot."""
        if not cls.supports_device(device):
            raise ValueError(f"Kiln's ONNX backend runs on the CPU, not on {device!r}")
        options = {k: v for k, v in kwargs.items() if k in ("input_shapes",)}
        try:
            compiled = _model.compile(model.SerializeToString(), **options)
        except CompileError as e:
            if not any(m in str(e) for m in _NEEDS_CONSTANTS):
                raise
            compiled = None  # compiled at the first run, with inputs frozen
        return KilnRep(model, compiled, options)

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU",
                  **kwargs: Any) -> Tuple[np.ndarray, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Any, device: str = "CPU",
                 outputs_info: Optional[Sequence[Tuple[Any, Any]]] = None,
                 **kwargs: Any) -> Tuple[np.ndarray, ...]:
        raise NotImplementedError("Kiln compiles whole models; wrap the node in a "
                                  "graph and use run_model")

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return Device(device).type == DeviceType.CPU


prepare = KilnBackend.prepare
run_model = KilnBackend.run_model
run_node = KilnBackend.run_node
supports_device = KilnBackend.supports_device
