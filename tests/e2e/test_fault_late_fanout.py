"""One live job per task instance when AWS's answers are lost and the requests land late.

``airflow dags test fault_fanout`` (30 mapped deferrable jobs, an array job and a job depending on
it) runs through the fault proxy: 20 % of the answers to every write (SubmitJob,
RegisterJobDefinition, TerminateJob, CancelJob, DeregisterJobDefinition) are lost, evenly as a
503, a reset or no answer until the client's read timeout (3 s here), and each such request
reaches the emulator read timeout + 5 s, 5 s or 1 s after the client saw the failure: the proxy
gives each write's lost requests of one kind those delays in turn, and the seed makes SubmitJob
meet every kind at every delay. Every task must be green at its first try, each task instance
must have exactly one job that was not stopped as a duplicate (the one it returned), every
duplicate must have been cancelled before it ran or terminated and reported in the task's
``duplicate_jobs`` XCom, and the job definition must have one ACTIVE revision. The figures are
printed (``FAULT RUN``) and recorded as a test property.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from airflow_batch_plugin.hooks.batch import SUBMIT_TOKEN_TAG
from airflow_batch_plugin.identity import MAP_INDEX_TAG, TASK_TAG
from aws_batch_local.fault_rules import draw
from tests.e2e.airflow_run import DagTestRun, dags_test
from tests.fault_injection import emulator_and_proxy, proxy_counts

#: The run takes about 4 minutes here; it fails the module's fixture with its output if it has not
#: ended after RUN_TIMEOUT_SECONDS.
RUN_TIMEOUT_SECONDS = 900.0
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 300)]

DAGS = Path(__file__).resolve().parent / "dags_fault_fanout"
QUEUE = "airflow-batch-queue"
READ_TIMEOUT = 3.0
#: How long after the client saw the failure a lost request reaches the emulator, in turn for each
#: write's lost requests of one kind: the first of each waits longest, so that the first lost
#: registration lands after the hook's lookups (7 s) and leaves a revision to deregister.
DELAYS = (READ_TIMEOUT + 5.0, 5.0, 1.0)
LOST_KINDS = ("503", "reset", "timeout")
#: How long a duplicate job lasts. Only requests landing after the hook's last lookup make
#: duplicates; they last long enough for a stop whose own answer is lost by a read timeout to be
#: retried before they end (the emulator starts a job within a second, AWS does not).
JOB_SECONDS = 6
WRITES = ("SubmitJob", "RegisterJobDefinition", "TerminateJob", "CancelJob", "DeregisterJobDefinition")
FAULTS = ",".join(f"{write}:lost@late=0.2" for write in WRITES)
JOB_NAMES = ("fault-fanout", "fault-fanout-array", "fault-fanout-dependent")
DEFINITION = "fault-fanout"
TASK_INSTANCES = 30 + 2
DUPLICATE_REASON = "Duplicate of AWS Batch job"


def fault_seed(rate: float = 0.2) -> int:
    """The first seed under which every write path meets the fault early: the first
    RegisterJobDefinition and DeregisterJobDefinition answers are lost, one of the first four
    TerminateJob answers (duplicates are stopped with it) too, and among the first 32 SubmitJob
    answers each of the three ways is lost at least once per delay (the delays go in turn)."""

    def faults(action: str, requests: int) -> list[str | None]:
        rng = random.Random(f"{seed}:batch:{action}")
        return [draw(rng, [("lost@late", rate)]) for _ in range(requests)]

    for seed in range(10_000):
        if (
            faults("RegisterJobDefinition", 1)[0]
            and faults("DeregisterJobDefinition", 1)[0]
            and any(faults("TerminateJob", 4))
            and all(
                faults("SubmitJob", TASK_INSTANCES).count(f"{kind}@late") >= len(DELAYS)
                for kind in LOST_KINDS
            )
        ):
            return seed
    raise AssertionError("no such seed")


@dataclass
class LateRun:
    """The run of fault_fanout through the proxy: the run, the emulator's jobs and revisions, counts."""

    run: DagTestRun
    jobs: list[dict[str, Any]]
    revisions: list[dict[str, Any]]
    counts: dict[str, Any]
    seconds: float

    def task_instances(self) -> list[dict[str, Any]]:
        return [
            task for task in self.run.summary["tasks"] if task["task_id"] in ("fanout", "array", "dependent")
        ]

    def jobs_of(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        index = str(task["map_index"])
        return [job for job in self.jobs if job["tags"].get(TASK_TAG) == task["task_id"]
                and job["tags"].get(MAP_INDEX_TAG) == index]  # fmt: skip


def emulator_batch(endpoint_url: str) -> Any:
    return boto3.client(
        "batch",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def all_jobs(endpoint_url: str) -> list[dict[str, Any]]:
    """Every job of the fan-out's names in the emulator's queue, described (array children left out)."""
    batch = emulator_batch(endpoint_url)
    ids: list[str] = []
    for name in JOB_NAMES:
        pages = batch.get_paginator("list_jobs").paginate(
            jobQueue=QUEUE, filters=[{"name": "JOB_NAME", "values": [name]}]
        )
        ids += [summary["jobId"] for page in pages for summary in page["jobSummaryList"]]
    return [
        job
        for start in range(0, len(ids), 100)
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
    ]


def nothing_left_to_land(proxy_endpoint: Any, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        counts = proxy_counts(proxy_endpoint)
        if not any(action.get("pending") for action in counts.values()):
            return counts
        assert time.monotonic() < deadline, f"requests still to land: {counts}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def late_run(tmp_path_factory) -> LateRun:
    """Run fault_fanout once on an emulator and proxy of its own, lost requests landing late."""
    base = tmp_path_factory.mktemp("late")
    with emulator_and_proxy(base, FAULTS, seed=fault_seed(), late_seconds=DELAYS) as (emulator, proxy):
        connection = json.loads(proxy.connection)
        connection["extra"]["config_kwargs"] = {"read_timeout": READ_TIMEOUT}
        started = time.monotonic()
        job_seconds = {"FAULT_FANOUT_JOB_SECONDS": str(JOB_SECONDS)}
        run = dags_test(
            "fault_fanout",
            DAGS,
            base / "airflow",
            json.dumps(connection),
            extra_env=job_seconds,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        seconds = time.monotonic() - started
        (base / "dags-test-output.log").write_text(run.output)  # to read after a failure
        counts = nothing_left_to_land(proxy)  # a late request landing after the run would show now
        revisions = emulator_batch(emulator.endpoint_url).describe_job_definitions(
            jobDefinitionName=DEFINITION
        )
        return LateRun(run, all_jobs(emulator.endpoint_url), revisions["jobDefinitions"], counts, seconds)


def test_every_task_is_green_at_its_first_try(late_run):
    run = late_run.run
    assert run.returncode == 0, run.output[-4000:]
    assert run.summary["state"] == "success", run.output[-4000:]
    tries = [(task["task_id"], task["state"], task["try_number"]) for task in late_run.task_instances()]
    assert len(tries) == TASK_INSTANCES
    assert {(state, number) for _, state, number in tries} == {("success", 1)}


def test_each_task_instance_has_exactly_one_live_job(late_run):
    for task in late_run.task_instances():
        jobs = late_run.jobs_of(task)
        live = [job for job in jobs if not str(job.get("statusReason", "")).startswith(DUPLICATE_REASON)]
        assert [job["jobId"] for job in live] == [task["return_value"]], (task, jobs)
        assert len({job["tags"][SUBMIT_TOKEN_TAG] for job in jobs}) == 1, "one submission per task instance"
        extras = {job["jobId"]: job for job in jobs if job not in live}
        reported = {item["jobId"]: item for item in task["xcoms"].get("duplicate_jobs") or []}
        assert set(extras) <= set(reported), "every duplicate is reported in the task's XCom"
        for job_id, job in extras.items():
            assert job["status"] == "FAILED"
            assert job["isTerminated"] is True, "stopped by the hook (TerminateJob)"
            if reported[job_id]["action"] == "cancelled":
                assert "startedAt" not in job, "cancelled before it ran"
            else:
                assert reported[job_id]["action"] == "terminated"
                assert "startedAt" in job
            assert job["tags"][SUBMIT_TOKEN_TAG] in job["statusReason"]


def test_the_job_definition_has_one_active_revision(late_run):
    active = [revision for revision in late_run.revisions if revision["status"] == "ACTIVE"]
    assert len(active) == 1, late_run.revisions
    used = {job["jobDefinition"] for job in late_run.jobs}
    assert used == {active[0]["jobDefinitionArn"]}


def test_the_faults_happened_and_the_figures_are_recorded(late_run, record_property):
    counts = late_run.counts
    output = late_run.run.output
    submit_late = counts["batch:SubmitJob"]["late"]
    every_way_and_delay = {f"{kind}@late {delay:g}s" for kind in LOST_KINDS for delay in DELAYS}
    assert every_way_and_delay <= set(submit_late), "every way an answer is lost, at every delay"
    assert counts["batch:RegisterJobDefinition"]["faults"], "the first registration's answer was lost"
    extras = [job for job in late_run.jobs if str(job.get("statusReason", "")).startswith(DUPLICATE_REASON)]
    by_action: dict[str, int] = defaultdict(int)
    for task in late_run.task_instances():
        for item in task["xcoms"].get("duplicate_jobs") or []:
            by_action[item["action"]] += 1
    by_delay: dict[str, int] = defaultdict(int)
    for label, number in submit_late.items():
        by_delay[label.split()[-1]] += number
    figures = {
        "jobs": len(late_run.jobs),
        "task_instances": len(late_run.task_instances()),
        "live_jobs": len(late_run.jobs) - len(extras),
        "duplicates": len(extras),
        "duplicates_by_action": dict(by_action),
        "submit_job": {key: counts["batch:SubmitJob"][key] for key in ("requests", "succeeded", "faults")},
        "submit_job_lost_by_delay": dict(by_delay),
        "register_job_definition": {
            key: counts["batch:RegisterJobDefinition"][key] for key in ("requests", "succeeded", "faults")
        },
        "lost_submissions_found": output.count("the lost submission did land"),
        "lost_submissions_resent": output.count("the lost submission did not land"),
        "lost_registrations_found": output.count("the lost registration did land"),
        "revisions": {
            "active": sum(r["status"] == "ACTIVE" for r in late_run.revisions),
            "deregistered": sum(r["status"] == "INACTIVE" for r in late_run.revisions),
        },
        "other_write_faults": {
            write: counts.get(f"batch:{write}", {}).get("faults", {}) for write in WRITES[2:]
        },
        "seconds": round(late_run.seconds, 1),
    }
    record_property("late_fault_run", figures)
    print(f"\nFAULT RUN fault_fanout, lost requests landing late: {json.dumps(figures)}")
    assert figures["lost_submissions_found"] > 0, "landing within the lookups: found, not sent again"
    assert figures["lost_submissions_resent"] > 0, "landing after the lookups: sent again"
    assert figures["duplicates"] > 0, "the late requests made duplicates, which were stopped"
    assert figures["revisions"]["deregistered"] == 1, "the late revision was deregistered"
    assert counts["batch:TerminateJob"]["faults"], "stopping a duplicate met the fault too"
    assert counts["batch:DeregisterJobDefinition"]["faults"], "so did deregistering the revision"
