"""A per-second call limit for the fault proxy's ``limit=N`` rule (what AWS's throttling does)."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class RateLimit:
    """Admit ``rate`` calls a second on average and up to one second's worth at once; thread-safe.

    :param rate: calls admitted per second (positive).
    :param clock: monotonic seconds (injectable for tests).
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self._capacity = max(1.0, float(math.ceil(rate)))
        self._rate = float(rate)
        self._tokens = self._capacity
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Take one call's token if there is one now; never wait."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True
