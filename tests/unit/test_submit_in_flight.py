"""A SubmitJob lost in flight is looked for again after pauses before it is sent a second time."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from airflow_batch_plugin.hooks import batch as batch_module
from airflow_batch_plugin.hooks.batch import IN_FLIGHT_LOOKUP_DELAYS, SUBMIT_TOKEN_TAG, BatchHook

REQUEST = {"jobName": "n", "jobQueue": "q", "jobDefinition": "d"}
JOB = {"jobId": "job-1", "jobArn": "arn:job-1", "jobName": "n"}
SERVER_ERROR = ClientError(
    {"Error": {"Code": "ServerException"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "SubmitJob"
)


class Scenario:
    """A hook whose SubmitJob answers come from a script and whose lookups find the job late."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, answers: list[Any], found_at_lookup: int | None
    ) -> None:
        self.answers = answers
        self.found_at_lookup = found_at_lookup
        self.sent = 0
        self.lookups = 0
        self.slept: list[float] = []
        self.hook = BatchHook()
        self.hook.__dict__["submit_job_bucket"] = None
        monkeypatch.setattr(self.hook, "_send_submit_job", self._send)
        monkeypatch.setattr(self.hook, "find_jobs", self._find)
        monkeypatch.setattr(batch_module.time, "sleep", self.slept.append)

    def _send(self, request: dict[str, Any]) -> Any:
        self.sent += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _find(self, *, job_queue: str, job_name: str, tags: dict[str, str]) -> list[dict[str, Any]]:
        assert (job_queue, job_name, list(tags)) == ("q", "n", [SUBMIT_TOKEN_TAG])
        self.lookups += 1
        return [JOB] if self.lookups == self.found_at_lookup else []


@pytest.fixture(autouse=True)
def connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type":"aws","extra":{"region_name":"us-east-1"}}')


@pytest.mark.parametrize(
    "error",
    [ReadTimeoutError(endpoint_url="http://batch"), ConnectionClosedError(endpoint_url="http://batch")],
)
def test_a_request_lost_in_flight_is_found_when_it_lands_late(monkeypatch, error):
    scenario = Scenario(monkeypatch, [error], found_at_lookup=2)
    assert scenario.hook.submit_job(REQUEST) == JOB
    assert scenario.sent == 1, "not sent again: it landed"
    assert scenario.slept == [IN_FLIGHT_LOOKUP_DELAYS[0]]


def test_a_request_lost_in_flight_that_never_lands_is_sent_again_after_the_pauses(monkeypatch):
    scenario = Scenario(
        monkeypatch, [ReadTimeoutError(endpoint_url="http://batch"), JOB], found_at_lookup=None
    )
    assert scenario.hook.submit_job(REQUEST) == JOB
    assert scenario.sent == 2
    assert scenario.lookups == 1 + len(IN_FLIGHT_LOOKUP_DELAYS)
    assert scenario.slept == list(IN_FLIGHT_LOOKUP_DELAYS)


@pytest.mark.parametrize("error", [SERVER_ERROR, EndpointConnectionError(endpoint_url="http://batch")])
def test_a_request_that_was_answered_or_never_sent_is_looked_for_once(monkeypatch, error):
    """AWS answered with an error (it is done with the request), or no connection was made."""
    scenario = Scenario(monkeypatch, [error, JOB], found_at_lookup=None)
    assert scenario.hook.submit_job(REQUEST) == JOB
    assert (scenario.sent, scenario.lookups, scenario.slept) == (2, 1, [])
