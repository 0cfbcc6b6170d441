"""``python -m tagging.runner``: see :mod:`tagging.runner.cli`."""
from .cli import main

raise SystemExit(main())
