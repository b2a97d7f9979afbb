#!/usr/bin/env python3
"""Latency of Kiln's CPU target against onnxruntime on the same models, in
one run, with the same thread count. Prints a table with the ratio
(Kiln / onnxruntime; below 1 means Kiln is faster).

Models come from test/models/export_models.py (resnet18, mobilenet_v2,
encoder). Kiln runs the ahead-of-time compiled library through kiln-run's
--bench (min / median over N runs after warm-up).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kiln_latency(build, model_dir, runs, threads):
    with tempfile.TemporaryDirectory() as tmp:
        lib = os.path.join(tmp, "model.so")
        subprocess.run([os.path.join(build, "bin", "kilnc"),
                        os.path.join(model_dir, "model.onnx"), "--emit=so", "-o", lib],
                       check=True)
        out = subprocess.run([os.path.join(build, "bin", "kiln-run"), lib,
                              "--test-data", os.path.join(model_dir, "test_data_set_0"),
                              "--atol", "1e-4", "--bench", str(runs),
                              f"--threads={threads}"],
                             check=True, capture_output=True, text=True).stdout
    m = re.search(r"min ([\d.]+) ms, median ([\d.]+) ms", out)
    return float(m.group(1)), float(m.group(2))


def ort_latency(model_dir, runs, threads):
    import numpy as np
    import onnxruntime as ort
    from onnx import numpy_helper, TensorProto
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), opts,
                                providers=["CPUExecutionProvider"])
    t = TensorProto()
    with open(os.path.join(model_dir, "test_data_set_0", "input_0.pb"), "rb") as f:
        t.ParseFromString(f.read())
    feed = {sess.get_inputs()[0].name: numpy_helper.to_array(t)}
    for _ in range(3):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1000)
    return min(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default=os.path.expanduser("~/.cache/kiln/models"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="threads for both (default: all cores)")
    ap.add_argument("names", nargs="*", default=["resnet18", "mobilenet_v2", "encoder"])
    args = ap.parse_args()
    rows = []
    for name in args.names:
        d = os.path.join(args.models, name)
        if not os.path.exists(os.path.join(d, "model.onnx")):
            print(f"{name}: missing; run test/models/export_models.py first", file=sys.stderr)
            return 1
        k = kiln_latency(args.build, d, args.runs, args.threads)
        o = ort_latency(d, args.runs, args.threads)
        rows.append((name, k, o))
    print(f"CPU latency, batch 1, {args.threads} thread(s), median of {args.runs} runs (min in brackets)")
    print(f"| model | Kiln ms | onnxruntime ms | Kiln / onnxruntime |")
    print(f"| --- | --- | --- | --- |")
    for name, k, o in rows:
        print(f"| {name} | {k[1]:.2f} ({k[0]:.2f}) | {o[1]:.2f} ({o[0]:.2f}) | {k[1] / o[1]:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
