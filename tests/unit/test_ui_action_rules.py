"""The view's action rules that need no AWS: form tokens, the forgery checks, the reason text."""

from __future__ import annotations

import time

from starlette.requests import Request

from airflow_batch_plugin.ui import csrf
from airflow_batch_plugin.ui.actions import REASON_TEXT_LIMIT, termination_reason


def request(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


def test_a_token_is_valid_for_its_user_purpose_and_hour_only():
    now = time.time()
    token = csrf.issue("editor_a", "terminate-job|aws_default|us-east-1|job-1", now=now)
    assert csrf.valid(token, "editor_a", "terminate-job|aws_default|us-east-1|job-1", now=now + 60)
    assert not csrf.valid(token, "reader_a", "terminate-job|aws_default|us-east-1|job-1", now=now)
    assert not csrf.valid(token, "editor_a", "terminate-job|aws_default|us-east-1|job-2", now=now)
    assert not csrf.valid(token, "editor_a", "terminate-job|other_conn|us-east-1|job-1", now=now)
    expired = now + csrf.TOKEN_SECONDS + 1
    assert not csrf.valid(token, "editor_a", "terminate-job|aws_default|us-east-1|job-1", now=expired)
    expires, _, signature = token.partition(".")
    stretched = f"{int(expires) + 86400}.{signature}"
    assert not csrf.valid(stretched, "editor_a", "terminate-job|aws_default|us-east-1|job-1", now=now)
    for junk in (None, "", "abc", "123.", ".abc"):
        assert not csrf.valid(junk, "editor_a", "terminate-job|aws_default|us-east-1|job-1")


def test_only_a_bearer_request_without_the_session_cookie_skips_the_token():
    assert csrf.bearer_only(request({"authorization": "Bearer abc"}))
    assert not csrf.bearer_only(request({"authorization": "Bearer abc", "cookie": "_token=xyz"}))
    assert not csrf.bearer_only(request({"cookie": "_token=xyz"}))
    assert not csrf.bearer_only(request({"authorization": "Basic abc"}))
    assert not csrf.bearer_only(request({"authorization": "Bearer "}))


def test_origin_or_referer_must_be_this_server(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    here = {"host": "internal:8080"}
    assert csrf.same_origin(request(here)), "neither header: the token decides"
    assert csrf.same_origin(request({**here, "origin": "http://internal:8080"}))
    assert csrf.same_origin(request({**here, "origin": "https://airflow.example.com"}))
    assert csrf.same_origin(request({**here, "referer": "https://airflow.example.com/aws-batch/jobs/1"}))
    assert not csrf.same_origin(request({**here, "origin": "https://evil.example"}))
    assert not csrf.same_origin(request({**here, "origin": "null"}))
    assert not csrf.same_origin(request({**here, "referer": "https://airflow.example.com.evil.example/"}))


def test_the_termination_reason_names_the_user_and_keeps_their_words_short():
    assert termination_reason("ana") == "terminated from the Airflow AWS Batch view by ana"
    assert termination_reason("ana", "  stuck\n on  lock ") == (
        "terminated from the Airflow AWS Batch view by ana: stuck on lock"
    )
    long = termination_reason("ana", "x" * 2000)
    assert long.endswith("x" * REASON_TEXT_LIMIT)
    assert len(long) == len("terminated from the Airflow AWS Batch view by ana: ") + REASON_TEXT_LIMIT
