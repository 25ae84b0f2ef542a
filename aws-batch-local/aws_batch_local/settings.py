"""How an emulator runs jobs and settles resources: one ``EmulatorSettings`` per server."""

from __future__ import annotations

from dataclasses import dataclass

DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"
#: Compute environments and job queues take this many job steps to settle after each change.
INFRASTRUCTURE_STEP_FACTOR = 2
#: AWS's bounds for a job queue's jobStateTimeLimitActions[].maxTimeSeconds.
AWS_MIN_TIME_LIMIT_SECONDS = 600
MAX_TIME_LIMIT_SECONDS = 86_400


@dataclass(frozen=True)
class EmulatorSettings:
    """How jobs run: concurrency, pacing of status steps, and where jobs find the emulator.

    :param max_running: most job processes running at once; further jobs wait in RUNNABLE.
    :param step_seconds: least time a job spends in each status, so every step is observable.
    :param endpoint_url: the emulator's own URL, handed to jobs as ``AWS_ENDPOINT_URL``.
    :param region: the region handed to jobs as ``AWS_REGION``/``AWS_DEFAULT_REGION``.
    :param kill_grace_seconds: time between SIGTERM and SIGKILL when a job is stopped.
    :param deleted_visible_seconds: how long a deleted compute environment or job queue stays
        visible with status DELETED before it disappears from Describe* (AWS keeps them a while).
    :param min_time_limit_seconds: least ``maxTimeSeconds`` a job queue's
        ``jobStateTimeLimitActions`` accept; AWS's minimum is 600, the emulator allows shorter
        times so tests and demos can see the action happen.
    """

    max_running: int = 16
    step_seconds: float = 0.2
    endpoint_url: str | None = None
    region: str = "us-east-1"
    kill_grace_seconds: float = 5.0
    deleted_visible_seconds: float = 2.0
    min_time_limit_seconds: int = 1

    @property
    def infrastructure_seconds(self) -> float:
        """Return how long a compute environment or job queue stays CREATING, UPDATING or DELETING."""
        return self.step_seconds * INFRASTRUCTURE_STEP_FACTOR

    def __post_init__(self) -> None:
        if self.max_running < 1:
            raise ValueError(f"max_running must be at least 1, got {self.max_running}")
        if self.step_seconds < 0:
            raise ValueError(f"step_seconds must not be negative, got {self.step_seconds}")
        if self.deleted_visible_seconds < 0:
            raise ValueError(
                f"deleted_visible_seconds must not be negative, got {self.deleted_visible_seconds}"
            )
        if not 1 <= self.min_time_limit_seconds <= MAX_TIME_LIMIT_SECONDS:
            raise ValueError(
                f"min_time_limit_seconds must be between 1 and {MAX_TIME_LIMIT_SECONDS}, "
                f"got {self.min_time_limit_seconds}"
            )
