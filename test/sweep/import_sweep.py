#!/usr/bin/env python3
"""Imports every model of the ONNX backend node tests with kilnc.

Each model must either import, or fail with one clear error (exit code 1 and
a single "kilnc: error:" line). A crash, a hang, or any other exit code is a
failure of the sweep. Prints the counts and, with --details, every result.
"""
import argparse
import collections
import concurrent.futures
import os
import subprocess
import sys

DEFAULT_DATA = "/usr/include/onnx/backend/test/data/node"


def classify(kilnc, model, timeout):
    try:
        proc = subprocess.run([kilnc, model, "--emit=kiln", "-o", os.devnull],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", f"no result after {timeout}s"
    err = proc.stderr.strip()
    if proc.returncode == 0:
        return "imported", ""
    errors = [l for l in err.splitlines() if l.startswith("kilnc: error:")]
    if proc.returncode == 1 and len(errors) == 1:
        if "unsupported ONNX op" in errors[0]:
            return "unsupported", errors[0]
        return "error", errors[0]
    return "crash", f"exit code {proc.returncode}: {err[-500:]}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kilnc", required=True)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--details", help="write per-test results to this file")
    args = ap.parse_args()

    tests = sorted(d for d in os.listdir(args.data)
                   if os.path.isfile(os.path.join(args.data, d, "model.onnx")))
    if not tests:
        print(f"no tests found under {args.data}", file=sys.stderr)
        return 2
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(classify, args.kilnc,
                               os.path.join(args.data, t, "model.onnx"),
                               args.timeout): t for t in tests}
        for f in concurrent.futures.as_completed(futures):
            results[futures[f]] = f.result()

    counts = collections.Counter(kind for kind, _ in results.values())
    if args.details:
        with open(args.details, "w") as out:
            for t in tests:
                kind, msg = results[t]
                out.write(f"{t}\t{kind}\t{msg}\n")
    bad = [t for t in tests if results[t][0] in ("crash", "hang")]
    for t in bad:
        print(f"{results[t][0].upper()}: {t}: {results[t][1]}")
    print(f"ONNX node-test import sweep: {len(tests)} models: "
          f"{counts['imported']} imported, {counts['unsupported']} unsupported op, "
          f"{counts['error']} other errors, {counts['crash']} crashes, "
          f"{counts['hang']} hangs")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
