"""Read AWS Batch job descriptions: terminal states, array progress, logs, exit codes, failure text.

Pure functions over the dicts DescribeJobs returns, shared by the sync wait, sensors, triggers,
links and the view, so every waiter reports a job of any kind the same way. What a job is made
of (its kind, parts, attempts and log locations) is read by :mod:`airflow_batch_plugin.anatomy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, redact

from airflow_batch_plugin.anatomy import DEFAULT_LOG_GROUP, JobAnatomy, JobPart, LogLocation, read_job

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

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
    """An AWS Batch job ended FAILED (or can never start); the message says why (secrets masked).

    ``failed_parts`` names what failed inside the job: ``container app``, ``node 1``...
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        status_reason: str | None,
        exit_code: int | None,
        failed_parts: Sequence[str] = (),
    ) -> None:
        super().__init__(masked(message))
        self.job_id = job_id
        self.status_reason = None if status_reason is None else masked(status_reason)
        self.exit_code = exit_code
        self.failed_parts = list(failed_parts)


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


def primary_log(job: Mapping[str, Any]) -> LogLocation | None:
    """Return the log a person opens first: the latest attempt's first essential stream.

    For a multi-node parent that is the main node's stream (its attempts are the main node's);
    an array parent and an EKS job (whose streams are found by prefix) have none.
    """
    anatomy = read_job(job)
    for attempt in (anatomy.current, *reversed(anatomy.attempts)):
        if attempt is None:
            continue
        parts = sorted(attempt.parts, key=lambda part: not part.essential)
        for part in parts:
            if part.log is not None and part.log.stream:
                return part.log
    return None


def log_stream_name(job: Mapping[str, Any]) -> str | None:
    """Return the CloudWatch log stream of the job's latest attempt (see primary_log), if any yet."""
    location = primary_log(job)
    return location.stream if location is not None else None


def log_stream_names(job: Mapping[str, Any]) -> list[str]:
    """Return the log streams of every attempt and part, oldest attempt first."""
    streams = [part.log.stream for _, part in read_job(job).log_locations() if part.log and part.log.stream]
    return list(dict.fromkeys(stream for stream in streams if stream))


def log_group_name(job: Mapping[str, Any]) -> str:
    """Return the CloudWatch log group of the job's primary log (Batch's default if none yet)."""
    location = primary_log(job)
    if location is not None:
        return location.group
    options = (job.get("container") or {}).get("logConfiguration", {}).get("options", {})
    return str(options.get("awslogs-group") or DEFAULT_LOG_GROUP)


def exit_code(job: Mapping[str, Any]) -> int | None:
    """Return the job's exit code: its failed essential part's, else its (main) container's."""
    return read_job(job).exit_code


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


def describe_outcome(job: Mapping[str, Any], anatomy: JobAnatomy | None = None) -> str:
    """One line for the task log: name, id, final status, reason, exit code (and of what)."""
    anatomy = anatomy or read_job(job)
    parts = [f"AWS Batch job {job.get('jobName')} ({job.get('jobId')}) {job.get('status')}"]
    if job.get("statusReason"):
        parts.append(f"reason: {job['statusReason']}")
    code = anatomy.exit_code
    if code is not None:
        failed = [part for part in anatomy.failed_parts() if part.essential and part.label]
        of = f" ({failed[0].label})" if failed and failed[0].exit_code == code else ""
        parts.append(f"exit code: {code}{of}")
    progress = array_progress(job)
    if progress is not None:
        parts.append(f"children: {progress}")
    return "; ".join(parts)


def attempt_summary(attempt: Mapping[str, Any]) -> str:
    """One attempt of a container job as text: its exit code and why it ended."""
    container = attempt.get("container", {})
    reason = attempt.get("statusReason") or container.get("reason") or ""
    return f"exit code {container.get('exitCode')}, {reason}".rstrip(", ")


def part_failure(part: JobPart) -> str:
    """One failed part as text: ``container app (essential): exit code 5, reason``."""
    kind = (
        ""
        if not part.label.startswith("container")
        else (" (essential)" if part.essential else " (not essential)")
    )
    return f"{part.label}{kind}: {part.outcome()}"


def failure_message(
    job: Mapping[str, Any],
    tails: Mapping[str, Sequence[str]] | Iterable[str] = (),
    failed_children: Iterable[tuple[Mapping[str, Any], list[str]]] = (),
    *,
    failed_parts: Sequence[JobPart] = (),
    anatomy: JobAnatomy | None = None,
) -> str:
    """Build the text a failed task shows: reason, exit code, failed parts, attempts, log tails.

    :param tails: the last log lines, by the label of the part they came from ("" for the job
        itself); a plain list of lines is the job's own.
    :param failed_children: for an array job, failed children and their last lines.
    :param failed_parts: what failed inside the job (by default the anatomy's failed parts):
        containers of an ECS or EKS job, nodes of a multi-node job.
    """
    anatomy = anatomy or read_job(job)
    by_label: dict[str, Sequence[str]] = dict(tails) if hasattr(tails, "keys") else {"": list(tails)}  # type: ignore[arg-type]
    failed = list(failed_parts) or [part for part in anatomy.failed_parts() if part.label]
    lines = [describe_outcome(job, anatomy)]
    lines.extend(f"failed: {part_failure(part)}" for part in failed)
    if len(anatomy.attempts) > 1:
        lines.append(f"attempts: {len(anatomy.attempts)}")
        for attempt in anatomy.attempts:
            lines.append(f"  attempt {attempt.number}: {attempt.summary()}")
    shown = [part.label for part in failed if by_label.get(part.label)]
    if not shown:  # nothing failed by name (terminated, timed out...): the job's own last lines
        shown = [label for label in by_label if by_label[label]][:1]
    for label in shown:
        tail = list(by_label[label])
        of = f" of {label}" if label else ""
        lines.append(f"last {len(tail)} log line(s){of}:")
        lines.extend(f"  | {line}" for line in tail)
    for child, child_tail in failed_children:
        lines.append(describe_outcome(child))
        lines.extend(f"  | {line}" for line in child_tail)
    return "\n".join(lines)
