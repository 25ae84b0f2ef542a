"""The emulator as its own product: its console script serves AWS Batch to the AWS CLI.

``aws-batch-local --port N`` (the console script of the aws-batch-local distribution) is started
as a user starts it; the AWS CLI registers a definition, submits a job and watches DescribeJobs
walk the lifecycle to SUCCEEDED, then reads the job's output from CloudWatch Logs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _free_port, _stop, _wait_until_ready

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 60.0
CLI_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_PAGER": "",
}


def aws_cli() -> list[str]:
    """The AWS CLI: the one on PATH, else awscli from the package registry in a throwaway uv env."""
    found = shutil.which("aws")
    if found is not None:
        return [found]
    uv = Path(sys.executable).parent / "uv"
    return [str(uv), "tool", "run", "--quiet", "--from", "awscli", "aws"]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Any:
    """Start ``aws-batch-local`` from the venv's console script; yield its endpoint URL."""
    script = Path(sys.executable).parent / "aws-batch-local"
    assert script.is_file(), "make install installs the aws-batch-local distribution and its script"
    port = _free_port()
    output = tmp_path_factory.mktemp("aws-batch-local") / "output.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [str(script), "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        startup = _wait_until_ready(process, output)
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in startup
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def run_cli(endpoint_url: str, *args: str) -> dict[str, Any]:
    command = [*aws_cli(), "--endpoint-url", endpoint_url, "--output", "json", *args]
    result = subprocess.run(
        command, env={**os.environ, **CLI_ENV}, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_the_aws_cli_submits_a_job_and_sees_its_real_lifecycle(served, tmp_path):
    # The job runs until the test has seen it RUNNING (each aws command takes a second or more
    # of CPU: a job of a fixed length could end between two looks on a loaded machine).
    seen_running = tmp_path / "seen-running"
    container = {
        "image": "public.ecr.aws/docker/library/busybox:latest",
        "command": [
            "sh",
            "-c",
            f"echo hello from aws-batch-local; for _ in $(seq 600); do [ -e {seen_running} ] && exit 0;"
            " sleep 0.1; done; exit 3",
        ],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
    }
    registered = run_cli(
        served,
        "batch",
        "register-job-definition",
        "--job-definition-name",
        "cli-hello",
        "--type",
        "container",
        "--container-properties",
        json.dumps(container),
    )
    assert registered["revision"] >= 1
    submitted = run_cli(
        served,
        "batch",
        "submit-job",
        "--job-name",
        "cli-hello",
        "--job-queue",
        "airflow-batch-queue",
        "--job-definition",
        "cli-hello",
    )
    job_id = submitted["jobId"]

    seen: list[str] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        [job] = run_cli(served, "batch", "describe-jobs", "--jobs", job_id)["jobs"]
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] == "RUNNING":
            seen_running.touch()
        if job["status"] in ("SUCCEEDED", "FAILED"):
            break
    assert seen[-1] == "SUCCEEDED", (seen, job.get("statusReason"))
    assert "RUNNING" in seen, seen  # the job ran (it waits for the test to see it RUNNING)
    order = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]
    assert [order.index(status) for status in seen] == sorted(order.index(status) for status in seen)
    assert job["container"]["exitCode"] == 0
    assert job["startedAt"] <= job["stoppedAt"]

    events = run_cli(
        served,
        "logs",
        "get-log-events",
        "--log-group-name",
        "/aws/batch/job",
        "--log-stream-name",
        job["container"]["logStreamName"],
        "--start-from-head",
    )["events"]
    assert [event["message"] for event in events] == ["hello from aws-batch-local"]
