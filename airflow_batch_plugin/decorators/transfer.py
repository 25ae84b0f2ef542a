"""Where a ``@task.batch`` call's large payloads live in S3, and moving them with the S3 hook.

Under the task's ``xcom_s3_prefix`` every task instance has its own folder,
``PREFIX/DAG/RUN/TASK/MAP_INDEX/``: the arguments go to ``input-<digest>`` (named by their
content, so a retry reuses them) and the job writes ``JOB_ID/result`` (array children
``JOB_ID/INDEX/result``) and ``.../error``. A function source too long for its job definition
goes to ``PREFIX/functions/<digest>.py``, so the definition stays the same while the code does.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from airflow_batch_plugin.decorators.runner import output_key, split_s3

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Parallel GetObject calls when gathering the results of an array job's children.
READ_THREADS = 8


def digest(data: bytes, length: int = 20) -> str:
    """Return the first ``length`` hex digits of the SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()[:length]


def _clean(part: str) -> str:
    return part.strip("/").replace("/", "_") or "_"


@dataclass(frozen=True)
class S3Prefix:
    """An ``s3://bucket/prefix`` location (the prefix may be empty)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Prefix:
        """Read ``s3://bucket[/prefix]``; raise ValueError for anything else."""
        if not isinstance(uri, str) or not uri.startswith("s3://") or not split_s3(uri)[0]:
            raise ValueError(f"xcom_s3_prefix={uri!r}: give an S3 location, s3://bucket/prefix")
        bucket, key = split_s3(uri)
        return cls(bucket, key.strip("/"))

    def uri(self, key: str) -> str:
        """Return the URI of ``key`` below this prefix."""
        return f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}{key}"

    def task_folder(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
        """Return the URI (ending in ``/``) of one task instance's folder."""
        parts = (_clean(dag_id), _clean(run_id), _clean(task_id), str(map_index))
        return self.uri("/".join(parts)) + "/"

    def function_uri(self, source: str) -> str:
        """Return where a function source too long for a job definition is kept."""
        return self.uri(f"functions/{digest(source.encode('utf-8'), 32)}.py")


def input_uri(folder: str, data: bytes) -> str:
    """Return the URI of a call's arguments in a task instance's folder (named by their digest)."""
    return f"{folder}input-{digest(data)}"


def result_uri(folder: str, job_id: str, index: int | None = None) -> str:
    """Return where job ``job_id`` (child ``index`` of an array job) writes its result."""
    return output_key(folder, job_id, index, "result")


def error_uri(folder: str, job_id: str, index: int | None = None) -> str:
    """Return where job ``job_id`` (child ``index``) writes the exception its function raised."""
    return output_key(folder, job_id, index, "error")


class S3Transfer:
    """Write and read payload objects through the Amazon provider's S3Hook.

    :param aws_conn_id: the Airflow AWS connection.
    :param region_name: AWS region; the connection's when not given.
    """

    def __init__(self, aws_conn_id: str | None, region_name: str | None) -> None:
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    @cached_property
    def hook(self) -> S3Hook:
        """The S3 hook of the connection."""
        return S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)

    def put(self, uri: str, data: bytes) -> None:
        """Write ``data`` to ``uri`` (replacing what is there)."""
        bucket, key = split_s3(uri)
        self.hook.load_bytes(data, key=key, bucket_name=bucket, replace=True)

    def get(self, uri: str) -> bytes:
        """Return the object at ``uri``; raise LookupError when there is none."""
        bucket, key = split_s3(uri)
        client: Any = self.hook.get_conn()
        try:
            return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except client.exceptions.NoSuchKey as error:
            raise LookupError(f"nothing at {uri}") from error

    def get_many(self, uris: Sequence[str]) -> list[bytes]:
        """Return the objects at ``uris``, in order (a few reads at a time)."""
        if len(uris) <= 1:
            return [self.get(uri) for uri in uris]
        self.hook.get_conn()  # build the client once, before the threads share it
        with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
            return list(pool.map(self.get, uris))
