"""The job page's details, the scheduling policy page and the definitions list, read from AWS's
documented shapes (tests/unit/aws_job_descriptions.py: DescribeJobs answers of every kind)."""

from __future__ import annotations

import copy
import json
from typing import Any

import botocore.session
import pytest

from airflow_batch_plugin.ui.app import as_json
from airflow_batch_plugin.ui.data import without_environment_values
from airflow_batch_plugin.ui.definition_list import definition_row, definitions_page
from airflow_batch_plugin.ui.job_details import ExitRule, Resources, job_details
from airflow_batch_plugin.ui.scheduling_policies import scheduling_policy_page
from tests.unit import aws_job_descriptions as aws
from tests.unit.test_anatomy import ALL_DESCRIPTIONS, job_detail_problems

BATCH_MODEL = botocore.session.get_session().get_service_model("batch")
SECRET = "s3cret-value-never-shown"
ROLE = f"arn:aws:iam::{aws.ACCOUNT}:role/report-job"
EXECUTION_ROLE = f"arn:aws:iam::{aws.ACCOUNT}:role/batch-execution"


def configured_container_job() -> dict[str, Any]:
    """A container job with everything a console shows: dependencies, retries, timeout, share..."""
    job = aws.container_job("FAILED", 5, attempts=2)
    job["container"].update(
        environment=[{"name": "STAGE", "value": SECRET}, {"name": "TOKEN", "value": SECRET}],
        secrets=[{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db"}],
        jobRoleArn=ROLE,
        executionRoleArn=EXECUTION_ROLE,
        resourceRequirements=[
            {"type": "VCPU", "value": "2"},
            {"type": "MEMORY", "value": "4096"},
            {"type": "GPU", "value": "1"},
        ],
        instanceType="g5.xlarge",
    )
    job.update(
        dependsOn=[{"jobId": "d1", "type": "SEQUENTIAL"}, {"jobId": "d2"}],
        retryStrategy={
            "attempts": 3,
            "evaluateOnExit": [
                {"onStatusReason": "Host EC2*", "action": "retry"},
                {"onExitCode": "5", "onReason": "*", "action": "EXIT"},
            ],
        },
        timeout={"attemptDurationSeconds": 600},
        shareIdentifier="etl",
        schedulingPriority=7,
        propagateTags=True,
        parameters={"day": SECRET},
        tags={"airflow:dag_id": "etl", "airflow:task_id": "report", "team": "data"},
    )
    return job


@pytest.mark.parametrize("name", sorted(ALL_DESCRIPTIONS))
def test_every_kind_of_job_has_details_that_serialize_to_json(name):
    job = ALL_DESCRIPTIONS[name]
    details = job_details(job)
    assert details.kind in ("container", "ecs", "eks", "multi-node", "node")
    json.dumps(as_json(details))


def test_the_configured_description_follows_botocores_shape():
    assert job_detail_problems(configured_container_job()) == []


def test_a_container_job_shows_its_configuration_dependencies_retries_and_tags():
    details = job_details(configured_container_job())
    (container,) = details.containers
    assert container.image == "public.ecr.aws/docker/library/python:3.12-slim"
    assert container.command == ["python3", "report.py"]
    assert container.resources == Resources(vcpus="2", memory="4096 MiB", gpus="1")
    assert container.resources.summary() == "2 vCPUs, 4096 MiB, 1 GPU"
    assert container.environment == ["STAGE", "TOKEN"]
    assert container.secrets == ["DB_PASSWORD"]
    assert container.instance_type == "g5.xlarge"
    assert [(d.job_id, d.type) for d in details.depends_on] == [("d1", "SEQUENTIAL"), ("d2", None)]
    assert details.retry_strategy is not None
    assert details.retry_strategy.attempts == 3
    assert [rule.text() for rule in details.retry_strategy.evaluate_on_exit] == [
        "RETRY when status reason Host EC2*",
        "EXIT when exit code 5 and reason *",
    ]
    assert details.timeout_seconds == 600
    assert (details.share_identifier, details.scheduling_priority, details.propagate_tags) == ("etl", 7, True)
    assert details.platform_capabilities == ["EC2"]
    assert (details.job_role_arn, details.execution_role_arn) == (ROLE, EXECUTION_ROLE)
    assert [(tag.key, tag.airflow) for tag in details.tags] == [
        ("airflow:dag_id", True),
        ("airflow:task_id", True),
        ("team", False),
    ]
    assert details.parameters == ["day"]
    assert [(a.number, a.parts[0].exit_code, a.under_way) for a in details.attempts] == [
        (1, 1, False),
        (2, 5, False),
    ]
    assert details.attempts[1].status_reason == "Essential container in task exited"
    assert details.attempts[1].parts[0].log == "report/default/task2 (group /aws/batch/job)"


def test_environment_values_and_parameter_values_never_reach_the_details():
    job = configured_container_job()
    assert SECRET not in json.dumps(as_json(job_details(job)))
    assert SECRET not in json.dumps(as_json(job_details(without_environment_values(job))))


def test_an_ecs_job_shows_each_container_with_essential_and_dependencies():
    job = aws.ecs_job()
    task = job["ecsProperties"]["taskProperties"][0]
    task.update(taskRoleArn=ROLE, executionRoleArn=EXECUTION_ROLE)
    task["containers"][1]["dependsOn"] = [{"containerName": "app", "condition": "START"}]
    task["containers"][0]["environment"] = [{"name": "MODEL", "value": SECRET}]
    assert job_detail_problems(job) == []
    details = job_details(job)
    assert details.kind == "ecs"
    assert [(c.name, c.image, c.essential) for c in details.containers] == [
        ("app", "public.ecr.aws/example/app:1", True),
        ("sidecar", "public.ecr.aws/example/sidecar:1", False),
    ]
    assert details.containers[0].environment == ["MODEL"]
    assert details.containers[1].depends_on == ["app (START)"]
    assert details.containers[0].resources.summary() == "1 vCPU, 2048 MiB"
    assert (details.job_role_arn, details.execution_role_arn) == (ROLE, EXECUTION_ROLE)
    (attempt,) = details.attempts
    assert [(p.name, p.exit_code, p.essential) for p in attempt.parts] == [
        ("app", 5, True),
        ("sidecar", 137, False),
    ]
    assert SECRET not in json.dumps(as_json(details))


def test_an_eks_job_shows_its_pod_and_containers_with_kubernetes_resources():
    job = aws.eks_job(attempts=2)
    pod = job["eksProperties"]["podProperties"]
    pod["serviceAccountName"] = "batch-runner"
    pod["initContainers"] = [{"name": "fetch", "image": "public.ecr.aws/example/fetch:1", "command": ["get"]}]
    pod["containers"][0].update(
        env=[{"name": "MODE", "value": SECRET}],
        args=["--fast"],
        resources={
            "limits": {"cpu": "2", "memory": "4096Mi", "nvidia.com/gpu": "1"},
            "requests": {"cpu": "1"},
        },
    )
    assert job_detail_problems(job) == []
    details = job_details(job)
    assert details.kind == "eks"
    assert details.pod is not None
    assert details.pod.service_account == "batch-runner"
    assert details.pod.name == "aws-batch.e0000000-0000-4000-8000-000000000002"
    assert [(c.name, c.init) for c in details.containers] == [("fetch", True), ("main", False)]
    main = details.containers[1]
    assert main.resources == Resources(vcpus="1", memory="4096Mi", gpus="1"), "requests, else limits"
    assert (main.environment, main.args) == (["MODE"], ["--fast"])
    assert [a.pod_name for a in details.attempts] == [
        "aws-batch.e0000000-0000-4000-8000-000000000001",
        "aws-batch.e0000000-0000-4000-8000-000000000002",
    ]
    assert [a.parts[0].exit_code for a in details.attempts] == [1, 5]
    assert SECRET not in json.dumps(as_json(details))


def test_a_multi_node_parent_lists_its_node_groups_and_links_its_nodes():
    parent = aws.multi_node_parent()
    parent["nodeProperties"]["nodeRangeProperties"][0]["instanceTypes"] = ["c5.large"]
    parent["nodeProperties"]["nodeRangeProperties"][0]["container"]["jobRoleArn"] = ROLE
    details = job_details(parent)
    assert details.kind == "multi-node"
    assert details.containers == [], "the parent runs nothing itself"
    (group,) = details.node_groups
    assert (group.target_nodes, group.instance_types) == ("0:1", ["c5.large"])
    assert group.containers[0].image == "public.ecr.aws/example/mpi:1"
    assert group.containers[0].resources.summary() == "2 vCPUs, 4096 MiB"
    assert [(n.index, n.job_id, n.main) for n in details.nodes] == [
        (0, f"{parent['jobId']}#0", True),
        (1, f"{parent['jobId']}#1", False),
    ]
    assert details.job_role_arn == ROLE


def test_a_node_and_an_array_child_link_back_to_their_parent():
    parent = aws.multi_node_parent()
    node = job_details(aws.node_job(parent, 1, "FAILED", 5))
    assert (node.kind, node.node_index, node.is_main_node, node.parent_job_id) == (
        "node",
        1,
        False,
        parent["jobId"],
    )
    assert node.containers[0].command == ["mpirun", "train"]
    assert node.node_groups == []
    array = aws.array_parent()
    child = job_details(aws.array_child(array, 3))
    assert (child.array_index, child.parent_job_id) == (3, array["jobId"])
    parent_details = job_details(array)
    assert (parent_details.array_size, parent_details.parent_job_id) == (4, None)


def test_a_running_job_shows_the_attempt_under_way_after_the_ended_ones():
    job = aws.container_job("RUNNING", attempts=2)
    details = job_details(job)
    assert [(a.number, a.under_way) for a in details.attempts] == [(1, False), (2, True)]
    assert details.attempts[1].parts[0].exit_code is None
    submitted = job_details(aws.container_job("RUNNABLE", None))
    assert submitted.attempts == [], "nothing ran yet"


def test_a_job_without_options_has_empty_details_not_errors():
    job = aws.container_job("SUBMITTED", None)
    for member in ("dependsOn", "tags", "parameters", "propagateTags", "platformCapabilities"):
        job.pop(member)
    details = job_details(job)
    assert (details.depends_on, details.retry_strategy, details.timeout_seconds) == ([], None, None)
    assert (details.tags, details.platform_capabilities, details.propagate_tags) == ([], [], None)


def test_old_style_vcpus_and_memory_are_read_when_no_resource_requirements():
    job = aws.container_job()
    job["container"].pop("resourceRequirements")
    job["container"].update(vcpus=4, memory=8192)
    assert job_details(job).containers[0].resources.summary() == "4 vCPUs, 8192 MiB"


def test_exit_rules_read_as_words():
    assert ExitRule("RETRY").text() == "RETRY always"
    assert ExitRule("EXIT", on_exit_code="1*").text() == "EXIT when exit code 1*"


# -- scheduling policies ------------------------------------------------------------------------


def scheduling_policy(**fairshare: Any) -> dict[str, Any]:
    """A DescribeSchedulingPolicies entry (SchedulingPolicyDetail)."""
    return {
        "name": "etl-shares",
        "arn": f"arn:aws:batch:{aws.REGION}:{aws.ACCOUNT}:scheduling-policy/etl-shares",
        "fairsharePolicy": fairshare,
        "tags": {"team": "data"},
    }


def shape_problems(value: dict[str, Any], shape_name: str) -> list[str]:
    shape = BATCH_MODEL.shape_for(shape_name)
    return [key for key in value if key not in shape.members]


def test_a_fair_share_policy_shows_decay_reservation_and_each_shares_part():
    policy = scheduling_policy(
        shareDecaySeconds=3600,
        computeReservation=25,
        shareDistribution=[
            {"shareIdentifier": "etl", "weightFactor": 0.5},
            {"shareIdentifier": "adhoc*", "weightFactor": 1.0},
        ],
    )
    assert shape_problems(policy, "SchedulingPolicyDetail") == []
    queues = [
        {"jobQueueName": "b-queue", "schedulingPolicyArn": policy["arn"], "status": "VALID"},
        {"jobQueueName": "a-queue", "schedulingPolicyArn": policy["arn"], "status": "VALID"},
        {"jobQueueName": "fifo", "status": "VALID"},
        {"jobQueueName": "gone", "schedulingPolicyArn": policy["arn"], "status": "DELETED"},
    ]
    page = scheduling_policy_page(policy, queues)
    assert (page.name, page.share_decay_seconds, page.compute_reservation) == ("etl-shares", 3600, 25)
    assert [(s.identifier, s.weight_factor, round(s.fraction, 3)) for s in page.shares] == [
        ("etl", 0.5, 0.667),
        ("adhoc*", 1.0, 0.333),
    ], "the lower weight gets twice the compute"
    assert page.queues == ["a-queue", "b-queue"]
    assert page.tags == {"team": "data"}


def test_a_policy_without_shares_or_settings_reads_as_empty():
    page = scheduling_policy_page(scheduling_policy())
    assert (page.shares, page.share_decay_seconds, page.compute_reservation, page.queues) == (
        [],
        None,
        None,
        [],
    )


# -- job definitions list --------------------------------------------------------------------------


def definition(name: str, revision: int, **members: Any) -> dict[str, Any]:
    return {
        "jobDefinitionName": name,
        "jobDefinitionArn": f"arn:aws:batch:{aws.REGION}:{aws.ACCOUNT}:job-definition/{name}:{revision}",
        "revision": revision,
        "status": "ACTIVE",
        "type": "container",
        **members,
    }


def test_definition_rows_name_images_and_resources_of_every_kind_without_environment_values():
    container = definition(
        "report",
        3,
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "python:3.12",
            "command": ["true"],
            "environment": [{"name": "TOKEN", "value": SECRET}],
            "resourceRequirements": [{"type": "VCPU", "value": "0.5"}, {"type": "MEMORY", "value": "1024"}],
        },
    )
    ecs = definition(
        "train",
        1,
        containerOrchestrationType="ECS",
        ecsProperties={
            "taskProperties": [
                {"containers": [{"name": "app", "image": "app:1"}, {"name": "log", "image": "fluent:2"}]}
            ]
        },
    )
    eks = definition(
        "score",
        2,
        containerOrchestrationType="EKS",
        eksProperties={
            "podProperties": {"containers": [{"image": "score:1", "resources": {"limits": {"cpu": "1"}}}]}
        },
    )
    multi = definition(
        "mpi",
        1,
        type="multinode",
        nodeProperties={
            "numNodes": 2,
            "mainNode": 0,
            "nodeRangeProperties": [{"targetNodes": "0:", "container": {"image": "mpi:1", "vcpus": 2}}],
        },
    )
    for item in (container, ecs, eks, multi):
        assert shape_problems(item, "JobDefinition") == []
    rows = [definition_row(item) for item in (container, ecs, eks, multi)]
    assert [(r.name, r.revision, r.type, r.orchestration) for r in rows] == [
        ("report", 3, "container", ""),
        ("train", 1, "container", "ECS"),
        ("score", 2, "container", "EKS"),
        ("mpi", 1, "multinode", ""),
    ]
    assert [r.images for r in rows] == [["python:3.12"], ["app:1", "fluent:2"], ["score:1"], ["mpi:1"]]
    assert [r.resources for r in rows] == ["0.5 vCPUs, 1024 MiB", "", "1 vCPU", "2 vCPUs"]
    assert rows[0].platform_capabilities == ["FARGATE"]
    page = definitions_page(
        [copy.deepcopy(container)], status="ACTIVE", name=None, token=None, next_token="more"
    )
    assert page.next_token == "more"
    assert SECRET not in json.dumps(as_json(page))
