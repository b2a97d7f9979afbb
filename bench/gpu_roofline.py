#!/usr/bin/env python3
"""What Kiln's GPU kernels should cost on a GPU, estimated without one.

For each model and --gpu-arch / --precision, compiles the model's fusion
report for the CUDA target (kilnc --fusion-report, which runs ptxas -v on
the kernels) and prints:
  - the model's roofline time: per fused kernel max(FLOPs / peak, bytes /
    bandwidth) at the architecture's published dense peaks (tensor-core
    peak of the precision for kernels on tensor cores, the fp32 peak for
    the rest), summed; and how much of it the compute-bound kernels take;
  - the number of kernel launches (at ~3 us each without CUDA graphs, the
    floor of a small model's latency) and of tensor-core kernels;
  - from ptxas: the largest register count, spilled bytes (should be 0),
    and the lowest occupancy among the tensor-core kernels;
  - with --kernels, the N largest kernels by roofline time.

These are estimates (a roofline is a lower bound on time; mma.sync on
sm_90 reaches only part of the wgmma peak used here); the GPU bundle
(scripts/gpu-bundle.sh, scripts/gpu-run.sh) measures them where a GPU is
lent.

usage: bench/gpu_roofline.py [--kilnc build/bin/kilnc] [--arch sm_90 ...]
       [--precision fp16 ...] [--kernels N] MODEL.onnx|NAME ...
NAME is a folder of ~/.cache/kiln/models (test/models/export_models.py).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.environ.get("KILN_MODEL_CACHE", os.path.expanduser("~/.cache/kiln/models"))


def model_path(name):
    if os.path.exists(name):
        return name
    path = os.path.join(MODELS, name, "model.onnx")
    if not os.path.exists(path):
        raise SystemExit(f"gpu_roofline: no model '{name}' (not a file, nor {path}; "
                         "test/models/export_models.py exports the named ones)")
    return path


def report(kilnc, model, arch, precision):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "report.json")
        cmd = [kilnc, model, "--target=cuda", f"--gpu-arch={arch}", f"--precision={precision}",
               "--emit=kiln", "-o", os.devnull, f"--fusion-report={out}", "--quiet"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"gpu_roofline: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
        with open(out) as f:
            return json.load(f)


def summarize(r):
    gpu = r["gpu"]
    kernels = r["kernels"]
    total_ns = gpu.get("roofline_ns", 0)
    compute_ns = sum(k["gpu"].get("roofline_ns", 0) for k in kernels
                     if k["gpu"].get("bound") == "compute")
    tc = [k for k in gpu["kernels"] if "cp.async" in k.get("strategy", "")]
    regs = max((k.get("registers", 0) for k in gpu["kernels"]), default=0)
    spills = sum(k.get("spill_bytes", 0) for k in gpu["kernels"])
    occ = min((k["occupancy_percent"] for k in tc if "occupancy_percent" in k), default=None)
    return dict(device=gpu.get("device", gpu["arch"]), launches=gpu["launches"],
                total_us=total_ns / 1000, compute_share=compute_ns / total_ns if total_ns else 0,
                flops=r["summary"]["flops"], bytes=r["summary"]["bytes"], tc=len(tc),
                kernels=len(gpu["kernels"]), regs=regs, spills=spills, occ=occ,
                note=gpu.get("resources_note", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--kilnc", default=os.path.join(ROOT, "build", "bin", "kilnc"))
    ap.add_argument("--arch", nargs="+", default=["sm_80", "sm_90"])
    ap.add_argument("--precision", nargs="+", default=["fp16"])
    ap.add_argument("--kernels", type=int, default=0,
                    help="also list the N fused kernels with the largest roofline time")
    args = ap.parse_args()
    if not os.access(args.kilnc, os.X_OK):
        raise SystemExit(f"gpu_roofline: no kilnc at {args.kilnc} (build it, or pass --kilnc)")
    print("| model | device | precision | GFLOP | MB moved | roofline us | compute-bound share "
          "| launches | tensor-core kernels | max registers | spilled bytes "
          "| lowest tensor-core occupancy |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    notes = set()
    for name in args.models:
        path = model_path(name)
        label = os.path.basename(os.path.dirname(path)) if path.endswith("model.onnx") else name
        for arch in args.arch:
            for prec in args.precision:
                r = report(args.kilnc, path, arch, prec)
                s = summarize(r)
                if s["note"]:
                    notes.add(s["note"])
                occ = "-" if s["occ"] is None else f"{s['occ']}%"
                print(f"| {label} | {s['device']} | {prec} | {s['flops'] / 1e9:.2f} "
                      f"| {s['bytes'] / 1e6:.1f} | {s['total_us']:.1f} "
                      f"| {100 * s['compute_share']:.0f}% | {s['launches']} | {s['tc']} "
                      f"| {s['regs']} | {s['spills']} | {occ} |")
                if args.kernels:
                    ranked = sorted(r["kernels"], key=lambda k: -k["gpu"].get("roofline_ns", 0))
                    for k in ranked[:args.kernels]:
                        g = k["gpu"]
                        print(f"|   {k['name']} ({', '.join(k['nodes'][:3])}) | | | "
                              f"{k['flops'] / 1e9:.3f} | {k['bytes'] / 1e6:.2f} "
                              f"| {g.get('roofline_ns', 0) / 1000:.2f} | {g.get('bound', '')} "
                              f"| | {'yes' if g.get('tensor_cores') else ''} | | | |")
    for n in sorted(notes):
        print(f"note: {n}")


if __name__ == "__main__":
    sys.exit(main())
