#!/usr/bin/env python3
"""Compiles ONNX node tests (and, with --models, exported models) for
--target=cuda and assembles every emitted PTX module with `ptxas -v` for
sm_80 and sm_90.

Without a GPU this is how the kernels are checked: a PTX module that ptxas
rejects fails the run. Node tests whose GPU lowering is not supported yet
are counted (with the first error) but do not fail it; an exported model
that does not compile, or any of whose kernels spills registers, fails it.

Prints the resource report: per architecture and kernel kind, the number
of kernels, registers (min / median / max), spilled bytes and shared memory
(max). The kind is read from each kernel's PTX: `reduction` (warp shuffles),
`contraction` (tensor-core mma or shared-memory tiles without shuffles),
`elementwise` (16-byte vector global accesses), `direct` (the default
one-thread-per-element mapping). --verbose adds a line per kernel.

A node test that only compiles once its shape-like inputs are constants is
compiled again with them frozen from its test data (kilnc --freeze-input),
as the conformance runner does.
"""
import argparse
import collections
import concurrent.futures
import os
import glob
import re
import statistics
import subprocess
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "conformance"))
from run_node_tests import graph_inputs, needs_constant_inputs  # noqa: E402

DEFAULT_DATA = "/usr/include/onnx/backend/test/data/node"


def find_ptxas():
    """ptxas as the CUDA target finds it: PATH, CUDA_HOME/bin (or CUDA_ROOT,
    CUDA_PATH), /usr/local/cuda/bin."""
    found = shutil.which("ptxas")
    if found:
        return found
    for var in ("CUDA_HOME", "CUDA_ROOT", "CUDA_PATH"):
        if os.environ.get(var):
            candidate = os.path.join(os.environ[var], "bin", "ptxas")
            if os.access(candidate, os.X_OK):
                return candidate
    candidate = "/usr/local/cuda/bin/ptxas"
    return candidate if os.access(candidate, os.X_OK) else None


PTXAS = find_ptxas()
ARCHES = ("sm_80", "sm_90")


def kernel_kinds(ptx_text):
    """Kernel name -> kind, from the instructions of each .entry."""
    kinds = {}
    parts = re.split(r"^\s*(?:\.visible\s+)?\.entry\s+", ptx_text, flags=re.M)
    for part in parts[1:]:
        name = re.match(r"[\w$.]+", part).group(0)
        if "shfl.sync" in part:
            kinds[name] = "reduction"
        elif "mma.sync" in part or "ld.shared" in part:
            kinds[name] = "contraction"
        elif re.search(r"(ld|st)\.global\.v4\.", part):
            kinds[name] = "elementwise"
        else:
            kinds[name] = "direct"
    return kinds


def parse_ptxas(text):
    """Per kernel (in order): name, registers, spill bytes, shared bytes."""
    kernels = []
    cur = None
    for line in text.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            cur = {"name": m.group(1), "regs": 0, "spill": 0, "smem": 0}
            kernels.append(cur)
            continue
        if cur is None:
            continue
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            cur["spill"] = int(m.group(1)) + int(m.group(2))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            cur["regs"] = int(m.group(1))
        m = re.search(r"(\d+) bytes smem", line)
        if m:
            cur["smem"] = int(m.group(1))
    return kernels


def compile_ptx(kilnc, model, ptx, timeout, freeze=(), extra_args=()):
    """Runs kilnc; None on success, else (kind, message)."""
    data = os.path.join(os.path.dirname(model), "test_data_set_0")
    inputs = graph_inputs(model) if freeze else []
    cmd = [kilnc, model, "--target=cuda", "--emit=ptx", "-o", ptx, *extra_args]
    cmd += [f"--freeze-input={name}={os.path.join(data, f'input_{inputs.index(name)}.pb')}"
            for name in freeze]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", "kilnc timed out"
    if p.returncode == 0:
        return None
    if p.returncode < 0 or p.returncode > 2:
        return "crash", p.stderr[-300:]
    lines = [l for l in p.stderr.splitlines() if "error:" in l]
    return "unsupported", (lines[0] if lines else p.stderr)[-200:]


def check(kilnc, model, tmp, timeout, name=None, extra_args=()):
    ptx = os.path.join(tmp, (name or os.path.basename(os.path.dirname(model))) + ".ptx")
    failure = compile_ptx(kilnc, model, ptx, timeout, extra_args=extra_args)
    if failure and failure[0] == "unsupported" and name is None and \
            needs_constant_inputs(failure[1]):
        inputs = graph_inputs(model)
        for frozen in (inputs[1:], inputs):
            failure = compile_ptx(kilnc, model, ptx, timeout, freeze=frozen)
            if not failure or failure[0] != "unsupported" or \
                    not needs_constant_inputs(failure[1]):
                break
    if failure:
        return failure[0], failure[1], {}
    stats = {}
    with open(ptx) as f:
        kinds = kernel_kinds(f.read())
    for arch in ARCHES:
        cubin = ptx + f".{arch}.cubin"
        q = subprocess.run([PTXAS, f"-arch={arch}", "-v", ptx, "-o", cubin],
                           capture_output=True, text=True)
        if q.returncode != 0:
            return "ptxas-error", f"{arch}: {q.stderr.strip()[-300:]}", {}
        kernels = parse_ptxas(q.stderr)
        for k in kernels:
            k["kind"] = kinds.get(k["name"], "direct")
        stats[arch] = kernels
    return "ok", "", stats


def report(title, results):
    """Prints registers, spills and shared memory per arch and kernel kind."""
    print(f"ptxas resources, {title}:")
    for arch in ARCHES:
        by_kind = collections.defaultdict(list)
        for kind, _, stats in results.values():
            if kind == "ok":
                for k in stats[arch]:
                    by_kind[k["kind"]].append(k)
        for kind in sorted(by_kind):
            ks = by_kind[kind]
            regs = [k["regs"] for k in ks]
            print(f"  {arch} {kind:12s} {len(ks):5d} kernels, registers "
                  f"{min(regs)}/{int(statistics.median(regs))}/{max(regs)} (min/median/max), "
                  f"spilled {max(k['spill'] for k in ks)} B max, "
                  f"shared {max(k['smem'] for k in ks)} B max")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kilnc", required=True)
    ap.add_argument("--tests", required=True,
                    help="file listing node tests (e.g. the CPU ratchet list)")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--models", nargs="*", default=None,
                    help="exported models (model.onnx) that must assemble without "
                         "spills; default with --models and no paths: "
                         "$KILN_MODEL_CACHE or ~/.cache/kiln/models, */model.onnx")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if not PTXAS:
        print("ptxas not found (PATH, CUDA_HOME/bin, /usr/local/cuda/bin): the CUDA toolkit "
              "is needed to check PTX", file=sys.stderr)
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
            for a, ks in stats.items():
                for k in ks:
                    print(f"{t} {a} {k['name']} {k['kind']}: {k['regs']} registers, "
                          f"{k['spill']} B spilled, {k['smem']} B smem")
    kernels = sum(len(results[t][2]["sm_80"]) for t in results if results[t][0] == "ok")
    print(f"PTX check ({', '.join(ARCHES)}): {len(tests)} models: {counts['ok']} assembled "
          f"({kernels} kernels), {counts['unsupported']} not lowered for the GPU yet, "
          f"{counts['ptxas-error']} ptxas errors, {counts['crash']} crashes, {counts['hang']} hangs")
    failed = bool(counts["ptxas-error"] or counts["crash"] or counts["hang"])
    if tests:
        report("node tests", results)

    if args.models is not None:
        cache = os.environ.get("KILN_MODEL_CACHE",
                               os.path.expanduser("~/.cache/kiln/models"))
        models = args.models or sorted(glob.glob(os.path.join(cache, "*/model.onnx")))
        if not models:
            print("--models: no exported models found (test/models/export_models.py)")
            return 1
        mres = {}
        with tempfile.TemporaryDirectory() as tmp:
            for m in models:
                name = os.path.basename(os.path.dirname(m))
                mres[name] = check(args.kilnc, m, tmp, args.timeout, name)
        for name, (kind, msg, stats) in sorted(mres.items()):
            if kind != "ok":
                print(f"MODEL {kind.upper()}: {name}: {msg}")
                failed = True
                continue
            for a, ks in stats.items():
                spilling = [k for k in ks if k["spill"]]
                for k in spilling:
                    print(f"SPILL: {name} {a} {k['name']} ({k['kind']}): {k['spill']} B")
                failed |= bool(spilling)
                if args.verbose:
                    for k in ks:
                        print(f"{name} {a} {k['name']} {k['kind']}: {k['regs']} registers, "
                              f"{k['spill']} B spilled, {k['smem']} B smem")
            print(f"model {name}: {len(stats['sm_80'])} kernels, "
                  f"{sum(1 for k in stats['sm_80'] if k['spill'])} spilling on sm_80, "
                  f"{sum(1 for k in stats['sm_90'] if k['spill'])} on sm_90")
        report("exported models", mres)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
