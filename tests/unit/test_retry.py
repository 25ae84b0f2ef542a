"""Throttling and transient faults are retried with backoff; ambiguous writes are reported."""

from __future__ import annotations

import asyncio
import json

import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from airflow_batch_plugin.hooks.retry import (
    BATCH_CONNECT_TIMEOUT,
    BATCH_READ_TIMEOUT,
    AmbiguousWriteError,
    Backoff,
    FaultRetry,
    async_call_with_retries,
    batch_client_config,
    call_with_retries,
    classify_fault,
    client_config,
    is_ambiguous,
    write_outcome,
)


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "boom"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "SubmitJob",
    )


class FlakyCall:
    """Fails with the given errors in order, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (client_error("TooManyRequestsException", 429), "throttle"),
        (client_error("ThrottlingException"), "throttle"),
        (client_error("SomethingElse", 429), "throttle"),
        (client_error("ServerException", 500), "transient"),
        (client_error("ServiceUnavailable", 503), "transient"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "transient"),
        (client_error("ClientException", 400), None),
        (ValueError("not AWS"), None),
    ],
)
def test_classify_fault(error, kind):
    assert classify_fault(error) == kind


def test_throttles_are_retried_until_success():
    sleeps: list[float] = []
    call = FlakyCall(*(client_error("TooManyRequestsException", 429) for _ in range(5)))
    assert call_with_retries(call, description="x", sleep=sleeps.append, repeatable=False) == "ok"
    assert call.calls == 6
    assert len(sleeps) == 5


def test_backoff_grows_with_jitter_and_is_capped():
    backoff = Backoff(base=1.0, cap=8.0)
    delays = [backoff.delay(attempt) for attempt in range(10) for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert max(backoff.delay(0) for _ in range(200)) <= 1.0
    assert len({round(d, 6) for d in delays}) > 100  # jittered, not a fixed schedule


def test_transient_fault_on_repeatable_call_is_retried():
    call = FlakyCall(client_error("ServerException", 500), EndpointConnectionError(endpoint_url="u"))
    assert call_with_retries(call, description="x", sleep=lambda _: None) == "ok"
    assert call.calls == 3


@pytest.mark.parametrize(
    "error",
    [
        client_error("ServerException", 500),
        client_error("ServiceUnavailableException", 503),
        ConnectionClosedError(endpoint_url="u"),
        ReadTimeoutError(endpoint_url="u"),
    ],
    ids=["500", "503", "reset", "timeout"],
)
def test_an_ambiguous_fault_on_a_write_is_reported_not_retried(error):
    call = FlakyCall(error)
    with pytest.raises(AmbiguousWriteError, match="transient fault") as raised:
        call_with_retries(call, description="SubmitJob x", repeatable=False, sleep=lambda _: None)
    assert call.calls == 1
    assert raised.value.__cause__ is error


def refused_connection() -> EndpointConnectionError:
    from urllib3.exceptions import NewConnectionError

    return EndpointConnectionError(endpoint_url="u", error=NewConnectionError(None, "refused"))


@pytest.mark.parametrize(
    "error", [refused_connection(), ConnectTimeoutError(endpoint_url="u")], ids=["refused", "connect-timeout"]
)
def test_a_write_that_could_not_connect_was_never_sent_and_is_sent_again(error):
    call = FlakyCall(error)
    assert call_with_retries(call, description="SubmitJob x", repeatable=False, sleep=lambda _: None) == "ok"
    assert call.calls == 2
    assert not is_ambiguous(error)


@pytest.mark.parametrize(
    ("error", "status", "outcome"),
    [
        (None, 200, "applied"),
        (None, 429, "refused"),
        (None, 400, "refused"),
        (None, 500, "ambiguous"),
        (None, 503, "ambiguous"),
        (client_error("TooManyRequestsException", 429), None, "refused"),
        (client_error("ClientException", 400), None, "refused"),
        (client_error("ServerException", 500), None, "ambiguous"),
        (ConnectionClosedError(endpoint_url="u"), None, "ambiguous"),
        (ReadTimeoutError(endpoint_url="u"), None, "ambiguous"),
        (EndpointConnectionError(endpoint_url="u"), None, "not sent"),
        (refused_connection(), None, "not sent"),
        (EndpointConnectionError(endpoint_url="u", error=ConnectionResetError("reset")), None, "ambiguous"),
        (ConnectTimeoutError(endpoint_url="u"), None, "not sent"),
    ],
)
def test_what_an_attempt_of_a_write_did(error, status, outcome):
    assert write_outcome(error, status) == outcome


def test_other_errors_are_not_retried():
    call = FlakyCall(client_error("ClientException", 400))
    with pytest.raises(ClientError):
        call_with_retries(call, description="x", sleep=lambda _: None)
    assert call.calls == 1


def test_gives_up_after_the_deadline():
    call = FlakyCall(*(client_error("ThrottlingException") for _ in range(100)))
    with pytest.raises(ClientError):
        call_with_retries(call, description="x", deadline=-1.0, sleep=lambda _: None)
    assert call.calls == 1


def test_client_config_turns_botocore_retries_off_unless_configured():
    assert client_config(Config()).retries == {"total_max_attempts": 1}
    configured = Config(retries={"mode": "adaptive", "max_attempts": 7})
    assert client_config(configured).retries == {"mode": "adaptive", "max_attempts": 7}


def test_the_batch_client_has_explicit_timeouts_and_retry_mode():
    config = batch_client_config(Config())
    assert (config.connect_timeout, config.read_timeout) == (BATCH_CONNECT_TIMEOUT, BATCH_READ_TIMEOUT)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_the_connection_overrides_each_batch_default_on_its_own():
    config = batch_client_config(Config(read_timeout=3, retries={"mode": "adaptive", "max_attempts": 4}))
    assert (config.connect_timeout, config.read_timeout) == (BATCH_CONNECT_TIMEOUT, 3)
    assert config.retries == {"mode": "adaptive", "max_attempts": 4}


def test_a_hook_takes_the_timeouts_from_the_connections_config_kwargs(monkeypatch):
    from airflow_batch_plugin.hooks.batch import RECONCILE_MARGIN, BatchHook

    extra = {"region_name": "us-east-1", "config_kwargs": {"connect_timeout": 4, "read_timeout": 7}}
    connection = {"conn_type": "aws", "login": "a", "password": "b", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    hook = BatchHook()
    config = hook.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (4, 7)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert hook.reconcile_window == 7 + RECONCILE_MARGIN
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT", json.dumps({**connection, "extra": {"region_name": "us-east-1"}})
    )
    assert BatchHook().reconcile_window == BATCH_READ_TIMEOUT + RECONCILE_MARGIN


def test_aiobotocores_connection_errors_are_told_apart():
    """aiobotocore raises EndpointConnectionError for a refused connection and for a reset alike."""
    from aiohttp import ClientConnectorError, ClientOSError
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey("h", 1, False, True, None, None, None)
    refused = EndpointConnectionError(
        endpoint_url="u", error=ClientConnectorError(key, OSError(111, "refused"))
    )
    reset = EndpointConnectionError(endpoint_url="u", error=ClientOSError(104, "Connection reset by peer"))
    assert write_outcome(refused) == "not sent"
    assert write_outcome(reset) == "ambiguous"


def test_one_schedule_classifies_backs_off_and_starts_over_after_a_success():
    clock = iter([0.0, 1.0, 2.0, 3.0, 4.0]).__next__
    retry = FaultRetry("DescribeJobs", backoff=Backoff(base=1.0, cap=3.0), deadline=None, clock=clock)
    throttle = client_error("ThrottlingException")
    delays = [retry.delay_after(throttle) for _ in range(3)]
    assert all(0 <= delay <= limit for delay, limit in zip(delays, (1.0, 2.0, 3.0), strict=True))
    assert retry.attempt == 3
    retry.succeeded()
    assert retry.attempt == 0
    assert retry.delay_after(ValueError("not AWS")) is None, "what retrying cannot cure is not retried"


def test_the_deadline_runs_on_the_injected_clock_from_the_last_success():
    now = [0.0]
    retry = FaultRetry("x", deadline=10.0, clock=lambda: now[0])
    throttle = client_error("ThrottlingException")
    now[0] = 10.0
    assert retry.delay_after(throttle) is not None
    now[0] = 10.5
    assert retry.delay_after(throttle) is None, "past the deadline: the caller raises"
    retry.succeeded()
    assert retry.delay_after(throttle) is not None


def test_the_async_flavour_sleeps_through_the_injected_sleep():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def flaky() -> str:
        return call()

    call = FlakyCall(client_error("TooManyRequestsException", 429), client_error("ServerException", 500))
    assert asyncio.run(async_call_with_retries(flaky, description="x", sleep=sleep)) == "ok"
    assert call.calls == 3
    assert len(slept) == 2
