"""What became of every HTTP attempt of a write: the record the hook reads after a lost answer.

botocore announces each attempt's outcome (``response-received``), whoever retries: the hook's
own loop or botocore's retries when a connection configures them. :class:`WriteJournal` keeps
those of the write operations it watches, per thread, while a :meth:`WriteJournal.recording`
block runs; the hook then knows how many requests may have created something (applied or
ambiguous) and when the last ambiguous one failed.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.hooks.retry import short_error, write_outcome

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from airflow_batch_plugin.hooks.retry import WriteOutcome


@dataclass(frozen=True)
class WriteAttempt:
    """One HTTP attempt of a write: its operation, outcome, when it ended, and what it got."""

    operation: str
    outcome: WriteOutcome
    #: ``time.monotonic()`` when botocore had the outcome (the client saw the answer or the failure).
    at: float
    #: The error in one line (``ServiceUnavailableException (HTTP 503)``, ``ReadTimeoutError: ...``).
    detail: str

    @property
    def may_have_landed(self) -> bool:
        """Whether AWS may have acted on this attempt (it did, or it may have, or may still)."""
        return self.outcome in ("applied", "ambiguous")


def landed_count(attempts: Iterable[WriteAttempt]) -> int:
    """How many of ``attempts`` may have created something on AWS."""
    return sum(1 for attempt in attempts if attempt.may_have_landed)


def lost_answers(attempts: Iterable[WriteAttempt]) -> list[WriteAttempt]:
    """The ambiguous attempts: those whose answer was lost (5xx, closed connection, timeout)."""
    return [attempt for attempt in attempts if attempt.outcome == "ambiguous"]


def describe_losses(attempts: Iterable[WriteAttempt]) -> str:
    """Say in a few words what was lost: ``ServiceUnavailableException: ...; ReadTimeoutError: ...``."""
    return "; ".join(dict.fromkeys(attempt.detail for attempt in lost_answers(attempts))) or "nothing"


class WriteJournal:
    """Record the outcome of every attempt of ``operations`` a botocore client sends, per thread.

    :param operations: the write operations to watch (``SubmitJob``, ``RegisterJobDefinition``...).
    :param clock: where ``at`` comes from (``time.monotonic``).
    """

    def __init__(self, operations: Iterable[str], *, clock: Any = time.monotonic) -> None:
        self.operations = tuple(operations)
        self._clock = clock
        self._local = threading.local()

    def attach(self, client: Any) -> None:
        """Listen to ``client``'s attempts of the watched operations."""
        service = client.meta.service_model.service_id.hyphenize()
        for operation in self.operations:
            client.meta.events.register(f"response-received.{service}.{operation}", self._record)

    @contextmanager
    def recording(self) -> Iterator[list[WriteAttempt]]:
        """Collect this thread's attempts into the yielded list for the block (blocks may nest)."""
        attempts: list[WriteAttempt] = []
        stack: list[list[WriteAttempt]] = self._stack()
        stack.append(attempts)
        try:
            yield attempts
        finally:
            stack.remove(attempts)

    def _stack(self) -> list[list[WriteAttempt]]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _record(
        self,
        event_name: str = "",
        exception: BaseException | None = None,
        response_dict: dict[str, Any] | None = None,
        parsed_response: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        stack = self._stack()
        if not stack:
            return
        status = (response_dict or {}).get("status_code")
        outcome = write_outcome(exception, status)
        detail = short_error(exception) if exception is not None else f"HTTP {status}"
        if exception is None and outcome != "applied":
            code = ((parsed_response or {}).get("Error") or {}).get("Code")
            detail = f"{code} (HTTP {status})" if code else f"HTTP {status}"
        attempt = WriteAttempt(event_name.rpartition(".")[2], outcome, self._clock(), detail)
        for attempts in stack:
            attempts.append(attempt)
