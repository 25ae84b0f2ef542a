"""BatchJobTrigger: wait for an AWS Batch job in the triggerer, through the process's shared poller."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_batch_plugin.anatomy import JobKind, read_job
from airflow_batch_plugin.hooks.batch import BatchHook
from airflow_batch_plugin.job_state import runnable_too_long
from airflow_batch_plugin.poller import JobPollError, PollerStopped, client_key_for, shared_job_poller
from airflow_batch_plugin.runnable_clock import RunnableClock

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_batch_plugin.poller import JobWatch

#: How many times a trigger joins a fresh poller after its poller stopped under it.
MAX_POLLER_RESTARTS = 3
DEFAULT_TERMINATION_REASON = "Terminated by Airflow: the deferred task was killed"


class BatchJobTrigger(BaseTrigger):
    """Wait until an AWS Batch job ends, or can never start, and fire one event.

    The trigger does not call DescribeJobs itself: it registers its job with the poller shared by
    every trigger of the triggerer process for the same connection, region and endpoint (see
    :mod:`airflow_batch_plugin.poller`) and sleeps until that poller reports a change.

    Events (a dict):

    - ``{"status": "success" | "failed", "job_id"}``: the job is SUCCEEDED or FAILED;
    - ``{"status": "stuck", "job_id", "reason"}``: the job is RUNNABLE with a ``MISCONFIGURATION:``
      statusReason, or has been RUNNABLE longer than ``max_runnable_seconds``;
    - ``{"status": "error", "job_id", "message"}``: the job cannot be followed (AWS does not know
      it, or refuses with an error retrying will not cure). Throttling never ends the wait.

    A user killing the deferred task terminates the job (:meth:`on_kill`); a triggerer restart
    does not (``cleanup()`` is left alone), the trigger just resumes elsewhere.

    :param job_id: the job to wait for.
    :param aws_conn_id: Airflow AWS connection.
    :param region_name: AWS region; the connection's when not given.
    :param poll_interval: seconds between DescribeJobs of this job (the first comes within a second).
    :param max_runnable_seconds: report the job stuck when it stays RUNNABLE this long (counted
        from when this trigger saw it RUNNABLE, so a triggerer restart starts the count again).
    :param termination_reason: reason given to TerminateJob when a user kills the deferred task
        (the operator passes one naming the DAG, run and task).
    :param terminate_on_kill: terminate the job when a user kills the deferred task; sensors, which
        did not start the job, pass False.
    """

    def __init__(
        self,
        job_id: str,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        poll_interval: float = 10.0,
        max_runnable_seconds: float | None = None,
        termination_reason: str | None = None,
        terminate_on_kill: bool = True,
    ) -> None:
        super().__init__()
        if poll_interval <= 0:
            raise ValueError(f"poll_interval={poll_interval!r}: must be a positive number of seconds")
        self.job_id = job_id
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.poll_interval = float(poll_interval)
        self.max_runnable_seconds = max_runnable_seconds
        self.termination_reason = termination_reason
        self.terminate_on_kill = terminate_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the keyword arguments that rebuild this trigger."""
        cls = type(self)
        return (
            f"{cls.__module__}.{cls.__qualname__}",
            {
                "job_id": self.job_id,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "poll_interval": self.poll_interval,
                "max_runnable_seconds": self.max_runnable_seconds,
                "termination_reason": self.termination_reason,
                "terminate_on_kill": self.terminate_on_kill,
            },
        )

    def hook(self) -> BatchHook:
        """Return the hook of this trigger's connection and region."""
        return BatchHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait through the shared poller and yield the one event (see the class docstring)."""
        event = await self.wait()
        yield TriggerEvent(event)

    async def wait(self) -> dict[str, Any]:
        """Follow the job until it ends or is stuck; return the event's payload.

        The registration is always withdrawn on the way out, also when the trigger is cancelled.
        """
        hook = self.hook()
        client_key = await client_key_for(hook, self.aws_conn_id, self.region_name)
        restarts = 0
        while True:
            poller = shared_job_poller(client_key, hook)
            watch = poller.register(self.job_id, self.poll_interval)
            try:
                return await self._follow(watch)
            except PollerStopped as stopped:
                restarts += 1
                if restarts > MAX_POLLER_RESTARTS:
                    raise
                self.log.warning("%s; joining a new poller", stopped)
            finally:
                poller.unregister(watch)

    async def _follow(self, watch: JobWatch) -> dict[str, Any]:
        runnable = RunnableClock(self.max_runnable_seconds, asyncio.get_running_loop().time)
        kind_said = False
        while True:
            try:
                job = await asyncio.wait_for(watch.next_change(), runnable.seconds_left())
            except TimeoutError:
                assert self.max_runnable_seconds is not None
                return self._stuck(runnable_too_long(self.max_runnable_seconds))
            except JobPollError as error:
                return {"status": "error", "job_id": self.job_id, "message": str(error)}
            status = job.get("status")
            if not kind_said:
                kind_said = True
                anatomy = read_job(job)
                if anatomy.kind is not JobKind.CONTAINER or anatomy.is_array_parent:
                    self.log.info("AWS Batch job %s is %s", self.job_id, anatomy.a_description)
            reason = f" ({job['statusReason']})" if job.get("statusReason") else ""
            self.log.info("AWS Batch job %s is %s%s", self.job_id, status, reason)
            if status == "SUCCEEDED":
                return {"status": "success", "job_id": self.job_id}
            if status == "FAILED":
                return {"status": "failed", "job_id": self.job_id}
            stuck = runnable.observe(job)
            if stuck is not None:
                return self._stuck(stuck)

    def _stuck(self, reason: str) -> dict[str, Any]:
        return {"status": "stuck", "job_id": self.job_id, "reason": reason}

    async def on_kill(self) -> None:
        """Terminate the job: a user killed the deferred task (mark failed, clear).

        The TerminateJob call runs as a task of its own that this coroutine only waits for: Airflow's
        triggerer cancels a trigger again on each pass of its loop until the trigger is seen finished,
        and a second cancellation reaching a TerminateJob still in flight (a slow client start, a
        throttle) would abort it and leave the job running. Cancelled again, ``on_kill`` returns at
        once while the termination goes on in the triggerer's event loop.
        """
        if not self.terminate_on_kill:
            return
        reason = self.termination_reason or DEFAULT_TERMINATION_REASON
        self.log.info("Terminating AWS Batch job %s: %s", self.job_id, reason)
        termination = asyncio.ensure_future(self._terminate(reason))
        _terminations.add(termination)
        termination.add_done_callback(_terminations.discard)
        try:
            await asyncio.shield(termination)
        except asyncio.CancelledError:
            if not termination.done():
                self.log.info("AWS Batch job %s: cancelled again; the termination goes on", self.job_id)
                termination.add_done_callback(self._report_late_failure)
            raise

    async def _terminate(self, reason: str) -> None:
        hook = self.hook()
        async with await hook.async_client() as client:
            await hook.async_terminate_job(client, self.job_id, reason)

    def _report_late_failure(self, termination: asyncio.Future[None]) -> None:
        """Log a termination that failed after ``on_kill`` stopped waiting for it."""
        if not termination.cancelled() and (error := termination.exception()) is not None:
            self.log.warning("Terminating AWS Batch job %s failed: %s", self.job_id, error)


#: Terminations in flight, held so the event loop's weak reference is not their only one.
_terminations: set[asyncio.Future[None]] = set()
