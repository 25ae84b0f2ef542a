"""The example ETL DAG run by a real Airflow against the emulator: the run of ``etl_stack`` (the
first on the session emulator: tests/conftest.py runs this module first in the stack's group), a
second run, and a deferrable run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.airflow_run import DagTestRun, dags_test
from tests.e2e.stack import ETL_CONF, EtlStack

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).resolve().parents[2] / "dags"
PARTITIONS = 3
CONF = json.dumps({"partitions": PARTITIONS, "rows_per_partition": 200})


@pytest.fixture(scope="module")
def first_run(etl_stack: EtlStack) -> DagTestRun:
    """``airflow dags test batch_etl`` with this module's conf: the stack's run (same DAG, same conf,
    same session emulator), not a second identical one."""
    assert json.loads(ETL_CONF) == json.loads(CONF), "the stack runs batch_etl with this module's conf"
    return etl_stack.dag_run


def test_every_task_succeeds(first_run):
    assert first_run.returncode == 0, first_run.output[-3000:]
    assert first_run.summary["state"] == "success"
    states = {task["task_id"]: task["state"] for task in first_run.summary["tasks"]}
    assert states == {
        "register_definition": "success",
        "extract": "success",
        "transform": "success",
        "load": "success",
        "extract_done": "success",
        "transform_done": "success",
        "report": "success",
    }


def test_job_output_is_in_the_task_logs(first_run):
    load = first_run.task_output("load")
    assert f"[batch] load: {PARTITIONS} partitions, revenue" in load
    assert "[batch] load: books" in load
    assert f"{PARTITIONS} succeeded, 0 failed, 0 running, 0 waiting of {PARTITIONS}" in first_run.task_output(
        "transform_done"
    )
    assert "Revenue " in first_run.task_output("report")


def test_batch_ran_the_stages_as_chained(first_run, emulator):
    batch = emulator.client("batch")
    ids = {stage: first_run.task(stage)["return_value"] for stage in ("extract", "transform", "load")}
    jobs = {job["jobId"]: job for job in batch.describe_jobs(jobs=list(ids.values()))["jobs"]}
    assert all(job["status"] == "SUCCEEDED" for job in jobs.values())
    transform = jobs[ids["transform"]]
    assert transform["dependsOn"] == [{"jobId": ids["extract"], "type": "N_TO_N"}]
    assert jobs[ids["load"]]["dependsOn"][0]["jobId"] == ids["transform"]
    children = {
        stage: {
            job["arrayProperties"]["index"]: job
            for job in batch.describe_jobs(jobs=[f"{ids[stage]}:{i}" for i in range(PARTITIONS)])["jobs"]
        }
        for stage in ("extract", "transform")
    }
    for index in range(PARTITIONS):
        assert children["transform"][index]["startedAt"] >= children["extract"][index]["stoppedAt"]


def test_submit_tasks_push_what_later_tasks_need(first_run):
    transform = first_run.task("transform")["xcoms"]
    assert transform["array_size"] == PARTITIONS
    assert transform["job_name"] == "etl-transform"
    assert transform["job_arn"].endswith(f"job/{transform['return_value']}")
    assert transform["job_queue"].endswith("job-queue/airflow-batch-queue")
    load = first_run.task("load")["xcoms"]
    assert load["array_size"] is None
    [stream] = load["log_stream_names"]
    assert stream.startswith("airflow-batch-etl/default/")
    register = first_run.task("register_definition")["xcoms"]
    assert register["registered"] is True
    assert register["return_value"].endswith(f"job-definition/airflow-batch-etl:{register['revision']}")


def test_report_reads_what_the_load_job_wrote(first_run, emulator):
    s3 = emulator.client("s3")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="airflow-batch-demo")["Contents"]]
    assert sum("/raw/part-" in key for key in keys) >= PARTITIONS
    assert any(key.endswith("/report.json") for key in keys)
    report = json.loads(
        s3.get_object(Bucket="airflow-batch-demo", Key=next(k for k in keys if k.endswith("report.json")))[
            "Body"
        ].read()
    )
    assert report["partitions"] == PARTITIONS
    assert round(sum(report["revenue_by_category"].values()), 2) == report["revenue"]


def test_second_run_reuses_the_job_definition(first_run, emulator, tmp_path):
    second = dags_test("batch_etl", DAGS, tmp_path / "airflow", emulator.airflow_connection, CONF)
    assert second.summary["state"] == "success", second.output[-3000:]
    assert "already matches the spec; nothing registered" in second.task_output("register_definition")
    revisions = emulator.client("batch").describe_job_definitions(
        jobDefinitionName="airflow-batch-etl", status="ACTIVE"
    )["jobDefinitions"]
    assert len(revisions) == 1


def test_the_whole_pipeline_runs_deferrable(emulator, tmp_path):
    """[operators] default_deferrable=True: every Batch wait goes through the triggers."""
    run = dags_test(
        "batch_etl",
        DAGS,
        tmp_path / "airflow",
        emulator.airflow_connection,
        CONF,
        extra_env={"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"},
    )
    assert run.summary["state"] == "success", run.output[-3000:]
    assert all(task["state"] == "success" for task in run.summary["tasks"])
    load = run.task_output("load")
    assert "BatchJobTrigger" in load
    assert f"[batch] load: {PARTITIONS} partitions, revenue" in load
    assert f"{PARTITIONS} succeeded, 0 failed" in run.task_output("transform_done")
