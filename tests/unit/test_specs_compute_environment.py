"""Tests for ComputeEnvironmentSpec: AWS's CreateComputeEnvironment rules and the update planner."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_batch_plugin.specs import (
    ComputeEnvironmentSpec,
    EksConfiguration,
    LaunchTemplate,
    Problem,
    ReplacementRequiredError,
    SpecValidationError,
    UpdatePlan,
)

ACCOUNT = "123456789012"
ARN = f"arn:aws:batch:us-east-1:{ACCOUNT}:compute-environment/etl-ec2"
SERVICE_LINKED_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
)
SPOT_FLEET_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role"
CLUSTER_ARN = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/batch-cluster"


def problems_of(build: Any) -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        build()
    return info.value.problems


def assert_problem(build: Any, field: str, fragment: str) -> list[Problem]:
    found = problems_of(build)
    assert any(p.field == field and fragment in p.rule for p in found), "\n".join(map(str, found))
    return found


EC2_BASE: dict[str, Any] = {
    "name": "etl-ec2",
    "type": "EC2",
    "max_vcpus": 256,
    "instance_types": ["optimal"],
    "subnets": ["subnet-0a1"],
    "security_group_ids": ["sg-0123"],
    "instance_role": "ecsInstanceRole",
}
SPOT_BASE: dict[str, Any] = {
    **EC2_BASE,
    "name": "etl-spot",
    "type": "SPOT",
    "allocation_strategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
}
FARGATE_BASE: dict[str, Any] = {
    "name": "etl-fargate",
    "type": "FARGATE",
    "max_vcpus": 64,
    "subnets": ["subnet-0a1"],
    "security_group_ids": ["sg-0123"],
}
EKS_BASE: dict[str, Any] = {
    **EC2_BASE,
    "name": "etl-eks",
    "allocation_strategy": "BEST_FIT_PROGRESSIVE",
    "instance_types": ["m5"],
    "eks_configuration": {"eks_cluster_arn": CLUSTER_ARN, "kubernetes_namespace": "batch-jobs"},
}
UNMANAGED_BASE: dict[str, Any] = {
    "name": "own-hosts",
    "type": "UNMANAGED",
    "service_role": "AWSBatchServiceRole",
}
BASES = {
    "EC2": EC2_BASE,
    "SPOT": SPOT_BASE,
    "FARGATE": FARGATE_BASE,
    "EKS": EKS_BASE,
    "UNMANAGED": UNMANAGED_BASE,
}


def spec(base: str = "EC2", **changes: Any) -> ComputeEnvironmentSpec:
    kwargs = {**BASES[base], **changes}
    return ComputeEnvironmentSpec(**{k: v for k, v in kwargs.items() if v is not ...})


# --- validation: every rule, both sides ----------------------------------------------------------

RULES = [
    # name
    ("name-empty", "EC2", {"name": ""}, "name", "non-empty"),
    ("name-first-char", "EC2", {"name": "-ce"}, "name", "starting with a letter or number"),
    ("name-underscore-first", "EC2", {"name": "_ce"}, "name", "starting with a letter or number"),
    ("name-chars", "EC2", {"name": "ce.1"}, "name", "1 to 128 letters"),
    ("name-129", "EC2", {"name": "c" * 129}, "name", "1 to 128 letters"),
    # enums
    ("type", "EC2", {"type": "GPU"}, "type", "EC2, SPOT, FARGATE, FARGATE_SPOT, UNMANAGED"),
    ("state", "EC2", {"state": "ON"}, "state", "ENABLED, DISABLED"),
    ("strategy", "EC2", {"allocation_strategy": "CHEAPEST"}, "allocation_strategy", "BEST_FIT, "),
    ("service-role", "EC2", {"service_role": "my role"}, "service_role", "IAM role name"),
    # numbers
    ("max-negative", "EC2", {"max_vcpus": -1}, "max_vcpus", "at least 0"),
    ("min-negative", "EC2", {"min_vcpus": -1}, "min_vcpus", "at least 0"),
    ("desired-negative", "EC2", {"desired_vcpus": -1}, "desired_vcpus", "at least 0"),
    ("max-float", "EC2", {"max_vcpus": 2.5}, "max_vcpus", "whole number"),
    ("min-above-max", "EC2", {"min_vcpus": 8, "max_vcpus": 4}, "max_vcpus", "at least min_vcpus (8)"),
    ("desired-above-max", "EC2", {"desired_vcpus": 8, "max_vcpus": 4}, "max_vcpus", "at least desired_vcpus"),
    ("min-above-desired", "EC2", {"min_vcpus": 8, "desired_vcpus": 4}, "desired_vcpus", "at least min_vcpus"),
    ("bid-low", "SPOT", {"bid_percentage": -1}, "bid_percentage", "at least 0"),
    ("bid-high", "SPOT", {"bid_percentage": 101}, "bid_percentage", "at most 100"),
    ("unmanaged-vcpus-negative", "UNMANAGED", {"unmanaged_vcpus": -1}, "unmanaged_vcpus", "at least 0"),
    # tags
    ("tags-51", "EC2", {"tags": {f"k{i}": "v" for i in range(51)}}, "tags", "at most 50 tags"),
    ("tags-aws", "EC2", {"tags": {"aws:x": "v"}}, "tags['aws:x']", "must not start with 'aws:'"),
    ("instance-tags-aws", "EC2", {"instance_tags": {"AWS:x": "v"}}, "instance_tags['AWS:x']", "aws:"),
    ("instance-tags-value", "EC2", {"instance_tags": {"k": "v" * 257}}, "instance_tags['k']", "256"),
    # strings and ids
    ("key-pair-empty", "EC2", {"ec2_key_pair": ""}, "ec2_key_pair", "non-empty"),
    ("placement-empty", "EC2", {"placement_group": " "}, "placement_group", "non-empty"),
    ("subnet-id", "EC2", {"subnets": ["net-1"]}, "subnets[0]", "subnet id"),
    ("subnet-twice", "EC2", {"subnets": ["subnet-1", "subnet-1"]}, "subnets[1]", "listed twice"),
    ("subnets-type", "EC2", {"subnets": 5}, "subnets", "list of strings"),
    ("sg-id", "EC2", {"security_group_ids": ["group-1"]}, "security_group_ids[0]", "security group id"),
    (
        "instance-role-arn",
        "EC2",
        {"instance_role": f"arn:aws:iam::{ACCOUNT}:role/ecs"},
        "instance_role",
        "not a role",
    ),
    ("instance-role-chars", "EC2", {"instance_role": "ecs role"}, "instance_role", "instance profile"),
    (
        "fleet-role",
        "SPOT",
        {"spot_iam_fleet_role": "fleet-role"},
        "spot_iam_fleet_role",
        "ARN of an IAM role",
    ),
    # instance types
    ("types-empty", "EC2", {"instance_types": []}, "instance_types", "at least one"),
    ("type-size-only", "EC2", {"instance_types": ["large"]}, "instance_types[0]", "instance type"),
    ("type-not-str", "EC2", {"instance_types": [5]}, "instance_types[0]", "must be a string"),
    ("type-twice", "EC2", {"instance_types": ["m5", "M5"]}, "instance_types[1]", "listed twice"),
    (
        "types-mixed-arch",
        "EC2",
        {"instance_types": ["m6g", "c5.large"]},
        "instance_types",
        "one architecture",
    ),
    (
        "bundles-mixed-arch",
        "EC2",
        {"instance_types": ["optimal", "default_arm64"]},
        "instance_types",
        "one architecture",
    ),
    # launch template
    (
        "lt-both",
        "EC2",
        {"launch_template": {"launch_template_id": "lt-1", "launch_template_name": "x"}},
        "launch_template",
        "exactly one",
    ),
    ("lt-none", "EC2", {"launch_template": {"version": "1"}}, "launch_template", "exactly one"),
    (
        "lt-id",
        "EC2",
        {"launch_template": {"launch_template_id": "t-1"}},
        "launch_template.launch_template_id",
        "lt-",
    ),
    (
        "lt-version",
        "EC2",
        {"launch_template": {"launch_template_name": "x", "version": "latest"}},
        "launch_template.version",
        "$Latest",
    ),
    ("lt-unknown", "EC2", {"launch_template": {"id": "lt-1"}}, "launch_template", "unknown LaunchTemplate"),
    # EC2 configuration
    (
        "ec2-config-3",
        "EC2",
        {"ec2_configuration": [{"image_type": t} for t in ("ECS_AL2", "ECS_AL2023", "ECS_AL2_NVIDIA")]},
        "ec2_configuration",
        "one or two",
    ),
    (
        "ec2-config-eks-type",
        "EC2",
        {"ec2_configuration": [{"image_type": "EKS_AL2023"}]},
        "ec2_configuration[0].image_type",
        "ECS image type",
    ),
    (
        "eks-config-ecs-type",
        "EKS",
        {"ec2_configuration": [{"image_type": "ECS_AL2023"}]},
        "ec2_configuration[0].image_type",
        "EKS image type",
    ),
    (
        "ec2-config-twice",
        "EC2",
        {"ec2_configuration": [{"image_type": "ECS_AL2023"}, {"imageType": "ecs_al2023"}]},
        "ec2_configuration[1].image_type",
        "listed twice",
    ),
    (
        "ec2-config-ami",
        "EC2",
        {"ec2_configuration": {"image_type": "ECS_AL2023", "image_id_override": "img-1"}},
        "ec2_configuration[0].image_id_override",
        "AMI id",
    ),
    (
        "ec2-config-k8s-on-ecs",
        "EC2",
        {"ec2_configuration": [{"image_type": "ECS_AL2023", "image_kubernetes_version": "1.30"}]},
        "ec2_configuration[0].image_kubernetes_version",
        "only for EKS",
    ),
    (
        "ec2-config-long",
        "EC2",
        {"ec2_configuration": [{"image_type": "ECS_" + "A" * 253}]},
        "ec2_configuration[0].image_type",
        "at most 256",
    ),
    (
        "ec2-config-empty",
        "EC2",
        {"ec2_configuration": [{"image_type": ""}]},
        "ec2_configuration[0].image_type",
        "non-empty",
    ),
    # EKS configuration
    (
        "eks-cluster-arn",
        "EKS",
        {"eks_configuration": {"eks_cluster_arn": "batch-cluster", "kubernetes_namespace": "jobs"}},
        "eks_configuration.eks_cluster_arn",
        "EKS cluster ARN",
    ),
    (
        "eks-namespace-default",
        "EKS",
        {"eks_configuration": {"eks_cluster_arn": CLUSTER_ARN, "kubernetes_namespace": "default"}},
        "eks_configuration.kubernetes_namespace",
        "must not be 'default'",
    ),
    (
        "eks-namespace-kube",
        "EKS",
        {"eks_configuration": {"eks_cluster_arn": CLUSTER_ARN, "kubernetes_namespace": "kube-jobs"}},
        "eks_configuration.kubernetes_namespace",
        "kube-",
    ),
    (
        "eks-namespace-upper",
        "EKS",
        {"eks_configuration": {"eks_cluster_arn": CLUSTER_ARN, "kubernetes_namespace": "Jobs"}},
        "eks_configuration.kubernetes_namespace",
        "at most 63 lowercase",
    ),
    (
        "eks-namespace-64",
        "EKS",
        {"eks_configuration": {"eks_cluster_arn": CLUSTER_ARN, "kubernetes_namespace": "a" * 64}},
        "eks_configuration.kubernetes_namespace",
        "at most 63",
    ),
    ("eks-strategy", "EKS", {"allocation_strategy": None}, "allocation_strategy", "required for an EKS"),
    # update policy
    (
        "policy-timeout-0",
        "EC2",
        {"update_policy": {"job_execution_timeout_minutes": 0}},
        "update_policy.job_execution_timeout_minutes",
        "at least 1",
    ),
    (
        "policy-timeout-7201",
        "EC2",
        {"update_policy": {"jobExecutionTimeoutMinutes": 7201}},
        "update_policy.job_execution_timeout_minutes",
        "at most 7200",
    ),
    (
        "policy-terminate",
        "EC2",
        {"update_policy": {"terminate_jobs_on_update": "yes"}},
        "update_policy.terminate_jobs_on_update",
        "True or False",
    ),
    # managed EC2 / Spot requirements
    ("ec2-role-missing", "EC2", {"instance_role": ...}, "instance_role", "required for an EC2"),
    ("ec2-types-missing", "EC2", {"instance_types": ...}, "instance_types", "required for an EC2"),
    ("ec2-subnets-missing", "EC2", {"subnets": ...}, "subnets", "at least one subnet"),
    ("ec2-max-missing", "EC2", {"max_vcpus": ...}, "max_vcpus", "required for a managed"),
    ("ec2-sg-missing", "EC2", {"security_group_ids": ...}, "security_group_ids", "or a launch_template"),
    ("ec2-bid", "EC2", {"bid_percentage": 50}, "bid_percentage", "only SPOT"),
    ("ec2-fleet-role", "EC2", {"spot_iam_fleet_role": SPOT_FLEET_ROLE}, "spot_iam_fleet_role", "only SPOT"),
    (
        "ec2-spot-strategy",
        "EC2",
        {"allocation_strategy": "SPOT_CAPACITY_OPTIMIZED"},
        "allocation_strategy",
        "only for SPOT",
    ),
    ("ec2-unmanaged-vcpus", "EC2", {"unmanaged_vcpus": 4}, "unmanaged_vcpus", "only for UNMANAGED"),
    (
        "spot-ordered-strategy",
        "SPOT",
        {"allocation_strategy": "BEST_FIT_PROGRESSIVE_ORDERED"},
        "allocation_strategy",
        "only for EC2",
    ),
    ("spot-best-fit-no-role", "SPOT", {"allocation_strategy": "BEST_FIT"}, "spot_iam_fleet_role", "BEST_FIT"),
    ("spot-default-no-role", "SPOT", {"allocation_strategy": None}, "spot_iam_fleet_role", "required"),
    # Fargate
    ("fargate-min", "FARGATE", {"min_vcpus": 0}, "min_vcpus", "not applicable to Fargate"),
    ("fargate-desired", "FARGATE", {"desired_vcpus": 4}, "desired_vcpus", "not applicable to Fargate"),
    ("fargate-types", "FARGATE", {"instance_types": ["optimal"]}, "instance_types", "must not be set"),
    ("fargate-strategy", "FARGATE", {"allocation_strategy": "BEST_FIT"}, "allocation_strategy", "must not"),
    ("fargate-role", "FARGATE", {"instance_role": "ecsInstanceRole"}, "instance_role", "must not be set"),
    ("fargate-lt", "FARGATE", {"launch_template": "lt-0abc"}, "launch_template", "must not be set"),
    (
        "fargate-ec2-config",
        "FARGATE",
        {"ec2_configuration": [{"image_type": "ECS_AL2023"}]},
        "ec2_configuration",
        "must not be set",
    ),
    ("fargate-key", "FARGATE", {"ec2_key_pair": "k"}, "ec2_key_pair", "must not be set"),
    ("fargate-placement", "FARGATE", {"placement_group": "p"}, "placement_group", "must not be set"),
    ("fargate-bid", "FARGATE", {"type": "FARGATE_SPOT", "bid_percentage": 50}, "bid_percentage", "must not"),
    ("fargate-fleet", "FARGATE", {"spot_iam_fleet_role": SPOT_FLEET_ROLE}, "spot_iam_fleet_role", "must not"),
    ("fargate-instance-tags", "FARGATE", {"instance_tags": {"a": "b"}}, "instance_tags", "must not be set"),
    (
        "fargate-eks",
        "FARGATE",
        {"eks_configuration": EKS_BASE["eks_configuration"]},
        "eks_configuration",
        "must not be set",
    ),
    (
        "fargate-17-subnets",
        "FARGATE",
        {"subnets": [f"subnet-{i}" for i in range(17)]},
        "subnets",
        "at most 16",
    ),
    (
        "fargate-6-sgs",
        "FARGATE",
        {"security_group_ids": [f"sg-{i}" for i in range(6)]},
        "security_group_ids",
        "5",
    ),
    (
        "fargate-no-sg",
        "FARGATE",
        {"security_group_ids": []},
        "security_group_ids",
        "Fargate compute environments",
    ),
    ("fargate-no-subnet", "FARGATE", {"subnets": ...}, "subnets", "at least one subnet"),
    ("fargate-no-max", "FARGATE", {"max_vcpus": ...}, "max_vcpus", "required for a managed"),
    # unmanaged
    ("unmanaged-max", "UNMANAGED", {"max_vcpus": 4}, "max_vcpus", "UNMANAGED"),
    ("unmanaged-subnets", "UNMANAGED", {"subnets": ["subnet-1"]}, "subnets", "no compute resources"),
    ("unmanaged-role", "UNMANAGED", {"instance_role": "ecsInstanceRole"}, "instance_role", "UNMANAGED"),
    (
        "unmanaged-eks",
        "UNMANAGED",
        {"eks_configuration": EKS_BASE["eks_configuration"]},
        "eks_configuration",
        "",
    ),
    (
        "unmanaged-service-role",
        "UNMANAGED",
        {"service_role": ...},
        "service_role",
        "required for an UNMANAGED",
    ),
]


@pytest.mark.parametrize(
    ("base", "changes", "field", "fragment"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_compute_environment_rules(base, changes, field, fragment):
    assert_problem(lambda: spec(base, **changes), field, fragment)


VALID = [
    ("EC2", {"name": "c"}),
    ("EC2", {"name": "C" * 128}),
    ("EC2", {"name": "0_ce-A"}),
    ("EC2", {"type": "ec2", "state": "disabled"}),
    ("EC2", {"min_vcpus": 0, "desired_vcpus": 0, "max_vcpus": 0}),
    ("EC2", {"min_vcpus": 4, "desired_vcpus": 4, "max_vcpus": 4}),
    ("EC2", {"max_vcpus": "16"}),
    ("EC2", {"instance_types": ["M5.Large", "c5", "optimal", "m7i-flex.large", "u-6tb1.metal"]}),
    ("EC2", {"instance_types": ["default_arm64", "m6g", "c7gn.large", "a1"]}),
    ("EC2", {"instance_types": "m5"}),
    ("EC2", {"security_group_ids": ..., "launch_template": "my-template"}),
    ("EC2", {"launch_template": {"launch_template_id": "lt-0abc", "version": "$Latest"}}),
    ("EC2", {"launch_template": LaunchTemplate(launch_template_name="x", version=3)}),
    ("EC2", {"ec2_configuration": [{"image_type": "ECS_AL2023"}, {"image_type": "ECS_AL2023_NVIDIA"}]}),
    ("EC2", {"ec2_configuration": [{"image_type": "ecs_al2023", "image_id_override": "ami-0abc"}]}),
    ("EC2", {"allocation_strategy": "BEST_FIT_PROGRESSIVE_ORDERED"}),
    ("EC2", {"update_policy": {"job_execution_timeout_minutes": 1, "terminate_jobs_on_update": True}}),
    ("EC2", {"update_policy": {"job_execution_timeout_minutes": 7200}}),
    ("EC2", {"service_role": "service-role/AWSBatchServiceRole"}),
    ("EC2", {"service_role": f"arn:aws:iam::{ACCOUNT}:role/AWSBatchServiceRole"}),
    ("EC2", {"instance_role": f"arn:aws:iam::{ACCOUNT}:instance-profile/ecsInstanceRole"}),
    ("EC2", {"tags": {f"k{i}": "v" for i in range(50)}, "instance_tags": {"Name": "batch"}}),
    ("SPOT", {"bid_percentage": 0}),
    ("SPOT", {"bid_percentage": 100}),
    ("SPOT", {"allocation_strategy": "BEST_FIT", "spot_iam_fleet_role": SPOT_FLEET_ROLE}),
    ("SPOT", {"allocation_strategy": "SPOT_CAPACITY_OPTIMIZED_PRIORITIZED"}),
    ("FARGATE", {"subnets": [f"subnet-{i}" for i in range(16)]}),
    ("FARGATE", {"security_group_ids": [f"sg-{i}" for i in range(5)]}),
    ("FARGATE", {"type": "fargate_spot"}),
    ("EKS", {"ec2_configuration": [{"image_type": "EKS_AL2023", "image_kubernetes_version": "1.30"}]}),
    (
        "EKS",
        {"eks_configuration": EksConfiguration(eks_cluster_arn=CLUSTER_ARN, kubernetes_namespace="a" * 63)},
    ),
    ("UNMANAGED", {"unmanaged_vcpus": 0}),
    ("UNMANAGED", {"service_role": f"arn:aws:iam::{ACCOUNT}:role/AWSBatchServiceRole", "tags": {"a": "b"}}),
]


@pytest.mark.parametrize(("base", "changes"), VALID)
def test_compute_environment_accepts_valid_values(base, changes):
    spec(base, **changes)


def test_every_problem_is_reported_at_once():
    found = problems_of(
        lambda: ComputeEnvironmentSpec(name="-", type="FARGATE", max_vcpus=4, min_vcpus=2, subnets=[])
    )
    fields = {p.field for p in found}
    assert {"name", "min_vcpus", "subnets", "security_group_ids"} <= fields


def test_friendly_inputs_are_normalized():
    built = spec(
        instance_types=("M5", "C5.Large"),
        subnets="subnet-0a1",
        launch_template="lt-0abc",
        max_vcpus="64",
        type="ec2",
        allocation_strategy="best_fit_progressive",
    )
    assert built.instance_types == ["m5", "c5.large"]
    assert built.subnets == ["subnet-0a1"]
    assert built.launch_template == LaunchTemplate(launch_template_id="lt-0abc")
    assert built.max_vcpus == 64
    assert (built.type, built.allocation_strategy) == ("EC2", "BEST_FIT_PROGRESSIVE")
    assert spec(launch_template="my-template").launch_template == LaunchTemplate(
        launch_template_name="my-template"
    )


@pytest.mark.parametrize(
    ("base", "kind", "fargate", "eks", "managed"),
    [
        ("EC2", "ECS", False, False, True),
        ("SPOT", "ECS", False, False, True),
        ("FARGATE", "ECS_FARGATE", True, False, True),
        ("EKS", "EKS", False, True, True),
        ("UNMANAGED", "ECS", False, False, False),
    ],
)
def test_kind_properties(base, kind, fargate, eks, managed):
    built = spec(base)
    assert (built.job_queue_type, built.is_fargate, built.is_eks, built.is_managed) == (
        kind,
        fargate,
        eks,
        managed,
    )


# --- create requests -------------------------------------------------------------------------


def test_create_request_ec2_on_demand():
    built = spec(
        min_vcpus=0,
        desired_vcpus=4,
        instance_types=["m5", "c5"],
        allocation_strategy="BEST_FIT_PROGRESSIVE",
        ec2_key_pair="ops",
        placement_group="cluster-pg",
        launch_template={"launch_template_name": "batch-lt", "version": "$Latest"},
        ec2_configuration=[{"image_type": "ECS_AL2023", "image_id_override": "ami-0abc"}],
        instance_tags={"Name": "batch-etl"},
        tags={"team": "data"},
        state="ENABLED",
    )
    assert built.to_create_request() == {
        "computeEnvironmentName": "etl-ec2",
        "type": "MANAGED",
        "state": "ENABLED",
        "computeResources": {
            "type": "EC2",
            "allocationStrategy": "BEST_FIT_PROGRESSIVE",
            "minvCpus": 0,
            "maxvCpus": 256,
            "desiredvCpus": 4,
            "instanceTypes": ["m5", "c5"],
            "subnets": ["subnet-0a1"],
            "securityGroupIds": ["sg-0123"],
            "ec2KeyPair": "ops",
            "instanceRole": "ecsInstanceRole",
            "tags": {"Name": "batch-etl"},
            "placementGroup": "cluster-pg",
            "launchTemplate": {"launchTemplateName": "batch-lt", "version": "$Latest"},
            "ec2Configuration": [{"imageType": "ECS_AL2023", "imageIdOverride": "ami-0abc"}],
        },
        "tags": {"team": "data"},
    }
    assert built.to_request() == built.to_create_request()
    assert built.post_create_request() is None


def test_create_request_spot_with_bid():
    built = spec(
        "SPOT",
        allocation_strategy="BEST_FIT",
        bid_percentage=60,
        spot_iam_fleet_role=SPOT_FLEET_ROLE,
        service_role="AWSBatchServiceRole",
    )
    assert built.to_create_request() == {
        "computeEnvironmentName": "etl-spot",
        "type": "MANAGED",
        "computeResources": {
            "type": "SPOT",
            "allocationStrategy": "BEST_FIT",
            "maxvCpus": 256,
            "instanceTypes": ["optimal"],
            "subnets": ["subnet-0a1"],
            "securityGroupIds": ["sg-0123"],
            "instanceRole": "ecsInstanceRole",
            "bidPercentage": 60,
            "spotIamFleetRole": SPOT_FLEET_ROLE,
        },
        "serviceRole": "AWSBatchServiceRole",
    }


@pytest.mark.parametrize("kind", ["FARGATE", "FARGATE_SPOT"])
def test_create_request_fargate(kind):
    built = spec("FARGATE", type=kind, subnets=["subnet-0a1", "subnet-0b2"], tags={"team": "data"})
    assert built.to_create_request() == {
        "computeEnvironmentName": "etl-fargate",
        "type": "MANAGED",
        "computeResources": {
            "type": kind,
            "maxvCpus": 64,
            "subnets": ["subnet-0a1", "subnet-0b2"],
            "securityGroupIds": ["sg-0123"],
        },
        "tags": {"team": "data"},
    }


def test_create_request_eks():
    built = spec("EKS", type="SPOT", allocation_strategy="SPOT_CAPACITY_OPTIMIZED", min_vcpus=0)
    assert built.to_create_request() == {
        "computeEnvironmentName": "etl-eks",
        "type": "MANAGED",
        "computeResources": {
            "type": "SPOT",
            "allocationStrategy": "SPOT_CAPACITY_OPTIMIZED",
            "minvCpus": 0,
            "maxvCpus": 256,
            "instanceTypes": ["m5"],
            "subnets": ["subnet-0a1"],
            "securityGroupIds": ["sg-0123"],
            "instanceRole": "ecsInstanceRole",
        },
        "eksConfiguration": {"eksClusterArn": CLUSTER_ARN, "kubernetesNamespace": "batch-jobs"},
    }


def test_create_request_unmanaged():
    built = spec("UNMANAGED", unmanaged_vcpus=16, state="ENABLED")
    assert built.to_create_request() == {
        "computeEnvironmentName": "own-hosts",
        "type": "UNMANAGED",
        "state": "ENABLED",
        "unmanagedvCpus": 16,
        "serviceRole": "AWSBatchServiceRole",
    }


def test_disabled_state_and_update_policy_follow_the_create_call():
    built = spec(state="DISABLED", update_policy={"terminate_jobs_on_update": True})
    assert "state" not in built.to_create_request()
    assert "updatePolicy" not in built.to_create_request()
    assert built.post_create_request() == {
        "computeEnvironment": "etl-ec2",
        "state": "DISABLED",
        "updatePolicy": {"terminateJobsOnUpdate": True},
    }


# --- the planner -----------------------------------------------------------------------------


def described(**changes: Any) -> dict[str, Any]:
    """A compute environment as DescribeComputeEnvironments returns it, AWS's own fields included."""
    detail: dict[str, Any] = {
        "computeEnvironmentName": "etl-ec2",
        "computeEnvironmentArn": ARN,
        "ecsClusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/AWSBatch-etl-ec2-6c2bd5e1",
        "tags": {"team": "data", "aws:cloudformation:stack-name": "batch"},
        "type": "MANAGED",
        "state": "ENABLED",
        "status": "VALID",
        "statusReason": "ComputeEnvironment Healthy",
        "computeResources": {
            "type": "EC2",
            "allocationStrategy": "BEST_FIT_PROGRESSIVE",
            "minvCpus": 0,
            "maxvCpus": 256,
            "desiredvCpus": 12,
            "instanceTypes": ["c5", "m5"],
            "subnets": ["subnet-0b2", "subnet-0a1"],
            "securityGroupIds": ["sg-0456", "sg-0123"],
            "instanceRole": f"arn:aws:iam::{ACCOUNT}:instance-profile/ecsInstanceRole",
            "tags": {"Name": "batch-etl"},
            "ec2Configuration": [{"imageType": "ECS_AL2023", "batchImageStatus": "LATEST"}],
        },
        "serviceRole": SERVICE_LINKED_ROLE,
        "updatePolicy": {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 30},
        "containerOrchestrationType": "ECS",
        "uuid": "6c2bd5e1-91b3-3f0e-8c38-0d5e4b6c1a7f",
    }
    resources = changes.pop("computeResources", None)
    detail.update(changes)
    if resources is not None:
        detail["computeResources"] = {**detail["computeResources"], **resources}
    return {k: v for k, v in detail.items() if v is not None}


def matching_spec(**changes: Any) -> ComputeEnvironmentSpec:
    """The spec the described compute environment was created from (in another order)."""
    kwargs: dict[str, Any] = {
        **EC2_BASE,
        "allocation_strategy": "BEST_FIT_PROGRESSIVE",
        "min_vcpus": 0,
        "desired_vcpus": 4,
        "instance_types": ["m5", "c5"],
        "subnets": ["subnet-0a1", "subnet-0b2"],
        "security_group_ids": ["sg-0123", "sg-0456"],
        "instance_tags": {"Name": "batch-etl"},
        "ec2_configuration": [{"image_type": "ECS_AL2023"}],
        "state": "ENABLED",
        "tags": {"team": "data"},
    }
    kwargs.update(changes)
    return ComputeEnvironmentSpec(**{k: v for k, v in kwargs.items() if v is not ...})


def assert_none(plan: UpdatePlan) -> None:
    assert plan.action == "none", plan.summary()
    assert plan.update_request is None
    assert plan.tags_to_add == {}
    assert plan.tag_keys_to_remove == ()
    assert plan.differences == ()
    assert plan.action not in ("create", "update")


@pytest.mark.parametrize("current", [None, {**described(), "status": "DELETED"}])
def test_absent_compute_environment_is_created(current):
    built = matching_spec()
    plan = built.plan(current)
    assert plan.action == "create"
    assert plan.create_request == built.to_create_request()
    assert plan.update_request is None
    assert plan.action in ("create", "update")


def test_create_plan_carries_the_follow_up_update():
    plan = matching_spec(state="DISABLED", update_policy={"job_execution_timeout_minutes": 60}).plan(None)
    assert plan.update_request == {
        "computeEnvironment": "etl-ec2",
        "state": "DISABLED",
        "updatePolicy": {"jobExecutionTimeoutMinutes": 60},
    }


def test_identical_compute_environment_needs_nothing():
    assert_none(matching_spec().plan(described()))


@pytest.mark.parametrize(
    ("spec_changes", "current_changes"),
    [
        ({"desired_vcpus": 64}, {}),
        ({"instance_types": ["optimal"]}, {"computeResources": {"instanceTypes": ["default_x86_64"]}}),
        ({"instance_types": ["default_x86_64"]}, {"computeResources": {"instanceTypes": ["optimal"]}}),
        ({"instance_role": f"arn:aws:iam::{ACCOUNT}:instance-profile/ecsInstanceRole"}, {}),
        ({"service_role": "aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"}, {}),
        ({"service_role": "AWSServiceRoleForBatch"}, {}),
        (
            {"service_role": "AWSBatchServiceRole"},
            {"serviceRole": f"arn:aws:iam::{ACCOUNT}:role/AWSBatchServiceRole"},
        ),
        ({"update_policy": {"job_execution_timeout_minutes": 30}}, {}),
        ({"update_policy": {"terminate_jobs_on_update": False}}, {"updatePolicy": None}),
        ({"allocation_strategy": ..., "min_vcpus": ..., "tags": ..., "state": ...}, {"tags": {"other": "x"}}),
        ({"tags": {}}, {"tags": {"aws:batch:managed": "true"}}),
        (
            {"launch_template": "lt-0abc"},
            {"computeResources": {"launchTemplate": {"launchTemplateId": "lt-0abc"}}},
        ),
        (
            {"launch_template": {"launch_template_name": "batch-lt"}},
            {
                "computeResources": {
                    "launchTemplate": {
                        "launchTemplateName": "batch-lt",
                        "launchTemplateId": "lt-0abc",
                        "version": "$Default",
                    }
                }
            },
        ),
        (
            {"ec2_configuration": [{"image_type": "ECS_AL2023", "image_id_override": "ami-0abc"}]},
            {
                "computeResources": {
                    "ec2Configuration": [{"imageType": "ECS_AL2023", "imageIdOverride": "ami-0abc"}]
                }
            },
        ),
    ],
    ids=[
        "desired-vcpus-ignored",
        "optimal-is-default-x86",
        "default-x86-is-optimal",
        "instance-profile-arn-or-name",
        "service-linked-role-path",
        "service-linked-role-name",
        "regular-role-name-or-arn",
        "update-policy-default-timeout",
        "update-policy-defaults-when-missing",
        "unset-fields-not-compared",
        "aws-tags-ignored",
        "launch-template-default-version",
        "launch-template-by-name",
        "ec2-configuration-override",
    ],
)
def test_equivalent_values_need_nothing(spec_changes, current_changes):
    assert_none(matching_spec(**spec_changes).plan(described(**current_changes)))


def test_max_vcpus_change_updates_only_that_field():
    plan = matching_spec(max_vcpus=512).plan(described())
    assert plan.action == "update"
    assert plan.update_request == {"computeEnvironment": ARN, "computeResources": {"maxvCpus": 512}}
    assert plan.differences == ("max_vcpus: 256 -> 512",)
    assert plan.tags_to_add == {}
    assert plan.tag_keys_to_remove == ()


def test_scaling_fields_update_in_place_even_with_best_fit():
    current = described(
        computeResources={"allocationStrategy": "BEST_FIT"}, serviceRole="arn:aws:iam::1:role/r"
    )
    plan = matching_spec(allocation_strategy=..., min_vcpus=8, desired_vcpus=..., state="DISABLED").plan(
        current
    )
    assert plan.action == "update"
    assert plan.update_request == {
        "computeEnvironment": ARN,
        "state": "DISABLED",
        "computeResources": {"minvCpus": 8},
    }


def test_subnets_change_is_an_infrastructure_update():
    plan = matching_spec(subnets=["subnet-0a1", "subnet-0c3"]).plan(described())
    assert plan.action == "update"
    assert plan.update_request == {
        "computeEnvironment": ARN,
        "computeResources": {"subnets": ["subnet-0a1", "subnet-0c3"]},
    }
    assert plan.differences[0].startswith("subnets: ")


@pytest.mark.parametrize(
    ("changes", "path", "value"),
    [
        ({"instance_types": ["m6i"]}, "instanceTypes", ["m6i"]),
        ({"security_group_ids": ["sg-0999"]}, "securityGroupIds", ["sg-0999"]),
        ({"instance_role": "batchInstanceProfile"}, "instanceRole", "batchInstanceProfile"),
        ({"ec2_key_pair": "ops"}, "ec2KeyPair", "ops"),
        ({"placement_group": "pg"}, "placementGroup", "pg"),
        ({"instance_tags": {"Name": "other"}}, "tags", {"Name": "other"}),
        (
            {"allocation_strategy": "BEST_FIT_PROGRESSIVE_ORDERED", "instance_types": ["c5", "m5"]},
            "allocationStrategy",
            "BEST_FIT_PROGRESSIVE_ORDERED",
        ),
        (
            {"launch_template": {"launch_template_id": "lt-0abc", "version": "2"}},
            "launchTemplate",
            {"launchTemplateId": "lt-0abc", "version": "2"},
        ),
        (
            {"ec2_configuration": [{"image_type": "ECS_AL2023_NVIDIA"}]},
            "ec2Configuration",
            [{"imageType": "ECS_AL2023_NVIDIA"}],
        ),
    ],
)
def test_infrastructure_fields_update_in_place(changes, path, value):
    plan = matching_spec(**changes).plan(described())
    assert plan.action == "update", plan.summary()
    assert plan.update_request == {"computeEnvironment": ARN, "computeResources": {path: value}}


def test_instance_type_order_matters_only_for_ordered_strategies():
    current = described(computeResources={"allocationStrategy": "BEST_FIT_PROGRESSIVE_ORDERED"})
    ordered = matching_spec(allocation_strategy="BEST_FIT_PROGRESSIVE_ORDERED", instance_types=["m5", "c5"])
    plan = ordered.plan(current)
    assert plan.update_request == {
        "computeEnvironment": ARN,
        "computeResources": {"instanceTypes": ["m5", "c5"]},
    }
    assert_none(matching_spec(instance_types=["m5", "c5"]).plan(described()))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"instance_role": "otherProfile"}, "instance_role"),
        ({"subnets": ["subnet-0c3"]}, "subnets"),
        ({"instance_types": ["m6i"]}, "instance_types"),
        ({"allocation_strategy": "BEST_FIT_PROGRESSIVE"}, "allocation_strategy"),
    ],
)
def test_best_fit_cannot_take_infrastructure_updates(changes, field):
    current = described(computeResources={"allocationStrategy": "BEST_FIT"})
    plan = matching_spec(**{"allocation_strategy": ..., **changes}).plan(current)
    assert plan.action == "replace_required"
    assert field in plan.replacement_fields
    assert "BEST_FIT" in plan.replacement_fields[field]
    assert plan.update_request is None
    assert plan.tags_to_add == {}


def test_missing_allocation_strategy_counts_as_best_fit():
    resources = {k: v for k, v in described()["computeResources"].items() if k != "allocationStrategy"}
    plan = matching_spec(allocation_strategy=..., subnets=["subnet-0c3"]).plan(
        described() | {"computeResources": resources}
    )
    assert plan.action == "replace_required"
    assert "BEST_FIT" in plan.replacement_fields["subnets"]


def test_regular_service_role_cannot_take_infrastructure_updates():
    current = described(serviceRole=f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBatchServiceRole")
    plan = matching_spec(instance_types=["m6i"]).plan(current)
    assert plan.action == "replace_required"
    assert "AWSServiceRoleForBatch" in plan.replacement_fields["instance_types"]


def test_switching_to_best_fit_needs_a_replacement():
    plan = matching_spec(allocation_strategy="BEST_FIT").plan(described())
    assert plan.action == "replace_required"
    assert "BEST_FIT" in plan.replacement_fields["allocation_strategy"]


def test_ec2_to_spot_is_an_infrastructure_update():
    plan = matching_spec(type="SPOT").plan(described())
    assert plan.action == "update"
    assert plan.update_request == {"computeEnvironment": ARN, "computeResources": {"type": "SPOT"}}


def test_spot_to_ec2_with_a_spot_strategy_asks_for_allocation_strategy():
    current = described(computeResources={"type": "SPOT", "allocationStrategy": "SPOT_CAPACITY_OPTIMIZED"})
    found = problems_of(lambda: matching_spec(allocation_strategy=...).plan(current))
    assert found[0].field == "allocation_strategy"
    assert "only for SPOT" in found[0].rule


@pytest.mark.parametrize(
    ("spec_base", "spec_changes", "current", "field", "fragment"),
    [
        ("FARGATE", {"name": "etl-ec2"}, described(), "type", "EC2/Spot and Fargate"),
        (
            "EC2",
            {},
            described(computeResources={"type": "FARGATE", "allocationStrategy": None}),
            "type",
            "EC2/Spot and Fargate",
        ),
        (
            "FARGATE",
            {"type": "FARGATE_SPOT"},
            described(computeResources={"type": "FARGATE"}),
            "type",
            "FARGATE and FARGATE_SPOT",
        ),
        ("UNMANAGED", {}, described(), "type", "MANAGED and UNMANAGED"),
        ("EC2", {}, described(type="UNMANAGED", computeResources=None), "type", "MANAGED and UNMANAGED"),
        (
            "EC2",
            {},
            described(computeResources={"type": "ECS_MANAGED_INSTANCES"}),
            "type",
            "ECS_MANAGED_INSTANCES",
        ),
        ("EKS", {}, described(), "eks_configuration", "ECS and EKS"),
        (
            "EKS",
            {
                "eks_configuration": {
                    "eks_cluster_arn": CLUSTER_ARN + "-2",
                    "kubernetes_namespace": "batch-jobs",
                }
            },
            described(
                containerOrchestrationType="EKS",
                eksConfiguration={"eksClusterArn": CLUSTER_ARN, "kubernetesNamespace": "batch-jobs"},
            ),
            "eks_configuration.eks_cluster_arn",
            "another EKS cluster",
        ),
        (
            "EKS",
            {"eks_configuration": {"eks_cluster_arn": CLUSTER_ARN, "kubernetes_namespace": "other"}},
            described(
                containerOrchestrationType="EKS",
                eksConfiguration={"eksClusterArn": CLUSTER_ARN, "kubernetesNamespace": "batch-jobs"},
            ),
            "eks_configuration.kubernetes_namespace",
            "namespace",
        ),
        (
            "SPOT",
            {"spot_iam_fleet_role": SPOT_FLEET_ROLE + "-2"},
            described(computeResources={"type": "SPOT", "spotIamFleetRole": SPOT_FLEET_ROLE}),
            "spot_iam_fleet_role",
            "Spot Fleet role",
        ),
        ("EC2", {"service_role": "AWSBatchServiceRole"}, described(), "service_role", "service-linked role"),
        (
            "EC2",
            {"service_role": "AWSServiceRoleForBatch"},
            described(serviceRole=f"arn:aws:iam::{ACCOUNT}:role/AWSBatchServiceRole"),
            "service_role",
            "service-linked role",
        ),
    ],
    ids=[
        "ec2-to-fargate",
        "fargate-to-ec2",
        "fargate-to-fargate-spot",
        "managed-to-unmanaged",
        "unmanaged-to-managed",
        "from-ecs-managed-instances",
        "ecs-to-eks",
        "eks-cluster",
        "eks-namespace",
        "spot-fleet-role",
        "service-linked-to-regular",
        "regular-to-service-linked",
    ],
)
def test_replacement_rules(spec_base, spec_changes, current, field, fragment):
    plan = spec(spec_base, **spec_changes).plan(current)
    assert plan.action == "replace_required", plan.summary()
    assert field in plan.replacement_fields, plan.replacement_fields
    assert fragment in plan.replacement_fields[field]
    assert plan.update_request is None
    assert any(line.startswith(f"{field}: ") for line in plan.differences)
    with pytest.raises(ReplacementRequiredError) as info:
        plan.raise_if_replacement_required()
    assert field in str(info.value)
    assert "etl" in str(info.value) or "own-hosts" in str(info.value)


def test_type_change_to_fargate_names_the_field_in_the_summary():
    plan = spec("FARGATE", name="etl-ec2").plan(described())
    assert plan.replacement_fields.keys() == {"type"}
    assert "type: 'EC2' -> 'FARGATE'" in plan.summary()
    assert "cannot be changed in place" in plan.summary()


def test_regular_service_role_changes_in_place():
    current = described(serviceRole=f"arn:aws:iam::{ACCOUNT}:role/AWSBatchServiceRole")
    plan = matching_spec(service_role="BatchRole2").plan(current)
    assert plan.update_request == {"computeEnvironment": ARN, "serviceRole": "BatchRole2"}


def test_update_policy_change_sends_the_whole_policy():
    plan = matching_spec(update_policy={"terminate_jobs_on_update": True}).plan(described())
    assert plan.update_request == {
        "computeEnvironment": ARN,
        "updatePolicy": {"terminateJobsOnUpdate": True, "jobExecutionTimeoutMinutes": 30},
    }


def test_tag_added_and_removed_gives_tag_changes_only():
    current = described(tags={"team": "data", "old": "1", "aws:cloudformation:stack-name": "batch"})
    plan = matching_spec(tags={"team": "data", "owner": "etl"}).plan(current)
    assert plan.action == "update"
    assert plan.update_request is None
    assert plan.tags_to_add == {"owner": "etl"}
    assert plan.tag_keys_to_remove == ("old",)
    assert (plan.resource_arn, plan.tags_to_add) == (ARN, {"owner": "etl"})
    assert (plan.resource_arn, list(plan.tag_keys_to_remove)) == (ARN, ["old"])
    assert plan.differences == ("tags['owner']: <unset> -> 'etl'", "tags['old']: '1' -> <removed>")


def test_changed_tag_value_is_set_again():
    plan = matching_spec(tags={"team": "ml"}).plan(described())
    assert plan.tags_to_add == {"team": "ml"}
    assert plan.tag_keys_to_remove == ()


def test_bid_percentage_defaults_to_100():
    current = described(computeResources={"type": "SPOT", "allocationStrategy": "SPOT_CAPACITY_OPTIMIZED"})
    base = {"type": "SPOT", "allocation_strategy": "SPOT_CAPACITY_OPTIMIZED"}
    assert_none(matching_spec(**base, bid_percentage=100).plan(current))
    plan = matching_spec(**base, bid_percentage=40).plan(current)
    assert plan.update_request == {"computeEnvironment": ARN, "computeResources": {"bidPercentage": 40}}


def fargate_described(**resources: Any) -> dict[str, Any]:
    return {
        "computeEnvironmentName": "etl-fargate",
        "computeEnvironmentArn": ARN.replace("etl-ec2", "etl-fargate"),
        "ecsClusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/AWSBatch-etl-fargate-1d2e",
        "tags": {},
        "type": "MANAGED",
        "state": "ENABLED",
        "status": "VALID",
        "statusReason": "ComputeEnvironment Healthy",
        "computeResources": {
            "type": "FARGATE",
            "minvCpus": 0,
            "maxvCpus": 64,
            "desiredvCpus": 0,
            "subnets": ["subnet-0a1"],
            "securityGroupIds": ["sg-0123"],
            **resources,
        },
        "serviceRole": SERVICE_LINKED_ROLE,
        "updatePolicy": {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 30},
        "containerOrchestrationType": "ECS",
    }


def test_fargate_updates_network_and_vcpus_in_place():
    assert_none(spec("FARGATE").plan(fargate_described()))
    plan = spec(
        "FARGATE", max_vcpus=128, subnets=["subnet-0a1", "subnet-0b2"], security_group_ids=["sg-9"]
    ).plan(fargate_described())
    assert plan.action == "update"
    assert plan.update_request == {
        "computeEnvironment": ARN.replace("etl-ec2", "etl-fargate"),
        "computeResources": {
            "maxvCpus": 128,
            "subnets": ["subnet-0a1", "subnet-0b2"],
            "securityGroupIds": ["sg-9"],
        },
    }


def test_unmanaged_vcpus_update_in_place():
    current = {
        "computeEnvironmentName": "own-hosts",
        "computeEnvironmentArn": ARN.replace("etl-ec2", "own-hosts"),
        "ecsClusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/own-hosts_Batch_1",
        "type": "UNMANAGED",
        "state": "ENABLED",
        "status": "VALID",
        "unmanagedvCpus": 8,
        "serviceRole": f"arn:aws:iam::{ACCOUNT}:role/AWSBatchServiceRole",
        "containerOrchestrationType": "ECS",
    }
    assert_none(spec("UNMANAGED", unmanaged_vcpus=8).plan(current))
    plan = spec("UNMANAGED", unmanaged_vcpus=16).plan(current)
    assert plan.update_request == {
        "computeEnvironment": current["computeEnvironmentArn"],
        "unmanagedvCpus": 16,
    }


def test_plan_does_not_modify_the_described_resource():
    current = described()
    before = copy.deepcopy(current)
    matching_spec(max_vcpus=8, tags={"x": "y"}, update_policy={"terminate_jobs_on_update": True}).plan(
        current
    )
    assert current == before


def test_summary_of_an_update_lists_the_differences():
    plan = matching_spec(max_vcpus=512, min_vcpus=2).plan(described())
    assert plan.summary() == (
        "compute environment 'etl-ec2' differs: update it in place\n"
        "  - min_vcpus: 0 -> 2\n"
        "  - max_vcpus: 256 -> 512"
    )


# --- extra request fields --------------------------------------------------------------------


def test_extra_fields_go_into_the_create_plan():
    built = matching_spec(
        extra_request_fields={"context": "team-a", "computeResources": {"imageId": "ami-0123456789abcdef0"}}
    )
    plan = built.plan(None)
    assert plan.action == "create"
    assert plan.create_request is not None
    assert plan.create_request["context"] == "team-a"
    assert plan.create_request["computeResources"]["imageId"] == "ami-0123456789abcdef0"
    assert plan.create_request["computeResources"]["maxvCpus"] == 256


def test_an_extra_field_that_matches_the_description_needs_nothing():
    current = described(context="team-a", ecsSettings={"containerInsights": "ENABLED"})
    built = matching_spec(
        extra_request_fields={"context": "team-a", "ecsSettings": {"containerInsights": "ENABLED"}}
    )
    assert_none(built.plan(current))


def test_an_extra_field_that_differs_is_updated_in_place():
    plan = matching_spec(extra_request_fields={"context": "team-a"}).plan(described(context="team-b"))
    assert plan.action == "update"
    assert plan.update_request == {"computeEnvironment": ARN, "context": "team-a"}
    assert plan.differences == ("extra_request_fields.context: 'team-b' -> 'team-a'",)
    absent = matching_spec(extra_request_fields={"ecsSettings": {"containerInsights": "ENHANCED"}}).plan(
        described()
    )
    assert absent.update_request == {
        "computeEnvironment": ARN,
        "ecsSettings": {"containerInsights": "ENHANCED"},
    }


def test_an_extra_compute_resource_goes_into_the_infrastructure_update():
    plan = matching_spec(
        extra_request_fields={"computeResources": {"imageId": "ami-0123456789abcdef0"}}
    ).plan(described(computeResources={"imageId": "ami-00000000000000000"}))
    assert plan.action == "update"
    assert plan.update_request == {
        "computeEnvironment": ARN,
        "computeResources": {"imageId": "ami-0123456789abcdef0"},
    }


def test_an_extra_compute_resource_on_best_fit_needs_a_replacement():
    current = described(
        computeResources={"allocationStrategy": "BEST_FIT", "imageId": "ami-00000000000000000"}
    )
    plan = matching_spec(
        allocation_strategy="BEST_FIT",
        extra_request_fields={"computeResources": {"imageId": "ami-0123456789abcdef0"}},
    ).plan(current)
    assert plan.action == "replace_required"
    reason = plan.replacement_fields["extra_request_fields.computeResources.imageId"]
    assert reason.startswith("AWS can't change computeResources.imageId in place: ")
    assert "BEST_FIT" in reason


def test_an_extra_compute_resource_on_fargate_needs_a_replacement():
    plan = spec(
        "FARGATE", extra_request_fields={"computeResources": {"imageId": "ami-0123456789abcdef0"}}
    ).plan(fargate_described())
    assert plan.action == "replace_required"
    assert (
        "only updates its subnets" in plan.replacement_fields["extra_request_fields.computeResources.imageId"]
    )
