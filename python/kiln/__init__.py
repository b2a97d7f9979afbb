"""Kiln: an ONNX compiler built on MLIR, usable from Python.

>>> import kiln, numpy as np
>>> model = kiln.compile("model.onnx")            # path, bytes or onnx.ModelProto
>>> (y,) = model.run(None, {"x": np.random.rand(1, 3, 32, 32).astype(np.float32)})
>>> model.save("model.so")                        # kiln.load("model.so") runs it
                                                   # with the runtime alone

The compiler (``kiln._kiln``, which loads MLIR and LLVM) is imported on the
first call to :func:`compile`; :func:`load` needs only Kiln's runtime.
"""
from ._errors import CompileError, KilnError, RuntimeError, UnsupportedOpError
from ._model import (
    STAGES,
    CompiledModel,
    DynamicModel,
    TensorInfo,
    compile,
    get_num_threads,
    load,
    set_num_threads,
)

__version__ = "0.1.0"

__all__ = [
    "STAGES",
    "CompileError",
    "CompiledModel",
    "DynamicModel",
    "KilnError",
    "RuntimeError",
    "TensorInfo",
    "UnsupportedOpError",
    "compile",
    "get_num_threads",
    "load",
    "set_num_threads",
]
