#!/usr/bin/env python3
"""Real-GPU tests of CUDA model libraries (kilnc --target=cuda -o model.so).

Without a CUDA driver or device this prints why and exits 0 (skipped).
With one:
  1. every example model and every exported model (~/.cache/kiln/models):
     compiled for the CPU and for CUDA, run on the same random inputs
     through libkiln_runtime; the GPU outputs must match the CPU target's,
     with CUDA graphs off and on, from two host threads at once, and
     through the device-pointer entry (kiln_model_run_device);
  2. the exported models against their onnxruntime reference data
     (kiln-run model.so --target=cuda --test-data, graphs off and on);
  3. the ONNX node tests of the CPU ratchet (test/conformance/passing.txt)
     with kiln-run --target=cuda on their test data (tests the CUDA target
     cannot build yet are listed, not failed).
Exit code 1 if anything fails.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import threading


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODELS = os.environ.get("KILN_MODEL_CACHE", os.path.expanduser("~/.cache/kiln/models"))
NODE_DATA = "/usr/include/onnx/backend/test/data/node"

sys.path.insert(0, os.path.join(ROOT, "tools", "kiln-exec"))
from kiln_exec import KilnError, Runtime, compare, probe_gpu, random_inputs  # noqa: E402


def check_against_cpu(args, rt, name, onnx_path, tmp, rtol, atol):
    """GPU vs CPU target on random inputs; returns a list of failures."""
    failures = []
    libs = {}
    for target in ("cpu", "cuda"):
        lib = os.path.join(tmp, f"{name}.{target}.so")
        p = subprocess.run([args.kilnc, onnx_path, f"--target={target}", "-o", lib],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return [f"{name}: kilnc --target={target} failed: {p.stderr.strip()[-300:]}"]
        libs[target] = lib
    cpu, gpu = rt.load(libs["cpu"]), rt.load(libs["cuda"])
    try:
        arrays = random_inputs(cpu, seed=len(name))
        want = cpu.run(arrays)

        def check(what, got):
            for i, (g, w) in enumerate(zip(got, want)):
                ok, err = compare(g, w, rtol, atol)
                if not ok:
                    failures.append(f"{name}: {what}: output {i} differs from the CPU "
                                    f"target (max abs error {err:.3g})")
                    return
        for graph in (0, 1):
            gpu.set_cuda_graph(graph)
            for k in range(2):
                check(f"run {k} with CUDA graph {'on' if graph else 'off'}", gpu.run(arrays))
        results, errors = [], []

        def worker():
            try:
                for _ in range(5):
                    results.append(gpu.run(arrays))
            except KilnError as e:
                errors.append(str(e))
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        failures += [f"{name}: two threads: {e}" for e in errors]
        for r in results:
            check("two threads", r)
        check("kiln_model_run_device", gpu.run_device(arrays))
    except KilnError as e:
        failures.append(f"{name}: {e}")
    finally:
        cpu.free()
        gpu.free()
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="Kiln build folder")
    ap.add_argument("--tests", default=os.path.join(ROOT, "test", "conformance", "passing.txt"))
    ap.add_argument("--node-limit", type=int, default=0, help="run only the first N node tests")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    args.kilnc = os.path.join(args.build, "bin", "kilnc")
    models = [("tiny_cnn", os.path.join(ROOT, "examples", "tiny_cnn.onnxtxt"))]
    for m in ("resnet18", "mobilenet_v2", "encoder"):
        path = os.path.join(MODELS, m, "model.onnx")
        if os.path.exists(path):
            models.append((m, path))
        else:
            print(f"note: {m} is not exported ({path}); test/models/export_models.py makes it")
    why = probe_gpu()[1]
    if why:
        # What can be checked without a GPU: every model builds into a
        # CUDA library (PTX, cubin, host code).
        with tempfile.TemporaryDirectory() as tmp:
            for name, path in models:
                lib = os.path.join(tmp, name + ".so")
                p = subprocess.run([args.kilnc, path, "--target=cuda", "-o", lib],
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    print(f"kilnc --target=cuda failed for {name}: {p.stderr.strip()[-500:]}")
                    return 1
                print(f"-- {name}: CUDA library built ({os.path.getsize(lib) // 1024} KiB)")
        print(f"SKIPPED: real-GPU tests of CUDA model libraries: {why}")
        return 0
    kiln_run = os.path.join(args.build, "bin", "kiln-run")
    rt = Runtime(os.path.join(args.build, "lib", "libkiln_runtime.so"))
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in models:
            f = check_against_cpu(args, rt, name, path, tmp, rtol=1e-3, atol=1e-4)
            print(f"-- {name}: GPU vs CPU target: {'OK' if not f else 'FAILED'}")
            failures += f
        for name, path in models[1:]:
            lib = os.path.join(tmp, f"{name}.cuda.so")
            for extra in ([], ["--cuda-graph"]):
                p = subprocess.run([kiln_run, lib, "--target=cuda", "--test-data",
                                    os.path.join(MODELS, name, "test_data_set_0"),
                                    "--rtol", "1e-3", "--atol", "1e-4", "--bench", "20"] + extra,
                                   capture_output=True, text=True)
                print(f"-- {name} vs onnxruntime {' '.join(extra)}:\n{p.stdout.strip()}")
                if p.returncode != 0:
                    failures.append(f"{name} vs onnxruntime {' '.join(extra)}: "
                                    f"{(p.stdout + p.stderr).strip()[-300:]}")

        # The node tests, classified as the CPU conformance runner does.
        sys.path.insert(0, os.path.join(ROOT, "test", "conformance"))
        import run_node_tests as runner
        runner.EXTRA_ARGS.extend(["--target=cuda"])
        tests = [t.strip() for t in open(args.tests) if t.strip()]
        if args.node_limit:
            tests = tests[:args.node_limit]
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            results = dict(zip(tests, pool.map(
                lambda t: runner.classify(kiln_run, os.path.join(NODE_DATA, t), 300), tests)))
        # Like the PTX check, models the CUDA target cannot build yet are
        # counted and listed; wrong results, crashes and hangs fail the run.
        bad = {t: r for t, r in results.items() if r[0] != "pass"}
        unbuilt = {t for t, (kind, _) in bad.items() if kind in ("compile-error", "unsupported")}
        print(f"-- ONNX node tests on the GPU: {len(tests) - len(bad)} of {len(tests)} pass, "
              f"{len(unbuilt)} not supported by the CUDA target yet")
        for t, (kind, msg) in sorted(bad.items()):
            print(f"   {t}: {kind}: {msg}")
            if t not in unbuilt:
                failures.append(f"node test {t}: {kind}")
    if failures:
        print(f"{len(failures)} failures:")
        for f in failures:
            print("  " + f)
        return 1
    print("all real-GPU tests passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
