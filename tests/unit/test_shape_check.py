"""Answers checked against botocore's output shapes: hand-made answers from the AWS API reference.

The answers below follow the API reference's response syntax and member tables
(https://docs.aws.amazon.com/batch/latest/APIReference/API_DescribeJobs.html, API_JobDetail.html,
API_ListJobs.html; https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html),
never the emulator's output.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import botocore.session
import pytest
from botocore.model import ShapeResolver

from aws_batch_local.shape_check import (
    DOCUMENTED_OMISSIONS,
    Violation,
    check_output,
    check_shape,
)

SESSION = botocore.session.get_session()
BATCH = SESSION.get_service_model("batch")
LOGS = SESSION.get_service_model("logs")

QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/etl-queue"
DEFINITION_ARN = "arn:aws:batch:us-east-1:123456789012:job-definition/etl-load:3"

#: A container job that failed at its second attempt with exit code 5 (an array child, index 2).
FAILED_CONTAINER_JOB: dict[str, Any] = {
    "jobArn": "arn:aws:batch:us-east-1:123456789012:job/8d0a54c4-1c4f-4a6e-9a57-0d9b4b1f7e11:2",
    "jobName": "etl-load",
    "jobId": "8d0a54c4-1c4f-4a6e-9a57-0d9b4b1f7e11:2",
    "jobQueue": QUEUE_ARN,
    "status": "FAILED",
    "statusReason": "Essential container in task exited",
    "attempts": [
        {
            "container": {
                "containerInstanceArn": "arn:aws:ecs:us-east-1:123456789012:container-instance/c1",
                "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/t1",
                "exitCode": 1,
                "logStreamName": "etl-load/default/t1",
                "networkInterfaces": [],
            },
            "startedAt": 1_700_000_010_000,
            "stoppedAt": 1_700_000_020_000,
            "statusReason": "Essential container in task exited",
        },
        {
            "container": {
                "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/t2",
                "exitCode": 5,
                "logStreamName": "etl-load/default/t2",
                "networkInterfaces": [{"attachmentId": "a1", "privateIpv4Address": "10.0.0.12"}],
            },
            "startedAt": 1_700_000_030_000,
            "stoppedAt": 1_700_000_040_000,
            "statusReason": "Essential container in task exited",
        },
    ],
    "createdAt": 1_700_000_000_000,
    "retryStrategy": {"attempts": 2, "evaluateOnExit": [{"onExitCode": "5", "action": "EXIT"}]},
    "startedAt": 1_700_000_030_000,
    "stoppedAt": 1_700_000_040_000,
    "dependsOn": [{"jobId": "5d0c1c8e-1111-2222-3333-444455556666", "type": "N_TO_N"}],
    "jobDefinition": DEFINITION_ARN,
    "parameters": {"partition": "2"},
    "container": {
        "image": "public.ecr.aws/docker/library/python:3.12",
        "command": ["python3", "-m", "etl.load"],
        "jobRoleArn": "arn:aws:iam::123456789012:role/etl",
        "volumes": [],
        "environment": [{"name": "STAGE", "value": "load"}],
        "mountPoints": [],
        "ulimits": [],
        "exitCode": 5,
        "containerInstanceArn": "arn:aws:ecs:us-east-1:123456789012:container-instance/c1",
        "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/t2",
        "logStreamName": "etl-load/default/t2",
        "networkInterfaces": [],
        "resourceRequirements": [{"value": "1", "type": "VCPU"}, {"value": "2048", "type": "MEMORY"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/aws/batch/job"}},
        "secrets": [],
    },
    "tags": {"team": "data"},
    "propagateTags": False,
    "platformCapabilities": ["EC2"],
    "arrayProperties": {"index": 2},
    "isCancelled": False,
    "isTerminated": False,
}

#: A job waiting in RUNNABLE: no startedAt yet (it has not gone from STARTING to RUNNING).
RUNNABLE_JOB: dict[str, Any] = {
    "jobArn": "arn:aws:batch:us-east-1:123456789012:job/0b3f1a5e-9c1d-4c9e-8f0a-2a7b6c5d4e3f",
    "jobName": "etl-extract",
    "jobId": "0b3f1a5e-9c1d-4c9e-8f0a-2a7b6c5d4e3f",
    "jobQueue": QUEUE_ARN,
    "status": "RUNNABLE",
    "createdAt": 1_700_000_000_000,
    "jobDefinition": DEFINITION_ARN,
    "dependsOn": [],
    "container": {"image": "busybox", "command": ["echo", "hi"], "resourceRequirements": []},
}


def describe_jobs_answer(*jobs: dict[str, Any]) -> dict[str, Any]:
    return {"jobs": [copy.deepcopy(job) for job in jobs]}


def problems(violations: list[Violation]) -> dict[str, str]:
    return {violation.path: violation.problem for violation in violations}


# -- DescribeJobs -----------------------------------------------------------------------------------------


def test_a_describe_jobs_answer_as_the_api_reference_shows_it_passes():
    assert check_output(BATCH, "DescribeJobs", describe_jobs_answer(FAILED_CONTAINER_JOB, RUNNABLE_JOB)) == []


def test_an_unknown_member_is_named_with_its_path_and_shape():
    answer = describe_jobs_answer(FAILED_CONTAINER_JOB)
    answer["jobs"][0]["container"]["exit_code"] = 5
    answer["jobs"][0]["nodeIndex"] = 0

    assert problems(check_output(BATCH, "DescribeJobs", answer)) == {
        "jobs[0].container.exit_code": "member not in shape ContainerDetail",
        "jobs[0].nodeIndex": "member not in shape JobDetail",
    }


def set_member(job: dict[str, Any], where: str, value: Any) -> None:
    """Set the member at ``where`` (``container.exitCode``, ``attempts[1].x``, ``parameters["k"]``)."""
    steps = [
        int(index) if index else key or name
        for index, key, name in re.findall(r'\[(\d+)\]|\["([^"]+)"\]|([^.\[\]]+)', where)
    ]
    target: Any = job
    for step in steps[:-1]:
        target = target[step]
    target[steps[-1]] = value


WRONG_TYPES = [
    ("container.exitCode", "5", "expected integer, got string '5'"),
    ("container.exitCode", True, "expected integer, got boolean True"),
    ("container.exitCode", 5.0, "expected integer, got number 5.0"),
    ("container.exitCode", 2**31, "2147483648 is outside the integer range -2147483648..2147483647"),
    ("createdAt", "2023-11-14T22:13:20Z", "expected long, got string '2023-11-14T22:13:20Z'"),
    ("isCancelled", "false", "expected boolean, got string 'false'"),
    ("attempts", {}, "expected list AttemptDetails, got object {}"),
    ("container", [], "expected structure ContainerDetail, got list []"),
    ("parameters", ["a"], "expected map ParametersMap, got list ['a']"),
    ('parameters["partition"]', 2, "expected string, got number 2"),
    ("container.command", "python3 -m etl", "expected list StringList, got string 'python3 -m etl'"),
    ("attempts[1].container.exitCode", "5", "expected integer, got string '5'"),
    ("statusReason", None, "expected string, got null (AWS omits a member without a value)"),
]


@pytest.mark.parametrize(("where", "value", "problem"), WRONG_TYPES)
def test_a_value_of_the_wrong_type_is_named(where, value, problem):
    answer = describe_jobs_answer(FAILED_CONTAINER_JOB)
    set_member(answer["jobs"][0], where, value)

    assert problems(check_output(BATCH, "DescribeJobs", answer)) == {f"jobs[0].{where}": problem}


def test_a_value_outside_its_enum_is_named_with_the_allowed_values():
    answer = describe_jobs_answer(FAILED_CONTAINER_JOB)
    answer["jobs"][0]["status"] = "DONE"
    answer["jobs"][0]["container"]["resourceRequirements"][0]["type"] = "CPU"

    assert problems(check_output(BATCH, "DescribeJobs", answer)) == {
        "jobs[0].status": "'DONE' is not a value of enum JobStatus "
        "(SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED)",
        "jobs[0].container.resourceRequirements[0].type": "'CPU' is not a value of enum ResourceType "
        "(GPU, VCPU, MEMORY)",
    }


def test_a_missing_required_member_is_named():
    answer = describe_jobs_answer(FAILED_CONTAINER_JOB)
    del answer["jobs"][0]["jobQueue"]
    del answer["jobs"][0]["container"]["resourceRequirements"][1]["value"]

    assert problems(check_output(BATCH, "DescribeJobs", answer)) == {
        "jobs[0].jobQueue": "required member of JobDetail missing",
        "jobs[0].container.resourceRequirements[1].value": "required member of ResourceRequirement missing",
    }


def test_a_missing_top_level_member_and_a_wrong_answer_type_are_named():
    assert problems(check_output(BATCH, "ListJobs", {"nextToken": "abc"})) == {
        "jobSummaryList": "required member of ListJobsResponse missing"
    }
    assert problems(check_output(BATCH, "DescribeJobs", [])) == {
        "<answer>": "expected structure DescribeJobsResponse, got list []"
    }


# -- the documented omissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "FAILED"])
def test_started_at_may_be_absent_while_a_job_has_not_run(status):
    job = copy.deepcopy(RUNNABLE_JOB)
    job["status"] = status

    assert check_output(BATCH, "DescribeJobs", describe_jobs_answer(job)) == []


def test_started_at_is_required_of_a_failed_job_whose_attempt_started():
    job = copy.deepcopy(FAILED_CONTAINER_JOB)
    del job["startedAt"]
    never_started = copy.deepcopy(job)
    for attempt in never_started["attempts"]:
        del attempt["startedAt"]

    assert problems(check_output(BATCH, "DescribeJobs", describe_jobs_answer(job))) == {
        "jobs[0].startedAt": "required member of JobDetail missing"
    }
    assert check_output(BATCH, "DescribeJobs", describe_jobs_answer(never_started)) == []


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
def test_started_at_is_required_of_a_job_that_ran(status):
    job = copy.deepcopy(RUNNABLE_JOB)
    job["status"] = status

    assert problems(check_output(BATCH, "DescribeJobs", describe_jobs_answer(job))) == {
        "jobs[0].startedAt": "required member of JobDetail missing"
    }


def test_without_the_documented_omissions_started_at_is_always_required():
    answer = describe_jobs_answer(RUNNABLE_JOB)

    assert problems(check_output(BATCH, "DescribeJobs", answer, omissions=())) == {
        "jobs[0].startedAt": "required member of JobDetail missing"
    }


@pytest.mark.parametrize(
    "omission", DOCUMENTED_OMISSIONS, ids=lambda omission: f"{omission.structure}.{omission.member}"
)
def test_every_documented_omission_is_a_required_member_of_botocore_with_an_aws_source(omission):
    shapes = {name: BATCH.shape_for(name) for name in BATCH.shape_names}
    shapes |= {name: LOGS.shape_for(name) for name in LOGS.shape_names}

    assert omission.member in shapes[omission.structure].required_members
    assert omission.source.startswith("https://docs.aws.amazon.com/")
    assert omission.case


# -- other Batch and CloudWatch Logs answers ---------------------------------------------------------------


def test_list_jobs_and_submit_job_answers_from_the_api_reference_pass():
    list_jobs = {
        "jobSummaryList": [
            {
                "jobArn": FAILED_CONTAINER_JOB["jobArn"],
                "jobId": FAILED_CONTAINER_JOB["jobId"],
                "jobName": "etl-load",
                "createdAt": 1_700_000_000_000,
                "status": "FAILED",
                "statusReason": "Essential container in task exited",
                "startedAt": 1_700_000_030_000,
                "stoppedAt": 1_700_000_040_000,
                "container": {
                    "exitCode": 5,
                    "reason": "OutOfMemoryError: Container killed due to memory usage",
                },
                "arrayProperties": {"index": 2},
                "jobDefinition": DEFINITION_ARN,
            }
        ],
        "nextToken": "eyJvZmZzZXQiOiAxMDB9",
    }
    submit_job = {"jobArn": FAILED_CONTAINER_JOB["jobArn"], "jobName": "etl-load", "jobId": "8d0a54c4"}

    assert check_output(BATCH, "ListJobs", list_jobs) == []
    assert check_output(BATCH, "SubmitJob", submit_job) == []


def test_an_operation_without_output_members_expects_an_empty_object():
    assert check_output(BATCH, "TerminateJob", {}) == []
    assert problems(check_output(BATCH, "TerminateJob", {"jobId": "x"})) == {
        "jobId": "member not in shape TerminateJobResponse"
    }


def test_cloudwatch_logs_answers_are_checked_too():
    events = {
        "events": [{"timestamp": 1_700_000_000_000, "message": "hello", "ingestionTime": 1_700_000_000_100}],
        "nextForwardToken": "f/3",
        "nextBackwardToken": "b/1",
    }
    assert check_output(LOGS, "GetLogEvents", events) == []

    events["events"][0]["timestamp"] = "2023-11-14T22:13:20Z"
    events["nextToken"] = "f/3"
    assert problems(check_output(LOGS, "GetLogEvents", events)) == {
        "events[0].timestamp": "expected long, got string '2023-11-14T22:13:20Z'",
        "nextToken": "member not in shape GetLogEventsResponse",
    }


def test_only_json_protocols_are_checked():
    with pytest.raises(ValueError, match="rest-xml"):
        check_output(SESSION.get_service_model("s3"), "ListBuckets", {})


# -- shapes Batch and Logs answers do not use, from a model of their own -----------------------------------

RESOLVER = ShapeResolver(
    {
        "Epoch": {"type": "timestamp"},
        "Iso": {"type": "timestamp", "timestampFormat": "iso8601"},
        "Http": {"type": "timestamp", "timestampFormat": "rfc822"},
        "Bytes": {"type": "blob"},
        "Ratio": {"type": "double"},
        "Choice": {
            "type": "structure",
            "union": True,
            "members": {"a": {"shape": "Ratio"}, "b": {"shape": "Ratio"}},
        },
        "Anything": {"type": "structure", "members": {}, "document": True},
    }
)


@pytest.mark.parametrize(
    ("shape", "value", "expected"),
    [
        ("Epoch", 1_700_000_000.25, None),
        ("Epoch", "2023-11-14", "expected timestamp (epoch seconds, a number), got string '2023-11-14'"),
        ("Iso", "2023-11-14T22:13:20Z", None),
        ("Iso", 1_700_000_000, "expected timestamp (iso8601 string), got number 1700000000"),
        ("Iso", "yesterday", "expected timestamp (iso8601 string), got string 'yesterday'"),
        ("Http", "Tue, 14 Nov 2023 22:13:20 GMT", None),
        ("Bytes", "aGVsbG8=", None),
        ("Bytes", "not base64!", "expected blob (base64 string), got a string that is not base64"),
        ("Ratio", 0.5, None),
        ("Ratio", "0.5", "expected double, got string '0.5'"),
        ("Choice", {"a": 1.0}, None),
        ("Choice", {"a": 1.0, "b": 2.0}, "union Choice must set exactly one member, got ['a', 'b']"),
        ("Anything", {"any": ["json", 1, None]}, None),
    ],
)
def test_scalars_and_structures_of_other_models(shape, value, expected):
    found = check_shape(RESOLVER.get_shape_by_name(shape), value)

    assert [violation.problem for violation in found] == ([expected] if expected else [])


def test_a_violation_pattern_generalizes_indices_and_map_keys():
    violation = Violation('jobs[12].attempts[0].container.logConfiguration.options["awslogs-group"]', "x")

    assert violation.pattern == "jobs[*].attempts[*].container.logConfiguration.options[*]"
    assert str(violation).endswith(": x")
