"""moto's in-process AWS for tests that run the emulator inside the test process."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from moto import mock_aws

if TYPE_CHECKING:
    from collections.abc import Iterator


def stop_schedulers() -> None:
    """Stop the emulator's scheduler of every Batch backend moto holds (and their job processes)."""
    from moto.batch import batch_backends

    from aws_batch_local.scheduler import existing_scheduler

    for account in list(batch_backends.values()):
        for backend in list(account.values()):
            scheduler = existing_scheduler(backend)
            if scheduler is not None:
                scheduler.shutdown()


@contextlib.contextmanager
def emulated_aws() -> Iterator[None]:
    """``mock_aws()``, stopping the emulator's schedulers before moto resets its backends.

    moto resets every backend while holding its backend lock, and resetting a Batch backend stops
    its scheduler, which waits for the scheduler's own lock: a scheduler thread in the middle of a
    step that reads another backend (CloudWatch Logs, as a job starts) waits for moto's lock, and
    neither ever gets it. Stopped here first, outside moto's lock, the schedulers are gone by then.
    """
    with mock_aws():
        try:
            yield
        finally:
            stop_schedulers()
