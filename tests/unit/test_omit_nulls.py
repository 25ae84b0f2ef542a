"""moto's CloudWatch Logs answers without null members, as AWS sends them."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.test import Client

from aws_batch_local.omit_nulls import OmitNullMembers, without_nulls


def answering(body: bytes) -> Any:
    """A WSGI app answering every request 200 with ``body`` (in two chunks) and its length."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body[:3], body[3:]]

    return app


def test_null_members_are_left_out_at_any_depth_and_list_items_are_kept():
    value = {"a": None, "b": [{"c": None, "d": 1}, None], "e": {"f": None}, "g": False}

    assert without_nulls(value) == {"b": [{"d": 1}, None], "e": {}, "g": False}


def test_logs_answers_lose_their_null_members_and_get_the_right_length():
    body = json.dumps({"logGroups": [{"logGroupName": "g", "kmsKeyId": None}], "nextToken": None}).encode()
    client = Client(OmitNullMembers(answering(body)))

    answer = client.post("/", headers={"X-Amz-Target": "Logs_20140328.DescribeLogGroups"})

    assert json.loads(answer.data) == {"logGroups": [{"logGroupName": "g"}]}
    assert answer.headers["Content-Length"] == str(len(answer.data))


def test_answers_of_other_services_pass_untouched():
    body = json.dumps({"jobs": [], "nextToken": None}).encode()
    client = Client(OmitNullMembers(answering(body)))

    assert client.post("/v1/describejobs").data == body
    assert client.post("/", headers={"X-Amz-Target": "AmazonSSM.GetParameter"}).data == body


def test_a_logs_answer_that_is_not_json_passes_untouched():
    client = Client(OmitNullMembers(answering(b"<not json>")))

    assert client.post("/", headers={"X-Amz-Target": "Logs_20140328.GetLogEvents"}).data == b"<not json>"
