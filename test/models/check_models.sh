#!/usr/bin/env bash
# Exports resnet18, mobilenet_v2 and a transformer encoder with torch (cached
# in ~/.cache/kiln/models) and checks that Kiln's CPU target matches
# onnxruntime on them: just in time, as a compiled library, and in GPU
# emulation mode. Then Hugging Face BERT and GPT-2 with an attention mask,
# each from torch's legacy (opset 17) and dynamo (opset 20, IR 10)
# exporters, on the CPU and in GPU emulation.
set -euo pipefail
build=${1:?usage: check_models.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
models=${KILN_MODEL_CACHE:-$HOME/.cache/kiln/models}
"${KILN_PYTHON:-python3}" "$here/export_models.py" --out "$models"
"${KILN_PYTHON:-python3}" "$here/export_hf.py" --out "$models"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in resnet18 mobilenet_v2 encoder; do
  echo "-- $m (JIT)"
  "$build/bin/kiln-run" "$models/$m/model.onnx" --test-data "$models/$m/test_data_set_0" \
    --rtol 1e-3 --atol 1e-4
  echo "-- $m (compiled library)"
  "$build/bin/kilnc" "$models/$m/model.onnx" --emit=so -o "$tmp/$m.so"
  "$build/bin/kiln-run" "$tmp/$m.so" --test-data "$models/$m/test_data_set_0" \
    --rtol 1e-3 --atol 1e-4
  echo "-- $m (GPU emulation, fp32)"
  "$build/bin/kiln-run" "$models/$m/model.onnx" --test-data "$models/$m/test_data_set_0" \
    --rtol 1e-3 --atol 1e-4 --target=cuda --emulate
  # Matmul/conv operands rounded to 16-bit types, fp32 accumulation: the
  # tolerances cover the operand rounding (fp16: 11-bit significand,
  # bf16: 8-bit) accumulated through the network.
  echo "-- $m (GPU emulation, fp16: rtol 1e-2, atol 1e-2)"
  "$build/bin/kiln-run" "$models/$m/model.onnx" --test-data "$models/$m/test_data_set_0" \
    --rtol 1e-2 --atol 1e-2 --target=cuda --emulate --precision=fp16
  echo "-- $m (GPU emulation, bf16: rtol 5e-2, atol 5e-2)"
  "$build/bin/kiln-run" "$models/$m/model.onnx" --test-data "$models/$m/test_data_set_0" \
    --rtol 5e-2 --atol 5e-2 --target=cuda --emulate --precision=bf16
done
for m in hf_bert_legacy hf_bert_dynamo hf_gpt2_legacy hf_gpt2_dynamo; do
  echo "-- $m (JIT)"
  "$build/bin/kiln-run" "$models/$m/model.onnx" --test-data "$models/$m/test_data_set_0" \
    --rtol 1e-3 --atol 1e-4
  echo "-- $m (GPU emulation, fp32)"
  "$build/bin/kiln-run" "$models/$m/model.onnx" --test-data "$models/$m/test_data_set_0" \
    --rtol 1e-3 --atol 1e-4 --target=cuda --emulate
done
