"""Follow one Batch job for an Airflow task: status changes, live logs, array progress, outcome.

The :class:`JobMonitor` is fed job descriptions by whoever polls (the sync wait, a sensor poke,
or a trigger's event) and turns them into task log lines; :meth:`JobMonitor.finish` returns the
final description or raises :class:`BatchJobFailed` with the reason, exit code and log tail.
Every attempt of a retried job is named in the log (its stream, then how it ended). What the job
wrote, and the reasons AWS gives, pass through Airflow's secrets masker; job definitions and
environment values are never logged.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook, LogStreamFollower
from airflow_batch_plugin.job_state import (
    BatchJobFailed,
    array_progress,
    attempt_summary,
    cannot_start_message,
    describe_outcome,
    exit_code,
    failure_message,
    is_terminal,
    log_group_name,
    log_stream_name,
    masked,
    runnable_too_long,
    stuck_reason,
)

if TYPE_CHECKING:
    import logging

    from airflow_batch_plugin.hooks.batch import BatchHook

Job = Mapping[str, Any]


class JobMonitor:
    """Report one job's progress into a logger and judge its outcome.

    :param batch: hook used to look up failed array children.
    :param logs: hook used to read CloudWatch Logs; None disables log reading.
    :param job_id: the job followed.
    :param log: where lines go (the task's logger).
    :param stream_logs: read log events while the job runs, not only at the end.
    :param tail_lines: how many last log lines a failure message carries.
    :param failed_children: for array jobs, how many failed children's logs to show.
    :param max_runnable_seconds: fail when the job stays RUNNABLE longer than this.
    """

    def __init__(
        self,
        *,
        batch: BatchHook,
        logs: CloudWatchLogsHook | None,
        job_id: str,
        log: logging.Logger | Any,
        stream_logs: bool = True,
        tail_lines: int = 50,
        failed_children: int = 3,
        max_runnable_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.batch = batch
        self.logs = logs
        self.job_id = job_id
        self.log = log
        self.stream_logs = stream_logs
        self.failed_children = failed_children
        self.max_runnable_seconds = max_runnable_seconds
        self._clock = clock
        self._tail: deque[str] = deque(maxlen=max(tail_lines, 0))
        self._status: str | None = None
        self._progress: str | None = None
        self._runnable_since: float | None = None
        self._followers: dict[str, LogStreamFollower] = {}
        self._streams_read: set[str] = set()
        self._attempts_reported = 0

    # -- each round --------------------------------------------------------------------------

    def observe(self, job: Job) -> None:
        """Take one fresh description: log what changed and the new log lines; raise if stuck."""
        status = job.get("status")
        if status != self._status:
            reason = f" ({masked(str(job['statusReason']))})" if job.get("statusReason") else ""
            self.log.info("AWS Batch job %s is %s%s", self.job_id, status, reason)
            self._status = status
        progress = array_progress(job)
        if progress is not None and str(progress) != self._progress:
            self._progress = str(progress)
            self.log.info("Array job %s: %s", self.job_id, progress)
        if self.stream_logs and not is_terminal(job):  # finish() reads the rest once
            self._read_logs(job, to_end=False)
        if not is_terminal(job):  # the last attempts are reported after their logs, by finish()
            self._report_attempts(job, len(job.get("attempts", [])))
        self._check_runnable(job)

    def finish(self, job: Job) -> Job:
        """Read the rest of the log, then return ``job`` if it SUCCEEDED or raise BatchJobFailed."""
        self.observe_final_logs(job)
        self.log.info("%s", masked(describe_outcome(job)))
        if job.get("status") == "SUCCEEDED":
            return job
        raise self._failure(job)

    def observe_final_logs(self, job: Job) -> None:
        """Read every log line not yet read, to the end of the stream.

        Streams of earlier attempts that were never followed (a deferred task sees only the
        final description) are read first, each to its end.
        """
        self._read_earlier_attempts(job)
        self._read_logs(job, to_end=True)
        self._report_attempts(job, len(job.get("attempts", [])))

    # -- logs --------------------------------------------------------------------------------

    def _read_logs(self, job: Job, *, to_end: bool) -> None:
        if self.logs is None or array_progress(job) is not None:
            return
        stream = log_stream_name(job)
        if not stream:
            return
        follower = self._followers.get(stream)
        if follower is None:
            for old in self._followers.values():  # a new attempt: finish the previous stream
                self._emit(old, to_end=True)
            attempts = len(job.get("attempts", []))
            number = attempts if is_terminal(job) else attempts + 1  # the running one is not listed
            self._report_attempts(job, number - 1)
            follower = LogStreamFollower(self.logs, log_group_name(job), stream)
            self._followers = {stream: follower}
            self._streams_read.add(stream)
            self.log.info(
                "Log stream of job %s, attempt %d: %s (group %s)", self.job_id, number, stream, follower.group
            )
        self._emit(follower, to_end=to_end)

    def _read_earlier_attempts(self, job: Job) -> None:
        if self.logs is None or array_progress(job) is not None:
            return
        latest = log_stream_name(job)
        for number, attempt in enumerate(job.get("attempts", []), start=1):
            stream = attempt.get("container", {}).get("logStreamName")
            if stream == latest:
                return
            if stream and stream not in self._streams_read:
                self._streams_read.add(stream)
                follower = LogStreamFollower(self.logs, log_group_name(job), stream)
                self.log.info(
                    "Log stream of job %s, attempt %d: %s (group %s)",
                    self.job_id,
                    number,
                    stream,
                    follower.group,
                )
                self._emit(follower, to_end=True)
            self._report_attempts(job, number)

    def _report_attempts(self, job: Job, up_to: int) -> None:
        """Log how each attempt up to number ``up_to`` ended, once each, in order."""
        attempts = job.get("attempts", [])
        for number in range(self._attempts_reported + 1, min(up_to, len(attempts)) + 1):
            attempt = attempts[number - 1]
            follower = self._followers.get(attempt.get("container", {}).get("logStreamName") or "")
            if follower is not None:  # its last lines first
                self._emit(follower, to_end=True)
            summary = masked(attempt_summary(attempt))
            self.log.info("AWS Batch job %s attempt %d ended: %s", self.job_id, number, summary)
            self._attempts_reported = number

    def _emit(self, follower: LogStreamFollower, *, to_end: bool) -> None:
        for event in follower.read_new(to_end=to_end):
            message = masked(event.message)
            self._tail.append(message)
            self.log.info("[batch] %s", message)

    def read_tail(self, job: Job, lines: int) -> list[str]:
        """Read a job's whole log and keep only its last ``lines`` lines (bounded memory)."""
        stream = log_stream_name(job)
        if self.logs is None or not stream:
            return []
        tail: deque[str] = deque(maxlen=lines)
        for event in LogStreamFollower(self.logs, log_group_name(job), stream).read_new(to_end=True):
            tail.append(masked(event.message))
        return list(tail)

    # -- outcome -----------------------------------------------------------------------------

    def _check_runnable(self, job: Job) -> None:
        if job.get("status") != "RUNNABLE":
            self._runnable_since = None
            return
        reason = stuck_reason(job)
        if reason is None and self.max_runnable_seconds is not None:
            if self._runnable_since is None:
                self._runnable_since = self._clock()
            elif self._clock() - self._runnable_since > self.max_runnable_seconds:
                reason = runnable_too_long(self.max_runnable_seconds)
        if reason is not None:
            raise self.cannot_start(job, reason)

    def cannot_start(self, job: Job, reason: str) -> BatchJobFailed:
        """Return the error for a job that will never leave RUNNABLE (the caller terminates it)."""
        return BatchJobFailed(
            cannot_start_message(job, self.job_id, reason),
            job_id=self.job_id,
            status_reason=reason,
            exit_code=None,
        )

    def _failure(self, job: Job) -> BatchJobFailed:
        children: list[tuple[Job, list[str]]] = []
        if array_progress(job) is not None and self.failed_children > 0:
            children = self._failed_children_tails(job)
        message = failure_message(job, list(self._tail), children)
        return BatchJobFailed(
            message, job_id=self.job_id, status_reason=job.get("statusReason"), exit_code=exit_code(job)
        )

    def _failed_children_tails(self, job: Job) -> list[tuple[Job, list[str]]]:
        summaries = self.batch.list_jobs(array_job_id=str(job["jobId"]), job_status="FAILED")
        ids: list[str] = []
        for summary in summaries:
            ids.append(summary["jobId"])
            if len(ids) >= self.failed_children:
                break
        children = self.batch.describe_jobs(ids)
        result: list[tuple[Job, list[str]]] = []
        for child_id in ids:
            child = children.get(child_id)
            if child is None:
                continue
            tail = self.read_tail(child, self._tail.maxlen or 20)
            self.log.info("Failed child %s", masked(describe_outcome(child)))
            for line in tail:
                self.log.info("[batch %s] %s", child_id, line)
            result.append((child, tail))
        return result
