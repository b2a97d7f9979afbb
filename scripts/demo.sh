#!/usr/bin/env bash
# Kiln's main job on a small real model (examples/tiny_cnn.onnxtxt, a
# conv/bn/relu/pool/gemm/softmax network): sets the machine up (Debian
# packages, the project's .venv with numpy/onnx/onnxruntime, the build),
# prints the model's kiln IR, compiles it for the CPU into a shared library,
# runs it against onnxruntime on a random input and times both; then
# compiles the same model to PTX and runs its GPU kernels in emulation
# (thread by thread on the CPU), checked against the same reference.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
kiln_setup demo

model="$KILN_ROOT/examples/tiny_cnn.onnxtxt"
kilnc="$KILN_BUILD/bin/kilnc"
kiln_run="$KILN_BUILD/bin/kiln-run"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

echo
echo "== kilnc $(basename "$model") --emit=kiln (the imported model in Kiln's dialect)"
"$kilnc" "$model" --emit=kiln

echo
echo "== kilnc $(basename "$model") -o tiny_cnn.so (CPU target: a library that needs only libkiln_runtime)"
"$kilnc" "$model" --emit=so -o "$tmp/tiny_cnn.so"

echo
echo "== reference: onnxruntime on a seeded random input"
python3 "$KILN_ROOT/examples/make_reference.py" "$model" "$tmp/test_data" --bench 50

echo
echo "== kiln-run tiny_cnn.so (CPU), checked against onnxruntime and timed"
"$kiln_run" "$tmp/tiny_cnn.so" --test-data "$tmp/test_data" --print-outputs --bench 50

echo
echo "== kilnc $(basename "$model") --target=cuda --emit=ptx (GPU kernels for sm_80)"
"$kilnc" "$model" --target=cuda --emit=ptx -o "$tmp/tiny_cnn.ptx"
echo "$(grep -c '^.entry\|^\.visible \.entry' "$tmp/tiny_cnn.ptx") kernels, $(wc -l <"$tmp/tiny_cnn.ptx") lines of PTX"

echo
echo "== kiln-run --target=cuda --emulate (the same kernels run thread by thread on the CPU), checked and timed"
"$kiln_run" "$model" --target=cuda --emulate --test-data "$tmp/test_data" --bench 3
echo
echo "== demo done in $(( $(date +%s) - start )) s after setup"
