"""The fault proxy: its rule syntax, how it names actions, and what boto3 sees of each fault.

The proxy runs in front of a tiny stub of AWS (answers SubmitJob and GetLogEvents and counts what
reached it), so these tests need no emulator.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import urllib.request
from collections import Counter
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aiohttp import web
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from airflow_batch_plugin.hooks.retry import classify_fault
from aws_batch_local.fault_rules import (
    Action,
    FaultRule,
    check_rates,
    draw,
    error_answer,
    identify,
    parse_rules,
    plan_for,
)
from aws_batch_local.faults import FaultProxy, format_counts, main, parse_arguments

if TYPE_CHECKING:
    from collections.abc import Iterator

NO_RETRIES = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10)
SUBMIT = {"jobName": "j", "jobQueue": "q", "jobDefinition": "d"}
LOG_STREAM = {"logGroupName": "/aws/batch/job", "logStreamName": "s"}


class StubAws:
    """A loopback HTTP server answering SubmitJob and GetLogEvents like AWS; counts what it got."""

    def __init__(self) -> None:
        self.received: list[str] = []
        #: When each request arrived (time.monotonic()).
        self.arrivals: list[float] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> StubAws:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.arrivals.append(time.monotonic())
        target = request.headers.get("X-Amz-Target", "")
        if target.endswith("GetLogEvents"):
            self.received.append("GetLogEvents")
            body = {"events": [{"timestamp": 1, "message": "hi"}], "nextForwardToken": "f/1"}
            return web.json_response(body, content_type="application/x-amz-json-1.1")
        self.received.append(request.path)
        if "/s3/aws4_request" in request.headers.get("Authorization", ""):
            listing = "<ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>"
            return web.Response(text=listing, content_type="application/xml")
        return web.json_response({"jobId": "id-1", "jobArn": "arn:aws:batch:job/id-1", "jobName": "j"})


@pytest.fixture
def stub() -> Iterator[StubAws]:
    with StubAws() as server:
        yield server


def client(service: str, proxy: FaultProxy) -> Any:
    return boto3.client(
        service,
        endpoint_url=proxy.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )


# -- the rule syntax -----------------------------------------------------------------------------------


def test_a_spec_parses_into_rules():
    rules = parse_rules(
        "SubmitJob:throttle=0.3, *:transient=0.05,logs:GetLogEvents:reset@after=0.1,x:limit=50"
    )
    assert rules == [
        FaultRule("SubmitJob", "throttle", 0.3),
        FaultRule("*", "transient", 0.05),
        FaultRule("logs:GetLogEvents", "reset", 0.1, after=True),
        FaultRule("x", "limit", 50.0),
    ]
    assert rules[2].label == "reset@after"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("SubmitJob=0.3", "expected TARGET:KIND=VALUE"),
        ("SubmitJob:throttle", "expected TARGET:KIND=VALUE"),
        ("SubmitJob:explode=0.1", "kind must be one of"),
        ("SubmitJob:throttle@after=0.1", "take @after"),
        ("SubmitJob:reset@later=0.1", "take @after"),
        ("SubmitJob:throttle@late=0.1", "take @after or @late"),
        ("SubmitJob:slow@late=0.1", "take @after or @late"),
        ("SubmitJob:throttle=lots", "is not a number"),
        ("SubmitJob:throttle=1.5", "between 0 and 1"),
        ("SubmitJob:limit=0", "positive number of calls"),
    ],
)
def test_bad_specs_are_refused_with_the_rule_named(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_rules(spec)


def test_late_and_timeout_faults_parse():
    rules = parse_rules("SubmitJob:503@late=0.1,SubmitJob:timeout=0.1,*:lost@late=0.2,x:timeout@after=0.1")
    assert rules == [
        FaultRule("SubmitJob", "503", 0.1, late=True),
        FaultRule("SubmitJob", "timeout", 0.1),
        FaultRule("*", "lost", 0.2, late=True),
        FaultRule("x", "timeout", 0.1, after=True),
    ]
    assert [rule.label for rule in rules] == ["503@late", "timeout", "lost@late", "timeout@after"]


def test_a_lost_answer_is_a_503_a_reset_or_a_timeout_evenly():
    rng = random.Random(1)
    drawn = Counter(draw(rng, [("lost@late", 1.0)]) for _ in range(3000))
    assert set(drawn) == {"503@late", "reset@late", "timeout@late"}
    assert all(900 <= number <= 1100 for number in drawn.values()), drawn


def test_the_most_specific_rule_wins_and_kinds_add_up():
    rules = parse_rules(
        "*:throttle=0.3,SubmitJob:throttle=0.5,*:transient=0.05,batch:*:slow=0.1,s3:*:500=0.2"
    )
    submit, _ = plan_for(Action("batch", "SubmitJob"), rules)
    assert dict(submit) == {"throttle": 0.5, "transient": 0.05, "slow": 0.1}
    describe, _ = plan_for(Action("batch", "DescribeJobs"), rules)
    assert dict(describe) == {"throttle": 0.3, "transient": 0.05, "slow": 0.1}
    logs, _ = plan_for(Action("logs", "GetLogEvents"), rules)
    assert dict(logs) == {"throttle": 0.3, "transient": 0.05}
    assert plan_for(Action("s3", ""), rules) == ([("500", 0.2)], None)
    assert plan_for(Action("iam", "GetRole"), rules) == ([], None), "* covers Batch and Logs only"


def test_rates_adding_up_to_more_than_one_are_refused():
    with pytest.raises(ValueError, match="add up to more than 1"):
        check_rates(parse_rules("*:throttle=0.6,SubmitJob:500=0.5"))
    check_rates(parse_rules("*:throttle=0.6,*:transient=0.4"))


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "action"),
    [
        ("POST", "/v1/submitjob", {"Authorization": "AWS4-HMAC-SHA256 Credential=k/d/r/batch/aws4_request"},
         b"", Action("batch", "SubmitJob")),
        ("POST", "/v1/describejobs", {}, b"", Action("batch", "DescribeJobs")),
        ("POST", "/", {"X-Amz-Target": "Logs_20140328.GetLogEvents"}, b"", Action("logs", "GetLogEvents")),
        ("POST", "/", {"Authorization": "Credential=k/d/r/iam/aws4_request"}, b"Action=GetRole&Version=1",
         Action("iam", "GetRole")),
        ("GET", "/bucket/key", {"Authorization": "Credential=k/d/r/s3/aws4_request"}, b"", Action("s3", "")),
        ("GET", "/", {}, b"", Action("unknown", "")),
    ],
)  # fmt: skip
def test_requests_are_named_by_their_aws_action(method, path, headers, body, action):
    assert identify(method, path, headers, body) == action


def test_error_answers_carry_the_code_where_botocore_reads_it():
    status, headers, body = error_answer(Action("batch", "SubmitJob"), "throttle")
    assert (status, headers["x-amzn-ErrorType"]) == (429, "TooManyRequestsException")
    status, headers, body = error_answer(Action("logs", "GetLogEvents"), "throttle")
    assert (status, json.loads(body)["__type"]) == (400, "ThrottlingException")
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    status, _, body = error_answer(Action("s3", ""), "throttle")
    assert status == 503
    assert b"<Code>SlowDown</Code>" in body


# -- what boto3 sees --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "status", "fault"),
    [
        ("throttle", "TooManyRequestsException", 429, "throttle"),
        ("500", "ServerException", 500, "transient"),
        ("503", "ServiceUnavailableException", 503, "transient"),
        ("500@after", "ServerException", 500, "transient"),
        ("503@after", "ServiceUnavailableException", 503, "transient"),
    ],
)
def test_batch_error_faults_reach_boto3_as_aws_errors(stub, kind, code, status, fault):
    with FaultProxy(stub.url, f"SubmitJob:{kind}=1") as proxy:
        batch = client("batch", proxy)
        with pytest.raises(ClientError) as raised:
            batch.submit_job(**SUBMIT)
        counts = proxy.snapshot()["batch:SubmitJob"]
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert classify_fault(raised.value) == fault
    if code == "ServerException":
        assert isinstance(raised.value, batch.exceptions.ServerException)
    forwarded = 1 if kind.endswith("@after") else 0
    assert stub.received == ["/v1/submitjob"] * forwarded
    assert (counts.requests, counts.forwarded, counts.succeeded, counts.faults) == (
        1,
        forwarded,
        forwarded,
        {kind: 1},
    )


@pytest.mark.parametrize(
    ("kind", "exception"),
    [
        ("throttle", "ThrottlingException"),
        ("500", "InternalServerException"),
        ("503", "ServiceUnavailableException"),
    ],
)
def test_logs_error_faults_reach_boto3_as_modeled_exceptions(stub, kind, exception):
    with FaultProxy(stub.url, f"GetLogEvents:{kind}=1") as proxy:
        logs = client("logs", proxy)
        with pytest.raises(getattr(logs.exceptions, exception)) as raised:
            logs.get_log_events(**LOG_STREAM)
    assert classify_fault(raised.value) == ("throttle" if kind == "throttle" else "transient")


@pytest.mark.parametrize("kind", ["reset", "reset@after"])
def test_a_reset_is_a_connection_closed_error(stub, kind):
    with FaultProxy(stub.url, f"SubmitJob:{kind}=1") as proxy:
        with pytest.raises(ConnectionClosedError) as raised:
            client("batch", proxy).submit_job(**SUBMIT)
        assert proxy.snapshot()["batch:SubmitJob"].faults == {kind: 1}
    assert classify_fault(raised.value) == "transient"
    assert stub.received == (["/v1/submitjob"] if kind == "reset@after" else [])


def test_a_reset_reaches_aiobotocore_as_a_transient_fault(stub):
    from aiobotocore.session import get_session

    async def describe() -> None:
        async with get_session().create_client(
            "batch",
            endpoint_url=proxy.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=NO_RETRIES,
        ) as batch:
            await batch.describe_jobs(jobs=["a"])

    with (
        FaultProxy(stub.url, "DescribeJobs:reset=1") as proxy,
        pytest.raises((ConnectionClosedError, EndpointConnectionError)) as raised,
    ):
        asyncio.run(describe())
    assert classify_fault(raised.value) == "transient"


def test_a_slow_answer_comes_late_and_intact(stub):
    with FaultProxy(stub.url, "GetLogEvents:slow=1", slow_seconds=0.5) as proxy:
        started = time.monotonic()
        page = client("logs", proxy).get_log_events(**LOG_STREAM)
        took = time.monotonic() - started
        counts = proxy.snapshot()["logs:GetLogEvents"]
    assert took >= 0.5
    assert page["events"][0]["message"] == "hi"
    assert (counts.forwarded, counts.succeeded, counts.faults) == (1, 1, {"slow": 1})


def short_timeout_client(proxy: FaultProxy, read_timeout: float = 0.5) -> Any:
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=read_timeout)
    return boto3.client(
        "batch",
        endpoint_url=proxy.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.mark.parametrize("kind", ["timeout", "timeout@after"])
def test_a_timeout_answers_nothing_until_the_client_gives_up(stub, kind):
    with FaultProxy(stub.url, f"SubmitJob:{kind}=1") as proxy:
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError) as raised:
            short_timeout_client(proxy).submit_job(**SUBMIT)
        took = time.monotonic() - started
        counts = proxy.snapshot()["batch:SubmitJob"]
    assert 0.5 <= took < 5
    assert classify_fault(raised.value) == "transient"
    forwarded = 1 if kind.endswith("@after") else 0
    assert stub.received == ["/v1/submitjob"] * forwarded
    assert (counts.forwarded, counts.faults, counts.pending) == (forwarded, {kind: 1}, 0)


@pytest.mark.parametrize(
    ("kind", "error"),
    [("503", ClientError), ("reset", ConnectionClosedError), ("timeout", ReadTimeoutError)],
)
def test_a_late_request_lands_the_late_delay_after_the_client_saw_the_failure(stub, kind, error):
    with FaultProxy(stub.url, f"SubmitJob:{kind}@late=1", late_seconds=0.8) as proxy:
        with pytest.raises(error):
            short_timeout_client(proxy).submit_job(**SUBMIT)
        failed_at = time.monotonic()
        held = proxy.snapshot()["batch:SubmitJob"]
        assert stub.received == [], "nothing reached the upstream when the client saw the failure"
        wait_until(lambda: stub.received)
        wait_until(lambda: proxy.snapshot()["batch:SubmitJob"].pending == 0)
        landed = proxy.snapshot()["batch:SubmitJob"]
    assert (held.forwarded, held.pending, held.faults) == (0, 1, {f"{kind}@late": 1})
    assert (landed.forwarded, landed.succeeded, landed.pending) == (1, 1, 0)
    assert stub.received == ["/v1/submitjob"]
    assert 0.7 <= stub.arrivals[0] - failed_at <= 0.8 + 2.0


def test_several_late_delays_are_taken_in_turn_by_each_actions_faults_of_a_kind(stub):
    with FaultProxy(stub.url, "*:503@late=1", late_seconds=(30, 0)) as proxy:
        batch, logs = short_timeout_client(proxy), client("logs", proxy)
        for _ in range(3):  # 30 s, 0 s, 30 s
            with pytest.raises(ClientError):
                batch.submit_job(**SUBMIT)
        with pytest.raises(ClientError):  # another action: its own first turn, 30 s
            logs.get_log_events(logGroupName="g", logStreamName="s")
        wait_until(lambda: stub.received == ["/v1/submitjob"])  # the one with no delay landed
        counts = proxy.snapshot()
    assert counts["batch:SubmitJob"].late == {"503@late 30s": 2, "503@late 0s": 1}
    assert counts["batch:SubmitJob"].pending == 2, "the two waiting 30 s have not landed"
    assert counts["logs:GetLogEvents"].late == {"503@late 30s": 1}
    assert stub.received == ["/v1/submitjob"]


@pytest.mark.parametrize(("given", "delays"), [("5", (5.0,)), ("8,5,1", (8.0, 5.0, 1.0)), ("0", (0.0,))])
def test_the_command_line_takes_one_late_delay_or_several(given, delays):
    arguments = parse_arguments(["--upstream", "http://127.0.0.1:1", "--port", "0", "--late-seconds", given])
    assert arguments.late_seconds == delays


@pytest.mark.parametrize("given", ["soon", "1,,2"])
def test_the_command_line_refuses_a_late_delay_that_is_no_number(given, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_arguments(["--upstream", "http://127.0.0.1:1", "--port", "0", "--late-seconds", given])
    assert exited.value.code == 2
    assert "--late-seconds" in capsys.readouterr().err


@pytest.mark.parametrize("given", ["-1", "3,-0.5", "inf", "nan"])
def test_the_command_line_refuses_a_negative_or_endless_late_delay(given, capsys):
    argv = ["--upstream", "http://127.0.0.1:1", "--port", "0", "--late-seconds", given]
    assert main(argv) == 2
    assert "must be zero or more seconds" in capsys.readouterr().err


@pytest.mark.parametrize("delays", [(), (1.0, -2.0), -1.0, float("inf"), (1.0, float("nan"))])
def test_a_negative_or_missing_late_delay_is_refused(delays):
    with pytest.raises(ValueError, match="must be zero or more seconds"):
        FaultProxy("http://127.0.0.1:1", late_seconds=delays)


def test_a_request_still_to_land_when_the_proxy_stops_never_lands(stub):
    with FaultProxy(stub.url, "SubmitJob:503@late=1", late_seconds=30) as proxy:
        with pytest.raises(ClientError):
            short_timeout_client(proxy).submit_job(**SUBMIT)
        assert proxy.snapshot()["batch:SubmitJob"].pending == 1
        proxy.reset()
        assert proxy.snapshot()["batch:SubmitJob"].pending == 1, "a reset keeps what is still to land"
    assert stub.received == []


def test_unconfigured_services_pass_through(stub):
    with FaultProxy(stub.url, "*:throttle=1") as proxy:
        s3 = client("s3", proxy)
        assert s3.list_buckets()["Buckets"] == []
        assert proxy.snapshot()["s3:*"].faults == {}
    assert stub.received == ["/"]


# -- counts and seeds -------------------------------------------------------------------------------------


def outcomes(proxy: FaultProxy, calls: int) -> list[str]:
    batch = client("batch", proxy)
    seen = []
    for _ in range(calls):
        try:
            batch.submit_job(**SUBMIT)
            seen.append("ok")
        except ClientError as error:
            seen.append(error.response["Error"]["Code"])
        except ConnectionClosedError:
            seen.append("reset")
    return seen


def test_counts_match_what_the_client_and_the_upstream_saw(stub):
    with FaultProxy(stub.url, "SubmitJob:throttle=0.3,SubmitJob:transient=0.1", seed=7) as proxy:
        seen = outcomes(proxy, 200)
        counts = proxy.snapshot()["batch:SubmitJob"]
        totals = proxy.totals()
    throttled = seen.count("TooManyRequestsException")
    assert counts.requests == 200
    assert counts.faults["throttle"] == throttled
    assert 40 <= throttled <= 80
    assert sum(counts.faults.values()) == 200 - seen.count("ok")
    assert counts.forwarded == counts.succeeded == seen.count("ok") == len(stub.received)
    assert set(counts.faults) == {"throttle", "500", "503", "reset"}
    assert totals.requests == 200


def test_the_same_seed_gives_the_same_faults(stub):
    with FaultProxy(stub.url, "SubmitJob:throttle=0.3,SubmitJob:transient=0.2", seed=3) as proxy:
        first = outcomes(proxy, 40)
    with FaultProxy(stub.url, "SubmitJob:throttle=0.3,SubmitJob:transient=0.2", seed=3) as proxy:
        second = outcomes(proxy, 40)
    with FaultProxy(stub.url, "SubmitJob:throttle=0.3,SubmitJob:transient=0.2", seed=4) as proxy:
        other = outcomes(proxy, 40)
    assert first == second
    assert first != other


def test_a_rate_limit_throttles_what_exceeds_it(stub):
    with FaultProxy(stub.url, "SubmitJob:limit=0.2") as proxy:  # one call per 5 s, burst 1
        seen = outcomes(proxy, 4)
        assert proxy.snapshot()["batch:SubmitJob"].faults == {"limit": 3}
    assert seen == ["ok"] + ["TooManyRequestsException"] * 3


def test_counts_are_served_as_json_and_can_be_reset(stub):
    with FaultProxy(stub.url, "SubmitJob:throttle=1") as proxy:
        outcomes(proxy, 2)
        with urllib.request.urlopen(f"{proxy.endpoint_url}/_faults/counts") as answer:
            served = json.load(answer)
        assert served["batch:SubmitJob"]["faults"] == {"throttle": 2}
        assert "batch:SubmitJob" in format_counts(proxy.snapshot())
        request = urllib.request.Request(f"{proxy.endpoint_url}/_faults/reset", method="POST")
        urllib.request.urlopen(request).close()
        assert proxy.snapshot() == {}


def test_the_proxy_listens_on_loopback_only():
    with pytest.raises(ValueError, match="loopback only"):
        FaultProxy("http://127.0.0.1:1", host="0.0.0.0")


def test_the_command_line_refuses_a_bad_spec(capsys):
    assert main(["--upstream", "http://127.0.0.1:1", "--port", "0", "--faults", "*:boom=1"]) == 2
    assert "kind must be one of" in capsys.readouterr().err


def test_the_rate_limit_admits_a_seconds_worth_at_once_then_the_rate():
    from aws_batch_local.rate_limit import RateLimit

    now = [100.0]
    limit = RateLimit(4, clock=lambda: now[0])
    assert [limit.admit() for _ in range(5)] == [True, True, True, True, False]
    now[0] += 0.25  # one more token a quarter second later
    assert [limit.admit(), limit.admit()] == [True, False]
    now[0] += 10  # never more than a second's worth saved up
    assert sum(limit.admit() for _ in range(10)) == 4
    with pytest.raises(ValueError, match="rate must be positive"):
        RateLimit(0)
