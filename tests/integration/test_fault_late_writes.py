"""Writes whose request lands after the client saw the failure: no duplicate survives.

The fault proxy fails the first request of one write (a 503 answered at once, a reset, or no
answer until the client's 1 s read timeout) and lets it reach the emulator 2 s after the client
saw that failure: after the hook's lookups (shortened to 0, 0.5 and 1 s after the loss), within
its lookup window (read timeout + a margin shortened to 3 s). For SubmitJob and
RegisterJobDefinition the hook has sent the request again by then, so the late one makes a
second job (revision), which must be stopped (deregistered); TerminateJob (sync, and async as
a trigger sends it) is retried, confirmed, and its late copy lands on a job already terminated.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from airflow_batch_plugin import JobDefinitionSpec
from airflow_batch_plugin.hooks import batch as batch_module
from airflow_batch_plugin.hooks import pacing
from airflow_batch_plugin.hooks.batch import SUBMIT_TOKEN_TAG, BatchHook
from aws_batch_local.faults import FaultProxy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.integration

READ_TIMEOUT = 1.0
MARGIN = 3.0
LATE_SECONDS = 2.0
KINDS = ("503", "reset", "timeout")
OWNER = "late_writes/run/task"


def first_only_seed(action_key: str, rate: float = 0.5) -> int:
    """A seed whose random stream for ``action_key`` faults the first request and not the next three."""
    for seed in range(10_000):
        rng = random.Random(f"{seed}:{action_key}")
        draws = [rng.random() for _ in range(4)]
        if draws[0] < rate and all(draw >= rate for draw in draws[1:]):
            return seed
    raise AssertionError("no such seed")


@pytest.fixture
def late(aws_conn_env, monkeypatch) -> Callable[[str, str], FaultProxy]:
    """Start a proxy failing the first request of ``action`` with ``kind@late``; hooks go through it."""
    monkeypatch.setattr(batch_module, "IN_FLIGHT_LOOKUP_DELAYS", (0.5, 0.5))
    monkeypatch.setattr(batch_module, "RECONCILE_MARGIN", MARGIN)
    monkeypatch.setattr(batch_module, "RECONCILE_INTERVAL", 0.25)
    proxies: list[FaultProxy] = []

    def start(action: str, kind: str) -> FaultProxy:
        seed = first_only_seed(f"batch:{action}")
        proxy = FaultProxy(
            aws_conn_env.endpoint_url, f"{action}:{kind}@late=0.5", seed=seed, late_seconds=LATE_SECONDS
        ).start()
        proxies.append(proxy)
        extra = {
            "endpoint_url": proxy.endpoint_url,
            "region_name": aws_conn_env.region,
            "config_kwargs": {"read_timeout": READ_TIMEOUT, "connect_timeout": 2},
        }
        connection = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
        pacing.reset_buckets()
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()
    pacing.reset_buckets()


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def landed(proxy: FaultProxy, action: str) -> Any:
    """The proxy's counts of ``action`` once nothing is left to land."""
    return wait_for(
        lambda: (c := proxy.snapshot()[f"batch:{action}"]).pending == 0 and c.forwarded == 2 and c
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def blocker(aws_conn_env) -> Iterator[str]:
    """A running job the submitted jobs depend on, so that they stay PENDING (not started)."""
    batch = aws_conn_env.client("batch")
    definition = batch.register_job_definition(
        jobDefinitionName=unique("blocker"),
        type="container",
        containerProperties={"image": "busybox", "command": ["sleep", "120"], "vcpus": 1, "memory": 64},
    )["jobDefinitionArn"]
    job_id = batch.submit_job(jobName="blocker", jobQueue=aws_conn_env.job_queue, jobDefinition=definition)[
        "jobId"
    ]
    yield job_id
    batch.terminate_job(jobId=job_id, reason="test over")


@pytest.mark.parametrize("kind", KINDS)
def test_a_submit_job_that_lands_late_leaves_one_live_job(aws_conn_env, late, blocker, kind, record_property):
    batch = aws_conn_env.client("batch")
    name = unique(f"late-{kind}")
    definition = batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={"image": "busybox", "command": ["true"], "vcpus": 1, "memory": 64},
    )["jobDefinitionArn"]
    proxy = late("SubmitJob", kind)
    hook = BatchHook()
    request = {
        "jobName": name,
        "jobQueue": aws_conn_env.job_queue,
        "jobDefinition": definition,
        "dependsOn": [{"jobId": blocker}],
    }
    submission = hook.send_submit_job(request)
    assert hook.write_calls["SubmitJob"] == 2, "not found by the lookups: sent again"
    assert submission.needs_reconciling
    stopped = hook.reconcile_submission(submission, owner=OWNER)
    counts = landed(proxy, "SubmitJob")
    assert counts.faults == {f"{kind}@late": 1}
    assert counts.succeeded == 2, "both requests created a job"
    listed = batch.list_jobs(
        jobQueue=aws_conn_env.job_queue, filters=[{"name": "JOB_NAME", "values": [name]}]
    )
    jobs = {
        job["jobId"]: job
        for job in batch.describe_jobs(jobs=[j["jobId"] for j in listed["jobSummaryList"]])["jobs"]
    }
    assert all(job["tags"][SUBMIT_TOKEN_TAG] == submission.token for job in jobs.values())
    [duplicate] = [job_id for job_id in jobs if job_id != submission.job_id]
    assert [(item.job_id, item.action) for item in stopped] == [(duplicate, "cancelled")]
    assert jobs[submission.job_id]["status"] == "PENDING", "the tracked job lives on"
    assert (jobs[duplicate]["status"], jobs[duplicate]["isTerminated"]) == ("FAILED", True)
    assert submission.token in jobs[duplicate]["statusReason"]
    assert OWNER in jobs[duplicate]["statusReason"]
    assert "startedAt" not in jobs[duplicate], "cancelled before it ran"
    seconds_to_cancel = (jobs[duplicate]["stoppedAt"] - jobs[duplicate]["createdAt"]) / 1000
    record_property("landed_to_cancelled_seconds", seconds_to_cancel)
    print(f"\nFAULT RUN SubmitJob {kind}@late: duplicate cancelled {seconds_to_cancel:.2f}s after it landed")
    assert seconds_to_cancel <= 0.25 + 1.0, "found within one lookup interval (plus the calls)"


@pytest.mark.parametrize("kind", KINDS)
def test_a_registration_that_lands_late_leaves_one_revision(aws_conn_env, late, kind):
    proxy = late("RegisterJobDefinition", kind)
    hook = BatchHook()
    spec = JobDefinitionSpec.container_job(unique(f"late-{kind}"), "busybox", command=["true"], memory=64)
    registered = hook.ensure_job_definition(spec)
    counts = landed(proxy, "RegisterJobDefinition")
    assert counts.faults == {f"{kind}@late": 1}
    assert counts.succeeded == 2, "both requests registered a revision"
    batch = aws_conn_env.client("batch")
    revisions = batch.describe_job_definitions(jobDefinitionName=spec.name)["jobDefinitions"]
    statuses = {int(revision["revision"]): revision["status"] for revision in revisions}
    assert statuses == {registered.revision: "ACTIVE", registered.revision + 1: "INACTIVE"}, "the first kept"
    assert hook.ensure_job_definition(spec).arn == registered.arn, "reused, not registered again"


def terminate(job_id: str, reason: str, mode: str) -> None:
    """Terminate through the hook: its sync client (operators), or its async one (triggers' on_kill)."""
    hook = BatchHook()
    if mode == "sync":
        hook.terminate_job(job_id, reason)
        return

    async def with_async_client() -> None:
        async with await hook.async_client() as client:
            await hook.async_terminate_job(client, job_id, reason)

    asyncio.run(with_async_client())


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_terminate_job_that_lands_late_is_retried_and_confirmed(aws_conn_env, late, kind, mode, capsys):
    batch = aws_conn_env.client("batch")
    definition = batch.register_job_definition(
        jobDefinitionName=unique("to-stop"),
        type="container",
        containerProperties={"image": "busybox", "command": ["sleep", "120"], "vcpus": 1, "memory": 64},
    )["jobDefinitionArn"]
    job_id = batch.submit_job(jobName="to-stop", jobQueue=aws_conn_env.job_queue, jobDefinition=definition)[
        "jobId"
    ]
    wait_for(lambda: batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "RUNNING")
    proxy = late("TerminateJob", kind)
    capsys.readouterr()
    terminate(job_id, f"stopped by {OWNER}", mode)
    output = capsys.readouterr().out
    assert f"TerminateJob {job_id}: an answer was lost" in output
    job = wait_for(lambda: (j := batch.describe_jobs(jobs=[job_id])["jobs"][0])["status"] == "FAILED" and j)
    assert job["isTerminated"] is True
    assert job["statusReason"] == f"stopped by {OWNER}"
    counts = landed(proxy, "TerminateJob")
    assert counts.faults == {f"{kind}@late": 1}
    assert counts.succeeded == 2, "the late copy landed too, on a job already stopped: no harm"
