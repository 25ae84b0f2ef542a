"""The emulator as a program and a library: CLI, bootstrap, in-process use, moto left untouched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest

from aws_batch_local.bootstrap import DEFAULT_JOB_QUEUE, bootstrap
from aws_batch_local.server import EmulatorServer
from aws_batch_local.shape_middleware import REPORT_PATH, read_shape_report
from tests.in_process import CREDENTIALS, REGION, fresh_emulator
from tests.shape_report import assert_answers_match_botocore

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_bootstrap_is_idempotent(emulator):
    batch = emulator.client("batch")
    before = (
        batch.describe_compute_environments()["computeEnvironments"],
        batch.describe_job_queues()["jobQueues"],
    )

    first = bootstrap(emulator.endpoint_url, emulator.region)
    second = bootstrap(emulator.endpoint_url, emulator.region)
    after = (
        batch.describe_compute_environments()["computeEnvironments"],
        batch.describe_job_queues()["jobQueues"],
    )

    assert first == second
    assert [env["computeEnvironmentArn"] for env in after[0]] == [
        env["computeEnvironmentArn"] for env in before[0]
    ]
    assert [queue["jobQueueArn"] for queue in after[1]] == [queue["jobQueueArn"] for queue in before[1]]
    assert {queue["jobQueueName"] for queue in after[1]} >= {
        emulator.job_queue,
        emulator.fargate_job_queue,
        emulator.eks_job_queue,
    }
    [eks_queue] = [queue for queue in after[1] if queue["jobQueueName"] == emulator.eks_job_queue]
    assert eks_queue["jobQueueType"] == "EKS"
    [eks_environment] = batch.describe_compute_environments(
        computeEnvironments=[first.eks_compute_environment]
    )["computeEnvironments"]
    assert eks_environment["eksConfiguration"] == {
        "eksClusterArn": first.eks_cluster_arn,
        "kubernetesNamespace": "airflow-batch",
    }
    assert first.eks_cluster_arn.endswith(":cluster/airflow-batch-emulator")
    assert len(emulator.client("ec2").describe_subnets(SubnetIds=[first.subnet_id])["Subnets"]) == 1


def _start_cli(*arguments: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "aws_batch_local", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_cli_prints_connection_and_exits_cleanly_on_sigterm(tmp_path):
    pid_file = tmp_path / "job.pid"
    process = _start_cli("--port", "0", "--step-seconds", "0.05")
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().rstrip("\n")]
        while not lines[-1].startswith("export AIRFLOW_CONN_AWS_DEFAULT="):
            lines.append(process.stdout.readline().rstrip("\n"))
            assert len(lines) < 20, lines
        assert "S3 bucket: airflow-batch-demo" in lines
        endpoint = lines[0].removeprefix("AWS Batch emulator listening on ")
        connection = json.loads(lines[-1].removeprefix("export AIRFLOW_CONN_AWS_DEFAULT=").strip("'"))
        batch = boto3.client(
            "batch",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        definition = batch.register_job_definition(
            jobDefinitionName="sleeper",
            type="container",
            containerProperties={
                "image": "alpine",
                "command": ["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
            },
        )["jobDefinitionArn"]
        job_id = batch.submit_job(jobName="sleeper", jobQueue=DEFAULT_JOB_QUEUE, jobDefinition=definition)[
            "jobId"
        ]
        deadline = time.monotonic() + 10
        while not (
            batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "RUNNING"
            and pid_file.exists()
            and pid_file.read_text().strip()
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        job_pid = int(pid_file.read_text())
        assert _alive(job_pid)

        assert_answers_match_botocore(endpoint, "the CLI test's emulator")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert lines[0].startswith("AWS Batch emulator listening on http://127.0.0.1:")
    assert lines[2] == "Job queue: airflow-batch-queue (compute environment airflow-batch-ce)"
    assert (
        lines[3]
        == "Fargate job queue: airflow-batch-fargate-queue (compute environment airflow-batch-fargate-ce)"
    )
    assert lines[4] == "EKS job queue: airflow-batch-eks-queue (compute environment airflow-batch-eks-ce)"
    assert connection == {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    deadline = time.monotonic() + 15
    while _alive(job_pid):
        assert time.monotonic() < deadline, "the job's process must die with the emulator"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie left for init to reap does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_an_in_process_emulator_runs_jobs():
    with fresh_emulator() as emulator:
        batch = boto3.client("batch", endpoint_url=emulator.endpoint_url, region_name=REGION, **CREDENTIALS)
        definition = batch.register_job_definition(
            jobDefinitionName="in-process",
            type="container",
            containerProperties={
                "image": "alpine",
                "command": ["sh", "-c", "echo in-process run"],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
            },
        )["jobDefinitionArn"]
        job_id = batch.submit_job(jobName="in-process", jobQueue=DEFAULT_JOB_QUEUE, jobDefinition=definition)[
            "jobId"
        ]
        deadline = time.monotonic() + 10
        while (detail := batch.describe_jobs(jobs=[job_id])["jobs"][0])["status"] not in (
            "SUCCEEDED",
            "FAILED",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        logs = boto3.client("logs", endpoint_url=emulator.endpoint_url, region_name=REGION, **CREDENTIALS)
        events = logs.get_log_events(
            logGroupName="/aws/batch/job", logStreamName=detail["container"]["logStreamName"]
        )["events"]

    assert detail["status"] == "SUCCEEDED"
    assert [event["message"] for event in events] == ["in-process run"]


def test_airflow_connection_reaches_the_emulator(aws_conn_env):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id="aws_default", client_type="batch")
    queues = hook.conn.describe_job_queues(jobQueues=[aws_conn_env.job_queue])["jobQueues"]

    assert [queue["jobQueueName"] for queue in queues] == [aws_conn_env.job_queue]
    assert os.environ["AIRFLOW_CONN_AWS_DEFAULT"] == aws_conn_env.airflow_connection


# -- the shape-check switch ---------------------------------------------------------------------------------


def _startup_lines(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines = [process.stdout.readline().rstrip("\n")]
    while not lines[-1].startswith("export AIRFLOW_CONN_AWS_DEFAULT="):
        lines.append(process.stdout.readline().rstrip("\n"))
        assert len(lines) < 20, lines
    return lines


def _stop_cli(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.parametrize(("flag", "enabled"), [("--check-shapes", True), ("--no-check-shapes", False)])
def test_the_cli_switch_turns_shape_checking_on_and_off(flag, enabled):
    process = _start_cli("--port", "0", "--no-bootstrap", flag)
    try:
        lines = _startup_lines(process)
        endpoint = lines[0].removeprefix("AWS Batch emulator listening on ")
        batch = boto3.client(
            "batch",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        batch.describe_jobs(jobs=["no-such-job"])
        batch.describe_job_queues()
        report = read_shape_report(endpoint)
    finally:
        _stop_cli(process)

    checking_line = f"Checking answers against botocore's shapes: {endpoint}{REPORT_PATH}"
    assert (checking_line in lines) is enabled
    assert report["enabled"] is enabled
    assert report["violations"] == []
    assert report["checked"] == ({"batch:DescribeJobQueues": 1, "batch:DescribeJobs": 1} if enabled else {})


def test_an_answer_that_drifts_from_botocore_is_reported_by_operation_and_path(monkeypatch):
    from aws_batch_local import batch_api

    describe_jobs = batch_api.describe_jobs

    def describe_with_drift(region, request):
        jobs = describe_jobs(region, request)["jobs"]
        return {"jobs": [{**job, "exitCode": 3, "isCancelled": "no"} for job in jobs]}

    monkeypatch.setitem(batch_api.HANDLERS, "DescribeJobs", describe_with_drift)
    with EmulatorServer(port=0, check_shapes=True) as server:
        batch = boto3.client(
            "batch",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        definition = batch.register_job_definition(
            jobDefinitionName="drift",
            type="container",
            containerProperties={
                "image": "alpine",
                "command": ["true"],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
            },
        )["jobDefinitionArn"]
        job_id = batch.submit_job(jobName="drift", jobQueue=DEFAULT_JOB_QUEUE, jobDefinition=definition)[
            "jobId"
        ]
        batch.describe_jobs(jobs=[job_id])
        batch.describe_jobs(jobs=[job_id])
        report = read_shape_report(server.endpoint_url)

    assert report["checked"]["batch:DescribeJobs"] == 2
    assert {(item["path"], item["problem"], item["count"]) for item in report["violations"]} == {
        ("jobs[0].exitCode", "member not in shape JobDetail", 2),
        ("jobs[0].isCancelled", "expected boolean, got string 'no'", 2),
    }
    assert {item["operation"] for item in report["violations"]} == {"batch:DescribeJobs"}


# -- moto only through its public interfaces -----------------------------------------------------------------


def _moto_batch_state() -> dict[str, Any]:
    from moto.batch import urls as batch_urls
    from moto.batch.models import BatchBackend, JobDefinition
    from moto.batch.responses import BatchResponse

    classes = {cls.__name__: dict(vars(cls)) for cls in (BatchBackend, BatchResponse, JobDefinition)}
    return {**classes, "url_paths": dict(batch_urls.url_paths), "url_bases": list(batch_urls.url_bases)}


def test_moto_batch_is_untouched_after_the_emulator_serves_a_job():
    before = _moto_batch_state()
    with fresh_emulator() as emulator:
        batch = boto3.client("batch", endpoint_url=emulator.endpoint_url, region_name=REGION, **CREDENTIALS)
        definition = batch.register_job_definition(
            jobDefinitionName="untouched",
            type="container",
            containerProperties={
                "image": "alpine",
                "command": ["true"],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
            },
        )["jobDefinitionArn"]
        job_id = batch.submit_job(jobName="untouched", jobQueue=DEFAULT_JOB_QUEUE, jobDefinition=definition)[
            "jobId"
        ]
        assert batch.describe_jobs(jobs=[job_id])["jobs"][0]["jobId"] == job_id

    assert _moto_batch_state() == before


def _raw_batch_call(endpoint: str, method: str, path: str, body: bytes | None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(f"{endpoint}{path}", data=body, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header(
        "Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/batch/aws4_request, ..."
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_batch_errors_are_answered_as_rest_json_does():
    with fresh_emulator(bootstrap=False) as emulator:
        status, headers, body = _raw_batch_call(
            emulator.endpoint_url, "POST", "/v1/submitjob", json.dumps({"jobName": "x"}).encode()
        )
        assert status == 400
        assert headers["x-amzn-ErrorType"] == "ClientException"
        assert body["message"]
        status, headers, body = _raw_batch_call(emulator.endpoint_url, "POST", "/v1/describejobs", b"[1")
        assert (status, headers["x-amzn-ErrorType"]) == (400, "ClientException")
        status, _, body = _raw_batch_call(
            emulator.endpoint_url,
            "GET",
            "/v1/tags/arn%3Aaws%3Abatch%3Aus-east-1%3A123456789012%3Ajob%2Fnone",
            None,
        )
        assert status == 400
        assert "does not exist" in body["message"]


def test_tags_of_every_batch_resource():
    with fresh_emulator() as emulator:
        batch = boto3.client("batch", endpoint_url=emulator.endpoint_url, region_name=REGION, **CREDENTIALS)
        [queue] = batch.describe_job_queues(jobQueues=[DEFAULT_JOB_QUEUE])["jobQueues"]
        policy = batch.create_scheduling_policy(name="tagged", tags={"team": "a"})["arn"]
        definition = batch.register_job_definition(
            jobDefinitionName="tagged",
            type="container",
            tags={"team": "a"},
            containerProperties={
                "image": "alpine",
                "command": ["true"],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
            },
        )["jobDefinitionArn"]
        for arn in (queue["jobQueueArn"], policy, definition):
            batch.tag_resource(resourceArn=arn, tags={"stage": "test"})
            batch.untag_resource(resourceArn=arn, tagKeys=["team"])
            assert batch.list_tags_for_resource(resourceArn=arn)["tags"] == {"stage": "test"}
        [described] = batch.describe_job_definitions(jobDefinitions=[definition])["jobDefinitions"]
        [policy_detail] = batch.describe_scheduling_policies(arns=[policy])["schedulingPolicies"]
        [queue_detail] = batch.describe_job_queues(jobQueues=[DEFAULT_JOB_QUEUE])["jobQueues"]
        assert described["tags"] == policy_detail["tags"] == queue_detail["tags"] == {"stage": "test"}
