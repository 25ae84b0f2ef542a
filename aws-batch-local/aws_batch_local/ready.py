"""The RUNNABLE jobs of one job queue that wait for a slot, in the order the queue dispatches them.

A queue without a scheduling policy is first in, first out. A fair-share queue (one with a
scheduling policy) picks the share identifier with the least usage so far, where usage is the
vCPUs its jobs started times the share's ``weightFactor`` (so a lower weight gets more), and
within a share the job with the highest scheduling priority, then the oldest. AWS also decays
usage over ``shareDecaySeconds`` and reserves ``computeReservation`` for idle shares; the
emulator does neither.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any

from aws_batch_local.jobs import RUNNABLE

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_batch_local.jobs import BatchJob

_sequence = itertools.count()


class ReadyQueue:
    """First in, first out; ``head`` skips entries whose job left RUNNABLE or was queued again."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self._entries: deque[tuple[float, int, BatchJob]] = deque()

    def push(self, eligible_at: float, job: BatchJob) -> None:
        """Queue ``job``, which may start from ``eligible_at`` (monotonic seconds) on."""
        job.ready_seq = next(_sequence)
        self._entries.append((eligible_at, job.ready_seq, job))

    def head(self, now: float) -> tuple[float, BatchJob] | None:
        """Return (eligible_at, job) of the job to start next, or None when none waits."""
        while self._entries:
            eligible_at, seq, job = self._entries[0]
            if _is_current(job, seq):
                return eligible_at, job
            self._entries.popleft()
        return None

    def pop_head(self, started: bool) -> None:
        """Remove the job ``head`` returned; ``started`` says whether it got a slot."""
        self._entries.popleft()

    def next_eligible(self, now: float) -> float | None:
        """Return when the next job becomes eligible, if that is after ``now``."""
        entry = self.head(now)
        return entry[0] if entry is not None and entry[0] > now else None

    def placed(self) -> list[tuple[float, BatchJob]]:
        """Return (eligible_at, job) of every job still waiting here, in the order they were queued."""
        return [(eligible_at, job) for eligible_at, seq, job in self._entries if _is_current(job, seq)]


class FairShareReadyQueue(ReadyQueue):
    """One heap per share identifier; the least used share goes first.

    :param weight_of: the current ``weightFactor`` of a share identifier.
    :param vcpus_of: the vCPUs a job uses, counted into its share's usage when it starts.
    """

    def __init__(
        self, queue: Any, weight_of: Callable[[str], float], vcpus_of: Callable[[BatchJob], float]
    ) -> None:
        super().__init__(queue)
        self._weight_of = weight_of
        self._vcpus_of = vcpus_of
        self._shares: dict[str, list[tuple[int, float, int, BatchJob]]] = defaultdict(list)
        self._usage: dict[str, float] = defaultdict(float)
        self._chosen: str | None = None

    def push(self, eligible_at: float, job: BatchJob) -> None:
        """Queue ``job`` under its share identifier, ordered by scheduling priority then age."""
        job.ready_seq = next(_sequence)
        share = job.share_identifier or ""
        heapq.heappush(
            self._shares[share], (-(job.scheduling_priority or 0), eligible_at, job.ready_seq, job)
        )

    def head(self, now: float) -> tuple[float, BatchJob] | None:
        """Return the head of the least used share whose head is eligible (else the soonest one)."""
        best: tuple[tuple[Any, ...], str] | None = None
        for share, heap in self._shares.items():
            while heap and not _is_current(heap[0][3], heap[0][2]):
                heapq.heappop(heap)
            if not heap:
                continue
            _, eligible_at, seq, _ = heap[0]
            waiting = eligible_at > now
            key = (waiting, eligible_at if waiting else self._usage[share], seq)
            if best is None or key < best[0]:
                best = (key, share)
        if best is None:
            self._chosen = None
            return None
        self._chosen = best[1]
        _, eligible_at, _, job = self._shares[best[1]][0]
        return eligible_at, job

    @property
    def usage(self) -> dict[str, float]:
        """Return each share's usage so far (a copy)."""
        return dict(self._usage)

    def weight_of(self, share: str) -> float:
        """Return the current ``weightFactor`` of a share identifier."""
        return self._weight_of(share)

    def placed(self) -> list[tuple[float, BatchJob]]:
        """Return (eligible_at, job) of every job still waiting here, in the order they were queued."""
        entries = [
            entry for heap in self._shares.values() for entry in heap if _is_current(entry[3], entry[2])
        ]
        entries.sort(key=lambda entry: entry[2])
        return [(eligible_at, job) for _, eligible_at, _, job in entries]

    def pop_head(self, started: bool) -> None:
        """Remove the chosen head; a started job adds its vCPUs times the share's weight to usage."""
        share = self._chosen
        if share is None:
            return
        *_, job = heapq.heappop(self._shares[share])
        if started:
            self._usage[share] += self._vcpus_of(job) * self._weight_of(share)


def _is_current(job: BatchJob, seq: int) -> bool:
    return job.status == RUNNABLE and job.ready_seq == seq
