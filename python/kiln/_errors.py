"""Kiln's exception classes."""
from __future__ import annotations

import builtins
import re
from typing import Sequence

__all__ = ["KilnError", "CompileError", "UnsupportedOpError", "RuntimeError"]


class KilnError(Exception):
    """Base class of the errors Kiln raises."""


class CompileError(KilnError):
    """The model could not be imported or compiled.

    The message is the one ``kilnc`` prints, without its ``kilnc: error:``
    prefix: it names the model and the ONNX node, e.g.
    ``model.onnx: node 'conv1': 'kiln.conv' op weight 16x4x3x3 expects ...``.
    """


class UnsupportedOpError(CompileError):
    """The model uses ONNX ops that Kiln does not import.

    ``ops`` lists them (domain-qualified outside the default domain), in the
    order the model first uses them.
    """

    def __init__(self, message: str, ops: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.ops: list[str] = list(ops)


class RuntimeError(KilnError, builtins.RuntimeError):
    """Running a model failed, or a compiled model cannot do what was asked
    (wrong inputs, a target whose runtime is not available, ...)."""


_UNSUPPORTED = re.compile(r"'([^']+)' \(first at node ")


def _compile_error(message: str) -> CompileError:
    """The exception for a compiler diagnostic (called by kiln._kiln)."""
    if "unsupported ONNX op" in message:
        return UnsupportedOpError(message, _UNSUPPORTED.findall(message))
    return CompileError(message)


for _cls in (KilnError, CompileError, UnsupportedOpError, RuntimeError):
    _cls.__module__ = "kiln"
