"""Retry AWS calls through throttling and transient faults, with jittered exponential backoff.

AWS throttles Batch APIs per account (about 50 TPS shared by every client) and CloudWatch Logs
reads even harder. A throttle or a passing 5xx must never fail a task by itself, so every hook
call goes through :func:`call_with_retries`. botocore's own retries are switched off for our
clients (see :func:`client_config` and :func:`batch_client_config`) so that one place decides,
and so that a write that may or may not have reached AWS is never blindly sent twice.

A failed write is one of three things (:func:`write_outcome`): refused (a throttle or another 4xx:
AWS answered, nothing was done), never sent (no connection could be made), or ambiguous (a 5xx, a
connection closed or reset, a read timeout: AWS may have acted on it, or may still). Only the
ambiguous ones make the caller look before it writes again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from dataclasses import dataclass
from functools import cache
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
#: Connection errors that may be raised before any byte of the request left (see :func:`never_sent`).
NOT_SENT_ERRORS = (EndpointConnectionError, ConnectTimeoutError)

FaultKind = Literal["throttle", "transient"]
#: What became of one attempt of a write (see :func:`write_outcome`).
WriteOutcome = Literal["applied", "refused", "not sent", "ambiguous"]

#: The Batch client's defaults (a connection's ``config_kwargs`` overrides each of them): a short
#: connect timeout (a request that cannot connect was never sent, and is sent again at once); a
#: read timeout well above Batch's answer times, which bounds how long a write may stay
#: unanswered, and so sets the hook's lookup window for lost writes
#: (:data:`~airflow_batch_plugin.hooks.batch.RECONCILE_MARGIN`); botocore's standard retry mode
#: with a single attempt, since the hook retries itself and looks before it sends a write again.
BATCH_CONNECT_TIMEOUT = 10.0
BATCH_READ_TIMEOUT = 20.0
BATCH_RETRY_MODE: Literal["standard"] = "standard"
BATCH_TOTAL_MAX_ATTEMPTS = 1


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


def never_sent(error: BaseException) -> bool:
    """Tell whether ``error`` proves the request never left: no connection could be made.

    A connect timeout, or an ``EndpointConnectionError`` raised while connecting (botocore raises
    it for urllib3's ``NewConnectionError`` and DNS failures). aiobotocore raises it for any
    aiohttp connection error too, a connection reset while the answer was awaited included:
    that one may have reached AWS.
    """
    if isinstance(error, ConnectTimeoutError):
        return True
    if not isinstance(error, EndpointConnectionError):
        return False
    cause = getattr(error, "kwargs", {}).get("error")
    return cause is None or isinstance(cause, _connect_phase_errors())


@cache
def _connect_phase_errors() -> tuple[type[BaseException], ...]:
    from aiohttp import ClientConnectorError
    from urllib3.exceptions import NewConnectionError

    return (NewConnectionError, socket.gaierror, ClientConnectorError)


def is_ambiguous(error: BaseException) -> bool:
    """Tell whether a failed write may have reached AWS: a 5xx, a closed connection, a read timeout."""
    return classify_fault(error) == "transient" and not never_sent(error)


def write_outcome(error: BaseException | None, status: int | None = None) -> WriteOutcome:
    """Say what one attempt of a write did: ``error`` is what it raised, ``status`` its HTTP status.

    ``applied``: AWS answered with success. ``refused``: AWS answered with a 4xx (throttles
    included), so nothing was done. ``not sent``: no connection could be made. ``ambiguous``: a
    5xx, a connection closed before the answer, a read timeout: AWS may have done it, or may
    still do it a moment later.
    """
    if error is None:
        if status is None or status < 400:
            return "applied"
        return "ambiguous" if status >= 500 else "refused"
    if never_sent(error):
        return "not sent"
    if isinstance(error, ClientError):
        return "ambiguous" if is_ambiguous(error) else "refused"
    return "ambiguous" if isinstance(error, CONNECTION_ERRORS) else "refused"


class FaultRetry:
    """Decide, fault by fault, whether one caller retries and after how long: the one schedule.

    Every retry loop of the plugin (the hook's sync and async calls, the shared async poller, the
    resource triggers) asks this after a fault: :meth:`delay_after` classifies the error
    (:func:`classify_fault`), refuses what retrying will not cure, and gives the next jittered
    delay (``backoff``); the caller sleeps with its own sleep (blocking or awaited). A success
    ends the run of faults (:meth:`succeeded`), so the next fault starts from a short delay.

    :param description: what is retried, for the log (``SubmitJob my-job``).
    :param repeatable: whether a transient fault may be sent again; when False, an ambiguous one
        raises :class:`AmbiguousWriteError` so the caller looks before it writes again.
    :param backoff: the delays (default: :data:`DEFAULT_BACKOFF`).
    :param deadline: seconds from the start (or the last success) after which a fault is not
        retried; None retries for ever (a poller that must never fail a wait for a throttle).
    :param clock: monotonic seconds (tests inject their own).
    """

    def __init__(
        self,
        description: str,
        *,
        repeatable: bool = True,
        backoff: Backoff = DEFAULT_BACKOFF,
        deadline: float | None = DEFAULT_DEADLINE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.description = description
        self.repeatable = repeatable
        self.backoff = backoff
        self.deadline = deadline
        self._clock = clock
        self.attempt = 0
        self._since = clock()

    def delay_after(self, error: BaseException) -> float | None:
        """Return how long to wait before trying again after ``error``, or None: do not retry."""
        kind = classify_fault(error)
        if kind is None:
            return None
        if kind == "transient" and not self.repeatable and is_ambiguous(error):
            raise AmbiguousWriteError(
                f"{self.description} failed with a transient fault: {short_error(error)}"
            ) from error
        if self.deadline is not None and self._clock() - self._since > self.deadline:
            return None
        wait = self.backoff.delay(self.attempt)
        self.attempt += 1
        log.warning("%s: %s (%s); retrying in %.1fs", self.description, kind, short_error(error), wait)
        return wait

    def succeeded(self) -> None:
        """End the run of faults: the next fault waits the shortest delay again."""
        self.attempt = 0
        self._since = self._clock()


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

    A throttled request was refused by AWS, and a request that could not connect was never sent:
    both are always safe to send again. Any other transient fault (5xx, connection closed or
    reset, read timeout) on a write that is not ``repeatable`` may have been applied, or may
    still be: it raises :class:`AmbiguousWriteError` so the caller can look before it writes again.
    The schedule is :class:`FaultRetry`'s.
    """
    retry = FaultRetry(description, repeatable=repeatable, backoff=backoff, deadline=deadline)
    while True:
        try:
            return call()
        except Exception as error:
            wait = retry.delay_after(error)
            if wait is None:
                raise
        sleep(wait)


async def async_call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    description: str,
    backoff: Backoff = DEFAULT_BACKOFF,
    deadline: float = DEFAULT_DEADLINE,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Await ``call``, retrying throttles and transient faults; the async twin of :func:`call_with_retries`.

    Only for calls that are safe to send twice (reads, TerminateJob): a transient fault is retried.
    """
    retry = FaultRetry(description, backoff=backoff, deadline=deadline)
    while True:
        try:
            return await call()
        except Exception as error:
            wait = retry.delay_after(error)
            if wait is None:
                raise
        await sleep(wait)


def client_config(config: Config) -> Config:
    """Turn botocore's own retries off unless the connection configured them explicitly."""
    if getattr(config, "retries", None):
        return config
    return config.merge(Config(retries={"total_max_attempts": 1}))


def batch_client_config(config: Config) -> Config:
    """Give the Batch client explicit timeouts and retry mode, each unless the connection set it.

    The defaults are :data:`BATCH_CONNECT_TIMEOUT`, :data:`BATCH_READ_TIMEOUT` and
    :data:`BATCH_RETRY_MODE` with :data:`BATCH_TOTAL_MAX_ATTEMPTS`; whatever the connection's
    ``config_kwargs`` (or the hook's own config) gives explicitly wins, option by option.
    """
    defaults = Config(
        connect_timeout=BATCH_CONNECT_TIMEOUT,
        read_timeout=BATCH_READ_TIMEOUT,
        retries={"mode": BATCH_RETRY_MODE, "total_max_attempts": BATCH_TOTAL_MAX_ATTEMPTS},
    )
    return defaults.merge(config)


def short_error(error: BaseException) -> str:
    """Describe an AWS error in one line: its code and message."""
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', '?')}: {err.get('Message', '')}"
    return f"{type(error).__name__}: {error}"
