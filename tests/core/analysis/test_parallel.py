"""One image's analysers side by side (tagging.core.analysis.parallel): the same result
and the same failure as one after the other, a shared and bounded pool, and a caller
that never waits for a busy pool."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tagging.core.analysis import parallel
from tagging.core.analysis.decode import DecodedImage
from tagging.core.analysis.parallel import AnalyserPool, cgroup_cpu_limit, shared_pool, usable_cpus
from tagging.core.analysis.pipeline import analyse, default_analysers
from tagging.core.tags import Contribution, Tag
from tests.support import images

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# A cat, faces, a page of text: every model contributes something.
PHOTOS = [FIXTURES / "photos" / "chelsea.png", FIXTURES / "photos" / "astronaut.jpg", FIXTURES / "text" / "page.png"]


@pytest.fixture
def pool():
    made = AnalyserPool(3)
    yield made
    made.shutdown()


def _everything(result) -> tuple:
    """All of an Analysis, facts in their key order (JSON as stored)."""
    return ([t.to_dict() for t in result.tags], json.dumps(result.facts), result.thumbnail, result.sha256, result.phash)


def test_the_real_analysers_give_the_same_analysis_side_by_side_as_one_after_the_other(pool) -> None:
    analysers = default_analysers()
    sequential = AnalyserPool(0)
    facts_seen: set[str] = set()
    for photo in PHOTOS:
        data = photo.read_bytes()
        result = analyse(data, 10**9, analysers, sequential)
        facts_seen |= set(result.facts)
        for _ in range(2):
            assert _everything(analyse(data, 10**9, analysers, pool)) == _everything(result), photo.name
    assert {"labels", "faces", "nsfw_score", "text"} <= facts_seen


class _Slow:
    """Sleeps (the GIL is free meanwhile, as in onnxruntime), records where and when it
    ran, contributes a tag and a fact named after itself."""

    def __init__(self, name: str, seconds: float, log: list, fail: Exception | None = None) -> None:
        self.name, self.seconds, self.log, self.fail = name, seconds, log, fail

    def analyse(self, image: DecodedImage) -> Contribution:
        started = time.perf_counter()
        time.sleep(self.seconds)
        self.log.append((self.name, threading.current_thread().name, started, time.perf_counter()))
        if self.fail is not None:
            raise self.fail
        return Contribution(tags=[Tag(self.name, 0.5, "test")], facts={self.name: self.seconds, "last": self.name})


def test_analysers_overlap_and_merge_in_their_own_order_whatever_finishes_first(pool) -> None:
    log: list = []
    # The first is the slowest: the others finish before it.
    analysers = [_Slow("slowest", 0.3, log), _Slow("b", 0.1, log), _Slow("c", 0.1, log), _Slow("d", 0.05, log)]
    started = time.perf_counter()
    result = analyse(images.solid(), 10**9, analysers, pool)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.45  # one after the other: 0.55 s
    assert len({thread for _, thread, _, _ in log}) >= 2
    assert list(result.facts)[-5:] == ["slowest", "last", "b", "c", "d"]  # facts.update in the analysers' order
    assert result.facts["last"] == "d"  # the last analyser's value wins, as one after the other
    assert [t.name for t in result.tags] == ["b", "c", "d", "slowest"]  # merge_tags: confidence, then name


def test_without_helpers_every_analyser_runs_on_the_caller_one_after_the_other() -> None:
    log: list = []
    AnalyserPool(0).map(lambda a: a.analyse(None), [_Slow("a", 0.01, log), _Slow("b", 0.01, log)])
    assert {thread for _, thread, _, _ in log} == {threading.current_thread().name}
    assert log[0][3] <= log[1][2]


def test_a_failing_analyser_raises_its_own_exception_as_one_after_the_other(pool) -> None:
    class Broken(RuntimeError):
        pass

    for helpers in (pool, AnalyserPool(0)):
        log: list = []
        error = Broken("the model file is damaged")
        analysers = [_Slow("a", 0.05, log), _Slow("b", 0.01, log, fail=error), _Slow("c", 0.05, log)]
        with pytest.raises(Broken) as raised:
            analyse(images.solid(), 10**9, analysers, helpers)
        raised_at, finished = time.perf_counter(), len(log)
        assert raised.value is error
        assert {name for name, *_ in log} >= {"a", "b"}
        # Nothing was left running on the image: no analyser ends after the raise.
        time.sleep(0.1)
        assert len(log) == finished and all(end <= raised_at for *_, end in log)


def test_the_first_failure_in_order_wins_even_when_a_later_one_fails_first() -> None:
    helpers = AnalyserPool(1)
    try:
        log: list = []
        early, late = ValueError("the second analyser's"), ValueError("the third's, raised sooner")
        # The caller runs a, the helper has meanwhile taken b (slow), so the caller runs c.
        analysers = [_Slow("a", 0.05, log), _Slow("b", 0.2, log, fail=early), _Slow("c", 0, log, fail=late)]
        with pytest.raises(ValueError) as raised:
            helpers.map(lambda a: a.analyse(None), analysers)
        assert raised.value is early
        assert [name for name, *_ in log] == ["a", "c", "b"]  # c did fail first
    finally:
        helpers.shutdown()


def test_later_pending_analysers_are_not_started_after_a_failure() -> None:
    helpers = AnalyserPool(1)
    gate = threading.Event()
    try:
        # Keep the one helper busy, so every analyser of the image below runs on its caller.
        blocker = threading.Thread(target=helpers.map, args=(lambda _: gate.wait(10), [0, 1]))
        blocker.start()
        time.sleep(0.05)
        log: list = []
        first, second = ValueError("first"), ValueError("second")
        analysers = [_Slow("a", 0, log), _Slow("b", 0, log, fail=first), _Slow("c", 0, log, fail=second)]
        with pytest.raises(ValueError) as raised:
            helpers.map(lambda a: a.analyse(None), analysers)
        assert raised.value is first
        assert [name for name, *_ in log] == ["a", "b"]  # c was still pending: never started
    finally:
        gate.set()
        blocker.join(10)
        helpers.shutdown()


def test_a_busy_pool_does_not_delay_an_image_its_caller_runs_everything() -> None:
    helpers = AnalyserPool(1)
    gate = threading.Event()
    try:
        blocker = threading.Thread(target=helpers.map, args=(lambda _: gate.wait(10), [0, 1]))
        blocker.start()
        time.sleep(0.05)  # the helper now waits on the gate
        log: list = []
        started = time.perf_counter()
        helpers.map(lambda a: a.analyse(None), [_Slow(n, 0.01, log) for n in "abcd"])
        assert time.perf_counter() - started < 1
        assert {thread for _, thread, _, _ in log} == {threading.current_thread().name}
        assert not gate.is_set()
    finally:
        gate.set()
        blocker.join(10)
        helpers.shutdown()


def test_the_process_pool_is_shared_and_bounded_by_the_cpus(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "_shared", None)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 3)
    with ThreadPoolExecutor(8) as callers:
        pools = list(callers.map(lambda _: shared_pool(), range(16)))
    assert all(p is pools[0] for p in pools) and pools[0].helpers == 2
    # Many images at once (as a busy worker runs them): never more pool threads than
    # helpers, and every image gets all its analysers.
    log: list = []
    lock = threading.Lock()
    running, peak = 0, 0

    def work(item: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.005)
        log.append(threading.current_thread().name)
        with lock:
            running -= 1
        return item * 2

    with ThreadPoolExecutor(8) as callers:
        results = list(callers.map(lambda _: pools[0].map(work, list(range(6))), range(24)))
    assert results == [[0, 2, 4, 6, 8, 10]] * 24
    helper_threads = {name for name in log if name.startswith(parallel.THREAD_NAME_PREFIX)}
    assert 1 <= len(helper_threads) <= 2
    assert peak <= 8 + 2  # the callers plus the helpers
    pools[0].shutdown()


def test_usable_cpus_follows_the_affinity_capped_by_a_cgroup_quota_rounded_up() -> None:
    assert usable_cpus(affinity=4, limit=None) == 4
    assert usable_cpus(affinity=4, limit=1.0) == 1  # Flex Consumption, 2048 MB
    assert usable_cpus(affinity=4, limit=2.0) == 2  # 4096 MB
    assert usable_cpus(affinity=4, limit=0.25) == 1  # 512 MB
    assert usable_cpus(affinity=4, limit=1.5) == 2
    assert usable_cpus(affinity=1, limit=8.0) == 1
    assert usable_cpus() >= 1


def test_cgroup_cpu_limit_reads_v2_and_v1_and_knows_no_quota(tmp_path) -> None:
    v2, quota, period = tmp_path / "cpu.max", tmp_path / "cfs_quota_us", tmp_path / "cfs_period_us"
    absent = tmp_path / "absent"
    v2.write_text("200000 100000\n")
    assert cgroup_cpu_limit(v2, absent, absent) == 2.0
    v2.write_text("max 100000\n")
    assert cgroup_cpu_limit(v2, absent, absent) is None
    quota.write_text("25000\n")
    period.write_text("100000\n")
    assert cgroup_cpu_limit(absent, quota, period) == 0.25
    quota.write_text("-1\n")
    assert cgroup_cpu_limit(absent, quota, period) is None
    assert cgroup_cpu_limit(absent, absent, absent) is None
