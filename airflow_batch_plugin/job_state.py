"""Read AWS Batch job descriptions: terminal states, array progress, log streams, failure text.

Pure functions over the dicts DescribeJobs returns, shared by the sync wait, sensors and
triggers, so every waiter reports a job the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, redact

from airflow_batch_plugin.hooks.logs import DEFAULT_LOG_GROUP

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

JOB_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED"})
ACTIVE_STATUSES = frozenset(JOB_STATUSES) - TERMINAL_STATUSES
#: statusReason prefixes of RUNNABLE jobs that AWS Batch will never start without a change.
STUCK_REASON_PREFIXES = ("MISCONFIGURATION:",)


def masked(text: str) -> str:
    """Return ``text`` with every value Airflow's secrets masker knows replaced by ``***``.

    A job's log lines, status reasons and failure text are the job's own words: a secret the
    task knows (a connection's password, a masked Variable) may be among them.
    """
    return str(redact(text))


class BatchJobFailed(AirflowException):
    """An AWS Batch job ended FAILED (or can never start); the message says why (secrets masked)."""

    def __init__(
        self, message: str, *, job_id: str, status_reason: str | None, exit_code: int | None
    ) -> None:
        super().__init__(masked(message))
        self.job_id = job_id
        self.status_reason = None if status_reason is None else masked(status_reason)
        self.exit_code = exit_code


def is_terminal(job: Mapping[str, Any]) -> bool:
    return job.get("status") in TERMINAL_STATUSES


def is_array_parent(job: Mapping[str, Any]) -> bool:
    return "size" in job.get("arrayProperties", {})


@dataclass(frozen=True)
class ArrayProgress:
    """Counts of an array job's children by status."""

    size: int
    counts: Mapping[str, int]

    @property
    def succeeded(self) -> int:
        return self.counts.get("SUCCEEDED", 0)

    @property
    def failed(self) -> int:
        return self.counts.get("FAILED", 0)

    @property
    def running(self) -> int:
        return self.counts.get("RUNNING", 0) + self.counts.get("STARTING", 0)

    @property
    def waiting(self) -> int:
        return self.size - self.succeeded - self.failed - self.running

    def __str__(self) -> str:
        return (
            f"{self.succeeded} succeeded, {self.failed} failed, {self.running} running, "
            f"{self.waiting} waiting of {self.size}"
        )


def array_progress(job: Mapping[str, Any]) -> ArrayProgress | None:
    """Return the children's progress of an array parent job, or None for other jobs."""
    props = job.get("arrayProperties", {})
    if "size" not in props:
        return None
    return ArrayProgress(size=int(props["size"]), counts=dict(props.get("statusSummary", {})))


def log_stream_name(job: Mapping[str, Any]) -> str | None:
    """Return the CloudWatch log stream of the job's latest attempt, if it has one yet."""
    stream = job.get("container", {}).get("logStreamName")
    if stream:
        return str(stream)
    for attempt in reversed(job.get("attempts", [])):
        stream = attempt.get("container", {}).get("logStreamName")
        if stream:
            return str(stream)
    return None


def log_stream_names(job: Mapping[str, Any]) -> list[str]:
    """Return the log streams of every attempt, oldest first (a retried job has several)."""
    names = [a.get("container", {}).get("logStreamName") for a in job.get("attempts", [])]
    latest = log_stream_name(job)
    result = [name for name in names if name]
    if latest and latest not in result:
        result.append(latest)
    return list(dict.fromkeys(result))


def log_group_name(job: Mapping[str, Any]) -> str:
    """Return the job's CloudWatch log group: the awslogs-group option, else Batch's default."""
    options = job.get("container", {}).get("logConfiguration", {}).get("options", {})
    return str(options.get("awslogs-group") or DEFAULT_LOG_GROUP)


def exit_code(job: Mapping[str, Any]) -> int | None:
    code = job.get("container", {}).get("exitCode")
    if code is None:
        for attempt in reversed(job.get("attempts", [])):
            code = attempt.get("container", {}).get("exitCode")
            if code is not None:
                break
    return int(code) if code is not None else None


def stuck_reason(job: Mapping[str, Any]) -> str | None:
    """Return why a RUNNABLE job can never start (AWS's MISCONFIGURATION reasons), else None."""
    reason = job.get("statusReason") or ""
    if job.get("status") == "RUNNABLE" and reason.startswith(STUCK_REASON_PREFIXES):
        return str(reason)
    return None


def runnable_too_long(limit: float) -> str:
    """Return the reason given for a job that stayed RUNNABLE longer than ``max_runnable_seconds``."""
    return f"RUNNABLE for more than {limit:g}s (max_runnable_seconds)"


def cannot_start_message(job: Mapping[str, Any], job_id: str, reason: str) -> str:
    """Return the failure text for a job that will never leave RUNNABLE."""
    return f"AWS Batch job {job.get('jobName')} ({job_id}) cannot start: {reason}"


def describe_outcome(job: Mapping[str, Any]) -> str:
    """One line for the task log: name, id, final status, reason and exit code."""
    parts = [f"AWS Batch job {job.get('jobName')} ({job.get('jobId')}) {job.get('status')}"]
    if job.get("statusReason"):
        parts.append(f"reason: {job['statusReason']}")
    code = exit_code(job)
    if code is not None:
        parts.append(f"exit code: {code}")
    progress = array_progress(job)
    if progress is not None:
        parts.append(f"children: {progress}")
    return "; ".join(parts)


def attempt_summary(attempt: Mapping[str, Any]) -> str:
    """One attempt of a job as text: its exit code and why it ended."""
    container = attempt.get("container", {})
    reason = attempt.get("statusReason") or container.get("reason") or ""
    return f"exit code {container.get('exitCode')}, {reason}".rstrip(", ")


def failure_message(
    job: Mapping[str, Any],
    log_tail: Iterable[str] = (),
    failed_children: Iterable[tuple[Mapping[str, Any], list[str]]] = (),
) -> str:
    """Build the text a failed task shows: status reason, exit code, attempts and log tails."""
    lines = [describe_outcome(job)]
    attempts = job.get("attempts", [])
    if len(attempts) > 1:
        lines.append(f"attempts: {len(attempts)}")
        for number, attempt in enumerate(attempts, start=1):
            lines.append(f"  attempt {number}: {attempt_summary(attempt)}")
    tail = list(log_tail)
    if tail:
        lines.append(f"last {len(tail)} log line(s):")
        lines.extend(f"  | {line}" for line in tail)
    for child, child_tail in failed_children:
        lines.append(describe_outcome(child))
        lines.extend(f"  | {line}" for line in child_tail)
    return "\n".join(lines)
