#!/usr/bin/env bash
# Builds Kiln, imports the bundled example model and prints its kiln IR,
# compiles it for the CPU into a shared library, runs it on a random input
# and compares the outputs with onnxruntime's, then times it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
kiln_setup >&2

model="$KILN_ROOT/examples/tiny_cnn.onnxtxt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== kilnc $(basename "$model") --emit=kiln"
"$KILN_BUILD/bin/kilnc" "$model" --emit=kiln

echo
echo "== kilnc $(basename "$model") --emit=so -o tiny_cnn.so"
"$KILN_BUILD/bin/kilnc" "$model" --emit=so -o "$tmp/tiny_cnn.so"

echo
echo "== reference: onnxruntime on a random input"
python3 "$KILN_ROOT/examples/make_reference.py" "$model" "$tmp/test_data"

echo
echo "== kiln-run tiny_cnn.so (Kiln's CPU target, through libkiln_runtime)"
"$KILN_BUILD/bin/kiln-run" "$tmp/tiny_cnn.so" --test-data "$tmp/test_data" \
  --print-outputs --bench 50
