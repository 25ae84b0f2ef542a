"""The one stuck-RUNNABLE clock: how long a job has waited RUNNABLE, and when that is too long.

The sync wait (:class:`~airflow_batch_plugin.monitor.JobMonitor`) and the trigger
(:class:`~airflow_batch_plugin.triggers.job.BatchJobTrigger`) both feed it each description
they see; the trigger also asks how long it may sleep before the limit runs out.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.job_state import runnable_too_long, stuck_reason

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


class RunnableClock:
    """Count the seconds a job has stayed RUNNABLE, from the first description that said so.

    A job that leaves RUNNABLE stops the count; coming back starts it again from zero.

    :param max_seconds: how long a job may stay RUNNABLE (None: for ever; AWS's
        ``MISCONFIGURATION:`` reasons still count as stuck).
    :param clock: monotonic seconds (tests inject their own).
    """

    def __init__(self, max_seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_seconds = max_seconds
        self._clock = clock
        self._since: float | None = None

    def observe(self, job: Mapping[str, Any]) -> str | None:
        """Take one description; return why the job can never start, or None."""
        if job.get("status") != "RUNNABLE":
            self._since = None
            return None
        reason = stuck_reason(job)
        if reason is not None:
            return reason
        if self._since is None:
            self._since = self._clock()
        return self.expired()

    def seconds_left(self) -> float | None:
        """Return the seconds until the limit runs out (0 at the latest), or None: no limit runs."""
        if self._since is None or self.max_seconds is None:
            return None
        return max(0.0, self._since + self.max_seconds - self._clock())

    def expired(self) -> str | None:
        """Return the too-long reason once the job has been RUNNABLE longer than the limit."""
        if self._since is None or self.max_seconds is None:
            return None
        if self._clock() - self._since > self.max_seconds:
            return runnable_too_long(self.max_seconds)
        return None
