#!/usr/bin/env python3
"""Checks and times a GPU bundle (scripts/gpu_bundle.py) on a machine with
an NVIDIA GPU, using Kiln's runtime alone: no compiler, no MLIR.

Sections, each written to the report as soon as it ends (a timeout still
leaves what was done):
  device      the GPU and driver, torch if present
  check       every case: outputs against the references made at bundle
              time (model libraries also with CUDA graphs, one case per
              kind also through kiln_model_run_device)
  gemm        4096^3 at fp32/tf32/fp16/bf16: Kiln against torch.matmul
              (cuBLAS) in the same process, TFLOP/s, result checked
              against a float64 product on the device
  attention   Kiln's fused attention (16 heads of 64, f32 and f16, 1k to
              16k tokens, plain and causal) against torch's
              scaled_dot_product_attention (its flash kernel at f16) on the
              same inputs: checked against torch in f64, TFLOP/s of both
  models      latency at batch 1 and 32 (Kiln's timing libraries, weights
              elided, CUDA graphs off and on) against torch eager and
              torch.compile on the same model
  sanitizer   compute-sanitizer memcheck and racecheck on one small case
              per kernel kind
  ncu         Nsight Compute metrics of the GEMM kernels, where allowed
Without a GPU it says so and exits 0; with the stand-in driver of the
tests (test/Runtime/fake_libcuda.c) it loads and runs every library
(launch parameters are checked there, kernels do not execute) and reports
that the numbers need a real GPU.

  gpu_run.py [--bundle DIR] [--out DIR] [--budget SECONDS] [--only SECTION,...]
"""
import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# In a bundle the runner and the torch model definitions lie beside this
# file; in the source tree they are in tools/ and test/models/.
for d in (HERE, os.path.join(HERE, "..", "tools", "kiln-exec"),
          os.path.join(HERE, "..", "test", "models")):
    sys.path.insert(0, d)
import numpy as np  # noqa: E402

import kiln_exec  # noqa: E402

SECTIONS = ("device", "check", "gemm", "attention", "models", "sanitizer", "ncu")
GEMM_TOL = {"fp32": 1e-5, "tf32": 5e-3, "fp16": 5e-3, "bf16": 3e-2}


class Report:
    """report.json and report.md in --out, rewritten after every section."""

    def __init__(self, out):
        self.out = out
        os.makedirs(out, exist_ok=True)
        self.data = {"sections": {}}
        self.md = ["# Kiln on a GPU: report of scripts/gpu-run.sh", ""]

    def section(self, name, data, lines):
        self.data["sections"][name] = data
        self.md += [f"## {name}", ""] + lines + [""]
        with open(os.path.join(self.out, "report.json"), "w") as f:
            json.dump(self.data, f, indent=1, default=str)
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write("\n".join(self.md))
        print("\n".join([f"== {name}"] + lines), flush=True)


def torch_cuda():
    """torch with a usable GPU, or None."""
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def case_arrays(bundle, entry):
    inputs = [kiln_exec.read_tensor(os.path.join(bundle, p))[1] for p in entry.get("inputs", [])]
    outputs = [kiln_exec.read_tensor(os.path.join(bundle, p))[1] for p in entry.get("outputs", [])]
    return inputs, outputs


def check_cases(rt, bundle, entries, real_gpu):
    """Runs every case, against its references on a real GPU; returns
    (results, lines)."""
    results, lines = [], []
    device_entry_kinds = set()
    for e in entries:
        # Cases without references (the GEMMs) are checked by their own
        # section on a GPU; the stand-in driver only runs them.
        if "library" not in e or ("outputs" not in e and real_gpu):
            continue
        r = {"id": e["id"], "kind": e["kind"], "precision": e["precision"]}
        start = time.time()
        try:
            with rt.load(os.path.join(bundle, e["library"])) as model:
                inputs, want = case_arrays(bundle, e)
                if "outputs" not in e:
                    inputs = kiln_exec.random_inputs(model, 0)
                runs = [("run", lambda: model.run(inputs))]
                if e["group"] == "model":
                    runs.append(("cuda graph", lambda: (model.set_cuda_graph(True),
                                                        model.run(inputs))[1]))
                if e["kind"] not in device_entry_kinds:
                    device_entry_kinds.add(e["kind"])
                    runs.append(("run_device", lambda: model.run_device(inputs)))
                errs, ok = [], True
                for what, fn in runs:
                    got = fn()
                    if not real_gpu:
                        continue
                    for g, w in zip(got, want):
                        good, err = kiln_exec.compare(g, w, e["rtol"], e["atol"])
                        ok &= good
                        errs.append(err)
                        if not good:
                            r.setdefault("failed", []).append(what)
                r["status"] = ("pass" if ok else "MISMATCH") if real_gpu else "ran"
                r["max_abs_err"] = max(errs) if errs else None
        except kiln_exec.KilnError as ex:
            r["status"], r["error"] = "ERROR", str(ex)[-400:]
        r["seconds"] = round(time.time() - start, 3)
        results.append(r)
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines.append("cases: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    by_kind = {}
    for r in results:
        k = by_kind.setdefault(r["kind"], [0, 0])
        k[0] += r["status"] in ("pass", "ran")
        k[1] += 1
    lines += ["", "| kind | ok / cases |", "| --- | --- |"]
    lines += [f"| {k} | {p} / {n} |" for k, (p, n) in sorted(by_kind.items())]
    bad = [r for r in results if r["status"] not in ("pass", "ran")]
    if bad:
        lines += ["", "failures:"]
        lines += [f"- {r['id']}: {r['status']} {r.get('error', '')}"
                  f"{' max abs err %.3g' % r['max_abs_err'] if r.get('max_abs_err') else ''}"
                  f"{' in ' + ', '.join(r['failed']) if r.get('failed') else ''}" for r in bad]
    return results, lines


def cuda_time(torch, fn, runs):
    """Median milliseconds of fn() over runs, timed with CUDA events."""
    fn()
    torch.cuda.synchronize()
    ms = []
    for _ in range(runs):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ms.append(a.elapsed_time(b))
    return sorted(ms)[len(ms) // 2]


def gemm_section(rt, bundle, entries, torch):
    results, lines = [], ["| precision | Kiln TFLOP/s | cuBLAS (torch) TFLOP/s | Kiln / cuBLAS "
                          "| max rel error | ok |", "| --- | --- | --- | --- | --- | --- |"]
    for e in entries:
        if e["group"] != "gemm" or "library" not in e:
            continue
        n, prec = e["m"], e["precision"]
        flops = 2.0 * e["m"] * e["n"] * e["k"]
        r = {"id": e["id"], "precision": prec}
        try:
            with rt.load(os.path.join(bundle, e["library"])) as model:
                rng = np.random.default_rng(0)
                a = rng.standard_normal((n, n), dtype=np.float32)
                b = rng.standard_normal((n, n), dtype=np.float32)
                (c,) = model.run([a, b])
                if torch is not None:
                    ref = (torch.from_numpy(a).cuda().double() @
                           torch.from_numpy(b).cuda().double()).cpu().numpy()
                    rows = slice(None)
                else:
                    rows = slice(0, n, 64)
                    ref = a[rows].astype(np.float64) @ b.astype(np.float64)
                err = float(np.abs(c[rows] - ref).max() / np.abs(ref).max())
                r["max_rel_err"], r["ok"] = err, err <= GEMM_TOL[prec]
                ms = sorted(model.benchmark([a, b], 20))
                r["kiln_ms"] = ms[len(ms) // 2]
                r["kiln_tflops"] = flops / r["kiln_ms"] / 1e9
                if torch is not None:
                    dt = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(prec, torch.float32)
                    ta, tb = (torch.from_numpy(x).cuda().to(dt) for x in (a, b))
                    torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
                    r["torch_ms"] = cuda_time(torch, lambda: ta @ tb, 20)
                    r["torch_tflops"] = flops / r["torch_ms"] / 1e9
                    torch.backends.cuda.matmul.allow_tf32 = False
        except kiln_exec.KilnError as ex:
            r["error"] = str(ex)[-300:]
        results.append(r)
        if "error" in r:
            lines.append(f"| {prec} | error: {r['error']} | | | | no |")
        else:
            t = r.get("torch_tflops")
            lines.append(f"| {prec} | {r['kiln_tflops']:.1f} | {t:.1f} | "
                         f"{r['kiln_tflops'] / t:.2f} | {r['max_rel_err']:.2e} | "
                         f"{'yes' if r['ok'] else 'NO'} |" if t else
                         f"| {prec} | {r['kiln_tflops']:.1f} | (no torch) | | "
                         f"{r['max_rel_err']:.2e} | {'yes' if r['ok'] else 'NO'} |")
    return results, lines


def attention_section(rt, bundle, entries, torch):
    lines = ["| type | tokens | causal | Kiln TFLOP/s | torch SDPA TFLOP/s | Kiln / torch "
             "| max abs error | ok |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    results = []
    for e in entries:
        if e["group"] != "attention" or "library" not in e:
            continue
        s, h, d, causal = e["seq"], e["heads"], e["dim"], e["causal"]
        dtype = e.get("dtype", "float32")
        # Q K^T and P V; a causal mask halves the work.
        flops = 4.0 * h * s * s * d * (0.5 if causal else 1.0)
        r = {"id": e["id"], "dtype": dtype}
        try:
            with rt.load(os.path.join(bundle, e["library"])) as model:
                rng = np.random.default_rng(0)
                q, k, v = (rng.standard_normal((1, h, s, d)).astype(dtype) for _ in range(3))
                (y,) = model.run([q, k, v])
                ms = sorted(model.benchmark([q, k, v], 10))
                r["kiln_ms"] = ms[len(ms) // 2]
                r["kiln_tflops"] = flops / r["kiln_ms"] / 1e9
                if torch is not None:
                    sdpa = torch.nn.functional.scaled_dot_product_attention
                    tq, tk, tv = (torch.from_numpy(x).cuda() for x in (q, k, v))
                    ref = sdpa(tq.double(), tk.double(), tv.double(), is_causal=causal)
                    err = float((torch.from_numpy(y.astype(np.float64)).cuda() - ref).abs().max())
                    r["max_abs_err"] = err
                    r["ok"] = err <= (1e-4 if dtype == "float32" else 4e-3)
                    r["torch_ms"] = cuda_time(torch, lambda: sdpa(tq, tk, tv, is_causal=causal), 10)
                    r["torch_tflops"] = flops / r["torch_ms"] / 1e9
        except kiln_exec.KilnError as ex:
            r["error"] = str(ex)[-300:]
        results.append(r)
        if "error" in r:
            lines.append(f"| {dtype} | {s} | {causal} | error: {r['error']} | | | | no |")
        elif "torch_tflops" in r:
            lines.append(f"| {dtype} | {s} | {causal} | {r['kiln_tflops']:.2f} | "
                         f"{r['torch_tflops']:.2f} | {r['kiln_tflops'] / r['torch_tflops']:.2f} | "
                         f"{r['max_abs_err']:.1e} | {'yes' if r['ok'] else 'NO'} |")
        else:
            lines.append(f"| {dtype} | {s} | {causal} | {r['kiln_tflops']:.2f} | (no torch) "
                         "| | | |")
    return results, lines


def models_section(rt, bundle, entries, torch, deadline, out):
    """Kiln's timing libraries (weights elided) against torch eager and
    torch.compile on the same model and batch; median ms per batch; and a
    profile of each (out/profiles/MODEL_bBATCH.json, Chrome traces)."""
    results = []
    lines = ["| model | batch | Kiln ms | Kiln CUDA graph ms | torch eager ms | torch.compile ms "
             "| Kiln (graph) / eager |", "| --- | --- | --- | --- | --- | --- | --- |"]
    try:
        import export_models
    except ImportError:
        export_models = None
    profiles = os.path.join(out, "profiles")
    os.makedirs(profiles, exist_ok=True)
    for e in entries:
        if e["group"] != "timing" or "library" not in e:
            continue
        r = {"model": e["model"], "batch": e["batch"]}
        if time.time() > deadline:
            r["error"] = "skipped: out of time"
        else:
            try:
                with rt.load(os.path.join(bundle, e["library"])) as model:
                    inputs = kiln_exec.random_inputs(model, 0)
                    for key, graph in (("kiln_ms", False), ("kiln_graph_ms", True)):
                        model.set_cuda_graph(graph)
                        ms = sorted(model.benchmark(inputs, 30))
                        r[key] = ms[len(ms) // 2]
                    # Every launch timed between CUDA events: the trace for
                    # Perfetto and the kernels by time.
                    model.set_cuda_graph(False)
                    trace = os.path.join(profiles, f"{e['model']}_b{e['batch']}.json")
                    r["profile"] = model.profile(inputs, 5, trace)
            except kiln_exec.KilnError as ex:
                r["error"] = str(ex)[-300:]
        if torch is not None and export_models is not None and "error" not in r:
            try:
                net, x = export_models.build(e["model"], e["batch"])
                net, x = net.eval().cuda(), x.cuda()
                with torch.no_grad():
                    r["eager_ms"] = cuda_time(torch, lambda: net(x), 20)
                    if time.time() < deadline:
                        compiled = torch.compile(net)
                        r["compile_ms"] = cuda_time(torch, lambda: compiled(x), 20)
            except Exception as ex:  # torch's own failures are reported, not fatal
                r["torch_error"] = f"{type(ex).__name__}: {str(ex)[:200]}"
        results.append(r)
        f = lambda k: f"{r[k]:.3f}" if k in r else "-"
        ratio = f"{r['kiln_graph_ms'] / r['eager_ms']:.2f}" if "eager_ms" in r else "-"
        lines.append(f"| {e['model']} | {e['batch']} | {f('kiln_ms')} | {f('kiln_graph_ms')} | "
                     f"{f('eager_ms')} | {f('compile_ms')} | {ratio} |"
                     + (f" {r['error']}" if "error" in r else ""))
    for r in results:
        if "profile" in r:
            # The top of each table: the kernels that take the most time.
            lines += ["", "```"] + r["profile"].splitlines()[:12] + ["```"]
    return results, lines


def tool_section(tool_args, bundle, entries, runtime, deadline, per_kind):
    """Runs an NVIDIA tool over kiln_exec on one case per kind (per_kind) or
    on the given entries; returns (results, lines)."""
    results, lines = [], []
    seen = set()
    for e in entries:
        if "library" not in e or (per_kind and (e["kind"] in seen or "outputs" not in e)):
            continue
        seen.add(e["kind"])
        if time.time() > deadline:
            lines.append(f"- {e['id']}: skipped, out of time")
            continue
        cmd = tool_args + [sys.executable, os.path.join(HERE, "kiln_exec.py"),
                           os.path.join(bundle, e["library"]), "--runtime", runtime]
        if "outputs" in e:
            cmd += ["--test-data", os.path.dirname(os.path.join(bundle, e["outputs"][0])),
                    "--rtol", str(e["rtol"]), "--atol", str(e["atol"])]
        else:
            cmd += ["--random-inputs"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=max(10, min(120, deadline - time.time())))
            out = (p.stdout + p.stderr).strip()
            r = {"id": e["id"], "kind": e["kind"], "exit": p.returncode, "tail": out[-1500:]}
        except subprocess.TimeoutExpired:
            r = {"id": e["id"], "kind": e["kind"], "exit": None, "tail": "timed out"}
        results.append(r)
        summary = [l for l in r["tail"].splitlines() if "ERROR SUMMARY" in l or "RACECHECK" in l]
        lines.append(f"- {e['id']} ({e['kind']}): exit {r['exit']}"
                     f"{': ' + summary[-1].strip() if summary else ''}")
    return results, lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", default=HERE)
    ap.add_argument("--out", default=os.environ.get("OUT") or "gpu-report")
    ap.add_argument("--budget", type=float, default=400, help="seconds for the whole run")
    ap.add_argument("--only", default=",".join(SECTIONS))
    args = ap.parse_args()
    start = time.time()
    deadline = start + args.budget
    only = set(args.only.split(","))
    bundle = os.path.abspath(args.bundle)
    with open(os.path.join(bundle, "manifest.json")) as f:
        manifest = json.load(f)
    entries = manifest["cases"]
    missing = [e["id"] for e in entries if "library" in e and
               not os.path.exists(os.path.join(bundle, e["library"]))]
    report = Report(args.out)
    info, why = kiln_exec.probe_gpu()
    torch = torch_cuda() if why is None and not info.get("stand_in") else None
    info["torch"] = getattr(sys.modules.get("torch"), "__version__", None)
    lines = [f"bundle: {bundle}, {sum('library' in e for e in entries)} libraries for "
             f"{manifest['gpu_arch']}, {len(missing)} missing"]
    lines.append(f"device: {info.get('name', '-')} ({info.get('cc', '-')}), driver "
                 f"{info.get('driver_version', '-')}, torch {info['torch'] or 'not usable'}")
    if why:
        lines.append(f"no GPU: {why}")
    elif info["stand_in"]:
        lines.append("no GPU: the stand-in driver (test/Runtime/fake_libcuda.c): libraries "
                     "load and launch with checked parameters, kernels do not execute")
    report.section("device", dict(info, no_gpu=why, missing=missing), lines)
    if missing:
        print(f"gpu-run: {len(missing)} libraries of the manifest are missing", file=sys.stderr)
        return 1
    if why:
        print(f"gpu-run: no GPU here ({why}): nothing to run")
        return 0
    runtime = os.path.join(bundle, manifest["runtime"])
    rt = kiln_exec.Runtime(runtime)
    real = not info["stand_in"]
    failed = False
    if "check" in only:
        results, lines = check_cases(rt, bundle, entries, real)
        failed |= any(r["status"] not in ("pass", "ran") for r in results)
        report.section("check", results, lines)
    if not real:
        cuda = ctypes.CDLL(info["driver"])
        stats = (ctypes.c_long * 4)()
        cuda.fake_cuda_stats(*[ctypes.byref(stats, 8 * i) for i in range(4)])
        bad = stats[1]
        report.section("stand-in", {"launches": stats[0], "bad_launches": bad},
                       [f"{stats[0]} launches, {bad} with parameters that do not match their "
                        "kernel's PTX", "no GPU: numeric checks, timings, compute-sanitizer "
                        "and ncu need a real GPU"])
        print("gpu-run: no GPU (stand-in driver): every library loaded and ran its launches")
        return 1 if failed or bad else 0
    if "gemm" in only and time.time() < deadline:
        results, lines = gemm_section(rt, bundle, entries, torch)
        failed |= any(not r.get("ok") for r in results)
        report.section("gemm", results, lines)
    if "attention" in only and time.time() < deadline:
        results, lines = attention_section(rt, bundle, entries, torch)
        failed |= any(not r.get("ok", torch is None) for r in results)
        report.section("attention", results, lines)
    if "models" in only and time.time() < deadline:
        results, lines = models_section(rt, bundle, entries, torch, deadline - 60, args.out)
        report.section("models", results, lines)
    sanitizer = shutil.which("compute-sanitizer")
    if "sanitizer" in only:
        if not sanitizer:
            report.section("sanitizer", {}, ["compute-sanitizer not found"])
        else:
            small = [e for e in entries if e["group"] == "emulation"]
            res = []
            lines = []
            for tool in ("memcheck", "racecheck"):
                r, l = tool_section([sanitizer, "--tool", tool, "--error-exitcode", "9"],
                                    bundle, small, runtime, deadline - 30, per_kind=True)
                res += [dict(x, tool=tool) for x in r]
                lines += [f"{tool}:"] + l
            failed |= any(x["exit"] != 0 for x in res)
            report.section("sanitizer", res, lines)
    ncu = shutil.which("ncu")
    if "ncu" in only:
        if not ncu:
            report.section("ncu", {}, ["ncu not found"])
        else:
            metrics = ("gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,"
                       "dram__throughput.avg.pct_of_peak_sustained_elapsed,"
                       "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_elapsed,"
                       "launch__registers_per_thread,l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum")
            gemms = [e for e in entries if e["group"] == "gemm"]
            r, lines = tool_section([ncu, "--launch-count", "2", "--metrics", metrics],
                                    bundle, gemms, runtime, deadline, per_kind=False)
            report.section("ncu", r, lines + ["", "```"] + [x["tail"][-1200:] for x in r] + ["```"])
    report.section("summary", {"failed": failed, "seconds": round(time.time() - start, 1)},
                   [f"{'FAILED' if failed else 'all checks passed'} in "
                    f"{time.time() - start:.0f} s"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
