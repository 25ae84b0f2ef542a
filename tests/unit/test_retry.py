"""Throttling and transient faults are retried with backoff; ambiguous writes are reported."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from airflow_batch_plugin.hooks.retry import (
    AmbiguousWriteError,
    Backoff,
    call_with_retries,
    classify_fault,
    client_config,
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


def test_transient_fault_on_a_write_is_reported_as_ambiguous():
    call = FlakyCall(client_error("ServerException", 500))
    with pytest.raises(AmbiguousWriteError, match="transient fault"):
        call_with_retries(call, description="SubmitJob x", repeatable=False, sleep=lambda _: None)
    assert call.calls == 1


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
    from botocore.config import Config

    assert client_config(Config()).retries == {"total_max_attempts": 1}
    configured = Config(retries={"mode": "adaptive", "max_attempts": 7})
    assert client_config(configured).retries == {"mode": "adaptive", "max_attempts": 7}
