#!/usr/bin/env python3
"""Builds the GPU bundle: everything a machine with an NVIDIA GPU but no
compiler needs to check and time Kiln's kernels (scripts/gpu-run.sh runs it
there). Runs here, without a GPU; called by scripts/gpu-bundle.sh.

The bundle (default build/gpu-bundle, at most --max-mib MiB):
  manifest.json         every case: library, inputs, references, tolerances,
                        kind, where it comes from
  lib/libkiln_runtime.so
  kiln_exec.py          the runtime-only runner (tools/kiln-exec)
  gpu_run.py            the checks and timings (scripts/gpu_run.py), with
  export_models.py      the torch definitions of the models, for timing torch
  cases/ID/model.so.xz  CUDA libraries for --gpu-arch (cubin + PTX), xz-compressed
  cases/ID/data/        input_N.pb / output_N.pb (references from float64
                        numpy or onnxruntime, made here)

Cases:
  emulation   every `kiln-run ... --target=cuda --emulate --test-data`
              check of the lit suite (all contraction strategies,
              precisions and odd shapes, row kernels, direct kernels,
              padding, elementwise), with that check's tolerances; the
              generators the lit tests run make the models and data
  node        the ONNX backend node tests of the CPU ratchet
              (test/conformance/passing.txt) that build for CUDA
  model       resnet18, mobilenet_v2 and the encoder exported by
              test/models/export_models.py, with onnxruntime's outputs,
              as long as they fit the size limit (largest left out first)
  timing      every export in the model cache (also resnet50, bert_base
              and batch 32 where exported) with its weights elided
              (kilnc --elide-weights): a few hundred KiB each, timed on
              the GPU against torch eager and torch.compile
  gemm        MatMul of two 4096x4096 inputs at fp32, tf32, fp16 and bf16;
              no data: the runner draws the inputs from a seed on the
              device and checks against torch (cuBLAS) in float64
  attention   ONNX Attention (16 heads of 64, batch 1), f32 and f16, at 1k
              and 4k tokens, plain and causal, and f16 causal at 16k:
              Kiln's fused attention kernel; the runner checks it against
              torch's scaled_dot_product_attention and times both (at f16
              torch takes its flash kernel: the bar)
"""
import argparse
import concurrent.futures
import json
import lzma
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NODE_DATA = "/usr/include/onnx/backend/test/data/node"
MODELS = os.environ.get("KILN_MODEL_CACHE", os.path.expanduser("~/.cache/kiln/models"))
sys.path.insert(0, os.path.join(ROOT, "test", "conformance"))
sys.path.insert(0, os.path.join(ROOT, "tools", "kiln-exec"))
import kiln_exec  # noqa: E402  (test_data_files)
import run_node_tests  # noqa: E402  (graph_inputs, needs_constant_inputs)

# The kernel kind a lit test's emulation checks exercise, by test file.
KINDS = {
    "gpu-matmul": "contraction",
    "gpu-pipelined": "contraction",
    "gpu-transformer-contractions": "contraction",
    "gpu-direct-conv": "direct",
    "gpu-fold-padding-e2e": "padded-window",
    "gpu-emulation-reduction": "row",
    "gpu-emulation-elementwise": "elementwise",
    "gpu-emulation": "mixed",
    "fusion-tiny-cnn": "mixed",
}
# Checked against onnxruntime's outputs (real weights; left out, largest
# first, when the bundle would be too large), and timed against torch
# (weights elided: kilnc --elide-weights; exports at batch 32 are
# `export_models.py --batch 32 NAME`).
CHECKED_MODELS = ("encoder", "mobilenet_v2", "resnet18")
TIMED_MODELS = ("resnet18", "mobilenet_v2", "encoder", "resnet50", "bert_base")
OPTIONAL_TIMINGS = ("timing.bert_base.b32", "timing.resnet50.b32")
# (tokens, causal, element type)
ATTENTION_SHAPES = ((1024, False, "float32"), (4096, False, "float32"), (4096, True, "float32"),
                    (1024, False, "float16"), (4096, False, "float16"), (4096, True, "float16"),
                    (16384, True, "float16"))
ATTENTION_HEADS, ATTENTION_DIM = 16, 64
GEMM_SIZE = 4096
GEMM_PRECISIONS = ("fp32", "tf32", "fp16", "bf16")


def run_lines(path):
    """The RUN lines of a lit test, continuation lines joined."""
    lines, cur = [], ""
    for line in open(path):
        m = re.match(r"\s*#\s*RUN:\s?(.*)$", line)
        if not m:
            continue
        cur += m.group(1)
        if cur.endswith("\\"):
            cur = cur[:-1]
            continue
        lines.append(cur.strip())
        cur = ""
    return lines


def lit_substitute(cmd, test_path, tmp):
    return (cmd.replace("%S", os.path.dirname(test_path)).replace("%t", tmp)
            .replace("%kiln_src", ROOT).replace("%onnx_node", NODE_DATA).replace("%s", test_path))


TOOLS = ("kiln-run", "kilnc", "kiln-opt", "FileCheck", "ptxas", "not ")


def emulation_cases(work):
    """(id, kind, model, data folder, precision, rtol, atol, source) for
    every emulation check in the lit suite, after running the test's
    generator lines (python3 scripts writing models and references)."""
    cases = []
    tests = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(ROOT, "test"))
                   for f in fs if f.endswith(".test") and "Inputs" not in d)
    for test in tests:
        lines = run_lines(test)
        checks = [l for l in lines if l.startswith("kiln-run ") and "--emulate" in l
                  and "--test-data" in l]
        if not checks:
            continue
        stem = os.path.splitext(os.path.basename(test))[0]
        tmp = os.path.join(work, stem)
        for line in lines:
            if any(t in line for t in TOOLS) or "python3" not in line and not \
                    re.match(r"(rm|mkdir) ", line):
                continue
            cmd = lit_substitute(line, test, tmp)
            # `python3` is this interpreter (the project's venv), as in lit.
            env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep +
                       os.environ.get("PATH", ""))
            p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env)
            if p.returncode != 0:
                raise SystemExit(f"{os.path.relpath(test, ROOT)}: generator failed: {cmd}\n"
                                 f"{p.stderr[-500:]}")
        for line in checks:
            argv = shlex.split(lit_substitute(line.split("|")[0], test, tmp))
            model = argv[1]
            opts = {"--precision": "fp32", "--rtol": "1e-3", "--atol": "1e-5"}
            for i, a in enumerate(argv):
                if "=" in a and a.split("=")[0] in opts:
                    opts[a.split("=")[0]] = a.split("=", 1)[1]
                elif a in opts or a == "--test-data":
                    opts[a] = argv[i + 1]
            name = os.path.basename(os.path.dirname(model)) if model.endswith("model.onnx") \
                else os.path.splitext(os.path.basename(model))[0]
            prec = opts["--precision"]
            case_id = f"{stem}.{name}" + ("" if prec == "fp32" else f".{prec}")
            if any(c["id"] == case_id for c in cases):
                case_id += f".rtol{opts['--rtol']}"
            cases.append(dict(id=case_id, group="emulation", kind=KINDS.get(stem, "other"),
                              onnx=model, data=opts["--test-data"], precision=prec,
                              rtol=float(opts["--rtol"]), atol=float(opts["--atol"]),
                              source=os.path.relpath(test, ROOT)))
    return cases


def node_cases(passing):
    tests = [t.strip() for t in open(passing) if t.strip()]
    return [dict(id=f"node.{t}", group="node", kind="node", onnx=os.path.join(NODE_DATA, t,
                 "model.onnx"), data=os.path.join(NODE_DATA, t, "test_data_set_0"),
                 precision="fp32", rtol=1e-3, atol=1e-5, source="test/conformance/passing.txt")
            for t in tests]


def model_cases():
    """The exported models with their weights and references (checked on
    the GPU), and every export in the cache at batch 1 and 32 with its
    weights elided (timed on the GPU against torch)."""
    cases = []
    for m in CHECKED_MODELS:
        path = os.path.join(MODELS, m, "model.onnx")
        if os.path.exists(path):
            cases.append(dict(id=f"model.{m}", group="model", kind="model", onnx=path,
                              data=os.path.join(MODELS, m, "test_data_set_0"),
                              precision="fp32", rtol=1e-3, atol=1e-4,
                              source="test/models/export_models.py"))
        else:
            print(f"note: {m} is not exported ({path}): test/models/export_models.py makes it")
    for m in TIMED_MODELS:
        for batch in (1, 32):
            folder = m if batch == 1 else f"{m}_b{batch}"
            path = os.path.join(MODELS, folder, "model.onnx")
            if os.path.exists(path):
                cases.append(dict(id=f"timing.{m}.b{batch}", group="timing", kind="model",
                                  onnx=path, data=None, precision="fp32", model=m, batch=batch,
                                  elide_weights=True, source="test/models/export_models.py"))
    return cases


def gemm_cases(work):
    from onnx import TensorProto, helper
    n = GEMM_SIZE
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(work, "gemm4096.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return [dict(id=f"gemm.{n}.{p}", group="gemm", kind="contraction", onnx=path, data=None,
                 precision=p, m=n, n=n, k=n, source="scripts/gpu_bundle.py")
            for p in GEMM_PRECISIONS]


def attention_cases(work):
    from onnx import TensorProto, helper
    cases = []
    for seq, causal, dtype in ATTENTION_SHAPES:
        shape = [1, ATTENTION_HEADS, seq, ATTENTION_DIM]
        et = TensorProto.FLOAT if dtype == "float32" else TensorProto.FLOAT16
        graph = helper.make_graph(
            [helper.make_node("Attention", ["q", "k", "v"], ["y"], is_causal=int(causal))],
            "attention", [helper.make_tensor_value_info(x, et, shape) for x in "qkv"],
            [helper.make_tensor_value_info("y", et, shape)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
        model.ir_version = 10
        name = f"attention.{dtype}.{seq}{'.causal' if causal else ''}"
        path = os.path.join(work, name + ".onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        cases.append(dict(id=name, group="attention", kind="attention", onnx=path, data=None,
                          precision="fp32", seq=seq, heads=ATTENTION_HEADS, dim=ATTENTION_DIM,
                          causal=causal, dtype=dtype, source="scripts/gpu_bundle.py"))
    return cases


def compile_case(case, kilnc, arch, out):
    """Builds cases/ID/model.so and copies the data it needs; returns the
    manifest entry, or one with "error" when kilnc refuses the model."""
    case_dir = os.path.join(out, "cases", case["id"])
    os.makedirs(case_dir, exist_ok=True)
    lib = os.path.join(case_dir, "model.so")
    base = [kilnc, case["onnx"], "--target=cuda", f"--gpu-arch={arch}",
            f"--precision={case['precision']}", "-o", lib]
    if case.get("elide_weights"):
        base.append("--elide-weights")
    inputs = []
    data = case.get("data")
    if data:
        inputs = kiln_exec.test_data_files(data, "input")
    p = subprocess.run(base, capture_output=True, text=True)
    if p.returncode != 0 and data and run_node_tests.needs_constant_inputs(p.stderr):
        # Shape-like inputs compiled in from the test data, as a static
        # deployment would (the conformance runner does the same).
        names = run_node_tests.graph_inputs(case["onnx"])
        for first in (1, 0):
            frozen = [f"--freeze-input={n}={os.path.join(data, f)}"
                      for n, f in list(zip(names, inputs))[first:]]
            p = subprocess.run(base + frozen, capture_output=True, text=True)
            if p.returncode == 0:
                inputs = inputs[:first]
                break
    entry = {k: v for k, v in case.items() if k not in ("onnx", "data", "elide_weights")}
    if p.returncode != 0:
        shutil.rmtree(case_dir, ignore_errors=True)
        msg = [l for l in p.stderr.splitlines() if "error" in l]
        entry["error"] = (msg[0] if msg else p.stderr.strip())[-300:]
        return entry
    # Compressed (the PTX and cubins of small models shrink 2-3x); the
    # runner decompresses each library before loading it.
    with open(lib, "rb") as src, lzma.open(lib + ".xz", "wb", preset=6) as dst:
        shutil.copyfileobj(src, dst)
    os.remove(lib)
    entry["library"] = os.path.relpath(lib + ".xz", out)
    if data:
        dst = os.path.join(case_dir, "data")
        os.makedirs(dst, exist_ok=True)
        outputs = kiln_exec.test_data_files(data, "output")
        for f in inputs + outputs:
            shutil.copy(os.path.join(data, f), dst)
        entry["inputs"] = [f"{os.path.relpath(dst, out)}/{f}" for f in inputs]
        entry["outputs"] = [f"{os.path.relpath(dst, out)}/{f}" for f in outputs]
    return entry


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser(description="Builds the GPU bundle (see the module doc).")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="Kiln build folder")
    ap.add_argument("--out", help="bundle folder (default BUILD/gpu-bundle)")
    ap.add_argument("--gpu-arch", default="sm_90")
    ap.add_argument("--max-mib", type=float, default=60)
    ap.add_argument("--passing", default=os.path.join(ROOT, "test", "conformance", "passing.txt"))
    ap.add_argument("--node-limit", type=int, default=0, help="only the first N node tests")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    out = args.out or os.path.join(args.build, "gpu-bundle")
    kilnc = os.path.join(args.build, "bin", "kilnc")
    runtime = os.path.join(args.build, "lib", "libkiln_runtime.so")
    for f in (kilnc, runtime):
        if not os.path.exists(f):
            raise SystemExit(f"gpu_bundle: {f} is missing: build Kiln first (scripts/setup.sh)")
    if shutil.which("ptxas") is None and not os.path.exists("/usr/local/cuda/bin/ptxas"):
        print("note: no ptxas here: libraries carry PTX only (the driver JIT-compiles it)")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "lib"))
    shutil.copy(runtime, os.path.join(out, "lib"))
    for f in ("tools/kiln-exec/kiln_exec.py", "scripts/gpu_run.py", "test/models/export_models.py"):
        shutil.copy(os.path.join(ROOT, f), out)

    with tempfile.TemporaryDirectory() as work:
        cases = emulation_cases(work)
        nodes = node_cases(args.passing)
        if args.node_limit:
            nodes = nodes[:args.node_limit]
        cases += nodes + gemm_cases(work) + attention_cases(work) + model_cases()
        print(f"compiling {len(cases)} cases for {args.gpu_arch} ({args.jobs} jobs)", flush=True)
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            entries = list(pool.map(lambda c: compile_case(c, kilnc, args.gpu_arch, out), cases))

    def write_manifest():
        manifest = {"gpu_arch": args.gpu_arch, "cases": entries,
                    "runtime": "lib/libkiln_runtime.so", "runner": "kiln_exec.py"}
        with open(os.path.join(out, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)

    # The size limit, manifest included: what may leave are the models with
    # their weights and the batch-32 timings of the large models, largest
    # first.
    limit = int(args.max_mib * 2**20)
    optional = sorted((e for e in entries if "library" in e and
                       (e["group"] == "model" or e["id"] in OPTIONAL_TIMINGS)),
                      key=lambda e: -dir_bytes(os.path.join(out, "cases", e["id"])))
    for e in optional:
        write_manifest()
        if dir_bytes(out) <= limit:
            break
        shutil.rmtree(os.path.join(out, "cases", e["id"]))
        for k in ("library", "inputs", "outputs"):
            e.pop(k, None)
        e["error"] = f"left out: the bundle would exceed {args.max_mib:g} MiB"
    write_manifest()
    built = [e for e in entries if "library" in e]
    failed = [e for e in entries if "error" in e]
    size = dir_bytes(out)
    by_group = {}
    for e in built:
        by_group[e["group"]] = by_group.get(e["group"], 0) + 1
    print(f"bundle {out}: {len(built)} libraries ({', '.join(f'{n} {g}' for g, n in by_group.items())}), "
          f"{size / 2**20:.1f} MiB")
    for e in failed:
        print(f"  not built: {e['id']}: {e['error']}")
    bad = [e for e in failed if e["group"] in ("emulation", "gemm", "attention")]
    if bad:
        print(f"gpu_bundle: {len(bad)} emulation or GEMM cases did not build")
        return 1
    if size > limit:
        print(f"gpu_bundle: {size / 2**20:.1f} MiB is over the {args.max_mib:g} MiB limit")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
