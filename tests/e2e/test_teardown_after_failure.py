"""A failed run's teardown terminates the Batch jobs it left running and deletes its environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.airflow_run import dags_test

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).parent / "dags_teardown"
PREFIX = "teardown-e2e"


def test_the_teardown_of_a_failed_run_leaves_no_job_running(emulator, tmp_path):
    run = dags_test("teardown_after_failure", DAGS, tmp_path / "airflow", emulator.airflow_connection)
    assert run.summary["state"] == "failed", "the run failed: one of its jobs failed"
    assert run.state("fails") == "failed"
    assert run.state("left_running") == "success", "it submitted its job and did not wait"
    assert run.state("environment_teardown") == "success", run.task_output("environment_teardown")

    batch = emulator.client("batch")
    left = batch.describe_jobs(jobs=[run.task("left_running")["return_value"]])["jobs"][0]
    assert left["status"] == "FAILED", "terminated by the teardown, not left running"
    assert left.get("statusReason"), left
    queues = batch.describe_job_queues(jobQueues=[f"{PREFIX}-queue"])["jobQueues"]
    assert all(queue["status"] == "DELETED" for queue in queues)
    environments = batch.describe_compute_environments(computeEnvironments=[f"{PREFIX}-ce"])[
        "computeEnvironments"
    ]
    assert all(environment["status"] == "DELETED" for environment in environments)
    assert "terminate" in run.task_output("environment_teardown").lower()
