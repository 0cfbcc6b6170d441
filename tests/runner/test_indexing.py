"""Indexing: the runner reads routes and queues from the app itself, and refuses
what it cannot emulate (in a subprocess each: get_functions() runs once per app)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from .conftest import ROOT

PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from tagging.runner.indexing import index_functions, load_app
    from tagging.runner.http_server import describe
    try:
        functions = index_functions(load_app(Path(sys.argv[1])), {"AzureWebJobsStorage": "UseDevelopmentStorage=true",
                                                                 "TAGGING_QUEUE": "tag-requests"})
    except Exception as error:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
    else:
        print(json.dumps([describe(f, "api") for f in functions]))
    """
)


def probe(app_dir: Path):  # type: ignore[no-untyped-def]
    import json

    command = [sys.executable, "-c", PROBE, str(app_dir)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_real_app_is_indexed_from_its_decorators():
    functions = {f["name"]: f for f in probe(ROOT)}
    assert functions["upload_images"] == {
        "name": "upload_images", "trigger": "httpTrigger", "route": "/api/images", "methods": ["POST"],
        "authLevel": "function",
    }  # fmt: skip
    assert functions["get_image"]["route"] == "/api/images/{id}"
    assert functions["health"]["authLevel"] == "anonymous"
    assert functions["tag_image"]["queueName"] == "tag-requests"
    assert functions["tag_image_poison"]["queueName"] == "tag-requests-poison"
    assert functions["tag_image"]["connection"] == "AzureWebJobsStorage"


def write_app(folder: Path, body: str) -> Path:
    folder.mkdir()
    header = "import azure.functions as func\napp = func.FunctionApp()\n"
    (folder / "function_app.py").write_text(header + textwrap.dedent(body))
    return folder


def test_unsupported_bindings_and_unknown_settings_stop_the_start(tmp_path):
    timer = write_app(tmp_path / "timer", """
        @app.timer_trigger(schedule="0 */5 * * * *", arg_name="t")
        def tick(t): pass
    """)  # fmt: skip
    assert probe(timer)["error"] == "AppIndexError" and "timerTrigger" in probe(timer)["message"]
    unresolved = write_app(tmp_path / "unresolved", """
        @app.queue_trigger(arg_name="m", queue_name="%NOT_SET%", connection="AzureWebJobsStorage")
        def run(m): pass
    """)  # fmt: skip
    assert "'%NOT_SET%' does not resolve" in probe(unresolved)["message"]
    output = write_app(tmp_path / "output", """
        @app.route(route="x")
        @app.queue_output(arg_name="out", queue_name="q-out", connection="AzureWebJobsStorage")
        def run(req, out): pass
    """)  # fmt: skip
    assert "binding 'queue'" in probe(output)["message"]
    assert "no FunctionApp" in probe(write_app(tmp_path / "empty", "app = None\n"))["message"]
