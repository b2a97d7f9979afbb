"""Kiln as a ``torch.compile`` backend.

>>> compiled = torch.compile(model, backend="kiln")           # no import kiln needed
>>> compiled = torch.compile(model, backend="kiln", options={"threads": 2})

Kiln registers the name through the ``torch_dynamo_backends`` entry point.
Each FX graph that TorchDynamo hands over is specialized to the shapes it
is called with, exported to ONNX in memory (torch's dynamo exporter),
compiled by Kiln for the tensors' device (the CPU target; the CUDA target
for GPU tensors) and run with DLPack, without copies in or out.

- Shapes: Dynamo's guards decide when a graph is traced again; within one
  graph, Kiln compiles once per distinct set of input shapes (and values of
  the integer inputs of a dynamic-shape graph) and keeps the last
  ``shape_cache_size`` of them, as :class:`kiln.DynamicModel` does.
- Weights: parameters and buffers of the model (the graph inputs Dynamo
  marks static) are compiled in as constants, as for inference; a later
  in-place change of a weight is not seen (``freeze=False`` passes them as
  inputs on every call instead).
- Unsupported ops: when the graph does not compile as a whole, each call
  node is tried alone; the nodes that do not compile run in eager PyTorch
  (one :class:`KilnFallbackWarning` naming each such op), the rest is
  split into subgraphs that Kiln compiles. A graph that mutates its inputs
  in place runs eagerly. The user's model never raises because of Kiln.
- Autograd: outputs carry no autograd history (Kiln compiles inference).

Options (``options={...}``): ``target`` ("cpu" or "cuda"; default: where
the inputs are), ``threads``, ``precision`` and ``gpu_arch`` (CUDA),
``fuse_attention``, ``shape_cache_size`` (default 8), ``freeze`` (default
True), ``emulate`` (CUDA kernels run by the CPU emulator).
"""
from __future__ import annotations

import collections
import contextlib
import io
import operator
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.fx

__all__ = ["KilnFallbackWarning", "backend"]

_OPTIONS = ("target", "threads", "precision", "gpu_arch", "fuse_attention",
            "shape_cache_size", "freeze", "emulate")


class KilnFallbackWarning(UserWarning):
    """Part of a torch.compile graph runs in eager PyTorch, not in Kiln."""


def _parse_options(options: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    opts = dict(options or {})
    unknown = sorted(set(opts) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"torch.compile(backend=\"kiln\"): unknown option(s) "
                         f"{', '.join(unknown)} (known: {', '.join(_OPTIONS)})")
    target = opts.get("target")
    if target not in (None, "cpu", "cuda"):
        raise ValueError(f"torch.compile(backend=\"kiln\"): target must be \"cpu\" or "
                         f"\"cuda\", got {target!r}")
    size = int(opts.get("shape_cache_size", 8))
    if size < 1:
        raise ValueError(f"torch.compile(backend=\"kiln\"): shape_cache_size must be at "
                         f"least 1, got {size}")
    opts["shape_cache_size"] = size
    if opts.get("threads") is not None:
        threads = int(opts["threads"])
        if threads < 1:
            raise ValueError(f"torch.compile(backend=\"kiln\"): threads must be at least 1, "
                             f"got {threads}")
        opts["threads"] = threads
    opts.setdefault("freeze", True)
    return opts


def backend(gm: Any, example_inputs: Sequence[Any], options: Optional[Dict[str, Any]] = None,
            **kwargs: Any) -> Callable[..., Any]:
    """The ``torch.compile`` backend function (registered as "kiln")."""
    opts = _parse_options(options)
    if opts.get("threads") is not None:
        from . import _model
        _model.set_num_threads(opts["threads"])
    return _KilnGraph(gm, example_inputs, opts)


def _op_name(node: Any) -> str:
    """A readable name of what an FX node calls: torch.relu, Tensor.view,
    the class of a module."""
    if node.op == "call_function":
        target = node.target
        module = getattr(target, "__module__", None) or ""
        name = getattr(target, "__name__", None) or str(target)
        if module.startswith("torch._ops") or isinstance(target, torch._ops.OpOverload):
            return str(target)
        if module in ("_operator", "operator"):
            return f"operator.{name}"
        if module.startswith("torch"):
            return f"torch.{name}" if module.startswith("torch._C") else f"{module}.{name}"
        return torch.fx.node._get_qualified_name(target)
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "call_module":
        return f"module {node.target}"
    return node.op


def _signature(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return ("t", tuple(value.shape), value.dtype, value.device.type)
    if isinstance(value, (torch.SymInt, torch.SymFloat, torch.SymBool)):
        return ("v", _concrete(value))
    if isinstance(value, (int, float, bool)):
        return ("v", value)
    return ("o", type(value).__name__, repr(value))


def _concrete(value: Any) -> Any:
    """A Python number for a SymInt/SymFloat/SymBool (its hint)."""
    if isinstance(value, torch.SymInt):
        return int(value)
    if isinstance(value, torch.SymFloat):
        return float(value)
    if isinstance(value, torch.SymBool):
        return bool(value)
    return value


@contextlib.contextmanager
def _quiet() -> Any:
    """The exporter's progress lines and deprecation notes stay out of the
    user's output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield


class _Unsupported(Exception):
    """Why a graph cannot run in Kiln."""


def _specialize(gm: Any, args: Sequence[Any], static: Sequence[bool]) -> Tuple[Any, List[int]]:
    """A copy of `gm` for these argument values: static tensors become
    buffers (constants of the export), non-tensor arguments constants, and
    the remaining tensors the placeholders in_0, in_1, ... Returns the
    module and the positions of those tensors among `args`."""
    root = torch.nn.Module()
    graph = torch.fx.Graph()
    env: Dict[Any, Any] = {}
    dynamic: List[int] = []
    placeholders = list(gm.graph.find_nodes(op="placeholder"))
    for i, (node, value) in enumerate(zip(placeholders, args)):
        if isinstance(value, torch.Tensor):
            if static[i]:
                name = f"w_{i}"
                root.register_buffer(name, value.detach(), persistent=False)
                env[node] = graph.get_attr(name)
            else:
                env[node] = graph.placeholder(f"in_{len(dynamic)}")
                dynamic.append(i)
        else:
            env[node] = _concrete(value)
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            continue
        if node.op == "get_attr":
            value = gm
            for part in node.target.split("."):
                value = getattr(value, part)
            name = f"attr_{len(env)}"
            if isinstance(value, torch.Tensor):
                root.register_buffer(name, value.detach(), persistent=False)
            else:
                setattr(root, name, value)
            env[node] = graph.get_attr(name)
            continue
        if node.op == "call_module":
            submodule = gm.get_submodule(node.target)
            name = f"mod_{len(env)}"
            root.add_module(name, submodule)
            env[node] = graph.call_module(name, torch.fx.map_arg(node.args, env.__getitem__),
                                          torch.fx.map_arg(node.kwargs, env.__getitem__))
            continue
        env[node] = graph.node_copy(node, env.__getitem__)
    graph.lint()
    return torch.fx.GraphModule(root, graph), dynamic


# Ops that return a view of their first argument: an in-place op on such a
# view changes the tensor it views.
_VIEWS = {"view", "reshape", "transpose", "permute", "select", "narrow", "expand", "unsqueeze",
          "squeeze", "flatten", "t", "unflatten", "as_strided", "view_as", "expand_as",
          "movedim", "unbind", "split", "chunk", "diagonal", "getitem", "__getitem__",
          "detach", "alias", "real", "imag", "swapaxes", "swapdims"}


def _target_name(node: Any) -> str:
    if node.op == "call_method":
        return str(node.target)
    if node.op == "call_function":
        name = getattr(node.target, "__name__", "") or str(node.target)
        return name.split(".")[0] if isinstance(node.target, torch._ops.OpOverload) else name
    return ""


def _mutated_input(gm: Any) -> Optional[str]:
    """The first node that changes a graph input (or a view of one) in
    place, by name of its op; None if there is none."""
    for node in gm.graph.nodes:
        if node.op not in ("call_function", "call_method"):
            continue
        name = _target_name(node)
        inplace = node.kwargs.get("inplace") is True or name == "setitem" or (
            name.endswith("_") and not name.endswith("__")) or name.startswith("__i")
        if isinstance(node.target, torch._ops.OpOverload):
            inplace = inplace or any(a.alias_info is not None and a.alias_info.is_write
                                     for a in node.target._schema.arguments)
        if not inplace or not node.args or not isinstance(node.args[0], torch.fx.Node):
            continue
        base = node.args[0]
        while base.op in ("call_function", "call_method") and _target_name(base) in _VIEWS \
                and base.args and isinstance(base.args[0], torch.fx.Node):
            base = base.args[0]
        if base.op in ("placeholder", "get_attr"):
            return _op_name(node)
    return None


def _mutates_inputs(program: Any) -> bool:
    sig = program.graph_signature
    return bool(getattr(sig, "user_inputs_to_mutate", None)) or \
        bool(getattr(sig, "buffers_to_mutate", None))


class _KilnCall:
    """One Kiln-compiled graph: tensors in, tuple of tensors out."""

    def __init__(self, module: Any, example: Sequence[Any], opts: Dict[str, Any]) -> None:
        from . import _model
        with torch.no_grad():
            reference = module(*example)
        leaves, self._spec = torch.utils._pytree.tree_flatten(reference)
        if not all(isinstance(t, torch.Tensor) for t in leaves):
            kinds = sorted({type(t).__name__ for t in leaves if not isinstance(t, torch.Tensor)})
            raise _Unsupported(f"the graph returns non-tensor values ({', '.join(kinds)})")
        if not leaves:
            raise _Unsupported("the graph returns no tensors")
        for what, tensors in (("takes", example), ("returns", leaves)):
            odd = sorted({str(t.dtype) for t in tensors if isinstance(t, torch.Tensor) and
                          (t.is_complex() or t.is_sparse or t.is_quantized)})
            if odd:
                raise _Unsupported(f"the graph {what} {', '.join(odd)} tensors")
        try:
            with _quiet():
                program = torch.onnx.export(module, tuple(example), dynamo=True,
                                            optimize=True, verbose=False)
        except Exception as e:
            raise _Unsupported(f"torch.onnx.export failed: {_first_line(e)}") from None
        if _mutates_inputs(program.exported_program):
            raise _Unsupported("the graph changes its inputs in place")
        proto = program.model_proto
        devices = {t.device.type for t in example if isinstance(t, torch.Tensor)}
        target = opts.get("target") or ("cuda" if "cuda" in devices else "cpu")
        kwargs: Dict[str, Any] = {}
        if target == "cuda":
            kwargs["gpu_arch"] = opts.get("gpu_arch")
            kwargs["precision"] = opts.get("precision", "fp32")
            kwargs["emulate"] = bool(opts.get("emulate", False))
        if "fuse_attention" in opts:
            kwargs["fuse_attention"] = bool(opts["fuse_attention"])
        # An error here propagates as it is: a kiln.CompileError names the op.
        self._model = _model.compile(proto, target=target, **kwargs)
        names = [i.name for i in proto.graph.input]
        positions = {f"in_{k}": k for k in range(len(example))}
        try:
            self._feeds = [(t.name, positions[t.name]) for t in self._model.inputs]
        except KeyError as e:
            raise _Unsupported(f"the exported model has an input {e} that is not a graph "
                               f"input (inputs: {', '.join(names)})") from None
        if len(self._model.outputs) != len(leaves):
            raise _Unsupported(f"the exported model has {len(self._model.outputs)} outputs, "
                               f"the graph {len(leaves)}")
        self._dtypes = [t.dtype for t in leaves]
        self._devices = [t.device for t in leaves]
        # One run on the example: what Kiln returns must have the graph's
        # shapes, or the graph stays eager.
        try:
            got = torch.utils._pytree.tree_leaves(self(*example))
        except KilnError as e:
            raise _Unsupported(f"the compiled graph does not run: {_first_line(e)}") from None
        for i, (a, b) in enumerate(zip(got, leaves)):
            if a.shape != b.shape:
                raise _Unsupported(f"output {i} has shape {tuple(a.shape)} in Kiln, "
                                   f"{tuple(b.shape)} in PyTorch")

    def __call__(self, *tensors: Any) -> Any:
        feeds = {}
        for name, k in self._feeds:
            t = tensors[k].detach()
            if not t.is_contiguous():
                t = t.contiguous()
            feeds[name] = t
        outs = self._model.run(None, feeds, dlpack=True)
        result = []
        for capsule, dtype, device in zip(outs, self._dtypes, self._devices):
            t = torch.from_dlpack(capsule)
            if t.dtype != dtype:  # e.g. bool read back as uint8
                t = t.to(dtype)
            if t.device != device:
                t = t.to(device)
            result.append(t)
        return torch.utils._pytree.tree_unflatten(result, self._spec)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


class _KilnGraph:
    """What the backend returns for one FX graph: a callable that picks (or
    builds) the specialization for the argument shapes and runs it."""

    def __init__(self, gm: Any, example_inputs: Sequence[Any], opts: Dict[str, Any]) -> None:
        self._gm = gm
        self._opts = opts
        placeholders = list(gm.graph.find_nodes(op="placeholder"))
        self._static = [bool(opts["freeze"]) and bool(
            n.meta.get("tensor_dict", {}).get("_dynamo_static_input_type")) for n in placeholders]
        self._cache: "collections.OrderedDict[Any, Callable[..., Any]]" = \
            collections.OrderedDict()
        self._warned: set = set()
        self._grad_warned = False
        # A graph of static shapes compiles now, as torch.compile users expect;
        # one with symbolic sizes at its first call.
        if all(isinstance(v, torch.Tensor) and not isinstance(v, torch._subclasses.FakeTensor)
               for v in example_inputs):
            self._lookup(example_inputs)

    def _key(self, args: Sequence[Any]) -> Tuple[Any, ...]:
        return tuple(("static",) if s else _signature(a) for a, s in zip(args, self._static))

    def _lookup(self, args: Sequence[Any]) -> Callable[..., Any]:
        key = self._key(args)
        run = self._cache.get(key)
        if run is not None:
            self._cache.move_to_end(key)
            return run
        run = self._build(args)
        self._cache[key] = run
        while len(self._cache) > self._opts["shape_cache_size"]:
            self._cache.popitem(last=False)
        return run

    def __call__(self, *args: Any) -> Any:
        if not self._grad_warned and torch.is_grad_enabled() and any(
                isinstance(a, torch.Tensor) and a.requires_grad for a in args):
            self._grad_warned = True
            warnings.warn("kiln: the outputs of a Kiln-compiled graph carry no autograd "
                          "history (Kiln compiles for inference); run the model under "
                          "torch.no_grad() or torch.inference_mode()",
                          KilnFallbackWarning, stacklevel=2)
        return self._lookup(args)(*args)

    def _warn(self, what: str, why: str) -> None:
        if what in self._warned:
            return
        self._warned.add(what)
        warnings.warn(f"kiln: {what} runs in eager PyTorch: {why}", KilnFallbackWarning,
                      stacklevel=3)

    def _build(self, args: Sequence[Any]) -> Callable[..., Any]:
        """The runner for one set of argument shapes: all of the graph in
        Kiln, or its compilable parts in Kiln and the rest eagerly."""
        from ._errors import KilnError
        mutated = _mutated_input(self._gm)
        if mutated is not None:
            self._warn("the graph", f"{mutated} changes an input in place")
            return self._gm
        module, dynamic = _specialize(self._gm, args, self._static)
        # Build-time runs (reference outputs, subgraph inputs) work on copies.
        example = [args[i].clone() for i in dynamic]
        try:
            call = _KilnCall(module, example, self._opts)
        except (_Unsupported, KilnError) as e:
            whole_error = e
        else:
            return lambda *a: call(*(a[i] for i in dynamic))
        split = self._split(module, example, whole_error)
        return lambda *a: split(*(a[i] for i in dynamic))

    def _split(self, module: Any, example: Sequence[Any], whole_error: BaseException) -> Any:
        """Runs the call nodes that Kiln cannot compile eagerly and compiles
        the maximal subgraphs between them."""
        from torch.fx.passes.infra.partitioner import CapabilityBasedPartitioner
        from torch.fx.passes.operator_support import OperatorSupportBase
        from ._errors import KilnError

        values: Dict[str, Any] = {}

        class Recorder(torch.fx.Interpreter):
            def run_node(self, n: Any) -> Any:
                out = super().run_node(n)
                values[n.name] = out
                return out

        with torch.no_grad():
            Recorder(module).run(*example)

        unsupported: Dict[str, str] = {}
        verdicts: Dict[Any, Optional[str]] = {}
        for node in module.graph.nodes:
            if node.op not in ("call_function", "call_method", "call_module"):
                continue
            if not isinstance(values.get(node.name), torch.Tensor) and not (
                    isinstance(values.get(node.name), (tuple, list)) and
                    any(isinstance(v, torch.Tensor) for v in values[node.name])):
                continue  # Python arithmetic on sizes, getitem: exported as constants
            why = self._node_verdict(module, node, values, verdicts)
            if why is not None:
                unsupported[node.name] = why
        if not unsupported:
            self._warn("the graph", _first_line(whole_error))
            return module

        for node in module.graph.nodes:
            if node.name in unsupported:
                self._warn(_op_name(node), unsupported[node.name])

        class Support(OperatorSupportBase):
            def is_node_supported(self, submodules: Any, node: Any) -> bool:
                return node.op in ("call_function", "call_method", "call_module") and \
                    node.name not in unsupported

        partitioner = CapabilityBasedPartitioner(module, Support(),
                                                 allows_single_node_partition=True)
        partitions = partitioner.propose_partitions()
        fused = partitioner.fuse_partitions(partitions)
        # Each fused part's inputs, recorded on the example.
        part_inputs: Dict[str, Tuple[Any, ...]] = {}
        # A part's inputs that are the graph's weights (get_attr) stay constants.
        part_static = {str(n.target): [isinstance(a, torch.fx.Node) and a.op == "get_attr"
                                       for a in n.args]
                       for n in fused.graph.nodes if n.op == "call_module"}

        class PartRecorder(torch.fx.Interpreter):
            def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
                if str(target).startswith("fused_"):
                    part_inputs[str(target)] = tuple(args)
                return super().call_module(target, args, kwargs)

        with torch.no_grad():
            PartRecorder(fused).run(*example)
        for name, inputs in part_inputs.items():
            part = getattr(fused, name)
            if not all(isinstance(t, torch.Tensor) for t in inputs):
                continue
            try:
                sub, dynamic = _specialize(part, inputs, part_static[name])
                call = _KilnCall(sub, [inputs[i] for i in dynamic], self._opts)
            except (_Unsupported, KilnError) as e:
                self._warn(f"a subgraph of {len(part.graph.nodes)} nodes", _first_line(e))
                continue
            setattr(fused, name, _Part(call, dynamic))
        fused.recompile()
        return fused

    def _node_verdict(self, module: Any, node: Any, values: Dict[str, Any],
                      verdicts: Dict[Any, Optional[str]]) -> Optional[str]:
        """None when Kiln compiles the node on its own, else why not."""
        from ._errors import KilnError
        graph = torch.fx.Graph()
        root = torch.nn.Module()
        inputs: List[Any] = []
        kinds: List[Any] = []

        def arg(n: Any) -> Any:
            value = values[n.name]
            if isinstance(value, torch.Tensor):
                inputs.append(value)
                kinds.append((value.dtype, value.dim()))
                return graph.placeholder(f"in_{len(inputs) - 1}")
            kinds.append(repr(value))
            return value

        if node.op == "call_module":
            root.add_module("m", module.get_submodule(node.target))
            copy = graph.call_module("m", torch.fx.map_arg(node.args, arg),
                                     torch.fx.map_arg(node.kwargs, arg))
            what: Any = type(module.get_submodule(node.target))
        else:
            copy = graph.node_copy(node, arg)
            what = node.target
        graph.output(copy)
        try:
            key = (node.op, what, repr(node.args if node.op != "call_module" else ()),
                   tuple(kinds))
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in verdicts:
            return verdicts[key]
        try:
            _KilnCall(torch.fx.GraphModule(root, graph), inputs, self._opts)
            verdict: Optional[str] = None
        except (_Unsupported, KilnError) as e:
            verdict = _first_line(e)
        except Exception as e:  # the node does not even run on its own
            verdict = f"{type(e).__name__}: {_first_line(e)}"
        if key is not None:
            verdicts[key] = verdict
        return verdict


class _Part(torch.nn.Module):
    """A fused submodule's replacement: its tensors go to Kiln."""

    def __init__(self, call: _KilnCall, dynamic: List[int]) -> None:
        super().__init__()
        self._call = call
        self._dynamic = dynamic

    def forward(self, *args: Any) -> Any:
        return self._call(*(args[i] for i in self._dynamic))
