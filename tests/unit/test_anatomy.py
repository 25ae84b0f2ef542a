"""The job anatomy reader on descriptions of every kind, as AWS documents them (not the emulator's)."""

from __future__ import annotations

import botocore.session
import pytest

from airflow_batch_plugin.anatomy import (
    EksCluster,
    EksLogConvention,
    JobKind,
    LogLocation,
    eks_cluster_name,
    kind_of,
    read_job,
)
from tests.unit import aws_job_descriptions as aws

BATCH_MODEL = botocore.session.get_session().get_service_model("batch")


def job_detail_problems(job: dict) -> list[str]:
    """Members of ``job`` that botocore's JobDetail shape does not have (recursively)."""
    problems: list[str] = []

    def walk(value: object, shape: object, path: str) -> None:
        kind = shape.type_name  # type: ignore[attr-defined]
        if kind == "structure":
            assert isinstance(value, dict), path
            for key, item in value.items():
                members = shape.members  # type: ignore[attr-defined]
                if key not in members:
                    problems.append(f"{path}.{key}")
                else:
                    walk(item, members[key], f"{path}.{key}")
        elif kind == "list":
            assert isinstance(value, list), path
            for index, item in enumerate(value):
                walk(item, shape.member, f"{path}[{index}]")  # type: ignore[attr-defined]

    walk(job, BATCH_MODEL.shape_for("JobDetail"), "job")
    return problems


ALL_DESCRIPTIONS = {
    "container": aws.container_job(),
    "fargate": aws.container_job(fargate=True),
    "ecs": aws.ecs_job(),
    "eks": aws.eks_job(),
    "multi-node parent": aws.multi_node_parent(),
    "node": aws.node_job(aws.multi_node_parent(), 1, "FAILED", 5),
    "array parent": aws.array_parent(),
    "array child": aws.array_child(aws.array_parent(), 3),
}


@pytest.mark.parametrize("name", sorted(ALL_DESCRIPTIONS))
def test_the_test_descriptions_follow_botocores_job_detail_shape(name):
    assert job_detail_problems(ALL_DESCRIPTIONS[name]) == []


def test_each_kind_is_told_apart_by_the_members_aws_gives_it():
    assert kind_of(aws.container_job()) is JobKind.CONTAINER
    assert kind_of(aws.container_job(fargate=True)) is JobKind.CONTAINER
    assert kind_of(aws.ecs_job()) is JobKind.ECS
    assert kind_of(aws.eks_job()) is JobKind.EKS
    assert kind_of(aws.eks_job("SUBMITTED", None)) is JobKind.EKS
    assert kind_of(aws.multi_node_parent()) is JobKind.MULTI_NODE
    assert kind_of(aws.node_job(aws.multi_node_parent(), 0, "RUNNING", None)) is JobKind.NODE
    assert kind_of(aws.array_parent()) is JobKind.CONTAINER


def test_a_failed_container_job_names_its_exit_code_stream_and_attempts():
    anatomy = read_job(aws.container_job("FAILED", 5, attempts=2))
    assert anatomy.kind is JobKind.CONTAINER
    assert anatomy.platform == "EC2"
    assert anatomy.exit_code == 5
    assert [a.number for a in anatomy.attempts] == [1, 2]
    assert anatomy.current is not None
    assert anatomy.current.number == 2
    assert anatomy.current.streams() == ("report/default/task2",)
    assert [part.log for _, part in anatomy.log_locations()] == [
        LogLocation("/aws/batch/job", "report/default/task1"),
        LogLocation("/aws/batch/job", "report/default/task2"),
    ]
    assert [(p.name, p.exit_code) for p in anatomy.failed_parts()] == [("", 5)]
    assert anatomy.exit_codes() == {"": 5}
    assert anatomy.description == "EC2 container job"


def test_a_running_container_job_after_a_failed_attempt_is_in_its_next_attempt():
    job = aws.container_job("FAILED", 5, attempts=2)
    job.update(status="RUNNING")
    job["attempts"] = job["attempts"][:1]
    del job["container"]["exitCode"]
    anatomy = read_job(job)
    assert anatomy.current is not None
    assert anatomy.current.number == 2
    assert anatomy.exit_code == 1  # the ended attempt's, until this one ends


def test_awslogs_group_and_region_come_from_the_log_configuration_and_other_drivers_have_no_stream():
    configured = {"logDriver": "awslogs", "options": {"awslogs-group": "/etl", "awslogs-region": "eu-west-1"}}
    anatomy = read_job(aws.container_job(log_configuration=configured))
    assert anatomy.current is not None
    assert anatomy.current.parts[0].log == LogLocation("/etl", "report/default/task1", region="eu-west-1")
    splunk = read_job(aws.container_job(log_configuration={"logDriver": "splunk", "options": {}}))
    assert splunk.current is not None
    assert splunk.current.parts[0].log is None
    assert splunk.notes == ("its log driver is splunk, not awslogs: its output is not in CloudWatch Logs",)


def test_fargate_jobs_are_container_jobs_on_fargate():
    anatomy = read_job(aws.container_job(fargate=True))
    assert (anatomy.kind, anatomy.platform) == (JobKind.CONTAINER, "Fargate")
    assert anatomy.description == "Fargate container job"


def test_an_ecs_job_has_one_part_per_container_and_the_essential_one_decides():
    anatomy = read_job(aws.ecs_job("FAILED", app_exit=5, sidecar_exit=137))
    assert anatomy.kind is JobKind.ECS
    assert anatomy.current is not None
    parts = {part.name: part for part in anatomy.current.parts}
    assert parts["app"].essential
    assert not parts["sidecar"].essential
    assert parts["app"].label == "container app"
    assert parts["app"].log == LogLocation("/aws/batch/job", "train/app/ecs1task")
    assert parts["sidecar"].log == LogLocation("/aws/batch/job", "train/sidecar/ecs1task")
    assert [p.name for p in anatomy.failed_parts()] == ["app", "sidecar"]  # essential first
    assert anatomy.exit_code == 5
    assert anatomy.exit_codes() == {"app": 5, "sidecar": 137}
    assert anatomy.attempts[0].summary() == (
        "container app exit code 5; container sidecar exit code 137, Essential container in task exited"
    )


def test_an_ecs_job_whose_only_non_essential_container_failed_has_the_essential_exit_code():
    anatomy = read_job(aws.ecs_job("SUCCEEDED", app_exit=0, sidecar_exit=3))
    assert anatomy.exit_code == 0
    assert [p.name for p in anatomy.failed_parts()] == ["sidecar"]


def test_an_eks_job_has_no_stream_but_a_container_insights_location_from_its_attempt():
    anatomy = read_job(aws.eks_job("FAILED", 5))
    assert (anatomy.kind, anatomy.platform) == (JobKind.EKS, "EKS")
    assert anatomy.exit_code == 5
    assert anatomy.current is not None
    assert anatomy.current.number == 1
    part = anatomy.current.parts[0]
    assert part.label == ""  # one container: its lines are the job's
    assert part.log == LogLocation(
        group="/aws/containerinsights/ml-cluster/application",
        stream_prefix=(
            "ip-10-0-1-17.ec2.internal-application.var.log.containers."
            "aws-batch.e0000000-0000-4000-8000-000000000001_batch-jobs_main-"
        ),
        record_key="log",  # Fluent Bit sends the whole record; the container's line is its "log"
    )
    assert anatomy.attempts[0].summary() == "exit code 5, Container main exited 5"


def test_a_running_eks_pod_needs_the_cluster_from_the_compute_environment():
    running = aws.eks_job("RUNNING", None)
    unknown = read_job(running)
    assert unknown.current is not None
    assert unknown.current.parts[0].log is None
    assert unknown.notes == ("not known yet: cluster, namespace",)
    known = read_job(running, eks_cluster=EksCluster("ml-cluster", "batch-jobs"))
    assert known.current is not None
    assert known.current.number == 1
    assert known.current.parts[0].log is not None
    assert known.current.parts[0].log.group == "/aws/containerinsights/ml-cluster/application"


def test_a_retried_eks_job_has_one_pod_per_attempt():
    anatomy = read_job(aws.eks_job("SUCCEEDED", 0, attempts=2))
    assert [a.pod_name for a in anatomy.attempts] == [
        "aws-batch.e0000000-0000-4000-8000-000000000001",
        "aws-batch.e0000000-0000-4000-8000-000000000002",
    ]
    assert anatomy.current is not None
    assert anatomy.current.number == 2
    assert len(anatomy.log_locations()) == 2
    assert anatomy.exit_code == 0


def test_the_eks_log_convention_is_configurable_and_refuses_unknown_placeholders():
    convention = EksLogConvention(
        group="/eks/{cluster}/pods", stream_prefix="{namespace}/{pod_name}/{container_name}", record_key=""
    )
    anatomy = read_job(aws.eks_job("SUCCEEDED", 0), eks_logs=convention)
    assert anatomy.current is not None
    assert anatomy.current.parts[0].log == LogLocation(
        "/eks/ml-cluster/pods", stream_prefix="batch-jobs/aws-batch.e0000000-0000-4000-8000-000000000001/main"
    )  # record_key="" in the convention: plain lines
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) pod; use \{cluster\}"):
        EksLogConvention(stream_prefix="{pod}")


def test_cluster_names_come_from_eks_cluster_arns():
    assert eks_cluster_name(aws.EKS_CLUSTER_ARN) == "ml-cluster"
    assert eks_cluster_name("arn:aws-cn:eks:cn-north-1:123456789012:cluster/a_b") == "a_b"
    assert eks_cluster_name("not an arn") is None


def test_a_multi_node_parent_names_its_node_jobs_and_has_the_main_nodes_exit():
    anatomy = read_job(aws.multi_node_parent("FAILED", 5))
    assert anatomy.kind is JobKind.MULTI_NODE
    assert not anatomy.has_own_logs
    assert anatomy.node_job_ids() == [f"{anatomy.job_id}#0", f"{anatomy.job_id}#1"]
    assert anatomy.main_node == 0
    assert anatomy.exit_code == 5
    assert anatomy.current is None  # its nodes run, not the parent
    assert anatomy.description == "multi-node parallel job of 2 nodes"


def test_a_node_job_is_a_container_job_with_its_own_stream():
    node = read_job(aws.node_job(aws.multi_node_parent(), 1, "FAILED", 5))
    assert node.kind is JobKind.NODE
    assert node.node_index == 1
    assert node.current is not None
    assert node.current.streams() == ("mpi-train/default/node1task",)
    assert node.exit_code == 5
    assert node.description == "node 1 of a multi-node parallel job"


def test_array_parents_and_children():
    parent = read_job(aws.array_parent("FAILED", size=4, failed=1))
    assert parent.is_array_parent
    assert not parent.has_own_logs
    assert parent.child_job_id(3) == f"{parent.job_id}:3"
    assert parent.description == "array job of 4 children (EC2 container job)"
    child = read_job(aws.array_child(aws.array_parent(), 2, exit_code=0))
    assert child.array_index == 2
    assert child.has_own_logs
    assert child.current is not None
    assert child.current.streams() == ("extract/default/child2",)
    assert child.description == "child 2 of an array job (EC2 container job)"


def test_a_job_not_started_yet_has_nothing_to_read():
    anatomy = read_job(aws.container_job("RUNNABLE", None))
    assert anatomy.exit_code is None
    assert anatomy.failed_parts() == ()
    assert anatomy.current is not None
    assert anatomy.current.number == 1


def test_an_unnamed_eks_container_is_the_one_its_pod_ran_and_descriptions_take_their_article():
    job = aws.eks_job("SUCCEEDED", 0)
    del job["eksProperties"]["podProperties"]["containers"][0]["name"]  # as the definition gave it
    anatomy = read_job(job)
    assert anatomy.current is not None
    assert [(part.name, part.exit_code) for part in anatomy.current.parts] == [("main", 0)]
    assert anatomy.notes == ()
    assert anatomy.attempts[0].summary() == "exit code 0, Essential container in task exited"
    assert anatomy.a_description == "an EKS job"
    assert read_job(aws.multi_node_parent()).a_description == "a multi-node parallel job of 2 nodes"
    assert read_job(aws.array_parent()).a_description.startswith("an array job of 4 children")
