# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "Kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "sweep", "fuzz"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%kiln_src", config.kiln_src_root))
config.substitutions.append(("%kiln_lib", os.path.join(config.kiln_obj_root, "lib")))
# Tests that assemble PTX: `REQUIRES: ptxas`, run as %ptxas.
if getattr(config, "kiln_ptxas", "") and os.path.exists(config.kiln_ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.kiln_ptxas))
config.substitutions.append(("%onnx_node", "/usr/include/onnx/backend/test/data/node"))
# %kiln_cc compiles a test program that links libkiln_runtime: with the
# sanitizers the libraries were built with, so that their runtime loads
# first.
_sanitize = getattr(config, "kiln_sanitize", "")
config.substitutions.append(("%kiln_cc", "cc" + (f" -fsanitize={_sanitize}" if _sanitize else "")))
# %preload_sanitizers runs a program that is not built with them (mlir-runner)
# but loads Kiln's libraries: their runtimes preloaded, leaks not reported.
_preload = ""
if _sanitize:
    import subprocess
    libs = [subprocess.run(["cc", f"-print-file-name=lib{s}san.so"], capture_output=True,
                           text=True).stdout.strip()
            for s in ("a", "ub") if ("address" if s == "a" else "undefined") in _sanitize]
    _preload = ("env LD_PRELOAD=" + ":".join(libs) +
                " ASAN_OPTIONS=detect_leaks=0:allow_user_poisoning=0")
config.substitutions.append(("%preload_sanitizers", _preload))
# Tests of the runtime's x86 extension checks: `REQUIRES: x86_64`.
import platform
if platform.machine() in ("x86_64", "AMD64"):
    config.available_features.add("x86_64")

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.kiln_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["kiln-opt", "kilnc"], tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.kiln_tools_dir, append_path=True)
# `python3` in RUN lines is the configured interpreter (the project's venv,
# which has numpy/onnx/onnxruntime), not whichever comes first on PATH.
if config.kiln_python:
    llvm_config.with_environment("PATH", os.path.dirname(config.kiln_python), append_path=True)
# MLIR's runtime libraries (mlir-runner's printing helpers).
config.substitutions.append(
    ("%mlir_lib", os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")))
