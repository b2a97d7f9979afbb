#!/usr/bin/env bash
# Builds Kiln and imports the bundled example model, printing its kiln IR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
kiln_setup >&2

model="$KILN_ROOT/examples/tiny_cnn.onnxtxt"
echo "== kilnc $model --emit=kiln" >&2
"$KILN_BUILD/bin/kilnc" "$model" --emit=kiln
