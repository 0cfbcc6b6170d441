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
    from local_functions_host.indexing import index_functions, load_app
    from local_functions_host.http_server import describe
    try:
        indexed = index_functions(load_app(Path(sys.argv[1])), {"AzureWebJobsStorage": "UseDevelopmentStorage=true",
                                                               "TAGGING_QUEUE": "tag-requests",
                                                               "TAGGING_SWEEP_SCHEDULE": "0 */15 * * * *"})
    except Exception as error:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
    else:
        print(json.dumps({"functions": [describe(f, "api") for f in indexed.functions], "errors": indexed.errors}))
    """
)


def probe(app_dir: Path):  # type: ignore[no-untyped-def]
    import json

    command = [sys.executable, "-c", PROBE, str(app_dir)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_real_app_is_indexed_from_its_decorators():
    indexed = probe(ROOT)
    assert indexed["errors"] == {}
    functions = {f["name"]: f for f in indexed["functions"]}
    assert functions["upload_images"] == {
        "name": "upload_images", "trigger": "httpTrigger", "route": "/api/images", "methods": ["POST"],
        "authLevel": "function",
    }  # fmt: skip
    assert functions["get_image"]["route"] == "/api/images/{id}"
    assert functions["health"]["authLevel"] == "anonymous"
    assert functions["tag_image"]["queueName"] == "tag-requests"
    assert functions["tag_image_poison"]["queueName"] == "tag-requests-poison"
    assert functions["tag_image"]["connection"] == "AzureWebJobsStorage"
    assert functions["sweep_orphans"] == {"name": "sweep_orphans", "trigger": "timerTrigger",
                                          "schedule": "0 */15 * * * *", "runOnStartup": False,
                                          "useMonitor": True}  # fmt: skip


def write_app(folder: Path, body: str) -> Path:
    folder.mkdir()
    header = "import azure.functions as func\napp = func.FunctionApp()\n"
    (folder / "function_app.py").write_text(header + textwrap.dedent(body))
    return folder


def test_unsupported_bindings_stop_the_start(tmp_path):
    blob = write_app(tmp_path / "blob", """
        @app.blob_trigger(arg_name="b", path="c/{name}", connection="AzureWebJobsStorage")
        def on_blob(b): pass
    """)  # fmt: skip
    assert probe(blob)["error"] == "AppIndexError" and "blobTrigger" in probe(blob)["message"]
    output = write_app(tmp_path / "output", """
        @app.route(route="x")
        @app.queue_output(arg_name="out", queue_name="q-out", connection="AzureWebJobsStorage")
        def run(req, out): pass
    """)  # fmt: skip
    assert "binding 'queue'" in probe(output)["message"]
    assert "no FunctionApp" in probe(write_app(tmp_path / "empty", "app = None\n"))["message"]


def test_a_function_naming_an_unset_setting_is_in_error_and_the_others_are_indexed(tmp_path):
    """As in the host: an unresolved %NAME% is an indexing error of that function only."""
    app = write_app(tmp_path / "unresolved", """
        @app.queue_trigger(arg_name="m", queue_name="%NOT_SET%", connection="AzureWebJobsStorage")
        def queued(m): pass

        @app.queue_trigger(arg_name="m", queue_name="%TAGGING_QUEUE%-poison", connection="AzureWebJobsStorage")
        def poisoned(m): pass

        @app.route(route="things/%ALSO_NOT_SET%")
        def routed(req): pass

        @app.queue_trigger(arg_name="m", queue_name="elsewhere", connection="OTHER_STORAGE")
        def other_account(m): pass

        @app.queue_trigger(arg_name="m", queue_name="%BAD_NAME%", connection="AzureWebJobsStorage")
        def bad_name(m): pass

        @app.route(route="fine")
        def fine(req): pass
    """.replace("%BAD_NAME%", "Not_Valid"))  # fmt: skip
    indexed = probe(app)
    assert sorted(f["name"] for f in indexed["functions"]) == ["fine", "poisoned"]
    errors = indexed["errors"]
    assert sorted(errors) == ["bad_name", "other_account", "queued", "routed"]
    assert errors["queued"].startswith("Error indexing method 'Functions.queued'")
    assert "'%NOT_SET%' does not resolve to a value" in errors["queued"] and "set NOT_SET" in errors["queued"]
    assert "'%ALSO_NOT_SET%' does not resolve to a value" in errors["routed"]
    assert "OTHER_STORAGE" in errors["other_account"]
    assert "'Not_Valid' is invalid" in errors["bad_name"]
