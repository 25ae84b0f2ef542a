""" "Why is it waiting?" from AWS's documented answers (checked against botocore's output shapes first)."""

from __future__ import annotations

import copy
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
from airflow_batch_plugin.ui.data import job_row
from airflow_batch_plugin.ui.instance_types import sizes_of
from airflow_batch_plugin.ui.waiting import Needs, explain, job_needs, kubernetes_quantity, redacted
from aws_batch_local.shape_check import check_output
from tests.unit.aws_job_descriptions import (
    ACCOUNT,
    QUEUE,
    REGION,
    container_job,
    ecs_job,
    eks_job,
    multi_node_parent,
)

BATCH = botocore.session.get_session().get_service_model("batch")
POLICY = f"arn:aws:batch:{REGION}:{ACCOUNT}:scheduling-policy/etl-shares"
SNAPSHOT_AT = 1_700_000_100_000
SERVICE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"


def aws(operation: str, answer: dict[str, Any]) -> dict[str, Any]:
    """Return ``answer`` once botocore's output shape of ``operation`` accepts it."""
    assert check_output(BATCH, operation, answer) == [], f"{operation} answer is not AWS's shape"
    return answer


def ce_arn(name: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:compute-environment/{name}"


def job_arn(job_id: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job_id}"


def queue(*environments: str, state: str = "ENABLED", policy: bool = False) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "jobQueueName": "etl",
        "jobQueueArn": QUEUE,
        "state": state,
        "status": "VALID",
        "statusReason": "JobQueue Healthy",
        "priority": 10,
        "computeEnvironmentOrder": [
            {"order": index, "computeEnvironment": ce_arn(name)} for index, name in enumerate(environments, 1)
        ],
        "tags": {},
        "jobQueueType": "ECS",
    }
    if policy:
        detail["schedulingPolicyArn"] = POLICY
    return aws("DescribeJobQueues", {"jobQueues": [detail]})["jobQueues"][0]


def ec2_environment(
    name: str, instance_types: list[str], *, state: str = "ENABLED", desired: int = 4, maximum: int = 16
) -> dict[str, Any]:
    detail = {
        "computeEnvironmentName": name,
        "computeEnvironmentArn": ce_arn(name),
        "ecsClusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}_Batch_1",
        "tags": {},
        "type": "MANAGED",
        "state": state,
        "status": "VALID",
        "statusReason": "ComputeEnvironment Healthy",
        "computeResources": {
            "type": "EC2",
            "allocationStrategy": "BEST_FIT_PROGRESSIVE",
            "minvCpus": 0,
            "maxvCpus": maximum,
            "desiredvCpus": desired,
            "instanceTypes": instance_types,
            "subnets": ["subnet-0abc"],
            "securityGroupIds": ["sg-0abc"],
            "instanceRole": f"arn:aws:iam::{ACCOUNT}:instance-profile/ecsInstanceRole",
        },
        "serviceRole": SERVICE_ROLE,
        "containerOrchestrationType": "ECS",
    }
    return aws("DescribeComputeEnvironments", {"computeEnvironments": [detail]})["computeEnvironments"][0]


def fargate_environment(name: str) -> dict[str, Any]:
    detail = {
        "computeEnvironmentName": name,
        "computeEnvironmentArn": ce_arn(name),
        "type": "MANAGED",
        "state": "ENABLED",
        "status": "VALID",
        "computeResources": {
            "type": "FARGATE",
            "maxvCpus": 64,
            "subnets": ["subnet-0abc"],
            "securityGroupIds": ["sg-0abc"],
        },
        "containerOrchestrationType": "ECS",
    }
    return aws("DescribeComputeEnvironments", {"computeEnvironments": [detail]})["computeEnvironments"][0]


def snapshot(job_ids: list[str]) -> dict[str, Any]:
    return aws(
        "GetJobQueueSnapshot",
        {
            "frontOfQueue": {
                "jobs": [
                    {"jobArn": job_arn(job_id), "earliestTimeAtPosition": SNAPSHOT_AT - 1000 * index}
                    for index, job_id in enumerate(job_ids)
                ],
                "lastUpdatedAt": SNAPSHOT_AT,
            }
        },
    )


def runnable(vcpus: str = "1", memory: str = "2048", reason: str | None = None) -> dict[str, Any]:
    job = container_job(status="RUNNABLE", exit_code=None, attempts=0)
    job["container"]["resourceRequirements"] = [
        {"type": "VCPU", "value": vcpus},
        {"type": "MEMORY", "value": memory},
    ]
    if reason:
        job["statusReason"] = reason
    return aws("DescribeJobs", {"jobs": [job]})["jobs"][0]


def test_a_job_at_the_front_of_a_busy_queue():
    job = runnable()
    others = [f"other-{n}" for n in range(4)]
    front = snapshot([*others[:2], job["jobId"], *others[2:]])
    environments = [
        ec2_environment("etl-ec2", ["m5"], desired=16, maximum=16),
        ec2_environment("etl-spare", ["optimal"], state="DISABLED"),
    ]

    waiting = explain(queue("etl-ec2", "etl-spare"), environments, front, job=job)

    assert waiting.findings[0] == "position 3 of 5 at the front of the queue"
    assert "compute environment etl-ec2 is at max vCPUs 16 of 16" in waiting.findings
    assert "compute environment etl-spare is DISABLED" in waiting.findings
    assert waiting.position == 3
    assert waiting.earliest_time_at_position == SNAPSHOT_AT - 2000
    assert [(ce.name, ce.fits) for ce in waiting.environments] == [("etl-ec2", True), ("etl-spare", True)]
    assert waiting.needs == Needs(1.0, 2048.0, 0.0)
    assert waiting.misconfiguration is None


def test_a_job_no_instance_type_can_hold():
    reason = (
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU) "
        "is higher than that can be met by the CE(s) attached to the job queue."
    )
    job = runnable(vcpus="2", memory="65536", reason=reason)

    waiting = explain(
        queue("etl-ec2"), [ec2_environment("etl-ec2", ["c5.large", "c5.xlarge"])], snapshot([]), job=job
    )

    assert "no instance type of etl-ec2 has 64 GiB memory" in waiting.findings
    assert waiting.environments[0].fits is False
    assert waiting.misconfiguration == reason
    assert f"AWS Batch reports {reason}" in waiting.findings
    assert waiting.findings[0] == "not at the front of the queue (0 jobs there; it may have moved since)"


def test_more_vcpus_than_the_environment_allows_and_unknown_instance_types():
    job = runnable(vcpus="32", memory="1024")
    small = ec2_environment("etl-small", ["m5"], maximum=16)
    odd = ec2_environment("etl-odd", ["zz9.huge"], maximum=256)

    waiting = explain(queue("etl-small", "etl-odd"), [small, odd], snapshot([]), job=job)

    assert "etl-small allows at most 16 vCPUs; the job needs 32" in waiting.findings
    assert [ce.fits for ce in waiting.environments] == [False, None]
    assert "cannot tell whether the job fits etl-odd: unknown instance types zz9.huge" in waiting.findings


def test_a_job_behind_the_first_hundred():
    job = runnable()

    waiting = explain(
        queue("etl-ec2"),
        [ec2_environment("etl-ec2", ["m5"])],
        snapshot([f"o{n}" for n in range(100)]),
        job=job,
    )

    assert waiting.findings[0] == "not among the first 100 jobs at the front of the queue"
    assert waiting.position is None


def test_fargate_checks_the_vcpu_memory_pair():
    fits = explain(queue("etl-fargate"), [fargate_environment("etl-fargate")], snapshot([]), job=runnable())
    odd = explain(
        queue("etl-fargate"), [fargate_environment("etl-fargate")], snapshot([]), job=runnable(memory="3000")
    )

    assert fits.environments[0].fits is True
    assert odd.environments[0].fits is False
    assert "is not a Fargate vCPU/memory pair" in odd.environments[0].why


def test_fair_share_order_and_the_jobs_share():
    job = runnable()
    job["shareIdentifier"] = "light"
    ids = ["h1", job["jobId"], "h2", "l2"]
    shares = {"h1": "heavy", job["jobId"]: "light", "h2": "heavy", "l2": "light"}
    described = {}
    for job_id, share in shares.items():
        detail = copy.deepcopy(job)
        detail.update(jobId=job_id, jobArn=job_arn(job_id), jobName=f"job-{job_id}", shareIdentifier=share)
        described[job_arn(job_id)] = aws("DescribeJobs", {"jobs": [detail]})["jobs"][0]
    job["jobArn"] = job_arn(job["jobId"])

    waiting = explain(
        queue("etl-ec2", policy=True),
        [ec2_environment("etl-ec2", ["m5"])],
        snapshot(ids),
        job=job,
        described=described,
    )

    assert waiting.fair_share
    assert [(turn.share, turn.first_position, turn.jobs) for turn in waiting.shares] == [
        ("heavy", 1, 2),
        ("light", 2, 2),
    ]
    assert "fair share: shares in dispatch order heavy, light" in waiting.findings
    assert "this job's share light first comes at position 2" in waiting.findings


def test_a_disabled_queue_without_a_job_and_redaction():
    job = runnable()
    described = {job["jobArn"]: job}
    front = snapshot([job["jobId"], "someone-elses"])
    front["queueUtilization"] = {"totalCapacityUsage": [{"capacityUnit": "VCPU", "quantity": 12.0}]}
    aws("GetJobQueueSnapshot", front)

    waiting = explain(
        queue("etl-ec2", state="DISABLED"), [ec2_environment("etl-ec2", ["m5"])], front, described=described
    )

    assert "queue etl is DISABLED: it dispatches no new jobs" in waiting.findings
    assert "2 jobs at the front" in waiting.findings
    assert "the queue's dispatched jobs use 12 VCPU" in waiting.findings
    assert waiting.environments[0].fits is None, "no job: nothing to fit"
    assert [entry.row.job_id if entry.row else None for entry in waiting.front] == [job["jobId"], None]
    hidden = redacted(waiting, lambda row: False)
    assert [(entry.position, entry.job_arn, entry.row) for entry in hidden.front] == [
        (1, None, None),
        (2, None, None),
    ]
    assert redacted(waiting, lambda row: row == job_row(job)).front[0].row is not None


def test_needs_of_each_kind_of_job():
    ecs = ecs_job(status="RUNNABLE")
    assert job_needs(ecs) == Needs(2.0, 4096.0, 0.0), "an ECS task's containers share one instance"
    assert job_needs(multi_node_parent(status="RUNNABLE")) == Needs(2.0, 4096.0, 0.0), "one node"
    eks = eks_job(status="RUNNABLE")
    eks["eksProperties"]["podProperties"]["containers"][0]["resources"] = {
        "limits": {"cpu": "2", "memory": "2Gi", "nvidia.com/gpu": "1"},
        "requests": {"cpu": "500m", "memory": "1024Mi"},
    }
    aws("DescribeJobs", {"jobs": [eks]})
    assert job_needs(eks) == Needs(0.5, 1024.0, 1.0), "requests first, then limits"
    assert kubernetes_quantity("1G", memory=True) == pytest.approx(953.67, abs=0.01)


def test_instance_type_categories_families_and_types():
    optimal, unknown = sizes_of(["optimal"])
    assert unknown == []
    assert {size.name.split(".")[0] for size in optimal} >= {"c4", "m4", "r4", "c5", "m5", "r5"}
    [large], _ = sizes_of(["m5.large"])
    assert (large.vcpus, large.memory_mib, large.gpus) == (2, 8192, 0)
    gpu, _ = sizes_of(["p3"])
    assert max(size.gpus for size in gpu) == 8
    assert sizes_of(["zz9"]) == ([], ["zz9"])


# -- the hook ------------------------------------------------------------------------------------------


@pytest.fixture
def resource_hook(emulated_hook):
    return BatchResourceHook()


def test_hook_reads_the_snapshot_and_refuses_unknown_queues(resource_hook):
    from aws_batch_local.bootstrap import DEFAULT_JOB_QUEUE

    answer = resource_hook.get_job_queue_snapshot(DEFAULT_JOB_QUEUE)
    assert aws("GetJobQueueSnapshot", answer)["frontOfQueue"]["jobs"] == []
    with pytest.raises(ClientError, match="does not exist"):
        resource_hook.get_job_queue_snapshot("no-such-queue")
