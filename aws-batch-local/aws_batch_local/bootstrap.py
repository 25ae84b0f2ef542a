"""Create, through the AWS APIs, what a fresh account needs to run Batch jobs; idempotently.

Compute environments and job queues are CREATING for a moment, as on AWS: the bootstrap waits
until each is VALID, so when it returns (and the CLI prints its connection line) jobs can run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import boto3

from aws_batch_local.settings import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY

DEFAULT_COMPUTE_ENVIRONMENT = "airflow-batch-ce"
DEFAULT_JOB_QUEUE = "airflow-batch-queue"
FARGATE_COMPUTE_ENVIRONMENT = "airflow-batch-fargate-ce"
FARGATE_JOB_QUEUE = "airflow-batch-fargate-queue"
EKS_COMPUTE_ENVIRONMENT = "airflow-batch-eks-ce"
EKS_JOB_QUEUE = "airflow-batch-eks-queue"
#: The EKS cluster and namespace the EKS compute environment names (no cluster is created: EKS
#: jobs run as local processes too, and their output goes to this cluster's Container Insights group).
EKS_CLUSTER_NAME = "airflow-batch-emulator"
EKS_NAMESPACE = "airflow-batch"
MAX_VCPUS = 256
#: The S3 bucket the example DAGs read and write.
DEMO_BUCKET = "airflow-batch-demo"

#: How long the bootstrap waits for a compute environment or job queue to become VALID.
READY_TIMEOUT_SECONDS = 60.0
_POLL_SECONDS = 0.02

VPC_NAME = "airflow-batch-vpc"
VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDR = "10.0.1.0/24"
SECURITY_GROUP_NAME = "airflow-batch-sg"
BATCH_SERVICE_ROLE = "AWSBatchServiceRole"
ECS_INSTANCE_ROLE = "ecsInstanceRole"
TASK_EXECUTION_ROLE = "ecsTaskExecutionRole"

_ROLE_TRUST = {
    BATCH_SERVICE_ROLE: "batch.amazonaws.com",
    ECS_INSTANCE_ROLE: "ec2.amazonaws.com",
    TASK_EXECUTION_ROLE: "ecs-tasks.amazonaws.com",
}


@dataclass(frozen=True)
class BootstrapResult:
    """What the bootstrap made (or found): names and ids a DAG or a test needs."""

    job_queue: str
    fargate_job_queue: str
    eks_job_queue: str
    compute_environment: str
    fargate_compute_environment: str
    eks_compute_environment: str
    eks_cluster_arn: str
    subnet_id: str
    security_group_id: str
    service_role_arn: str
    instance_profile_arn: str
    execution_role_arn: str
    bucket: str


def _client(service: str, endpoint_url: str | None, region: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
    )


def _ensure_network(ec2: Any) -> tuple[str, str]:
    """Return (subnet id, security group id) of the emulator VPC, creating them if missing."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [VPC_NAME]}])["Vpcs"]
    if vpcs:
        vpc_id = vpcs[0]["VpcId"]
    else:
        vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
        ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": VPC_NAME}])
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    subnet_id = (
        subnets[0]["SubnetId"]
        if subnets
        else ec2.create_subnet(VpcId=vpc_id, CidrBlock=SUBNET_CIDR)["Subnet"]["SubnetId"]
    )
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": [SECURITY_GROUP_NAME]},
        ]
    )["SecurityGroups"]
    group_id = (
        groups[0]["GroupId"]
        if groups
        else ec2.create_security_group(
            GroupName=SECURITY_GROUP_NAME, Description="AWS Batch jobs of the emulator", VpcId=vpc_id
        )["GroupId"]
    )
    return subnet_id, group_id


def _ensure_role(iam: Any, name: str) -> str:
    """Return the ARN of role ``name``, creating it with its trust policy if missing."""
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        pass
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": _ROLE_TRUST[name]}, "Action": "sts:AssumeRole"}
        ],
    }
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def _ensure_instance_profile(iam: Any) -> str:
    try:
        return str(iam.get_instance_profile(InstanceProfileName=ECS_INSTANCE_ROLE)["InstanceProfile"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        pass
    arn = str(iam.create_instance_profile(InstanceProfileName=ECS_INSTANCE_ROLE)["InstanceProfile"]["Arn"])
    iam.add_role_to_instance_profile(InstanceProfileName=ECS_INSTANCE_ROLE, RoleName=ECS_INSTANCE_ROLE)
    return arn


def wait_until_valid(
    describe: Any, key: str, name: str, timeout: float = READY_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Poll ``describe(name)`` until the resource under ``key`` is VALID; return its detail.

    Raise RuntimeError if it is INVALID, disappears, or is still settling after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = describe(name)[key]
        detail: dict[str, Any] = found[0] if found else {}
        status = detail.get("status")
        if status == "VALID":
            return detail
        if status in (None, "INVALID", "DELETING", "DELETED"):
            raise RuntimeError(f"{name} is {status or 'gone'}: {detail.get('statusReason', '')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} is still {status} after {timeout:.0f}s")
        time.sleep(_POLL_SECONDS)


def _live(found: list[dict[str, Any]]) -> bool:
    return bool(found) and found[0].get("status") != "DELETED"


def eks_cluster_arn(region: str, account_id: str) -> str:
    """Return the ARN of the EKS cluster the bootstrap's EKS compute environment names."""
    return f"arn:aws:eks:{region}:{account_id}:cluster/{EKS_CLUSTER_NAME}"


def _ensure_compute_environment(
    batch: Any,
    name: str,
    service_role: str,
    resources: dict[str, Any],
    eks_configuration: dict[str, str] | None = None,
) -> None:
    if not _live(batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]):
        extra = {"eksConfiguration": eks_configuration} if eks_configuration else {}
        batch.create_compute_environment(
            computeEnvironmentName=name,
            type="MANAGED",
            state="ENABLED",
            computeResources=resources,
            serviceRole=service_role,
            **extra,
        )


def _ensure_job_queue(batch: Any, name: str, compute_environment: str) -> None:
    if not _live(batch.describe_job_queues(jobQueues=[name])["jobQueues"]):
        batch.create_job_queue(
            jobQueueName=name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute_environment}],
        )


def bootstrap(endpoint_url: str | None, region: str) -> BootstrapResult:
    """Create the network, roles, compute environments, queues and demo bucket, unless present.

    ``endpoint_url`` is the emulator's URL (None: the endpoints boto3 resolves on its own).
    """
    subnet_id, group_id = _ensure_network(_client("ec2", endpoint_url, region))
    iam = _client("iam", endpoint_url, region)
    service_role = _ensure_role(iam, BATCH_SERVICE_ROLE)
    _ensure_role(iam, ECS_INSTANCE_ROLE)
    instance_profile = _ensure_instance_profile(iam)
    execution_role = _ensure_role(iam, TASK_EXECUTION_ROLE)
    batch = _client("batch", endpoint_url, region)
    network = {"subnets": [subnet_id], "securityGroupIds": [group_id], "maxvCpus": MAX_VCPUS}
    _ensure_compute_environment(
        batch,
        DEFAULT_COMPUTE_ENVIRONMENT,
        service_role,
        {
            **network,
            "type": "EC2",
            "minvCpus": 0,
            "instanceTypes": ["optimal"],
            "instanceRole": instance_profile,
        },
    )
    _ensure_compute_environment(
        batch, FARGATE_COMPUTE_ENVIRONMENT, service_role, {**network, "type": "FARGATE"}
    )
    account_id = str(_client("sts", endpoint_url, region).get_caller_identity()["Account"])
    cluster_arn = eks_cluster_arn(region, account_id)
    _ensure_compute_environment(
        batch,
        EKS_COMPUTE_ENVIRONMENT,
        service_role,
        {
            **network,
            "type": "EC2",
            "minvCpus": 0,
            "instanceTypes": ["optimal"],
            "instanceRole": instance_profile,
        },
        {"eksClusterArn": cluster_arn, "kubernetesNamespace": EKS_NAMESPACE},
    )
    environments = (DEFAULT_COMPUTE_ENVIRONMENT, FARGATE_COMPUTE_ENVIRONMENT, EKS_COMPUTE_ENVIRONMENT)
    for environment in environments:
        wait_until_valid(
            lambda item: batch.describe_compute_environments(computeEnvironments=[item]),
            "computeEnvironments",
            environment,
        )
    _ensure_job_queue(batch, DEFAULT_JOB_QUEUE, DEFAULT_COMPUTE_ENVIRONMENT)
    _ensure_job_queue(batch, FARGATE_JOB_QUEUE, FARGATE_COMPUTE_ENVIRONMENT)
    _ensure_job_queue(batch, EKS_JOB_QUEUE, EKS_COMPUTE_ENVIRONMENT)
    for queue in (DEFAULT_JOB_QUEUE, FARGATE_JOB_QUEUE, EKS_JOB_QUEUE):
        wait_until_valid(lambda item: batch.describe_job_queues(jobQueues=[item]), "jobQueues", queue)
    _ensure_bucket(_client("s3", endpoint_url, region), DEMO_BUCKET)
    return BootstrapResult(
        job_queue=DEFAULT_JOB_QUEUE,
        fargate_job_queue=FARGATE_JOB_QUEUE,
        eks_job_queue=EKS_JOB_QUEUE,
        compute_environment=DEFAULT_COMPUTE_ENVIRONMENT,
        fargate_compute_environment=FARGATE_COMPUTE_ENVIRONMENT,
        eks_compute_environment=EKS_COMPUTE_ENVIRONMENT,
        eks_cluster_arn=cluster_arn,
        subnet_id=subnet_id,
        security_group_id=group_id,
        service_role_arn=service_role,
        instance_profile_arn=instance_profile,
        execution_role_arn=execution_role,
        bucket=DEMO_BUCKET,
    )


def _ensure_bucket(s3: Any, name: str) -> None:
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        s3.create_bucket(Bucket=name)
