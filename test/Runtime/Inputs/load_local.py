"""Loads libkiln_runtime privately (ctypes' default RTLD_LOCAL, as a Python
extension module would be) and then a compiled model library, which needs
the runtime's symbols."""
import ctypes
import sys

lib = ctypes.CDLL(sys.argv[1])
lib.kiln_model_load.restype = ctypes.c_void_p
lib.kiln_last_error.restype = ctypes.c_char_p
lib.kiln_model_target.argtypes = [ctypes.c_void_p]
m = lib.kiln_model_load(sys.argv[2].encode())
if not m:
    print("load failed:", lib.kiln_last_error().decode())
    sys.exit(1)
print("loaded, target", lib.kiln_model_target(m))
