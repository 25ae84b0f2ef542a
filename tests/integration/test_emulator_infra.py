"""Compute environments, job queues and scheduling policies on the emulator, as AWS Batch keeps them."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from aws_batch_local.jobs import RUNNABLE, BatchJob
from aws_batch_local.ready import FairShareReadyQueue
from tests.in_process import CREDENTIALS, REGION, fresh_emulator

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

GONE = "GONE"
HEALTHY_CE = "ComputeEnvironment Healthy"
HEALTHY_QUEUE = "JobQueue Healthy"
EKS_CLUSTER = "arn:aws:eks:us-east-1:123456789012:cluster/analytics"
_subnet_octets = itertools.count(100)


def unique(prefix: str) -> str:
    """Return a name unique within the test session."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def batch(emulator) -> Any:
    return emulator.client("batch")


@pytest.fixture(scope="module")
def account(emulator, batch) -> dict[str, Any]:
    """What the bootstrap made: subnet, security group, instance profile, service role and VPC."""
    default = batch.describe_compute_environments(computeEnvironments=[emulator.compute_environment])[
        "computeEnvironments"
    ][0]
    resources = default["computeResources"]
    subnet = resources["subnets"][0]
    vpc = emulator.client("ec2").describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    return {
        "subnet": subnet,
        "security_group": resources["securityGroupIds"][0],
        "instance_profile": resources["instanceRole"],
        "service_role": default["serviceRole"],
        "vpc": vpc,
    }


def ec2_resources(account: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Return computeResources of a small managed EC2 compute environment."""
    return {
        "type": "EC2",
        "minvCpus": 0,
        "maxvCpus": 16,
        "instanceTypes": ["optimal"],
        "instanceRole": account["instance_profile"],
        "subnets": [account["subnet"]],
        "securityGroupIds": [account["security_group"]],
        **overrides,
    }


def fargate_resources(account: dict[str, Any], kind: str = "FARGATE") -> dict[str, Any]:
    return {
        "type": kind,
        "maxvCpus": 8,
        "subnets": [account["subnet"]],
        "securityGroupIds": [account["security_group"]],
    }


def create_ce(batch: Any, account: dict[str, Any], name: str | None = None, **arguments: Any) -> str:
    """Create a managed compute environment (EC2 unless computeResources says otherwise); return its name."""
    name = name or unique("ce")
    arguments.setdefault("computeResources", ec2_resources(account))
    arguments.setdefault("serviceRole", account["service_role"])
    arguments.setdefault("type", "MANAGED")
    batch.create_compute_environment(computeEnvironmentName=name, **arguments)
    return name


def create_queue(batch: Any, environments: list[str], name: str | None = None, **arguments: Any) -> str:
    name = name or unique("queue")
    batch.create_job_queue(
        jobQueueName=name,
        state=arguments.pop("state", "ENABLED"),
        priority=arguments.pop("priority", 1),
        computeEnvironmentOrder=[
            {"order": index + 1, "computeEnvironment": environment}
            for index, environment in enumerate(environments)
        ],
        **arguments,
    )
    return name


def describe_ce(batch: Any, name: str) -> dict[str, Any] | None:
    found = batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]
    return found[0] if found else None


def describe_queue(batch: Any, name: str) -> dict[str, Any] | None:
    found = batch.describe_job_queues(jobQueues=[name])["jobQueues"]
    return found[0] if found else None


def watch(describe: Any, name: str, until: tuple[str, ...], timeout: float = 15.0) -> list[str]:
    """Poll ``describe(name)`` until its status is in ``until`` (GONE: not listed); return statuses seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        detail = describe(name)
        status = detail["status"] if detail else GONE
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in until:
            return seen
        assert time.monotonic() < deadline, f"{name} did not reach {until}; seen {seen}"
        time.sleep(0.02)


def ce_settled(batch: Any, name: str) -> dict[str, Any]:
    watch(lambda item: describe_ce(batch, item), name, ("VALID", "INVALID"))
    detail = describe_ce(batch, name)
    assert detail is not None
    return detail


def queue_settled(batch: Any, name: str) -> dict[str, Any]:
    watch(lambda item: describe_queue(batch, item), name, ("VALID", "INVALID"))
    detail = describe_queue(batch, name)
    assert detail is not None
    return detail


def new_subnet(emulator, account: dict[str, Any]) -> str:
    cidr = f"10.0.{next(_subnet_octets)}.0/24"
    return str(
        emulator.client("ec2").create_subnet(VpcId=account["vpc"], CidrBlock=cidr)["Subnet"]["SubnetId"]
    )


def register(batch: Any, command: list[str], **extra: Any) -> str:
    return str(
        batch.register_job_definition(
            jobDefinitionName=unique("infra-def"),
            type="container",
            containerProperties={
                "image": "alpine",
                "command": command,
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
            },
            **extra,
        )["jobDefinitionArn"]
    )


def wait_job(batch: Any, job_id: str, statuses: tuple[str, ...], timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        detail = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        if detail["status"] in statuses:
            return dict(detail)
        assert time.monotonic() < deadline, f"job {job_id} is {detail['status']}, wanted {statuses}"
        time.sleep(0.03)


def disable_ce(batch: Any, name: str) -> None:
    batch.update_compute_environment(computeEnvironment=name, state="DISABLED")
    ce_settled(batch, name)


def disable_queue(batch: Any, name: str) -> None:
    batch.update_job_queue(jobQueue=name, state="DISABLED")
    queue_settled(batch, name)


# --------------------------------------------------------------------- compute environments


def test_compute_environment_is_creating_then_valid(batch, account):
    name = create_ce(batch, account, tags={"team": "data"})

    seen = watch(lambda item: describe_ce(batch, item), name, ("VALID",))
    detail = describe_ce(batch, name)

    assert seen == ["CREATING", "VALID"]
    assert detail is not None
    assert detail["statusReason"] == HEALTHY_CE
    assert detail["state"] == "ENABLED"
    assert detail["containerOrchestrationType"] == "ECS"
    assert detail["ecsClusterArn"].startswith("arn:aws:ecs:us-east-1:")
    assert str(uuid.UUID(detail["uuid"])) == detail["uuid"]
    assert detail["tags"] == {"team": "data"}
    assert detail["updatePolicy"] == {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 30}


def test_missing_iam_and_network_resources_end_invalid_with_aws_reasons(batch, account):
    missing_profile = create_ce(
        batch, account, computeResources=ec2_resources(account, instanceRole="no-such-profile")
    )
    missing_role = create_ce(batch, account, serviceRole="arn:aws:iam::123456789012:role/no-such-role")
    missing_subnet = create_ce(
        batch, account, computeResources=ec2_resources(account, subnets=["subnet-0000dead"])
    )
    missing_group = create_ce(
        batch, account, computeResources={**fargate_resources(account), "securityGroupIds": ["sg-0000dead"]}
    )
    queue = create_queue(batch, [missing_profile])

    reasons = {
        name: ce_settled(batch, name)
        for name in (missing_profile, missing_role, missing_subnet, missing_group)
    }
    queue_detail = queue_settled(batch, queue)

    assert {detail["status"] for detail in reasons.values()} == {"INVALID"}
    assert (
        reasons[missing_profile]["statusReason"]
        == "CLIENT_ERROR - Invalid IamInstanceProfile: no-such-profile"
    )
    assert reasons[missing_role]["statusReason"].startswith(
        "CLIENT_ERROR - User: batch.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: "
        "arn:aws:iam::123456789012:role/no-such-role"
    )
    assert "InvalidSubnetID.NotFound" in reasons[missing_subnet]["statusReason"]
    assert "The security group 'sg-0000dead' does not exist" in reasons[missing_group]["statusReason"]
    assert queue_detail["status"] == "INVALID"
    assert missing_profile in queue_detail["statusReason"]


def test_invalid_compute_environment_is_repaired_by_an_update(emulator, batch, account):
    role_name = unique("late-role")
    environment = create_ce(batch, account, serviceRole=role_name)
    queue = create_queue(batch, [environment])
    assert ce_settled(batch, environment)["status"] == "INVALID"
    assert queue_settled(batch, queue)["status"] == "INVALID"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    emulator.client("iam").create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))

    batch.update_compute_environment(computeEnvironment=environment, serviceRole=role_name)
    seen = watch(lambda item: describe_ce(batch, item), environment, ("VALID", "INVALID"))
    repaired = describe_queue(batch, queue)

    assert seen == ["UPDATING", "VALID"]
    assert describe_ce(batch, environment)["serviceRole"] == f"arn:aws:iam::123456789012:role/{role_name}"
    assert repaired is not None
    assert (repaired["status"], repaired["statusReason"]) == ("VALID", HEALTHY_QUEUE)


def test_each_kind_is_described_in_aws_shape(emulator, batch, account):
    iam = emulator.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "spotfleet.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    fleet_role = iam.create_role(RoleName=unique("spot-fleet"), AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    template = {"launchTemplateName": "batch-nodes", "version": "$Latest"}
    names = {
        "EC2": create_ce(
            batch,
            account,
            computeResources=ec2_resources(
                account, desiredvCpus=2, minvCpus=2, launchTemplate=template, tags={"Name": "batch-node"}
            ),
        ),
        "SPOT": create_ce(
            batch,
            account,
            computeResources=ec2_resources(
                account,
                type="SPOT",
                bidPercentage=60,
                spotIamFleetRole=fleet_role,
                instanceTypes=["c5", "m5.large"],
            ),
        ),
        "FARGATE": create_ce(batch, account, computeResources=fargate_resources(account)),
        "FARGATE_SPOT": create_ce(
            batch, account, computeResources=fargate_resources(account, "FARGATE_SPOT")
        ),
        "EKS": create_ce(
            batch,
            account,
            computeResources=ec2_resources(account),
            eksConfiguration={"eksClusterArn": EKS_CLUSTER, "kubernetesNamespace": "batch-jobs"},
        ),
    }
    names["UNMANAGED"] = unique("unmanaged")
    batch.create_compute_environment(
        computeEnvironmentName=names["UNMANAGED"],
        type="UNMANAGED",
        unmanagedvCpus=24,
        serviceRole=account["service_role"],
    )

    details = {kind: ce_settled(batch, name) for kind, name in names.items()}

    assert {kind: detail["status"] for kind, detail in details.items()} == dict.fromkeys(names, "VALID")
    ec2 = details["EC2"]["computeResources"]
    assert ec2 == {
        "type": "EC2",
        "minvCpus": 2,
        "desiredvCpus": 2,
        "maxvCpus": 16,
        "instanceTypes": ["optimal"],
        "instanceRole": account["instance_profile"],
        "subnets": [account["subnet"]],
        "securityGroupIds": [account["security_group"]],
        "allocationStrategy": "BEST_FIT",
        "launchTemplate": template,
        "tags": {"Name": "batch-node"},
        "ec2Configuration": [{"imageType": "ECS_AL2"}],
    }
    spot = details["SPOT"]["computeResources"]
    assert (spot["type"], spot["bidPercentage"], spot["spotIamFleetRole"]) == ("SPOT", 60, fleet_role)
    assert spot["instanceTypes"] == ["c5", "m5.large"]
    for kind in ("FARGATE", "FARGATE_SPOT"):
        assert details[kind]["computeResources"] == fargate_resources(account, kind)
        assert details[kind]["containerOrchestrationType"] == "ECS"
    eks = details["EKS"]
    assert eks["containerOrchestrationType"] == "EKS"
    assert eks["eksConfiguration"] == {"eksClusterArn": EKS_CLUSTER, "kubernetesNamespace": "batch-jobs"}
    assert eks["computeResources"]["ec2Configuration"] == [{"imageType": "EKS_AL2"}]
    assert "ecsClusterArn" not in eks
    plain = details["UNMANAGED"]
    assert (plain["type"], plain["unmanagedvCpus"]) == ("UNMANAGED", 24)
    assert "computeResources" not in plain
    assert plain["ecsClusterArn"].startswith("arn:aws:ecs:")
    assert details["EC2"]["serviceRole"] == account["service_role"]


def test_default_service_role_is_the_service_linked_role(batch, account):
    name = unique("slr")
    batch.create_compute_environment(
        computeEnvironmentName=name, type="MANAGED", computeResources=ec2_resources(account)
    )

    detail = ce_settled(batch, name)

    assert detail["status"] == "VALID"
    assert detail["serviceRole"].endswith(":role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"computeEnvironmentName": "bad name"}, "must be up to 128 letters"),
        (
            {"computeResources": {"minvCpus": 8, "maxvCpus": 4}},
            r"maxvCpus \(4\) must be greater than or equal to minvCpus \(8\)",
        ),
        ({"computeResources": {"desiredvCpus": 32}}, r"desiredvCpus \(32\) must be between"),
        (
            {"computeResources": {"instanceRole": "arn:aws:iam::123456789012:role/ecsInstanceRole"}},
            "should be an ECS Instance Profile ARN",
        ),
        ({"computeResources": {"instanceTypes": ["z9.mega"]}}, "Instance type z9.mega does not exist"),
        (
            {"computeResources": {"type": "FARGATE", "instanceTypes": ["optimal"]}},
            "instanceTypes isn't applicable to FARGATE",
        ),
        ({"computeResources": {"type": "SPOT"}}, "spotIamFleetRole is required"),
        ({"computeResources": {"allocationStrategy": "SPOT_CAPACITY_OPTIMIZED"}}, "not valid for EC2"),
        (
            {"eksConfiguration": {"eksClusterArn": "not-an-arn", "kubernetesNamespace": "ns"}},
            "is not an Amazon EKS cluster ARN",
        ),
        ({"unmanagedvCpus": 4}, "only supported for UNMANAGED"),
    ],
)
def test_what_aws_refuses_at_creation_is_refused(batch, account, arguments, message):
    overrides = arguments.pop("computeResources", {})
    base = fargate_resources(account) if overrides.get("type") == "FARGATE" else ec2_resources(account)
    resources = {**base, **overrides}
    request = {
        "computeEnvironmentName": unique("refused"),
        "type": "MANAGED",
        "serviceRole": account["service_role"],
        "computeResources": resources,
        **arguments,
    }

    with pytest.raises(batch.exceptions.ClientException, match=message):
        batch.create_compute_environment(**request)

    assert describe_ce(batch, request["computeEnvironmentName"]) is None


def test_duplicate_name_is_refused(batch, account):
    name = create_ce(batch, account)

    with pytest.raises(batch.exceptions.ClientException, match="Object already exists"):
        create_ce(batch, account, name=name)


def test_update_in_place_goes_through_updating(emulator, batch, account):
    name = unique("updatable")
    batch.create_compute_environment(
        computeEnvironmentName=name,
        type="MANAGED",
        computeResources=ec2_resources(account, allocationStrategy="BEST_FIT_PROGRESSIVE"),
    )
    with pytest.raises(batch.exceptions.ClientException, match="Cannot update, resource is being modified"):
        batch.update_compute_environment(computeEnvironment=name, computeResources={"maxvCpus": 64})
    ce_settled(batch, name)
    subnet = new_subnet(emulator, account)

    batch.update_compute_environment(
        computeEnvironment=name,
        computeResources={"maxvCpus": 64, "subnets": [subnet], "instanceTypes": ["c5"]},
    )
    scaled = watch(lambda item: describe_ce(batch, item), name, ("VALID",))
    batch.update_compute_environment(computeEnvironment=name, state="DISABLED")
    disabled = watch(lambda item: describe_ce(batch, item), name, ("VALID",))
    detail = describe_ce(batch, name)

    assert scaled == ["UPDATING", "VALID"]
    assert disabled == ["UPDATING", "VALID"]
    assert detail is not None
    assert detail["state"] == "DISABLED"
    resources = detail["computeResources"]
    assert (resources["maxvCpus"], resources["subnets"], resources["instanceTypes"]) == (64, [subnet], ["c5"])
    assert resources["securityGroupIds"] == [account["security_group"]]


def test_update_policy_job_execution_timeout_goes_up_to_7200_minutes(batch, account):
    name = create_ce(batch, account)
    ce_settled(batch, name)

    batch.update_compute_environment(
        computeEnvironment=name, updatePolicy={"jobExecutionTimeoutMinutes": 7200}
    )
    updated = ce_settled(batch, name)
    with pytest.raises(
        batch.exceptions.ClientException,
        match=r"updatePolicy\.jobExecutionTimeoutMinutes must be between 1 and 7200, got 7201",
    ):
        batch.update_compute_environment(
            computeEnvironment=name, updatePolicy={"jobExecutionTimeoutMinutes": 7201}
        )

    assert updated["updatePolicy"] == {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 7200}
    assert describe_ce(batch, name)["updatePolicy"]["jobExecutionTimeoutMinutes"] == 7200


def test_updates_aws_cannot_do_in_place_are_refused(batch, account):
    regular = create_ce(batch, account, computeResources=ec2_resources(account, desiredvCpus=4, minvCpus=0))
    fargate = create_ce(batch, account, computeResources=fargate_resources(account))
    ce_settled(batch, regular)
    ce_settled(batch, fargate)

    refusals = {
        "infrastructure": ({"instanceTypes": ["c5"]}, regular, "requires an infrastructure update"),
        "type": ({"type": "FARGATE"}, regular, "type can't be changed from EC2 to FARGATE"),
        "scale down": (
            {"desiredvCpus": 2},
            regular,
            "Manually scaling down compute environment is not supported",
        ),
        "fargate": (
            {"instanceRole": account["instance_profile"]},
            fargate,
            "instanceRole can't be updated for FARGATE",
        ),
        "bounds": (
            {"minvCpus": 32},
            regular,
            r"maxvCpus \(16\) must be greater than or equal to minvCpus \(32\)",
        ),
    }
    for resources, name, message in refusals.values():
        with pytest.raises(batch.exceptions.ClientException, match=message):
            batch.update_compute_environment(computeEnvironment=name, computeResources=resources)
    with pytest.raises(
        batch.exceptions.ClientException, match="can't be changed to use the service-linked role"
    ):
        batch.update_compute_environment(
            computeEnvironment=regular,
            serviceRole="arn:aws:iam::123456789012:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch",
        )
    with pytest.raises(
        batch.exceptions.ClientException, match="compute-environment/no-such-ce does not exist"
    ):
        batch.update_compute_environment(computeEnvironment="no-such-ce", state="DISABLED")

    batch.update_compute_environment(computeEnvironment=fargate, computeResources={"maxvCpus": 32})
    assert ce_settled(batch, fargate)["computeResources"]["maxvCpus"] == 32
    assert describe_ce(batch, regular)["status"] == "VALID"


def test_delete_rules_and_lifecycle(batch, account):
    environment = create_ce(batch, account)
    queue = create_queue(batch, [environment])
    ce_settled(batch, environment)
    queue_settled(batch, queue)

    with pytest.raises(batch.exceptions.ClientException, match="is ENABLED; update its state to DISABLED"):
        batch.delete_compute_environment(computeEnvironment=environment)
    batch.update_compute_environment(computeEnvironment=environment, state="DISABLED")
    with pytest.raises(batch.exceptions.ClientException, match="Cannot delete, resource is being modified"):
        batch.delete_compute_environment(computeEnvironment=environment)
    ce_settled(batch, environment)
    with pytest.raises(
        batch.exceptions.ClientException, match="Cannot delete, found existing JobQueue relationship"
    ):
        batch.delete_compute_environment(computeEnvironment=environment)
    with pytest.raises(batch.exceptions.ClientException, match=r"job queue .* is ENABLED"):
        batch.delete_job_queue(jobQueue=queue)
    disable_queue(batch, queue)

    batch.delete_job_queue(jobQueue=queue)
    queue_seen = watch(lambda item: describe_queue(batch, item), queue, (GONE,))
    batch.delete_compute_environment(computeEnvironment=environment)
    ce_seen = watch(lambda item: describe_ce(batch, item), environment, (GONE,))

    assert queue_seen == ["DELETING", "DELETED", GONE]
    assert ce_seen == ["DELETING", "DELETED", GONE]
    with pytest.raises(
        batch.exceptions.ClientException, match=f"compute-environment/{environment} does not exist"
    ):
        batch.delete_compute_environment(computeEnvironment=environment)
    with pytest.raises(batch.exceptions.ClientException, match=f"job-queue/{queue} does not exist"):
        batch.delete_job_queue(jobQueue=queue)


def test_deleted_resource_name_can_be_reused(batch, account):
    environment = create_ce(batch, account, state="DISABLED")
    ce_settled(batch, environment)
    batch.delete_compute_environment(computeEnvironment=environment)
    watch(lambda item: describe_ce(batch, item), environment, ("DELETED",))

    create_ce(batch, account, name=environment)

    assert ce_settled(batch, environment)["status"] == "VALID"


# ----------------------------------------------------------------------------- job queues


def test_queue_with_two_environments_policy_and_time_limit_action(batch, account):
    first, second = create_ce(batch, account), create_ce(batch, account)
    policy = batch.create_scheduling_policy(
        name=unique("policy"),
        fairsharePolicy={"shareDistribution": [{"shareIdentifier": "etl", "weightFactor": 0.5}]},
    )["arn"]
    action = {
        "reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
        "state": "RUNNABLE",
        "maxTimeSeconds": 600,
        "action": "CANCEL",
    }
    queue = create_queue(
        batch,
        [first, second],
        priority=10,
        schedulingPolicyArn=policy,
        jobStateTimeLimitActions=[action],
        tags={"tier": "gold"},
    )

    created = describe_queue(batch, queue)
    seen = watch(lambda item: describe_queue(batch, item), queue, ("VALID",))
    detail = describe_queue(batch, queue)

    assert created is not None
    assert created["status"] == "CREATING"
    assert seen[-1] == "VALID"
    assert detail is not None
    assert detail["statusReason"] == HEALTHY_QUEUE
    assert [entry["order"] for entry in detail["computeEnvironmentOrder"]] == [1, 2]
    assert [entry["computeEnvironment"].rsplit("/", 1)[1] for entry in detail["computeEnvironmentOrder"]] == [
        first,
        second,
    ]
    assert detail["schedulingPolicyArn"] == policy
    assert detail["jobStateTimeLimitActions"] == [action]
    assert (detail["priority"], detail["state"], detail["jobQueueType"]) == (10, "ENABLED", "ECS")
    assert detail["tags"] == {"tier": "gold"}


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ([], "At least 1 compute environment must be provided"),
        (["missing-ce"], "Compute environment missing-ce does not exist"),
        (["ec2", "fargate"], "EC2 and Fargate compute environments can't be mixed"),
        (["ec2", "ec2b", "ec2c", "ec2d"], "at most 3 compute environments"),
    ],
)
def test_queue_creation_refusals(batch, account, order, message):
    kinds = {
        "ec2": lambda: create_ce(batch, account),
        "ec2b": lambda: create_ce(batch, account),
        "ec2c": lambda: create_ce(batch, account),
        "ec2d": lambda: create_ce(batch, account),
        "fargate": lambda: create_ce(batch, account, computeResources=fargate_resources(account)),
    }
    environments = [kinds[item]() if item in kinds else item for item in order]

    with pytest.raises(batch.exceptions.ClientException, match=message):
        create_queue(batch, environments)


def test_queue_update(batch, account):
    first, second = create_ce(batch, account), create_ce(batch, account)
    fifo = create_queue(batch, [first])
    policies = [batch.create_scheduling_policy(name=unique("policy"))["arn"] for _ in range(2)]
    fair = create_queue(batch, [first], schedulingPolicyArn=policies[0])
    queue_settled(batch, fifo)
    queue_settled(batch, fair)
    action = {
        "reason": "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        "state": "RUNNABLE",
        "maxTimeSeconds": 900,
        "action": "CANCEL",
    }

    batch.update_job_queue(
        jobQueue=fifo,
        priority=50,
        state="DISABLED",
        computeEnvironmentOrder=[
            {"order": 1, "computeEnvironment": second},
            {"order": 2, "computeEnvironment": first},
        ],
        jobStateTimeLimitActions=[action],
    )
    seen = watch(lambda item: describe_queue(batch, item), fifo, ("VALID",))
    detail = describe_queue(batch, fifo)
    batch.update_job_queue(jobQueue=fair, schedulingPolicyArn=policies[1])
    replaced = queue_settled(batch, fair)

    assert seen == ["UPDATING", "VALID"]
    assert detail is not None
    assert (detail["priority"], detail["state"]) == (50, "DISABLED")
    assert [entry["computeEnvironment"].rsplit("/", 1)[1] for entry in detail["computeEnvironmentOrder"]] == [
        second,
        first,
    ]
    assert detail["jobStateTimeLimitActions"] == [action]
    assert replaced["schedulingPolicyArn"] == policies[1]
    with pytest.raises(
        batch.exceptions.ClientException, match="can't have a fair-share scheduling policy added"
    ):
        batch.update_job_queue(jobQueue=fifo, schedulingPolicyArn=policies[0])
    with pytest.raises(batch.exceptions.ClientException, match="can be replaced but can't be removed"):
        batch.update_job_queue(jobQueue=fair, schedulingPolicyArn="")
    with pytest.raises(batch.exceptions.ClientException, match="maxTimeSeconds must be between"):
        batch.update_job_queue(
            jobQueue=fair, jobStateTimeLimitActions=[{**action, "maxTimeSeconds": 100_000}]
        )
    with pytest.raises(batch.exceptions.ClientException, match="is DISABLED; it does not accept jobs"):
        batch.submit_job(jobName="refused", jobQueue=fifo, jobDefinition=register(batch, ["true"]))


def test_deleting_a_queue_terminates_its_jobs(batch, account):
    environment = create_ce(batch, account)
    queue = create_queue(batch, [environment])
    queue_settled(batch, queue)
    definition = register(batch, ["sleep", "60"])
    running = batch.submit_job(jobName="runs", jobQueue=queue, jobDefinition=definition)["jobId"]
    wait_job(batch, running, ("RUNNING",))
    waiting = batch.submit_job(
        jobName="waits", jobQueue=queue, jobDefinition=definition, dependsOn=[{"jobId": running}]
    )["jobId"]
    disable_queue(batch, queue)

    batch.delete_job_queue(jobQueue=queue)
    deleting = describe_queue(batch, queue)
    ended = [wait_job(batch, job_id, ("FAILED",)) for job_id in (running, waiting)]

    assert deleting is not None
    assert deleting["status"] == "DELETING"
    assert [job["statusReason"] for job in ended] == [f"Job queue {queue} was deleted"] * 2
    assert all(job["isTerminated"] for job in ended)
    with pytest.raises(batch.exceptions.ClientException, match="does not exist"):
        batch.submit_job(jobName="late", jobQueue=queue, jobDefinition=definition)


def test_time_limit_action_cancels_a_stuck_job(batch, account):
    environment = create_ce(batch, account, computeResources=ec2_resources(account, maxvCpus=4))
    reason = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
    queue = create_queue(
        batch,
        [environment],
        jobStateTimeLimitActions=[
            {"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": 1, "action": "CANCEL"}
        ],
    )
    queue_settled(batch, queue)
    job_id = batch.submit_job(
        jobName="too-big",
        jobQueue=queue,
        jobDefinition=register(batch, ["true"]),
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "8"}]},
    )["jobId"]

    stuck = wait_job(batch, job_id, ("RUNNABLE",))
    runnable_at = time.monotonic()
    cancelled = wait_job(batch, job_id, ("FAILED",))

    assert stuck["statusReason"].startswith(reason + " - ")
    assert time.monotonic() - runnable_at >= 0.5
    assert cancelled["statusReason"] == reason
    assert cancelled["isCancelled"] is True


def test_job_waits_for_compute_environment_to_be_enabled(emulator, batch, account):
    environment = create_ce(batch, account, state="DISABLED")
    queue = create_queue(batch, [environment])
    queue_settled(batch, queue)
    definition = register(batch, ["true"])
    job_id = batch.submit_job(jobName="patient", jobQueue=queue, jobDefinition=definition)["jobId"]
    wait_job(batch, job_id, ("RUNNABLE",))
    # A job submitted after it to the bootstrap's enabled queue runs to its end: the scheduler went
    # through every step at which the patient job could have started.
    witness = batch.submit_job(jobName="witness", jobQueue=emulator.job_queue, jobDefinition=definition)
    assert wait_job(batch, witness["jobId"], ("SUCCEEDED", "FAILED"))["status"] == "SUCCEEDED"
    still = batch.describe_jobs(jobs=[job_id])["jobs"][0]

    batch.update_compute_environment(computeEnvironment=environment, state="ENABLED")

    assert still["status"] == "RUNNABLE"
    assert wait_job(batch, job_id, ("SUCCEEDED", "FAILED"))["status"] == "SUCCEEDED"


# ------------------------------------------------------------------------ fair share, policies


def test_fair_share_submission_rules(batch, account):
    environment = create_ce(batch, account)
    policy = batch.create_scheduling_policy(name=unique("policy"))["arn"]
    queue = create_queue(batch, [environment], schedulingPolicyArn=policy)
    queue_settled(batch, queue)
    plain = register(batch, ["true"])
    prioritized = register(batch, ["true"], schedulingPriority=5)

    with pytest.raises(batch.exceptions.ClientException, match="a shareIdentifier must be specified"):
        batch.submit_job(jobName="no-share", jobQueue=queue, jobDefinition=prioritized)
    with pytest.raises(
        batch.exceptions.ClientException, match="schedulingPriority or the job a schedulingPriorityOverride"
    ):
        batch.submit_job(jobName="no-priority", jobQueue=queue, jobDefinition=plain, shareIdentifier="etl")
    with pytest.raises(batch.exceptions.ClientException, match="between 0 and 9999"):
        batch.submit_job(
            jobName="too-high",
            jobQueue=queue,
            jobDefinition=plain,
            shareIdentifier="etl",
            schedulingPriorityOverride=10_000,
        )
    overridden = batch.submit_job(
        jobName="override",
        jobQueue=queue,
        jobDefinition=plain,
        shareIdentifier="etl",
        schedulingPriorityOverride=9,
    )["jobId"]
    inherited = batch.submit_job(
        jobName="inherit", jobQueue=queue, jobDefinition=prioritized, shareIdentifier="bi"
    )["jobId"]

    done = [wait_job(batch, job_id, ("SUCCEEDED", "FAILED")) for job_id in (overridden, inherited)]

    assert [job["status"] for job in done] == ["SUCCEEDED", "SUCCEEDED"]
    assert [(job["shareIdentifier"], job["schedulingPriority"]) for job in done] == [("etl", 9), ("bi", 5)]


def test_scheduling_policy_lifecycle(batch, account):
    name = unique("policy")
    fairshare = {
        "shareDecaySeconds": 3600,
        "computeReservation": 10,
        "shareDistribution": [
            {"shareIdentifier": "team*", "weightFactor": 0.25},
            {"shareIdentifier": "ops", "weightFactor": 2.0},
        ],
    }
    arn = batch.create_scheduling_policy(name=name, fairsharePolicy=fairshare, tags={"owner": "platform"})[
        "arn"
    ]
    queue = create_queue(batch, [create_ce(batch, account)], schedulingPolicyArn=arn)

    described = batch.describe_scheduling_policies(arns=[arn])["schedulingPolicies"][0]
    listed = {item["arn"] for item in batch.list_scheduling_policies()["schedulingPolicies"]}
    batch.update_scheduling_policy(
        arn=arn, fairsharePolicy={"shareDistribution": [{"shareIdentifier": "ops"}]}
    )
    updated = batch.describe_scheduling_policies(arns=[arn])["schedulingPolicies"][0]["fairsharePolicy"]
    with pytest.raises(batch.exceptions.ClientException, match="found existing JobQueue relationship"):
        batch.delete_scheduling_policy(arn=arn)
    queue_settled(batch, queue)
    disable_queue(batch, queue)
    batch.delete_job_queue(jobQueue=queue)
    watch(lambda item: describe_queue(batch, item), queue, ("DELETED", GONE))
    batch.delete_scheduling_policy(arn=arn)

    assert described == {
        "name": name,
        "arn": arn,
        "fairsharePolicy": fairshare,
        "tags": {"owner": "platform"},
    }
    assert arn in listed
    assert updated == {
        "shareDecaySeconds": 0,
        "computeReservation": 0,
        "shareDistribution": [{"shareIdentifier": "ops"}],
    }
    assert batch.describe_scheduling_policies(arns=[arn])["schedulingPolicies"] == []
    twice = batch.create_scheduling_policy(name=unique("twice"))["name"]
    with pytest.raises(batch.exceptions.ClientException, match="Object already exists"):
        batch.create_scheduling_policy(name=twice)
    with pytest.raises(batch.exceptions.ClientException, match="overlaps"):
        batch.create_scheduling_policy(
            name=unique("overlap"),
            fairsharePolicy={
                "shareDistribution": [{"shareIdentifier": "UserA*"}, {"shareIdentifier": "UserA1"}]
            },
        )


def test_fair_share_dispatch_prefers_least_used_share_then_priority():
    queue = type("Queue", (), {"priority": 1})()
    weights = {"heavy": 1.0, "light": 0.25}
    ready = FairShareReadyQueue(queue, lambda share: weights.get(share, 1.0), lambda job: 1.0)

    def job(share: str, priority: int) -> BatchJob:
        item = BatchJob(
            job_id=unique("job"),
            arn="arn",
            name="n",
            queue=queue,
            definition=None,
            seq=0,
            created_at=0,
            parameters={},
            depends_on=[],
            share_identifier=share,
            scheduling_priority=priority,
            status=RUNNABLE,
        )
        ready.push(0.0, item)
        return item

    low, high = job("heavy", 1), job("heavy", 9)
    light = [job("light", 1) for _ in range(3)]
    order = []
    while (entry := ready.head(1.0)) is not None:
        order.append(entry[1])
        ready.pop_head(started=True)

    # heavy usage grows by 1.0 per job, light by 0.25: light runs 3 jobs for each heavy one.
    assert order[0] is high
    assert order[1:4] == light
    assert order[4] is low


# -------------------------------------------------------------------------------- tags, paging


def test_tags_on_compute_environments_queues_and_policies(batch, account):
    environment = create_ce(batch, account, tags={"a": "1"})
    queue = create_queue(batch, [environment], tags={"b": "2"})
    policy = batch.create_scheduling_policy(name=unique("policy"), tags={"c": "3"})["arn"]
    arns = [
        describe_ce(batch, environment)["computeEnvironmentArn"],
        describe_queue(batch, queue)["jobQueueArn"],
        policy,
    ]

    for arn in arns:
        batch.tag_resource(resourceArn=arn, tags={"env": "test", "drop": "me"})
        batch.untag_resource(resourceArn=arn, tagKeys=["drop"])
    tags = [batch.list_tags_for_resource(resourceArn=arn)["tags"] for arn in arns]

    assert tags == [{"a": "1", "env": "test"}, {"b": "2", "env": "test"}, {"c": "3", "env": "test"}]
    assert describe_ce(batch, environment)["tags"] == tags[0]
    assert describe_queue(batch, queue)["tags"] == tags[1]
    assert batch.describe_scheduling_policies(arns=[policy])["schedulingPolicies"][0]["tags"] == tags[2]


def test_describe_pages(batch, account):
    for _ in range(3):
        create_ce(batch, account)
    pages, token = [], None
    while True:
        response = batch.describe_compute_environments(
            maxResults=2, **({"nextToken": token} if token else {})
        )
        pages.append(len(response["computeEnvironments"]))
        token = response.get("nextToken")
        if not token:
            break

    total = len(batch.describe_compute_environments()["computeEnvironments"])
    assert sum(pages) == total
    assert set(pages[:-1]) == {2}


# ------------------------------------------- dispatch order, in process with a single job slot


@pytest.fixture
def one_slot() -> Iterator[tuple[Any, str]]:
    """An in-process emulator that runs one job at a time; yield (client, CE name)."""
    with fresh_emulator(max_running=1) as emulator:
        assert emulator.resources is not None
        batch = boto3.client("batch", endpoint_url=emulator.endpoint_url, region_name=REGION, **CREDENTIALS)
        yield batch, emulator.resources.compute_environment


def started_order(batch: Any, job_ids: dict[str, str]) -> list[str]:
    """Wait for the jobs to succeed; return their labels ordered by startedAt."""
    details = {label: wait_job(batch, job_id, ("SUCCEEDED",)) for label, job_id in job_ids.items()}
    return sorted(details, key=lambda label: details[label]["startedAt"])


def test_higher_priority_queue_gets_the_free_slot_first(one_slot):
    batch, environment = one_slot
    low = create_queue(batch, [environment], priority=1)
    high = create_queue(batch, [environment], priority=10)
    queue_settled(batch, low)
    queue_settled(batch, high)
    quick = register(batch, ["true"])
    blocker = batch.submit_job(
        jobName="blocker", jobQueue=low, jobDefinition=register(batch, ["sleep", "0.5"])
    )
    wait_job(batch, blocker["jobId"], ("RUNNING",))

    jobs = {
        "low": batch.submit_job(jobName="low", jobQueue=low, jobDefinition=quick)["jobId"],
        "high": batch.submit_job(jobName="high", jobQueue=high, jobDefinition=quick)["jobId"],
    }

    assert started_order(batch, jobs) == ["high", "low"]


def test_fair_share_queue_runs_least_used_share_first_then_by_priority(one_slot):
    batch, environment = one_slot
    policy = batch.create_scheduling_policy(
        name=unique("policy"),
        fairsharePolicy={"shareDistribution": [{"shareIdentifier": "light", "weightFactor": 0.25}]},
    )["arn"]
    queue = create_queue(batch, [environment], schedulingPolicyArn=policy)
    queue_settled(batch, queue)
    quick = register(batch, ["true"], schedulingPriority=1)
    blocker = batch.submit_job(
        jobName="blocker",
        jobQueue=queue,
        shareIdentifier="other",
        jobDefinition=register(batch, ["sleep", "0.5"], schedulingPriority=1),
    )
    wait_job(batch, blocker["jobId"], ("RUNNING",))

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
    }

    # Shares start even (oldest head first); then light (weight 0.25) runs until its usage catches up.
    assert started_order(batch, jobs) == ["heavy-high", "light-1", "light-2", "heavy-low"]
