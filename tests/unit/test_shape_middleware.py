"""The emulator's shape-check switch: which operation a request is, checking answers, the report."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import botocore.session
import pytest
from werkzeug.test import Client

from aws_batch_local.aws_operations import Operation, OperationFinder, path_pattern
from aws_batch_local.shape_middleware import (
    REPORT_PATH,
    ShapeCheckMiddleware,
    ShapeViolationLog,
    describe_violations,
    enabled_by_environment,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

SESSION = botocore.session.get_session()
FINDER = OperationFinder(SESSION.get_service_model(name) for name in ("batch", "logs"))
BATCH_AUTH = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/batch/aws4_request, SignedHeaders=host"
LOGS_AUTH = BATCH_AUTH.replace("/batch/", "/logs/")
S3_AUTH = BATCH_AUTH.replace("/batch/", "/s3/")
TAGS_PATH = "/v1/tags/arn%3Aaws%3Abatch%3Aus-east-1%3A1%3Ajob%2Fx"  # botocore sends the ARN encoded


# -- which operation a request is ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("POST", "/v1/describejobs", {"Authorization": BATCH_AUTH}, "batch:DescribeJobs"),
        ("POST", "/v1/listjobs/", {"authorization": BATCH_AUTH}, "batch:ListJobs"),
        ("GET", TAGS_PATH, {"Authorization": BATCH_AUTH}, "batch:ListTagsForResource"),
        ("DELETE", TAGS_PATH, {"Authorization": BATCH_AUTH}, "batch:UntagResource"),
        ("POST", "/", {"Authorization": LOGS_AUTH, "X-Amz-Target": "Logs_20140328.GetLogEvents"},
         "logs:GetLogEvents"),
        ("POST", "/", {"X-Amz-Target": "Logs_20140328.DescribeLogStreams"}, "logs:DescribeLogStreams"),
    ],
)  # fmt: skip
def test_a_request_is_matched_to_its_operation(method, path, headers, expected):
    operation = FINDER.find(method, path, headers)

    assert operation is not None
    assert operation.key == expected


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/v1/describejobs", {"Authorization": BATCH_AUTH}),  # DescribeJobs is a POST
        ("POST", "/v1/nosuchoperation", {"Authorization": BATCH_AUTH}),
        ("PUT", "/my-bucket/key", {"Authorization": S3_AUTH}),  # a service that is not checked
        ("POST", "/v1/describejobs", {}),  # unsigned: no service named
        ("POST", "/", {"X-Amz-Target": "Logs_20140328.NoSuchOperation"}),
        ("POST", "/", {"X-Amz-Target": "AmazonSSM.GetParameter"}),
    ],
)
def test_a_request_of_no_checked_operation_is_not_matched(method, path, headers):
    assert FINDER.find(method, path, headers) is None


def test_a_path_template_matches_one_segment_or_with_a_plus_the_rest():
    assert path_pattern("/v1/tags/{resourceArn}").fullmatch("/v1/tags/arn%3Ax")
    assert not path_pattern("/v1/tags/{resourceArn}").fullmatch("/v1/tags/a/b")
    assert path_pattern("/{Bucket}/{Key+}?x-id=GetObject").fullmatch("/bucket/a/b/c")


# -- the middleware -----------------------------------------------------------------------------------------


def fake_aws(status: str, body: bytes) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """A WSGI app answering every request with ``status`` and ``body``."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "application/json")])
        return [body[: len(body) // 2], body[len(body) // 2 :]]

    return app


def describe_jobs(client: Client) -> Any:
    return client.post("/v1/describejobs", data=b'{"jobs": ["x"]}', headers={"Authorization": BATCH_AUTH})


def report(client: Client) -> dict[str, Any]:
    answer = client.get(REPORT_PATH)
    assert answer.status_code == 200
    return dict(answer.get_json())


BAD_JOB = {
    "jobs": [
        {
            "jobName": "j",
            "jobId": "x",
            "jobQueue": "q",
            "status": "DONE",
            "startedAt": 1,
            "jobDefinition": "d",
        }
    ]
}


def test_a_violation_is_recorded_and_logged_once_and_the_answer_passes_unchanged(caplog):
    body = json.dumps(BAD_JOB).encode()
    client = Client(ShapeCheckMiddleware(fake_aws("200 OK", body), ShapeViolationLog(), FINDER))

    with caplog.at_level(logging.WARNING, logger="aws_batch_local.shape_middleware"):
        first, second = describe_jobs(client), describe_jobs(client)

    assert first.data == body
    assert second.data == body
    seen = report(client)
    assert seen["enabled"] is True
    assert seen["checked"] == {"batch:DescribeJobs": 2}
    [violation] = seen["violations"]
    assert violation == {
        "operation": "batch:DescribeJobs",
        "pattern": "jobs[*].status",
        "problem": "'DONE' is not a value of enum JobStatus "
        "(SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED)",
        "path": "jobs[0].status",
        "count": 2,
    }
    assert [record.getMessage() for record in caplog.records] == [
        "answer differs from botocore's output shape: "
        f"batch:DescribeJobs: jobs[0].status: {violation['problem']}"
    ]
    assert describe_violations(seen["violations"]).endswith("(in 2 answers)")


def test_a_correct_answer_is_counted_without_violations():
    body = json.dumps({"jobs": []}).encode()
    client = Client(ShapeCheckMiddleware(fake_aws("200 OK", body), ShapeViolationLog(), FINDER))

    describe_jobs(client)

    assert report(client) == {"enabled": True, "checked": {"batch:DescribeJobs": 1}, "violations": []}


def test_error_answers_and_requests_of_other_services_are_not_checked():
    log = ShapeViolationLog()
    error = ShapeCheckMiddleware(fake_aws("400 Bad Request", b'{"__type": "ClientException"}'), log, FINDER)
    other = ShapeCheckMiddleware(fake_aws("200 OK", b"<xml/>"), log, FINDER)

    assert describe_jobs(Client(error)).status_code == 400
    assert Client(other).put("/bucket/key", headers={"Authorization": S3_AUTH}).data == b"<xml/>"

    assert report(Client(error)) == {"enabled": True, "checked": {}, "violations": []}


def test_a_2xx_answer_that_is_not_json_is_a_violation():
    client = Client(ShapeCheckMiddleware(fake_aws("200 OK", b"<ok/>"), ShapeViolationLog(), FINDER))

    describe_jobs(client)

    [violation] = report(client)["violations"]
    assert (violation["path"], violation["problem"]) == ("<answer>", "answer is not JSON: b'<ok/>'")


def test_with_checking_off_answers_pass_and_the_report_says_so():
    body = json.dumps(BAD_JOB).encode()
    client = Client(ShapeCheckMiddleware(fake_aws("200 OK", body), None, FINDER))

    assert describe_jobs(client).data == body
    assert report(client) == {"enabled": False, "checked": {}, "violations": []}


def test_the_report_is_read_only():
    client = Client(ShapeCheckMiddleware(fake_aws("200 OK", b"{}"), ShapeViolationLog(), FINDER))

    assert client.post(REPORT_PATH).status_code == 405


def test_the_violation_log_keeps_distinct_violations_by_operation_pattern_and_problem():
    from aws_batch_local.shape_check import Violation

    log = ShapeViolationLog()
    log.record(
        Operation("batch", "ListJobs"), [Violation("jobSummaryList[0].x", "member not in shape JobSummary")]
    )
    log.record(
        Operation("batch", "ListJobs"), [Violation("jobSummaryList[3].x", "member not in shape JobSummary")]
    )
    log.record(Operation("batch", "DescribeJobs"), [Violation("jobs[0].x", "member not in shape JobDetail")])

    assert [(item["operation"], item["path"], item["count"]) for item in log.report()["violations"]] == [
        ("batch:ListJobs", "jobSummaryList[0].x", 2),
        ("batch:DescribeJobs", "jobs[0].x", 1),
    ]


@pytest.mark.parametrize(
    ("value", "enabled"), [("1", True), ("true", True), ("On", True), ("0", False), ("", False)]
)
def test_the_environment_variable_turns_checking_on(value, enabled):
    assert enabled_by_environment({"AWS_BATCH_LOCAL_CHECK_SHAPES": value}) is enabled
    assert enabled_by_environment({}) is False


# -- localrun (make demo) with checking on ---------------------------------------------------------------


def test_a_local_run_lists_the_violations_and_fails(capsys):
    from airflow_batch_plugin.localrun import report_shape_violations
    from aws_batch_local.server import EmulatorServer
    from aws_batch_local.shape_check import Violation

    clean = EmulatorServer(check_shapes=True)
    assert clean.shape_violations is not None
    clean.shape_violations.record(Operation("batch", "ListJobs"), [])
    drifted = EmulatorServer(check_shapes=True)
    assert drifted.shape_violations is not None
    drifted.shape_violations.record(Operation("batch", "ListJobs"), [Violation("x", "member not in shape")])

    assert report_shape_violations(EmulatorServer(check_shapes=False)) is False
    assert report_shape_violations(clean) is False
    assert "Every emulator answer matched botocore's output shapes (1 checked)" in capsys.readouterr().out
    assert report_shape_violations(drifted) is True
    assert "batch:ListJobs: x: member not in shape" in capsys.readouterr().out
