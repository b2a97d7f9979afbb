#!/usr/bin/env python3
"""Compiles and runs every ONNX backend node test on Kiln's CPU target.

Each test is classified as pass / mismatch / unsupported / compile-error /
crash / timeout. A test whose model only compiles once its shape-like
inputs are constants (Reshape's shape, TopK's K, Resize's scales, ...) runs
again with every input but the first compiled in (--freeze-input); every
other test runs on its real inputs.

The committed list of passing tests (passing.txt) is a ratchet: the run
fails if any of them stops passing, and reports new passes. With
--write-ops it regenerates docs/ops.md from the results.
"""
import argparse
import collections
import concurrent.futures
import os
import re
import subprocess
import sys

DEFAULT_DATA = "/usr/include/onnx/backend/test/data/node"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


EXTRA_ARGS = []


# Tolerances (rtol, atol) for outputs of 16-bit float types, by ONNX type
# code (FLOAT16, BFLOAT16). The references round to 16 bits after every op;
# Kiln keeps f32 between the ops it fuses, so results one or two units in
# the last place apart are both right.
HALF_TOLERANCE = {10: (4e-3, 1e-3), 16: (2e-2, 1e-2)}


def run_one(kiln_run, test_dir, timeout, freeze=(), tolerance=None):
    cmd = [kiln_run, os.path.join(test_dir, "model.onnx"),
           "--test-data", os.path.join(test_dir, "test_data_set_0")] + EXTRA_ARGS
    cmd += [f"--freeze-input={name}" for name in freeze]
    if tolerance:
        cmd += ["--rtol", str(tolerance[0]), "--atol", str(tolerance[1])]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", f"no result after {timeout}s"
    out = (p.stdout + p.stderr).strip()
    if p.returncode == 0:
        return "pass", ""
    if p.returncode == 1:
        lines = [l for l in out.splitlines() if "MISMATCH" in l]
        return "mismatch", (lines[0] if lines else out)[-300:]
    if p.returncode == 2:
        errors = [l for l in out.splitlines() if ": error:" in l]
        msg = errors[0] if errors else out[-300:]
        if "unsupported ONNX op" in msg:
            return "unsupported", msg
        return "compile-error", msg
    return "crash", f"exit code {p.returncode}: {out[-300:]}"


def graph_inputs(model_path):
    """Names of the graph inputs that are not initializers, in order."""
    text = decode_model(model_path)
    graph = text.split("\ngraph {", 1)[-1]
    inits = set(re.findall(r'initializer \{[^}]*?name: "([^"]+)"', graph, re.S))
    names = re.findall(r'\n  input \{\n    name: "([^"]+)"', graph)
    return [n for n in names if n not in inits]


def needs_constant_inputs(message):
    """Whether a compile error says that shape-like inputs must be constants."""
    return "compile-time constant" in message or "needs constant scales or sizes" in message


def half_tolerance(model_path):
    """The 16-bit tolerance when every graph output is a 16-bit float, else
    None."""
    types = [int(t) for t in re.findall(
        r'\n  output \{\n    name: "[^"]*"\n    type \{\n      tensor_type \{\n'
        r'        elem_type: (\d+)', decode_model(model_path))]
    if not types or any(t not in HALF_TOLERANCE for t in types):
        return None
    return max(HALF_TOLERANCE[t] for t in types)


def classify(kiln_run, test_dir, timeout):
    kind, msg = classify_inputs(kiln_run, test_dir, timeout)
    if kind == "mismatch":
        tolerance = half_tolerance(os.path.join(test_dir, "model.onnx"))
        if tolerance:
            return classify_inputs(kiln_run, test_dir, timeout, tolerance)
    return kind, msg


def classify_inputs(kiln_run, test_dir, timeout, tolerance=None):
    kind, msg = run_one(kiln_run, test_dir, timeout, tolerance=tolerance)
    if kind == "compile-error" and needs_constant_inputs(msg):
        # The test feeds shape-like operands as inputs: compile every input
        # but the first (the data) in as a constant, as a static deployment
        # would, and run on the first input.
        # Ops that are pure shape computation (ConstantOfShape, Range) take
        # only such inputs: then every input is compiled in.
        inputs = graph_inputs(os.path.join(test_dir, "model.onnx"))
        for frozen in (inputs[1:], inputs):
            kind2, msg2 = run_one(kiln_run, test_dir, timeout, freeze=frozen,
                                  tolerance=tolerance)
            if kind2 != "compile-error":
                return kind2, msg2
    return kind, msg


def decode_model(model_path):
    """The model in protobuf text form, decoded with protoc."""
    with open(model_path, "rb") as f:
        p = subprocess.run(["protoc", "--decode=onnx.ModelProto", "-I", "/usr/include",
                            "onnx/onnx.proto"], stdin=f, capture_output=True, text=True)
    return p.stdout


def op_types(model_path):
    return sorted(set(re.findall(r'op_type: "([^"]+)"', decode_model(model_path))))


def supported_ops(kilnc):
    """{op: [versions]} of the ops Kiln imports and the versions of each it
    reads (the opsets in which the op changed), from `kilnc --list-ops`."""
    out = subprocess.run([kilnc, "--list-ops"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[0]: [int(v) for v in line.split()[1:]]
            for line in out.splitlines() if line.strip()}


def write_ops(path, tests, results, ops_of, supported):
    per_op = collections.defaultdict(lambda: collections.Counter())
    limits = collections.defaultdict(collections.Counter)
    for t in tests:
        kind, msg = results[t]
        for op in ops_of[t]:
            per_op[op][kind] += 1
            per_op[op]["total"] += 1
            if kind not in ("pass", "unsupported"):
                short = re.sub(r"^.*?: error: (?:[^:]*model\.onnx: )?(?:node '[^']*': )?", "", msg)
                short = re.sub(r"'/[^']*/([^/']+)'", r"'\1'", short)
                limits[op][short[:120]] += 1
    lines = [
        "# ONNX op coverage",
        "",
        "Generated by `test/conformance/run_node_tests.py --write-ops` from a run",
        "of the pinned onnx package's backend node tests (every opset; generated",
        "by `test/conformance/gen_node_tests.py`) on Kiln's CPU target; do not",
        "edit by hand.",
        "A test counts for every op its model contains. \"Supported\" means the",
        "importer converts the op; \"versions\" are the versions of the op (the",
        "opsets in which it changed) that the importer reads (`kilnc --list-ops`);",
        "limits list the most frequent failure reasons.",
        "",
        "| op | supported | versions | tests passed / total | known limits |",
        "| --- | --- | --- | --- | --- |",
    ]
    for op in sorted(per_op):
        c = per_op[op]
        top = "; ".join(f"{m} ({n})" for m, n in limits[op].most_common(2))
        versions = ", ".join(str(v) for v in supported.get(op, []))
        lines.append(f"| {op} | {'yes' if op in supported else 'no'} | {versions} | "
                     f"{c['pass']} / {c['total']} | {top.replace('|', '/')} |")
    counts = collections.Counter(k for k, _ in results.values())
    lines += ["", f"Totals: {counts['pass']} of {len(tests)} tests pass; "
              f"{counts['mismatch']} mismatch, {counts['unsupported']} use an unsupported op, "
              f"{counts['compile-error']} fail to compile, {counts['crash']} crash, "
              f"{counts['timeout']} time out.", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln-run", required=True)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--passing", default=os.path.join(HERE, "passing.txt"))
    ap.add_argument("--details", help="write per-test results to this file")
    ap.add_argument("--write-ops", help="regenerate this ops table (docs/ops.md)")
    ap.add_argument("--update-passing", action="store_true",
                    help="rewrite the ratchet list with the current passes")
    ap.add_argument("--filter", default="", help="only tests whose name contains this")
    ap.add_argument("--sample", type=int, default=1, metavar="N",
                    help="only every Nth test (sorted by name), for a quick run")
    ap.add_argument("--emulate", action="store_true",
                    help="run in GPU emulation mode (--target=cuda --emulate)")
    args = ap.parse_args()
    target = "CPU target"
    if args.emulate:
        EXTRA_ARGS.extend(["--target=cuda", "--emulate"])
        target = "GPU emulation mode"

    tests = sorted(d for d in os.listdir(args.data)
                   if args.filter in d and
                   os.path.isfile(os.path.join(args.data, d, "model.onnx")))
    tests = tests[::max(args.sample, 1)]
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(classify, args.kiln_run, os.path.join(args.data, t),
                               args.timeout): t for t in tests}
        for f in concurrent.futures.as_completed(futures):
            results[futures[f]] = f.result()

    if args.details:
        with open(args.details, "w") as out:
            for t in tests:
                out.write(f"{t}\t{results[t][0]}\t{results[t][1]}\n")
    if args.write_ops:
        ops_of = {t: op_types(os.path.join(args.data, t, "model.onnx")) for t in tests}
        kilnc = os.path.join(os.path.dirname(args.kiln_run), "kilnc")
        write_ops(args.write_ops, tests, results, ops_of, supported_ops(kilnc))

    counts = collections.Counter(k for k, _ in results.values())
    passing = {t for t in tests if results[t][0] == "pass"}
    expected = set()
    if os.path.exists(args.passing):
        expected = {l.strip() for l in open(args.passing) if l.strip()}
    if args.filter or args.sample > 1:
        expected &= set(tests)
    lost = sorted(expected - passing)
    new = sorted(passing - expected)
    for t in sorted(tests):
        if results[t][0] in ("crash", "timeout"):
            print(f"{results[t][0].upper()}: {t}: {results[t][1]}")
    for t in lost:
        print(f"REGRESSION: {t} no longer passes: {results[t][0]}: {results[t][1]}")
    if new:
        print(f"{len(new)} tests pass that are not in {os.path.relpath(args.passing, ROOT)}: "
              + " ".join(new[:20]) + (" ..." if len(new) > 20 else ""))
    if args.update_passing:
        if args.sample > 1:
            print("--update-passing needs every test: drop --sample", file=sys.stderr)
            return 2
        with open(args.passing, "w") as f:
            f.write("\n".join(sorted(passing | (expected if args.filter else set()))) + "\n")
    print(f"ONNX node tests in {target}: {len(tests)} tests: {counts['pass']} pass, "
          f"{counts['mismatch']} mismatch, {counts['unsupported']} unsupported op, "
          f"{counts['compile-error']} compile errors, {counts['crash']} crashes, "
          f"{counts['timeout']} timeouts")
    bad = lost or counts["crash"] or counts["timeout"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
