"""checkov's Bicep checks over infra/, offline (--skip-download).

checkov lives in its own venv (.artifacts/checkov-venv, built by `make test` from
tests/requirements/checkov.txt) because it pins dozens of packages of its own. It
checks resources declared directly in the templates; what is inside an Azure Verified
Module (the storage account, the site, ...) it does not see, which is why test_bicep.py
checks the parameters passed to those modules.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import INFRA, ROOT

CHECKOV = ROOT / ".artifacts" / "checkov-venv" / "bin" / "checkov"

# Checks failed on purpose, each with its reason. A skip in a template needs a
# `#checkov:skip=CKV_...: reason` comment next to the resource instead.
SKIPPED_HERE: dict[str, str] = {}


def run_checkov(directory: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: `make test` builds it from tests/requirements/checkov.txt")
    completed = subprocess.run(
        [
            str(CHECKOV), "--framework", "bicep", "--skip-download", "--directory", str(directory),
            "--output", "json", "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=directory,
    )
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    if isinstance(report, list):  # one report per framework
        (report,) = [r for r in report if r.get("check_type") == "bicep"]
    if "results" not in report:  # nothing was checked: checkov prints only the summary
        report = {"summary": report, "results": {"failed_checks": [], "passed_checks": [], "skipped_checks": []}}
    return report


def test_checkov_finds_no_unjustified_failure_in_infra():
    report = run_checkov(INFRA)
    summary, results = report["summary"], report["results"]
    # A file checkov cannot parse is silently left unchecked: that is a failure here.
    assert summary["parsing_errors"] == 0, results.get("parsing_errors")
    failed = [
        (c["check_id"], c["resource"], c["file_path"])
        for c in results.get("failed_checks", [])
        if c["check_id"] not in SKIPPED_HERE
    ]
    assert not failed, failed
    for check in results.get("skipped_checks", []):
        reason = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert reason.strip() and reason.strip() != "No comment provided", (
            f"{check['check_id']} skipped without a reason"
        )


def test_checkov_catches_an_insecure_storage_account(tmp_path: Path):
    """The harness itself: a storage account with HTTP and TLS 1.0 allowed must fail."""
    (tmp_path / "bad.bicep").write_text(
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n"
        "  name: 'stbad'\n  location: 'westeurope'\n  kind: 'StorageV2'\n"
        "  sku: {\n    name: 'Standard_LRS'\n  }\n"
        "  properties: {\n    supportsHttpsTrafficOnly: false\n    minimumTlsVersion: 'TLS1_0'\n  }\n}\n",
        encoding="utf-8",
    )
    report = run_checkov(tmp_path)
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert {"CKV_AZURE_3", "CKV_AZURE_44"} <= failed, failed
