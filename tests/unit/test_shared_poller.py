"""The shared async poller and BatchJobTrigger on a fake hook: batching, scheduling, lifetime, faults.

The tests of the schedule run on virtual time (tests/virtual_time.py): the poller's clock is its
event loop's, so what they measure is the schedule itself, never how busy the machine was.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import pytest
from botocore.exceptions import ClientError

from airflow_batch_plugin import poller as poller_module
from airflow_batch_plugin.hooks.batch import BatchHook
from airflow_batch_plugin.hooks.retry import Backoff
from airflow_batch_plugin.poller import (
    MISSING_ROUNDS_ALLOWED,
    AsyncJobStatusPoller,
    registered_pollers,
    shared_job_poller,
)
from airflow_batch_plugin.triggers.job import BatchJobTrigger
from tests.virtual_time import run_in_virtual_time

KEY = ("aws_default", "us-east-1", None, 0)
FAST = Backoff(base=0.01, cap=0.05)


@contextlib.contextmanager
def no_jitter() -> Any:
    """Take the jitter out of the backoff: each delay is its upper bound."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("airflow_batch_plugin.hooks.retry.random.uniform", lambda low, high: high)
        yield


def aws_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "DescribeJobs",
    )


class FakeHook:
    """Stands in for BatchHook's async side: a job table, the calls made, faults to raise."""

    def __init__(self, jobs: dict[str, dict[str, Any]] | None = None, region: str = "us-east-1") -> None:
        self.jobs = jobs or {}
        self.calls: list[list[str]] = []
        self.faults: list[Exception] = []
        self.opened = 0
        self.closed = 0
        self.key_lookups = 0
        self.region = region

    def set(self, job_id: str, status: str, reason: str | None = None) -> None:
        self.jobs[job_id] = {"jobId": job_id, "jobName": f"name-{job_id}", "status": status}
        if reason:
            self.jobs[job_id]["statusReason"] = reason

    async def async_client_key(self) -> tuple[str, str, None]:
        self.key_lookups += 1
        await asyncio.sleep(0.01)  # reading a connection takes a moment
        return ("aws_default", self.region, None)

    async def async_client(self) -> Any:
        @contextlib.asynccontextmanager
        async def client() -> Any:
            self.opened += 1
            try:
                yield object()
            finally:
                self.closed += 1

        return client()

    async def async_describe_jobs(self, client: Any, job_ids: Any) -> dict[str, dict[str, Any]]:
        ids = list(job_ids)
        assert len(ids) <= 100
        self.calls.append(ids)
        if self.faults:
            raise self.faults.pop(0)
        return {job_id: dict(self.jobs[job_id]) for job_id in ids if job_id in self.jobs}


@pytest.fixture
def fake_hook(monkeypatch):
    """Make every BatchJobTrigger use one FakeHook; fast backoff and first poll."""
    hook = FakeHook()
    monkeypatch.setattr(BatchJobTrigger, "hook", lambda self: hook)
    monkeypatch.setattr(poller_module, "DEFAULT_BACKOFF", FAST)
    monkeypatch.setattr(poller_module, "FIRST_POLL_DELAY", 0.01)
    return hook


async def wait_until(condition: Any, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


async def first_event(trigger: BatchJobTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


@pytest.mark.parametrize(("jobs", "calls"), [(1, 1), (100, 1), (101, 2), (250, 3)])
def test_each_round_asks_once_per_hundred_registered_jobs(jobs, calls):
    async def scenario() -> tuple[int, int, list[int]]:
        hook = FakeHook()
        for i in range(jobs):
            hook.set(f"job-{i}", "RUNNING")
        poller = AsyncJobStatusPoller(KEY, hook, first_poll_delay=0)
        watches = [poller.register(f"job-{i}", 0.3) for i in range(jobs)]
        await asyncio.gather(*(watch.next_change() for watch in watches))
        first_round = poller.describe_calls
        await wait_until(lambda: poller.rounds >= 2)
        two_rounds = poller.describe_calls
        for watch in watches:
            poller.unregister(watch)
        await poller.wait_closed()
        return first_round, two_rounds, [len(call) for call in hook.calls]

    first_round, two_rounds, sizes = asyncio.run(scenario())
    assert first_round == calls
    assert two_rounds == 2 * calls
    assert sum(sizes[:calls]) == jobs


def test_the_hook_chunks_describe_jobs_by_hundred():
    class Client:
        def __init__(self) -> None:
            self.calls: list[int] = []

        async def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
            self.calls.append(len(jobs))
            return {"jobs": [{"jobId": job_id, "status": "RUNNING"} for job_id in jobs]}

    client = Client()
    found = asyncio.run(BatchHook().async_describe_jobs(client, [f"j{i}" for i in range(250)]))
    assert client.calls == [100, 100, 50]
    assert len(found) == 250


def test_only_changes_wake_a_waiter():
    async def scenario() -> list[str | None]:
        hook = FakeHook()
        hook.set("a", "RUNNABLE")
        poller = AsyncJobStatusPoller(KEY, hook, first_poll_delay=0)
        watch = poller.register("a", 0.02)
        seen = [(await watch.next_change())["status"]]
        rounds = poller.rounds
        await wait_until(lambda: poller.rounds >= rounds + 5)
        assert not watch._changed.is_set(), "no change, no wake-up"
        hook.set("a", "RUNNABLE", "waiting for capacity")
        seen.append((await watch.next_change()).get("statusReason"))
        hook.set("a", "RUNNING", "waiting for capacity")
        seen.append((await watch.next_change())["status"])
        poller.unregister(watch)
        await poller.wait_closed()
        return seen

    assert asyncio.run(scenario()) == ["RUNNABLE", "waiting for capacity", "RUNNING"]


def test_jobs_keep_their_own_interval_and_share_calls_when_they_can():
    async def scenario() -> tuple[int, int, int]:
        hook = FakeHook()
        hook.set("fast", "RUNNING")
        hook.set("slow", "RUNNING")
        poller = AsyncJobStatusPoller(KEY, hook, first_poll_delay=0)
        fast = poller.register("fast", 0.05)
        slow = poller.register("slow", 1.0)
        await asyncio.sleep(1.2)
        fast_polls = sum("fast" in call for call in hook.calls)
        slow_polls = sum("slow" in call for call in hook.calls)
        alone = sum(call == ["slow"] for call in hook.calls)
        poller.unregister(fast)
        poller.unregister(slow)
        await poller.wait_closed()
        return fast_polls, slow_polls, alone

    fast_polls, slow_polls, alone = run_in_virtual_time(scenario())
    assert fast_polls >= 10
    # The slow job rides along (free) at most every half interval, never every fast round.
    assert 2 <= slow_polls <= 4
    assert alone == 0, "the slow job never costs a call of its own"


def test_jobs_registered_at_different_times_converge_on_shared_calls():
    async def scenario() -> int:
        hook = FakeHook()
        poller = AsyncJobStatusPoller(KEY, hook, first_poll_delay=0.05)
        watches = []
        for i in range(100):  # trickling in over 1.2 s: a hundred phases of a 0.5 s interval
            hook.set(f"job-{i}", "RUNNING")
            watches.append(poller.register(f"job-{i}", 0.5))
            await asyncio.sleep(0.012)
        await asyncio.sleep(1.0)
        before = poller.describe_calls
        await asyncio.sleep(1.0)
        steady = poller.describe_calls - before
        for watch in watches:
            poller.unregister(watch)
        await poller.wait_closed()
        return steady

    assert run_in_virtual_time(scenario()) <= 3, "two intervals of 100 jobs: about one call each"


def test_a_group_with_room_takes_no_part_of_the_next_group():
    """Jobs leaving one group must not pull the next group's jobs forward a few at a time."""

    interval = 0.25

    class TimedHook(FakeHook):
        def __init__(self) -> None:
            super().__init__()
            self.described: dict[str, list[float]] = {}

        async def async_describe_jobs(self, client: Any, job_ids: Any) -> dict[str, dict[str, Any]]:
            now = asyncio.get_running_loop().time()
            for job_id in job_ids:
                self.described.setdefault(job_id, []).append(now)
            return await super().async_describe_jobs(client, job_ids)

    async def scenario() -> tuple[list[float], int]:
        hook = TimedHook()
        for i in range(200):
            hook.set(f"job-{i}", "RUNNING")
        poller = AsyncJobStatusPoller(KEY, hook, first_poll_delay=0)
        first = [poller.register(f"job-{i}", interval) for i in range(100)]
        await wait_until(lambda: poller.rounds >= 1)
        await asyncio.sleep(interval / 3)  # the second hundred a third of an interval later
        second = [poller.register(f"job-{i}", interval) for i in range(100, 200)]
        await wait_until(lambda: poller.rounds >= 2)
        for watch in first[:30]:  # 30 jobs of the first group end: its call has room for 30
            poller.unregister(watch)
        calls_before = poller.describe_calls
        await asyncio.sleep(8 * interval)
        steady_calls = poller.describe_calls - calls_before
        for watch in first[30:] + second:
            poller.unregister(watch)
        await poller.wait_closed()
        gaps = [
            later - earlier
            for i in range(100, 200)
            for earlier, later in itertools.pairwise(hook.described[f"job-{i}"])
        ]
        return gaps, steady_calls

    gaps, steady_calls = run_in_virtual_time(scenario())
    assert gaps, "the second group was described again and again"
    assert min(gaps) >= 0.9 * interval, "no job of the second group was described early"
    assert steady_calls <= 2 * 8 + 2, "two groups: two calls per interval"


def test_a_slow_round_never_brings_a_jobs_next_description_forward():
    """Each call's jobs count their interval from that call: a job late in a slow round waits a
    whole interval too (the benchmark saw 3.5 s gaps at a 5 s interval when rounds took 2.5 s)."""

    interval = 0.3

    class SlowHook(FakeHook):
        def __init__(self) -> None:
            super().__init__()
            self.described: dict[str, list[float]] = {}
            self.slow = True

        async def async_describe_jobs(self, client: Any, job_ids: Any) -> dict[str, dict[str, Any]]:
            now = asyncio.get_running_loop().time()
            for job_id in job_ids:
                self.described.setdefault(job_id, []).append(now)
            await asyncio.sleep(0.06 if self.slow else 0.0)  # the first rounds are slow, later fast
            return await super().async_describe_jobs(client, job_ids)

    async def scenario() -> list[float]:
        hook = SlowHook()
        for i in range(300):
            hook.set(f"job-{i}", "RUNNING")
        poller = AsyncJobStatusPoller(KEY, hook, first_poll_delay=0)
        watches = [poller.register(f"job-{i}", interval) for i in range(300)]
        await asyncio.sleep(2 * interval)
        hook.slow = False
        await asyncio.sleep(3 * interval)
        for watch in watches:
            poller.unregister(watch)
        await poller.wait_closed()
        return [
            later - earlier
            for times in hook.described.values()
            for earlier, later in itertools.pairwise(times)
        ]

    gaps = run_in_virtual_time(scenario())
    assert len(gaps) >= 300 * 3
    assert min(gaps) >= interval - poller_module.DUE_SLACK - 0.01


def test_two_waiters_of_one_job_share_its_id_and_both_hear_of_it():
    async def scenario() -> list[list[str]]:
        hook = FakeHook()
        hook.set("a", "RUNNING")
        poller = AsyncJobStatusPoller(KEY, hook, first_poll_delay=0)
        first = poller.register("a", 0.05)
        second = poller.register("a", 0.05)
        await asyncio.gather(first.next_change(), second.next_change())
        poller.unregister(first)
        late = poller.register("a", 0.05)  # joins later: still hears the current status
        assert (await late.next_change())["status"] == "RUNNING"
        poller.unregister(second)
        poller.unregister(late)
        await poller.wait_closed()
        return hook.calls

    assert all(call == ["a"] for call in asyncio.run(scenario()))


def test_throttles_and_transient_faults_back_off_and_never_reach_the_waiter():
    async def scenario() -> tuple[dict[str, Any], int, int]:
        hook = FakeHook()
        hook.set("a", "SUCCEEDED")
        hook.faults = [
            aws_error("TooManyRequestsException", 429),
            aws_error("ThrottlingException", 400),
            aws_error("ServerException", 500),
            aws_error("SomethingNew", 429),
        ]
        poller = AsyncJobStatusPoller(KEY, hook, first_poll_delay=0, backoff=FAST)
        watch = poller.register("a", 0.01)
        job = await watch.next_change()
        poller.unregister(watch)
        await poller.wait_closed()
        return job, poller.faults, len(hook.calls)

    job, faults, calls = asyncio.run(scenario())
    assert job["status"] == "SUCCEEDED"
    assert faults == 4
    assert calls == 5


def test_the_poller_backs_off_through_its_injected_sleep_growing_then_starting_over():
    async def scenario() -> list[float]:
        hook = FakeHook()
        hook.set("a", "RUNNING")
        hook.faults = [aws_error("ThrottlingException", 400) for _ in range(3)]
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        doubling = Backoff(base=1.0, cap=100.0)
        poller = AsyncJobStatusPoller(KEY, hook, first_poll_delay=0, backoff=doubling, sleep=sleep)
        with no_jitter():
            watch = poller.register("a", 0.01)
            await watch.next_change()  # a round succeeded: the next fault starts a new run
            hook.faults = [aws_error("ThrottlingException", 400)]
            await wait_until(lambda: len(waits) == 4)
        poller.unregister(watch)
        await poller.wait_closed()
        return waits

    assert asyncio.run(scenario()) == [1.0, 2.0, 4.0, 1.0], "the schedule, slept by the injected sleep"


def test_an_error_retrying_cannot_cure_is_handed_to_the_waiters(fake_hook):
    fake_hook.set("a", "RUNNING")
    fake_hook.faults = [aws_error("AccessDeniedException", 403)]
    event = asyncio.run(first_event(BatchJobTrigger(job_id="a", poll_interval=0.05)))
    assert event["status"] == "error"
    assert "AccessDeniedException" in event["message"]


def test_a_job_aws_keeps_not_knowing_ends_the_wait_with_an_error(fake_hook):
    event = asyncio.run(first_event(BatchJobTrigger(job_id="ghost", poll_interval=0.01)))
    assert event == {
        "status": "error",
        "job_id": "ghost",
        "message": "AWS Batch job ghost not found (DescribeJobs returned nothing)",
    }
    assert len(fake_hook.calls) == MISSING_ROUNDS_ALLOWED + 1


def test_a_job_appearing_late_is_waited_for(fake_hook):
    async def scenario() -> dict[str, Any]:
        task = asyncio.ensure_future(first_event(BatchJobTrigger(job_id="late", poll_interval=0.01)))
        await wait_until(lambda: len(fake_hook.calls) >= 3)
        fake_hook.set("late", "SUCCEEDED")
        return await task

    assert asyncio.run(scenario()) == {"status": "success", "job_id": "late"}


@pytest.mark.parametrize(("status", "event"), [("SUCCEEDED", "success"), ("FAILED", "failed")])
def test_trigger_fires_once_when_the_job_ends(fake_hook, status, event):
    async def scenario() -> list[dict[str, Any]]:
        fake_hook.set("a", "RUNNING")
        events: list[dict[str, Any]] = []

        async def collect() -> None:
            async for fired in BatchJobTrigger(job_id="a", poll_interval=0.01).run():
                events.append(dict(fired.payload))

        task = asyncio.ensure_future(collect())
        await wait_until(lambda: len(fake_hook.calls) >= 2)
        fake_hook.set("a", status)
        await task
        return events

    assert asyncio.run(scenario()) == [{"status": event, "job_id": "a"}]


def test_misconfigured_runnable_job_is_reported_stuck(fake_hook):
    fake_hook.set("a", "RUNNABLE", "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - no CE can run it")
    event = asyncio.run(first_event(BatchJobTrigger(job_id="a", poll_interval=0.05)))
    assert event["status"] == "stuck"
    assert event["reason"].startswith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")


def test_runnable_longer_than_allowed_is_reported_stuck(fake_hook):
    async def scenario() -> tuple[dict[str, Any], float]:
        fake_hook.set("a", "RUNNABLE")
        loop = asyncio.get_running_loop()
        started = loop.time()
        event = await first_event(BatchJobTrigger(job_id="a", poll_interval=0.05, max_runnable_seconds=0.3))
        return event, loop.time() - started

    event, elapsed = run_in_virtual_time(scenario())
    assert event == {
        "status": "stuck",
        "job_id": "a",
        "reason": "RUNNABLE for more than 0.3s (max_runnable_seconds)",
    }
    assert 0.3 <= elapsed < 0.4, "the limit after the first RUNNABLE description (virtual time: exact)"


def test_leaving_runnable_resets_the_runnable_clock(fake_hook):
    async def scenario() -> dict[str, Any]:
        fake_hook.set("a", "RUNNABLE")
        task = asyncio.ensure_future(
            first_event(BatchJobTrigger(job_id="a", poll_interval=0.02, max_runnable_seconds=0.3))
        )
        await asyncio.sleep(0.2)
        fake_hook.set("a", "STARTING")
        await asyncio.sleep(0.3)
        fake_hook.set("a", "SUCCEEDED")
        return await task

    assert asyncio.run(scenario())["status"] == "success"


def test_cancelled_triggers_leave_the_registry_empty_and_the_poller_stops(fake_hook):
    async def scenario() -> None:
        for i in range(3):
            fake_hook.set(f"job-{i}", "RUNNING")
        tasks = [
            asyncio.ensure_future(first_event(BatchJobTrigger(job_id=f"job-{i}", poll_interval=0.02)))
            for i in range(3)
        ]
        await wait_until(lambda: len(fake_hook.calls) >= 2)
        [poller] = registered_pollers()
        assert sorted(poller.job_ids) == ["job-0", "job-1", "job-2"]
        assert fake_hook.opened == 1, "one client for every trigger"
        tasks[0].cancel()
        await wait_until(lambda: len(poller.job_ids) < 3)
        assert sorted(poller.job_ids) == ["job-1", "job-2"]
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await poller.wait_closed()
        assert registered_pollers() == []
        assert not poller.running
        assert poller.closed
        assert fake_hook.closed == 1

    asyncio.run(scenario())


def test_a_trigger_after_the_poller_stopped_gets_a_new_one(fake_hook):
    async def scenario() -> None:
        fake_hook.set("a", "SUCCEEDED")
        await first_event(BatchJobTrigger(job_id="a", poll_interval=0.02))
        for old in registered_pollers():  # it leaves the registry as soon as its loop wakes
            await old.wait_closed()
        assert registered_pollers() == []
        await first_event(BatchJobTrigger(job_id="a", poll_interval=0.02))
        assert fake_hook.opened == 2

    asyncio.run(scenario())


def test_triggers_starting_together_read_the_connection_once(fake_hook):
    async def scenario() -> None:
        for i in range(50):
            fake_hook.set(f"job-{i}", "RUNNING")
        tasks = [
            asyncio.ensure_future(first_event(BatchJobTrigger(job_id=f"job-{i}", poll_interval=0.05)))
            for i in range(50)
        ]
        await wait_until(lambda: len(fake_hook.calls) >= 1)
        late = asyncio.ensure_future(first_event(BatchJobTrigger(job_id="job-0", poll_interval=0.05)))
        await wait_until(lambda: len(fake_hook.calls) >= 3)
        assert fake_hook.key_lookups == 1, "one lookup while the poller lives"
        for task in [*tasks, late]:
            task.cancel()
        await asyncio.gather(*tasks, late, return_exceptions=True)
        for poller in registered_pollers():
            await poller.wait_closed()
        fake_hook.set("again", "SUCCEEDED")
        await first_event(BatchJobTrigger(job_id="again", poll_interval=0.05))
        assert fake_hook.key_lookups == 2, "a new poller reads the connection again"

    asyncio.run(scenario())


def test_one_poller_per_connection_region_endpoint_and_event_loop():
    async def pollers() -> list[AsyncJobStatusPoller]:
        hook = FakeHook()
        same = [shared_job_poller(("c", "r", "e"), hook) for _ in range(2)]
        other_region = shared_job_poller(("c", "r2", "e"), hook)
        other_endpoint = shared_job_poller(("c", "r", "e2"), hook)
        result = [*same, other_region, other_endpoint]
        poller_module._POLLERS.clear()
        return result

    first, again, other_region, other_endpoint = asyncio.run(pollers())
    assert first is again
    assert len({id(first), id(other_region), id(other_endpoint)}) == 3
    assert asyncio.run(pollers())[0] is not first, "another event loop, another poller"


def test_a_stopped_poller_sends_its_triggers_to_a_fresh_one(fake_hook):
    async def scenario() -> dict[str, Any]:
        fake_hook.set("a", "RUNNING")
        task = asyncio.ensure_future(first_event(BatchJobTrigger(job_id="a", poll_interval=0.02)))
        await wait_until(lambda: len(fake_hook.calls) >= 2)
        [poller] = registered_pollers()
        assert poller._task is not None
        poller._task.cancel()  # the loop dies under its triggers
        await asyncio.sleep(0.05)
        fake_hook.set("a", "SUCCEEDED")
        event = await task
        assert fake_hook.opened == 2
        return event

    assert asyncio.run(scenario()) == {"status": "success", "job_id": "a"}
