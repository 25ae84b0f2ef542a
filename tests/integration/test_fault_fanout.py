"""A 200-job fan-out through the fault proxy: nothing lost, nothing duplicated, no task failed by a fault.

30% of Batch and CloudWatch Logs calls are throttled and 5% fail transiently (half of them after
the request reached the emulator, the answer lost: an ambiguous SubmitJob). 200 submissions go
through ``BatchHook.submit_job`` from 50 threads; every job is then followed both by 200
``BatchJobTrigger``s on the shared async poller and by a sync ``JobStatusPoller``; some jobs' logs
are read through the proxy too. The proxy must have forwarded exactly one successful SubmitJob
per job, and the emulator must hold exactly 200 jobs.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from airflow_batch_plugin import BatchJobTrigger, JobDefinitionSpec
from airflow_batch_plugin.hooks import pacing
from airflow_batch_plugin.hooks.batch import SUBMIT_TOKEN_TAG, BatchHook
from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook, LogStreamFollower
from airflow_batch_plugin.job_state import log_group_name, log_stream_name
from airflow_batch_plugin.poller import JobStatusPoller, registered_pollers
from tests.fault_injection import (
    FAULTS,
    LogCounter,
    emulator_and_proxy,
    fault_proxy,
    fault_summary,
    proxy_counts,
    reset_proxy_counts,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fault_injection import Service

pytestmark = pytest.mark.integration

JOBS = 200
THREADS = 50
QUEUE = "airflow-batch-queue"
JOB_NAME = "fanout"  # one name for all, as a mapped task's jobs have: the lookups must tell them apart
INDEX_TAG = "fanout:index"


def expected_status(index: int) -> str:
    return "FAILED" if index % 10 == 3 else "SUCCEEDED"


def command(index: int) -> list[str]:
    if expected_status(index) == "FAILED":
        return ["sh", "-c", f"echo fanout-{index} failing; exit 3"]
    return ["echo", f"fanout-{index} done"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[tuple[Service, Service]]:
    with emulator_and_proxy(tmp_path_factory.mktemp("fault-fanout"), FAULTS) as services:
        yield services


@pytest.fixture
def through_proxy(stack, monkeypatch) -> Iterator[Service]:
    """Point ``aws_default`` at the proxy; fresh pacing buckets; the proxy's counts from zero."""
    _, proxy = stack
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", proxy.connection)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    pacing.reset_buckets()
    reset_proxy_counts(proxy)
    yield proxy
    pacing.reset_buckets()


def emulator_client(emulator: Service) -> Any:
    return boto3.client(
        "batch",
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def jobs_named(emulator: Service, name: str) -> list[dict[str, Any]]:
    """Every job of the queue called ``name``, straight from the emulator (no proxy), any status."""
    batch = emulator_client(emulator)
    pages = batch.get_paginator("list_jobs").paginate(
        jobQueue=QUEUE, filters=[{"name": "JOB_NAME", "values": [name]}]
    )
    return [summary for page in pages for summary in page["jobSummaryList"]]


def submit_all(definition_arn: str) -> dict[int, str]:
    """Submit the fan-out from a pool of threads, each with its own hook (as each task has)."""
    local = threading.local()

    def submit(index: int) -> tuple[int, str]:
        if not hasattr(local, "hook"):
            local.hook = BatchHook()
        response = local.hook.submit_job(
            {
                "jobName": JOB_NAME,
                "jobQueue": QUEUE,
                "jobDefinition": definition_arn,
                "containerOverrides": {"command": command(index)},
                "tags": {INDEX_TAG: str(index)},
            }
        )
        return index, str(response["jobId"])

    with ThreadPoolExecutor(THREADS) as pool:
        return dict(pool.map(submit, range(JOBS)))


async def trigger_events(job_ids: dict[int, str]) -> dict[int, dict[str, Any]]:
    """Wait for every job through its own BatchJobTrigger, all on the one shared poller."""

    async def first(trigger: BatchJobTrigger) -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    triggers = {index: BatchJobTrigger(job_id=job_id, poll_interval=1.0) for index, job_id in job_ids.items()}
    results = await asyncio.gather(*(first(trigger) for trigger in triggers.values()))
    for poller in registered_pollers():
        await poller.wait_closed()
    return dict(zip(triggers, results, strict=True))


def count_lookups(monkeypatch) -> dict[str, int]:
    """Count the hook's searches for the job of a lost SubmitJob, by their outcome."""
    lookups = {"found": 0, "not found": 0}
    lock = threading.Lock()
    find_lost = BatchHook._find_lost_submission

    def spy(self: BatchHook, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        found = find_lost(self, *args, **kwargs)
        with lock:
            lookups["found" if found else "not found"] += 1
        return found

    monkeypatch.setattr(BatchHook, "_find_lost_submission", spy)
    return lookups


def test_a_200_job_fan_out_under_faults_submits_each_job_once(
    stack, through_proxy, monkeypatch, record_property
):
    emulator, _ = stack
    counter = LogCounter("retrying in", "all jobs wait")
    lookups = count_lookups(monkeypatch)
    started = time.monotonic()
    with counter.attached("airflow_batch_plugin"):
        definition = BatchHook().ensure_job_definition(
            JobDefinitionSpec.container_job("fanout", "busybox", command=["true"], vcpus=1, memory=128)
        )
        job_ids = submit_all(definition.arn)
        submitted = time.monotonic()
        sync_result: dict[str, Any] = {}
        sync_wait = threading.Thread(
            target=lambda: sync_result.update(
                JobStatusPoller(BatchHook(), interval=2.0).wait(list(job_ids.values()))
            )
        )
        sync_wait.start()
        events = asyncio.run(trigger_events(job_ids))
        sync_wait.join(timeout=300)
        waited = time.monotonic()
        logs = CloudWatchLogsHook()
        read = {}
        for index in range(0, JOBS, 20):
            job = sync_result[job_ids[index]]
            follower = LogStreamFollower(logs, log_group_name(job), str(log_stream_name(job)))
            read[index] = [event.message for event in follower.read_new(to_end=True)]
    finished = time.monotonic()
    counts = proxy_counts(through_proxy)
    summary = fault_summary(counts)
    in_emulator = jobs_named(emulator, JOB_NAME)
    figures = {
        **summary,
        "retries": counter.counts["retrying in"],
        "async_poller_backoffs": counter.counts["all jobs wait"],
        "lost_submits_found": lookups["found"],
        "lost_submits_sent_again": lookups["not found"],
        "jobs_in_emulator": len(in_emulator),
        "seconds": {
            "submit": round(submitted - started, 1),
            "wait": round(waited - submitted, 1),
            "total": round(finished - started, 1),
        },
    }
    record_property("fault_run", figures)
    print(f"\nFAULT RUN fan-out of {JOBS} jobs: {json.dumps(figures)}")

    # Every job ended as it should, seen the same way by the triggers and the sync poller.
    assert len(set(job_ids.values())) == JOBS
    for index, job_id in job_ids.items():
        status = expected_status(index)
        assert events[index] == {"status": "success" if status == "SUCCEEDED" else "failed", "job_id": job_id}
        assert sync_result[job_id]["status"] == status
        assert sync_result[job_id]["tags"][INDEX_TAG] == str(index)
    for index, lines in read.items():
        assert any(f"fanout-{index}" in line for line in lines), (index, lines)

    # Exactly one job per submission: one successful SubmitJob forwarded each, 200 in the emulator.
    assert summary["submit_job"]["succeeded"] == JOBS
    assert len(in_emulator) == JOBS
    assert {summary["jobId"] for summary in in_emulator} == set(job_ids.values())
    assert len({job["tags"][SUBMIT_TOKEN_TAG] for job in sync_result.values()}) == JOBS

    # The faults really happened, on every path: throttles, lost SubmitJob answers, Logs faults.
    submit_faults = summary["submit_job"]["faults"]
    lost_after_forwarding = sum(n for label, n in submit_faults.items() if label.endswith("@after"))
    lost_before = sum(n for label, n in submit_faults.items() if label in ("500", "503", "reset"))
    assert submit_faults.get("throttle", 0) > 0
    assert lost_after_forwarding > 0
    assert lookups == {"found": lost_after_forwarding, "not found": lost_before}
    assert counts["logs:GetLogEvents"]["faults"], "the log reads met faults too"
    assert counts["batch:DescribeJobs"]["faults"]


def test_a_paced_fan_out_never_throttles_itself(stack, monkeypatch, tmp_path):
    """Behind a SubmitJob limit like AWS's, paced submissions meet no throttle; unpaced ones do."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    definition: dict[str, str] = {}

    def fan_out(proxy: Service, rate: str, count: int) -> dict[str, int]:
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", proxy.connection)
        monkeypatch.setenv("AIRFLOW__AWS_BATCH__SUBMIT_JOB_RATE", rate)
        pacing.reset_buckets()
        if proxy.endpoint_url not in definition:
            definition[proxy.endpoint_url] = (
                BatchHook()
                .ensure_job_definition(JobDefinitionSpec.container_job("paced", "busybox", command=["true"]))
                .arn
            )
        hooks = [BatchHook() for _ in range(6)]  # clients made beforehand: the submissions start together
        for hook in hooks:
            assert hook.client is not None
            assert hook.submit_job_bucket is None or hook.submit_job_bucket.rate == float(rate)
        reset_proxy_counts(proxy)
        together = threading.Barrier(count)

        def submit(index: int) -> None:
            together.wait()
            request = {
                "jobName": f"paced-{index}",
                "jobQueue": QUEUE,
                "jobDefinition": definition[proxy.endpoint_url],
            }
            hooks[index % len(hooks)].submit_job(request)

        with ThreadPoolExecutor(count) as pool:
            list(pool.map(submit, range(count)))
        return dict(proxy_counts(proxy)["batch:SubmitJob"]["faults"])

    # A proxy refusing SubmitJob above 10 a second (burst 10), like AWS's per-account limit.
    with fault_proxy(stack[0], tmp_path, "SubmitJob:limit=10") as limited:
        paced = fan_out(limited, "5", 30)
        unpaced = fan_out(limited, "0", 30)
    pacing.reset_buckets()
    print(f"\nFAULT RUN pacing: paced at 5/s {paced}, unpaced {unpaced} (limit 10/s)")
    assert paced == {}
    assert unpaced.get("limit", 0) > 0
