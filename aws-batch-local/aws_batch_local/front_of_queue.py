"""GetJobQueueSnapshot: the RUNNABLE jobs of a queue in the order the scheduler will dispatch them.

The order is the scheduler's own (``ready``): a FIFO queue dispatches the jobs already placed on
a compute environment first in, first out, then the ones still waiting for one, in the order
they started waiting (placing them keeps that order). A fair-share queue is drained as its
``FairShareReadyQueue`` would drain it if every job started: the least used share first, within
a share the highest scheduling priority, then the oldest; jobs still waiting for a compute
environment join their share, after those already placed; jobs blocked by a
``MISCONFIGURATION:`` reason never dispatch and come last.

``earliestTimeAtPosition`` is when the job's position last could have changed: the later of the
time it became RUNNABLE and the last time a job of its queue left RUNNABLE (for a fair-share
queue also the last time one became RUNNABLE, since it may sort ahead). ``queueUtilization`` is
the vCPUs (``cpu`` for EKS) of the queue's jobs in STARTING or RUNNING, in total and for a
fair-share queue by share (the top 20).
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from aws_batch_local.capacity import job_vcpus
from aws_batch_local.jobs import RUNNABLE, RUNNING, STARTING, now_ms

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from aws_batch_local.jobs import BatchJob

#: How many jobs GetJobQueueSnapshot lists at most.
FRONT_OF_QUEUE_LIMIT = 100
#: How many shares ``fairshareUtilization.topCapacityUtilization`` lists at most.
TOP_SHARES = 20
_LATER = float("inf")


def fifo_order(placed: Iterable[BatchJob], waiting: Iterable[BatchJob], limit: int) -> list[BatchJob]:
    """Return the first ``limit`` jobs of a FIFO queue: placed ones, then those waiting for a CE."""
    order: list[BatchJob] = []
    for job in (*placed, *waiting):
        if len(order) >= limit:
            break
        if job.status == RUNNABLE:
            order.append(job)
    return order


def fair_share_order(
    placed: Iterable[tuple[float, BatchJob]],
    waiting: Iterable[BatchJob],
    usage: dict[str, float],
    weight_of: Callable[[str], float],
    limit: int,
) -> list[BatchJob]:
    """Return the first ``limit`` jobs a fair-share queue dispatches, if each one started.

    :param placed: (eligible_at, job) of the jobs in the queue's share heaps, in push order.
    :param waiting: jobs waiting for a compute environment, in the order they would be placed.
    :param usage: each share's usage so far (it grows by vCPUs times weight as a job starts).
    """
    shares: dict[str, list[tuple[int, float, int, BatchJob]]] = defaultdict(list)
    sequence = 0
    for eligible_at, job in placed:
        shares[job.share_identifier or ""].append(
            (-(job.scheduling_priority or 0), eligible_at, sequence, job)
        )
        sequence += 1
    blocked: list[BatchJob] = []
    for job in waiting:
        if job.status_reason:
            blocked.append(job)
            continue
        shares[job.share_identifier or ""].append((-(job.scheduling_priority or 0), _LATER, sequence, job))
        sequence += 1
    heads = {share: heapq.nsmallest(limit, entries) for share, entries in shares.items()}
    positions = dict.fromkeys(heads, 0)
    used = defaultdict(float, usage)
    order: list[BatchJob] = []
    while len(order) < limit:
        candidates = [
            (used[share], entries[positions[share]][2], share)
            for share, entries in heads.items()
            if positions[share] < len(entries)
        ]
        if not candidates:
            break
        _, _, share = min(candidates)
        job = heads[share][positions[share]][3]
        positions[share] += 1
        used[share] += job_vcpus(job) * weight_of(share)
        order.append(job)
    return (order + blocked)[:limit]


def utilization(jobs: Iterable[BatchJob], unit: str, fair_share: bool, at_ms: int) -> dict[str, Any]:
    """Return QueueSnapshotUtilizationDetail: the vCPUs of the dispatched jobs, by share if fair share."""
    total = 0.0
    by_share: dict[str, float] = defaultdict(float)
    for job in jobs:
        if job.status in (STARTING, RUNNING):
            vcpus = job_vcpus(job)
            total += vcpus
            by_share[job.share_identifier or ""] += vcpus
    detail: dict[str, Any] = {
        "totalCapacityUsage": [{"capacityUnit": unit, "quantity": total}],
        "lastUpdatedAt": at_ms,
    }
    if fair_share:
        top = sorted(by_share.items(), key=lambda item: (-item[1], item[0]))[:TOP_SHARES]
        detail["fairshareUtilization"] = {
            "activeShareCount": len(by_share),
            "topCapacityUtilization": [
                {"shareIdentifier": share, "capacityUsage": [{"capacityUnit": unit, "quantity": quantity}]}
                for share, quantity in top
            ],
        }
    return detail


def runnable_since_ms(job: BatchJob) -> int:
    """Return the epoch milliseconds at which a RUNNABLE job entered RUNNABLE."""
    return now_ms() - round((time.monotonic() - job.entered_status_at) * 1000)


def snapshot(order: list[BatchJob], moved_at_ms: int, utilization_detail: dict[str, Any]) -> dict[str, Any]:
    """Return the GetJobQueueSnapshot answer for jobs in dispatch order."""
    at = now_ms()
    return {
        "frontOfQueue": {
            "jobs": [
                {"jobArn": job.arn, "earliestTimeAtPosition": max(runnable_since_ms(job), moved_at_ms)}
                for job in order
            ],
            "lastUpdatedAt": at,
        },
        "queueUtilization": utilization_detail,
    }
