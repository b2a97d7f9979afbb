#!/usr/bin/env bash
# Builds the GPU bundle here, without a GPU: CUDA libraries (cubin + PTX)
# of every GPU case the emulator checks, of the ONNX node tests, of 4096^3
# GEMMs at each precision and of the exported models, their references, the
# runtime and the runtime-only runner, under build/gpu-bundle (at most
# 60 MiB). scripts/gpu-run.sh runs it on a machine with a GPU and no
# compiler. Extra arguments go to scripts/gpu_bundle.py (--gpu-arch,
# --max-mib, --out, --node-limit).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
kiln_setup test
models=${KILN_MODEL_CACHE:-$HOME/.cache/kiln/models}
kiln_step "exporting the models (cached in $models): with references at batch 1, for timing at batch 1 and 32"
export_models=("$KILN_PYTHON" "$KILN_ROOT/test/models/export_models.py" --out "$models")
"${export_models[@]}"
"${export_models[@]}" --no-reference resnet50 bert_base
"${export_models[@]}" --no-reference --batch 32 resnet18 mobilenet_v2 encoder resnet50 bert_base
kiln_step "building the GPU bundle"
"$KILN_PYTHON" "$KILN_ROOT/scripts/gpu_bundle.py" --build "$KILN_BUILD" "$@"
