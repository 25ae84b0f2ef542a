"""Tests for JobQueueSpec: AWS's CreateJobQueue rules and the update planner."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_batch_plugin.specs import (
    ComputeEnvironmentOrder,
    ComputeEnvironmentSpec,
    JobQueueSpec,
    JobStateTimeLimitAction,
    Problem,
    SchedulingPolicySpec,
    SpecValidationError,
    UpdatePlan,
    deferred_validation,
)

ACCOUNT = "123456789012"
PREFIX = f"arn:aws:batch:us-east-1:{ACCOUNT}"
QUEUE_ARN = f"{PREFIX}:job-queue/etl-queue"
POLICY_ARN = f"{PREFIX}:scheduling-policy/fair"


def ce_arn(name: str) -> str:
    return f"{PREFIX}:compute-environment/{name}"


def problems_of(build: Any) -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        build()
    return info.value.problems


def assert_problem(build: Any, field: str, fragment: str) -> list[Problem]:
    found = problems_of(build)
    assert any(p.field == field and fragment in p.rule for p in found), "\n".join(map(str, found))
    return found


def ce_spec(name: str, kind: str = "EC2") -> ComputeEnvironmentSpec:
    if kind.startswith("FARGATE"):
        return ComputeEnvironmentSpec(
            name=name, type=kind, max_vcpus=16, subnets=["subnet-1"], security_group_ids=["sg-1"]
        )
    return ComputeEnvironmentSpec(
        name=name,
        type=kind,
        max_vcpus=16,
        instance_types=["optimal"],
        subnets=["subnet-1"],
        security_group_ids=["sg-1"],
        instance_role="ecsInstanceRole",
        allocation_strategy="BEST_FIT_PROGRESSIVE" if kind == "EC2" else "SPOT_CAPACITY_OPTIMIZED",
    )


def queue(**changes: Any) -> JobQueueSpec:
    kwargs: dict[str, Any] = {
        "name": "etl-queue",
        "priority": 10,
        "compute_environment_order": ["etl-ec2", "etl-spot"],
    }
    kwargs.update(changes)
    return JobQueueSpec(**{k: v for k, v in kwargs.items() if v is not ...})


ACTION = {"reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", "max_time_seconds": 3600}

RULES = [
    ("name-empty", {"name": ""}, "name", "non-empty"),
    ("name-first-char", {"name": "-q"}, "name", "starting with a letter or number"),
    ("name-chars", {"name": "q.1"}, "name", "1 to 128 letters"),
    ("name-129", {"name": "q" * 129}, "name", "1 to 128 letters"),
    ("priority-missing", {"priority": None}, "priority", "is required"),
    ("priority-low", {"priority": -1}, "priority", "at least 0"),
    ("priority-high", {"priority": 1001}, "priority", "at most 1000"),
    ("priority-type", {"priority": 1.5}, "priority", "whole number"),
    ("state", {"state": "PAUSED"}, "state", "ENABLED, DISABLED"),
    ("queue-type", {"job_queue_type": "BATCH"}, "job_queue_type", "ECS, ECS_FARGATE, EKS"),
    ("tags-51", {"tags": {f"k{i}": "v" for i in range(51)}}, "tags", "at most 50 tags"),
    ("tags-aws", {"tags": {"aws:x": "v"}}, "tags['aws:x']", "aws:"),
    ("order-empty", {"compute_environment_order": []}, "compute_environment_order", "1 to 3"),
    ("order-4", {"compute_environment_order": ["a", "b", "c", "d"]}, "compute_environment_order", "1 to 3"),
    ("order-type", {"compute_environment_order": 5}, "compute_environment_order", "must be a list"),
    (
        "order-item-type",
        {"compute_environment_order": [5]},
        "compute_environment_order[0]",
        "ComputeEnvironmentOrder",
    ),
    (
        "order-unknown-field",
        {"compute_environment_order": [{"order": 1, "ce": "a"}]},
        "compute_environment_order[0]",
        "unknown ComputeEnvironmentOrder field(s) ['ce']",
    ),
    (
        "order-negative",
        {"compute_environment_order": [{"order": -1, "compute_environment": "a"}]},
        "compute_environment_order[0].order",
        "at least 0",
    ),
    (
        "order-twice",
        {
            "compute_environment_order": [
                {"order": 1, "compute_environment": "a"},
                {"order": 1, "computeEnvironment": "b"},
            ]
        },
        "compute_environment_order[1].order",
        "orders must be unique",
    ),
    (
        "ce-twice",
        {"compute_environment_order": ["a", ce_arn("a")]},
        "compute_environment_order[1].compute_environment",
        "already listed",
    ),
    (
        "ce-name",
        {"compute_environment_order": ["my ce"]},
        "compute_environment_order[0].compute_environment",
        "name",
    ),
    (
        "ce-arn",
        {"compute_environment_order": [f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/a"]},
        "compute_environment_order[0].compute_environment",
        "or ARN",
    ),
    (
        "ce-empty",
        {"compute_environment_order": [""]},
        "compute_environment_order[0].compute_environment",
        "non-empty",
    ),
    (
        "ce-mixed-kinds",
        {"compute_environment_order": [ce_spec("a"), ce_spec("b", "FARGATE")]},
        "compute_environment_order",
        "must all be EC2/Spot, all Fargate, or all EKS",
    ),
    (
        "queue-type-mismatch",
        {"compute_environment_order": [ce_spec("a", "FARGATE_SPOT")], "job_queue_type": "ECS"},
        "job_queue_type",
        "(job queue type ECS_FARGATE)",
    ),
    ("policy-name", {"scheduling_policy": "my policy"}, "scheduling_policy", "scheduling policy ARN"),
    (
        "policy-arn",
        {"scheduling_policy": f"{PREFIX}:job-queue/fair"},
        "scheduling_policy",
        "scheduling policy ARN",
    ),
    ("policy-empty", {"scheduling_policy": ""}, "scheduling_policy", "non-empty"),
    (
        "action-reason",
        {"job_state_time_limit_actions": [{**ACTION, "reason": "MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS"}]},
        "job_state_time_limit_actions[0].reason",
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    ),
    (
        "action-599",
        {"job_state_time_limit_actions": [{**ACTION, "max_time_seconds": 599}]},
        "job_state_time_limit_actions[0].max_time_seconds",
        "at least 600",
    ),
    (
        "action-86401",
        {"job_state_time_limit_actions": [{**ACTION, "maxTimeSeconds": 86_401}]},
        "job_state_time_limit_actions[0].max_time_seconds",
        "at most 86400",
    ),
    (
        "action-state",
        {"job_state_time_limit_actions": [{**ACTION, "state": "STARTING"}]},
        "job_state_time_limit_actions[0].state",
        "RUNNABLE",
    ),
    (
        "action-terminate",
        {"job_state_time_limit_actions": [{**ACTION, "action": "TERMINATE"}]},
        "job_state_time_limit_actions[0].action",
        "must be CANCEL",
    ),
    (
        "action-reason-twice",
        {"job_state_time_limit_actions": [ACTION, {**ACTION, "max_time_seconds": 7200}]},
        "job_state_time_limit_actions[1].reason",
        "one action per reason",
    ),
    (
        "actions-type",
        {"job_state_time_limit_actions": "CANCEL"},
        "job_state_time_limit_actions",
        "must be a list",
    ),
]


@pytest.mark.parametrize(("changes", "field", "fragment"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_job_queue_rules(changes, field, fragment):
    assert_problem(lambda: queue(**changes), field, fragment)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "q"},
        {"name": "Q" * 128},
        {"name": "0_queue-A"},
        {"priority": 0},
        {"priority": 1000},
        {"priority": "5"},
        {"state": "disabled"},
        {"compute_environment_order": "etl-ec2"},
        {"compute_environment_order": ["a", "b", "c"]},
        {"compute_environment_order": [ce_arn("a")]},
        {
            "compute_environment_order": [
                {"order": 0, "computeEnvironment": "a"},
                {"order": 5, "compute_environment": "b"},
            ]
        },
        {"compute_environment_order": [ce_spec("a"), ce_spec("b", "SPOT")], "job_queue_type": "ECS"},
        {"compute_environment_order": [ce_spec("a", "FARGATE"), ce_spec("b", "FARGATE_SPOT")]},
        {"scheduling_policy": POLICY_ARN},
        {"scheduling_policy": "fair-share_1"},
        {"scheduling_policy": SchedulingPolicySpec(name="fair")},
        {"job_state_time_limit_actions": [{**ACTION, "max_time_seconds": 600}]},
        {"job_state_time_limit_actions": [{**ACTION, "max_time_seconds": 86_400}]},
        {
            "job_state_time_limit_actions": [
                JobStateTimeLimitAction(reason=reason, max_time_seconds=600)
                for reason in (
                    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
                    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
                    "MISCONFIGURATION:EC2_INSTANCE_CONFIGURATION_UNSUPPORTED",
                )
            ]
        },
        {"job_state_time_limit_actions": {**ACTION, "action": "cancel", "state": "runnable"}},
        {"tags": {f"k{i}": "v" for i in range(50)}},
        {"job_queue_type": "eks"},
    ],
)
def test_job_queue_accepts_valid_values(changes):
    queue(**changes)


def test_order_positions_become_orders():
    built = queue(compute_environment_order=["a", ce_spec("b"), {"order": 9, "compute_environment": "c"}])
    assert [(e.order, e.compute_environment_name) for e in built.compute_environment_order] == [
        (1, "a"),
        (2, "b"),
        (9, "c"),
    ]


def test_compute_environment_spec_problems_are_reported_with_their_path():
    with deferred_validation():
        broken = ComputeEnvironmentSpec(name="a", type="EC2", max_vcpus=1)
        entry = ComputeEnvironmentOrder(order=1, compute_environment=broken)
    found = problems_of(lambda: queue(compute_environment_order=[entry]))
    assert any(p.field == "compute_environment_order[0].compute_environment.instance_role" for p in found)


# --- create request --------------------------------------------------------------------------


def full_queue(**changes: Any) -> JobQueueSpec:
    return queue(
        **{
            "compute_environment_order": [ce_arn("etl-ec2"), "etl-spot"],
            "scheduling_policy": "fair",
            "state": "ENABLED",
            "job_state_time_limit_actions": [
                {"reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", "max_time_seconds": 600},
                ACTION,
            ],
            "tags": {"team": "data"},
            **changes,
        }
    )


def test_create_request_with_two_compute_environments_policy_and_time_limit():
    assert full_queue().to_create_request() == {
        "jobQueueName": "etl-queue",
        "state": "ENABLED",
        "schedulingPolicyArn": POLICY_ARN,
        "priority": 10,
        "computeEnvironmentOrder": [
            {"order": 1, "computeEnvironment": ce_arn("etl-ec2")},
            {"order": 2, "computeEnvironment": "etl-spot"},
        ],
        "tags": {"team": "data"},
        "jobStateTimeLimitActions": [
            {
                "reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
                "state": "RUNNABLE",
                "maxTimeSeconds": 600,
                "action": "CANCEL",
            },
            {
                "reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                "state": "RUNNABLE",
                "maxTimeSeconds": 3600,
                "action": "CANCEL",
            },
        ],
    }


def test_minimal_create_request():
    built = queue(compute_environment_order=[ce_spec("etl-ec2")], job_queue_type="ECS")
    assert built.to_request() == {
        "jobQueueName": "etl-queue",
        "state": "ENABLED",
        "priority": 10,
        "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "etl-ec2"}],
        "jobQueueType": "ECS",
    }


def test_policy_name_needs_an_arn_prefix():
    built = queue(scheduling_policy=SchedulingPolicySpec(name="fair"))
    with pytest.raises(ValueError, match="scheduling_policy='fair' is a name"):
        built.to_create_request()
    assert built.to_create_request(arn_prefix=PREFIX)["schedulingPolicyArn"] == POLICY_ARN
    assert built.scheduling_policy_arn(PREFIX) == POLICY_ARN
    assert queue().scheduling_policy_arn() is None


# --- the planner -----------------------------------------------------------------------------


def described_queue(**changes: Any) -> dict[str, Any]:
    """A job queue as DescribeJobQueues returns it (orders 10/20, ARNs, list in another order)."""
    detail: dict[str, Any] = {
        "jobQueueName": "etl-queue",
        "jobQueueArn": QUEUE_ARN,
        "state": "ENABLED",
        "schedulingPolicyArn": POLICY_ARN,
        "status": "VALID",
        "statusReason": "JobQueue Healthy",
        "priority": 10,
        "computeEnvironmentOrder": [
            {"order": 20, "computeEnvironment": ce_arn("etl-spot")},
            {"order": 10, "computeEnvironment": ce_arn("etl-ec2")},
        ],
        "jobQueueType": "ECS",
        "tags": {"team": "data", "aws:cloudformation:logical-id": "EtlQueue"},
        "jobStateTimeLimitActions": [
            {
                "reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                "state": "RUNNABLE",
                "maxTimeSeconds": 3600,
                "action": "CANCEL",
            },
            {
                "reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
                "state": "RUNNABLE",
                "maxTimeSeconds": 600,
                "action": "CANCEL",
            },
        ],
    }
    detail.update(changes)
    return {k: v for k, v in detail.items() if v is not None}


def described_ce(name: str, kind: str = "EC2", *, eks: bool = False) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "computeEnvironmentName": name,
        "computeEnvironmentArn": ce_arn(name),
        "type": "MANAGED",
        "state": "ENABLED",
        "status": "VALID",
        "computeResources": {"type": kind, "maxvCpus": 16, "subnets": ["subnet-1"]},
        "containerOrchestrationType": "EKS" if eks else "ECS",
    }
    if eks:
        detail["eksConfiguration"] = {
            "eksClusterArn": f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/c",
            "kubernetesNamespace": "batch",
        }
    return detail


def assert_none(plan: UpdatePlan) -> None:
    assert plan.action == "none", plan.summary()
    assert plan.update_request is None
    assert plan.tags_to_add == {}
    assert plan.tag_keys_to_remove == ()
    assert plan.action not in ("create", "update")


def test_absent_queue_is_created_with_the_policy_arn_from_the_compute_environments():
    built = queue(scheduling_policy="fair")
    plan = built.plan(None, compute_environments=[described_ce("etl-ec2"), described_ce("etl-spot", "SPOT")])
    assert plan.action == "create"
    assert plan.create_request == built.to_create_request(arn_prefix=PREFIX)
    assert plan.create_request["schedulingPolicyArn"] == POLICY_ARN


def test_deleted_queue_counts_as_absent():
    assert full_queue().plan({**described_queue(), "status": "DELETED"}).action == "create"


def test_identical_queue_needs_nothing():
    built = full_queue(compute_environment_order=["etl-ec2", "etl-spot"])
    assert_none(built.plan(described_queue()))
    assert_none(
        built.plan(
            described_queue(),
            compute_environments=[described_ce("etl-ec2"), described_ce("etl-spot", "SPOT")],
        )
    )


def test_unset_fields_are_not_compared():
    built = queue(compute_environment_order=[ce_arn("etl-ec2"), ce_arn("etl-spot")])
    assert_none(built.plan(described_queue(state="DISABLED", tags={"x": "y"})))


@pytest.mark.parametrize(
    ("changes", "request_part"),
    [
        ({"priority": 50}, {"priority": 50}),
        ({"state": "DISABLED"}, {"state": "DISABLED"}),
        (
            {"compute_environment_order": ["etl-spot", "etl-ec2"]},
            {
                "computeEnvironmentOrder": [
                    {"order": 1, "computeEnvironment": "etl-spot"},
                    {"order": 2, "computeEnvironment": "etl-ec2"},
                ]
            },
        ),
        (
            {"compute_environment_order": ["etl-ec2", "etl-spot-2"]},
            {
                "computeEnvironmentOrder": [
                    {"order": 1, "computeEnvironment": "etl-ec2"},
                    {"order": 2, "computeEnvironment": "etl-spot-2"},
                ]
            },
        ),
        (
            {"compute_environment_order": ["etl-ec2"]},
            {"computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "etl-ec2"}]},
        ),
        ({"scheduling_policy": "fair-2"}, {"schedulingPolicyArn": f"{PREFIX}:scheduling-policy/fair-2"}),
        ({"job_state_time_limit_actions": []}, {"jobStateTimeLimitActions": []}),
        (
            {"job_state_time_limit_actions": [{**ACTION, "max_time_seconds": 7200}]},
            {
                "jobStateTimeLimitActions": [
                    {
                        "reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                        "state": "RUNNABLE",
                        "maxTimeSeconds": 7200,
                        "action": "CANCEL",
                    }
                ]
            },
        ),
    ],
    ids=[
        "priority",
        "state",
        "order-swapped",
        "ce-replaced",
        "ce-removed",
        "policy-replaced",
        "actions-cleared",
        "action-time",
    ],
)
def test_in_place_queue_updates(changes, request_part):
    base = full_queue(compute_environment_order=["etl-ec2", "etl-spot"])
    built = JobQueueSpec(
        **{**{f: getattr(base, f) for f in base.__dataclass_fields__ if not f.startswith("_")}, **changes}
    )
    plan = built.plan(described_queue())
    assert plan.action == "update", plan.summary()
    assert plan.update_request == {"jobQueue": QUEUE_ARN, **request_part}
    assert plan.tags_to_add == {}


def test_priority_change_names_the_field():
    plan = queue(compute_environment_order=["etl-ec2", "etl-spot"], priority=50).plan(described_queue())
    assert plan.differences == ("priority: 10 -> 50",)


def test_order_difference_shows_the_names_in_order():
    plan = queue(compute_environment_order=["etl-spot", "etl-ec2"]).plan(described_queue())
    assert plan.differences == (
        "compute_environment_order: ['etl-ec2', 'etl-spot'] -> ['etl-spot', 'etl-ec2']",
    )


def test_tags_added_and_removed():
    plan = queue(tags={"owner": "etl"}).plan(described_queue())
    assert plan.action == "update"
    assert plan.update_request is None
    assert plan.tags_to_add == {"owner": "etl"}
    assert plan.tag_keys_to_remove == ("team",)
    assert (plan.resource_arn, plan.tags_to_add) == (QUEUE_ARN, {"owner": "etl"})
    assert (plan.resource_arn, list(plan.tag_keys_to_remove)) == (QUEUE_ARN, ["team"])


def test_fifo_queue_cannot_get_a_scheduling_policy():
    plan = queue(scheduling_policy=POLICY_ARN).plan(described_queue(schedulingPolicyArn=None))
    assert plan.action == "replace_required"
    assert "created without one" in plan.replacement_fields["scheduling_policy"]
    assert plan.update_request is None


def test_scheduling_policy_is_never_removed():
    assert_none(queue(compute_environment_order=["etl-ec2", "etl-spot"]).plan(described_queue()))


def test_scheduling_policy_spec_is_compared_by_name():
    built = queue(scheduling_policy=SchedulingPolicySpec(name="fair"))
    assert_none(built.plan(described_queue()))


@pytest.mark.parametrize(
    ("order", "current", "details"),
    [
        ([ce_spec("etl-fargate", "FARGATE")], described_queue(), None),
        (
            ["etl-fargate"],
            described_queue(jobQueueType=None),
            [
                described_ce("etl-fargate", "FARGATE"),
                described_ce("etl-ec2"),
                described_ce("etl-spot", "SPOT"),
            ],
        ),
        (["etl-eks"], described_queue(), [described_ce("etl-eks", eks=True)]),
        (["etl-ec2"], described_queue(jobQueueType="SAGEMAKER_TRAINING"), None),
    ],
    ids=["spec-kind", "described-kind", "eks", "sagemaker"],
)
def test_queue_type_switch_requires_replacement(order, current, details):
    plan = queue(compute_environment_order=order).plan(current, compute_environments=details)
    assert plan.action == "replace_required", plan.summary()
    assert "job_queue_type" in plan.replacement_fields
    assert "can't change a job queue's type" in plan.replacement_fields["job_queue_type"]


def test_explicit_queue_type_is_compared():
    plan = queue(job_queue_type="ECS_FARGATE").plan(described_queue())
    assert plan.replacement_fields.keys() == {"job_queue_type"}


def test_mixed_described_compute_environments_fail_before_any_write():
    found = problems_of(
        lambda: queue().plan(
            described_queue(),
            compute_environments=[described_ce("etl-ec2"), described_ce("etl-spot", "FARGATE_SPOT")],
        )
    )
    assert found[0].field == "compute_environment_order"
    assert "compute_environment_order[1] is Fargate" in found[0].rule


def test_described_compute_environments_must_match_the_queue_type():
    found = problems_of(
        lambda: queue(job_queue_type="EKS", compute_environment_order=["etl-ec2"]).plan(
            None, compute_environments=[described_ce("etl-ec2")]
        )
    )
    assert found[0].field == "job_queue_type"


def test_plan_does_not_modify_the_described_queue():
    current = described_queue()
    before = copy.deepcopy(current)
    full_queue(priority=3, tags={"a": "b"}).plan(current)
    assert current == before


# --- extra request fields --------------------------------------------------------------------

SERVICE_ORDER = [{"order": 1, "serviceEnvironment": f"{PREFIX}:service-environment/training"}]


def test_extra_fields_go_into_the_create_plan():
    built = queue(extra_request_fields={"serviceEnvironmentOrder": SERVICE_ORDER})
    plan = built.plan(None)
    assert plan.action == "create"
    assert plan.create_request is not None
    assert plan.create_request["serviceEnvironmentOrder"] == SERVICE_ORDER


def test_an_extra_field_is_compared_with_the_description_and_updated_in_place():
    built = full_queue(
        compute_environment_order=["etl-ec2", "etl-spot"],
        extra_request_fields={"serviceEnvironmentOrder": SERVICE_ORDER},
    )
    assert_none(built.plan(described_queue(serviceEnvironmentOrder=SERVICE_ORDER)))
    plan = built.plan(described_queue())
    assert plan.action == "update"
    assert plan.update_request == {"jobQueue": QUEUE_ARN, "serviceEnvironmentOrder": SERVICE_ORDER}
    assert plan.differences[0].startswith("extra_request_fields.serviceEnvironmentOrder: <unset> -> ")
