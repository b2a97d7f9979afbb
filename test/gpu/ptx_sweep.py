#!/usr/bin/env python3
"""Compiles ONNX node tests for --target=cuda and assembles every emitted
PTX module with ptxas for sm_80 and sm_90.

Without a GPU this is how the kernels are checked: a PTX module that ptxas
rejects fails the run. Models whose GPU lowering is not supported yet are
counted (with the first error) but do not fail it. Prints register, spill
and shared-memory figures per architecture with --verbose.
"""
import argparse
import collections
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

DEFAULT_DATA = "/usr/include/onnx/backend/test/data/node"
PTXAS = "/usr/local/cuda/bin/ptxas"
ARCHES = ("sm_80", "sm_90")


def check(kilnc, model, tmp, timeout):
    ptx = os.path.join(tmp, os.path.basename(os.path.dirname(model)) + ".ptx")
    try:
        p = subprocess.run([kilnc, model, "--target=cuda", "--emit=ptx", "-o", ptx],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", "kilnc timed out", {}
    if p.returncode != 0:
        if p.returncode < 0 or p.returncode > 2:
            return "crash", p.stderr[-300:], {}
        lines = [l for l in p.stderr.splitlines() if "error:" in l]
        return "unsupported", (lines[0] if lines else p.stderr)[-200:], {}
    stats = {}
    for arch in ARCHES:
        cubin = ptx + f".{arch}.cubin"
        q = subprocess.run([PTXAS, f"-arch={arch}", "-v", ptx, "-o", cubin],
                           capture_output=True, text=True)
        if q.returncode != 0:
            return "ptxas-error", f"{arch}: {q.stderr.strip()[-300:]}", {}
        regs = [int(r) for r in re.findall(r"Used (\d+) registers", q.stderr)]
        spills = sum(int(s) for s in re.findall(r"(\d+) bytes spill stores", q.stderr))
        smem = [int(s) for s in re.findall(r"(\d+) bytes smem", q.stderr)]
        stats[arch] = (len(regs), max(regs, default=0), spills, max(smem, default=0))
    return "ok", "", stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kilnc", required=True)
    ap.add_argument("--tests", required=True,
                    help="file listing node tests (e.g. the CPU ratchet list)")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(PTXAS):
        print(f"{PTXAS} not found: the CUDA toolkit is needed to check PTX", file=sys.stderr)
        return 1
    tests = [l.strip() for l in open(args.tests) if l.strip()]
    results = {}
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(check, args.kilnc,
                               os.path.join(args.data, t, "model.onnx"), tmp,
                               args.timeout): t for t in tests}
        for f in concurrent.futures.as_completed(futures):
            results[futures[f]] = f.result()
    counts = collections.Counter(r[0] for r in results.values())
    for t in sorted(results):
        kind, msg, stats = results[t]
        if kind in ("ptxas-error", "crash", "hang"):
            print(f"{kind.upper()}: {t}: {msg}")
        elif args.verbose and stats:
            print(t, " ".join(f"{a}: {n} kernels, max {r} regs, {s} B spilled, {m} B smem"
                              for a, (n, r, s, m) in stats.items()))
    kernels = sum(results[t][2]["sm_80"][0] for t in results if results[t][0] == "ok")
    print(f"PTX check ({', '.join(ARCHES)}): {len(tests)} models: {counts['ok']} assembled "
          f"({kernels} kernels), {counts['unsupported']} not lowered for the GPU yet, "
          f"{counts['ptxas-error']} ptxas errors, {counts['crash']} crashes, {counts['hang']} hangs")
    return 1 if counts["ptxas-error"] or counts["crash"] or counts["hang"] else 0


if __name__ == "__main__":
    sys.exit(main())
