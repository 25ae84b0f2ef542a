"""Follow one Batch job for an Airflow task: status changes, live logs, array progress, outcome.

The :class:`JobMonitor` is fed job descriptions by whoever polls (the sync wait, a sensor poke,
or a trigger's event) and turns them into task log lines; :meth:`JobMonitor.finish` returns the
final description or raises :class:`BatchJobFailed` with the reason, exit code, the part that
failed and its last lines. Every kind of job is read through :mod:`airflow_batch_plugin.anatomy`:

- a container job's lines as ``[batch] ...``;
- an ECS or EKS job's containers each labelled, ``[batch container app] ...``;
- a multi-node job's nodes (jobs of their own, described along with the parent) each labelled,
  ``[batch node 1] ...``;
- an array job's children, read when it ends: the first ``array_children_logs`` children and
  the first ``failed_children`` failed ones, ``[batch child 3] ...``.

Every attempt of a retried job is named in the log (its streams, then how it ended). What the
job wrote, and the reasons AWS gives, pass through Airflow's secrets masker; job definitions and
environment values are never logged.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import conf

from airflow_batch_plugin.anatomy import (
    DEFAULT_EKS_LOG_GROUP,
    DEFAULT_EKS_LOG_RECORD_KEY,
    DEFAULT_EKS_LOG_STREAM_PREFIX,
    EksCluster,
    EksLogConvention,
    JobAnatomy,
    JobKind,
    JobPart,
    LogLocation,
    read_job,
)
from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook, LogSourceReader
from airflow_batch_plugin.job_state import (
    BatchJobFailed,
    array_progress,
    cannot_start_message,
    describe_outcome,
    failure_message,
    is_terminal,
    log_stream_names,
    masked,
)
from airflow_batch_plugin.runnable_clock import RunnableClock

if TYPE_CHECKING:
    import logging

    from airflow_batch_plugin.hooks.batch import BatchHook

Job = Mapping[str, Any]
CONFIG_SECTION = "aws_batch"
#: ``array_children_logs`` value that reads every child's log.
ALL_CHILDREN = "all"
#: DescribeJobs takes this many ids a call: children are described (and read) this many at a time.
CHILD_CHUNK = 100
#: Statuses before a job's containers run: nothing to read yet.
_NOT_STARTED = frozenset({"SUBMITTED", "PENDING", "RUNNABLE"})


def eks_log_convention(group: str | None = None, stream_prefix: str | None = None) -> EksLogConvention:
    """Where EKS jobs' logs are: the arguments, else ``[aws_batch] eks_log_group`` and
    ``eks_log_stream_prefix``, else Container Insights' Fluent Bit convention."""
    return EksLogConvention(
        group=group or conf.get(CONFIG_SECTION, "eks_log_group", fallback=DEFAULT_EKS_LOG_GROUP),
        stream_prefix=stream_prefix
        or conf.get(CONFIG_SECTION, "eks_log_stream_prefix", fallback=DEFAULT_EKS_LOG_STREAM_PREFIX),
        record_key=conf.get(CONFIG_SECTION, "eks_log_record_key", fallback=DEFAULT_EKS_LOG_RECORD_KEY),
    )


def job_result_xcoms(job: Job, monitor: JobMonitor | None) -> dict[str, Any]:
    """The XComs a finished job gives its task: its log streams and exit codes.

    ``log_stream_names`` lists what the monitor read (for an array job: the children it
    showed; for a multi-node job: every node's; for an EKS job: the streams found by prefix),
    else the streams the description names. ``exit_codes`` has one entry per part (container
    name for ECS and EKS jobs, ``node N`` for multi-node jobs); ``exit_code`` is the job's.
    """
    anatomy = read_job(job)
    streams = monitor.log_stream_names if monitor is not None and monitor.log_stream_names else []
    result: dict[str, Any] = {"log_stream_names": streams or log_stream_names(job)}
    if anatomy.exit_code is not None:
        result["exit_code"] = anatomy.exit_code
    codes = anatomy.exit_codes()
    if monitor is not None and anatomy.is_multi_node_parent:
        codes = {
            f"node {index}": node.exit_code
            for index, node in monitor.node_jobs()
            if node.exit_code is not None
        }
    if codes:
        result["exit_codes"] = codes
    return result


def joined(*labels: str) -> str:
    """Join label parts: ``node 1`` + ``container app`` -> ``node 1 container app``."""
    return " ".join(label for label in labels if label)


def _child_index(summary: Mapping[str, Any]) -> int | None:
    """The index of an array child from its ListJobs summary (``arrayProperties.index``, else its id)."""
    index = (summary.get("arrayProperties") or {}).get("index")
    if index is None:
        suffix = str(summary.get("jobId", "")).rpartition(":")[2]
        return int(suffix) if suffix.isdigit() else None
    return int(index)


@dataclass
class _Subject:
    """One job whose attempts the monitor reads: the job itself, a node, or a child."""

    job_id: str
    label: str
    attempts_reported: int = 0
    readers: dict[LogLocation, LogSourceReader] = field(default_factory=dict)


class JobMonitor:
    """Report one job's progress into a logger and judge its outcome.

    :param batch: hook used to describe nodes and children and to look up EKS clusters.
    :param logs: hook used to read CloudWatch Logs; None disables log reading.
    :param job_id: the job followed.
    :param log: where lines go (the task's logger).
    :param stream_logs: read log events while the job runs, not only at the end.
    :param tail_lines: how many last log lines a failure message carries (per failed part).
    :param failed_children: for array jobs, how many failed children's logs to show.
    :param array_children_logs: for array jobs, how many children's logs to show when the job
        ends, lowest indexes first (``"all"``: every child; 0: none), besides the failed ones.
    :param max_runnable_seconds: fail when the job stays RUNNABLE longer than this.
    :param eks_logs: where EKS jobs' container logs are (default: Container Insights).
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
        array_children_logs: int | str = 3,
        max_runnable_seconds: float | None = None,
        eks_logs: EksLogConvention | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if array_children_logs != ALL_CHILDREN and not (
            isinstance(array_children_logs, int) and array_children_logs >= 0
        ):
            raise ValueError(
                f"array_children_logs={array_children_logs!r}: must be a number of children (0 or more) "
                f"or {ALL_CHILDREN!r}"
            )
        self.batch = batch
        self.logs = logs
        self.job_id = job_id
        self.log = log
        self.stream_logs = stream_logs
        self.tail_lines = max(tail_lines, 0)
        self.failed_children = failed_children
        self.array_children_logs = array_children_logs
        self.max_runnable_seconds = max_runnable_seconds
        self.eks_logs = eks_logs or EksLogConvention()
        self._clock = clock
        self._tails: dict[str, deque[str]] = {}
        self._status: str | None = None
        self._progress: str | None = None
        self._runnable = RunnableClock(max_runnable_seconds, clock)
        self._job = _Subject(job_id, "")
        self._nodes: dict[int, _Subject] = {}
        self._node_jobs: dict[int, JobAnatomy] = {}
        self._streams: list[str] = []
        self._streams_seen: set[str] = set()
        self._said: set[str] = set()
        self._eks_cluster: EksCluster | None = None
        self._eks_cluster_looked_up = False
        self._logs_by_region: dict[str | None, CloudWatchLogsHook] = {}
        self._anatomy: JobAnatomy | None = None
        #: The failed children the failure message shows (at most ``failed_children``), with their last lines.
        self._failed_children_read: list[tuple[Job, list[str]]] = []

    @property
    def log_stream_names(self) -> list[str]:
        """Every log stream this monitor read, in the order it read them (nodes, children too)."""
        return list(self._streams)

    @property
    def anatomy(self) -> JobAnatomy | None:
        """The anatomy of the last description observed."""
        return self._anatomy

    # -- each round --------------------------------------------------------------------------

    def observe(self, job: Job) -> None:
        """Take one fresh description: log what changed and the new log lines; raise if stuck."""
        anatomy = self._read(job)
        status = job.get("status")
        if status != self._status:
            reason = f" ({masked(str(job['statusReason']))})" if job.get("statusReason") else ""
            if self._status is None and anatomy.kind is not JobKind.CONTAINER:
                self.log.info("AWS Batch job %s is %s", self.job_id, anatomy.a_description)
            self.log.info("AWS Batch job %s is %s%s", self.job_id, status, reason)
            self._status = status
        progress = array_progress(job)
        if progress is not None and str(progress) != self._progress:
            self._progress = str(progress)
            self.log.info("Array job %s: %s", self.job_id, progress)
        if not is_terminal(job):  # finish() reads the rest once, and reports the last attempts
            self._read_logs(anatomy, to_end=False, live=self.stream_logs)
        self._check_runnable(job)

    def finish(self, job: Job) -> Job:
        """Read the rest of the log, then return ``job`` if it SUCCEEDED or raise BatchJobFailed."""
        self.observe_final_logs(job)
        anatomy = self._anatomy or self._read(job)
        self.log.info("%s", masked(describe_outcome(job, anatomy)))
        if job.get("status") == "SUCCEEDED":
            return job
        raise self._failure(job, anatomy)

    def observe_final_logs(self, job: Job) -> None:
        """Read every log line not yet read, to the end of every stream, attempts in order.

        Streams of earlier attempts that were never followed (a deferred task sees only the
        final description) are read first, each to its end. An array job's children are read
        here (the first ``array_children_logs`` and the failed ones).
        """
        anatomy = self._read(job)
        self._read_logs(anatomy, to_end=True, live=True)
        if anatomy.is_array_parent:
            self._read_children(anatomy, job)

    # -- reading a job's parts -----------------------------------------------------------------

    def _read(self, job: Job) -> JobAnatomy:
        cluster = self._eks_cluster_for(job)
        self._anatomy = read_job(job, eks_logs=self.eks_logs, eks_cluster=cluster)
        return self._anatomy

    def _eks_cluster_for(self, job: Job) -> EksCluster | None:
        """Look up (once) the cluster of an EKS job whose description does not name it yet."""
        if self._eks_cluster_looked_up or not job.get("eksProperties") or job.get("eksAttempts"):
            return self._eks_cluster
        if job.get("status") in _NOT_STARTED or not job.get("jobQueue"):
            return None
        self._eks_cluster_looked_up = True
        try:
            self._eks_cluster = self.batch.eks_cluster_of_queue(str(job["jobQueue"]))
        except Exception as error:  # the log location only: never fail the wait for it
            self.log.warning("Could not look up the EKS cluster of job %s: %s", self.job_id, error)
        return self._eks_cluster

    def _read_logs(self, anatomy: JobAnatomy, *, to_end: bool, live: bool) -> None:
        if anatomy.is_multi_node_parent:
            self._read_nodes(anatomy, to_end=to_end, live=live)
            self._report_attempts(self._job, anatomy)
        elif anatomy.has_own_logs:
            self._read_subject(self._job, anatomy, to_end=to_end, live=live)
        else:
            self._report_attempts(self._job, anatomy)

    def _read_subject(
        self, subject: _Subject, anatomy: JobAnatomy, *, to_end: bool, live: bool, keep_tail: bool = True
    ) -> None:
        """Read a job's attempts in order: ended ones to their end, then say how each ended; the
        running one as far as it got (to its end with ``to_end``)."""
        for attempt in anatomy.attempts:
            if attempt.number <= subject.attempts_reported:
                continue
            if self.logs is not None:
                for part in attempt.parts:
                    self._read_part(subject, attempt.number, part, to_end=True, keep_tail=keep_tail)
            self._report(subject, anatomy, attempt.number)
        current = anatomy.current
        running = current is not None and current.number > len(anatomy.attempts)
        if running and live and self.logs is not None and anatomy.status not in _NOT_STARTED:
            assert current is not None
            for part in current.parts:
                self._read_part(subject, current.number, part, to_end=to_end, keep_tail=keep_tail)
        if to_end:
            self._say_notes(subject, anatomy)

    def _report_attempts(self, subject: _Subject, anatomy: JobAnatomy) -> None:
        """Say how attempts ended, for a job whose logs are its nodes' or children's."""
        for attempt in anatomy.attempts[subject.attempts_reported :]:
            self._report(subject, anatomy, attempt.number)

    def _report(self, subject: _Subject, anatomy: JobAnatomy, number: int) -> None:
        attempt = anatomy.attempts[number - 1]
        label = f" ({subject.label})" if subject.label else ""
        self.log.info(
            "AWS Batch job %s%s attempt %d ended: %s",
            subject.job_id,
            label,
            number,
            masked(attempt.summary()),
        )
        subject.attempts_reported = number

    def _read_part(
        self, subject: _Subject, number: int, part: JobPart, *, to_end: bool, keep_tail: bool
    ) -> None:
        location = part.log
        if location is None:
            return
        reader = subject.readers.get(location)
        if reader is None:
            reader = LogSourceReader(self._logs_for(location.region), location)
            subject.readers[location] = reader
            of = f", {joined(subject.label, part.label)}" if joined(subject.label, part.label) else ""
            self.log.info("Log stream of job %s, attempt %d%s: %s", subject.job_id, number, of, location)
        label = joined(subject.label, part.label)
        for event in reader.read_new(to_end=to_end):
            message = masked(event.message)
            if keep_tail:
                self._tail(label).append(message)
            self.log.info("[%s] %s", joined("batch", label), message)
        for stream in reader.streams:
            if stream not in self._streams_seen:
                self._streams_seen.add(stream)
                self._streams.append(stream)

    def _say_notes(self, subject: _Subject, anatomy: JobAnatomy) -> None:
        """Say once, at the end, why a part has no log to read, and where an EKS log was looked for."""
        for note in anatomy.notes:
            self._say_once(f"No log read for AWS Batch job {subject.job_id}: {note}")
        if anatomy.kind is JobKind.EKS and self.logs is not None:
            looked = [reader for reader in subject.readers.values() if not reader.streams]
            for reader in looked:
                self._say_once(
                    f"No log stream found for EKS job {subject.job_id} in log group {reader.location.group} "
                    f"with prefix {reader.location.stream_prefix!r}: EKS jobs log where the cluster ships "
                    "container logs (set eks_log_group / eks_log_stream_prefix, or [aws_batch] "
                    "eks_log_group / eks_log_stream_prefix, to where yours does)"
                )

    def _say_once(self, text: str) -> None:
        if text not in self._said:
            self._said.add(text)
            self.log.warning("%s", masked(text))

    def _tail(self, label: str) -> deque[str]:
        tail = self._tails.get(label)
        if tail is None:
            tail = self._tails[label] = deque(maxlen=self.tail_lines)
        return tail

    def _logs_for(self, region: str | None) -> CloudWatchLogsHook:
        """The logs hook of the task's connection, in another region when awslogs-region says so."""
        assert self.logs is not None
        if region is None or region == self.logs.region_name:
            return self.logs
        hook = self._logs_by_region.get(region)
        if hook is None:
            hook = CloudWatchLogsHook(aws_conn_id=self.logs.aws_conn_id, region_name=region)
            self._logs_by_region[region] = hook
        return hook

    # -- multi-node jobs -------------------------------------------------------------------------

    def _read_nodes(self, parent: JobAnatomy, *, to_end: bool, live: bool) -> None:
        """Describe the node jobs of a multi-node parent and read each node's log, labelled."""
        if parent.status in _NOT_STARTED or not (live or to_end):
            return
        ids = parent.node_job_ids()
        if not ids:
            return
        found = self.batch.describe_jobs(ids)
        for index, node_id in enumerate(ids):
            node = found.get(node_id)
            if node is None:
                continue
            anatomy = read_job(node, eks_logs=self.eks_logs)
            self._node_jobs[index] = anatomy
            subject = self._nodes.setdefault(index, _Subject(node_id, f"node {index}"))
            node_ended = to_end or anatomy.status in ("SUCCEEDED", "FAILED")
            self._read_subject(subject, anatomy, to_end=node_ended, live=True)

    def node_jobs(self) -> list[tuple[int, JobAnatomy]]:
        """The node jobs of a multi-node job as last described, in node order."""
        return sorted(self._node_jobs.items())

    def failed_nodes(self) -> list[tuple[int, JobAnatomy]]:
        """The nodes of a multi-node job that failed (FAILED, or a non-zero exit code)."""
        return [
            (index, node)
            for index, node in sorted(self._node_jobs.items())
            if node.status == "FAILED" or (node.exit_code or 0) != 0
        ]

    # -- array jobs --------------------------------------------------------------------------------

    def _read_children(self, parent: JobAnatomy, job: Job) -> None:
        """Read the first children's logs and the failed ones', each line labelled with its child.

        Memory does not grow with the array: children are described 100 at a time and each is
        dropped once its log is read; only the failed children the failure message shows (at most
        ``failed_children``) keep their description and last lines. The names of the streams read
        (the ``log_stream_names`` XCom) are all that is kept of every child.
        """
        if self.logs is None or not parent.array_size:
            return
        size = parent.array_size
        wanted = (
            size if self.array_children_logs == ALL_CHILDREN else min(int(self.array_children_logs), size)
        )
        if wanted:
            shown = f"children 0-{wanted - 1}" if wanted > 1 else "child 0"
            self.log.info("Logs of %s of array job %s (%d children)", shown, self.job_id, size)
        for chunk_start in range(0, wanted, CHILD_CHUNK):
            chunk = [
                parent.child_job_id(index)
                for index in range(chunk_start, min(chunk_start + CHILD_CHUNK, wanted))
            ]
            found = self.batch.describe_jobs(chunk)
            for child_id in chunk:
                if child_id in found:
                    self._read_child(found[child_id])
        if size > wanted and self.array_children_logs != ALL_CHILDREN:
            self.log.info(
                "Logs of %d more children of array job %s are not shown (array_children_logs=%s)",
                size - wanted,
                self.job_id,
                self.array_children_logs,
            )
        progress = array_progress(job)
        if progress is not None and progress.failed and wanted < size:
            self._read_failed_children(parent, read_below=wanted)

    def _read_failed_children(self, parent: JobAnatomy, *, read_below: int) -> None:
        """Read failed children past the first ``read_below`` (found with ListJobs) until the
        failure message has ``failed_children`` of them."""
        missing = self.failed_children - len(self._failed_children_read)
        if missing <= 0:
            return
        ids: list[str] = []
        for summary in self.batch.list_jobs(array_job_id=parent.job_id, job_status="FAILED"):
            index = _child_index(summary)
            if index is not None and index < read_below:
                continue  # read already, and shown in the message if it had room
            ids.append(str(summary["jobId"]))
            if len(ids) >= missing:
                break
        found = self.batch.describe_jobs(ids) if ids else {}
        for child_id in ids:
            if child_id in found:
                self._read_child(found[child_id])

    def _child_label(self, child: Job) -> str:
        return f"child {(child.get('arrayProperties') or {}).get('index')}"

    def _read_child(self, child: Job) -> None:
        """Read one child's log, labelled; keep its last lines only if the failure message shows it."""
        anatomy = read_job(child, eks_logs=self.eks_logs, eks_cluster=self._eks_cluster_for(child))
        label = self._child_label(child)
        subject = _Subject(str(child["jobId"]), label)
        failed = child.get("status") == "FAILED"
        shown = failed and len(self._failed_children_read) < self.failed_children
        self._read_subject(subject, anatomy, to_end=True, live=True, keep_tail=shown)
        if failed:
            self.log.info("Failed child %s", masked(describe_outcome(child, anatomy)))
        if shown:
            # This child's tails ("child 3", "child 3 container app"...), taken out of the job's own.
            keys = [key for key in self._tails if key == label or key.startswith(f"{label} ")]
            tail = [line for key in keys for line in self._tails.pop(key)]
            self._failed_children_read.append((child, tail[-self.tail_lines :] if self.tail_lines else []))

    # -- outcome -----------------------------------------------------------------------------

    def _check_runnable(self, job: Job) -> None:
        reason = self._runnable.observe(job)
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

    def _failure(self, job: Job, anatomy: JobAnatomy) -> BatchJobFailed:
        failed_parts = [part for part in anatomy.failed_parts() if part.label]
        if anatomy.is_multi_node_parent:
            failed_parts = [
                JobPart(
                    name=f"node {index}",
                    label=f"node {index}",
                    exit_code=node.exit_code,
                    reason=node.status_reason,
                )
                for index, node in self.failed_nodes()
            ]
        children = self._failed_children_read if anatomy.is_array_parent else []
        message = failure_message(
            job, self._tails_by_label(), children, failed_parts=failed_parts, anatomy=anatomy
        )
        return BatchJobFailed(
            message,
            job_id=self.job_id,
            status_reason=job.get("statusReason"),
            exit_code=anatomy.exit_code,
            failed_parts=[part.label for part in failed_parts],
        )

    def _tails_by_label(self) -> dict[str, list[str]]:
        return {label: list(tail) for label, tail in self._tails.items() if not label.startswith("child ")}

    def read_tail(self, job: Job, lines: int) -> list[str]:
        """Read a job's whole primary log and keep only its last ``lines`` lines (bounded memory)."""
        anatomy = read_job(job, eks_logs=self.eks_logs)
        attempt = anatomy.latest_attempt
        if self.logs is None or attempt is None:
            return []
        tail: deque[str] = deque(maxlen=lines)
        for part in sorted(attempt.parts, key=lambda part: not part.essential)[:1]:
            if part.log is not None:
                for event in LogSourceReader(self._logs_for(part.log.region), part.log).read_new(to_end=True):
                    tail.append(masked(event.message))
        return list(tail)
