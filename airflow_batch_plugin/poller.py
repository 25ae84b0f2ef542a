"""The one polling mechanism: DescribeJobs once per 100 watched jobs per round.

Every waiter asks this module for job descriptions instead of calling DescribeJobs itself, so a
round costs ceil(jobs / 100) calls however many jobs are watched:

- :class:`JobStatusPoller` (sync) serves the operator's wait and the sensor's pokes; throttling
  and transient faults are retried inside the hook and never end a wait.
- :class:`AsyncJobStatusPoller` serves triggers. Every trigger of a triggerer process registers
  its job with the one poller of its (connection, region, endpoint URL) and event loop (see
  :func:`shared_job_poller`); the poller describes the registered jobs with one aiobotocore
  client and wakes only the triggers whose job changed status or statusReason. A throttle or a
  transient fault makes the whole poller back off (full jitter) and never fails a trigger.

Both share the pure parts: chunking (:func:`~airflow_batch_plugin.hooks.batch.chunked`),
change detection (:func:`job_signature`) and patience with jobs not visible yet
(:class:`MissingJobs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.hooks.batch import DESCRIBE_JOBS_CHUNK, chunked
from airflow_batch_plugin.hooks.retry import DEFAULT_BACKOFF, Backoff, FaultRetry, short_error
from airflow_batch_plugin.job_state import is_terminal

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping

    from airflow_batch_plugin.hooks.batch import BatchHook, ClientKey

log = logging.getLogger(__name__)

JobDescriptions = dict[str, dict[str, Any]]
#: Rounds a freshly submitted job may be missing from DescribeJobs (eventual consistency).
MISSING_ROUNDS_ALLOWED = 6
#: Seconds from a job's registration with the async poller to its first DescribeJobs; triggers
#: registering together (a fan-out deferring at once) share that first call.
FIRST_POLL_DELAY = 0.2
#: A job due this few seconds from now is described in the current round rather than its own.
DUE_SLACK = 0.05
#: (connection id, region, endpoint URL, id of the event loop): one async poller each.
PollerKey = tuple[str | None, str | None, str | None, int]
#: What decides that a job changed, for the async poller's wake-ups.
Signature = tuple[Any, Any]


def job_signature(job: Mapping[str, Any]) -> Signature:
    """Return what a waiter must hear about when it changes: status and statusReason."""
    return (job.get("status"), job.get("statusReason"))


class MissingJobs:
    """Count the consecutive rounds each job was missing from DescribeJobs.

    A job just submitted may not be visible yet (eventual consistency): a few rounds without it
    are tolerated, more mean AWS does not know it.

    :param allowed: rounds a job may be missing before it counts as lost.
    """

    def __init__(self, allowed: int = MISSING_ROUNDS_ALLOWED) -> None:
        self.allowed = allowed
        self._rounds: dict[str, int] = {}

    def check(self, asked: Iterable[str], found: Mapping[str, Any]) -> list[str]:
        """Record one round's answer; return the asked ids missing for too many rounds."""
        lost: list[str] = []
        for job_id in asked:
            if job_id in found:
                self._rounds.pop(job_id, None)
                continue
            missing = self._rounds.get(job_id, 0) + 1
            self._rounds[job_id] = missing
            if missing > self.allowed:
                lost.append(job_id)
        return lost

    def forget(self, job_id: str) -> None:
        """Stop counting for a job nobody waits for any more."""
        self._rounds.pop(job_id, None)


def job_not_found(job_id: str) -> LookupError:
    return LookupError(f"AWS Batch job {job_id} not found (DescribeJobs returned nothing)")


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
        self._missing = MissingJobs()

    def poll(self, job_ids: Collection[str]) -> JobDescriptions:
        """Describe ``job_ids`` now; raise LookupError for a job AWS keeps not knowing."""
        found = self.hook.describe_jobs(job_ids)
        lost = self._missing.check(job_ids, found)
        if lost:
            raise job_not_found(lost[0])
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


# -- the shared async poller ----------------------------------------------------------------------


class JobPollError(Exception):
    """The async poller cannot follow a job: AWS does not know it, or refused with a real error."""


class PollerStopped(Exception):
    """The async poller a watch belonged to stopped; register again with a fresh one."""


@dataclass(eq=False)
class JobWatch:
    """One waiter's registration with an :class:`AsyncJobStatusPoller`.

    The poller hands it each new description of the job (the first one, then one per change of
    status or statusReason); the waiter takes them with :meth:`next_change`.
    """

    job_id: str
    interval: float
    signature: Signature | None = None
    latest: dict[str, Any] | None = None
    error: BaseException | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def next_change(self) -> dict[str, Any]:
        """Wait for the job's next change and return its description.

        Raises :class:`JobPollError` when the poller gave up on the job, and
        :class:`PollerStopped` when the poller itself stopped.
        """
        await self._changed.wait()
        self._changed.clear()
        if self.error is not None:
            raise self.error
        assert self.latest is not None
        return self.latest

    def _offer(self, job: dict[str, Any]) -> None:
        signature = job_signature(job)
        if signature != self.signature:
            self.signature = signature
            self.latest = job
            self._changed.set()

    def _fail(self, error: BaseException) -> None:
        self.error = error
        self._changed.set()


@dataclass(eq=False)
class _WatchedJob:
    """A job id and everyone waiting for it; it is due for a DescribeJobs at ``next_due``."""

    next_due: float
    watches: list[JobWatch] = field(default_factory=list)

    @property
    def interval(self) -> float:
        return min(watch.interval for watch in self.watches)


class AsyncJobStatusPoller:
    """Describe the jobs of many waiters with one aiobotocore client: one call per 100 due jobs.

    Scheduling: each job has its own due time: its waiter's poll interval after the DescribeJobs
    call that last described it; a new job joins the next round for newcomers, which starts at
    most ``first_poll_delay`` after the first of them registered. The jobs described in one
    call form a group (one due time). A round describes the jobs that are due; when its last
    call has room for more ids, it takes whole groups due soonest (within half their interval)
    at no extra API cost. So groups only merge, never split, the jobs' phases converge, and a
    steady state costs at most ceil(jobs / 100) calls per interval. A job that asks for a short
    interval does not make every other job poll that often.

    Faults: a throttle or a transient fault stops the round; the poller sleeps a jittered,
    growing delay (``backoff``) and goes on with the jobs still due. Another error is handed to
    the waiters of the jobs that were due (:class:`JobPollError`): retrying would not cure it.

    Lifetime: the poller's loop starts with the first registration and stops, closing its client
    and leaving the registry, as soon as no job is registered.

    :param key: the registry key (connection id, region, endpoint URL, id of the event loop).
    :param hook: the hook that makes the client and the calls.
    :param backoff: the delays after faults (default: :data:`DEFAULT_BACKOFF`).
    :param first_poll_delay: seconds from a registration to the job's first description
        (default: :data:`FIRST_POLL_DELAY`).
    :param clock: monotonic seconds, for due times (default: the event loop's clock, the one
        its waits run on; tests inject their own).
    :param sleep: how the poller waits out a backoff (tests inject their own).
    """

    def __init__(
        self,
        key: PollerKey,
        hook: BatchHook,
        *,
        backoff: Backoff | None = None,
        first_poll_delay: float | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.key = key
        self.hook = hook
        self.backoff = backoff if backoff is not None else DEFAULT_BACKOFF
        self.first_poll_delay = FIRST_POLL_DELAY if first_poll_delay is None else first_poll_delay
        self.loop = asyncio.get_running_loop()
        self._clock = clock if clock is not None else self.loop.time
        self._sleep = sleep
        #: DescribeJobs calls sent (throttled ones included), rounds completed, faults met.
        self.describe_calls = 0
        self.rounds = 0
        self.faults = 0
        self.closed = False
        self._jobs: dict[str, _WatchedJob] = {}
        self._newcomers_due: float | None = None
        self._missing = MissingJobs()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def job_ids(self) -> list[str]:
        """The ids of the jobs registered now."""
        return list(self._jobs)

    @property
    def running(self) -> bool:
        """Whether the poller's loop is running."""
        return self._task is not None and not self._task.done()

    def register(self, job_id: str, interval: float) -> JobWatch:
        """Watch ``job_id``, described about every ``interval`` seconds; the first time soon."""
        if self.closed:
            raise PollerStopped(f"poller {self.key} is closed")
        if interval <= 0:
            raise ValueError(f"poll interval must be positive, got {interval!r}")
        watch = JobWatch(job_id=job_id, interval=interval)
        if self._newcomers_due is None:  # every registration until that round starts joins it
            self._newcomers_due = self._clock() + self.first_poll_delay
        first_due = self._newcomers_due
        entry = self._jobs.get(job_id)
        if entry is None:
            entry = self._jobs[job_id] = _WatchedJob(next_due=first_due)
        else:
            entry.next_due = min(entry.next_due, first_due)
        entry.watches.append(watch)
        self._wake.set()
        if self._task is None:
            self._task = self.loop.create_task(self._run(), name=f"aws-batch-poller-{self.key[:3]}")
        return watch

    def unregister(self, watch: JobWatch) -> None:
        """Stop watching; the poller stops once nothing is watched."""
        entry = self._jobs.get(watch.job_id)
        if entry is not None and watch in entry.watches:
            entry.watches.remove(watch)
            if not entry.watches:
                del self._jobs[watch.job_id]
                self._missing.forget(watch.job_id)
        self._wake.set()

    async def wait_closed(self) -> None:
        """Wait until the poller's loop has ended and its client is closed."""
        if self._task is not None:
            await asyncio.wait({self._task})  # never raises: a cancelled loop is closed too

    # -- the loop -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        stack = AsyncExitStack()
        error: BaseException | None = None
        try:
            await self._loop(stack)
        except BaseException as raised:
            error = raised
            raise
        finally:
            # No await between the loop seeing no jobs and leaving the registry: a trigger that
            # registers afterwards gets a new poller.
            self._retire(error)
            await stack.aclose()

    async def _loop(self, stack: AsyncExitStack) -> None:
        client: Any = None
        retry = FaultRetry("DescribeJobs", backoff=self.backoff, deadline=None, clock=self._clock)
        while self._jobs:
            self._wake.clear()
            delay = self._next_round_in(self._clock())
            if delay > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            try:
                if client is None:
                    client = await stack.enter_async_context(await self.hook.async_client())
                await self._round(client)
                retry.succeeded()
            except Exception as error:
                retry.description = f"DescribeJobs for {len(self._jobs)} job(s), all of them waiting"
                wait = retry.delay_after(error)
                if wait is None:
                    self._fail_due(error)
                    continue
                self.faults += 1
                await self._sleep(wait)

    def _next_round_in(self, now: float) -> float:
        return min(entry.next_due for entry in self._jobs.values()) - now

    def _round_ids(self, now: float) -> list[str]:
        """Return the ids a round describes: the due jobs, then whole groups filling the last call.

        A group is the jobs described together last time (they share ``next_due``). Only a group
        that fits the room whole rides along: taking part of one would leave a remainder that
        pulls part of the next group forward in its own round, and so on, until every job is
        described more often than its interval (the benchmark saw 30% of re-descriptions early).
        """
        due: list[tuple[float, str]] = []
        later: dict[float, list[str]] = {}
        for job_id, entry in self._jobs.items():
            if entry.next_due <= now + DUE_SLACK:
                due.append((entry.next_due, job_id))
            else:
                later.setdefault(entry.next_due, []).append(job_id)
        ids = [job_id for _, job_id in sorted(due)]
        room = -len(ids) % DESCRIBE_JOBS_CHUNK
        for next_due in sorted(later):
            if not room:
                break
            members = later[next_due]
            soon_enough = next_due <= now + min(self._jobs[job_id].interval for job_id in members) / 2
            if soon_enough and len(members) <= room:
                ids.extend(members)
                room -= len(members)
        return ids

    async def _round(self, client: Any) -> None:
        started = self._clock()
        if self._newcomers_due is not None and self._newcomers_due <= started + DUE_SLACK:
            self._newcomers_due = None
        for chunk in chunked(self._round_ids(started), DESCRIBE_JOBS_CHUNK):
            asked = [job_id for job_id in chunk if job_id in self._jobs]  # some may have left meanwhile
            if not asked:
                continue
            self.describe_calls += 1
            # Each call's jobs are next due one interval after that call, not after the round's
            # start: a round of many calls may take seconds, and a job late in a slow round
            # would otherwise be described again less than an interval later.
            sent = self._clock()
            found = await self.hook.async_describe_jobs(client, asked)
            self._deliver(asked, found, sent)
        self.rounds += 1

    def _deliver(self, asked: list[str], found: JobDescriptions, now: float) -> None:
        lost = set(self._missing.check(asked, found))
        for job_id in asked:
            entry = self._jobs.get(job_id)
            if entry is None:
                continue
            entry.next_due = now + entry.interval
            job = found.get(job_id)
            for watch in entry.watches:
                if job is not None:
                    watch._offer(job)
                elif job_id in lost:
                    watch._fail(JobPollError(str(job_not_found(job_id))))

    def _fail_due(self, error: Exception) -> None:
        """Hand an error that retrying will not cure to the waiters of the jobs due now."""
        now = self._clock()
        message = f"DescribeJobs failed: {short_error(error)}"
        log.error("%s", message)
        for entry in self._jobs.values():
            if entry.next_due <= now:
                entry.next_due = now + entry.interval
                for watch in entry.watches:
                    watch._fail(JobPollError(message))

    def _retire(self, error: BaseException | None) -> None:
        self.closed = True
        if _POLLERS.get(self.key) is self:
            del _POLLERS[self.key]
        for alias, lookup in list(_KEY_LOOKUPS.items()):
            if alias[2] == self.key[3] and lookup.done() and not _serving(lookup, self.loop):
                del _KEY_LOOKUPS[alias]
        for entry in self._jobs.values():  # only when the loop was cancelled or broke
            for watch in entry.watches:
                watch._fail(PollerStopped(f"the AWS Batch poller stopped: {error!r}"))
        self._jobs.clear()


#: The async pollers of this process, one per (connection id, region, endpoint URL, event loop).
_POLLERS: dict[PollerKey, AsyncJobStatusPoller] = {}
#: Connection lookups by (connection id, region as given, id of the event loop), kept while
#: their poller lives, so a thousand triggers read their connection once, not a thousand times.
_KEY_LOOKUPS: dict[tuple[str | None, str | None, int], asyncio.Task[ClientKey]] = {}


async def client_key_for(hook: BatchHook, aws_conn_id: str | None, region_name: str | None) -> ClientKey:
    """Return ``hook.async_client_key()``, shared by every waiter of the same connection and region.

    Waiters arriving together share one lookup; later ones reuse its answer as long as the
    poller it leads to is running (a new poller reads the connection again).
    """
    loop = asyncio.get_running_loop()
    alias = (aws_conn_id, region_name, id(loop))
    lookup = _KEY_LOOKUPS.get(alias)
    if lookup is None or lookup.get_loop() is not loop or (lookup.done() and not _serving(lookup, loop)):
        lookup = _KEY_LOOKUPS[alias] = loop.create_task(hook.async_client_key())
    return await asyncio.shield(lookup)


def _serving(lookup: asyncio.Task[ClientKey], loop: asyncio.AbstractEventLoop) -> bool:
    if lookup.cancelled() or lookup.exception() is not None:
        return False
    poller = _POLLERS.get((*lookup.result(), id(loop)))
    return poller is not None and not poller.closed


def shared_job_poller(client_key: ClientKey, hook: BatchHook) -> AsyncJobStatusPoller:
    """Return the running event loop's poller for ``client_key``, creating it if needed.

    Call it from the event loop and register with the result before the next ``await``: a poller
    that ran out of jobs leaves the registry and does not take new ones.
    """
    loop = asyncio.get_running_loop()
    key: PollerKey = (*client_key, id(loop))
    poller = _POLLERS.get(key)
    if poller is None or poller.closed or poller.loop is not loop:
        poller = _POLLERS[key] = AsyncJobStatusPoller(key, hook)
    return poller


def registered_pollers() -> list[AsyncJobStatusPoller]:
    """Return the async pollers registered now (for tests, benchmarks and diagnostics)."""
    return list(_POLLERS.values())


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
