#!/usr/bin/env python3
"""The README's "Supported ONNX ops" list names exactly the ops that
`kilnc --list-ops` reports (the importer's own table).

  check_supported_ops.py KILNC
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    listed = subprocess.run([sys.argv[1], "--list-ops"], capture_output=True, text=True,
                            check=True).stdout
    kiln = {line.split()[0] for line in listed.splitlines() if line.strip()}
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text.split("## Supported ONNX ops", 1)[1].split("\n## ", 1)[0]
    readme = set(re.findall(r"\b[A-Z][A-Za-z0-9]+\b", section.split("\n\n", 2)[1]))
    missing, extra = sorted(kiln - readme), sorted(readme - kiln)
    if missing or extra:
        print(f"README.md's supported ops differ from kilnc --list-ops: not in the README: "
              f"{' '.join(missing) or '-'}; not supported: {' '.join(extra) or '-'}",
              file=sys.stderr)
        return 1
    print(f"README lists the {len(kiln)} supported ops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
