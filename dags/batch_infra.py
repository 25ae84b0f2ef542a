"""Own a whole AWS Batch environment from Airflow: declare it, use it, tear it down.

Two priorities: time-sensitive jobs go to ``infra-critical`` (On-Demand EC2) or
``infra-critical-fargate`` (Fargate); bulk jobs go to ``infra-bulk`` (Spot, then On-Demand) or
``infra-bulk-fargate`` (Fargate Spot, then Fargate), both fair-share queues whose policy splits
capacity between two share identifiers, ``analytics`` and ``ml``. The setup task ensures every
resource (creates what is missing, updates what drifted, writes nothing when all matches); the
teardown task deletes everything (queues, then compute environments, then the policy) even when
a job failed. Set ``keep_environment`` to keep it between runs: a second run then writes nothing.

On the emulator the network and roles come from its bootstrap; on AWS set ``vpc_name``,
``security_group_name``, ``instance_role``, ``service_role`` and ``execution_role`` to yours.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.sdk import DAG, Param, task

from airflow_batch_plugin import (
    BatchEnvironment,
    BatchSubmitJobOperator,
    ComputeEnvironmentSpec,
    JobDefinitionSpec,
    JobQueueSpec,
    JobStateTimeLimitAction,
    SchedulingPolicySpec,
)

PREFIX = "infra"


@task
def network(params: dict[str, Any]) -> dict[str, Any]:
    """Find the subnets and security group of the named VPC, and the task execution role."""
    ec2 = AwsBaseHook(client_type="ec2").conn
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [params["vpc_name"]]}])["Vpcs"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]]
    groups = ec2.describe_security_groups(
        Filters=[*in_vpc, {"Name": "group-name", "Values": [params["security_group_name"]]}]
    )["SecurityGroups"]
    role = AwsBaseHook(client_type="iam").conn.get_role(RoleName=params["execution_role"])["Role"]
    return {
        "subnets": subnets,
        "security_group_ids": [g["GroupId"] for g in groups],
        "execution_role_arn": role["Arn"],
    }


with DAG(
    dag_id="batch_infra",
    description="Declare, use and tear down a two-priority Batch environment with fair share",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aws-batch", "example"],
    params={
        "vpc_name": Param("airflow-batch-vpc", type="string"),
        "security_group_name": Param("airflow-batch-sg", type="string"),
        "instance_role": Param("ecsInstanceRole", type="string", description="instance profile"),
        "service_role": Param("AWSBatchServiceRole", type="string"),
        "execution_role": Param("ecsTaskExecutionRole", type="string", description="Fargate tasks"),
        "max_vcpus": Param(64, type="integer", minimum=1),
        "keep_environment": Param(False, type="boolean"),
    },
) as dag:
    net = network()
    ec2_network: dict[str, Any] = {"subnets": net["subnets"], "security_group_ids": net["security_group_ids"]}
    ec2_common: dict[str, Any] = {
        **ec2_network,
        "max_vcpus": "{{ params.max_vcpus }}",
        "min_vcpus": 0,
        "instance_types": ["optimal"],
        "instance_role": "{{ params.instance_role }}",
        "service_role": "{{ params.service_role }}",
        "tags": {"app": "batch-infra-example"},
    }
    on_demand = ComputeEnvironmentSpec(
        name=f"{PREFIX}-on-demand", type="EC2", allocation_strategy="BEST_FIT_PROGRESSIVE", **ec2_common
    )
    spot = ComputeEnvironmentSpec(
        name=f"{PREFIX}-spot",
        type="SPOT",
        allocation_strategy="SPOT_PRICE_CAPACITY_OPTIMIZED",
        bid_percentage=60,
        **ec2_common,
    )
    fargate = ComputeEnvironmentSpec(
        name=f"{PREFIX}-fargate", type="FARGATE", max_vcpus="{{ params.max_vcpus }}", **ec2_network
    )
    fargate_spot = ComputeEnvironmentSpec(
        name=f"{PREFIX}-fargate-spot", type="FARGATE_SPOT", max_vcpus="{{ params.max_vcpus }}", **ec2_network
    )
    fair_share = SchedulingPolicySpec(
        name=f"{PREFIX}-fair-share",
        share_decay_seconds=3600,
        compute_reservation=10,
        share_distribution={"analytics": 1.0, "ml": 0.5},
    )
    give_up_when_misconfigured = [
        JobStateTimeLimitAction(reason="MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", max_time_seconds=600)
    ]
    environment = BatchEnvironment(
        scheduling_policies=[fair_share],
        compute_environments=[on_demand, spot, fargate, fargate_spot],
        job_queues=[
            JobQueueSpec(name=f"{PREFIX}-critical", priority=100, compute_environment_order=[on_demand]),
            JobQueueSpec(
                name=f"{PREFIX}-critical-fargate", priority=100, compute_environment_order=[fargate]
            ),
            JobQueueSpec(
                name=f"{PREFIX}-bulk",
                priority=10,
                compute_environment_order=[spot, on_demand],
                scheduling_policy=fair_share,
                job_state_time_limit_actions=give_up_when_misconfigured,
            ),
            JobQueueSpec(
                name=f"{PREFIX}-bulk-fargate",
                priority=10,
                compute_environment_order=[fargate_spot, fargate],
                scheduling_policy=fair_share,
            ),
        ],
    )
    setup, teardown = environment.setup_and_teardown(
        task_id_prefix="environment", keep="{{ params.keep_environment }}", poll_interval=2
    )
    net >> setup

    ec2_job = JobDefinitionSpec.container_job(
        name=f"{PREFIX}-report",
        image="public.ecr.aws/docker/library/python:3.12-slim",
        command=["python3", "-c", "import os; print('ran on', os.environ['AWS_BATCH_JQ_NAME'])"],
        vcpus=1,
        memory=512,
        scheduling_priority=50,  # fair-share queues require a scheduling priority
    )
    fargate_job = JobDefinitionSpec.fargate_job(
        name=f"{PREFIX}-report-fargate",
        image="public.ecr.aws/docker/library/python:3.12-slim",
        command=["python3", "-c", "import os; print('ran on', os.environ['AWS_BATCH_JQ_NAME'])"],
        execution_role_arn=net["execution_role_arn"],
        scheduling_priority=50,
    )
    jobs = [
        BatchSubmitJobOperator(
            task_id=f"{queue.replace('-', '_')}_job",
            job_name=f"{queue}-job",
            job_queue=f"{PREFIX}-{queue}",
            job_definition=definition,
            share_identifier=share,
            poll_interval=2,
        )
        for queue, definition, share in (
            ("critical", ec2_job, None),
            ("critical-fargate", fargate_job, None),
            ("bulk", ec2_job, "analytics"),
            ("bulk-fargate", fargate_job, "ml"),
        )
    ]

    setup >> jobs >> teardown
