"""Tests for ECS multi-container job definitions (ecsProperties) and their overrides on SubmitJob.

The expected requests are AWS's own: the payloads of the user guide's "Reference: AWS Batch job
scenarios using EcsProperties" and the shapes of botocore's Batch model (EcsProperties,
EcsTaskProperties, TaskContainerProperties, TaskContainerDependency, EcsPropertiesOverride).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from botocore.session import get_session
from botocore.validate import ParamValidator

from airflow_batch_plugin.specs import (
    EcsPropertiesOverride,
    EcsTaskSpec,
    JobDefinitionSpec,
    JobSubmissionSpec,
    Problem,
    SpecValidationError,
    TaskContainerDependency,
    TaskContainerOverrides,
    TaskContainerSpec,
    deferred_validation,
)
from airflow_batch_plugin.specs.job_definition import MAX_JOB_DEFINITION_BYTES
from airflow_batch_plugin.templating import render_spec

ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
TASK_ROLE = "arn:aws:iam::123456789012:role/batch-job"
AMAZONLINUX = "public.ecr.aws/amazonlinux/amazonlinux:latest"
MODEL = get_session().get_service_model("batch")


def problems_of(build: Any) -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        build()
    return info.value.problems


def assert_problem(build: Any, field: str, fragment: str) -> list[Problem]:
    found = problems_of(build)
    assert any(p.field == field and fragment in p.rule for p in found), "\n".join(map(str, found))
    return found


def app(**fields: Any) -> dict[str, Any]:
    return {"name": "app", "image": "busybox", "vcpus": 1, "memory": 2048, **fields}


def sidecar(**fields: Any) -> dict[str, Any]:
    return {"name": "sidecar", "image": "busybox", "essential": False, "vcpus": 1, "memory": 512, **fields}


def ec2(*containers: dict[str, Any], **task: Any) -> JobDefinitionSpec:
    return JobDefinitionSpec.ecs_job("mc", list(containers) or [app(), sidecar()], **task)


def fargate(*containers: dict[str, Any], **task: Any) -> JobDefinitionSpec:
    task.setdefault("execution_role_arn", ROLE)
    default = [app(vcpus=0.5, memory=1024), sidecar(vcpus=0.5, memory=1024)]
    return JobDefinitionSpec.ecs_job("mc", list(containers) or default, platform="FARGATE", **task)


def validate_with_botocore(operation: str, request: dict[str, Any]) -> None:
    report = ParamValidator().validate(request, MODEL.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


# --- AWS's own scenarios ---------------------------------------------------------------------


def test_the_user_guides_ec2_scenario_is_the_request():
    spec = JobDefinitionSpec(
        name="multicontainer-ecs-ec2",
        ecs=EcsTaskSpec(
            containers=[
                TaskContainerSpec(
                    name="c1",
                    essential=False,
                    command=["echo", "hello world"],
                    image=AMAZONLINUX,
                    vcpus=2,
                    memory=4096,
                ),
                {
                    "name": "c2",
                    "essential": False,
                    "command": ["echo", "hello world"],
                    "image": AMAZONLINUX,
                    "vcpus": "2",
                    "memory": "4096",
                },
                {
                    "name": "c3",
                    "essential": True,
                    "command": ["echo", "hello world"],
                    "image": AMAZONLINUX,
                    "firelensConfiguration": {
                        "type": "fluentbit",
                        "options": {"enable-ecs-log-metadata": "true"},
                    },
                    "vcpus": 6,
                    "memory": 12288,
                },
            ]
        ),
    )

    def container(name: str, essential: bool, vcpus: str, memory: str) -> dict[str, Any]:
        return {
            "name": name,
            "essential": essential,
            "command": ["echo", "hello world"],
            "image": AMAZONLINUX,
            "resourceRequirements": [{"type": "VCPU", "value": vcpus}, {"type": "MEMORY", "value": memory}],
        }

    c3 = container("c3", True, "6", "12288")
    c3["firelensConfiguration"] = {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}}
    assert spec.to_request() == {
        "jobDefinitionName": "multicontainer-ecs-ec2",
        "type": "container",
        "ecsProperties": {
            "taskProperties": [
                {"containers": [container("c1", False, "2", "4096"), container("c2", False, "2", "4096"), c3]}
            ]
        },
    }
    validate_with_botocore("RegisterJobDefinition", spec.to_request())


def test_the_user_guides_fargate_scenario_is_the_request():
    # AWS's example sums to 8 vCPU / 16 GiB: a Fargate pair, though 6 vCPU alone is none.
    spec = JobDefinitionSpec.ecs_job(
        "multicontainer-ecs-fargate",
        [
            {
                "name": "c1",
                "command": ["echo", "hello world"],
                "image": AMAZONLINUX,
                "vcpus": 2,
                "memory": 4096,
            },
            {
                "name": "c2",
                "essential": True,
                "command": ["echo", "hello world"],
                "image": AMAZONLINUX,
                "vcpus": 6,
                "memory": 12288,
            },
        ],
        platform="FARGATE",
        execution_role_arn=ROLE,
    )
    assert spec.to_request() == {
        "jobDefinitionName": "multicontainer-ecs-fargate",
        "type": "container",
        "platformCapabilities": ["FARGATE"],
        "ecsProperties": {
            "taskProperties": [
                {
                    "containers": [
                        {
                            "name": "c1",
                            "command": ["echo", "hello world"],
                            "image": AMAZONLINUX,
                            "resourceRequirements": [
                                {"type": "VCPU", "value": "2"},
                                {"type": "MEMORY", "value": "4096"},
                            ],
                        },
                        {
                            "name": "c2",
                            "essential": True,
                            "command": ["echo", "hello world"],
                            "image": AMAZONLINUX,
                            "resourceRequirements": [
                                {"type": "VCPU", "value": "6"},
                                {"type": "MEMORY", "value": "12288"},
                            ],
                        },
                    ],
                    "executionRoleArn": ROLE,
                }
            ]
        },
    }
    validate_with_botocore("RegisterJobDefinition", spec.to_request())


def test_every_field_reaches_the_request_in_botocores_shape():
    spec = ec2(
        app(
            command=["python", "-m", "etl"],
            depends_on=[("init", "SUCCESS"), "router"],
            gpus=1,
            environment={"STAGE": "prod"},
            secrets={"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"},
            mount_points=[{"source_volume": "scratch", "container_path": "/scratch", "read_only": False}],
            log_configuration={"log_driver": "awsfirelens", "options": {"Name": "cloudwatch"}},
            linux_parameters={"init_process_enabled": True, "shared_memory_size": 64},
            privileged=False,
            readonly_root_filesystem=True,
            repository_credentials_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:registry",
            ulimits=[{"name": "nofile", "soft_limit": 1024, "hard_limit": 4096}],
            user="1000:1000",
            start_timeout=30,
            stop_timeout=60,
        ),
        {"name": "init", "image": "busybox", "essential": False, "memory": 64, "command": ["true"]},
        {
            "name": "router",
            "image": "amazon/aws-for-fluent-bit:stable",
            "essential": False,
            "memory": 256,
            "firelens_configuration": {"type": "FLUENTBIT"},
        },
        task_role_arn=TASK_ROLE,
        ipc_mode="TASK",
        pid_mode="task",
        volumes=[{"name": "scratch"}],
        enable_execute_command=True,
        propagate_tags=True,
    )
    task = spec.to_request()["ecsProperties"]["taskProperties"][0]
    assert task["taskRoleArn"] == TASK_ROLE
    assert (task["ipcMode"], task["pidMode"], task["enableExecuteCommand"]) == ("task", "task", True)
    assert task["volumes"] == [{"name": "scratch"}]
    first = task["containers"][0]
    assert first["dependsOn"] == [
        {"containerName": "init", "condition": "SUCCESS"},
        {"containerName": "router", "condition": "START"},
    ]
    assert first["resourceRequirements"] == [
        {"type": "VCPU", "value": "1"},
        {"type": "MEMORY", "value": "2048"},
        {"type": "GPU", "value": "1"},
    ]
    assert first["environment"] == [{"name": "STAGE", "value": "prod"}]
    assert first["secrets"][0]["name"] == "DB_PASSWORD"
    assert first["repositoryCredentials"] == {
        "credentialsParameter": "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry"
    }
    assert (first["startTimeout"], first["stopTimeout"], first["user"]) == (30, 60, "1000:1000")
    assert task["containers"][2]["firelensConfiguration"] == {"type": "fluentbit"}
    validate_with_botocore("RegisterJobDefinition", spec.to_request())


def test_fargate_task_fields_reach_the_request():
    spec = fargate(
        task_role_arn=TASK_ROLE,
        platform_version="1.4.0",
        assign_public_ip=True,
        runtime_platform={"cpu_architecture": "ARM64"},
        ephemeral_storage_gib=50,
        pid_mode="task",
    )
    task = spec.to_request()["ecsProperties"]["taskProperties"][0]
    assert task["networkConfiguration"] == {"assignPublicIp": "ENABLED"}
    assert task["platformVersion"] == "1.4.0"
    assert task["runtimePlatform"] == {"cpuArchitecture": "ARM64"}
    assert task["ephemeralStorage"] == {"sizeInGiB": 50}
    validate_with_botocore("RegisterJobDefinition", spec.to_request())


def test_aws_shape_and_helper_and_dataclasses_build_the_same_definition():
    containers = [app(), sidecar()]
    helper = ec2(*containers)
    aws_shape = JobDefinitionSpec(
        name="mc", platform="EC2", ecs={"taskProperties": [{"containers": containers}]}
    )
    typed = JobDefinitionSpec(
        name="mc",
        platform="EC2",
        ecs=EcsTaskSpec(containers=[TaskContainerSpec(**c) for c in containers]),
    )
    assert helper.to_request() == aws_shape.to_request() == typed.to_request()
    assert helper.content_hash() == aws_shape.content_hash() == typed.content_hash()
    assert helper.job_type == "container"


@pytest.mark.parametrize(
    "changes",
    [
        {"command": ["other"]},
        {"essential": True},
        {"vcpus": 2},
        {"depends_on": ["sidecar"]},
        {"environment": {"A": "1"}},
    ],
)
def test_content_hash_covers_every_container_field(changes):
    assert ec2(app(**changes), sidecar()).content_hash() != ec2().content_hash()


# --- containers: every rule ------------------------------------------------------------------

CONTAINER_RULES = [
    ("image-empty", {"image": ""}, "ecs.containers[0].image", "non-empty"),
    ("image-pattern", {"image": "bad image!"}, "ecs.containers[0].image", "up to 255 letters"),
    ("name-pattern", {"name": "bad name"}, "ecs.containers[0].name", "ECS's container names"),
    ("name-empty", {"name": ""}, "ecs.containers[0].name", "non-empty"),
    ("essential-type", {"essential": "yes"}, "ecs.containers[0].essential", "True or False"),
    ("command-string", {"command": "echo hi"}, "ecs.containers[0].command", "not one string"),
    ("vcpus-zero", {"vcpus": 0}, "ecs.containers[0].vcpus", "positive number"),
    ("memory-small", {"memory": 3}, "ecs.containers[0].memory", "at least 4"),
    ("gpus-negative", {"gpus": -1}, "ecs.containers[0].gpus", "at least 0"),
    (
        "reserved-env",
        {"environment": {"AWS_BATCH_X": "1"}},
        "ecs.containers[0].environment['AWS_BATCH_X']",
        "AWS_BATCH",
    ),
    (
        "plain-secret",
        {"environment": {"DB_PASSWORD": "hunter2"}},
        "ecs.containers[0].environment['DB_PASSWORD']",
        "looks like a secret",
    ),
    (
        "secret-source",
        {"secrets": {"X": "not a secret ref!"}},
        "ecs.containers[0].secrets['X']",
        "Secrets Manager",
    ),
    (
        "repository-credentials",
        {"repository_credentials_arn": "arn:aws:ssm:us-east-1:123456789012:parameter/x"},
        "ecs.containers[0].repository_credentials_arn",
        "Secrets Manager secret",
    ),
    ("start-timeout", {"start_timeout": 1}, "ecs.containers[0].start_timeout", "at least 2"),
    ("stop-timeout", {"stop_timeout": 1}, "ecs.containers[0].stop_timeout", "at least 2"),
    ("user-empty", {"user": " "}, "ecs.containers[0].user", "non-empty"),
    (
        "firelens-type",
        {"firelens_configuration": {"type": "logstash"}},
        "ecs.containers[0].firelens_configuration.type",
        "fluentd, fluentbit",
    ),
    (
        "log-driver",
        {"log_configuration": {"log_driver": "nope"}},
        "ecs.containers[0].log_configuration.log_driver",
        "must be one of",
    ),
    (
        "ulimit",
        {"ulimits": [{"name": "nofile", "soft_limit": 10, "hard_limit": 5}]},
        "ecs.containers[0].ulimits[0].soft_limit",
        "hard_limit",
    ),
    ("unknown-field", {"cpu": 1}, "ecs.containers[0]", "unknown TaskContainerSpec field"),
    (
        "dependency-condition",
        {"depends_on": [("sidecar", "LATER")]},
        "ecs.containers[0].depends_on[0].condition",
        "START, COMPLETE, SUCCESS",
    ),
    (
        "dependency-healthy",
        {"depends_on": [("sidecar", "HEALTHY")]},
        "ecs.containers[0].depends_on[0].condition",
        "health check",
    ),
    (
        "dependency-empty-name",
        {"depends_on": [{"container_name": ""}]},
        "ecs.containers[0].depends_on[0].container_name",
        "non-empty",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"), [r[1:] for r in CONTAINER_RULES], ids=[r[0] for r in CONTAINER_RULES]
)
def test_container_rules(changes, field, fragment):
    assert_problem(lambda: ec2(app(**changes), sidecar()), field, fragment)


def test_a_plain_secret_is_refused_in_every_container_and_never_shown():
    found = problems_of(
        lambda: ec2(app(environment={"API_TOKEN": "s3cr3t-value"}), sidecar(environment={"PGPASSWORD": "pw"}))
    )
    fields = {p.field for p in found}
    assert fields == {
        "ecs.containers[0].environment['API_TOKEN']",
        "ecs.containers[1].environment['PGPASSWORD']",
    }
    assert "s3cr3t-value" not in "\n".join(map(str, found))


def test_not_secrets_and_references_pass_per_container():
    spec = ec2(
        app(environment={"TOKEN_LIMIT": "5", "API_TOKEN": "plain"}, not_secrets=["API_TOKEN"]),
        sidecar(environment={"DB_PASSWORD": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}),
    )
    containers = spec.to_request()["ecsProperties"]["taskProperties"][0]["containers"]
    assert "not_secrets" not in json.dumps(containers)
    assert "notSecrets" not in json.dumps(containers)


# --- the task: every rule --------------------------------------------------------------------

TASK_RULES = [
    ("no-containers", {"containers": []}, "ecs.containers", "1 to 10 containers"),
    (
        "eleven-containers",
        {"containers": [app(name=f"c{i}", vcpus=1, memory=64) for i in range(11)]},
        "ecs.containers",
        "1 to 10 containers",
    ),
    (
        "no-essential",
        {"containers": [app(essential=False), sidecar()]},
        "ecs.containers",
        "at least one container must be essential",
    ),
    ("duplicate-names", {"containers": [app(), app(essential=False)]}, "ecs.containers[1].name", "unique"),
    (
        "unknown-dependency",
        {"containers": [app(depends_on=["db"]), sidecar()]},
        "ecs.containers[0].depends_on[0].container_name",
        "another container of the task",
    ),
    (
        "self-dependency",
        {"containers": [app(depends_on=["app"]), sidecar()]},
        "ecs.containers[0].depends_on[0].container_name",
        "itself",
    ),
    (
        "cycle",
        {"containers": [app(depends_on=["sidecar"]), sidecar(depends_on=["app"])]},
        "ecs.containers[0].depends_on",
        "must not form a cycle",
    ),
    (
        "complete-on-essential",
        {"containers": [app(depends_on=[("sidecar", "COMPLETE")]), sidecar(essential=True)]},
        "ecs.containers[0].depends_on[0].condition",
        "can't be set on an essential container",
    ),
    (
        "success-on-default-essential",
        {"containers": [app(depends_on=[("sidecar", "SUCCESS")]), {**sidecar(), "essential": None}]},
        "ecs.containers[0].depends_on[0].condition",
        "can't be set on an essential container",
    ),
    (
        "no-vcpus",
        {"containers": [app(vcpus=None), sidecar(vcpus=None)]},
        "ecs.containers",
        "give vcpus to at least one container",
    ),
    (
        "no-memory",
        {"containers": [app(memory=None), sidecar(memory=None)]},
        "ecs.containers",
        "give memory to at least one container",
    ),
    (
        "ec2-below-one-vcpu",
        {"containers": [app(vcpus=0.25), sidecar(vcpus=0.5)]},
        "ecs.containers",
        "at least 1 vCPU in all",
    ),
    ("task-role", {"task_role_arn": "batch-job"}, "ecs.task_role_arn", "ARN of an IAM role"),
    ("execution-role", {"execution_role_arn": "role"}, "ecs.execution_role_arn", "ARN of an IAM role"),
    ("ipc-mode", {"ipc_mode": "shared"}, "ecs.ipc_mode", "host, task, none"),
    ("pid-mode", {"pid_mode": "none"}, "ecs.pid_mode", "host, task"),
    ("execute-command", {"enable_execute_command": "yes"}, "ecs.enable_execute_command", "True or False"),
    ("ec2-public-ip", {"assign_public_ip": True}, "ecs.assign_public_ip", "only for Fargate"),
    ("ec2-platform-version", {"platform_version": "LATEST"}, "ecs.platform_version", "only for Fargate"),
    ("ec2-storage", {"ephemeral_storage_gib": 30}, "ecs.ephemeral_storage_gib", "only for Fargate"),
    (
        "ec2-runtime",
        {"runtime_platform": {"cpu_architecture": "ARM64"}},
        "ecs.runtime_platform",
        "only for Fargate",
    ),
    ("storage-range", {"ephemeral_storage_gib": 20}, "ecs.ephemeral_storage_gib", "at least 21"),
    (
        "mount-unknown-volume",
        {"containers": [app(mount_points=[{"source_volume": "data", "container_path": "/d"}]), sidecar()]},
        "ecs.containers[0].mount_points[0].source_volume",
        "volume declared in the task's volumes",
    ),
    ("duplicate-volumes", {"volumes": [{"name": "v"}, {"name": "v"}]}, "ecs.volumes[1].name", "unique"),
    (
        "efs-iam-needs-task-role",
        {
            "volumes": [
                {
                    "name": "v",
                    "efs": {"file_system_id": "fs-12345678", "transit_encryption": True, "iam": True},
                }
            ]
        },
        "ecs.volumes[0].efs.iam",
        "task_role_arn",
    ),
    (
        "firelens-without-router",
        {"containers": [app(log_configuration={"log_driver": "awsfirelens"}), sidecar()]},
        "ecs.containers[0].log_configuration.log_driver",
        "needs a log router",
    ),
    ("unknown-task-field", {"network_mode": "host"}, "", "unexpected keyword"),
]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"), [r[1:] for r in TASK_RULES], ids=[r[0] for r in TASK_RULES]
)
def test_task_rules(changes, field, fragment):
    if field == "":
        with pytest.raises(TypeError, match=fragment):
            ec2(**changes)
        return
    containers = changes.pop("containers", None)
    if containers is not None:
        assert_problem(lambda: JobDefinitionSpec.ecs_job("mc", containers, **changes), field, fragment)
    else:
        assert_problem(lambda: ec2(**changes), field, fragment)


def test_a_cycle_through_three_containers_is_named():
    found = assert_problem(
        lambda: ec2(
            app(depends_on=["b"]),
            {"name": "b", "image": "busybox", "essential": False, "depends_on": ["c"], "memory": 4},
            {"name": "c", "image": "busybox", "essential": False, "depends_on": ["app"], "memory": 4},
        ),
        "ecs.containers[0].depends_on",
        "cycle",
    )
    assert any(p.value == "app -> b -> c -> app" for p in found)


def test_complete_and_success_on_a_non_essential_container_pass():
    spec = ec2(app(depends_on=[("sidecar", "COMPLETE")]), sidecar())
    assert spec.to_request()["ecsProperties"]["taskProperties"][0]["containers"][0]["dependsOn"] == [
        {"containerName": "sidecar", "condition": "COMPLETE"}
    ]


def test_one_unnamed_container_is_a_valid_task():
    spec = JobDefinitionSpec.ecs_job("one", [{"image": "busybox", "vcpus": 1, "memory": 512}])
    assert spec.to_request()["ecsProperties"]["taskProperties"][0]["containers"] == [
        {
            "image": "busybox",
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
        }
    ]


def test_ten_containers_are_allowed():
    containers = [app(name=f"c{i}", vcpus=1, memory=64) for i in range(10)]
    assert (
        len(
            JobDefinitionSpec.ecs_job("ten", containers).to_request()["ecsProperties"]["taskProperties"][0][
                "containers"
            ]
        )
        == 10
    )


def test_aws_shape_takes_exactly_one_task():
    assert_problem(
        lambda: JobDefinitionSpec(name="mc", ecs={"taskProperties": [{"containers": [app()]}] * 2}),
        "ecs.task_properties",
        "exactly one task",
    )
    assert_problem(
        lambda: JobDefinitionSpec(name="mc", ecs={"taskProperties": [{"containers": [app()]}], "x": 1}),
        "ecs",
        "unknown EcsProperties field",
    )


def test_ecs_is_one_kind_among_container_eks_and_node():
    assert_problem(
        lambda: JobDefinitionSpec(
            name="mc", container={"image": "busybox", "vcpus": 1, "memory": 512}, ecs={"containers": [app()]}
        ),
        "ecs",
        "got container and ecs",
    )


def test_every_problem_is_reported_at_once_with_its_path():
    found = problems_of(
        lambda: fargate(
            app(vcpus=3, memory=3, privileged=True),
            sidecar(gpus=1, depends_on=["ghost"]),
            execution_role_arn=None,
            ipc_mode="host",
        )
    )
    fields = {p.field for p in found}
    assert {
        "ecs.containers[0].memory",
        "ecs.containers[0].privileged",
        "ecs.containers[1].gpus",
        "ecs.containers[1].depends_on[0].container_name",
        "ecs.execution_role_arn",
        "ecs.ipc_mode",
    } <= fields


# --- Fargate ---------------------------------------------------------------------------------

FARGATE_RULES = [
    ("execution-role", {"execution_role_arn": None}, "ecs.execution_role_arn", "required on Fargate"),
    ("ipc-mode", {"ipc_mode": "task"}, "ecs.ipc_mode", "not available for jobs on Fargate"),
    ("pid-host", {"pid_mode": "host"}, "ecs.pid_mode", "only 'task'"),
    (
        "host-volume",
        {"volumes": [{"name": "v", "host_path": "/data"}]},
        "ecs.volumes[0].host_path",
        "Fargate",
    ),
    ("platform-version", {"platform_version": "latest!"}, "ecs.platform_version", "LATEST or a version"),
    (
        "old-platform-with-efs",
        {"platform_version": "1.3.0", "volumes": [{"name": "v", "efs": {"file_system_id": "fs-12345678"}}]},
        "ecs.platform_version",
        "at least 1.4.0",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"), [r[1:] for r in FARGATE_RULES], ids=[r[0] for r in FARGATE_RULES]
)
def test_fargate_task_rules(changes, field, fragment):
    assert_problem(lambda: fargate(**changes), field, fragment)


FARGATE_CONTAINER_RULES = [
    ("privileged", {"privileged": True}, "ecs.containers[0].privileged", "not available on Fargate"),
    (
        "ulimits",
        {"ulimits": [{"name": "nofile", "soft_limit": 1, "hard_limit": 2}]},
        "ecs.containers[0].ulimits",
        "not available on Fargate",
    ),
    ("gpus", {"gpus": 1}, "ecs.containers[0].gpus", "not available on Fargate"),
    (
        "log-driver",
        {"log_configuration": {"log_driver": "fluentd"}},
        "ecs.containers[0].log_configuration.log_driver",
        "awslogs, splunk",
    ),
    (
        "devices",
        {"linux_parameters": {"devices": [{"host_path": "/dev/fuse"}]}},
        "ecs.containers[0].linux_parameters.devices",
        "not available on Fargate",
    ),
    ("stop-timeout", {"stop_timeout": 121}, "ecs.containers[0].stop_timeout", "at most 120"),
    ("start-timeout", {"start_timeout": 300}, "ecs.containers[0].start_timeout", "at most 120"),
]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [r[1:] for r in FARGATE_CONTAINER_RULES],
    ids=[r[0] for r in FARGATE_CONTAINER_RULES],
)
def test_fargate_container_rules(changes, field, fragment):
    assert_problem(
        lambda: fargate(app(vcpus=0.5, memory=1024, **changes), sidecar(vcpus=0.5, memory=1024)),
        field,
        fragment,
    )


def test_timeouts_above_120_seconds_are_fine_on_ec2():
    ec2(app(start_timeout=300, stop_timeout=600), sidecar())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((0.25, 512), (0.25, 512)),
        ((0.5, 1024), (0.5, 1024)),
        ((2, 4096), (6, 12288)),
        ((0.125, 256), (0.125, 256)),
        ((0.1, 256), (0.15, 256)),
    ],
)
def test_fargate_task_totals_that_are_pairs_pass(first, second):
    fargate(app(vcpus=first[0], memory=first[1]), sidecar(vcpus=second[0], memory=second[1]))


@pytest.mark.parametrize(
    ("first", "second", "fragment"),
    [
        ((1, 1024), (1, 1024), "with 2 vCPU, memory must be one of 4096"),
        ((1, 4096), (2, 4096), "not a Fargate vCPU count"),
        ((0.25, 256), (0.25, 256), "with 0.5 vCPU"),
    ],
)
def test_fargate_task_totals_that_are_not_pairs_are_refused(first, second, fragment):
    found = assert_problem(
        lambda: fargate(app(vcpus=first[0], memory=first[1]), sidecar(vcpus=second[0], memory=second[1])),
        "ecs.containers",
        fragment,
    )
    assert any("sum of its containers" in p.rule for p in found)


def test_windows_containers_refuse_linux_only_fields():
    found = problems_of(
        lambda: fargate(
            app(vcpus=0.5, memory=1024, user="1000", readonly_root_filesystem=True),
            sidecar(vcpus=0.5, memory=1024),
            runtime_platform={
                "operating_system_family": "WINDOWS_SERVER_2022_CORE",
                "cpu_architecture": "X86_64",
            },
        )
    )
    fields = {p.field for p in found if "Windows" in p.rule}
    assert fields == {"ecs.containers[0].user", "ecs.containers[0].readonly_root_filesystem"}


# --- size, templates -------------------------------------------------------------------------


def test_definition_over_24_kib_is_refused():
    ec2(app(command=["x" * 20_000]), sidecar())
    found = assert_problem(lambda: ec2(app(command=["x" * 25_000]), sidecar()), "JobDefinitionSpec", "24 KiB")
    assert str(MAX_JOB_DEFINITION_BYTES) in found[0].rule


def test_templates_defer_checks_until_rendered():
    spec = ec2(
        app(name="{{ params.name }}", vcpus="{{ params.vcpus }}", memory="{{ params.memory }}"),
        sidecar(depends_on=["{{ params.name }}"]),
    )
    rendered = render_spec(
        spec,
        lambda value: {"{{ params.name }}": "main", "{{ params.vcpus }}": "2", "{{ params.memory }}": "4096"}[
            value
        ],
    )
    containers = rendered.to_request()["ecsProperties"]["taskProperties"][0]["containers"]
    assert containers[0]["name"] == "main"
    assert containers[1]["dependsOn"] == [{"containerName": "main", "condition": "START"}]
    with pytest.raises(SpecValidationError, match=r"containers\[0\]\.memory"):
        render_spec(
            spec,
            lambda value: {
                "{{ params.name }}": "main",
                "{{ params.vcpus }}": "2",
                "{{ params.memory }}": "2",
            }[value],
        )


def test_a_nested_spec_built_alone_checks_what_needs_no_platform():
    with pytest.raises(SpecValidationError, match="unique"):
        EcsTaskSpec(containers=[app(), app(essential=False)])
    with deferred_validation():
        loose = TaskContainerDependency(container_name="x", condition="NEVER")
    assert [p.field for p in loose.problems()] == ["condition"]


# --- SubmitJob: ecsPropertiesOverride --------------------------------------------------------


def submission(**changes: Any) -> JobSubmissionSpec:
    return JobSubmissionSpec(job_name="run", job_queue="q", job_definition="mc", **changes)


def test_override_reaches_the_request_in_aws_shape():
    spec = submission(
        ecs_properties_override=[
            {
                "name": "app",
                "command": ["python", "-m", "etl", "--day", "1"],
                "environment": {"DAY": "1"},
                "vcpus": 2,
                "memory": 4096,
            },
            TaskContainerOverrides(name="sidecar", gpus=1),
        ],
        job_definition_spec=ec2(),
    )
    assert spec.to_request()["ecsPropertiesOverride"] == {
        "taskProperties": [
            {
                "containers": [
                    {
                        "name": "app",
                        "command": ["python", "-m", "etl", "--day", "1"],
                        "environment": [{"name": "DAY", "value": "1"}],
                        "resourceRequirements": [
                            {"type": "VCPU", "value": "2"},
                            {"type": "MEMORY", "value": "4096"},
                        ],
                    },
                    {"name": "sidecar", "resourceRequirements": [{"type": "GPU", "value": "1"}]},
                ]
            }
        ]
    }
    assert "jobDefinitionSpec" not in spec.to_request()
    assert "job_definition_spec" not in spec.to_request()
    validate_with_botocore("SubmitJob", spec.to_request())


def test_override_in_aws_shape_and_typed_are_the_same():
    aws = {"taskProperties": [{"containers": [{"name": "app", "command": ["a"]}]}]}
    typed = EcsPropertiesOverride(containers=[TaskContainerOverrides(name="app", command=["a"])])
    assert (
        submission(ecs_properties_override=aws).to_request()
        == submission(ecs_properties_override=typed).to_request()
    )
    assert submission(
        ecs_properties_override={"containers": [{"name": "app", "command": ["a"]}]}
    ).to_request() == (submission(ecs_properties_override=typed).to_request())


OVERRIDE_RULES = [
    ("name-missing", [{"command": ["a"]}], "ecs_properties_override.containers[0]", "argument: 'name'"),
    ("name-none", [{"name": None}], "ecs_properties_override.containers[0].name", "is required"),
    ("name-empty", [{"name": ""}], "ecs_properties_override.containers[0].name", "non-empty"),
    (
        "twice",
        [{"name": "app"}, {"name": "app"}],
        "ecs_properties_override.containers[1].name",
        "override each container once",
    ),
    ("empty-list", [], "ecs_properties_override.containers", "at least one container override"),
    (
        "empty-command-item",
        [{"name": "app", "command": ["a", ""]}],
        "ecs_properties_override.containers[0].command[1]",
        "empty string",
    ),
    (
        "reserved-env",
        [{"name": "app", "environment": {"AWS_BATCH_JOB_ID": "x"}}],
        "ecs_properties_override.containers[0].environment['AWS_BATCH_JOB_ID']",
        "AWS_BATCH",
    ),
    (
        "plain-secret",
        [{"name": "app", "environment": {"STRIPE_API_KEY": "sk_live"}}],
        "ecs_properties_override.containers[0].environment['STRIPE_API_KEY']",
        "looks like a secret",
    ),
    (
        "vcpus",
        [{"name": "app", "vcpus": -1}],
        "ecs_properties_override.containers[0].vcpus",
        "positive number",
    ),
    ("memory", [{"name": "app", "memory": 2}], "ecs_properties_override.containers[0].memory", "at least 4"),
    ("gpus", [{"name": "app", "gpus": -2}], "ecs_properties_override.containers[0].gpus", "at least 0"),
    (
        "unknown-field",
        [{"name": "app", "image": "other"}],
        "ecs_properties_override.containers[0]",
        "unknown TaskContainerOverrides field",
    ),
    (
        "two-tasks",
        {"taskProperties": [{"containers": []}, {"containers": []}]},
        "ecs_properties_override.task_properties",
        "exactly one task",
    ),
    ("wrong-type", "app", "ecs_properties_override", "must be an EcsPropertiesOverride"),
]


@pytest.mark.parametrize(
    ("override", "field", "fragment"), [r[1:] for r in OVERRIDE_RULES], ids=[r[0] for r in OVERRIDE_RULES]
)
def test_override_rules(override, field, fragment):
    assert_problem(lambda: submission(ecs_properties_override=override), field, fragment)


def test_override_secret_value_is_never_shown():
    found = problems_of(
        lambda: submission(
            ecs_properties_override=[{"name": "app", "environment": {"DB_PASSWORD": "hunter2"}}]
        )
    )
    assert "hunter2" not in "\n".join(map(str, found))
    submission(
        ecs_properties_override=[
            {"name": "app", "environment": {"DB_PASSWORD": "x"}, "not_secrets": ["DB_PASSWORD"]}
        ]
    )


def test_override_over_8_kib_is_refused():
    submission(ecs_properties_override=[{"name": "app", "command": ["x" * 7_000]}])
    assert_problem(
        lambda: submission(ecs_properties_override=[{"name": "app", "command": ["x" * 9_000]}]),
        "ecs_properties_override",
        "8 KiB",
    )


def test_override_is_one_kind_of_override():
    assert_problem(
        lambda: submission(ecs_properties_override=[{"name": "app"}], container_overrides={"command": ["a"]}),
        "container_overrides",
        "not both",
    )
    assert_problem(
        lambda: submission(
            ecs_properties_override=[{"name": "app"}], eks_properties_override={"podProperties": {}}
        ),
        "eks_properties_override",
        "not both",
    )


def test_override_names_must_be_containers_of_a_known_definition():
    assert_problem(
        lambda: submission(ecs_properties_override=[{"name": "worker"}], job_definition_spec=ec2()),
        "ecs_properties_override.containers[0].name",
        "has no container of this name (its named containers: ['app', 'sidecar'])",
    )
    submission(ecs_properties_override=[{"name": "sidecar", "command": ["b"]}], job_definition_spec=ec2())


def test_override_kind_must_fit_a_known_definition():
    container_definition = JobDefinitionSpec.container_job("one", "busybox")
    assert_problem(
        lambda: submission(
            ecs_properties_override=[{"name": "app"}], job_definition_spec=container_definition
        ),
        "ecs_properties_override",
        "has no ecsProperties",
    )
    assert_problem(
        lambda: submission(container_overrides={"command": ["a"]}, job_definition_spec=ec2()),
        "container_overrides",
        "override them by name in ecs_properties_override",
    )
    submission(container_overrides={"command": ["a"]}, job_definition_spec=container_definition)


def test_overridden_fargate_sizes_must_still_be_a_pair():
    definition = fargate()  # 0.5 + 0.5 vCPU, 1024 + 1024 MiB
    submission(
        ecs_properties_override=[{"name": "app", "vcpus": 1.5, "memory": 3072}],
        job_definition_spec=definition,
    )
    found = assert_problem(
        lambda: submission(
            ecs_properties_override=[{"name": "app", "memory": 1536}], job_definition_spec=definition
        ),
        "ecs_properties_override",
        "with 1 vCPU, memory must be one of 2048",
    )
    assert found[0].value == "<1 vCPU, 2560 MiB in all>"


def test_the_submit_operator_takes_and_checks_the_override():
    from airflow_batch_plugin.operators.submit_job import BatchSubmitJobOperator

    operator = BatchSubmitJobOperator(
        task_id="t",
        job_name="run",
        job_queue="q",
        job_definition=ec2(),
        ecs_properties_override=[{"name": "app", "command": ["python", "-m", "etl"]}],
    )
    assert "ecs_properties_override" in operator.template_fields
    assert operator.template_fields_renderers["ecs_properties_override"] == "json"
    request = operator._build_submission("mc", {}).to_request()
    assert request["ecsPropertiesOverride"]["taskProperties"][0]["containers"] == [
        {"name": "app", "command": ["python", "-m", "etl"]}
    ]
    with pytest.raises(SpecValidationError, match="has no container of this name"):
        BatchSubmitJobOperator(
            task_id="t2",
            job_name="run",
            job_queue="q",
            job_definition=ec2(),
            ecs_properties_override=[{"name": "ghost"}],
        )


def test_dataclass_replace_keeps_the_override_typed():
    spec = submission(ecs_properties_override=[{"name": "app"}])
    assert isinstance(spec.ecs_properties_override, EcsPropertiesOverride)
    again = dataclasses.replace(spec, job_name="again")
    assert again.to_request()["ecsPropertiesOverride"] == spec.to_request()["ecsPropertiesOverride"]
