"""The infrastructure example DAG, run three times by a real Airflow against the emulator.

Run 1 creates the environment and keeps it, run 2 finds everything matching and writes
nothing, run 3 tears it all down.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.e2e.airflow_run import DagTestRun, dags_test

#: The three runs share one deadline, which fails the fixture with the late run's output before
#: pytest-timeout would stop the first test without it.
RUNS_DEADLINE_SECONDS = 480.0
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(RUNS_DEADLINE_SECONDS + 60)]

DAGS = Path(__file__).resolve().parents[2] / "dags"
COMPUTE_ENVIRONMENTS = ["infra-on-demand", "infra-spot", "infra-fargate", "infra-fargate-spot"]
QUEUES = ["infra-critical", "infra-critical-fargate", "infra-bulk", "infra-bulk-fargate"]
JOB_TASKS = ["critical_job", "critical_fargate_job", "bulk_job", "bulk_fargate_job"]
RESOURCES = 9


@pytest.fixture(scope="module")
def runs(emulator, tmp_path_factory) -> list[DagTestRun]:
    home = tmp_path_factory.mktemp("airflow-infra")
    deadline = time.monotonic() + RUNS_DEADLINE_SECONDS

    def run(keep: bool) -> DagTestRun:
        conf = json.dumps({"keep_environment": keep})
        left = max(1.0, deadline - time.monotonic())
        return dags_test("batch_infra", DAGS, home, emulator.airflow_connection, conf, timeout=left)

    return [run(keep=True), run(keep=True), run(keep=False)]


def live(emulator) -> tuple[list[str], list[str], list[str]]:
    batch = emulator.client("batch")
    ces = [
        ce["computeEnvironmentName"]
        for ce in batch.describe_compute_environments()["computeEnvironments"]
        if ce["computeEnvironmentName"].startswith("infra-") and ce["status"] != "DELETED"
    ]
    queues = [
        q["jobQueueName"]
        for q in batch.describe_job_queues()["jobQueues"]
        if q["jobQueueName"].startswith("infra-") and q["status"] != "DELETED"
    ]
    policies = [
        p["arn"] for p in batch.list_scheduling_policies()["schedulingPolicies"] if "infra-" in p["arn"]
    ]
    return sorted(ces), sorted(queues), policies


def write_counts(run: DagTestRun) -> list[int]:
    return [int(n) for n in re.findall(r": (\d+) AWS write call\(s\)", run.task_output("environment_setup"))]


def test_first_run_creates_the_environment_and_runs_a_job_on_each_queue(runs):
    first = runs[0]
    assert first.summary["state"] == "success", first.output[-3000:]
    for task in ["network", "environment_setup", *JOB_TASKS]:
        assert first.state(task) == "success", task
    assert first.state("environment_teardown") == "skipped"
    counts = write_counts(first)
    assert len(counts) == RESOURCES
    assert all(count >= 1 for count in counts)
    for task, queue in zip(JOB_TASKS, QUEUES, strict=True):
        assert f"[batch] ran on {queue}" in first.task_output(task)


def test_second_run_finds_everything_matching_and_writes_nothing(runs, emulator):
    second = runs[1]
    assert second.summary["state"] == "success", second.output[-3000:]
    assert write_counts(second) == [0] * RESOURCES
    assert second.task_output("environment_setup").count("matches its spec: nothing to do") == RESOURCES


def test_third_run_tears_everything_down(runs, emulator):
    third = runs[2]
    assert third.summary["state"] == "success", third.output[-3000:]
    assert third.state("environment_teardown") == "success"
    deleted = third.task("environment_teardown")["return_value"]
    assert sorted(deleted) == sorted([*QUEUES, *COMPUTE_ENVIRONMENTS, "infra-fair-share"])
    assert live(emulator) == ([], [], [])
