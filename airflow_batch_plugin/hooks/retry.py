"""Retry AWS calls through throttling and transient faults, with jittered exponential backoff.

AWS throttles Batch APIs per account (about 50 TPS shared by every client) and CloudWatch Logs
reads even harder. A throttle or a passing 5xx must never fail a task by itself, so every hook
call goes through :func:`call_with_retries`. botocore's own retries are switched off for our
clients (see :func:`client_config`) so that one place decides, and so that a write that may or
may not have reached AWS is never blindly sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

T = TypeVar("T")

THROTTLE_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "ServerException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
CONNECTION_ERRORS = (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError)

FaultKind = Literal["throttle", "transient"]


def classify_fault(error: BaseException) -> FaultKind | None:
    """Tell whether ``error`` is a throttle, a transient fault worth retrying, or neither."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in THROTTLE_CODES or status == 429:
            return "throttle"
        if code in TRANSIENT_CODES or status >= 500:
            return "transient"
        return None
    if isinstance(error, CONNECTION_ERRORS):
        return "transient"
    return None


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff: attempt n waits uniform(0, min(cap, base * 2**n)) seconds."""

    base: float = 0.5
    cap: float = 20.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * (2 ** min(attempt, 30))))


DEFAULT_BACKOFF = Backoff()
#: How long one call keeps retrying through faults before it gives up (seconds).
DEFAULT_DEADLINE = 900.0


class AmbiguousWriteError(RuntimeError):
    """A write failed in a way that leaves unknown whether AWS applied it."""


def call_with_retries(
    call: Callable[[], T],
    *,
    description: str,
    repeatable: bool = True,
    backoff: Backoff = DEFAULT_BACKOFF,
    deadline: float = DEFAULT_DEADLINE,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call``, retrying throttles (always) and transient faults (when ``repeatable``).

    A throttled request was refused by AWS, so it is always safe to send again. A transient fault
    (5xx, connection reset) on a write that is not ``repeatable`` may have been applied: it raises
    :class:`AmbiguousWriteError` so the caller can look before it writes again.
    """
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            kind = classify_fault(error)
            if kind is None:
                raise
            if kind == "transient" and not repeatable:
                raise AmbiguousWriteError(f"{description} failed with a transient fault: {error}") from error
            if time.monotonic() - started > deadline:
                raise
            wait = backoff.delay(attempt)
            attempt += 1
            log.warning("%s: %s (%s); retrying in %.1fs", description, kind, short_error(error), wait)
            sleep(wait)


async def async_call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    description: str,
    backoff: Backoff = DEFAULT_BACKOFF,
    deadline: float = DEFAULT_DEADLINE,
) -> T:
    """Await ``call``, retrying throttles and transient faults; the async twin of :func:`call_with_retries`.

    Only for calls that are safe to send twice (reads, TerminateJob): a transient fault is retried.
    """
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as error:
            kind = classify_fault(error)
            if kind is None or time.monotonic() - started > deadline:
                raise
            wait = backoff.delay(attempt)
            attempt += 1
            log.warning("%s: %s (%s); retrying in %.1fs", description, kind, short_error(error), wait)
            await asyncio.sleep(wait)


def client_config(config: Config) -> Config:
    """Turn botocore's own retries off unless the connection configured them explicitly."""
    if getattr(config, "retries", None):
        return config
    return config.merge(Config(retries={"total_max_attempts": 1}))


def short_error(error: BaseException) -> str:
    """Describe an AWS error in one line: its code and message."""
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', '?')}: {err.get('Message', '')}"
    return f"{type(error).__name__}: {error}"
