"""The emulator as a program and a library: CLI, bootstrap, moto pin and in-process use."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from airflow_batch_plugin.emulator import install
from airflow_batch_plugin.emulator.batch_extension import UnsupportedMotoVersion, check_moto_version
from airflow_batch_plugin.emulator.bootstrap import DEFAULT_JOB_QUEUE, bootstrap
from airflow_batch_plugin.emulator.settings import EmulatorSettings, configure, current_settings

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


def test_unsupported_moto_version_is_refused():
    with pytest.raises(UnsupportedMotoVersion, match=r"moto\[server\]==5\.2\.5"):
        check_moto_version("5.1.0")
    check_moto_version("5.2.5")


def _start_cli(*arguments: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_batch_plugin.emulator", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_cli_prints_connection_and_exits_cleanly_on_sigterm(tmp_path):
    marker = tmp_path / "still-running"
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
                "command": ["sh", "-c", f"sleep 30; touch {marker}"],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
            },
        )["jobDefinitionArn"]
        job_id = batch.submit_job(jobName="sleeper", jobQueue=DEFAULT_JOB_QUEUE, jobDefinition=definition)[
            "jobId"
        ]
        deadline = time.monotonic() + 10
        while batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] != "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.05)

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
    time.sleep(0.5)
    assert not marker.exists(), "the job's process must die with the emulator"


def test_install_runs_jobs_in_process_with_mock_aws():
    previous = current_settings()
    install(EmulatorSettings(step_seconds=0.02))
    install()
    with mock_aws():
        bootstrap(None, "us-east-1")
        batch = boto3.client("batch", region_name="us-east-1")
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
        events = boto3.client("logs", region_name="us-east-1").get_log_events(
            logGroupName="/aws/batch/job", logStreamName=detail["container"]["logStreamName"]
        )["events"]
    configure(previous)

    assert detail["status"] == "SUCCEEDED"
    assert [event["message"] for event in events] == ["in-process run"]


def test_airflow_connection_reaches_the_emulator(aws_conn_env):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id="aws_default", client_type="batch")
    queues = hook.conn.describe_job_queues(jobQueues=[aws_conn_env.job_queue])["jobQueues"]

    assert [queue["jobQueueName"] for queue in queues] == [aws_conn_env.job_queue]
    assert os.environ["AIRFLOW_CONN_AWS_DEFAULT"] == aws_conn_env.airflow_connection
