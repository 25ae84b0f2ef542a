"""Tests for JobDefinitionSpec and its parts: every AWS rule, exact requests, content hash."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_batch_plugin.specs import (
    ContainerSpec,
    EfsVolume,
    EksContainer,
    EksSpec,
    JobDefinitionSpec,
    LogConfiguration,
    MountPoint,
    NodeRange,
    NodeSpec,
    Problem,
    RetryStrategy,
    SpecValidationError,
    Volume,
    deferred_validation,
)
from airflow_batch_plugin.specs.container import FARGATE_MEMORY_BY_VCPU
from airflow_batch_plugin.specs.job_definition import MAX_JOB_DEFINITION_BYTES

ROLE = "arn:aws:iam::123456789012:role/batch-execution"
JOB_ROLE = "arn:aws:iam::123456789012:role/batch-job"


def problems_of(build: Any) -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        build()
    return info.value.problems


def assert_problem(build: Any, field: str, fragment: str) -> list[Problem]:
    found = problems_of(build)
    assert any(p.field == field and fragment in p.rule for p in found), "\n".join(map(str, found))
    return found


def ec2(**container: Any) -> JobDefinitionSpec:
    return JobDefinitionSpec.container_job("jd", container.pop("image", "busybox"), **container)


def fargate(**container: Any) -> JobDefinitionSpec:
    container.setdefault("execution_role_arn", ROLE)
    container.setdefault("vcpus", 0.25)
    container.setdefault("memory", 512)
    return JobDefinitionSpec.container_job(
        "jd", container.pop("image", "busybox"), platform="FARGATE", **container
    )


EKS_CONTAINER: dict[str, Any] = {"image": "busybox", "limits": {"cpu": 1, "memory": 1024}}


def eks(*, container: dict[str, Any] | None = None, **pod: Any) -> JobDefinitionSpec:
    pod.setdefault("containers", [{**EKS_CONTAINER, **(container or {})}])
    return JobDefinitionSpec(name="k", eks=pod)


def node(**nodes: Any) -> JobDefinitionSpec:
    nodes.setdefault("num_nodes", 3)
    nodes.setdefault(
        "node_range_properties",
        [{"target_nodes": "0:", "container": {"image": "busybox", "vcpus": 2, "memory": 4096}}],
    )
    return JobDefinitionSpec(name="m", node=nodes)


# --- container on EC2 ------------------------------------------------------------------------

EC2_RULES = [
    ("image-empty", {"image": ""}, "container.image", "non-empty"),
    ("image-chars", {"image": "bad image!"}, "container.image", "255"),
    ("image-long", {"image": "a" * 256}, "container.image", "255"),
    ("vcpus-zero", {"vcpus": 0}, "container.vcpus", "positive number"),
    ("vcpus-text", {"vcpus": "many"}, "container.vcpus", "positive number"),
    ("vcpus-fraction", {"vcpus": 0.5}, "container.vcpus", "on EC2 must be a whole number"),
    ("vcpus-missing", {"vcpus": None}, "container.vcpus", "is required"),
    ("memory-3", {"memory": 3}, "container.memory", "at least 4 MiB"),
    ("memory-fraction", {"memory": 1.5}, "container.memory", "whole number of MiB"),
    ("memory-missing", {"memory": None}, "container.memory", "is required"),
    ("gpus-negative", {"gpus": -1}, "container.gpus", "at least 0"),
    ("command-string", {"command": "echo hi"}, "container.command", "not one string"),
    ("command-item", {"command": ["echo", 3]}, "container.command[1]", "must be a string"),
    (
        "env-reserved",
        {"environment": {"AWS_BATCH_JOB_ID": "x"}},
        "container.environment['AWS_BATCH_JOB_ID']",
        "must not start with 'AWS_BATCH'",
    ),
    ("env-value", {"environment": {"X": None}}, "container.environment['X']", "values are strings"),
    ("env-name", {"environment": {"": "x"}}, "container.environment['']", "non-empty strings"),
    ("secret-source", {"secrets": {"DB": "not a secret!"}}, "container.secrets['DB']", "Secrets Manager"),
    ("job-role", {"job_role_arn": "my-role"}, "container.job_role_arn", "ARN of an IAM role"),
    ("execution-role", {"execution_role_arn": "arn:aws:s3:::x"}, "container.execution_role_arn", "IAM role"),
    (
        "log-driver",
        {"log_configuration": {"log_driver": "logentries"}},
        "container.log_configuration.log_driver",
        "must be one of awslogs",
    ),
    (
        "log-secret",
        {"log_configuration": {"log_driver": "splunk", "secret_options": {"splunk-token": "bad value"}}},
        "container.log_configuration.secret_options['splunk-token']",
        "SSM",
    ),
    (
        "ulimit-name",
        {"ulimits": [{"name": "files", "soft_limit": 1, "hard_limit": 2}]},
        "container.ulimits[0].name",
        "must be one of core",
    ),
    (
        "ulimit-order",
        {"ulimits": [{"name": "nofile", "soft_limit": 4096, "hard_limit": 1024}]},
        "container.ulimits[0].soft_limit",
        "must not exceed hard_limit",
    ),
    (
        "swappiness",
        {"linux_parameters": {"swappiness": 101}},
        "container.linux_parameters.swappiness",
        "at most 100",
    ),
    (
        "shm",
        {"linux_parameters": {"shared_memory_size": 0}},
        "container.linux_parameters.shared_memory_size",
        "at least 1",
    ),
    ("max-swap", {"linux_parameters": {"max_swap": -1}}, "container.linux_parameters.max_swap", "at least 0"),
    (
        "tmpfs-path",
        {"linux_parameters": {"tmpfs": [{"container_path": "scratch", "size": 64}]}},
        "container.linux_parameters.tmpfs[0].container_path",
        "absolute path",
    ),
    (
        "tmpfs-size",
        {"linux_parameters": {"tmpfs": [{"container_path": "/scratch", "size": 0}]}},
        "container.linux_parameters.tmpfs[0].size",
        "at least 1",
    ),
    (
        "tmpfs-option",
        {"linux_parameters": {"tmpfs": [{"container_path": "/s", "size": 1, "mount_options": ["fast"]}]}},
        "container.linux_parameters.tmpfs[0].mount_options[0]",
        "tmpfs mount option",
    ),
    (
        "device-permission",
        {"linux_parameters": {"devices": [{"host_path": "/dev/fuse", "permissions": ["EXECUTE"]}]}},
        "container.linux_parameters.devices[0].permissions[0]",
        "READ, WRITE, MKNOD",
    ),
    ("privileged-type", {"privileged": "yes"}, "container.privileged", "True or False"),
    ("user-empty", {"user": ""}, "container.user", "non-empty"),
    ("instance-type", {"instance_type": "c5.large"}, "container.instance_type", "multi-node"),
    ("public-ip", {"assign_public_ip": True}, "container.assign_public_ip", "only for Fargate"),
    (
        "platform-version",
        {"fargate_platform_version": "LATEST"},
        "container.fargate_platform_version",
        "Fargate",
    ),
    ("ephemeral", {"ephemeral_storage_gib": 30}, "container.ephemeral_storage_gib", "only for Fargate"),
    ("runtime", {"runtime_platform": {"cpu_architecture": "ARM64"}}, "container.runtime_platform", "Fargate"),
    (
        "repo-credentials",
        {"repository_credentials_arn": "arn:aws:ssm:us-east-1:123456789012:parameter/x"},
        "container.repository_credentials_arn",
        "Secrets Manager",
    ),
    ("volume-name", {"volumes": [{"name": "bad name"}]}, "container.volumes[0].name", "255 letters"),
    (
        "volume-unique",
        {"volumes": [{"name": "data"}, {"name": "data", "host_path": "/d"}]},
        "container.volumes[1].name",
        "unique",
    ),
    (
        "volume-two-kinds",
        {"volumes": [{"name": "v", "host_path": "/d", "efs": {"file_system_id": "fs-12345678"}}]},
        "container.volumes[0].efs",
        "not both",
    ),
    (
        "mount-unknown-volume",
        {"volumes": [{"name": "data"}], "mount_points": [{"source_volume": "logs", "container_path": "/l"}]},
        "container.mount_points[0].source_volume",
        "must name a volume declared in volumes",
    ),
    (
        "mount-path",
        {"volumes": [{"name": "data"}], "mount_points": [{"source_volume": "data", "container_path": ""}]},
        "container.mount_points[0].container_path",
        "non-empty",
    ),
    (
        "efs-id",
        {"volumes": [{"name": "v", "efs": {"file_system_id": "12345678"}}]},
        "container.volumes[0].efs.file_system_id",
        "fs-",
    ),
    (
        "efs-access-point-root",
        {
            "volumes": [
                {
                    "name": "v",
                    "efs": {
                        "file_system_id": "fs-12345678",
                        "access_point_id": "fsap-12345678",
                        "root_directory": "/data",
                        "transit_encryption": True,
                    },
                }
            ]
        },
        "container.volumes[0].efs.root_directory",
        "omitted or '/'",
    ),
    (
        "efs-access-point-encryption",
        {
            "volumes": [
                {"name": "v", "efs": {"file_system_id": "fs-12345678", "access_point_id": "fsap-12345678"}}
            ]
        },
        "container.volumes[0].efs.transit_encryption",
        "must be enabled",
    ),
    (
        "efs-iam-role",
        {
            "volumes": [
                {
                    "name": "v",
                    "efs": {"file_system_id": "fs-12345678", "iam": True, "transit_encryption": True},
                }
            ]
        },
        "container.volumes[0].efs.iam",
        "job_role_arn",
    ),
    (
        "efs-port",
        {
            "volumes": [
                {"name": "v", "efs": {"file_system_id": "fs-12345678", "transit_encryption_port": 70000}}
            ]
        },
        "container.volumes[0].efs.transit_encryption_port",
        "at most 65535",
    ),
    (
        "unknown-field",
        {"volumes": [{"name": "v", "hostPath": "/x", "size": 3}]},
        "container.volumes[0]",
        "unknown Volume field(s) ['size']",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"), [c[1:] for c in EC2_RULES], ids=[c[0] for c in EC2_RULES]
)
def test_ec2_container_rules(kwargs, field, fragment):
    found = assert_problem(lambda: ec2(**kwargs), field, fragment)
    assert all(p.field.startswith("container") for p in found), found


@pytest.mark.parametrize(
    "kwargs",
    [
        {"vcpus": 1, "memory": 4},
        {"vcpus": 96, "memory": 786432, "gpus": 8},
        {"vcpus": "2", "memory": "4096"},
        {"vcpus": 2.0},
        {"environment": {"aws_batch_lowercase": "ok", "PATH_EXTRA": "x", "N": 3}},
        {"environment": [{"name": "A", "value": "1"}]},
        {"secrets": {"DB": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}},
        {"secrets": {"TOKEN": "/prod/token", "KEY": "arn:aws:ssm:us-east-1:123456789012:parameter/prod/key"}},
        {"ulimits": [{"name": "memlock", "soft_limit": -1, "hard_limit": -1}]},
        {"ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}]},
        {"log_configuration": {"log_driver": "awslogs", "options": {"awslogs-group": "/batch"}}},
        {
            "linux_parameters": {
                "init_process_enabled": True,
                "shared_memory_size": 256,
                "tmpfs": [{"container_path": "/tmp", "size": 64, "mount_options": ["rw", "mode=1777"]}],
                "devices": [{"host_path": "/dev/fuse", "permissions": ["read", "write"]}],
            }
        },
        {
            "job_role_arn": JOB_ROLE,
            "volumes": [
                {"name": "scratch"},
                {"name": "host", "host_path": "/data"},
                {
                    "name": "efs",
                    "efs": {
                        "file_system_id": "fs-0123456789abcdef0",
                        "access_point_id": "fsap-0123456789abcdef0",
                        "root_directory": "/",
                        "transit_encryption": "ENABLED",
                        "iam": "ENABLED",
                    },
                },
            ],
            "mount_points": [{"source_volume": "efs", "container_path": "/mnt/efs", "read_only": True}],
        },
        {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo/app:v1.2#x"},
        {"image": "public.ecr.aws/docker/library/busybox@sha256:abcdef0123"},
    ],
)
def test_ec2_container_accepts_valid_values(kwargs):
    ec2(**kwargs)


# --- container on Fargate --------------------------------------------------------------------

FARGATE_RULES = [
    (
        "vcpus",
        {"vcpus": 3, "memory": 6144},
        "container.vcpus",
        "on Fargate must be one of 0.25, 0.5, 1, 2, 4",
    ),
    ("pair", {"vcpus": 1, "memory": 1024}, "container.memory", "with 1 vCPU, memory must be one of 2048"),
    ("memory-size", {"vcpus": 3, "memory": 1000}, "container.memory", "Fargate vCPU/memory pairs"),
    ("execution-role", {"execution_role_arn": None}, "container.execution_role_arn", "required on Fargate"),
    ("gpus", {"gpus": 1}, "container.gpus", "not available on Fargate"),
    ("privileged", {"privileged": True}, "container.privileged", "not available on Fargate"),
    (
        "ulimits",
        {"ulimits": [{"name": "nofile", "soft_limit": 1, "hard_limit": 2}]},
        "container.ulimits",
        "not available on Fargate",
    ),
    (
        "host-volume",
        {"volumes": [{"name": "v", "host_path": "/data"}]},
        "container.volumes[0].host_path",
        "not available on Fargate",
    ),
    (
        "shm",
        {"linux_parameters": {"shared_memory_size": 64}},
        "container.linux_parameters.shared_memory_size",
        "not available on Fargate",
    ),
    (
        "tmpfs",
        {"linux_parameters": {"tmpfs": [{"container_path": "/t", "size": 1}]}},
        "container.linux_parameters.tmpfs",
        "not available on Fargate",
    ),
    (
        "log-driver",
        {"log_configuration": {"log_driver": "json-file"}},
        "container.log_configuration.log_driver",
        "must be one of awslogs, splunk",
    ),
    ("storage-20", {"ephemeral_storage_gib": 20}, "container.ephemeral_storage_gib", "at least 21"),
    ("storage-201", {"ephemeral_storage_gib": 201}, "container.ephemeral_storage_gib", "at most 200"),
    ("instance-type", {"instance_type": "c5.large"}, "container.instance_type", "Fargate does not run"),
    ("platform-version", {"fargate_platform_version": "v1"}, "container.fargate_platform_version", "1.4.0"),
    (
        "efs-old-platform",
        {
            "fargate_platform_version": "1.3.0",
            "volumes": [{"name": "v", "efs": {"file_system_id": "fs-12345678"}}],
        },
        "container.fargate_platform_version",
        "at least 1.4.0",
    ),
    (
        "windows-arm",
        {
            "runtime_platform": {
                "operating_system_family": "WINDOWS_SERVER_2022_CORE",
                "cpu_architecture": "ARM64",
            }
        },
        "container.runtime_platform.cpu_architecture",
        "X86_64 for Windows",
    ),
    (
        "windows-readonly",
        {
            "runtime_platform": {"operating_system_family": "WINDOWS_SERVER_2019_FULL"},
            "readonly_root_filesystem": True,
        },
        "container.readonly_root_filesystem",
        "Windows",
    ),
    (
        "os-family",
        {"runtime_platform": {"operating_system_family": "MACOS"}},
        "container.runtime_platform.operating_system_family",
        "must be one of LINUX",
    ),
    ("public-ip", {"assign_public_ip": "maybe"}, "container.assign_public_ip", "True or False"),
]


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"), [c[1:] for c in FARGATE_RULES], ids=[c[0] for c in FARGATE_RULES]
)
def test_fargate_container_rules(kwargs, field, fragment):
    assert_problem(lambda: fargate(**kwargs), field, fragment)


@pytest.mark.parametrize(
    ("vcpus", "memory"),
    [
        (0.25, 512),
        (0.25, 2048),
        (0.5, 1024),
        (0.5, 4096),
        (1, 2048),
        (1, 8192),
        (2, 4096),
        (2, 16384),
        (4, 8192),
        (4, 30720),
        (8, 16384),
        (8, 20480),
        (8, 61440),
        (16, 32768),
        (16, 122880),
        (32, 61440),
        (32, 249856),
        ("0.5", "2048"),
    ],
)
def test_fargate_valid_pairs(vcpus, memory):
    fargate(vcpus=vcpus, memory=memory)


@pytest.mark.parametrize(
    ("vcpus", "memory", "field"),
    [
        (0.25, 4096, "container.memory"),
        (0.5, 512, "container.memory"),
        (1, 1024, "container.memory"),
        (1, 9216, "container.memory"),
        (2, 17408, "container.memory"),
        (4, 31744, "container.memory"),
        (4, 8000, "container.memory"),
        (8, 18432, "container.memory"),
        (16, 36864, "container.memory"),
        (32, 65536, "container.memory"),
        (0.75, 2048, "container.vcpus"),
        (3, 6144, "container.vcpus"),
        (64, 249856, "container.vcpus"),
    ],
)
def test_fargate_invalid_pairs(vcpus, memory, field):
    found = assert_problem(lambda: fargate(vcpus=vcpus, memory=memory), field, "Fargate")
    assert any(p.value in (vcpus, memory) for p in found)


def test_fargate_table_matches_aws_memory_side():
    # AWS's table read from the memory side: 61440 MiB fits 8 or 32 vCPUs, 122880 fits 16 or 32.
    by_memory = {
        m: sorted(v for v, ms in FARGATE_MEMORY_BY_VCPU.items() if m in ms) for m in (61440, 122880, 20480)
    }
    assert by_memory == {61440: [8, 32], 122880: [16, 32], 20480: [4, 8]}


def test_fargate_accepts_its_own_fields():
    spec = fargate(
        vcpus=1,
        memory=2048,
        assign_public_ip=True,
        fargate_platform_version="1.4.0",
        ephemeral_storage_gib=21,
        runtime_platform={"cpu_architecture": "arm64", "operating_system_family": "LINUX"},
        log_configuration={"log_driver": "awslogs"},
        linux_parameters={"init_process_enabled": True},
        privileged=False,
        volumes=[{"name": "efs", "efs": {"file_system_id": "fs-12345678"}}],
    )
    assert spec.platform == "FARGATE"
    fargate(ephemeral_storage_gib=200)


# --- definition level ------------------------------------------------------------------------

DEFINITION_RULES = [
    ("name-empty", {"name": ""}, "name", "1 to 128 letters"),
    ("name-space", {"name": "my job"}, "name", "1 to 128 letters"),
    ("name-129", {"name": "a" * 129}, "name", "1 to 128 letters"),
    ("name-type", {"name": 5}, "name", "1 to 128 letters"),
    ("no-kind", {"container": None}, "container", "exactly one of container, ecs, eks or node (none given)"),
    ("two-kinds", {"eks": {"containers": [EKS_CONTAINER]}}, "eks", "got container and eks"),
    ("platform", {"platform": "GPU"}, "platform", "must be EC2 or FARGATE"),
    ("priority-low", {"scheduling_priority": -1}, "scheduling_priority", "at least 0"),
    ("priority-high", {"scheduling_priority": 10000}, "scheduling_priority", "at most 9999"),
    ("timeout", {"timeout_seconds": 59}, "timeout_seconds", "at least 60 seconds"),
    ("tags-count", {"tags": {f"k{i}": "v" for i in range(49)}}, "tags", "at most 48 tags of your own"),
    ("tags-aws", {"tags": {"aws:owner": "me"}}, "tags['aws:owner']", "must not start with 'aws:'"),
    ("tags-key-long", {"tags": {"k" * 129: "v"}}, f"tags[{'k' * 129!r}]", "1 to 128"),
    ("tags-value-long", {"tags": {"k": "v" * 257}}, "tags['k']", "at most 256"),
    ("propagate", {"propagate_tags": "yes"}, "propagate_tags", "True or False"),
    ("parameters", {"parameters": {"codec": None}}, "parameters['codec']", "values are strings"),
    ("parameters-type", {"parameters": ["codec"]}, "parameters", "dict of string to string"),
    ("retry", {"retry_strategy": 11}, "retry_strategy.attempts", "at most 10"),
    ("retry-type", {"retry_strategy": "often"}, "retry_strategy", "RetryStrategy"),
]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"), [c[1:] for c in DEFINITION_RULES], ids=[c[0] for c in DEFINITION_RULES]
)
def test_definition_rules(changes, field, fragment):
    kwargs: dict[str, Any] = {"name": "jd", "container": {"image": "busybox", "vcpus": 1, "memory": 512}}
    kwargs.update(changes)
    assert_problem(lambda: JobDefinitionSpec(**kwargs), field, fragment)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "a" * 128},
        {"name": "A_b-1"},
        {"scheduling_priority": 0},
        {"scheduling_priority": 9999},
        {"timeout_seconds": 60},
        {"tags": {f"k{i}": "v" for i in range(48)}},  # AWS's 50 less the 2 the hook adds
        {
            "platform": "fargate",
            "container": {"image": "b", "vcpus": 1, "memory": 2048, "execution_role_arn": ROLE},
        },
        {"retry_strategy": {"attempts": 10, "evaluateOnExit": [{"action": "EXIT", "onExitCode": "0"}]}},
    ],
)
def test_definition_accepts_boundaries(changes):
    kwargs: dict[str, Any] = {"name": "jd", "container": {"image": "busybox", "vcpus": 1, "memory": 512}}
    kwargs.update(changes)
    JobDefinitionSpec(**kwargs)


def test_all_problems_are_reported_together():
    found = problems_of(
        lambda: JobDefinitionSpec.container_job(
            "bad name",
            "",
            vcpus=0.5,
            memory=3,
            platform="FARGATE",
            environment={"AWS_BATCH_X": "1"},
            privileged=True,
            timeout_seconds=59,
            retry_strategy=11,
            scheduling_priority=10000,
        )
    )
    assert {p.field for p in found} == {
        "name",
        "container.image",
        "container.memory",
        "container.environment['AWS_BATCH_X']",
        "container.execution_role_arn",
        "container.privileged",
        "timeout_seconds",
        "retry_strategy.attempts",
        "scheduling_priority",
    }


def test_error_message_lists_field_value_and_rule():
    with pytest.raises(SpecValidationError) as info:
        ec2(memory=3)
    message = str(info.value)
    assert "Invalid JobDefinitionSpec (1 problem(s))" in message
    assert "container.memory=3: must be at least 4 MiB" in message


def test_standalone_container_spec_checks_platform_independent_rules():
    found = problems_of(lambda: ContainerSpec(image="", vcpus=0, memory=2, environment={"AWS_BATCH_X": "1"}))
    assert {p.field for p in found} == {"image", "vcpus", "memory", "environment['AWS_BATCH_X']"}
    # Platform rules wait for the definition: a standalone spec does not know its platform.
    ContainerSpec(image="busybox", vcpus=0.5, memory=3000, assign_public_ip=True)


def test_request_over_24_kib_is_rejected():
    ec2(environment={"BIG": "x" * 20_000})
    found = assert_problem(lambda: ec2(environment={"BIG": "x" * 25_000}), "JobDefinitionSpec", "24 KiB")
    assert str(MAX_JOB_DEFINITION_BYTES) in found[0].rule


# --- templates -------------------------------------------------------------------------------


def test_templated_strings_defer_pattern_and_number_checks():
    spec = JobDefinitionSpec.container_job(
        "etl-{{ ds_nodash }}",
        "repo:{{ params.tag }}",
        vcpus="{{ params.vcpus }}",
        memory="{{ params.memory }}",
        platform="FARGATE",
        execution_role_arn="{{ var.value.role }}",
        timeout_seconds="{{ params.timeout }}",
        scheduling_priority="{{ params.priority }}",
        ephemeral_storage_gib="{{ params.disk }}",
        environment={"STAGE": "{{ params.stage }}"},
    )
    assert spec.to_request()["containerProperties"]["resourceRequirements"] == [
        {"type": "VCPU", "value": "{{ params.vcpus }}"},
        {"type": "MEMORY", "value": "{{ params.memory }}"},
    ]


def test_rendered_values_are_checked_when_the_spec_is_rebuilt():
    spec = JobDefinitionSpec.container_job(
        "etl",
        "busybox",
        vcpus="{{ params.vcpus }}",
        memory="{{ params.memory }}",
        platform="FARGATE",
        execution_role_arn=ROLE,
        timeout_seconds="{{ params.timeout }}",
    )
    assert isinstance(spec.container, ContainerSpec)
    rendered_container = dataclasses.replace(spec.container, vcpus="0.5", memory="3000")
    found = problems_of(lambda: dataclasses.replace(spec, container=rendered_container, timeout_seconds="30"))
    assert {(p.field, p.value) for p in found} == {("container.memory", 3000), ("timeout_seconds", 30)}
    good = dataclasses.replace(
        spec, container=dataclasses.replace(spec.container, vcpus="0.5", memory="4096"), timeout_seconds="600"
    )
    assert good.to_request()["timeout"] == {"attemptDurationSeconds": 600}


# --- EKS -------------------------------------------------------------------------------------

EKS_RULES = [
    ("no-containers", {"containers": []}, "eks.containers", "1 to 10 containers"),
    (
        "eleven-containers",
        {"containers": [{**EKS_CONTAINER, "name": f"c{i}"} for i in range(11)]},
        "eks.containers",
        "1 to 10",
    ),
    (
        "eleven-init",
        {"init_containers": [{"image": "b", "name": f"i{i}"} for i in range(11)]},
        "eks.init_containers",
        "0 to 10",
    ),
    (
        "no-memory",
        {"containers": [{"image": "b", "limits": {"cpu": 1}}]},
        "eks.containers[0].limits['memory']",
        "give memory",
    ),
    (
        "no-cpu",
        {"containers": [{"image": "b", "requests": {"memory": 64}}]},
        "eks.containers[0].limits['cpu']",
        "give cpu",
    ),
    (
        "memory-unit",
        {"containers": [{"image": "b", "limits": {"cpu": 1, "memory": "1Gi"}}]},
        "eks.containers[0].limits['memory']",
        '"Mi" suffix',
    ),
    (
        "memory-min",
        {"containers": [{"image": "b", "limits": {"cpu": 1, "memory": 3}}]},
        "eks.containers[0].limits['memory']",
        "at least 4 MiB",
    ),
    (
        "cpu-milli",
        {"containers": [{"image": "b", "limits": {"cpu": "100m", "memory": 64}}]},
        "eks.containers[0].limits['cpu']",
        "multiple of 0.25",
    ),
    (
        "cpu-step",
        {"containers": [{"image": "b", "limits": {"cpu": 0.3, "memory": 64}}]},
        "eks.containers[0].limits['cpu']",
        "multiple of 0.25",
    ),
    (
        "gpu-whole",
        {"containers": [{"image": "b", "limits": {"cpu": 1, "memory": 64, "nvidia.com/gpu": 1.5}}]},
        "eks.containers[0].limits['nvidia.com/gpu']",
        "whole number",
    ),
    (
        "resource-name",
        {"containers": [{"image": "b", "limits": {"cpu": 1, "memory": 64, "ephemeral-storage": "1Gi"}}]},
        "eks.containers[0].limits['ephemeral-storage']",
        "must be one of cpu, memory",
    ),
    (
        "memory-equal",
        {"containers": [{"image": "b", "limits": {"cpu": 1, "memory": 64}, "requests": {"memory": 32}}]},
        "eks.containers[0].limits['memory']",
        "must equal requests",
    ),
    (
        "gpu-equal",
        {
            "containers": [
                {
                    "image": "b",
                    "limits": {"cpu": 1, "memory": 64, "nvidia.com/gpu": 2},
                    "requests": {"nvidia.com/gpu": 1},
                }
            ]
        },
        "eks.containers[0].limits['nvidia.com/gpu']",
        "must equal",
    ),
    (
        "cpu-order",
        {"containers": [{"image": "b", "limits": {"cpu": 1, "memory": 64}, "requests": {"cpu": 2}}]},
        "eks.containers[0].limits['cpu']",
        "at least requests",
    ),
    (
        "env",
        {"containers": [{**EKS_CONTAINER, "env": {"AWS_BATCH_X": "1"}}]},
        "eks.containers[0].env['AWS_BATCH_X']",
        "AWS_BATCH",
    ),
    ("image", {"containers": [{**EKS_CONTAINER, "image": ""}]}, "eks.containers[0].image", "non-empty"),
    ("names", {"containers": [EKS_CONTAINER, EKS_CONTAINER]}, "eks.containers[1].name", "unique"),
    (
        "init-name-clash",
        {"containers": [{**EKS_CONTAINER, "name": "a"}], "init_containers": [{"image": "b", "name": "a"}]},
        "eks.init_containers[0].name",
        "unique",
    ),
    (
        "mount",
        {"containers": [{**EKS_CONTAINER, "volume_mounts": [{"name": "data", "mount_path": "/d"}]}]},
        "eks.containers[0].volume_mounts[0].name",
        "must name a volume",
    ),
    (
        "pull-policy",
        {"containers": [{**EKS_CONTAINER, "image_pull_policy": "Sometimes"}]},
        "eks.containers[0].image_pull_policy",
        "Always, IfNotPresent, Never",
    ),
    (
        "security",
        {"containers": [{**EKS_CONTAINER, "security_context": {"runAsRoot": True}}]},
        "eks.containers[0].security_context['runAsRoot']",
        "must be one of runAsUser",
    ),
    (
        "volume-two-kinds",
        {"volumes": [{"name": "v", "host_path": "/d", "secret": {"secret_name": "s"}}]},
        "eks.volumes[0].secret",
        "exactly one of host_path, empty_dir or secret",
    ),
    ("volume-no-kind", {"volumes": [{"name": "v"}]}, "eks.volumes[0].host_path", "exactly one"),
    (
        "volume-name",
        {"volumes": [{"name": "Bad_Name", "empty_dir": {}}]},
        "eks.volumes[0].name",
        "DNS subdomain",
    ),
    (
        "volume-unique",
        {"volumes": [{"name": "v", "empty_dir": {}}, {"name": "v", "host_path": "/x"}]},
        "eks.volumes[1].name",
        "unique",
    ),
    (
        "empty-dir-medium",
        {"volumes": [{"name": "v", "empty_dir": {"medium": "Disk"}}]},
        "eks.volumes[0].empty_dir.medium",
        "must be one of , Memory",
    ),
    (
        "empty-dir-size",
        {"volumes": [{"name": "v", "empty_dir": {"size_limit": "lots"}}]},
        "eks.volumes[0].empty_dir.size_limit",
        "quantity",
    ),
    (
        "secret-name",
        {"volumes": [{"name": "v", "secret": {"secret_name": "Bad_Secret"}}]},
        "eks.volumes[0].secret.secret_name",
        "DNS subdomain",
    ),
    (
        "dns-policy",
        {"dns_policy": "None"},
        "eks.dns_policy",
        "Default, ClusterFirst, ClusterFirstWithHostNet",
    ),
    ("service-account", {"service_account_name": "Bad_SA"}, "eks.service_account_name", "DNS subdomain"),
    ("host-network", {"host_network": "yes"}, "eks.host_network", "True or False"),
    ("label-key", {"labels": {"bad key!": "v"}}, "eks.labels['bad key!']", "label keys"),
    ("label-value", {"labels": {"app": "v" * 64}}, "eks.labels['app']", "up to 63"),
    ("annotation-value", {"annotations": {"note": "v" * 256}}, "eks.annotations['note']", "at most 255"),
    ("annotation-key", {"annotations": {"-bad": "v"}}, "eks.annotations['-bad']", "annotation keys"),
    ("namespace-default", {"namespace": "default"}, "eks.namespace", "must not be 'default'"),
    ("namespace-kube", {"namespace": "kube-jobs"}, "eks.namespace", "must not start with 'kube'"),
    ("namespace-pattern", {"namespace": "Batch"}, "eks.namespace", "lowercase"),
    ("pull-secrets", {"image_pull_secrets": [""]}, "eks.image_pull_secrets[0]", "empty string"),
]


@pytest.mark.parametrize(
    ("pod", "field", "fragment"), [c[1:] for c in EKS_RULES], ids=[c[0] for c in EKS_RULES]
)
def test_eks_rules(pod, field, fragment):
    assert_problem(lambda: eks(**pod), field, fragment)


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"platform": "EC2"}, "platform", "must not be set for EKS"),
        ({"propagate_tags": True}, "propagate_tags", "must not be set for EKS"),
    ],
)
def test_eks_definition_rules(changes, field, fragment):
    assert_problem(
        lambda: JobDefinitionSpec(name="k", eks={"containers": [EKS_CONTAINER]}, **changes), field, fragment
    )


def test_eks_accepts_valid_pod():
    eks(
        containers=[
            {
                "name": "main",
                "image": "busybox",
                "limits": {"cpu": "2", "memory": "2048Mi", "nvidia.com/gpu": 1},
                "requests": {"cpu": 0.25, "memory": 2048, "nvidia.com/gpu": "1"},
                "volume_mounts": [{"name": "scratch", "mount_path": "/scratch"}],
                "security_context": {"run_as_user": 1000, "privileged": False},
            },
        ],
        init_containers=[{"name": "init", "image": "busybox"}],
        volumes=[
            {"name": "scratch", "empty_dir": {"medium": "Memory", "size_limit": 512}},
            {"name": "host.data", "host_path": "/data"},
            {"name": "creds", "secret": {"secret_name": "db-creds", "optional": True}},
        ],
        labels={"app.kubernetes.io/name": "etl", "team": ""},
        annotations={"example.com/owner": "data-team"},
        namespace="batch-jobs",
        dns_policy="ClusterFirstWithHostNet",
        host_network=True,
        service_account_name="batch.runner",
    )


# --- multi-node ------------------------------------------------------------------------------

NODE_RULES = [
    ("num-nodes", {"num_nodes": 0}, "node.num_nodes", "at least 1"),
    ("main-node", {"num_nodes": 3, "main_node": 3}, "node.main_node", "must be below num_nodes (3)"),
    ("main-node-negative", {"main_node": -1}, "node.main_node", "at least 0"),
    (
        "range-beyond",
        {"node_range_properties": [{"target_nodes": "0:3", "container": {"image": "b"}}]},
        "node.node_range_properties[0].target_nodes",
        "within nodes 0 to 2",
    ),
    (
        "range-reversed",
        {
            "node_range_properties": [
                {"target_nodes": "0:", "container": {"image": "b"}},
                ("2:1", {"image": "b"}),
            ]
        },
        "node.node_range_properties[1].target_nodes",
        "start must not be after its end",
    ),
    (
        "range-syntax",
        {"node_range_properties": [{"target_nodes": "0-2", "container": {"image": "b"}}]},
        "node.node_range_properties[0].target_nodes",
        '"start:end"',
    ),
    (
        "uncovered",
        {"num_nodes": 6, "node_range_properties": [("0:1", {"image": "b"}), ("3:3", {"image": "b"})]},
        "node.node_range_properties",
        "no range covers node(s) 2, 4-5",
    ),
    ("no-ranges", {"node_range_properties": []}, "node.node_range_properties", "at least one node range"),
    (
        "instance-types",
        {
            "node_range_properties": [
                ("0:0", {"image": "b", "instance_type": "c5.large"}),
                ("1:", {"image": "b", "instance_type": "c5.xlarge"}),
            ]
        },
        "node.node_range_properties",
        "same instance_type",
    ),
    (
        "fargate-field",
        {"node_range_properties": [("0:", {"image": "b", "assign_public_ip": True})]},
        "node.node_range_properties[0].container.assign_public_ip",
        "only for Fargate",
    ),
    (
        "range-container",
        {"node_range_properties": [("0:", {"image": "b", "vcpus": 0.5})]},
        "node.node_range_properties[0].container.vcpus",
        "whole number",
    ),
]


@pytest.mark.parametrize(
    ("nodes", "field", "fragment"), [c[1:] for c in NODE_RULES], ids=[c[0] for c in NODE_RULES]
)
def test_node_rules(nodes, field, fragment):
    assert_problem(lambda: node(**nodes), field, fragment)


def test_multinode_is_not_for_fargate():
    assert_problem(
        lambda: JobDefinitionSpec(
            name="m",
            platform="FARGATE",
            node={"num_nodes": 2, "node_range_properties": [("0:", {"image": "b"})]},
        ),
        "platform",
        "do not run on Fargate",
    )


@pytest.mark.parametrize(
    "ranges",
    [
        [(":", {"image": "b"})],
        [(":1", {"image": "b"}), ("2:", {"image": "b"})],
        [("0:2", {"image": "b", "instance_type": "p4d.24xlarge"}), ("1:1", {"image": "c"})],
    ],
)
def test_node_accepts_covering_and_nested_ranges(ranges):
    spec = node(num_nodes=3, node_range_properties=ranges)
    assert spec.job_type == "multinode"


# --- exact requests --------------------------------------------------------------------------


def test_ec2_container_request():
    spec = JobDefinitionSpec.container_job(
        "nightly-etl",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1.4",
        command=["python", "-m", "etl", "Ref::day"],
        vcpus=2,
        memory=4096,
        gpus=1,
        environment={"STAGE": "prod", "LEVEL": 3},
        parameters={"day": "today"},
        retry_strategy=RetryStrategy(
            attempts=3, evaluate_on_exit=[{"action": "retry", "on_status_reason": "Host EC2*"}]
        ),
        timeout_seconds=3600,
        tags={"team": "data"},
        propagate_tags=True,
        scheduling_priority=10,
        job_role_arn=JOB_ROLE,
        secrets={"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"},
        volumes=[Volume(name="scratch", host_path="/scratch")],
        mount_points=[MountPoint(source_volume="scratch", container_path="/data", read_only=False)],
        log_configuration=LogConfiguration(log_driver="awslogs", options={"awslogs-group": "/batch/etl"}),
        ulimits=[{"name": "nofile", "soft_limit": 1024, "hard_limit": 4096}],
        linux_parameters={"shared_memory_size": 512, "init_process_enabled": True},
        readonly_root_filesystem=True,
        user="1000",
    )
    assert spec.to_request() == {
        "jobDefinitionName": "nightly-etl",
        "type": "container",
        "parameters": {"day": "today"},
        "schedulingPriority": 10,
        "containerProperties": {
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1.4",
            "command": ["python", "-m", "etl", "Ref::day"],
            "jobRoleArn": JOB_ROLE,
            "volumes": [{"name": "scratch", "host": {"sourcePath": "/scratch"}}],
            "environment": [{"name": "LEVEL", "value": "3"}, {"name": "STAGE", "value": "prod"}],
            "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/data", "readOnly": False}],
            "readonlyRootFilesystem": True,
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
            "user": "1000",
            "resourceRequirements": [
                {"type": "VCPU", "value": "2"},
                {"type": "MEMORY", "value": "4096"},
                {"type": "GPU", "value": "1"},
            ],
            "linuxParameters": {"initProcessEnabled": True, "sharedMemorySize": 512},
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/batch/etl"}},
            "secrets": [
                {
                    "name": "DB_PASSWORD",
                    "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
                }
            ],
        },
        "retryStrategy": {
            "attempts": 3,
            "evaluateOnExit": [{"action": "RETRY", "onStatusReason": "Host EC2*"}],
        },
        "propagateTags": True,
        "timeout": {"attemptDurationSeconds": 3600},
        "tags": {"team": "data"},
        "platformCapabilities": ["EC2"],
    }


def test_fargate_request():
    spec = JobDefinitionSpec.fargate_job(
        "fargate-job",
        "public.ecr.aws/docker/library/python:3.12",
        execution_role_arn=ROLE,
        command=["python", "-c", "print(1)"],
        vcpus=0.5,
        memory=1024,
        assign_public_ip=True,
        fargate_platform_version="LATEST",
        ephemeral_storage_gib=50,
        runtime_platform={"cpu_architecture": "ARM64", "operating_system_family": "LINUX"},
        volumes=[{"name": "efs", "efs": EfsVolume(file_system_id="fs-12345678", transit_encryption=True)}],
        mount_points=[{"source_volume": "efs", "container_path": "/mnt/efs"}],
    )
    assert spec.to_request() == {
        "jobDefinitionName": "fargate-job",
        "type": "container",
        "containerProperties": {
            "image": "public.ecr.aws/docker/library/python:3.12",
            "command": ["python", "-c", "print(1)"],
            "executionRoleArn": ROLE,
            "volumes": [
                {
                    "name": "efs",
                    "efsVolumeConfiguration": {"fileSystemId": "fs-12345678", "transitEncryption": "ENABLED"},
                }
            ],
            "mountPoints": [{"sourceVolume": "efs", "containerPath": "/mnt/efs"}],
            "resourceRequirements": [{"type": "VCPU", "value": "0.5"}, {"type": "MEMORY", "value": "1024"}],
            "networkConfiguration": {"assignPublicIp": "ENABLED"},
            "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
            "ephemeralStorage": {"sizeInGiB": 50},
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        },
        "platformCapabilities": ["FARGATE"],
    }


def test_eks_request():
    spec = JobDefinitionSpec(
        name="eks-job",
        eks=EksSpec(
            containers=[
                EksContainer(
                    name="main",
                    image="busybox",
                    command=["sh", "-c"],
                    args=["echo hi"],
                    env={"B": "2", "A": "1"},
                    limits={"cpu": 1, "memory": 2048, "nvidia.com/gpu": 1},
                    requests={"cpu": 0.5},
                    volume_mounts=[{"name": "scratch", "mount_path": "/scratch", "read_only": False}],
                    security_context={"run_as_user": 1000},
                )
            ],
            volumes=[{"name": "scratch", "empty_dir": {"medium": "Memory", "size_limit": "1Gi"}}],
            service_account_name="batch-runner",
            host_network=False,
            dns_policy="ClusterFirst",
            labels={"team": "data"},
            namespace="jobs",
        ),
        retry_strategy=2,
        timeout_seconds=600,
    )
    assert spec.to_request() == {
        "jobDefinitionName": "eks-job",
        "type": "container",
        "retryStrategy": {"attempts": 2},
        "timeout": {"attemptDurationSeconds": 600},
        "eksProperties": {
            "podProperties": {
                "serviceAccountName": "batch-runner",
                "hostNetwork": False,
                "dnsPolicy": "ClusterFirst",
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox",
                        "command": ["sh", "-c"],
                        "args": ["echo hi"],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "resources": {
                            "limits": {"cpu": "1", "memory": "2048Mi", "nvidia.com/gpu": "1"},
                            "requests": {"cpu": "0.5"},
                        },
                        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch", "readOnly": False}],
                        "securityContext": {"runAsUser": 1000},
                    }
                ],
                "volumes": [{"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}],
                "metadata": {"labels": {"team": "data"}, "namespace": "jobs"},
            }
        },
    }


def test_eks_job_helper_request():
    spec = JobDefinitionSpec.eks_job("k", "busybox", command=["true"], cpu=0.25, memory=512, gpus=2)
    assert spec.to_request() == {
        "jobDefinitionName": "k",
        "type": "container",
        "eksProperties": {
            "podProperties": {
                "containers": [
                    {
                        "image": "busybox",
                        "command": ["true"],
                        "resources": {"limits": {"cpu": "0.25", "memory": "512Mi", "nvidia.com/gpu": "2"}},
                    }
                ]
            }
        },
    }


def test_multinode_request():
    spec = JobDefinitionSpec(
        name="mpi",
        node=NodeSpec(
            num_nodes=4,
            main_node=0,
            node_range_properties=[
                NodeRange(
                    target_nodes="0:0",
                    container=ContainerSpec(image="mpi:1", vcpus=4, memory=8192, instance_type="c5.2xlarge"),
                ),
                (
                    "1:",
                    {
                        "image": "mpi:1",
                        "vcpus": 4,
                        "memory": 8192,
                        "command": ["worker"],
                        "instanceType": "c5.2xlarge",
                    },
                ),
            ],
        ),
        tags={"team": "hpc"},
    )
    assert spec.to_request() == {
        "jobDefinitionName": "mpi",
        "type": "multinode",
        "nodeProperties": {
            "numNodes": 4,
            "mainNode": 0,
            "nodeRangeProperties": [
                {
                    "targetNodes": "0:0",
                    "container": {
                        "image": "mpi:1",
                        "instanceType": "c5.2xlarge",
                        "resourceRequirements": [
                            {"type": "VCPU", "value": "4"},
                            {"type": "MEMORY", "value": "8192"},
                        ],
                    },
                },
                {
                    "targetNodes": "1:",
                    "container": {
                        "image": "mpi:1",
                        "command": ["worker"],
                        "instanceType": "c5.2xlarge",
                        "resourceRequirements": [
                            {"type": "VCPU", "value": "4"},
                            {"type": "MEMORY", "value": "8192"},
                        ],
                    },
                },
            ],
        },
        "tags": {"team": "hpc"},
    }


def test_multinode_helper_and_optional_resources_in_ranges():
    spec = JobDefinitionSpec.multinode_job("mpi", "mpi:1", num_nodes=2, vcpus=1, memory=1024, main_node=1)
    assert spec.to_request()["nodeProperties"]["mainNode"] == 1
    # vCPUs and memory may come from node overrides at submit time: not required per range.
    node(node_range_properties=[("0:", {"image": "b"})])


def test_request_omits_unset_fields_and_gpu_zero():
    assert ec2(gpus=0).to_request() == {
        "jobDefinitionName": "jd",
        "type": "container",
        "containerProperties": {
            "image": "busybox",
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        },
        "platformCapabilities": ["EC2"],
    }


def test_request_is_json_serializable_and_valid_for_botocore():
    botocore_session = pytest.importorskip("botocore.session")
    from botocore.validate import ParamValidator

    model = botocore_session.get_session().get_service_model("batch")
    shape = model.operation_model("RegisterJobDefinition").input_shape
    for spec in (ec2(environment={"A": "1"}), fargate(assign_public_ip=True), node(), eks()):
        request = spec.to_request()
        json.dumps(request)
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), report.generate_report()


# --- content hash ----------------------------------------------------------------------------


def test_content_hash_is_stable_for_equal_specs():
    first = ec2(environment={"A": "1", "B": "2"}, tags={"x": "1"})
    second = ec2(environment={"B": "2", "A": "1"}, tags={"x": "1"})
    assert first.content_hash() == second.content_hash()
    assert len(first.content_hash()) == 64
    assert int(first.content_hash(), 16) >= 0


def test_content_hash_is_equal_across_construction_styles():
    with deferred_validation():
        container = ContainerSpec(image="busybox", vcpus=1, memory=2048, command=["true"])
    explicit = JobDefinitionSpec(name="jd", container=container, platform="EC2")
    from_dict = JobDefinitionSpec(
        name="jd",
        container={"image": "busybox", "vcpus": "1", "memory": "2048", "command": ("true",)},
        platform="ec2",
    )
    helper = JobDefinitionSpec.container_job("jd", "busybox", command=["true"])
    assert explicit.content_hash() == from_dict.content_hash() == helper.content_hash()


@pytest.mark.parametrize(
    "changes",
    [
        {"image": "busybox:1.36"},
        {"memory": 4096},
        {"vcpus": 2},
        {"command": ["false"]},
        {"environment": {"A": "2"}},
        {"tags": {"x": "2"}},
        {"timeout_seconds": 61},
        {"platform": "FARGATE", "execution_role_arn": ROLE, "vcpus": 1},
    ],
)
def test_content_hash_changes_with_any_change(changes):
    base: dict[str, Any] = {"command": ["true"], "environment": {"A": "1"}, "tags": {"x": "1"}}
    reference = ec2(**base).content_hash()
    assert ec2(**{**base, **changes}).content_hash() != reference


def test_content_hash_is_equal_in_another_process():
    code = (
        "from airflow_batch_plugin.specs import JobDefinitionSpec\n"
        "spec = JobDefinitionSpec.container_job('jd', 'busybox', command=['echo', 'é'],"
        " environment={'B': '2', 'A': '1'}, tags={'t': 'v'}, retry_strategy=3)\n"
        "print(spec.content_hash())\n"
    )
    local = JobDefinitionSpec.container_job(
        "jd",
        "busybox",
        command=["echo", "é"],
        environment={"A": "1", "B": "2"},
        tags={"t": "v"},
        retry_strategy=3,
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert result.stdout.strip() == local.content_hash()
