"""The Spot-reclaim retry strategy, secrets only by reference, and masking in the job monitor."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import mask_secret

from airflow_batch_plugin import (
    ContainerOverrides,
    ContainerSpec,
    JobDefinitionSpec,
    JobSubmissionSpec,
    RetryStrategy,
    SpecValidationError,
)
from airflow_batch_plugin.job_state import BatchJobFailed
from airflow_batch_plugin.monitor import JobMonitor
from airflow_batch_plugin.specs.common import SPOT_RECLAIM_STATUS_REASON, looks_like_secret_name
from airflow_batch_plugin.specs.eks import EksContainer

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"

# -- the Spot-reclaim retry strategy ------------------------------------------------------------


def test_spot_reclaim_retries_lost_hosts_and_exits_on_the_jobs_own_errors():
    assert RetryStrategy.spot_reclaim().to_request() == {
        "attempts": 3,
        "evaluateOnExit": [
            {"action": "RETRY", "onStatusReason": "Host EC2*"},
            {"action": "EXIT", "onExitCode": "*"},
            {"action": "EXIT", "onReason": "*"},
        ],
    }
    assert SPOT_RECLAIM_STATUS_REASON == "Host EC2*"


def test_spot_reclaim_can_also_retry_chosen_exit_codes_before_exiting():
    request = RetryStrategy.spot_reclaim(attempts=5, retry_exit_codes=[75, "14*"]).to_request()
    assert request["attempts"] == 5
    assert [rule["action"] for rule in request["evaluateOnExit"]] == [
        "RETRY",
        "RETRY",
        "RETRY",
        "EXIT",
        "EXIT",
    ]
    assert request["evaluateOnExit"][1:3] == [
        {"action": "RETRY", "onExitCode": "75"},
        {"action": "RETRY", "onExitCode": "14*"},
    ]


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        ({"attempts": 11}, "attempts", "at most 10"),
        ({"attempts": 0}, "attempts", "at least 1"),
        ({"retry_exit_codes": [1, 2, 3]}, "evaluate_on_exit", "at most 5 rules"),
        ({"retry_exit_codes": ["1x"]}, "evaluate_on_exit[1].on_exit_code", "digits"),
    ],
)
def test_spot_reclaim_is_validated_like_any_retry_strategy(arguments, field, rule):
    with pytest.raises(SpecValidationError) as caught:
        RetryStrategy.spot_reclaim(**arguments)
    assert field in [problem.field for problem in caught.value.problems]
    assert rule in str(caught.value)


def test_spot_reclaim_goes_into_definitions_and_submissions():
    definition = JobDefinitionSpec.container_job(
        name="spot", image="python:3.12", retry_strategy=RetryStrategy.spot_reclaim(attempts=4)
    )
    assert definition.to_request()["retryStrategy"]["attempts"] == 4
    assert definition.to_request()["retryStrategy"]["evaluateOnExit"][0]["onStatusReason"] == "Host EC2*"
    submission = JobSubmissionSpec(
        job_name="j", job_queue="q", job_definition="d", retry_strategy=RetryStrategy.spot_reclaim()
    )
    assert submission.to_request()["retryStrategy"] == RetryStrategy.spot_reclaim().to_request()


def test_spot_reclaim_is_exported():
    import airflow_batch_plugin

    assert airflow_batch_plugin.SPOT_RECLAIM_STATUS_REASON == "Host EC2*"
    assert "SPOT_RECLAIM_STATUS_REASON" in airflow_batch_plugin.__all__


# -- secrets only by reference ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["DB_PASSWORD", "PGPASSWORD", "GITHUB_TOKEN", "STRIPE_API_KEY", "apiToken", "MYSQL_PWD"]
)
def test_names_that_say_they_hold_a_secret(name):
    assert looks_like_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["STAGE", "PWD", "DB_PASSWORD_FILE", "SECRET_ARN", "TOKEN_LIMIT", "AWS_ACCESS_KEY_ID", "MAX_TOKENS"],
)
def test_names_that_do_not(name):
    assert not looks_like_secret_name(name)


def test_a_secret_in_plain_environment_is_refused_and_its_value_never_shown():
    with pytest.raises(SpecValidationError) as caught:
        ContainerSpec(image="python:3.12", environment={"DB_PASSWORD": "hunter2-plain"})
    [problem] = caught.value.problems
    assert problem.field == "environment['DB_PASSWORD']"
    message = str(caught.value)
    assert "looks like a secret" in message
    assert "secrets={name: 'arn:aws:secretsmanager:...'}" in message
    assert "not_secrets" in message
    assert "hunter2-plain" not in message
    assert "<13 characters, not shown>" in message


def test_secrets_by_reference_pass_and_become_the_secrets_list():
    spec = ContainerSpec(
        image="python:3.12",
        secrets={"DB_PASSWORD": SECRET_ARN, "API_TOKEN": "/prod/api/token"},
        environment={"STAGE": "prod", "DB_PASSWORD_FILE": "/run/secrets/db", "OLD_TOKEN": ""},
    )
    assert spec.to_request()["secrets"] == [
        {"name": "API_TOKEN", "valueFrom": "/prod/api/token"},
        {"name": "DB_PASSWORD", "valueFrom": SECRET_ARN},
    ]


def test_an_arn_held_in_a_secret_looking_variable_is_a_reference():
    ContainerSpec(image="python:3.12", environment={"DB_PASSWORD": SECRET_ARN})


def test_not_secrets_lets_a_name_that_only_looks_like_one_through_and_stays_out_of_the_request():
    spec = ContainerSpec(
        image="python:3.12", environment={"RATE_LIMIT_TOKEN": "10"}, not_secrets=["RATE_LIMIT_TOKEN"]
    )
    assert "not_secrets" not in str(spec.to_request())
    assert spec.to_request()["environment"] == [{"name": "RATE_LIMIT_TOKEN", "value": "10"}]


def test_a_template_rendering_a_secret_into_the_environment_is_refused_at_parse_time():
    with pytest.raises(SpecValidationError, match="looks like a secret") as caught:
        JobDefinitionSpec.container_job(
            name="d", image="python:3.12", environment={"API_KEY": "{{ var.value.api_key }}"}
        )
    assert caught.value.problems[0].field == "container.environment['API_KEY']"


def test_overrides_and_eks_containers_refuse_plain_secrets_too():
    with pytest.raises(SpecValidationError, match="DescribeJobs") as caught:
        ContainerOverrides(environment={"SLACK_TOKEN": "xoxb-1234567"})
    assert "secrets=" in str(caught.value)
    with pytest.raises(SpecValidationError, match="Kubernetes secret"):
        EksContainer(image="python:3.12", env={"DB_PASSWORD": "hunter2"}, limits={"cpu": 1, "memory": 512})


# -- the monitor: attempts named, secrets masked ------------------------------------------------


class StubLogs:
    """Stands in for CloudWatchLogsHook: one page per stream, then the end."""

    def __init__(self, streams: dict[str, list[str]]) -> None:
        self.streams = streams

    def get_log_events_page(
        self, group: str, stream: str, token: str | None, limit: int | None = None
    ) -> dict[str, Any] | None:
        if token == "end":
            return {"events": [], "nextForwardToken": "end"}
        lines = self.streams.get(stream, [])
        return {
            "events": [{"timestamp": i, "message": m} for i, m in enumerate(lines)],
            "nextForwardToken": "end",
        }


def attempt(stream: str, code: int, reason: str = "Essential container in task exited") -> dict[str, Any]:
    return {"container": {"logStreamName": stream, "exitCode": code}, "statusReason": reason}


def monitor(streams: dict[str, list[str]], caplog: pytest.LogCaptureFixture, **kwargs: Any) -> JobMonitor:
    caplog.set_level(logging.INFO, logger="test.monitor")
    return JobMonitor(
        batch=None,  # type: ignore[arg-type]
        logs=StubLogs(streams),  # type: ignore[arg-type]
        job_id="job-1",
        log=logging.getLogger("test.monitor"),
        **kwargs,
    )


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "test.monitor"]


def test_a_live_wait_names_every_attempt_after_its_log_lines(caplog):
    follow = monitor({"s1": ["first try"], "s2": ["second try"]}, caplog)
    lost = "Host EC2 (instance i-0abc) terminated."
    follow.observe({"status": "RUNNING", "container": {"logStreamName": "s1"}, "attempts": []})
    follow.observe(
        {"status": "RUNNING", "container": {"logStreamName": "s2"}, "attempts": [attempt("s1", 143, lost)]}
    )
    done = {"status": "SUCCEEDED", "container": {"logStreamName": "s2", "exitCode": 0}}
    done["attempts"] = [attempt("s1", 143, lost), attempt("s2", 0)]
    follow.finish(done)
    lines = messages(caplog)
    expected = [
        "Log stream of job job-1, attempt 1: s1 (group /aws/batch/job)",
        "[batch] first try",
        f"AWS Batch job job-1 attempt 1 ended: exit code 143, {lost}",
        "Log stream of job job-1, attempt 2: s2 (group /aws/batch/job)",
        "[batch] second try",
        "AWS Batch job job-1 attempt 2 ended: exit code 0, Essential container in task exited",
    ]
    assert [line for line in lines if line in expected] == expected


def test_a_deferred_task_reads_every_attempt_in_order_when_it_resumes(caplog):
    follow = monitor({"s1": ["one"], "s2": ["two"], "s3": ["three"]}, caplog, stream_logs=False)
    job = {
        "status": "FAILED",
        "statusReason": "Essential container in task exited",
        "container": {"logStreamName": "s3", "exitCode": 2},
        "attempts": [attempt("s1", 2), attempt("s2", 2), attempt("s3", 2)],
    }
    follow.observe(job)
    with pytest.raises(BatchJobFailed, match="attempts: 3"):
        follow.finish(job)
    lines = [line for line in messages(caplog) if "attempt" in line or line.startswith("[batch]")]
    assert lines == [
        "Log stream of job job-1, attempt 1: s1 (group /aws/batch/job)",
        "[batch] one",
        "AWS Batch job job-1 attempt 1 ended: exit code 2, Essential container in task exited",
        "Log stream of job job-1, attempt 2: s2 (group /aws/batch/job)",
        "[batch] two",
        "AWS Batch job job-1 attempt 2 ended: exit code 2, Essential container in task exited",
        "Log stream of job job-1, attempt 3: s3 (group /aws/batch/job)",
        "[batch] three",
        "AWS Batch job job-1 attempt 3 ended: exit code 2, Essential container in task exited",
    ]


def test_values_the_secrets_masker_knows_are_masked_in_log_lines_and_the_failure(caplog):
    secret = "s3cr3t-masked-value-4217"
    mask_secret(secret)
    follow = monitor({"s1": [f"connecting with {secret}", "boom"]}, caplog)
    job = {
        "status": "FAILED",
        "statusReason": f"Essential container in task exited ({secret})",
        "container": {"logStreamName": "s1", "exitCode": 1},
        "attempts": [attempt("s1", 1)],
    }
    follow.observe({"status": "RUNNING", "container": {"logStreamName": "s1"}, "attempts": []})
    with pytest.raises(BatchJobFailed) as caught:
        follow.finish(job)
    logged = "\n".join(messages(caplog))
    assert "[batch] connecting with ***" in logged
    assert secret not in logged
    assert "connecting with ***" in str(caught.value)
    assert secret not in str(caught.value)
    assert caught.value.status_reason is not None
    assert secret not in caught.value.status_reason
