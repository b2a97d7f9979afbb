#!/usr/bin/env bash
# Regenerates docs/KilnOps.md (the kiln dialect reference) from the ODS
# definitions in include/kiln/Dialect/Kiln/KilnOps.td.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
kiln_install_packages
kiln_configure
ninja -C "$KILN_BUILD" KilnOpsDocGen >/dev/null
cp "$KILN_BUILD/docs/Kiln/KilnOps.md" "$KILN_ROOT/docs/KilnOps.md"
echo "wrote docs/KilnOps.md"
