"""Tests for extra_request_fields: request members AWS has and a spec does not model yet.

Every spec that becomes an AWS request takes them; they are merged into its request and checked
by botocore's own parameter validation against the operation's input shape (and the enum values
botocore's model lists). The members used here are real ones from botocore's Batch model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.session import get_session
from botocore.validate import ParamValidator

from airflow_batch_plugin.specs import (
    ComputeEnvironmentSpec,
    JobDefinitionSpec,
    JobQueueSpec,
    JobSubmissionSpec,
    Problem,
    SchedulingPolicySpec,
    SpecValidationError,
)
from airflow_batch_plugin.specs.extra_fields import RequestModel, plan_extra_fields
from airflow_batch_plugin.specs.update_plan import PlanBuilder

if TYPE_CHECKING:
    from collections.abc import Callable

MODEL = get_session().get_service_model("batch")
LICENSES = {"consumableResourceList": [{"consumableResource": "licenses", "quantity": 2}]}


def definition(extra: Any = None, **changes: Any) -> JobDefinitionSpec:
    return JobDefinitionSpec.container_job("jd", "busybox", extra_request_fields=extra, **changes)


def submission(extra: Any = None, **changes: Any) -> JobSubmissionSpec:
    return JobSubmissionSpec(
        job_name="run", job_queue="q", job_definition="jd", extra_request_fields=extra, **changes
    )


def compute_environment(extra: Any = None, **changes: Any) -> ComputeEnvironmentSpec:
    fields: dict[str, Any] = {
        "name": "ce",
        "type": "EC2",
        "max_vcpus": 16,
        "instance_types": ["optimal"],
        "subnets": ["subnet-0a1"],
        "security_group_ids": ["sg-0123"],
        "instance_role": "ecsInstanceRole",
        **changes,
    }
    return ComputeEnvironmentSpec(extra_request_fields=extra, **fields)


def job_queue(extra: Any = None, **changes: Any) -> JobQueueSpec:
    return JobQueueSpec(
        name="q", priority=1, compute_environment_order=["ce"], extra_request_fields=extra, **changes
    )


def scheduling_policy(extra: Any = None, **changes: Any) -> SchedulingPolicySpec:
    return SchedulingPolicySpec(name="fair", extra_request_fields=extra, **changes)


def create_request(spec: Any) -> dict[str, Any]:
    return spec.to_create_request() if hasattr(spec, "to_create_request") else spec.to_request()


#: spec builder, its operation, a valid extra, where it lands, a collision with a modelled member.
SPECS: list[tuple[str, Callable[..., Any], str, dict[str, Any], dict[str, Any]]] = [
    (
        "definition",
        definition,
        "RegisterJobDefinition",
        {"consumableResourceProperties": LICENSES},
        {"tags": {"a": "b"}},
    ),
    (
        "submission",
        submission,
        "SubmitJob",
        {"consumableResourcePropertiesOverride": LICENSES},
        {"jobQueue": "other"},
    ),
    (
        "compute-environment",
        compute_environment,
        "CreateComputeEnvironment",
        {"context": "team-a"},
        {"state": "DISABLED"},
    ),
    (
        "job-queue",
        job_queue,
        "CreateJobQueue",
        {"serviceEnvironmentOrder": [{"order": 1, "serviceEnvironment": "training"}]},
        {"priority": 5},
    ),
    (
        "scheduling-policy",
        scheduling_policy,
        "CreateSchedulingPolicy",
        {"quotaSharePolicy": {"idleResourceAssignmentStrategy": "FIFO"}},
        {"name": "other"},
    ),
]
IDS = [row[0] for row in SPECS]


def problems_of(build: Callable[[], Any]) -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        build()
    return info.value.problems


def only_problem(build: Callable[[], Any]) -> Problem:
    found = problems_of(build)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


@pytest.mark.parametrize(("build", "operation", "extra"), [row[1:4] for row in SPECS], ids=IDS)
def test_a_valid_extra_reaches_the_request_and_passes_botocore(build, operation, extra):
    spec = build(extra)
    request = create_request(spec)
    for key, value in extra.items():
        assert request[key] == value
    assert {key: value for key, value in request.items() if key not in extra} == create_request(build())
    report = ParamValidator().validate(request, MODEL.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize(("build", "operation"), [row[1:3] for row in SPECS], ids=IDS)
def test_an_unknown_member_is_refused_with_botocores_message(build, operation):
    problem = only_problem(lambda: build({"consumableResourceProperty": {}}))
    assert problem.field == "extra_request_fields.consumableResourceProperty"
    assert problem.value == {}
    assert f"botocore's {operation} check" in problem.rule
    assert 'Unknown parameter in input: "consumableResourceProperty", must be one of:' in problem.rule


@pytest.mark.parametrize(
    ("build", "extra", "field", "fragment"),
    [
        (
            definition,
            {
                "consumableResourceProperties": {
                    "consumableResourceList": [{"consumableResource": "l", "quantity": "two"}]
                }
            },
            "extra_request_fields.consumableResourceProperties.consumableResourceList[0].quantity",
            "Invalid type for parameter consumableResourceProperties.consumableResourceList[0].quantity",
        ),
        (
            submission,
            {"consumableResourcePropertiesOverride": {"consumableResourceList": "licenses"}},
            "extra_request_fields.consumableResourcePropertiesOverride.consumableResourceList",
            "valid types: <class 'list'>, <class 'tuple'>",
        ),
        (compute_environment, {"context": 5}, "extra_request_fields.context", "valid types: <class 'str'>"),
        (
            job_queue,
            {"serviceEnvironmentOrder": {"order": 1}},
            "extra_request_fields.serviceEnvironmentOrder",
            "Invalid type for parameter serviceEnvironmentOrder",
        ),
        (
            scheduling_policy,
            {"quotaSharePolicy": "FIFO"},
            "extra_request_fields.quotaSharePolicy",
            "valid types: <class 'dict'>",
        ),
    ],
    ids=IDS,
)
def test_a_wrong_type_is_refused_with_botocores_message(build, extra, field, fragment):
    problem = only_problem(lambda: build(extra))
    assert problem.field == field
    assert fragment in problem.rule


@pytest.mark.parametrize(
    ("build", "extra", "field", "required"),
    [
        (
            job_queue,
            {"serviceEnvironmentOrder": [{"order": 1}]},
            "serviceEnvironmentOrder[0].serviceEnvironment",
            "serviceEnvironment",
        ),
        (
            scheduling_policy,
            {"quotaSharePolicy": {}},
            "quotaSharePolicy.idleResourceAssignmentStrategy",
            "idleResourceAssignmentStrategy",
        ),
    ],
)
def test_a_missing_required_member_is_refused(build, extra, field, required):
    problem = only_problem(lambda: build(extra))
    assert problem.field == f"extra_request_fields.{field}"
    assert f'Missing required parameter in {field.rsplit(".", 1)[0]}: "{required}"' in problem.rule


@pytest.mark.parametrize(
    ("build", "extra", "field", "choices"),
    [
        (
            compute_environment,
            {"ecsSettings": {"containerInsights": "SOMETIMES"}},
            "ecsSettings.containerInsights",
            "ENABLED, ENHANCED, DISABLED",
        ),
        (
            scheduling_policy,
            {"quotaSharePolicy": {"idleResourceAssignmentStrategy": "LIFO"}},
            "quotaSharePolicy.idleResourceAssignmentStrategy",
            "FIFO",
        ),
    ],
)
def test_an_enum_value_outside_botocores_model_is_refused(build, extra, field, choices):
    problem = only_problem(lambda: build(extra))
    assert problem.field == f"extra_request_fields.{field}"
    assert problem.rule.startswith(f"must be one of {choices}")


def test_enum_values_are_read_case_insensitively_as_aws_does():
    spec = compute_environment({"ecsSettings": {"containerInsights": "enabled"}})
    assert spec.to_create_request()["ecsSettings"] == {"containerInsights": "enabled"}


@pytest.mark.parametrize(("build", "collision"), [(row[1], row[4]) for row in SPECS], ids=IDS)
def test_a_top_level_member_the_spec_models_is_refused_naming_both(build, collision):
    (key,) = collision
    problem = only_problem(lambda: build(collision))
    assert problem.field == f"extra_request_fields.{key}"
    assert f"collides with {key}, which the spec models as its field" in problem.rule


@pytest.mark.parametrize(
    ("build", "extra", "field", "owner"),
    [
        (
            definition,
            {"containerProperties": {"image": "other"}},
            "containerProperties.image",
            "its field container",
        ),
        (
            compute_environment,
            {"computeResources": {"maxvCpus": 8}},
            "computeResources.maxvCpus",
            "its field max_vcpus",
        ),
        (definition, {"tags": {"a": "b"}}, "tags", "its field tags"),
    ],
)
def test_a_member_the_spec_sets_is_refused_naming_its_field(build, extra, field, owner):
    problem = only_problem(lambda: build(extra, tags={"t": "v"}) if build is definition else build(extra))
    assert problem.field == f"extra_request_fields.{field}"
    assert f"collides with {field}" in problem.rule
    assert owner in problem.rule


def test_extras_merge_into_the_structures_the_spec_builds():
    spec = definition({"containerProperties": {"enableExecuteCommand": True}}, command=["true"])
    container = spec.to_request()["containerProperties"]
    assert container["enableExecuteCommand"] is True
    assert container["image"] == "busybox"
    assert container["command"] == ["true"]
    ce = compute_environment({"computeResources": {"imageId": "ami-0123456789abcdef0"}})
    assert ce.to_create_request()["computeResources"]["imageId"] == "ami-0123456789abcdef0"
    assert ce.to_create_request()["computeResources"]["maxvCpus"] == 16


def test_a_map_member_is_not_merged_into():
    # parameters is a map, not a structure: a second source of parameters would be a collision.
    problem = only_problem(lambda: definition({"parameters": {"b": "2"}}, parameters={"a": "1"}))
    assert problem.field == "extra_request_fields.parameters"


def test_a_structure_the_spec_leaves_out_is_refused_when_it_is_modelled():
    # An EKS definition has no containerProperties: the spec's field container models it.
    found = problems_of(
        lambda: JobDefinitionSpec(
            name="k",
            eks={"containers": [{"image": "busybox", "limits": {"cpu": 1, "memory": 1024}}]},
            extra_request_fields={"containerProperties": {"enableExecuteCommand": True}},
        )
    )
    assert [p.field for p in found] == ["extra_request_fields.containerProperties"]
    assert "models as its field container" in found[0].rule


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        (["consumableResourceProperties"], "extra_request_fields", "must be a dict of AWS request members"),
        ({"": 1}, "extra_request_fields['']", "non-empty strings"),
        ({1: "x"}, "extra_request_fields[1]", "non-empty strings"),
    ],
)
def test_extras_must_be_a_dict_of_member_names(extra, field, fragment):
    found = problems_of(lambda: definition(extra))
    assert any(p.field == field and fragment in p.rule for p in found), "\n".join(map(str, found))


def test_every_problem_is_reported_at_once_with_the_specs_own():
    found = problems_of(
        lambda: definition(
            {"consumableResourceProperty": 1, "tags": {}}, memory=2, scheduling_priority=10_000
        )
    )
    assert {p.field for p in found} == {
        "container.memory",
        "scheduling_priority",
        "extra_request_fields.consumableResourceProperty",
        "extra_request_fields.tags",
    }


def test_templated_extras_are_checked_once_rendered():
    class XComArgLike:
        def resolve(self, context: Any) -> Any:
            return 2

    templated = {
        "consumableResourceProperties": {
            "consumableResourceList": [
                {"consumableResource": "{{ params.resource }}", "quantity": XComArgLike()}
            ]
        },
        "ecsSettings": {"containerInsights": "{{ params.insights }}"},
    }
    definition({"consumableResourceProperties": templated["consumableResourceProperties"]})
    compute_environment({"ecsSettings": templated["ecsSettings"]})


def test_a_submission_spec_checks_its_size_with_the_extras():
    big = {"consumableResourceList": [{"consumableResource": "x" * 1000, "quantity": 1}] * 31}
    problem = only_problem(lambda: submission({"consumableResourcePropertiesOverride": big}))
    assert "30 KiB" in problem.rule


def test_a_job_queue_with_a_policy_name_checks_its_extras_without_an_arn_prefix():
    spec = job_queue(
        {"serviceEnvironmentOrder": [{"order": 1, "serviceEnvironment": "s"}]}, scheduling_policy="fair"
    )
    assert spec.to_create_request(arn_prefix="arn:aws:batch:eu-west-1:123456789012")[
        "serviceEnvironmentOrder"
    ]
    problem = only_problem(lambda: job_queue({"serviceEnvironmentOrder": "s"}, scheduling_policy="fair"))
    assert problem.field == "extra_request_fields.serviceEnvironmentOrder"


# --- the job definition's content hash -------------------------------------------------------


def test_the_content_hash_covers_the_extras():
    with_extra = definition({"consumableResourceProperties": LICENSES})
    again = definition(
        {
            "consumableResourceProperties": {
                "consumableResourceList": [dict(LICENSES["consumableResourceList"][0])]
            }
        }
    )
    assert with_extra.content_hash() == again.content_hash()
    assert with_extra.content_hash() != definition().content_hash()
    other = {"consumableResourceList": [{"consumableResource": "licenses", "quantity": 3}]}
    assert definition({"consumableResourceProperties": other}).content_hash() != with_extra.content_hash()


# --- planning: the generic paths -------------------------------------------------------------


def test_a_member_the_update_operation_lacks_makes_the_plan_a_replacement():
    builder = PlanBuilder("job queue", "q", {"jobQueue": "q"})
    plan_extra_fields(
        builder,
        {"state": "DISABLED"},
        {"state": "ENABLED"},
        model=RequestModel("CreateJobQueue", {}),
        update_operation="UpdateSchedulingPolicy",  # which has no state
        detail_shape="JobQueueDetail",
    )
    plan = builder.build(resource_arn=None, desired_tags=None, current_tags=None)
    assert plan.action == "replace_required"
    assert plan.replacement_fields == {
        "extra_request_fields.state": "UpdateSchedulingPolicy has no state: AWS can't change it in place"
    }


def test_a_member_describe_does_not_return_is_left_as_created():
    builder = PlanBuilder("job queue", "q", {"jobQueue": "q"})
    plan_extra_fields(
        builder,
        {"context": "team-a"},
        {},
        model=RequestModel("CreateComputeEnvironment", {}),
        update_operation="UpdateComputeEnvironment",
        detail_shape="JobQueueDetail",  # which has no context
    )
    assert builder.build(resource_arn=None, desired_tags=None, current_tags=None).action == "none"


# --- the submit operator ---------------------------------------------------------------------


def test_the_submit_operator_takes_extra_request_fields():
    from airflow_batch_plugin.operators.submit_job import BatchSubmitJobOperator

    def operator(task_id: str, extra: dict[str, Any]) -> BatchSubmitJobOperator:
        return BatchSubmitJobOperator(
            task_id=task_id, job_name="run", job_queue="q", job_definition="jd", extra_request_fields=extra
        )

    built = operator("t", {"consumableResourcePropertiesOverride": LICENSES})
    assert "extra_request_fields" in built.template_fields
    assert built.template_fields_renderers["extra_request_fields"] == "json"
    request = built._build_submission("jd", {}).to_request()
    assert request["consumableResourcePropertiesOverride"] == LICENSES
    with pytest.raises(
        SpecValidationError, match=r"extra_request_fields\.consumableResourcePropertyOverride"
    ):
        operator("t2", {"consumableResourcePropertyOverride": LICENSES})
