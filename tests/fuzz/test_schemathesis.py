"""A short Schemathesis run (tools/fuzz.py) against the real app served by the runner
over HTTP on the session's Azurite: every phase, stateful links included (upload ->
get -> batch -> delete -> get 404), every check but ignored_auth. ``make fuzz`` is the
long run (>= 10,000 requests)."""
from __future__ import annotations

import pytest

from tools.fuzz import ROOT, fuzz_app

pytestmark = pytest.mark.e2e
SEED = 20261201


def test_a_short_fuzz_run_finds_nothing(azurite):
    out = ROOT / ".artifacts" / "fuzz-short"
    # A fixed seed: the same cases every run, so this test does not come and go with
    # what happens to be generated (make fuzz is the random, long run).
    report = fuzz_app(azurite.connection_string, out, max_examples=5, max_time=90, workers=1, seed=SEED)
    detail = f"{report.summary()}\n(see {out}/schemathesis.log)"
    assert report.exit_code == 0 and report.failures == 0, detail
    assert report.server_errors == 0, detail
    assert report.requests >= 200, detail
    statuses = set(report.statuses)
    # Uploads stored, deleted, then gone; undocumented methods refused with 405.
    assert {"202", "204", "404", "405"} <= statuses, detail
    assert report.operations.get("DELETE /api/images", 0) > 0, detail
