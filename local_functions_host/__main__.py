"""``python -m local_functions_host``: see :mod:`local_functions_host.cli`."""
from .cli import main

raise SystemExit(main())
