"""The real app served by the project's runner (``python -m local_functions_host``) over
HTTP, against the session's Azurite, with its own queue, containers and tables so
that nothing here meets what other tests store. Used by tests/ui and tests/cli."""
from __future__ import annotations

from pathlib import Path

import requests

from tests.support.host_process import RunnerProcess, private_storage, runner_env

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts"
#: The real app whose tagger also runs the test doubles of tests/support/analysers.py
#: (text and faces facts from an image's EXIF).
READING_APP = ROOT / "tests" / "support" / "apps" / "readingapp"


def app_settings(connection_string: str, name: str, default_user: str) -> dict[str, str]:
    """Runner environment: storage names unique to this server (``name``: a-z only)."""
    return runner_env(
        connection_string,
        **private_storage(name),
        TAGGING_DEFAULT_USER=default_user,  # "" = callers must name themselves
        TAGGING_TRUST_PRINCIPAL_HEADER="true",
    )


def start_app(connection_string: str, name: str, default_user: str = "", app_dir: Path = ROOT) -> RunnerProcess:
    """Start the runner on a free port and wait until the app answers /api/health.
    ``app_dir``: the project (default) or a test app such as :data:`READING_APP` (run
    with the project's example settings)."""
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"{name}-runner.log"
    log_path.write_bytes(b"")
    args = [] if app_dir == ROOT else ["--settings-file", str(ROOT / "local.settings.json.example")]
    runner = RunnerProcess(app_dir, app_settings(connection_string, name, default_user), args, log_path)
    runner.start()
    health = requests.get(runner.url("/api/health"), timeout=30)
    assert health.status_code == 200, f"{health.status_code} {health.text}\n{runner.log()}"
    return runner
