"""Client-side pacing: token buckets hold their rate, are shared per process, and the hooks use them."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

import pytest

from airflow_batch_plugin.hooks import pacing
from airflow_batch_plugin.hooks.pacing import TokenBucket, account_of, shared_bucket

if TYPE_CHECKING:
    from collections.abc import Iterator


class FakeClock:
    """A clock that moves only when told to (``sleep`` advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def fresh_buckets() -> Iterator[None]:
    pacing.reset_buckets()
    yield
    pacing.reset_buckets()


def max_in_window(times: list[float], window: float) -> int:
    """The most calls in any half-open window ``[t, t + window)``, for sorted call times."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window - 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


class AwsLikeLimit:
    """The server side: refuse a call above ``rate`` per second with ``burst`` (as AWS's limit does)."""

    def __init__(self, rate: float, burst: float, clock: FakeClock) -> None:
        self.bucket = TokenBucket(rate, burst, clock=clock)
        self.throttled = 0

    def call(self) -> None:
        if not self.bucket.try_acquire():
            self.throttled += 1


def test_a_burst_passes_then_calls_are_spaced_by_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    waits = [bucket.reserve() for _ in range(15)]
    assert waits[:10] == [0.0] * 10
    assert waits[10:] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])


def test_sequential_callers_hold_the_rate_over_a_long_run():
    clock = FakeClock()
    bucket = TokenBucket(50, clock=clock)
    times = []
    for _ in range(1000):
        bucket.acquire(sleep=clock.sleep)
        times.append(clock.now)
    assert max_in_window(times, 1.0) <= 50 + 49  # the burst, then one every 1/50 s
    assert max_in_window([t for t in times if t >= times[0] + 1], 1.0) <= 50
    assert times[-1] - times[0] == pytest.approx((1000 - 50) / 50)  # the burst, then 50 a second


def test_an_idle_bucket_refills_only_to_its_burst():
    clock = FakeClock()
    bucket = TokenBucket(5, burst=2, clock=clock)
    [bucket.reserve() for _ in range(2)]
    clock.sleep(60)
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.2])


def test_try_acquire_refuses_without_taking_a_token():
    clock = FakeClock()
    bucket = TokenBucket(2, burst=1, clock=clock)
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.sleep(0.5)
    assert bucket.try_acquire()


def test_a_200_thread_fan_out_never_exceeds_an_aws_limit_of_the_same_rate():
    """Every thread reserves at once (frozen clock): the slots they get pass AWS's own bucket."""
    clock = FakeClock()
    bucket = TokenBucket(50, clock=clock)
    barrier = threading.Barrier(200)
    slots: list[float] = []
    lock = threading.Lock()

    def submit() -> None:
        barrier.wait()
        wait = bucket.reserve()
        with lock:
            slots.append(clock.now + wait)

    threads = [threading.Thread(target=submit) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots.sort()
    assert len(set(slots)) == 151, "the 50 of the burst share the first instant, the rest one slot each"
    aws = AwsLikeLimit(50, 50, clock)
    for moment in slots:
        clock.now = moment
        aws.call()
    assert aws.throttled == 0
    assert max_in_window(slots, 1.0) <= 50 + 50  # the burst, plus one second's rate


def test_without_pacing_the_same_fan_out_throttles_itself():
    clock = FakeClock()
    aws = AwsLikeLimit(50, 50, clock)
    for _ in range(200):
        aws.call()
    assert aws.throttled == 150


def test_async_acquire_sleeps_on_the_event_loop(monkeypatch):
    clock = FakeClock()
    bucket = TokenBucket(4, burst=1, clock=clock)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(pacing.asyncio, "sleep", fake_sleep)
    waits = asyncio.run(_acquire_times(bucket, 3))
    assert waits == pytest.approx([0.0, 0.25, 0.5])
    assert slept == pytest.approx([0.25, 0.5])


async def _acquire_times(bucket: TokenBucket, count: int) -> list[float]:
    return [await bucket.acquire_async() for _ in range(count)]


def test_rates_must_be_positive():
    with pytest.raises(ValueError, match="rate must be positive"):
        TokenBucket(0)


def test_one_bucket_per_api_identity_and_region():
    first = shared_bucket("SubmitJob", "http://127.0.0.1:4566", "us-east-1")
    assert first is shared_bucket("SubmitJob", "http://127.0.0.1:4566", "us-east-1")
    assert first is not shared_bucket("SubmitJob", "http://127.0.0.1:4566", "eu-west-1")
    assert first is not shared_bucket("GetLogEvents", "http://127.0.0.1:4566", "us-east-1")
    assert first is not None
    assert first.rate == 50


def test_rates_come_from_the_aws_batch_section(monkeypatch):
    monkeypatch.setenv("AIRFLOW__AWS_BATCH__SUBMIT_JOB_RATE", "7.5")
    monkeypatch.setenv("AIRFLOW__AWS_BATCH__GET_LOG_EVENTS_RATE", "0")
    bucket = shared_bucket("SubmitJob", None, "us-east-1")
    assert bucket is not None
    assert bucket.rate == 7.5
    assert bucket.burst == 8
    assert shared_bucket("GetLogEvents", None, "us-east-1") is None


def test_default_log_read_rate():
    bucket = shared_bucket("GetLogEvents", None, "us-east-1")
    assert bucket is not None
    assert bucket.rate == 10


@pytest.mark.parametrize(
    ("role_arn", "account"),
    [
        ("arn:aws:iam::123456789012:role/airflow", "123456789012"),
        ("arn:aws-cn:iam::210987654321:role/x/y", "210987654321"),
        (None, None),
        ("not-an-arn", None),
    ],
)
def test_account_of(role_arn, account):
    assert account_of(role_arn) == account


def test_the_hooks_share_one_bucket_per_endpoint_and_region(monkeypatch):
    from airflow_batch_plugin.hooks.batch import BatchHook
    from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook

    connection = (
        '{"conn_type":"aws","login":"a","password":"b",'
        '"extra":{"endpoint_url":"http://127.0.0.1:9","region_name":"us-east-1"}}'
    )
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", connection)
    first, second = BatchHook(), BatchHook()
    assert first.submit_job_bucket is not None
    assert first.submit_job_bucket is second.submit_job_bucket
    assert first.submit_job_bucket is shared_bucket("SubmitJob", "http://127.0.0.1:9", "us-east-1")
    assert BatchHook(region_name="eu-west-1").submit_job_bucket is not first.submit_job_bucket
    logs = CloudWatchLogsHook()
    assert logs.read_bucket is shared_bucket("GetLogEvents", "http://127.0.0.1:9", "us-east-1")


def test_every_submit_job_attempt_takes_a_token(hook, monkeypatch):
    """A throttled SubmitJob sent again takes a second token (each attempt is a call AWS counts)."""
    from botocore.exceptions import ClientError

    taken: list[str] = []

    class Recording(TokenBucket):
        def acquire(self, sleep=None) -> float:  # type: ignore[override]
            taken.append("token")
            return 0.0

    throttle = ClientError(
        {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 429}},
        "SubmitJob",
    )
    answers: list[object] = [throttle, {"jobId": "j", "jobArn": "arn", "jobName": "n"}]

    def fake_submit(**_: object) -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    hook.__dict__["submit_job_bucket"] = Recording(1000)
    monkeypatch.setattr(hook.client, "submit_job", fake_submit)
    assert hook.submit_job({"jobName": "n", "jobQueue": "q", "jobDefinition": "d"})["jobId"] == "j"
    assert taken == ["token", "token"]
