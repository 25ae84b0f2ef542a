"""The emulator's answers as botocore's model has them: the differences the shape check found.

Each test reads the raw JSON the emulator sent (botocore drops nulls and keeps unknown members
silently, so the parsed answer would hide them) and checks it with the same checker the
``--check-shapes`` switch uses.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from aws_batch_local.shape_check import check_output

pytestmark = pytest.mark.integration

BATCH_MODEL = botocore.session.get_session().get_service_model("batch")
LOGS_MODEL = botocore.session.get_session().get_service_model("logs")
RESOURCES = [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}]


def raw_answer(client: Any, operation: str, **request: Any) -> dict[str, Any]:
    """Call ``operation`` and return the JSON body exactly as the emulator sent it."""
    bodies: list[bytes] = []

    def keep_body(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    event = f"after-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"
    client.meta.events.register(event, keep_body)
    try:
        getattr(client, xform_name(operation))(**request)
    finally:
        client.meta.events.unregister(event, keep_body)
    return dict(json.loads(bodies[-1]))


def register(batch: Any, name: str, **extra: Any) -> str:
    return str(
        batch.register_job_definition(
            jobDefinitionName=name,
            type="container",
            containerProperties={"image": "alpine", "command": ["true"], "resourceRequirements": RESOURCES},
            **extra,
        )["jobDefinitionArn"]
    )


def test_a_definition_registered_without_optional_members_is_described_without_nulls(emulator):
    batch = emulator.client("batch")
    arn = register(batch, "shape-minimal")

    answer = raw_answer(batch, "DescribeJobDefinitions", jobDefinitions=[arn])

    [definition] = answer["jobDefinitions"]
    assert None not in definition.values()
    assert check_output(BATCH_MODEL, "DescribeJobDefinitions", answer) == []


def test_evaluate_on_exit_actions_are_answered_as_the_retry_action_enum(emulator):
    batch = emulator.client("batch")
    lowercase = {
        "attempts": 2,
        "evaluateOnExit": [{"onExitCode": "3", "action": "retry"}, {"onReason": "*", "action": "Exit"}],
    }
    arn = register(batch, "shape-retry", retryStrategy=lowercase)
    job_id = batch.submit_job(
        jobName="shape-retry", jobQueue=emulator.job_queue, jobDefinition=arn, retryStrategy=lowercase
    )["jobId"]

    definitions = raw_answer(batch, "DescribeJobDefinitions", jobDefinitions=[arn])
    jobs = raw_answer(batch, "DescribeJobs", jobs=[job_id])

    for strategy in (definitions["jobDefinitions"][0]["retryStrategy"], jobs["jobs"][0]["retryStrategy"]):
        assert [rule["action"] for rule in strategy["evaluateOnExit"]] == ["RETRY", "EXIT"]
    assert check_output(BATCH_MODEL, "DescribeJobDefinitions", definitions) == []
    assert check_output(BATCH_MODEL, "DescribeJobs", jobs) == []


def test_cloudwatch_logs_answers_leave_out_a_last_pages_next_token(emulator):
    logs = emulator.client("logs")
    logs.create_log_group(logGroupName="/shapes/omitted")
    logs.create_log_stream(logGroupName="/shapes/omitted", logStreamName="only")

    answers = {
        "DescribeLogGroups": raw_answer(logs, "DescribeLogGroups", logGroupNamePrefix="/shapes/"),
        "DescribeLogStreams": raw_answer(logs, "DescribeLogStreams", logGroupName="/shapes/omitted"),
        "FilterLogEvents": raw_answer(logs, "FilterLogEvents", logGroupName="/shapes/omitted"),
    }

    assert [group["logGroupName"] for group in answers["DescribeLogGroups"]["logGroups"]] == [
        "/shapes/omitted"
    ]
    for operation, answer in answers.items():
        assert "nextToken" not in answer, operation
        assert check_output(LOGS_MODEL, operation, answer) == [], operation
