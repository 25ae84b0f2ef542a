"""An asyncio event loop on virtual time: timers fire at once, in order, and no test waits for real.

``asyncio.sleep(5)`` in a coroutine on this loop returns as soon as nothing else is ready, with
``loop.time()`` five seconds later. Code whose clock is its event loop's (the shared poller's
default, the trigger's RUNNABLE clock) then runs its schedule exactly, however busy the machine.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Coroutine


class _JumpingSelector(selectors.DefaultSelector):
    """A selector that never blocks: instead of waiting ``timeout`` seconds it moves the clock."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # no timer at all: only another thread can wake the loop, so wait
            return super().select(None)
        ready = super().select(0)
        if not ready and timeout > 0 and self.loop is not None:
            self.loop.now += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` advances only by the timeouts it would have waited."""

    def __init__(self) -> None:
        self.now = 0.0
        selector = _JumpingSelector()
        super().__init__(selector)
        selector.loop = self

    def time(self) -> float:
        return self.now


def run_in_virtual_time(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to its end on a :class:`VirtualTimeLoop`; return its result."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coroutine)
