"""The example ETL pipeline under faults: 30% of Batch and Logs calls throttled, 5% failing transiently.

``airflow dags test batch_etl`` runs with its AWS connection pointed at the fault proxy, in front of
an emulator of its own, once waiting on the worker and once deferred. Every task must succeed at
its first try, each stage must have submitted exactly one Batch job, and the job output must
still reach the task logs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from tests.e2e.airflow_run import DagTestRun, dags_test
from tests.fault_injection import FAULTS, emulator_and_proxy, fault_summary, proxy_counts

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).resolve().parents[2] / "dags"
PARTITIONS = 3
CONF = json.dumps({"partitions": PARTITIONS, "rows_per_partition": 200})
STAGES = {"extract": "etl-extract", "transform": "etl-transform", "load": "etl-load"}


class FaultyRun:
    """One run of batch_etl through the proxy: the run, the proxy's counts, the emulator's jobs."""

    def __init__(
        self, mode: str, run: DagTestRun, counts: dict[str, Any], jobs: dict[str, list[str]], seconds: float
    ) -> None:
        self.mode = mode
        self.run = run
        self.counts = counts
        self.jobs = jobs
        self.seconds = seconds


def emulator_batch(endpoint_url: str) -> Any:
    """A Batch client straight to the emulator, not through the proxy."""
    return boto3.client(
        "batch",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def jobs_by_name(endpoint_url: str, names: list[str]) -> dict[str, list[str]]:
    """The ids of the jobs of each name in the emulator's queue, and the ACTIVE definition ARNs."""
    batch = emulator_batch(endpoint_url)
    found: dict[str, list[str]] = {}
    for name in names:
        pages = batch.get_paginator("list_jobs").paginate(
            jobQueue="airflow-batch-queue", filters=[{"name": "JOB_NAME", "values": [name]}]
        )
        found[name] = [summary["jobId"] for page in pages for summary in page["jobSummaryList"]]
    definitions = batch.describe_job_definitions(jobDefinitionName="airflow-batch-etl", status="ACTIVE")
    found["definitions"] = [item["jobDefinitionArn"] for item in definitions["jobDefinitions"]]
    return found


#: Waiting mode and fault seed: seed 6 loses SubmitJob's answer after the job was created (the
#: hook must find it); seed 232 fails a SubmitJob before it arrives (the hook must send it again),
#: loses RegisterJobDefinition's answer after the revision was registered, and resets
#: DescribeJobs connections.
RUNS = {"sync": 6, "deferrable": 232}


@pytest.fixture(scope="module", params=list(RUNS))
def faulty_run(request, tmp_path_factory) -> Iterator[FaultyRun]:
    """One run per waiting mode, each on an emulator and proxy of its own."""
    base = tmp_path_factory.mktemp(f"fault-etl-{request.param}")
    deferrable = {"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": str(request.param == "deferrable")}
    with emulator_and_proxy(base, FAULTS, seed=RUNS[request.param]) as (emulator, proxy):
        started = time.monotonic()
        run = dags_test("batch_etl", DAGS, base / "airflow", proxy.connection, CONF, extra_env=deferrable)
        seconds = time.monotonic() - started
        jobs = jobs_by_name(emulator.endpoint_url, list(STAGES.values()))
        yield FaultyRun(request.param, run, proxy_counts(proxy), jobs, seconds)


def test_every_task_succeeds_at_its_first_try(faulty_run):
    run = faulty_run.run
    assert run.returncode == 0, run.output[-3000:]
    assert run.summary["state"] == "success", run.output[-3000:]
    tries = {task["task_id"]: (task["state"], task["try_number"]) for task in run.summary["tasks"]}
    assert tries == {
        task_id: ("success", 1)
        for task_id in (
            "register_definition",
            "extract",
            "transform",
            "load",
            "extract_done",
            "transform_done",
            "report",
        )
    }


def test_each_stage_submitted_exactly_one_job(faulty_run):
    summary = fault_summary(faulty_run.counts)
    assert summary["submit_job"]["succeeded"] == len(STAGES)
    for task_id, name in STAGES.items():
        assert faulty_run.jobs[name] == [faulty_run.run.task(task_id)["return_value"]]


def test_one_job_definition_revision_was_registered(faulty_run):
    registered = faulty_run.run.task("register_definition")["return_value"]
    assert faulty_run.jobs["definitions"] == [registered]


def test_the_faults_happened_and_were_ridden_out(faulty_run):
    counts = faulty_run.counts
    summary = fault_summary(counts)
    output = faulty_run.run.output
    assert counts["batch:DescribeJobs"]["faults"].get("throttle", 0) > 0
    assert sum(counts["logs:GetLogEvents"]["faults"].values()) > 0
    assert summary["faults"] >= 10
    if faulty_run.mode == "sync":
        assert "the lost submission did land" in output
    else:
        assert "the lost submission did not land" in output
        assert "the lost registration did land" in output
    assert output.count("retrying in") > 0
    load = faulty_run.run.task_output("load")
    if faulty_run.mode == "deferrable":
        assert "BatchJobTrigger" in load
    assert f"[batch] load: {PARTITIONS} partitions, revenue" in load
    assert f"{PARTITIONS} succeeded, 0 failed" in faulty_run.run.task_output("transform_done")
    figures = {
        **summary,
        "retries_logged": output.count("retrying in"),
        "ambiguous_submits_found": output.count("the lost submission did land"),
        "ambiguous_submits_resent": output.count("the lost submission did not land"),
        "lost_registrations_found": output.count("the lost registration did land"),
        "seconds": round(faulty_run.seconds, 1),
    }
    print(f"\nFAULT RUN batch_etl ({faulty_run.mode}): {json.dumps(figures)}")
