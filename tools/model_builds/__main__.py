"""``python -m tools.model_builds NAME SOURCE TARGET``: run one builder on a file.

How :mod:`tools.weights` builds with an interpreter that lacks numpy and onnx (it puts
its own pinned copy on ``PYTHONPATH``). Exit status 2 for an unknown builder.
"""
from __future__ import annotations

import sys
from pathlib import Path

from . import BUILDERS


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in BUILDERS:
        print(f"usage: python -m tools.model_builds {{{','.join(sorted(BUILDERS))}}} SOURCE TARGET", file=sys.stderr)
        return 2
    name, source, target = argv
    Path(target).write_bytes(BUILDERS[name](Path(source).read_bytes()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
