"""Tests for JobSubmissionSpec, JobDependency and ContainerOverrides: AWS's SubmitJob rules."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from airflow_batch_plugin.specs import (
    ContainerOverrides,
    JobDependency,
    JobSubmissionSpec,
    Problem,
    RetryStrategy,
    SpecValidationError,
)
from airflow_batch_plugin.specs.job import MAX_CONTAINER_OVERRIDES_BYTES, MAX_SUBMIT_JOB_BYTES


def problems_of(build: Any) -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        build()
    return info.value.problems


def assert_problem(build: Any, field: str, fragment: str) -> list[Problem]:
    found = problems_of(build)
    assert any(p.field == field and fragment in p.rule for p in found), "\n".join(map(str, found))
    return found


def job(**changes: Any) -> JobSubmissionSpec:
    kwargs: dict[str, Any] = {"job_name": "job-1", "job_queue": "queue", "job_definition": "definition"}
    kwargs.update(changes)
    return JobSubmissionSpec(**kwargs)


JOB_RULES = [
    ("name-empty", {"job_name": ""}, "job_name", "non-empty"),
    ("name-first-char", {"job_name": "-job"}, "job_name", "starting with a letter or number"),
    ("name-underscore-first", {"job_name": "_job"}, "job_name", "starting with a letter or number"),
    ("name-chars", {"job_name": "job.1"}, "job_name", "1 to 128 letters"),
    ("name-129", {"job_name": "j" * 129}, "job_name", "1 to 128 letters"),
    ("queue-empty", {"job_queue": ""}, "job_queue", "non-empty"),
    ("queue-none", {"job_queue": None}, "job_queue", "non-empty"),
    ("queue-chars", {"job_queue": "my queue"}, "job_queue", "job queue name"),
    ("definition-empty", {"job_definition": " "}, "job_definition", "non-empty"),
    ("definition-revision", {"job_definition": "etl:0"}, "job_definition", "name:revision"),
    ("definition-colons", {"job_definition": "etl:1:2"}, "job_definition", "name:revision"),
    ("array-1", {"array_size": 1}, "array_size", "at least 2"),
    ("array-10001", {"array_size": 10_001}, "array_size", "at most 10000"),
    ("array-type", {"array_size": 2.5}, "array_size", "whole number"),
    ("timeout-59", {"timeout_seconds": 59}, "timeout_seconds", "at least 60 seconds"),
    ("retry-0", {"retry_strategy": 0}, "retry_strategy.attempts", "at least 1"),
    ("retry-11", {"retry_strategy": 11}, "retry_strategy.attempts", "at most 10"),
    ("tags-51", {"tags": {f"k{i}": "v" for i in range(51)}}, "tags", "at most 50 tags"),
    ("tags-aws", {"tags": {"AWS:x": "v"}}, "tags['AWS:x']", "must not start with 'aws:'"),
    ("tag-value", {"tags": {"k": 5}}, "tags['k']", "strings of at most 256"),
    ("propagate", {"propagate_tags": 1}, "propagate_tags", "True or False"),
    ("share-chars", {"share_identifier": "team-a"}, "share_identifier", "letters and numbers"),
    ("share-long", {"share_identifier": "a" * 256}, "share_identifier", "255"),
    ("share-star-inside", {"share_identifier": "a*b"}, "share_identifier", "followed by '*'"),
    ("priority-low", {"scheduling_priority_override": -1}, "scheduling_priority_override", "at least 0"),
    (
        "priority-high",
        {"scheduling_priority_override": 10_000},
        "scheduling_priority_override",
        "at most 9999",
    ),
    ("parameters", {"parameters": {"day": None}}, "parameters['day']", "values are strings"),
    ("eks-override-type", {"eks_properties_override": ["x"]}, "eks_properties_override", "dict"),
    ("node-override-type", {"node_overrides": "x"}, "node_overrides", "dict"),
    (
        "eks-and-container",
        {"eks_properties_override": {"podProperties": {}}, "container_overrides": {"command": ["x"]}},
        "eks_properties_override",
        "not both",
    ),
    ("overrides-type", {"container_overrides": ["echo"]}, "container_overrides", "ContainerOverrides"),
    (
        "overrides-unknown",
        {"container_overrides": {"cmd": ["x"]}},
        "container_overrides",
        "unknown ContainerOverrides field(s) ['cmd']",
    ),
    (
        "override-command-empty",
        {"container_overrides": {"command": ["echo", ""]}},
        "container_overrides.command[1]",
        "empty string",
    ),
    (
        "override-command-str",
        {"container_overrides": {"command": "echo hi"}},
        "container_overrides.command",
        "not one string",
    ),
    (
        "override-env",
        {"container_overrides": {"environment": {"AWS_BATCH_JOB_ATTEMPT": "2"}}},
        "container_overrides.environment['AWS_BATCH_JOB_ATTEMPT']",
        "must not start with 'AWS_BATCH'",
    ),
    ("override-vcpus", {"container_overrides": {"vcpus": 0}}, "container_overrides.vcpus", "positive"),
    ("override-memory", {"container_overrides": {"memory": 3}}, "container_overrides.memory", "at least 4"),
    ("override-gpus", {"container_overrides": {"gpus": -1}}, "container_overrides.gpus", "at least 0"),
    (
        "override-instance",
        {"container_overrides": {"instance_type": ""}},
        "container_overrides.instance_type",
        "non-empty",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"), [c[1:] for c in JOB_RULES], ids=[c[0] for c in JOB_RULES]
)
def test_job_rules(changes, field, fragment):
    assert_problem(lambda: job(**changes), field, fragment)


@pytest.mark.parametrize(
    "changes",
    [
        {"job_name": "j"},
        {"job_name": "J" * 128},
        {"job_name": "0_job-A"},
        {"array_size": 2},
        {"array_size": 10_000},
        {"array_size": "25"},
        {"timeout_seconds": 60},
        {"retry_strategy": 1},
        {"retry_strategy": 10},
        {"tags": {f"k{i}": "v" for i in range(50)}},
        {"share_identifier": "teamA"},
        {"share_identifier": "teamA*"},
        {"share_identifier": "a" * 255},
        {"scheduling_priority_override": 0},
        {"scheduling_priority_override": 9999},
        {"job_queue": "arn:aws:batch:us-east-1:123456789012:job-queue/high_priority"},
        {"job_definition": "etl:12"},
        {"job_definition": "arn:aws:batch:us-east-1:123456789012:job-definition/etl:3"},
        {"job_definition": "arn:aws:batch:us-east-1:123456789012:job-definition/etl"},
        {"eks_properties_override": {"podProperties": {"containers": [{"command": ["x"]}]}}},
        {"node_overrides": {"numNodes": 4}},
        {"container_overrides": ContainerOverrides(gpus=0, instance_type="p3.2xlarge")},
    ],
)
def test_job_accepts_boundaries_and_valid_values(changes):
    job(**changes)


@pytest.mark.parametrize(("size", "ok"), [(1, False), (2, True), (10_000, True), (10_001, False)])
def test_array_size_boundaries(size, ok):
    if ok:
        assert job(array_size=size).to_request()["arrayProperties"] == {"size": size}
    else:
        found = assert_problem(lambda: job(array_size=size), "array_size", "must be at")
        assert found[0].value == size


# --- dependencies ----------------------------------------------------------------------------


def test_at_most_20_dependencies():
    job(depends_on=[f"id-{i}" for i in range(20)])
    found = assert_problem(
        lambda: job(depends_on=[f"id-{i}" for i in range(21)]), "depends_on", "at most 20 jobs"
    )
    assert found[0].value == "<21 dependencies>"


@pytest.mark.parametrize(
    ("depends_on", "array_size", "field", "fragment"),
    [
        ([{"jobId": "a", "type": "N_TO_N"}], None, "depends_on[0].type", "only for array jobs"),
        ([{"type": "SEQUENTIAL"}], None, "depends_on[0].type", "only for array jobs"),
        (["a", "b", "c", {"job_id": "d", "type": "PARALLEL"}], 5, "depends_on[3].type", "N_TO_N, SEQUENTIAL"),
        ([{"jobId": "a", "type": "SEQUENTIAL"}], 5, "depends_on[0].job_id", "takes no job id"),
        ([{"type": "N_TO_N"}], 5, "depends_on[0].job_id", "required unless type is SEQUENTIAL"),
        ([{}], None, "depends_on[0].job_id", "required"),
        ([""], None, "depends_on[0].job_id", "non-empty"),
        ([{"job": "a"}], None, "depends_on[0]", "unknown JobDependency field(s) ['job']"),
        ([42], None, "depends_on[0]", "JobDependency"),
        (42, None, "depends_on", "list of job ids"),
    ],
)
def test_dependency_rules(depends_on, array_size, field, fragment):
    assert_problem(lambda: job(depends_on=depends_on, array_size=array_size), field, fragment)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("job-123", {"jobId": "job-123"}),
        ({"jobId": "job-1", "type": "n_to_n"}, {"jobId": "job-1", "type": "N_TO_N"}),
        ({"job_id": "job-2"}, {"jobId": "job-2"}),
        ({"type": "sequential"}, {"type": "SEQUENTIAL"}),
        (JobDependency(job_id="job-3"), {"jobId": "job-3"}),
    ],
)
def test_dependency_from_value(value, expected):
    assert JobDependency.from_value(value).to_request() == expected


def test_dependency_from_value_validates():
    assert_problem(
        lambda: JobDependency.from_value({"jobId": "a", "type": "sequential"}), "job_id", "no job id"
    )


def test_single_dependency_is_accepted_without_a_list():
    assert job(depends_on="job-9").to_request()["dependsOn"] == [{"jobId": "job-9"}]


# --- sizes -----------------------------------------------------------------------------------


def test_container_overrides_limit_is_8_kib():
    job(container_overrides={"environment": {"DATA": "x" * 7_000}})
    found = assert_problem(
        lambda: job(container_overrides={"environment": {"DATA": "x" * 8_200}}),
        "container_overrides",
        "8 KiB",
    )
    assert str(MAX_CONTAINER_OVERRIDES_BYTES) in found[0].rule


def test_submit_job_request_limit_is_30_kib():
    job(parameters={"blob": "x" * 29_000})
    found = assert_problem(lambda: job(parameters={"blob": "x" * 31_000}), "JobSubmissionSpec", "30 KiB")
    assert str(MAX_SUBMIT_JOB_BYTES) in found[0].rule


# --- reporting and templates -----------------------------------------------------------------


def test_all_problems_are_reported_together():
    found = problems_of(
        lambda: JobSubmissionSpec(
            job_name="-bad",
            job_queue="",
            job_definition="d:0",
            array_size=10_001,
            depends_on=[{"type": "SEQUENTIAL", "jobId": "x"}, "ok", {"type": "N_TO_N"}],
            container_overrides={"command": [""], "memory": 2},
            timeout_seconds=30,
            share_identifier="a-b",
        )
    )
    assert {p.field for p in found} == {
        "job_name",
        "job_queue",
        "job_definition",
        "array_size",
        "depends_on[0].job_id",
        "depends_on[2].job_id",
        "container_overrides.command[0]",
        "container_overrides.memory",
        "timeout_seconds",
        "share_identifier",
    }


def test_templated_strings_defer_checks_until_rendered():
    spec = JobSubmissionSpec(
        job_name="{{ dag.dag_id }}.{{ ti.task_id }}",
        job_queue="{{ params.queue }}",
        job_definition="{{ ti.xcom_pull('register') }}",
        array_size="{{ params.size }}",
        depends_on=["{{ ti.xcom_pull('upstream') }}", {"type": "N_TO_N", "jobId": "{{ params.other }}"}],
        timeout_seconds="{{ params.timeout }}",
        share_identifier="{{ params.share }}",
        scheduling_priority_override="{{ params.priority }}",
        container_overrides={"vcpus": "{{ params.vcpus }}", "memory": "{{ params.memory }}"},
    )
    assert spec.to_request()["arrayProperties"] == {"size": "{{ params.size }}"}
    found = problems_of(
        lambda: dataclasses.replace(
            spec,
            job_name="etl.submit",
            job_queue="queue",
            job_definition="etl:1",
            array_size="1",
            timeout_seconds="10",
            share_identifier="teamA",
            scheduling_priority_override="5",
            depends_on=["job-1", {"type": "N_TO_N", "jobId": "job-2"}],
            container_overrides={"vcpus": "1", "memory": "2048"},
        )
    )
    assert {(p.field, p.value) for p in found} == {
        ("job_name", "etl.submit"),
        ("array_size", 1),
        ("timeout_seconds", 10),
    }


# --- exact requests --------------------------------------------------------------------------


def test_array_job_with_n_to_n_request():
    spec = JobSubmissionSpec(
        job_name="transform",
        job_queue="arn:aws:batch:us-east-1:123456789012:job-queue/spot",
        job_definition="transform:4",
        array_size=100,
        depends_on=["prep-job-id", {"jobId": "split-job-id", "type": "N_TO_N"}],
        parameters={"input": "s3://bucket/in", "shards": 100},
        container_overrides=ContainerOverrides(
            command=["python", "transform.py", "Ref::input"],
            environment={"STAGE": "prod", "DEBUG": "0"},
            vcpus=2,
            memory=4096,
            gpus=1,
        ),
        retry_strategy=RetryStrategy(attempts=3, evaluate_on_exit=[{"action": "EXIT", "on_exit_code": "2"}]),
        timeout_seconds=1800,
        tags={"dag": "etl"},
        propagate_tags=True,
        share_identifier="teamA",
        scheduling_priority_override=50,
    )
    assert spec.is_array_job
    assert spec.to_request() == {
        "jobName": "transform",
        "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/spot",
        "shareIdentifier": "teamA",
        "schedulingPriorityOverride": 50,
        "arrayProperties": {"size": 100},
        "dependsOn": [{"jobId": "prep-job-id"}, {"jobId": "split-job-id", "type": "N_TO_N"}],
        "jobDefinition": "transform:4",
        "parameters": {"input": "s3://bucket/in", "shards": "100"},
        "containerOverrides": {
            "command": ["python", "transform.py", "Ref::input"],
            "environment": [{"name": "DEBUG", "value": "0"}, {"name": "STAGE", "value": "prod"}],
            "resourceRequirements": [
                {"type": "VCPU", "value": "2"},
                {"type": "MEMORY", "value": "4096"},
                {"type": "GPU", "value": "1"},
            ],
        },
        "retryStrategy": {"attempts": 3, "evaluateOnExit": [{"action": "EXIT", "onExitCode": "2"}]},
        "propagateTags": True,
        "timeout": {"attemptDurationSeconds": 1800},
        "tags": {"dag": "etl"},
    }


def test_sequential_array_job_request():
    spec = job(array_size=3, depends_on=[{"type": "SEQUENTIAL"}])
    assert spec.to_request() == {
        "jobName": "job-1",
        "jobQueue": "queue",
        "jobDefinition": "definition",
        "arrayProperties": {"size": 3},
        "dependsOn": [{"type": "SEQUENTIAL"}],
    }


def test_minimal_request_and_passthrough_overrides():
    assert job().to_request() == {"jobName": "job-1", "jobQueue": "queue", "jobDefinition": "definition"}
    eks_override = {"podProperties": {"containers": [{"name": "main", "command": ["run"]}]}}
    nodes = {
        "numNodes": 4,
        "nodePropertyOverrides": [{"targetNodes": "0:", "containerOverrides": {"command": ["x"]}}],
    }
    assert job(eks_properties_override=eks_override).to_request()["eksPropertiesOverride"] == eks_override
    assert job(node_overrides=nodes).to_request()["nodeOverrides"] == nodes
    assert "containerOverrides" not in job(container_overrides={}).to_request()


def test_container_overrides_accept_aws_environment_pairs_and_floats():
    overrides = ContainerOverrides(environment=[{"name": "A", "value": "1"}], vcpus=0.25, memory="512")
    assert overrides.to_request() == {
        "environment": [{"name": "A", "value": "1"}],
        "resourceRequirements": [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
    }


def test_request_is_valid_for_botocore():
    botocore_session = pytest.importorskip("botocore.session")
    from botocore.validate import ParamValidator

    shape = botocore_session.get_session().get_service_model("batch").operation_model("SubmitJob").input_shape
    spec = job(
        array_size=4,
        depends_on=["a", {"type": "N_TO_N", "jobId": "b"}],
        container_overrides={"command": ["x"], "environment": {"A": "1"}, "vcpus": 1, "memory": 64},
        retry_strategy=2,
        timeout_seconds=60,
        tags={"t": "v"},
        share_identifier="s",
        scheduling_priority_override=1,
        parameters={"p": "v"},
    )
    report = ParamValidator().validate(spec.to_request(), shape)
    assert not report.has_errors(), report.generate_report()
