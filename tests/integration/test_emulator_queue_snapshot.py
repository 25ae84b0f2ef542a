"""GetJobQueueSnapshot on the emulator: the front of a queue in the order its jobs will dispatch.

On the emulator server, queues whose compute environment is DISABLED keep their jobs RUNNABLE;
in process, with a single job slot, the snapshot taken while a blocker runs is compared with the
order the jobs then start in.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from aws_batch_local import install
from aws_batch_local.bootstrap import bootstrap
from aws_batch_local.settings import EmulatorSettings, configure, current_settings
from tests.in_process import emulated_aws

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def until(check: Any, what: str, timeout: float = 20.0) -> Any:
    """Return ``check()`` once it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.03)


def register(batch: Any, command: list[str], **extra: Any) -> str:
    return str(
        batch.register_job_definition(
            jobDefinitionName=unique("snapshot-def"),
            type="container",
            containerProperties={
                "image": "alpine",
                "command": command,
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
            },
            **extra,
        )["jobDefinitionArn"]
    )


def status_of(batch: Any, job_id: str) -> str:
    return str(batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"])


def front(batch: Any, queue: str) -> list[str]:
    """The job ids at the front of ``queue``, in order."""
    jobs = batch.get_job_queue_snapshot(jobQueue=queue)["frontOfQueue"]["jobs"]
    return [job["jobArn"].rsplit("/", 1)[-1] for job in jobs]


def queue_on(batch: Any, environment: str, **arguments: Any) -> str:
    name = unique("snapshot-queue")
    batch.create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        **arguments,
    )
    until(
        lambda: batch.describe_job_queues(jobQueues=[name])["jobQueues"][0]["status"] == "VALID",
        f"queue {name} VALID",
    )
    return name


def fair_share_policy(batch: Any) -> str:
    return str(
        batch.create_scheduling_policy(
            name=unique("snapshot-policy"),
            fairsharePolicy={"shareDistribution": [{"shareIdentifier": "light", "weightFactor": 0.25}]},
        )["arn"]
    )


# ------------------------------------------------------------------------ on the emulator server


@pytest.fixture(scope="module")
def batch(emulator) -> Any:
    return emulator.client("batch")


@pytest.fixture
def disabled_environment(emulator, batch) -> str:
    """A managed EC2 compute environment, DISABLED: its queues' jobs stay RUNNABLE."""
    default = batch.describe_compute_environments(computeEnvironments=[emulator.compute_environment])[
        "computeEnvironments"
    ][0]
    name = unique("snapshot-ce")
    resources = default["computeResources"]
    batch.create_compute_environment(
        computeEnvironmentName=name,
        type="MANAGED",
        state="DISABLED",
        serviceRole=default["serviceRole"],
        computeResources={
            "type": "EC2",
            "minvCpus": 0,
            "maxvCpus": 16,
            "instanceTypes": ["optimal"],
            "instanceRole": resources["instanceRole"],
            "subnets": resources["subnets"],
            "securityGroupIds": resources["securityGroupIds"],
        },
    )
    until(
        lambda: (
            batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"][0][
                "status"
            ]
            == "VALID"
        ),
        f"compute environment {name} VALID",
    )
    return name


def test_fifo_front_lists_runnable_jobs_in_submission_order(batch, disabled_environment):
    queue = queue_on(batch, disabled_environment)
    definition = register(batch, ["true"])
    ids = [
        batch.submit_job(jobName=f"waits-{index}", jobQueue=queue, jobDefinition=definition)["jobId"]
        for index in range(3)
    ]
    until(lambda: all(status_of(batch, job_id) == "RUNNABLE" for job_id in ids), "jobs RUNNABLE")

    answer = batch.get_job_queue_snapshot(jobQueue=queue)
    created = {job["jobId"]: job["createdAt"] for job in batch.describe_jobs(jobs=ids)["jobs"]}

    listed = answer["frontOfQueue"]["jobs"]
    assert [job["jobArn"].rsplit("/", 1)[-1] for job in listed] == ids
    updated = answer["frontOfQueue"]["lastUpdatedAt"]
    for job in listed:
        job_id = job["jobArn"].rsplit("/", 1)[-1]
        assert created[job_id] <= job["earliestTimeAtPosition"] <= updated
    assert answer["queueUtilization"]["totalCapacityUsage"] == [{"capacityUnit": "VCPU", "quantity": 0.0}]

    before_cancel = int(time.time() * 1000)
    batch.cancel_job(jobId=ids[0], reason="make room")
    until(lambda: front(batch, queue) == ids[1:], "the cancelled job to leave the front")
    moved = batch.get_job_queue_snapshot(jobQueue=queue)["frontOfQueue"]["jobs"]
    assert all(job["earliestTimeAtPosition"] >= before_cancel - 5 for job in moved), "they moved up"

    batch.update_compute_environment(computeEnvironment=disabled_environment, state="ENABLED")
    until(lambda: front(batch, queue) == [], "the front to empty once the jobs dispatch")
    until(lambda: all(status_of(batch, job_id) == "SUCCEEDED" for job_id in ids[1:]), "jobs SUCCEEDED")


def test_the_queue_can_be_named_by_arn(batch, disabled_environment):
    queue = queue_on(batch, disabled_environment)
    arn = batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["jobQueueArn"]
    job_id = batch.submit_job(jobName="by-arn", jobQueue=queue, jobDefinition=register(batch, ["true"]))[
        "jobId"
    ]
    until(lambda: front(batch, arn) == [job_id], "the job at the front, queue named by ARN")


def test_fair_share_front_follows_share_usage_then_priority(batch, disabled_environment):
    queue = queue_on(batch, disabled_environment, schedulingPolicyArn=fair_share_policy(batch))
    definition = register(batch, ["true"], schedulingPriority=1)

    def submit(label: str, share: str, priority: int) -> str:
        return str(
            batch.submit_job(
                jobName=label,
                jobQueue=queue,
                jobDefinition=definition,
                shareIdentifier=share,
                schedulingPriorityOverride=priority,
            )["jobId"]
        )

    jobs = {
        "heavy-low": submit("heavy-low", "heavy", 1),
        "heavy-high": submit("heavy-high", "heavy", 9),
        "light-1": submit("light-1", "light", 1),
        "light-2": submit("light-2", "light", 1),
    }
    labels = {job_id: label for label, job_id in jobs.items()}
    until(lambda: len(front(batch, queue)) == 4, "four jobs at the front")

    answer = batch.get_job_queue_snapshot(jobQueue=queue)

    # Shares start even (the oldest head first: heavy's, by priority); then light, whose weight
    # 0.25 makes each job count a quarter, goes twice before heavy's next job.
    order = [labels[job["jobArn"].rsplit("/", 1)[-1]] for job in answer["frontOfQueue"]["jobs"]]
    assert order == ["heavy-high", "light-1", "light-2", "heavy-low"]
    fair_share = answer["queueUtilization"]["fairshareUtilization"]
    assert fair_share == {"activeShareCount": 0, "topCapacityUtilization": []}


def test_unknown_queue_is_a_client_exception(batch):
    with pytest.raises(batch.exceptions.ClientException, match="does not exist"):
        batch.get_job_queue_snapshot(jobQueue="no-such-queue")


# ------------------------------------- in process, one job slot: the snapshot is the dispatch order


@pytest.fixture
def one_slot() -> Iterator[tuple[Any, str]]:
    """An in-process emulator (moto.mock_aws) that runs one job at a time; yield (client, CE name)."""
    previous = current_settings()
    install(EmulatorSettings(max_running=1, step_seconds=0.02))
    try:
        with emulated_aws():
            resources = bootstrap(None, "us-east-1")
            yield boto3.client("batch", region_name="us-east-1"), resources.compute_environment
    finally:
        configure(previous)


def dispatch_order(batch: Any, queue: str, jobs: dict[str, str], blocker: str) -> tuple[list[str], list[str]]:
    """Snapshot the queue once every job waits behind ``blocker``; free the slot; return both orders."""
    labels = {job_id: label for label, job_id in jobs.items()}

    def full_front() -> list[str] | None:
        ids = front(batch, queue)
        return ids if len(ids) == len(jobs) else None

    listed = until(full_front, "a full front")
    batch.terminate_job(jobId=blocker, reason="free the slot")

    def succeeded(job_id: str) -> dict[str, Any] | None:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        return dict(job) if job["status"] == "SUCCEEDED" else None

    details = {
        label: until(lambda job_id=job_id: succeeded(job_id), f"{label} SUCCEEDED")
        for label, job_id in jobs.items()
    }
    started = sorted(details, key=lambda label: details[label]["startedAt"])
    return [labels[job_id] for job_id in listed], started


def test_fifo_snapshot_is_the_order_jobs_start_in(one_slot):
    batch, environment = one_slot
    queue = queue_on(batch, environment)
    sleeper = register(batch, ["sleep", "60"])
    blocker = batch.submit_job(jobName="blocker", jobQueue=queue, jobDefinition=sleeper)
    until(lambda: status_of(batch, blocker["jobId"]) == "RUNNING", "the blocker RUNNING")
    quick = register(batch, ["true"])
    jobs = {
        label: batch.submit_job(jobName=label, jobQueue=queue, jobDefinition=quick)["jobId"]
        for label in ("first", "second", "third")
    }

    snapshot, started = dispatch_order(batch, queue, jobs, blocker["jobId"])

    assert snapshot == started == ["first", "second", "third"]


def test_fair_share_snapshot_is_the_order_jobs_start_in(one_slot):
    batch, environment = one_slot
    queue = queue_on(batch, environment, schedulingPolicyArn=fair_share_policy(batch))
    blocker = batch.submit_job(
        jobName="blocker",
        jobQueue=queue,
        shareIdentifier="other",
        jobDefinition=register(batch, ["sleep", "60"], schedulingPriority=1),
    )
    until(lambda: status_of(batch, blocker["jobId"]) == "RUNNING", "the blocker RUNNING")
    utilization = batch.get_job_queue_snapshot(jobQueue=queue)["queueUtilization"]["fairshareUtilization"]
    assert utilization == {
        "activeShareCount": 1,
        "topCapacityUtilization": [
            {"shareIdentifier": "other", "capacityUsage": [{"capacityUnit": "VCPU", "quantity": 1.0}]}
        ],
    }
    quick = register(batch, ["true"], schedulingPriority=1)

    def submit(label: str, share: str, priority: int) -> str:
        return str(
            batch.submit_job(
                jobName=label,
                jobQueue=queue,
                jobDefinition=quick,
                shareIdentifier=share,
                schedulingPriorityOverride=priority,
            )["jobId"]
        )

    jobs = {
        "heavy-low": submit("heavy-low", "heavy", 1),
        "heavy-high": submit("heavy-high", "heavy", 9),
        "light-1": submit("light-1", "light", 1),
        "light-2": submit("light-2", "light", 1),
        "heavy-mid": submit("heavy-mid", "heavy", 5),
    }

    snapshot, started = dispatch_order(batch, queue, jobs, blocker["jobId"])

    assert snapshot == started == ["heavy-high", "light-1", "light-2", "heavy-mid", "heavy-low"]
