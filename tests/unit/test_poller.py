"""JobStatusPoller: one DescribeJobs call per 100 watched jobs a round, patience with new jobs."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest

from airflow_batch_plugin.poller import MISSING_ROUNDS_ALLOWED, JobStatusPoller

if TYPE_CHECKING:
    from airflow_batch_plugin.hooks.batch import BatchHook


def count_describe_calls(hook: BatchHook) -> Counter:
    calls: Counter = Counter()
    hook.client.meta.events.register("before-call.batch.DescribeJobs", lambda **_: calls.update(["calls"]))
    return calls


@pytest.mark.parametrize(("jobs", "calls"), [(1, 1), (100, 1), (101, 2), (250, 3), (1000, 10)])
def test_one_call_per_hundred_jobs_per_round(hook, jobs, calls):
    counter = count_describe_calls(hook)
    JobStatusPoller(hook).poll([f"job-{i}" for i in range(jobs)])
    assert counter["calls"] == calls


def test_a_job_missing_for_a_few_rounds_is_tolerated_then_reported(hook):
    poller = JobStatusPoller(hook)
    for _ in range(MISSING_ROUNDS_ALLOWED):
        assert poller.poll(["not-yet-visible"]) == {}
    with pytest.raises(LookupError, match="not-yet-visible not found"):
        poller.poll(["not-yet-visible"])


def test_wait_polls_every_interval_until_every_job_is_terminal(hook):
    rounds = iter(
        [
            {"a": {"jobId": "a", "status": "RUNNING"}, "b": {"jobId": "b", "status": "RUNNABLE"}},
            {"a": {"jobId": "a", "status": "SUCCEEDED"}, "b": {"jobId": "b", "status": "RUNNING"}},
            {"a": {"jobId": "a", "status": "SUCCEEDED"}, "b": {"jobId": "b", "status": "FAILED"}},
        ]
    )
    sleeps: list[float] = []
    seen: list[dict] = []
    poller = JobStatusPoller(hook, interval=7, sleep=sleeps.append)
    poller.poll = lambda ids: next(rounds)  # the rounds AWS would answer, in order
    final = poller.wait(["a", "b"], on_round=seen.append)
    assert final["b"]["status"] == "FAILED"
    assert len(seen) == 3
    assert sleeps == [7, 7]


def test_interval_must_be_positive(hook):
    with pytest.raises(ValueError, match="poll interval must be positive"):
        JobStatusPoller(hook, interval=0)
