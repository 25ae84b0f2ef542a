"""The Spot-reclaim retry strategy on the emulator, and every attempt named in the task log.

The emulator cannot take an EC2 instance away, so the retried failure is an exit code the
strategy lists (``retry_exit_codes``); the application error that is not listed must end the job
after one attempt. The task log is the operator's output (captured stdout): a synchronous wait
follows each attempt live, a deferred task reads every attempt's stream when it resumes.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_batch_plugin import BatchJobFailed, BatchSubmitJobOperator, JobDefinitionSpec, RetryStrategy

pytestmark = pytest.mark.integration

#: The job fails with 75 (a "try again" code) on its first attempt and succeeds on the second.
FLAKY = 'echo "attempt $AWS_BATCH_JOB_ATTEMPT"; [ "$AWS_BATCH_JOB_ATTEMPT" -ge 2 ] || exit 75'


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def context() -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="spot",
        run_id="manual__spot",
        task_id="t",
        map_index=-1,
        try_number=1,
        stats_tags={},
        xcom_push=lambda key, value: None,
    )
    return {"ti": ti, "params": {}}


def operator(emulator, script: str, **arguments: Any) -> BatchSubmitJobOperator:
    definition = JobDefinitionSpec.container_job(
        unique("spot"),
        "busybox",
        command=["sh", "-c", script],
        memory=128,
        retry_strategy=RetryStrategy.spot_reclaim(attempts=3, retry_exit_codes=[75]),
    )
    fields = {"job_name": unique("spot"), "job_queue": emulator.job_queue, "poll_interval": 0.3, **arguments}
    return BatchSubmitJobOperator(task_id="t", job_definition=definition, **fields)


#: What names an attempt in the task log, and the job's own lines (the logger's name follows them).
ATTEMPT_LINE = re.compile(
    r"(Log stream of job \S+, attempt \d+|AWS Batch job \S+ attempt \d+ ended|\[batch\] .*?)"
    r"(?=:|\s+\[airflow\.|$)"
)


def attempt_lines(task_log: str) -> list[str]:
    """The task log's lines about attempts and the job's own output, without what follows them."""
    return [match.group(1) for line in task_log.splitlines() if (match := ATTEMPT_LINE.search(line))]


def test_the_definition_carries_the_spot_rules(aws_conn_env):
    batch = aws_conn_env.client("batch")
    op = operator(aws_conn_env, "true", wait_for_completion=False)
    job_id = op.execute(context())
    [job] = batch.describe_jobs(jobs=[job_id])["jobs"]
    rules = job["retryStrategy"]["evaluateOnExit"]
    assert rules[0]["onStatusReason"] == "Host EC2*"
    assert [rule["action"].upper() for rule in rules] == ["RETRY", "RETRY", "EXIT", "EXIT"]


def test_a_retried_job_shows_every_attempt_in_the_task_log(aws_conn_env, capsys):
    job_id = operator(aws_conn_env, FLAKY).execute(context())
    lines = attempt_lines(capsys.readouterr().out)
    expected = [
        f"Log stream of job {job_id}, attempt 1",
        "[batch] attempt 1",
        f"AWS Batch job {job_id} attempt 1 ended",
        f"Log stream of job {job_id}, attempt 2",
        "[batch] attempt 2",
        f"AWS Batch job {job_id} attempt 2 ended",
    ]
    assert lines == expected, json.dumps(lines, indent=1)
    [job] = aws_conn_env.client("batch").describe_jobs(jobs=[job_id])["jobs"]
    assert job["status"] == "SUCCEEDED"
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [75, 0]


def test_an_application_error_is_not_retried(aws_conn_env, capsys):
    with pytest.raises(BatchJobFailed, match="exit code: 1") as caught:
        operator(aws_conn_env, "echo broken input; exit 1").execute(context())
    [job] = aws_conn_env.client("batch").describe_jobs(jobs=[caught.value.job_id])["jobs"]
    assert len(job["attempts"]) == 1, "the EXIT rule ends the job after its first attempt"
    assert job["retryStrategy"]["attempts"] == 3
    assert f"AWS Batch job {caught.value.job_id} attempt 1 ended: exit code 1" in capsys.readouterr().out


def test_a_deferred_task_reads_every_attempt_when_it_resumes(aws_conn_env, capsys):
    op = operator(aws_conn_env, FLAKY, wait_for_completion=False)
    job_id = op.execute(context())
    batch = aws_conn_env.client("batch")
    deadline = time.monotonic() + 60
    while batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] not in ("SUCCEEDED", "FAILED"):
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.3)
    capsys.readouterr()
    resumed = operator(aws_conn_env, FLAKY, deferrable=True)
    assert resumed.execute_complete(context(), {"status": "success", "job_id": job_id}) == job_id
    assert attempt_lines(capsys.readouterr().out) == [
        f"Log stream of job {job_id}, attempt 1",
        "[batch] attempt 1",
        f"AWS Batch job {job_id} attempt 1 ended",
        f"Log stream of job {job_id}, attempt 2",
        "[batch] attempt 2",
        f"AWS Batch job {job_id} attempt 2 ended",
    ]
