"""The one stuck-RUNNABLE clock, on an injected clock: no test here waits for real time."""

from __future__ import annotations

from typing import Any

from airflow_batch_plugin.runnable_clock import RunnableClock


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def job(status: str, reason: str | None = None) -> dict[str, Any]:
    return {"jobId": "a", "status": status, **({"statusReason": reason} if reason else {})}


def test_a_job_runnable_longer_than_the_limit_is_stuck_and_not_a_moment_before():
    clock = Clock()
    runnable = RunnableClock(30, clock)
    assert runnable.observe(job("RUNNABLE")) is None
    assert runnable.seconds_left() == 30
    clock.now += 30
    assert runnable.observe(job("RUNNABLE")) is None, "exactly the limit is not more than it"
    assert runnable.seconds_left() == 0
    clock.now += 0.5
    assert runnable.observe(job("RUNNABLE")) == "RUNNABLE for more than 30s (max_runnable_seconds)"
    assert runnable.expired() == "RUNNABLE for more than 30s (max_runnable_seconds)"


def test_leaving_runnable_stops_the_count_and_coming_back_starts_it_from_zero():
    clock = Clock()
    runnable = RunnableClock(30, clock)
    runnable.observe(job("RUNNABLE"))
    clock.now += 25
    assert runnable.observe(job("STARTING")) is None
    assert runnable.seconds_left() is None
    clock.now += 100
    assert runnable.observe(job("RUNNABLE")) is None
    clock.now += 25
    assert runnable.observe(job("RUNNABLE")) is None
    assert runnable.seconds_left() == 5


def test_a_misconfigured_job_is_stuck_at_once_with_or_without_a_limit():
    reason = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - no compute environment can run it"
    for limit in (None, 3600):
        assert RunnableClock(limit, Clock()).observe(job("RUNNABLE", reason)) == reason


def test_without_a_limit_nothing_runs_out():
    clock = Clock()
    runnable = RunnableClock(None, clock)
    runnable.observe(job("RUNNABLE"))
    clock.now += 10**6
    assert runnable.observe(job("RUNNABLE")) is None
    assert runnable.seconds_left() is None
