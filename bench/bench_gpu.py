#!/usr/bin/env python3
"""Kiln's CUDA target against PyTorch on the same GPU, in one run.

  1. GEMM 4096x4096x4096 in TFLOP/s: Kiln (fp32, fp16 models) against
     torch.matmul (cuBLAS) in fp32, tf32 and fp16. Kiln has no TF32 mode:
     its tf32 row repeats the fp32 kernels, to compare with cuBLAS's TF32.
  2. resnet18, mobilenet_v2 and the transformer encoder of
     test/models/export_models.py (random weights) at batch 1 and 32:
     Kiln (CUDA graph off and on) against PyTorch eager and torch.compile,
     median milliseconds per batch and the ratio Kiln / peer (below 1:
     Kiln is faster).

Kiln's times are the device time of a run measured with CUDA events by the
runtime (kiln_model_benchmark: kernels only, inputs already on the device);
PyTorch's are measured the same way around the forward call. Without a GPU
(or without torch with CUDA) it prints why and exits 0.
"""
import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 4096


def unavailable():
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        return f"no CUDA driver ({e})"
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        return "PyTorch sees no CUDA device"
    return None


class Kiln:
    def __init__(self, build):
        self.build = build
        self.lib = ctypes.CDLL(os.path.join(build, "lib", "libkiln_runtime.so"),
                               mode=ctypes.RTLD_GLOBAL)
        self.lib.kiln_model_load.restype = ctypes.c_void_p
        self.lib.kiln_model_load.argtypes = [ctypes.c_char_p]
        self.lib.kiln_last_error.restype = ctypes.c_char_p
        self.lib.kiln_model_set_cuda_graph.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.lib.kiln_model_benchmark.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                  ctypes.c_void_p, ctypes.c_int,
                                                  ctypes.POINTER(ctypes.c_double)]
        self.lib.kiln_model_free.argtypes = [ctypes.c_void_p]

    def compile(self, model, out, shapes=()):
        cmd = [os.path.join(self.build, "bin", "kilnc"), model, "--target=cuda",
               "--gpu-arch=" + self.arch, "-o", out]
        cmd += [f"--input-shape={s}" for s in shapes]
        subprocess.run(cmd, check=True)

    def time(self, lib, inputs, outputs, runs, graph):
        """Median device milliseconds of a run."""
        import numpy as np
        m = self.lib.kiln_model_load(lib.encode())
        if not m:
            raise RuntimeError(self.lib.kiln_last_error().decode())
        try:
            self.lib.kiln_model_set_cuda_graph(m, int(graph))
            ins = (ctypes.c_void_p * len(inputs))(*[a.ctypes.data for a in inputs])
            outs = (ctypes.c_void_p * len(outputs))(*[o.ctypes.data for o in outputs])
            ms = (ctypes.c_double * runs)()
            if self.lib.kiln_model_benchmark(m, ins, outs, runs, ms) != 0:
                raise RuntimeError(self.lib.kiln_last_error().decode())
            return statistics.median(ms)
        finally:
            self.lib.kiln_model_free(m)


def torch_time(fn, runs):
    import torch
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def bench_gemm(kiln, tmp, runs):
    import numpy as np
    import torch
    rows = []
    flops = 2.0 * N ** 3
    for name, onnx_type, np_type, torch_type in (("fp32", "float", np.float32, torch.float32),
                                                 ("fp16", "float16", np.float16, torch.float16)):
        src = os.path.join(tmp, f"gemm_{name}.onnxtxt")
        with open(src, "w") as f:
            f.write(f'<ir_version: 8, opset_import: ["" : 17]>\n'
                    f'gemm ({onnx_type}[{N},{N}] a, {onnx_type}[{N},{N}] b) => '
                    f'({onnx_type}[{N},{N}] c) {{\n  c = MatMul (a, b)\n}}\n')
        lib = os.path.join(tmp, f"gemm_{name}.so")
        kiln.compile(src, lib)
        rng = np.random.default_rng(0)
        a = rng.standard_normal((N, N)).astype(np_type)
        b = rng.standard_normal((N, N)).astype(np_type)
        c = np.zeros((N, N), np_type)
        kiln_ms = kiln.time(lib, [a, b], [c], runs, graph=False)
        ta = torch.from_numpy(a).cuda()
        tb = torch.from_numpy(b).cuda()
        modes = [(name, False)] + ([("tf32", True)] if name == "fp32" else [])
        for mode, tf32 in modes:
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch_ms = torch_time(lambda: torch.matmul(ta, tb), runs)
            rows.append((f"GEMM {N}^3 {mode}", flops / kiln_ms / 1e9, flops / torch_ms / 1e9))
        torch.backends.cuda.matmul.allow_tf32 = False
    print(f"\n{'GEMM':<24}{'Kiln TFLOP/s':>14}{'cuBLAS TFLOP/s':>16}{'Kiln/cuBLAS':>13}")
    for label, k, t in rows:
        print(f"{label:<24}{k:>14.2f}{t:>16.2f}{k / t:>13.2f}")


def bench_models(kiln, tmp, runs, batches):
    import numpy as np
    import torch
    sys.path.insert(0, os.path.join(ROOT, "test", "models"))
    from export_models import build
    print(f"\n{'model':<14}{'batch':>6}{'Kiln ms':>9}{'Kiln+graph':>12}{'eager ms':>10}"
          f"{'compile ms':>12}{'vs eager':>10}{'vs compile':>12}")
    for name in ("resnet18", "mobilenet_v2", "encoder"):
        model, example = build(name)
        model = model.eval().cuda()
        for batch in batches:
            x = example.repeat(batch, *([1] * (example.dim() - 1)))
            path = os.path.join(tmp, f"{name}_{batch}.onnx")
            with torch.no_grad():
                torch.onnx.export(model.cpu(), (x,), path, opset_version=17,
                                  input_names=["input"], output_names=["output"], dynamo=False)
            model = model.cuda()
            lib = os.path.join(tmp, f"{name}_{batch}.so")
            kiln.compile(path, lib)
            with torch.no_grad():
                y = model(x.cuda())
            xin = x.numpy()
            out = np.zeros(tuple(y.shape), np.float32)
            k_ms = kiln.time(lib, [xin], [out], runs, graph=False)
            kg_ms = kiln.time(lib, [xin], [out], runs, graph=True)
            xc = x.cuda()
            with torch.no_grad():
                eager = torch_time(lambda: model(xc), runs)
                compiled_model = torch.compile(model)
                compiled = torch_time(lambda: compiled_model(xc), runs)
            best = min(k_ms, kg_ms)
            print(f"{name:<14}{batch:>6}{k_ms:>9.3f}{kg_ms:>12.3f}{eager:>10.3f}{compiled:>12.3f}"
                  f"{best / eager:>10.2f}{best / compiled:>12.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--gpu-arch", default="sm_80",
                    help="--gpu-arch for kilnc (sm_90 on H100/H200)")
    ap.add_argument("--skip-gemm", action="store_true")
    ap.add_argument("--skip-models", action="store_true")
    ap.add_argument("--batches", default="1,32")
    args = ap.parse_args()
    why = unavailable()
    if why:
        print(f"SKIPPED: GPU benchmark: {why}")
        return 0
    import torch
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    kiln = Kiln(args.build)
    kiln.arch = args.gpu_arch
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_gemm:
            bench_gemm(kiln, tmp, args.runs)
        if not args.skip_models:
            bench_models(kiln, tmp, args.runs, [int(b) for b in args.batches.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
