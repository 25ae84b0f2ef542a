"""A run that fails while one of its Batch jobs still runs: the teardown must leave nothing running.

The setup ensures a compute environment and a queue; ``left_running`` submits a long job without
waiting, ``fails`` fails; the teardown (Airflow's teardown task, ALL_DONE) terminates the queue's
unfinished jobs and deletes the queue and the compute environment.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.sdk import DAG, task

from airflow_batch_plugin import (
    BatchEnvironment,
    BatchSubmitJobOperator,
    ComputeEnvironmentSpec,
    JobDefinitionSpec,
    JobQueueSpec,
)

PREFIX = "teardown-e2e"


@task
def network() -> dict[str, Any]:
    """The emulator bootstrap's subnets and security group."""
    ec2 = AwsBaseHook(client_type="ec2").conn
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["airflow-batch-vpc"]}])["Vpcs"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    groups = ec2.describe_security_groups(
        Filters=[*in_vpc, {"Name": "group-name", "Values": ["airflow-batch-sg"]}]
    )["SecurityGroups"]
    return {
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]],
        "security_group_ids": [g["GroupId"] for g in groups],
    }


with DAG(
    dag_id="teardown_after_failure",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["e2e"],
):
    net = network()
    compute = ComputeEnvironmentSpec(
        name=f"{PREFIX}-ce",
        type="EC2",
        max_vcpus=16,
        instance_types=["optimal"],
        instance_role="ecsInstanceRole",
        service_role="AWSBatchServiceRole",
        subnets=net["subnets"],
        security_group_ids=net["security_group_ids"],
    )
    queue = JobQueueSpec(name=f"{PREFIX}-queue", priority=1, compute_environment_order=[compute])
    setup, teardown = BatchEnvironment(compute_environments=[compute], job_queues=[queue]).setup_and_teardown(
        task_id_prefix="environment", poll_interval=1
    )
    definition = JobDefinitionSpec.container_job(
        name=f"{PREFIX}-job",
        image="busybox",
        command=["sh", "-c", "echo started; sleep 600"],
        vcpus=1,
        memory=128,
    )
    left_running = BatchSubmitJobOperator(
        task_id="left_running",
        job_name=f"{PREFIX}-left-running",
        job_queue=queue.name,
        job_definition=definition,
        wait_for_completion=False,
    )
    fails = BatchSubmitJobOperator(
        task_id="fails",
        job_name=f"{PREFIX}-fails",
        job_queue=queue.name,
        job_definition=definition,
        container_overrides={"command": ["sh", "-c", "echo failing; exit 1"]},
        poll_interval=1,
    )
    net >> setup >> [left_running, fails] >> teardown
