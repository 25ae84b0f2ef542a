"""Client-side pacing: one token bucket per process, API and (account or endpoint, region).

AWS throttles SubmitJob at about 50 TPS per account and CloudWatch Logs' GetLogEvents far lower;
a fan-out of many tasks in one worker or triggerer process would otherwise throttle itself and
spend its time backing off. Every SubmitJob and GetLogEvents the hooks send first takes a token
from the bucket of its API, account (or connection endpoint) and region, shared by every hook
of the process. Rates come from ``[aws_batch] submit_job_rate`` (default 50) and
``[aws_batch] get_log_events_rate`` (default 10), calls per second; 0 turns pacing off. A bucket
holds at most one second's worth of tokens (its burst).

The bucket is a GCRA ("virtual scheduling"): each caller reserves the next free slot under a
lock and sleeps until it, so waiters are served in order and never spin.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook

CONFIG_SECTION = "aws_batch"
#: The paced APIs and their ``[aws_batch]`` option and default rate (calls per second).
PacedApi = Literal["SubmitJob", "GetLogEvents"]
RATE_OPTIONS: dict[PacedApi, tuple[str, float]] = {
    "SubmitJob": ("submit_job_rate", 50.0),
    "GetLogEvents": ("get_log_events_rate", 10.0),
}
#: Waits shorter than this are rounding errors of the float arithmetic, not waits.
EPSILON = 1e-9
#: (API, account id or endpoint URL or None, region): one bucket each per process.
PacingKey = tuple[str, str | None, str | None]


class TokenBucket:
    """Allow ``rate`` calls per second on average and ``burst`` at once; thread-safe.

    :param rate: tokens added per second (must be positive).
    :param burst: most tokens held at once (default: one second's worth, at least 1).
    :param clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self, rate: float, burst: float | None = None, *, clock: Callable[[], float] = time.monotonic
    ):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.rate = float(rate)
        self.burst = max(1.0, float(burst if burst is not None else math.ceil(rate)))
        self._interval = 1.0 / self.rate
        self._tolerance = (self.burst - 1.0) * self._interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next_free: float | None = None  # when the bucket is empty again if nobody calls

    def reserve(self) -> float:
        """Take the next token; return how many seconds to wait before using it (0: now)."""
        with self._lock:
            now = self._clock()
            due = now if self._next_free is None else max(self._next_free, now)
            self._next_free = due + self._interval
            wait = due - self._tolerance - now
            return wait if wait > EPSILON else 0.0

    def try_acquire(self) -> bool:
        """Take a token only if one is there now; never wait."""
        with self._lock:
            now = self._clock()
            due = now if self._next_free is None else max(self._next_free, now)
            if due - self._tolerance - now > EPSILON:
                return False
            self._next_free = due + self._interval
            return True

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> float:
        """Wait for a token (blocking); return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            sleep(wait)
        return wait

    async def acquire_async(self) -> float:
        """Wait for a token without blocking the event loop; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)
        return wait


_BUCKETS: dict[PacingKey, TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def configured_rate(api: PacedApi) -> float:
    """Return the configured rate of ``api`` (calls per second; 0 or less: no pacing)."""
    from airflow.providers.common.compat.sdk import conf

    option, default = RATE_OPTIONS[api]
    return float(conf.getfloat(CONFIG_SECTION, option, fallback=default))


def shared_bucket(api: PacedApi, identity: str | None, region: str | None) -> TokenBucket | None:
    """Return this process's bucket for ``api`` on (identity, region); None when pacing is off."""
    key: PacingKey = (api, identity, region)
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(key)
        if bucket is None:
            rate = configured_rate(api)
            if rate <= 0:
                return None
            bucket = _BUCKETS[key] = TokenBucket(rate)
        return bucket


def hook_bucket(hook: AwsGenericHook, api: PacedApi, service: str) -> TokenBucket | None:
    """Return the bucket a hook's calls of ``api`` share (keyed by account or endpoint, region).

    The account is read from the connection's ``role_arn`` when it has one; otherwise the
    endpoint URL (the emulator, a VPC endpoint) stands for it, and connections to AWS's own
    endpoints without a role share one bucket per region (pacing too much rather than too little).
    """
    config = hook.conn_config
    identity = account_of(config.role_arn) or config.get_service_endpoint_url(service_name=service)
    return shared_bucket(api, identity, hook.region_name)


def account_of(role_arn: str | None) -> str | None:
    """Return the account id of an IAM role ARN (``arn:aws:iam::123456789012:role/x``), or None."""
    parts = (role_arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def reset_buckets() -> None:
    """Forget every bucket (tests; a changed rate takes effect for buckets made afterwards)."""
    with _BUCKETS_LOCK:
        _BUCKETS.clear()
