"""The one polling mechanism: DescribeJobs once per 100 watched jobs per round.

Every waiter (the operator's sync wait, the sensor, and later the triggers) asks this module for
job descriptions instead of calling DescribeJobs itself, so a round costs ceil(jobs / 100)
calls however many jobs are watched. Throttling and transient faults are retried inside the hook
and never end a wait.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.job_state import is_terminal

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from airflow_batch_plugin.hooks.batch import BatchHook

JobDescriptions = dict[str, dict[str, Any]]
#: Rounds a freshly submitted job may be missing from DescribeJobs (eventual consistency).
MISSING_ROUNDS_ALLOWED = 6


class JobStatusPoller:
    """Poll AWS Batch for a set of jobs, one DescribeJobs call per 100 of them per round.

    :param hook: the BatchHook that makes the calls.
    :param interval: seconds between rounds.
    """

    def __init__(
        self,
        hook: BatchHook,
        interval: float = 10.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"poll interval must be positive, got {interval!r}")
        self.hook = hook
        self.interval = interval
        self._sleep = sleep
        self._missing_rounds: dict[str, int] = {}

    def poll(self, job_ids: Collection[str]) -> JobDescriptions:
        """Describe ``job_ids`` now; raise LookupError for a job AWS keeps not knowing."""
        found = self.hook.describe_jobs(job_ids)
        for job_id in job_ids:
            if job_id in found:
                self._missing_rounds.pop(job_id, None)
                continue
            missing = self._missing_rounds.get(job_id, 0) + 1
            self._missing_rounds[job_id] = missing
            if missing > MISSING_ROUNDS_ALLOWED:
                raise LookupError(f"AWS Batch job {job_id} not found (DescribeJobs returned nothing)")
        return found

    def wait(
        self,
        job_ids: Collection[str],
        on_round: Callable[[JobDescriptions], None] = lambda _: None,
    ) -> JobDescriptions:
        """Poll every ``interval`` seconds until every job is SUCCEEDED or FAILED.

        ``on_round`` sees each round's descriptions (to log progress, stream logs, or raise to
        stop waiting). Returns the final descriptions.
        """
        while True:
            jobs = self.poll(job_ids)
            on_round(jobs)
            if len(jobs) == len(job_ids) and all(is_terminal(job) for job in jobs.values()):
                return jobs
            self._sleep(self.interval)


def wait_for_state(
    describe: Callable[[], dict[str, Any] | None],
    is_done: Callable[[dict[str, Any] | None], bool],
    *,
    interval: float,
    timeout: float | None = None,
    on_round: Callable[[dict[str, Any] | None], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any] | None:
    """Describe one resource every ``interval`` seconds until ``is_done`` says so.

    Used for compute environments, job queues and scheduling policies (a single Describe call a
    round). ``on_round`` may raise to stop early (an INVALID resource); ``timeout`` raises
    TimeoutError. Returns the last description (None when the resource is gone).
    """
    if interval <= 0:
        raise ValueError(f"poll interval must be positive, got {interval!r}")
    started = clock()
    while True:
        current = describe()
        on_round(current)
        if is_done(current):
            return current
        if timeout is not None and clock() - started > timeout:
            raise TimeoutError(f"still waiting after {timeout:g}s")
        sleep(interval)
