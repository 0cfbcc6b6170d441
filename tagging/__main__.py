"""``python -m tagging``: the command-line client (see :mod:`tagging.cli`)."""
from tagging.cli import main

raise SystemExit(main())
