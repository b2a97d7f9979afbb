"""Prints the PTX text, or a summary of the cubin, that a CUDA model
library embeds (read through its dynamic symbols with nm)."""
import subprocess
import sys

lib, what = sys.argv[1], sys.argv[2]
symbols = {}
for line in subprocess.run(["nm", "-D", "-S", "--defined-only", lib], capture_output=True,
                           text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 4:
        symbols[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
# The symbols live in a read-only segment; map addresses to file offsets.
segments = []
for line in subprocess.run(["readelf", "-lW", lib], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    parts = line.split()
    if parts and parts[0] == "LOAD":
        offset, vaddr, filesz = int(parts[1], 16), int(parts[2], 16), int(parts[4], 16)
        segments.append((vaddr, offset, filesz))
data = open(lib, "rb").read()


def read(name):
    addr, size = symbols[name]
    for vaddr, offset, filesz in segments:
        if vaddr <= addr < vaddr + filesz:
            start = offset + addr - vaddr
            return data[start:start + size]
    sys.exit(f"{name} is not in a loaded segment")


if what == "ptx":
    sys.stdout.write(read("kiln_cuda_ptx").rstrip(b"\0").decode())
else:
    size = int.from_bytes(read("kiln_cuda_cubin_size"), "little")
    image = read("kiln_cuda_cubin")[:size]
    kind = "ELF" if image[:4] == b"\x7fELF" else "not ELF"
    print(f"cubin: {kind}, {size} bytes")
