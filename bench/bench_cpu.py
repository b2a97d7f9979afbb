#!/usr/bin/env python3
"""Kiln's CPU target against onnxruntime and IREE, measured side by side in
one run, at each thread count asked for.

For every model: Kiln's compile time and peak compile memory (kilnc to a
shared library) and IREE's (iree-import-onnx + iree-compile for llvm-cpu,
host CPU); then, per thread count, the latency of onnxruntime (CPU
provider), IREE (iree-benchmark-module, local-task) and Kiln (kiln-run
--bench), each the median of --runs runs after warm-up, and Kiln's ratio to
each. Then MatMul 1024^3 in GFLOP/s for the three, against the nominal f32
peak of one core (FMA units x vector lanes x 2 x the clock /proc/cpuinfo
reports) times the threads.

Models are folders with model.onnx and test_data_set_0/input_*.pb (seeded
random inputs are made for a model without them), looked
up by name in --models (test/models/export_models.py writes resnet18,
resnet50, mobilenet_v2, encoder, bert_base there) and then in
~/.cache/kiln/zoo (test/models/zoo.py: gpt2_legacy, bert_legacy, ...).
IREE is optional (scripts/setup.sh bench installs the pinned version): its
columns read "n/a" without it, and "failed" where it cannot compile a model.

  bench/bench_cpu.py --threads 1,2,all resnet18 mobilenet_v2 encoder
  bench/bench_cpu.py --attention --no-iree bert_base bert_base_512 gpt2_128 gpt2_512
"""
import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def run_measured(cmd):
    """Runs cmd; (seconds, peak resident MiB, or None where GNU time is
    missing: a child forked from this process would count its memory).
    Raises on failure."""
    with tempfile.NamedTemporaryFile("r") as usage:
        full = [GNU_TIME, "-q", "-f", "%M", "-o", usage.name] + cmd if GNU_TIME else cmd
        t0 = time.perf_counter()
        p = subprocess.run(full, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{os.path.basename(cmd[0])} failed: {p.stderr.strip()[:300]}")
        text = usage.read().strip().splitlines()
    peak = int(text[-1]) / 1024.0 if GNU_TIME and text and text[-1].isdigit() else None
    return elapsed, peak


def read_inputs(model_dir):
    import numpy as np
    from onnx import TensorProto, numpy_helper
    arrays = []
    for path in sorted(glob.glob(os.path.join(model_dir, "test_data_set_0", "input_*.pb")),
                       key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0])):
        t = TensorProto()
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        arrays.append(np.ascontiguousarray(numpy_helper.to_array(t)))
    return arrays


class Kiln:
    def __init__(self, build, tmp, flags=()):
        self.build, self.tmp, self.flags = build, tmp, list(flags)

    def compile(self, name, model_dir):
        suffix = "".join(f.strip("-").replace("-", "_") for f in self.flags)
        self.lib = os.path.join(self.tmp, name + suffix + ".so")
        self.data = os.path.join(model_dir, "test_data_set_0")
        return run_measured([os.path.join(self.build, "bin", "kilnc"),
                             os.path.join(model_dir, "model.onnx"), "--emit=so", "-o",
                             self.lib] + self.flags)

    def latency(self, runs, threads):
        out = subprocess.run([os.path.join(self.build, "bin", "kiln-run"), self.lib,
                              "--test-data", self.data, "--atol", "1e-3", "--rtol", "1e-3",
                              "--bench", str(runs), f"--threads={threads}"],
                             capture_output=True, text=True)
        m = re.search(r"median ([\d.]+) ms", out.stdout)
        if out.returncode != 0 or not m:
            raise RuntimeError("kiln-run failed: " + (out.stderr or out.stdout).strip()[:300])
        return float(m.group(1))


class Ort:
    def compile(self, name, model_dir):
        self.path = os.path.join(model_dir, "model.onnx")
        self.inputs = read_inputs(model_dir)

    def latency(self, runs, threads):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(self.path, opts, providers=["CPUExecutionProvider"])
        feed = {i.name: x for i, x in zip(sess.get_inputs(), self.inputs)}
        for _ in range(3):
            sess.run(None, feed)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            sess.run(None, feed)
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)


class Iree:
    available = shutil.which("iree-compile", path=BIN + os.pathsep + os.environ.get("PATH", ""))

    def __init__(self, tmp):
        self.tmp = tmp

    def tool(self, name):
        return shutil.which(name, path=BIN + os.pathsep + os.environ.get("PATH", ""))

    def compile(self, name, model_dir):
        import numpy as np
        mlir = os.path.join(self.tmp, name + ".mlir")
        self.vmfb = os.path.join(self.tmp, name + ".vmfb")
        t1, m1 = run_measured([self.tool("iree-import-onnx"),
                               os.path.join(model_dir, "model.onnx"), "-o", mlir])
        t2, m2 = run_measured([self.tool("iree-compile"), mlir,
                               "--iree-hal-target-device=local",
                               "--iree-hal-local-target-device-backends=llvm-cpu",
                               "--iree-llvmcpu-target-cpu=host", "-o", self.vmfb])
        with open(mlir) as f:
            self.function = re.search(r"func\.func @([\w$.-]+)", f.read()).group(1)
        self.inputs = []
        for i, x in enumerate(read_inputs(model_dir)):
            path = os.path.join(self.tmp, f"{name}_in{i}.npy")
            np.save(path, x)
            self.inputs.append("--input=@" + path)
        return t1 + t2, None if m1 is None or m2 is None else max(m1, m2)

    def latency(self, runs, threads):
        out = subprocess.run([self.tool("iree-benchmark-module"), "--module=" + self.vmfb,
                              "--device=local-task", "--function=" + self.function,
                              f"--task_topology_max_group_count={threads}",
                              f"--benchmark_repetitions={runs}",
                              "--benchmark_min_time=1x"] + self.inputs,
                             capture_output=True, text=True)
        m = re.search(r"_median\s+([\d.]+)\s*(ms|us)", out.stdout)
        if out.returncode != 0 or not m:
            raise RuntimeError("iree-benchmark-module failed: " +
                               (out.stderr or out.stdout).strip()[:300])
        return float(m.group(1)) / (1000.0 if m.group(2) == "us" else 1.0)


def find_model(name, models):
    for d in (os.path.join(models, name), os.path.expanduser(f"~/.cache/kiln/zoo/{name}")):
        if os.path.exists(os.path.join(d, "model.onnx")):
            return d
    return None


def with_test_data(name, model_dir, tmp):
    """`model_dir` when it has test_data_set_0; otherwise a folder in `tmp`
    with a link to its model and one set of seeded random inputs for the
    model's declared shapes (symbolic dimensions 1; integer inputs in
    [0, 100), e.g. token ids), with onnxruntime's outputs."""
    if os.path.isdir(os.path.join(model_dir, "test_data_set_0")):
        return model_dir
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper
    d = os.path.join(tmp, name + "_data")
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    src = os.path.join(model_dir, "model.onnx")
    os.symlink(src, os.path.join(d, "model.onnx"))
    if os.path.exists(src + ".data"):
        os.symlink(src + ".data", os.path.join(d, "model.onnx.data"))
    sess = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {}
    for i, inp in enumerate(sess.get_inputs()):
        shape = [s if isinstance(s, int) and s > 0 else 1 for s in inp.shape]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(
            onnx.helper.np_dtype_to_tensor_dtype(np.dtype(ort_numpy_type(inp.type))))
        x = (rng.integers(0, 100, shape) if np.issubdtype(dtype, np.integer)
             else rng.standard_normal(shape)).astype(dtype)
        feed[inp.name] = x
        with open(os.path.join(d, "test_data_set_0", f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, inp.name).SerializeToString())
    for i, (out, y) in enumerate(zip(sess.get_outputs(), sess.run(None, feed))):
        with open(os.path.join(d, "test_data_set_0", f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(y), out.name).SerializeToString())
    return d


def ort_numpy_type(t):
    """numpy type name of an onnxruntime type string like 'tensor(float)'."""
    inner = t[len("tensor("):-1]
    return {"float": "float32", "double": "float64", "float16": "float16", "int64": "int64",
            "int32": "int32", "int8": "int8", "uint8": "uint8", "bool": "bool"}[inner]


def matmul_model(tmp, n):
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
    d = os.path.join(tmp, f"matmul{n}")
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul",
                          [helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [n, n])],
                          [helper.make_tensor_value_info("c", onnx.TensorProto.FLOAT, [n, n])],
                          [numpy_helper.from_array(
                              np.random.default_rng(0).standard_normal((n, n)).astype(np.float32),
                              "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "model.onnx"))
    x = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    with open(os.path.join(d, "test_data_set_0", "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "a").SerializeToString())
    import onnxruntime as ort
    y = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"a": x})[0]
    with open(os.path.join(d, "test_data_set_0", "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y, "c").SerializeToString())
    return d


def chain_model(tmp, n):
    """A chain of n elementwise nodes (Relu and Neg in turn) on 64 floats."""
    import onnx
    from onnx import helper
    nodes, prev = [], "x"
    for i in range(n):
        nodes.append(helper.make_node("Relu" if i % 2 == 0 else "Neg", [prev], [f"t{i}"]))
        prev = f"t{i}"
    g = helper.make_graph(nodes, "chain",
                          [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [64])],
                          [helper.make_tensor_value_info(prev, onnx.TensorProto.FLOAT, [64])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = os.path.join(tmp, f"chain{n}.onnx")
    onnx.save(m, path)
    return path


def core_peak_gflops():
    """Nominal f32 peak of one core: 2 FMA units x lanes x 2 flops x clock."""
    flags, mhz = set(), 0.0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("cpu MHz") and not mhz:
                mhz = float(line.split(":", 1)[1])
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    return 2 * lanes * 2 * mhz / 1000.0, lanes, mhz


def fmt(x, digits=2):
    return x if isinstance(x, str) else f"{x:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default=os.path.expanduser("~/.cache/kiln/models"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", default="1,2",
                    help="comma-separated thread counts; 'all' is every core")
    ap.add_argument("--no-iree", action="store_true")
    ap.add_argument("--no-matmul", action="store_true")
    ap.add_argument("--attention", action="store_true",
                    help="also time Kiln with attention unfused (kilnc --no-fuse-attention: "
                         "matmul, softmax, matmul) and print fused / unfused")
    ap.add_argument("--chains", default="",
                    help="comma-separated lengths of elementwise chains whose Kiln compile "
                         "time to print (compile time per node as graphs grow), e.g. "
                         "2000,20000,200000")
    ap.add_argument("names", nargs="*", default=["resnet18", "mobilenet_v2", "encoder"])
    args = ap.parse_args()
    threads = [os.cpu_count() if t == "all" else int(t) for t in args.threads.split(",")]
    use_iree = Iree.available and not args.no_iree

    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(n, find_model(n, args.models)) for n in args.names]
        missing = [n for n, d in jobs if d is None]
        if missing:
            print(f"missing: {', '.join(missing)}; run test/models/export_models.py "
                  "(or test/models/zoo.py) first", file=sys.stderr)
            return 1
        jobs = [(n, with_test_data(n, d, tmp)) for n, d in jobs]
        if not args.no_matmul:
            jobs.append(("matmul 1024^3", matmul_model(tmp, 1024)))
        rows, compiles = [], []
        for name, d in jobs:
            engines = {"kiln": Kiln(args.build, tmp), "ort": Ort()}
            if args.attention and not name.startswith("matmul"):
                engines["unfused"] = Kiln(args.build, tmp, ["--no-fuse-attention"])
            if use_iree:
                engines["iree"] = Iree(tmp)
            built = {}
            for key, engine in engines.items():
                try:
                    built[key] = engine.compile(name.split()[0], d)
                except Exception as e:  # a peer that cannot take the model
                    built[key] = e
                    print(f"{name}: {key}: {e}", file=sys.stderr)
            compiles.append((name, built.get("kiln"), built.get("iree")))
            for t in threads:
                lat = {}
                for key, engine in engines.items():
                    if isinstance(built[key], Exception):
                        lat[key] = "failed"
                        continue
                    try:
                        lat[key] = engine.latency(args.runs, t)
                    except Exception as e:
                        lat[key] = "failed"
                        print(f"{name}: {key}: {e}", file=sys.stderr)
                rows.append((name, t, lat))

        def ratio(a, b):
            return f"{a / b:.2f}x" if isinstance(a, float) and isinstance(b, float) else "n/a"

        peak, lanes, mhz = core_peak_gflops()
        print(f"CPU latency, batch 1, median of {args.runs} runs, ms "
              f"(ratio below 1: Kiln faster)")
        print("| model | threads | onnxruntime | IREE | Kiln | Kiln / onnxruntime | Kiln / IREE |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, t, lat in rows:
            if name.startswith("matmul"):
                continue
            iree = lat.get("iree", "n/a")
            print(f"| {name} | {t} | {fmt(lat['ort'])} | {fmt(iree)} | {fmt(lat['kiln'])} | "
                  f"{ratio(lat['kiln'], lat['ort'])} | {ratio(lat['kiln'], iree)} |")
        if args.attention:
            print()
            print("Kiln with fused attention against attention as matmul, softmax, matmul (ms)")
            print("| model | threads | fused | unfused | fused / unfused |")
            print("| --- | --- | --- | --- | --- |")
            for name, t, lat in rows:
                if "unfused" in lat:
                    print(f"| {name} | {t} | {fmt(lat['kiln'])} | {fmt(lat['unfused'])} | "
                          f"{ratio(lat['kiln'], lat['unfused'])} |")
        print()
        print("Compile: seconds / peak MiB")
        print("| model | IREE | Kiln |")
        print("| --- | --- | --- |")
        for name, k, i in compiles:
            def cell(v):
                if v is None:
                    return "n/a"
                if isinstance(v, Exception):
                    return "failed"
                return f"{v[0]:.1f} s / " + ("n/a" if v[1] is None else f"{v[1]:.0f} MiB")
            print(f"| {name} | {cell(i)} | {cell(k)} |")
        if not args.no_matmul:
            print()
            print(f"MatMul 1024^3 f32, GFLOP/s (nominal peak per core {peak:.0f}: "
                  f"2 FMA x {lanes} lanes x 2 x {mhz:.0f} MHz)")
            print("| threads | onnxruntime | IREE | Kiln | Kiln % of peak |")
            print("| --- | --- | --- | --- | --- |")
            flops = 2.0 * 1024 ** 3
            for name, t, lat in rows:
                if not name.startswith("matmul"):
                    continue
                g = {k: (flops / (v / 1000.0) / 1e9 if isinstance(v, float) else v)
                     for k, v in lat.items()}
                pct = f"{100 * g['kiln'] / (peak * t):.0f}%" if isinstance(g["kiln"], float) \
                    else "n/a"
                print(f"| {t} | {fmt(g['ort'], 1)} | {fmt(g.get('iree', 'n/a'), 1)} | "
                      f"{fmt(g['kiln'], 1)} | {pct} |")
        if args.chains:
            print()
            print("Kiln compile time of a chain of elementwise nodes (to a library)")
            print("| nodes | seconds | peak MiB | ms per node |")
            print("| --- | --- | --- | --- |")
            for n in [int(c) for c in args.chains.split(",")]:
                path = chain_model(tmp, n)
                t, mem = run_measured([os.path.join(args.build, "bin", "kilnc"), path,
                                       "--emit=so", "-o", os.path.join(tmp, "chain.so")])
                print(f"| {n} | {t:.1f} | {'n/a' if mem is None else f'{mem:.0f}'} | "
                      f"{1000 * t / n:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
