"""Ensuring and tearing down compute environments, queues and policies on the emulator."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from airflow_batch_plugin import (
    BatchComputeEnvironmentSensor,
    BatchEnvironment,
    BatchJobQueueSensor,
    BatchResourceHook,
    BatchResourceInUse,
    BatchResourceInvalid,
    ComputeEnvironmentSpec,
    JobQueueSpec,
    ReplacementRequiredError,
    SchedulingPolicySpec,
)
from airflow_batch_plugin.resources import (
    COMPUTE_ENVIRONMENT,
    JOB_QUEUE,
    SCHEDULING_POLICY,
    Waiting,
    delete_resource,
    ensure_resource,
    is_gone,
)

pytestmark = pytest.mark.integration

FAST = Waiting(interval=0.2, timeout=60)
log = logging.getLogger("test")


@pytest.fixture
def hook(aws_conn_env):
    return BatchResourceHook()


@pytest.fixture(scope="module")
def network(emulator):
    ec2 = emulator.client("ec2")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["airflow-batch-vpc"]}])["Vpcs"]
    subnets = [
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    ]
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["airflow-batch-sg"]}])
    return {"subnets": subnets, "security_group_ids": [g["GroupId"] for g in groups["SecurityGroups"]]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ec2_spec(name: str, network: dict, **overrides) -> ComputeEnvironmentSpec:
    fields = {
        "name": name,
        "type": "EC2",
        "allocation_strategy": "BEST_FIT_PROGRESSIVE",
        "min_vcpus": 0,
        "max_vcpus": 16,
        "instance_types": ["optimal"],
        "instance_role": "ecsInstanceRole",
        "service_role": "AWSBatchServiceRole",
        **network,
        **overrides,
    }
    return ComputeEnvironmentSpec(**fields)


def writes(hook: BatchResourceHook) -> int:
    return sum(hook.write_calls.values())


def test_create_then_rerun_writes_nothing(hook, network):
    spec = ec2_spec(unique("ce"), network)
    arn = ensure_resource(hook, COMPUTE_ENVIRONMENT, spec, FAST, log)
    described = hook.describe_compute_environment(spec.name)
    assert described["computeEnvironmentArn"] == arn
    assert described["status"] == "VALID"
    before = writes(hook)
    assert ensure_resource(hook, COMPUTE_ENVIRONMENT, spec, FAST, log) == arn
    assert writes(hook) == before, f"a matching resource must cost no write: {hook.write_calls}"


def test_update_in_place(hook, network):
    spec = ec2_spec(unique("ce"), network)
    arn = ensure_resource(hook, COMPUTE_ENVIRONMENT, spec, FAST, log)
    bigger = ec2_spec(spec.name, network, max_vcpus=32, tags={"team": "data"})
    assert ensure_resource(hook, COMPUTE_ENVIRONMENT, bigger, FAST, log) == arn
    described = hook.describe_compute_environment(spec.name)
    assert described["computeResources"]["maxvCpus"] == 32
    assert described["tags"]["team"] == "data"
    assert described["status"] == "VALID"
    assert hook.write_calls["UpdateComputeEnvironment"] == 1
    assert hook.write_calls["TagResource"] == 1


def test_a_change_only_replacement_could_apply_is_refused_before_any_write(hook, network):
    spec = ec2_spec(unique("ce"), network)
    ensure_resource(hook, COMPUTE_ENVIRONMENT, spec, FAST, log)
    before = writes(hook)
    fargate = ComputeEnvironmentSpec(name=spec.name, type="FARGATE", max_vcpus=16, **network)
    with pytest.raises(ReplacementRequiredError, match="type"):
        ensure_resource(hook, COMPUTE_ENVIRONMENT, fargate, FAST, log)
    assert writes(hook) == before


def test_invalid_compute_environment_fails_with_its_reason(hook, network):
    spec = ec2_spec(unique("ce"), network, instance_role="no-such-instance-profile")
    with pytest.raises(BatchResourceInvalid, match="INVALID"):
        ensure_resource(hook, COMPUTE_ENVIRONMENT, spec, FAST, log)


def test_queue_and_policy_create_update_and_rerun(hook, network):
    ce = ec2_spec(unique("ce"), network)
    policy = SchedulingPolicySpec(name=unique("fair"), share_distribution={"a": 1.0, "b": 0.5})
    queue = JobQueueSpec(
        name=unique("q"), priority=5, compute_environment_order=[ce], scheduling_policy=policy
    )
    environment = BatchEnvironment(
        compute_environments=[ce], job_queues=[queue], scheduling_policies=[policy]
    )
    arns = environment.ensure(hook, FAST, log)
    assert set(arns) == {ce.name, queue.name, policy.name}
    described = hook.describe_job_queue(queue.name)
    assert described["schedulingPolicyArn"] == arns[policy.name]
    assert described["computeEnvironmentOrder"][0]["computeEnvironment"] == arns[ce.name]
    before = writes(hook)
    environment.ensure(hook, FAST, log)
    assert writes(hook) == before
    busier = JobQueueSpec(
        name=queue.name, priority=50, compute_environment_order=[ce], scheduling_policy=policy
    )
    ensure_resource(hook, JOB_QUEUE, busier, FAST, log)
    assert hook.describe_job_queue(queue.name)["priority"] == 50
    reweighted = SchedulingPolicySpec(name=policy.name, share_distribution={"a": 1.0, "b": 2.0})
    ensure_resource(hook, SCHEDULING_POLICY, reweighted, FAST, log)
    shares = hook.describe_scheduling_policy(policy.name)["fairsharePolicy"]["shareDistribution"]
    assert {s["shareIdentifier"]: s["weightFactor"] for s in shares} == {"a": 1.0, "b": 2.0}


def test_teardown_deletes_in_dependency_order_and_is_idempotent(hook, network):
    ce = ec2_spec(unique("ce"), network)
    policy = SchedulingPolicySpec(name=unique("fair"), share_distribution={"a": 1.0})
    queue = JobQueueSpec(
        name=unique("q"), priority=1, compute_environment_order=[ce], scheduling_policy=policy
    )
    environment = BatchEnvironment(
        compute_environments=[ce], job_queues=[queue], scheduling_policies=[policy]
    )
    environment.ensure(hook, FAST, log)
    with pytest.raises(BatchResourceInUse, match=queue.name):
        delete_resource(hook, COMPUTE_ENVIRONMENT, ce.name, FAST, log)
    with pytest.raises(BatchResourceInUse, match=queue.name):
        delete_resource(hook, SCHEDULING_POLICY, policy.name, FAST, log)
    assert environment.teardown(hook, FAST, log, "refuse") == [queue.name, ce.name, policy.name]
    assert is_gone(hook.describe_job_queue(queue.name))
    assert is_gone(hook.describe_compute_environment(ce.name))
    assert hook.describe_scheduling_policy(policy.name) is None
    assert environment.teardown(hook, FAST, log, "refuse") == []


def test_deleting_a_queue_with_unfinished_jobs(hook, network, emulator):
    ce = ec2_spec(unique("ce"), network)
    queue = JobQueueSpec(name=unique("q"), priority=1, compute_environment_order=[ce])
    BatchEnvironment(compute_environments=[ce], job_queues=[queue]).ensure(hook, FAST, log)
    batch = emulator.client("batch")
    definition = batch.register_job_definition(
        jobDefinitionName=unique("sleeper"),
        type="container",
        containerProperties={"image": "busybox", "command": ["sleep", "60"], "vcpus": 1, "memory": 64},
    )["jobDefinitionArn"]
    job_id = batch.submit_job(jobName="sleeper", jobQueue=queue.name, jobDefinition=definition)["jobId"]
    with pytest.raises(BatchResourceInUse, match="unfinished job"):
        delete_resource(hook, JOB_QUEUE, queue.name, FAST, log)
    assert hook.describe_job_queue(queue.name)["state"] == "ENABLED", "a refused delete changes nothing"
    assert delete_resource(hook, JOB_QUEUE, queue.name, FAST, log, active_jobs="terminate") is True
    job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    assert job["status"] == "FAILED"
    assert "being deleted" in job["statusReason"]


def test_sensors_wait_for_valid_or_deleted_and_fail_on_invalid(hook, network, emulator):
    assert BatchComputeEnvironmentSensor(task_id="s", compute_environment=emulator.compute_environment).poke(
        {}
    )
    assert BatchJobQueueSensor(task_id="s", job_queue=emulator.job_queue).poke({})
    assert not BatchJobQueueSensor(task_id="s", job_queue="no-such-queue").poke({})
    assert BatchJobQueueSensor(task_id="s", job_queue="no-such-queue", target_status="DELETED").poke({})
    broken = ec2_spec(unique("ce"), network, instance_role="no-such-instance-profile")
    hook.create_compute_environment(broken.to_create_request())
    sensor = BatchComputeEnvironmentSensor(task_id="s", compute_environment=broken.name)

    def poke_until_it_fails() -> None:
        for _ in range(50):
            sensor.poke({})
            time.sleep(0.2)

    with pytest.raises(BatchResourceInvalid, match="Invalid IamInstanceProfile"):
        poke_until_it_fails()
