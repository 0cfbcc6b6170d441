"""Fuzz the HTTP API with Schemathesis against its own OpenAPI description.

Starts a private Azurite (or uses ``--connection-string``) and the real app served by
the project's runner on 127.0.0.1, points Schemathesis at ``/api/openapi.json`` (so the
served document is what is tested), runs every check but ``ignored_auth`` (function
keys are enforced by the Functions host in Azure, never by the runner or Core Tools),
with every phase (examples, coverage, fuzzing, stateful: the document's links chain
upload -> get -> batch -> delete -> get 404), and reports the requests sent, failures
by check and the 5xx count. Bounded by ``--max-time``: it always stops by itself.

    python -m tools.fuzz                      # the long run (make fuzz): 600 s
    python -m tools.fuzz --max-examples 5 --max-time 60 --min-requests 100
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / ".artifacts" / "fuzz"
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXCLUDED_CHECKS = {
    # The document declares the function key (as deployed); the local runner, like Core
    # Tools, does not enforce keys, so every 2xx would be reported as "auth ignored".
    "ignored_auth": "function keys are enforced by the Functions host in Azure, not by the local runner",
}


@dataclass
class FuzzReport:
    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0
    failures_by_check: dict[str, int] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)
    exit_code: int = 0
    seconds: float = 0.0
    report_dir: str = ""

    @property
    def failures(self) -> int:
        return sum(self.failures_by_check.values())

    def ok(self, min_requests: int) -> bool:
        return self.exit_code == 0 and self.failures == 0 and self.server_errors == 0 and self.requests >= min_requests

    def summary(self) -> str:
        lines = [
            f"requests sent:      {self.requests} in {self.seconds:.0f} s",
            f"5xx answers:        {self.server_errors}",
            f"failures by check:  {json.dumps(self.failures_by_check) if self.failures_by_check else 'none'}",
            f"statuses:           {json.dumps(dict(sorted(self.statuses.items())))}",
            f"requests by route:  {json.dumps(dict(sorted(self.operations.items())))}",
            f"schemathesis exit:  {self.exit_code} (reports in {self.report_dir})",
        ]
        return "\n".join(lines)


def _read_har(path: Path, report: FuzzReport) -> None:
    """Every request Schemathesis sent, probes included, with its status."""
    if not path.exists():
        return
    entries = json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]
    statuses: collections.Counter[str] = collections.Counter()
    routes: collections.Counter[str] = collections.Counter()
    for entry in entries:
        status = entry["response"]["status"]
        statuses[str(status)] += 1
        url = entry["request"]["url"].split("?", 1)[0]
        path_part = "/" + url.split("/", 3)[-1] if url.count("/") >= 3 else url
        route = "/".join(path_part.split("/")[:3])  # /api/<first segment>
        routes[f"{entry['request']['method']} {route}"] += 1
    report.requests = len(entries)
    report.statuses = dict(statuses)
    report.server_errors = sum(n for s, n in statuses.items() if s.startswith("5") or s == "0")
    report.operations = dict(routes)


def _read_failures(path: Path, report: FuzzReport) -> None:
    """Failed check results by check, from the NDJSON event stream (every failing
    response counts, so one bug may count several times)."""
    if not path.exists():
        return
    counts: collections.Counter[str] = collections.Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        if '"failure"' not in line and '"check' not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        _collect_failures(event, counts)
    report.failures_by_check = dict(counts)


def _collect_failures(node: Any, counts: collections.Counter[str]) -> None:
    if isinstance(node, dict):
        if str(node.get("status")).lower() == "failure" and isinstance(node.get("name"), str):
            counts[node["name"]] += 1
        for value in node.values():
            _collect_failures(value, counts)
    elif isinstance(node, list):
        for value in node:
            _collect_failures(value, counts)


def run_schemathesis(base_url: str, out: Path, max_examples: int, max_time: int, workers: int,
                     seed: int | None = None, phases: str = "examples,coverage,fuzzing,stateful") -> FuzzReport:  # fmt: skip
    """Run the Schemathesis CLI against ``base_url`` (127.0.0.1 only), bounded by
    ``max_time`` seconds (the process is killed at twice that plus a minute)."""
    if not base_url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError("fuzzing targets this machine only (127.0.0.1)")
    out = out.resolve()  # Schemathesis runs in it: report paths must not be relative
    out.mkdir(parents=True, exist_ok=True)
    har, ndjson = out / "requests.har", out / "events.ndjson"
    for stale in (har, ndjson):
        stale.unlink(missing_ok=True)
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG),
        "run", f"{base_url}/api/openapi.json",
        "--url", base_url,
        "--checks", "all", "--exclude-checks", ",".join(EXCLUDED_CHECKS),
        "--phases", phases,
        "--max-examples", str(max_examples), "--max-time", str(max_time),
        "--workers", str(workers), "--request-timeout", "30",
        "--continue-on-failure", "--no-shrink", "--generation-database", "none",
        "--suppress-health-check", "all", "--warnings", "off", "--no-color",
        # Function keys are not checked locally: generating them tests nothing.
        "--generation-with-security-parameters", "false", "--output-sanitize", "false",
        "--report", "har,ndjson", "--report-har-path", str(har), "--report-ndjson-path", str(ndjson),
    ]  # fmt: skip
    if seed is not None:
        command += ["--seed", str(seed)]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tools.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    with open(out / "schemathesis.log", "wb") as log:
        process = subprocess.Popen(command, cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            exit_code = process.wait(timeout=2 * max_time + 60)
        except subprocess.TimeoutExpired:
            process.kill()
            exit_code = process.wait()
    report = FuzzReport(exit_code=exit_code, seconds=time.monotonic() - started, report_dir=str(out))
    _read_har(har, report)
    _read_failures(ndjson, report)
    return report


def fuzz_app(connection_string: str, out: Path, **options: Any) -> FuzzReport:
    """Serve the real app with its own storage names on ``connection_string`` and fuzz it."""
    from tests.support.host_process import RunnerProcess, private_storage, runner_env

    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "runner.log"
    log_path.write_bytes(b"")
    env = runner_env(connection_string, **private_storage("fuzz"), TAGGING_DEFAULT_USER="fuzz",
                     TAGGING_MAX_FILES="10")  # fmt: skip
    runner = RunnerProcess(ROOT, env, [], log_path).start()
    try:
        return run_schemathesis(runner.base, out, **options)
    finally:
        runner.ensure_stopped()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=2000, help="per operation and phase (default 2000)")
    parser.add_argument("--max-time", type=int, default=600, help="time budget in seconds (default 600)")
    parser.add_argument("--min-requests", type=int, default=10_000, help="fail below this many requests")
    # One worker: with two, CPython 3.11's ast.parse (Hypothesis calls it to describe
    # strategies) races across threads ("AST constructor recursion depth mismatch").
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--connection-string", help="an Azurite to use (default: start a private one)")
    parser.add_argument("--out", type=Path, default=ARTIFACTS)
    args = parser.parse_args(argv)
    options = {"max_examples": args.max_examples, "max_time": args.max_time, "workers": args.workers, "seed": args.seed}
    if args.connection_string:
        report = fuzz_app(args.connection_string, args.out, **options)
    else:
        from tools.azurite import Azurite

        azurite = Azurite.start()
        try:
            report = fuzz_app(azurite.connection_string, args.out, **options)
        finally:
            azurite.stop()
    (args.out / "summary.json").write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    print(report.summary())
    for check, reason in EXCLUDED_CHECKS.items():
        print(f"not run: {check} ({reason})")
    ok = report.ok(args.min_requests)
    print("PASS" if ok else f"FAIL (needs >= {args.min_requests} requests, no failure, no 5xx)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
