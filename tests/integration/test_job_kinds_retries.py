"""Retried jobs of every kind on the emulator: each attempt's lines, per part, then how it ended.

A retried EKS job runs a new pod per attempt (``eksAttempts``), an ECS job a new task with a
stream per container (``attempts[].taskProperties``), a multi-node job a new attempt of every
node. The task log (the operator's stdout) must show each attempt's own lines, labelled, in
order, whether the task waits live or reads the ended job when it resumes.
"""

from __future__ import annotations

import re
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_batch_plugin import BatchSubmitJobOperator, JobDefinitionSpec, RetryStrategy

pytestmark = pytest.mark.integration

#: Fails with 75 on the first attempt, succeeds on the second; says which attempt it is.
FLAKY = 'echo "try $AWS_BATCH_JOB_ATTEMPT"; [ "$AWS_BATCH_JOB_ATTEMPT" -ge 2 ] || exit 75'
RETRY = RetryStrategy(attempts=2)
#: The main node waits until node 1 ended, as AWS's multi-node examples do: its exit stops the others.
WAIT_FOR_NODE_1 = (
    "python3 -c 'import boto3, os, time\n"
    'node = os.environ["AWS_BATCH_JOB_ID"].split("#")[0] + "#1"\n'
    'batch, deadline = boto3.client("batch"), time.monotonic() + 60\n'
    'while batch.describe_jobs(jobs=[node])["jobs"][0]["status"] not in ("SUCCEEDED", "FAILED"):\n'
    "    assert time.monotonic() < deadline\n"
    "    time.sleep(0.2)'"
)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def context() -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="kinds", run_id="manual__kinds", task_id="t", map_index=-1, try_number=1, stats_tags={}
    )
    ti.xcom_push = lambda key, value: None
    return {"ti": ti, "params": {}}


def definition(kind: str) -> JobDefinitionSpec:
    name = unique(f"retry-{kind}")
    if kind == "eks":
        return JobDefinitionSpec.eks_job(
            name, "busybox", command=["sh", "-c", FLAKY], memory=256, retry_strategy=RETRY
        )
    if kind == "ecs":
        containers = [
            {
                "name": "app",
                "image": "busybox",
                "command": ["sh", "-c", FLAKY],
                "vcpus": 1,
                "memory": 256,
                "depends_on": [("side", "COMPLETE")],  # side's line is written before app ends the task
            },
            {"name": "side", "image": "busybox", "essential": False, "command": ["sh", "-c", "echo side up"]},
        ]
        return JobDefinitionSpec.ecs_job(name, containers, retry_strategy=RETRY)
    script = (
        f'if [ "$AWS_BATCH_JOB_NODE_INDEX" = 0 ]; then {WAIT_FOR_NODE_1}; {FLAKY}; else echo "worker up"; fi'
    )
    return JobDefinitionSpec.multinode_job(
        name, "busybox", num_nodes=2, vcpus=1, memory=256, command=["sh", "-c", script], retry_strategy=RETRY
    )


def operator(emulator: Any, kind: str, **arguments: Any) -> BatchSubmitJobOperator:
    queue = emulator.eks_job_queue if kind == "eks" else emulator.job_queue
    return BatchSubmitJobOperator(
        task_id="t",
        job_name=unique(kind),
        job_queue=queue,
        job_definition=definition(kind),
        poll_interval=0.3,
        **arguments,
    )


#: What names an attempt in the task log, and the job's own lines (what follows them cut off).
LINE = re.compile(
    r"(Log stream of job \S+, attempt \d+(?:, [a-z]+ \S+)?"
    r"|AWS Batch job \S+(?: \(node \d\))? attempt \d+ ended"
    r"|\[batch[^\]]*\] .*?)(?=:|\s+\[airflow\.|$)"
)


def attempt_lines(task_log: str) -> list[str]:
    return [match.group(1) for line in task_log.splitlines() if (match := LINE.search(line))]


def wait_until_ended(emulator: Any, job_id: str) -> None:
    batch = emulator.client("batch")
    deadline = time.monotonic() + 90
    while batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] not in ("SUCCEEDED", "FAILED"):
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.3)


@pytest.mark.parametrize("live", [True, False], ids=["live", "resumed"])
def test_a_retried_eks_job_shows_each_pods_lines(aws_conn_env, capsys, live):
    job_id = run(aws_conn_env, "eks", capsys, live)
    lines = attempt_lines(capsys.readouterr().out)
    assert lines == [
        f"Log stream of job {job_id}, attempt 1",
        "[batch] try 1",
        f"AWS Batch job {job_id} attempt 1 ended",
        f"Log stream of job {job_id}, attempt 2",
        "[batch] try 2",
        f"AWS Batch job {job_id} attempt 2 ended",
    ], lines


@pytest.mark.parametrize("live", [True, False], ids=["live", "resumed"])
def test_a_retried_ecs_job_shows_each_containers_lines_per_attempt(aws_conn_env, capsys, live):
    job_id = run(aws_conn_env, "ecs", capsys, live)
    lines = attempt_lines(capsys.readouterr().out)
    for number in (1, 2):
        attempt = [line for line in lines if f"attempt {number}" in line or f"try {number}" in line]
        assert f"Log stream of job {job_id}, attempt {number}, container app" in attempt
        assert f"Log stream of job {job_id}, attempt {number}, container side" in attempt
        assert "[batch container app] try " + str(number) in lines
    assert lines.count("[batch container side] side up") == 2
    ended = [line for line in lines if line.endswith("ended")]
    assert ended == [f"AWS Batch job {job_id} attempt 1 ended", f"AWS Batch job {job_id} attempt 2 ended"]
    assert lines.index(f"AWS Batch job {job_id} attempt 1 ended") < lines.index("[batch container app] try 2")


@pytest.mark.parametrize("live", [True, False], ids=["live", "resumed"])
def test_a_retried_multi_node_job_shows_each_nodes_lines_per_attempt(aws_conn_env, capsys, live):
    job_id = run(aws_conn_env, "multinode", capsys, live)
    lines = attempt_lines(capsys.readouterr().out)
    assert lines.count("[batch node 1] worker up") == 2, lines
    assert "[batch node 0] try 1" in lines
    assert "[batch node 0] try 2" in lines
    assert f"AWS Batch job {job_id}#0 (node 0) attempt 1 ended" in lines
    assert lines.index("[batch node 0] try 1") < lines.index("[batch node 0] try 2")
    assert lines[-1] == f"AWS Batch job {job_id} attempt 2 ended"


def run(emulator: Any, kind: str, capsys: pytest.CaptureFixture[str], live: bool) -> str:
    if live:
        job_id = operator(emulator, kind).execute(context())
    else:  # submitted elsewhere, then read as a deferred task reads it when it resumes
        job_id = operator(emulator, kind, wait_for_completion=False).execute(context())
        wait_until_ended(emulator, job_id)
        capsys.readouterr()
        resumed = operator(emulator, kind, deferrable=True)
        assert resumed.execute_complete(context(), {"status": "success", "job_id": job_id}) == job_id
    [job] = emulator.client("batch").describe_jobs(jobs=[job_id])["jobs"]
    assert job["status"] == "SUCCEEDED"
    return str(job_id)
