"""Crashes and interruptions in a real Airflow: nothing is duplicated, no job is left running unowned.

One cluster (api-server, scheduler with LocalExecutor, dag-processor, triggerer as separate
processes) runs tests/e2e/dags_crash/crash_scenarios.py against the emulator. All scenario DAGs
are triggered at once when the cluster is up, so their jobs run side by side; each test then
waits for its moment and interrupts:

- the worker running a sync task is SIGKILLed after SubmitJob: the retry reattaches, one job;
- the triggerer is SIGKILLed while a task is deferred, then started again: the wait resumes from
  the serialized trigger and the task succeeds, one job;
- a running sync task is marked failed, a sync and a deferred task are cleared, and a deferred
  task times out: each job is terminated with a reason naming the DAG, run and task.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.airflow_versions import needs_trigger_on_kill
from tests.e2e.cluster import AirflowCluster, start_cluster, task_process_ids

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).parent / "dags_crash"
TASK = "job"
SCENARIOS = (
    "crash_worker_killed",
    "crash_triggerer_restarted",
    "crash_sync_marked_failed",
    "crash_sync_cleared",
    "crash_deferred_cleared",
    "crash_deferred_timed_out",
)
WAIT = 150.0


def selected_scenarios(session: pytest.Session) -> list[str]:
    """The scenario DAGs of this module's tests that the session runs (``-k`` may select a few)."""
    here = [
        item
        for item in session.items
        if item.module is not None
        and item.module.__name__ == __name__
        and not any(marker.args and marker.args[0] for marker in item.iter_markers("skipif"))
    ]
    named = {marker.args[0] for item in here for marker in item.iter_markers("scenario")}
    return [dag_id for dag_id in SCENARIOS if dag_id in named]


@pytest.fixture(scope="module")
def cluster(emulator, tmp_path_factory, request) -> Iterator[tuple[AirflowCluster, dict[str, str]]]:
    """The cluster, and a run of each selected test's scenario DAG, all triggered at once."""
    running = start_cluster(emulator.airflow_connection, tmp_path_factory.mktemp("crash-airflow"), DAGS)
    try:
        runs = {dag_id: running.trigger(dag_id) for dag_id in selected_scenarios(request.session)}
        yield running, runs
    finally:
        running.stop()


def jobs_named(emulator: Any, name: str) -> list[dict[str, Any]]:
    """Every job of the emulator's queue with this name, in any status, oldest first."""
    batch = emulator.client("batch")
    ids = [
        summary["jobId"]
        for summary in batch.list_jobs(
            jobQueue=emulator.job_queue, filters=[{"name": "JOB_NAME", "values": [name]}]
        )["jobSummaryList"]
    ]
    jobs = batch.describe_jobs(jobs=ids)["jobs"] if ids else []
    return sorted(jobs, key=lambda job: job["createdAt"])


def job_name(dag_id: str) -> str:
    return dag_id.replace("_", "-")


def wait_job_running(cluster: AirflowCluster, emulator: Any, dag_id: str) -> dict[str, Any]:
    def running() -> dict[str, Any] | None:
        jobs = [job for job in jobs_named(emulator, job_name(dag_id)) if job["status"] == "RUNNING"]
        return jobs[0] if jobs else None

    return dict(cluster.wait(f"the job of {dag_id} to run", running, WAIT))


def wait_task_state(cluster: AirflowCluster, dag_id: str, run_id: str, *states: str) -> str:
    return str(
        cluster.wait(
            f"{dag_id}.{TASK} to be {' or '.join(states)}",
            lambda: state if (state := cluster.task_state(dag_id, run_id, TASK)) in states else None,
            WAIT,
        )
    )


def wait_job_ended(cluster: AirflowCluster, emulator: Any, job_id: str) -> dict[str, Any]:
    batch = emulator.client("batch")

    def ended() -> dict[str, Any] | None:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        return job if job["status"] in ("SUCCEEDED", "FAILED") else None

    return dict(cluster.wait(f"job {job_id} to end", ended, WAIT))


def assert_terminated_by_airflow(
    job: dict[str, Any], dag_id: str, run_id: str, why: str = "was stopped"
) -> None:
    assert job["status"] == "FAILED", job["status"]
    assert job.get("statusReason", "").startswith(f"Terminated by Airflow: task {dag_id}/{run_id}/{TASK}"), (
        job.get("statusReason")
    )
    assert why in job["statusReason"]


@pytest.mark.scenario("crash_worker_killed")
def test_a_killed_worker_is_retried_and_the_retry_reattaches_to_the_same_job(cluster, emulator):
    airflow, runs = cluster
    dag_id, run_id = "crash_worker_killed", runs["crash_worker_killed"]
    job = wait_job_running(airflow, emulator, dag_id)
    ti = airflow.task_instance(dag_id, run_id, TASK)
    assert ti["state"] == "running"
    pids = airflow.wait("the task's process", lambda: task_process_ids(ti["id"]), 30)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)

    assert wait_task_state(airflow, dag_id, run_id, "success", "failed") == "success", airflow.tails()
    final = airflow.task_instance(dag_id, run_id, TASK)
    assert final["try_number"] == 2, "the killed try failed and the retry ran"
    jobs = jobs_named(emulator, job_name(dag_id))
    assert [j["jobId"] for j in jobs] == [job["jobId"]], "exactly one job: the retry reattached to it"
    assert jobs[0]["status"] == "SUCCEEDED"
    xcom = airflow.api.get(
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{TASK}/xcomEntries/return_value"
    )
    assert xcom.status_code == 200, xcom.text
    assert job["jobId"] in str(xcom.json()["value"]), "the retry returns the job it reattached to"


@pytest.mark.scenario("crash_triggerer_restarted")
def test_a_restarted_triggerer_resumes_the_deferred_wait(cluster, emulator):
    airflow, runs = cluster
    dag_id, run_id = "crash_triggerer_restarted", runs["crash_triggerer_restarted"]
    job = wait_job_running(airflow, emulator, dag_id)
    wait_task_state(airflow, dag_id, run_id, "deferred")
    airflow.kill("triggerer")
    assert airflow.task_state(dag_id, run_id, TASK) == "deferred", "the task waits while no triggerer runs"
    airflow.restart("triggerer")

    assert wait_task_state(airflow, dag_id, run_id, "success", "failed") == "success", airflow.tails()
    jobs = jobs_named(emulator, job_name(dag_id))
    assert [j["jobId"] for j in jobs] == [job["jobId"]]
    assert jobs[0]["status"] == "SUCCEEDED"
    assert airflow.task_instance(dag_id, run_id, TASK)["try_number"] == 1, "no retry was needed"


@pytest.mark.scenario("crash_sync_marked_failed")
def test_marking_a_running_sync_task_failed_terminates_its_job(cluster, emulator):
    airflow, runs = cluster
    dag_id, run_id = "crash_sync_marked_failed", runs["crash_sync_marked_failed"]
    job = wait_job_running(airflow, emulator, dag_id)
    wait_task_state(airflow, dag_id, run_id, "running")
    airflow.set_task_state(dag_id, run_id, TASK, "failed")
    ended = wait_job_ended(airflow, emulator, job["jobId"])
    assert_terminated_by_airflow(ended, dag_id, run_id)
    assert airflow.task_state(dag_id, run_id, TASK) == "failed"


@pytest.mark.parametrize(
    ("dag_id", "waiting_state"),
    [
        pytest.param("crash_sync_cleared", "running", marks=pytest.mark.scenario("crash_sync_cleared")),
        pytest.param(
            "crash_deferred_cleared",
            "deferred",
            marks=[pytest.mark.scenario("crash_deferred_cleared"), needs_trigger_on_kill],
        ),
    ],
)
def test_clearing_a_task_terminates_its_job_and_the_new_try_runs_a_new_one(
    cluster, emulator, dag_id, waiting_state
):
    airflow, runs = cluster
    run_id = runs[dag_id]
    first = wait_job_running(airflow, emulator, dag_id)
    wait_task_state(airflow, dag_id, run_id, waiting_state)
    if waiting_state == "deferred":
        # Its on_kill runs in the triggerer that runs its trigger: the triggerer restarted by an
        # earlier test takes it over only once the killed one is seen dead.
        airflow.wait(
            f"the live triggerer to take {dag_id}'s trigger",
            lambda: airflow.trigger_taken(dag_id, run_id, TASK),
            WAIT,
        )
    airflow.clear_task(dag_id, run_id, TASK)

    ended = wait_job_ended(airflow, emulator, first["jobId"])
    assert_terminated_by_airflow(ended, dag_id, run_id)
    assert wait_task_state(airflow, dag_id, run_id, "success", "failed") == "success", airflow.tails()
    jobs = jobs_named(emulator, job_name(dag_id))
    assert len(jobs) == 2, "the cleared try's job, then the new try's"
    assert jobs[0]["jobId"] == first["jobId"]
    assert jobs[1]["status"] == "SUCCEEDED"


@pytest.mark.scenario("crash_deferred_timed_out")
def test_a_deferred_task_that_times_out_terminates_its_job(cluster, emulator):
    airflow, runs = cluster
    dag_id, run_id = "crash_deferred_timed_out", runs["crash_deferred_timed_out"]
    # Its 25 s execution_timeout may have passed before this test starts: look at the outcome.
    assert wait_task_state(airflow, dag_id, run_id, "failed", "success") == "failed"
    [job] = airflow.wait(f"the job of {dag_id}", lambda: jobs_named(emulator, job_name(dag_id)), WAIT)
    ended = wait_job_ended(airflow, emulator, job["jobId"])
    assert_terminated_by_airflow(ended, dag_id, run_id, why="timed out")
