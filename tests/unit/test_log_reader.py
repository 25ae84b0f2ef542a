"""LogStreamFollower against moto's CloudWatch Logs: complete, resumable, one call per live round."""

from __future__ import annotations

import time
from collections import Counter

import boto3
import pytest

from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook, LogEvent, LogStreamFollower

GROUP = "/aws/batch/job"
STREAM = "etl/default/abc"


@pytest.fixture
def logs(hook):  # `hook` (conftest) opens moto's in-process AWS and the Airflow connection
    client = boto3.client("logs", region_name="us-east-1")
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    return client


NOW_MS = int(time.time() * 1000)  # CloudWatch (and moto) drop events older than 14 days


def put(client, start: int, count: int) -> None:
    events = [{"timestamp": NOW_MS + i, "message": f"line {i}"} for i in range(start, start + count)]
    client.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=events)


def follower(page_limit: int | None = None) -> tuple[LogStreamFollower, Counter]:
    logs_hook = CloudWatchLogsHook()
    calls: Counter = Counter()
    logs_hook.client.meta.events.register(
        "before-call.logs.GetLogEvents", lambda **_: calls.update(["calls"])
    )
    return LogStreamFollower(logs_hook, GROUP, STREAM, page_limit=page_limit), calls


def test_reads_everything_in_order_then_only_what_is_new(logs):
    put(logs, 0, 25)
    reader, _ = follower()
    assert [e.message for e in reader.read_new()] == [f"line {i}" for i in range(25)]
    assert list(reader.read_new()) == []
    put(logs, 25, 5)
    assert [e.message for e in reader.read_new()] == [f"line {i}" for i in range(25, 30)]


def test_pages_through_a_long_stream_to_the_end(logs):
    put(logs, 0, 95)
    reader, calls = follower(page_limit=10)
    events = list(reader.read_new(to_end=True))
    assert [e.message for e in events] == [f"line {i}" for i in range(95)]
    assert events[0] == LogEvent(NOW_MS, "line 0")
    assert calls["calls"] >= 10  # 10 pages, then the call showing the token stopped changing


def test_a_live_round_costs_one_call_when_the_page_is_not_full(logs):
    put(logs, 0, 5)
    reader, calls = follower()
    assert len(list(reader.read_new(to_end=False))) == 5
    assert calls["calls"] == 1


def test_a_stream_not_created_yet_reads_as_empty(hook):
    boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName=GROUP)
    reader, _ = follower()
    assert list(reader.read_new()) == []
