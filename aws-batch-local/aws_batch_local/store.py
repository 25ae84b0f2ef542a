"""Index the jobs of one region by id, ARN, queue and dependency, so lookups cost O(1)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aws_batch_local.jobs import BatchJob


class JobStore:
    """Every job of one region, indexed for DescribeJobs, ListJobs and dependency wake-ups."""

    def __init__(self) -> None:
        self._by_id: dict[str, BatchJob] = {}
        self._by_arn: dict[str, BatchJob] = {}
        self._by_queue: dict[str, list[BatchJob]] = defaultdict(list)
        self._dependents: dict[str, list[BatchJob]] = defaultdict(list)
        self._sequence = itertools.count()

    def next_sequence(self) -> int:
        """Return the next submission sequence number (ListJobs order, pagination tokens)."""
        return next(self._sequence)

    def add(self, job: BatchJob) -> None:
        """Index a new job; top-level jobs (not array children) are listed by their queue."""
        self._by_id[job.job_id] = job
        self._by_arn[job.arn] = job
        if job.parent is None:
            self._by_queue[job.queue.arn].append(job)
        for dependency_id in job.dependency_ids:
            self._dependents[dependency_id].append(job)

    def get(self, identifier: str) -> BatchJob | None:
        """Return the job with this id or ARN."""
        return self._by_id.get(identifier) or self._by_arn.get(identifier)

    def dependents_of(self, job_id: str) -> list[BatchJob]:
        """Return the jobs waiting on ``job_id``."""
        return list(self._dependents.get(job_id, ()))

    def queue_jobs(self, queue_arn: str) -> list[BatchJob]:
        """Return the top-level jobs of a queue, oldest first."""
        return self._by_queue.get(queue_arn, [])

    def all_jobs(self) -> Iterable[BatchJob]:
        """Return every job."""
        return list(self._by_id.values())
