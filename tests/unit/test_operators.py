"""Operators reject bad input when the DAG is parsed, before any AWS call; deregistration."""

from __future__ import annotations

import pytest

from airflow_batch_plugin import (
    BatchComputeEnvironmentSensor,
    BatchDeleteComputeEnvironmentOperator,
    BatchDeleteJobQueueOperator,
    BatchDeregisterJobDefinitionOperator,
    BatchEnsureComputeEnvironmentOperator,
    BatchEnsureJobQueueOperator,
    BatchEnvironment,
    BatchJobQueueSensor,
    BatchJobSensor,
    BatchRegisterJobDefinitionOperator,
    BatchSubmitJobOperator,
    ComputeEnvironmentSpec,
    JobDefinitionSpec,
    SpecValidationError,
)

VALID = {"task_id": "t", "job_name": "job", "job_queue": "q", "job_definition": "def"}


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        ({"job_name": "-starts-with-dash"}, "job_name", "letters"),
        ({"array_size": 1}, "array_size", "at least 2"),
        ({"array_size": 10_001}, "array_size", "at most 10000"),
        ({"depends_on": [f"job-{i}" for i in range(21)]}, "depends_on", "20"),
        ({"depends_on": [{"jobId": "a", "type": "N_TO_N"}]}, "depends_on[0].type", "array"),
        ({"timeout_seconds": 59}, "timeout_seconds", "60"),
        (
            {"container_overrides": {"environment": {"AWS_BATCH_X": "1"}}},
            "container_overrides.environment",
            "AWS_BATCH",
        ),
        ({"container_overrides": {"command": ["x" * 9000]}}, "container_overrides", "8192"),
        ({"scheduling_priority_override": 10_000}, "scheduling_priority_override", "9999"),
        ({"job_queue": ""}, "job_queue", "non-empty"),
    ],
)
def test_submit_operator_rejects_bad_input_at_parse_time(arguments, field, rule):
    with pytest.raises(SpecValidationError) as caught:
        BatchSubmitJobOperator(**{**VALID, **arguments})
    fields = [problem.field for problem in caught.value.problems]
    assert any(f.startswith(field) for f in fields), fields
    assert rule in str(caught.value)


def test_templated_and_xcom_values_are_checked_after_rendering():
    operator = BatchSubmitJobOperator(
        **{**VALID, "array_size": "{{ params.n }}", "job_name": "{{ params.name }}"}
    )
    assert operator.array_size == "{{ params.n }}"


def test_poll_interval_must_be_positive():
    with pytest.raises(ValueError, match="poll_interval=0"):
        BatchSubmitJobOperator(**VALID, poll_interval=0)


def test_register_operator_wants_a_spec():
    with pytest.raises(TypeError, match="spec must be a JobDefinitionSpec"):
        BatchRegisterJobDefinitionOperator(task_id="r", spec={"name": "x"})


def test_sensor_templates_its_job_id():
    assert "job_id" in BatchJobSensor.template_fields


@pytest.mark.parametrize("keep_latest", [-1, 1.5, True])
def test_deregister_keep_latest_must_be_a_whole_number(keep_latest):
    with pytest.raises(ValueError, match="keep_latest"):
        BatchDeregisterJobDefinitionOperator(task_id="d", job_definition="etl", keep_latest=keep_latest)


def register_revisions(hook, count: int) -> list[str]:
    return [
        hook.ensure_job_definition(
            JobDefinitionSpec.container_job(name="etl", image="python:3.12", memory=512 * (n + 1))
        ).arn
        for n in range(count)
    ]


def test_deregister_all_but_the_newest(hook):
    arns = register_revisions(hook, 4)
    operator = BatchDeregisterJobDefinitionOperator(task_id="d", job_definition="etl", keep_latest=1)
    assert sorted(operator.execute({})) == sorted(arns[:3])
    assert [r["jobDefinitionArn"] for r in hook.list_job_definition_revisions("etl")] == [arns[3]]
    assert operator.execute({}) == []  # nothing left to do: idempotent


def test_deregister_one_revision(hook):
    arns = register_revisions(hook, 2)
    operator = BatchDeregisterJobDefinitionOperator(task_id="d", job_definition="etl:1")
    assert operator.execute({}) == ["etl:1"]
    assert [r["jobDefinitionArn"] for r in hook.list_job_definition_revisions("etl")] == [arns[1]]


# -- infrastructure operators and sensors --------------------------------------------------------


def compute_environment_spec() -> ComputeEnvironmentSpec:
    return ComputeEnvironmentSpec(
        name="ce",
        type="FARGATE",
        max_vcpus=4,
        subnets=["subnet-0123"],
        security_group_ids=["sg-0123"],
    )


@pytest.mark.parametrize(
    ("operator", "arguments", "error", "message"),
    [
        (BatchEnsureComputeEnvironmentOperator, {"spec": "ce"}, TypeError, "ComputeEnvironmentSpec"),
        (BatchEnsureJobQueueOperator, {"spec": compute_environment_spec()}, TypeError, "JobQueueSpec"),
        (
            BatchEnsureComputeEnvironmentOperator,
            {"spec": compute_environment_spec(), "poll_interval": 0},
            ValueError,
            "poll_interval",
        ),
        (BatchDeleteJobQueueOperator, {"job_queue": "q", "active_jobs": "ignore"}, ValueError, "active_jobs"),
        (
            BatchDeleteComputeEnvironmentOperator,
            {"compute_environment": "ce", "poll_interval": -1},
            ValueError,
            "poll_interval",
        ),
        (BatchJobQueueSensor, {"job_queue": "q", "target_status": "ENABLED"}, ValueError, "target_status"),
        (
            BatchComputeEnvironmentSensor,
            {"compute_environment": "ce", "target_status": "GONE"},
            ValueError,
            "target_status",
        ),
    ],
)
def test_infrastructure_operators_reject_bad_arguments(operator, arguments, error, message):
    with pytest.raises(error, match=message):
        operator(task_id="t", **arguments)


def test_a_bad_spec_fails_when_it_is_declared():
    with pytest.raises(SpecValidationError, match="max_vcpus"):
        ComputeEnvironmentSpec(
            name="ce", type="FARGATE", max_vcpus=-1, subnets=["subnet-1"], security_group_ids=["sg-1"]
        )


def test_environment_gives_a_setup_and_a_teardown_that_runs_whatever_happened():
    from airflow.sdk import DAG

    from airflow_batch_plugin.compat import TriggerRule

    environment = BatchEnvironment(compute_environments=[compute_environment_spec()])
    with DAG("env", schedule=None):
        setup, teardown = environment.setup_and_teardown(keep="{{ params.keep }}")
    assert setup.is_setup
    assert teardown.is_teardown
    assert teardown.trigger_rule == TriggerRule.ALL_DONE
    assert teardown.upstream_task_ids == {setup.task_id}
    assert teardown.keep == "{{ params.keep }}"
