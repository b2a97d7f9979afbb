#!/usr/bin/env python3
"""Writes an ONNX test-data folder for a model: a seeded random input and
onnxruntime's output for it (input_0.pb, output_0.pb).

usage: make_reference.py MODEL.onnxtxt|MODEL.onnx OUT_DIR [--bench N]

With --bench N it also times N runs of onnxruntime (after a warm-up) and
prints the minimum and median latency.
"""
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper


def main():
    model_path, out_dir = sys.argv[1], sys.argv[2]
    bench = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--bench" else 0
    if model_path.endswith(".onnxtxt"):
        with open(model_path) as f:
            model = onnx.parser.parse_model(f.read())
    else:
        model = onnx.load(model_path)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only, not advice about the model
    sess = ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for i in sess.get_inputs():
        feeds[i.name] = rng.standard_normal(i.shape).astype(np.float32)
    outputs = sess.run(None, feeds)
    os.makedirs(out_dir, exist_ok=True)
    for k, (name, value) in enumerate(feeds.items()):
        with open(os.path.join(out_dir, f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(value, name).SerializeToString())
    for k, (o, value) in enumerate(zip(sess.get_outputs(), outputs)):
        with open(os.path.join(out_dir, f"output_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(value, o.name).SerializeToString())
        print(f"onnxruntime {o.name}: {np.array2string(value.ravel()[:10], precision=5)}")
    if bench:
        sess.run(None, feeds)
        ms = []
        for _ in range(bench):
            start = time.perf_counter()
            sess.run(None, feeds)
            ms.append((time.perf_counter() - start) * 1e3)
        ms.sort()
        print(f"onnxruntime latency over {bench} runs: min {ms[0]:.3f} ms, "
              f"median {ms[len(ms) // 2]:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
