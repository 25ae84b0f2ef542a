"""Read back what a ``@task.batch`` job left: its return value, or the exception it raised.

With an S3 folder the job wrote ``result``/``error`` objects there (:mod:`.transfer`); without,
it printed them last in its CloudWatch log (:mod:`.runner`), which is read from the end: one
GetLogEvents call per job (per child of an array job). CloudWatch may show a job's last lines a
little after the job ended, so a missing result is looked for again a few times before failing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_batch_plugin.decorators.payload import deserialize
from airflow_batch_plugin.decorators.runner import (
    LOG_CHUNK_CHARS,
    MAX_LOG_RESULT_BYTES,
    MAX_TRACEBACK_LINES,
    parse_error_block,
    parse_result_lines,
)
from airflow_batch_plugin.decorators.transfer import error_uri, result_uri
from airflow_batch_plugin.job_state import log_group_name, log_stream_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_batch_plugin.decorators.transfer import S3Transfer
    from airflow_batch_plugin.hooks.batch import BatchHook
    from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook

Job = Mapping[str, Any]
#: Log lines read from the end of a stream for a result: all its marker lines, with room to spare.
RESULT_TAIL_LINES = 2 * (MAX_LOG_RESULT_BYTES * 4 // 3 // LOG_CHUNK_CHARS + 1) + 50
ERROR_TAIL_LINES = MAX_TRACEBACK_LINES + 100
#: Seconds between looks for a result CloudWatch does not show yet.
LOG_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)


class ResultMissing(AirflowException):
    """The job succeeded but its result cannot be found or read."""


@dataclass(frozen=True)
class RemoteError:
    """The exception a function raised in a job: its type and formatted traceback."""

    type: str
    traceback: str
    job_id: str


def array_index(job: Job) -> int | None:
    """Return the index of an array child, or None for any other job."""
    index = job.get("arrayProperties", {}).get("index")
    return None if index is None else int(index)


class ResultReader:
    """Read the results and errors of one task's Batch jobs.

    :param batch: hook for describing array children.
    :param logs: hook for reading the jobs' log streams (results without S3).
    :param transfer: S3 access, with ``folder`` the task instance's folder; None reads the log.
    :param serializer: the module name results were serialized with.
    :param sleep: how to wait between looks for a result not yet visible (tests pass a stub).
    """

    def __init__(
        self,
        *,
        batch: BatchHook,
        logs: CloudWatchLogsHook,
        transfer: S3Transfer | None,
        folder: str | None,
        serializer: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.batch = batch
        self.logs = logs
        self._s3 = (transfer, folder) if transfer is not None and folder is not None else None
        self.serializer = serializer
        self._sleep = sleep

    # -- results ----------------------------------------------------------------------------------

    def single(self, job: Job) -> Any:
        """Return the value a single (not array) job's function returned."""
        if self._s3 is not None:
            transfer, folder = self._s3
            data = self._get(transfer, result_uri(folder, str(job["jobId"])), job)
        else:
            data = self._result_from_log(job)
        return deserialize(data, self.serializer)

    def array(self, job_id: str, size: int) -> list[Any]:
        """Return every child's return value, in the order of the children's indexes."""
        if self._s3 is not None:
            transfer, folder = self._s3
            uris = [result_uri(folder, job_id, index) for index in range(size)]
            try:
                blobs = transfer.get_many(uris)
            except LookupError as error:
                raise ResultMissing(f"Array job {job_id} succeeded but left no result: {error}") from error
            return [deserialize(data, self.serializer) for data in blobs]
        ids = [f"{job_id}:{index}" for index in range(size)]
        children = self.batch.describe_jobs(ids)
        missing = [child for child in ids if child not in children]
        if missing:
            raise ResultMissing(f"Array job {job_id}: DescribeJobs does not know child {missing[0]}")
        return [deserialize(self._result_from_log(children[child]), self.serializer) for child in ids]

    @staticmethod
    def _get(transfer: S3Transfer, uri: str, job: Job) -> bytes:
        try:
            return transfer.get(uri)
        except LookupError as error:
            raise ResultMissing(f"Job {job.get('jobId')} succeeded but left no result: {error}") from error

    def _result_from_log(self, job: Job) -> bytes:
        stream = log_stream_name(job)
        if not stream:
            raise ResultMissing(f"Job {job.get('jobId')} succeeded but has no log stream to read its result")
        group = log_group_name(job)
        for delay in (*LOG_RETRY_DELAYS, None):
            data = parse_result_lines(self.logs.tail(group, stream, RESULT_TAIL_LINES) or [])
            if data is not None:
                return data
            if delay is not None:
                self._sleep(delay)
        raise ResultMissing(
            f"Job {job.get('jobId')} succeeded but its log stream {stream} (group {group}) ends "
            "without a complete result: the function's output may have kept coming after it "
            "returned, or the job's log driver is not awslogs (set xcom_s3_prefix to use S3)"
        )

    # -- errors -----------------------------------------------------------------------------------

    def remote_error(self, job: Job) -> RemoteError | None:
        """Return the exception the function raised in ``job`` (or its first failed child), if any.

        None when the job failed some other way (never started, killed, timed out) or when the
        error cannot be read; reading never raises.
        """
        try:
            failed = self._first_failed(job)
            if failed is None or not failed.get("attempts"):
                return None
            if self._s3 is not None:
                return self._error_from_s3(failed, *self._s3)
            return self._error_from_log(failed)
        except Exception:
            return None

    def _first_failed(self, job: Job) -> Job | None:
        if job.get("arrayProperties", {}).get("size") is None:
            return job
        for summary in self.batch.list_jobs(array_job_id=str(job["jobId"]), job_status="FAILED"):
            return self.batch.describe_jobs([summary["jobId"]]).get(summary["jobId"])
        return None

    def _error_from_s3(self, job: Job, transfer: S3Transfer, folder: str) -> RemoteError | None:
        job_id = str(job["jobId"])
        try:
            data = transfer.get(error_uri(folder, job_id, array_index(job)))
        except LookupError:
            return self._error_from_log(job)
        document = json.loads(data)
        return RemoteError(str(document.get("type")), str(document.get("traceback", "")), job_id)

    def _error_from_log(self, job: Job) -> RemoteError | None:
        stream = log_stream_name(job)
        if not stream:
            return None
        found = parse_error_block(self.logs.tail(log_group_name(job), stream, ERROR_TAIL_LINES) or [])
        if found is None:
            return None
        return RemoteError(found[0], found[1], str(job["jobId"]))
