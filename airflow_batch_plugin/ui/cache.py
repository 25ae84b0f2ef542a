"""A small time-bounded cache so a page view costs a bounded number of AWS calls.

Every answer the monitoring view reads from AWS is kept ``ttl`` seconds per key (connection,
region, what). Concurrent requests for the same missing key wait for one computation instead of
all calling AWS (single flight). Entries are dropped when they expire or when the cache holds
more than ``max_entries``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable


class TtlCache:
    """Remember computed values for ``ttl`` seconds.

    :param ttl: seconds a value stays fresh.
    :param max_entries: how many keys are kept at most (the oldest go first).
    """

    def __init__(
        self, ttl: float = 15.0, max_entries: int = 512, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl < 0:
            raise ValueError(f"ttl must be 0 or more seconds, got {ttl!r}")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._values: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        #: How many values were computed (cache misses) and served from the cache (hits).
        self.misses = 0
        self.hits = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Return the fresh value of ``key``, computing it (once, however many ask) when needed."""
        value = self._fresh(key)
        if value is not _MISSING:
            return value
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            value = self._fresh(key)  # another request may have computed it meanwhile
            if value is not _MISSING:
                return value
            value = compute()
            with self._guard:
                self.misses += 1
                self._values[key] = (self._clock() + self.ttl, value)
                self._values.move_to_end(key)
                while len(self._values) > self.max_entries:
                    old, _ = self._values.popitem(last=False)
                    self._locks.pop(old, None)
            return value

    def clear(self) -> None:
        """Forget every value."""
        with self._guard:
            self._values.clear()

    def _fresh(self, key: Hashable) -> Any:
        with self._guard:
            entry = self._values.get(key)
            if entry is None:
                return _MISSING
            expires, value = entry
            if self._clock() >= expires:
                del self._values[key]
                return _MISSING
            self.hits += 1
            return value


_MISSING = object()
